#!/usr/bin/env bash
# apiserver.sh - a Kubernetes control plane of its own, without nodes: etcd,
# kube-apiserver and kube-controller-manager on 127.0.0.1, so the program's
# objects meet the real schema validation and admission (PodSecurity included)
# and the real controllers (Deployments make ReplicaSets and Pods, Jobs make
# Pods, deleted namespaces are emptied, the garbage collector runs) without a
# cluster. No scheduler or kubelet runs: a Pod stays Pending.
#
#   scripts/lab/apiserver.sh start STATE_DIR [--owner PID]
#   scripts/lab/apiserver.sh stop STATE_DIR
#
#   start    STATE_DIR must be missing or empty. Generates a CA, the serving
#            certificate (127.0.0.1, localhost), an admin client certificate
#            (group system:masters) and the service-account key pair with
#            openssl; starts etcd, kube-apiserver and kube-controller-manager
#            on free ports; waits for each to be ready; writes
#            STATE_DIR/kubeconfig. On any failure it stops what
#            it started, removes STATE_DIR and prints the servers' last log
#            lines.
#   --owner  stop the servers on their own once process PID has ended (a test
#            run killed before it could call stop).
#   stop     stops exactly the processes start recorded in STATE_DIR/pids and
#            removes STATE_DIR.
#
# The binaries come from scripts/lab/kubernetes.sh (built and cached there;
# this script builds nothing).
set -euo pipefail

# The service network the API server allocates ClusterIPs from.
SERVICE_CLUSTER_IP_RANGE=10.96.0.0/16
READY_TIMEOUT_SECONDS=${APISERVER_READY_TIMEOUT_SECONDS:-180}
# The file that marks a folder as a state folder of this script: stop removes no other.
MARKER=.streamspace-apiserver

die() { printf 'apiserver.sh: %s\n' "$*" >&2; exit 1; }
say() { printf 'apiserver.sh: %s\n' "$*" >&2; }
usage() { sed -n '9,10p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2; }

script_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=scripts/lib/lab-processes.sh
source "$script_dir/../lib/lab-processes.sh"

remove_state() {
  local dir=$1
  [[ -f $dir/$MARKER ]] || die "$dir is not a state folder of apiserver.sh (no $MARKER): not removing it"
  rm -rf "$dir"
}

cmd_stop() {
  local dir=$1
  [[ -d $dir ]] || { say "nothing to stop: $dir does not exist"; return 0; }
  [[ -f $dir/$MARKER ]] || die "$dir is not a state folder of apiserver.sh (no $MARKER): not touching it"
  stop_recorded "$dir"
  remove_state "$dir"
}

make_certificates() {
  ssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$state/ca.key"
  ssl req -x509 -new -key "$state/ca.key" -subj "/CN=streamspace-apiserver-check-ca" -days 2 -sha256 \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
    -out "$state/ca.crt"
  make_cert serving "/CN=kube-apiserver" "subjectAltName=IP:127.0.0.1,DNS:localhost
extendedKeyUsage=serverAuth
keyUsage=critical,digitalSignature"
  make_cert admin "/O=system:masters/CN=admin" "extendedKeyUsage=clientAuth
keyUsage=critical,digitalSignature"
  # How the API server proves itself to a kubelet (logs, exec) when scripts/lab/node.sh runs one.
  make_cert kubelet-client "/O=system:masters/CN=kube-apiserver-kubelet-client" "extendedKeyUsage=clientAuth
keyUsage=critical,digitalSignature"
  # The API server signs service-account tokens with this key and verifies them with its public half.
  ssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$state/service-account.key"
  ssl pkey -in "$state/service-account.key" -pubout -out "$state/service-account.pub"
}

# Stops what start started and removes the state folder.
teardown() {
  stop_recorded "$state"
  rm -rf "$state"
}

cmd_start() {
  state=$1
  local owner=${2:-}
  mkdir -p "$state"
  state=$(cd "$state" && pwd)
  [[ -z $(ls -A "$state") ]] || die "$state is not empty: give a new folder (stop removes the folder of an earlier start)"
  : >"$state/$MARKER"
  # Until the servers are ready, any exit stops them and removes the folder.
  trap 'status=$?; if ((status != 0)); then teardown; fi' EXIT
  trap 'exit 130' INT TERM

  local bins etcd_bin apiserver_bin controller_bin
  command -v openssl >/dev/null || die "openssl is needed to make the certificates"
  command -v curl >/dev/null || die "curl is needed to wait for the servers"
  bins=$("$script_dir/kubernetes.sh" --print-path --no-build kube-apiserver kube-controller-manager etcd 2>"$state/kubernetes.log") ||
    die "the Kubernetes binaries are not built: $(tail -n 1 "$state/kubernetes.log")"
  etcd_bin=$(PATH=$bins command -v etcd)
  apiserver_bin=$(PATH=$bins command -v kube-apiserver)
  controller_bin=$(PATH=$bins command -v kube-controller-manager)

  make_certificates

  local etcd_client etcd_peer secure_port
  etcd_client=$(free_port)
  etcd_peer=$(free_port)
  secure_port=$(free_port)
  # No fsync: the data lives as long as one test run, and a busy disk would make every write slow.
  start_process etcd "$etcd_bin" --name apiserver-check --data-dir "$state/etcd" \
    --listen-client-urls "http://127.0.0.1:$etcd_client" --advertise-client-urls "http://127.0.0.1:$etcd_client" \
    --listen-peer-urls "http://127.0.0.1:$etcd_peer" --initial-advertise-peer-urls "http://127.0.0.1:$etcd_peer" \
    --initial-cluster "apiserver-check=http://127.0.0.1:$etcd_peer" \
    --unsafe-no-fsync --log-level warn
  wait_for etcd "http://127.0.0.1:$etcd_client/readyz"
  [[ -z $owner ]] || start_owner_watch "$owner" teardown

  # The admission plugins are the defaults (PodSecurity among them); Node,RBAC as in a real cluster.
  # No endpoint reconciler: it would publish 127.0.0.1 as the kubernetes Service's endpoint, which
  # the API server itself refuses (a loopback address), and log that every few seconds.
  start_process kube-apiserver "$apiserver_bin" \
    --etcd-servers "http://127.0.0.1:$etcd_client" \
    --bind-address 127.0.0.1 --advertise-address 127.0.0.1 --secure-port "$secure_port" \
    --tls-cert-file "$state/serving.crt" --tls-private-key-file "$state/serving.key" \
    --client-ca-file "$state/ca.crt" \
    --service-account-issuer https://kubernetes.default.svc.cluster.local \
    --service-account-key-file "$state/service-account.pub" \
    --service-account-signing-key-file "$state/service-account.key" \
    --authorization-mode Node,RBAC \
    --service-cluster-ip-range "$SERVICE_CLUSTER_IP_RANGE" \
    --endpoint-reconciler-type none \
    --kubelet-client-certificate "$state/kubelet-client.crt" --kubelet-client-key "$state/kubelet-client.key" \
    --kubelet-certificate-authority "$state/ca.crt" --kubelet-preferred-address-types InternalIP
  wait_for kube-apiserver "https://127.0.0.1:$secure_port/readyz" \
    --cacert "$state/ca.crt" --cert "$state/admin.crt" --key "$state/admin.key"

  write_kubeconfig "$state/kubeconfig" "https://127.0.0.1:$secure_port" "$state/ca.crt" "$state/admin.crt" "$state/admin.key"

  # The controllers, each under its own service account as in a real cluster; the CA signs what
  # the certificate controller approves. Its health endpoint serves a certificate of its own.
  local controller_port
  controller_port=$(free_port)
  start_process kube-controller-manager "$controller_bin" \
    --kubeconfig "$state/kubeconfig" \
    --bind-address 127.0.0.1 --secure-port "$controller_port" \
    --leader-elect=false --use-service-account-credentials \
    --service-account-private-key-file "$state/service-account.key" \
    --root-ca-file "$state/ca.crt" \
    --cluster-signing-cert-file "$state/ca.crt" --cluster-signing-key-file "$state/ca.key" \
    --service-cluster-ip-range "$SERVICE_CLUSTER_IP_RANGE"
  wait_for kube-controller-manager "https://127.0.0.1:$controller_port/healthz" --insecure

  trap - EXIT INT TERM
  say "ready: https://127.0.0.1:$secure_port (kubeconfig: $state/kubeconfig)"
}

(($# >= 2)) || { usage; die "give a command and a state folder"; }
case $1 in
  start)
    if (($# == 2)); then
      cmd_start "$2"
    elif (($# == 4)) && [[ $3 == --owner && $4 =~ ^[0-9]+$ ]]; then
      cmd_start "$2" "$4"
    else
      usage
      die "start takes STATE_DIR and optionally --owner PID"
    fi
    ;;
  stop)
    (($# == 2)) || { usage; die "stop takes STATE_DIR only"; }
    cmd_stop "$2"
    ;;
  *) usage; die "unknown command: $1" ;;
esac
