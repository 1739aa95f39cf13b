#!/usr/bin/env bash
# node.sh - one Kubernetes node, joined to a control plane of scripts/lab/apiserver.sh:
# a registry, containerd, the CNI plugins, kube-scheduler, kubelet, kube-proxy
# and CoreDNS, as processes on this machine. With it, Pods are scheduled and
# run: their images come from the registry, they get addresses on a network of
# their own, reach Services through kube-proxy's rules and names through CoreDNS.
#
#   scripts/lab/node.sh start STATE_DIR --control-plane APISERVER_STATE_DIR [--owner PID]
#   scripts/lab/node.sh stop STATE_DIR
#   scripts/lab/node.sh push STATE_DIR IMAGE NAME:TAG
#   scripts/lab/node.sh build STATE_DIR CONTEXT_DIR NAME:TAG [ARG=VALUE...]
#
#   start    STATE_DIR must be missing or empty. Signs the node's certificates
#            with the control plane's CA, creates the node's network interface
#            ($NODE_INTERFACE, $NODE_IP/32, which CoreDNS listens on), starts the
#            registry on a free port of 127.0.0.1 and pushes the pause image to it
#            (Debian's catatonit, built here with podman), then containerd,
#            kube-scheduler, kubelet, kube-proxy and CoreDNS, each waited for; the
#            node is Ready when it returns. STATE_DIR/node.env then says where the
#            registry is (REGISTRY=localhost:PORT: push there, Pods pull from it).
#            On any failure it undoes what it did and prints the last log lines.
#   --owner  stop the node on its own once process PID has ended.
#   stop     deletes the node's Pods (the kubelet stops their containers and the
#            CNI plugins release their addresses), stops the recorded processes,
#            removes what is left (containers, mounts, network namespaces, the
#            interface, kube-proxy's and the CNI plugins' iptables rules, the
#            kubelet's cgroups) and STATE_DIR.
#   push     pushes IMAGE from the podman storage the offline images are built in
#            to the node's registry as NAME:TAG (streamspace-dev/chrome-selkies:dev)
#            and prints the reference Pods pull it by: localhost:PORT/NAME@sha256:...
#   build    builds CONTEXT_DIR (its Containerfile, with the build arguments
#            given) in that storage, pushes it as push does and removes it there.
#
# Runs as root (kubelet, containerd and the CNI plugins manage namespaces, mounts,
# cgroups and iptables). One node at a time per machine: it owns $NODE_INTERFACE
# and the Pod network $POD_CIDR. The Kubernetes binaries come from
# scripts/lab/kubernetes.sh; containerd, runc, the CNI plugins, the registry and
# catatonit from Debian (scripts/test.sh installs them).
set -euo pipefail

NODE_NAME=lab-node
NODE_INTERFACE=streamspace-lab
# Addresses no machine network uses: the node's own, and its Pods'.
NODE_IP=10.240.0.1
POD_CIDR=10.244.0.0/24
CLUSTER_DOMAIN=cluster.local
# The name the CNI plugins know the Pod network by; their iptables rules carry it.
CNI_NETWORK=streamspace-lab
READY_TIMEOUT_SECONDS=${NODE_READY_TIMEOUT_SECONDS:-180}
MARKER=.streamspace-node

script_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# configure_containers: the podman storage the offline images are built in.
# shellcheck source=scripts/lib/offline-common.sh
source "$script_dir/../lib/offline-common.sh"
# shellcheck source=scripts/lib/lab-processes.sh
source "$script_dir/../lib/lab-processes.sh"

die() { printf 'node.sh: %s\n' "$*" >&2; exit 1; }
say() { printf 'node.sh: %s\n' "$*" >&2; }
usage() { sed -n '8,11p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2; }

# The control plane's admin client, for the API calls of this script.
api() {
  local method=$1 path=$2
  shift 2
  curl -sS --max-time 10 -X "$method" --cacert "$cp/ca.crt" --cert "$cp/admin.crt" --key "$cp/admin.key" \
    "$(sed -n 's/^ *server: //p' "$cp/kubeconfig")$path" "$@"
}

# The path of Kubernetes binary $1 (from scripts/lab/kubernetes.sh's bin folders in $bins).
kube_bin() { PATH=$bins command -v "$1"; }

# ctr against this node's containerd.
node_ctr() { ctr --address "$state/containerd/containerd.sock" --namespace k8s.io "$@"; }

containerd_serves() { node_ctr version >/dev/null 2>&1; }

# --- stop ---------------------------------------------------------------------------------------

# Deletes the node's Pods and waits (at most a minute) until the kubelet has stopped their
# containers: the CNI plugins then release the addresses and remove the rules they made.
drain() {
  local pods
  [[ -f $cp/kubeconfig && -S $state/containerd/containerd.sock ]] || return 0
  pods=$(api GET "/api/v1/pods?fieldSelector=spec.nodeName%3D$NODE_NAME" 2>/dev/null |
    node -e 'const j = JSON.parse(require("fs").readFileSync(0, "utf8")); for (const p of j.items ?? []) console.log(p.metadata.namespace + "/" + p.metadata.name)' 2>/dev/null) || return 0
  local pod i
  for pod in $pods; do
    api DELETE "/api/v1/namespaces/${pod%%/*}/pods/${pod#*/}?gracePeriodSeconds=0" >/dev/null 2>&1 || true
  done
  for ((i = 0; i < 120; i++)); do
    [[ -n $(node_ctr tasks list -q 2>/dev/null) ]] || return 0
    sleep 0.5
  done
  say "the node's containers were still running a minute after their Pods were deleted: killing them"
}

# Kills the containers containerd still runs (the kubelet is gone by then).
kill_containers() {
  local id
  [[ -S $state/containerd/containerd.sock ]] || return 0
  for id in $(node_ctr tasks list -q 2>/dev/null); do
    node_ctr tasks kill --signal SIGKILL "$id" >/dev/null 2>&1 || true
  done
  sleep 1
  for id in $(node_ctr tasks list -q 2>/dev/null); do
    node_ctr tasks delete --force "$id" >/dev/null 2>&1 || true
  done
}

# Unmounts everything mounted under the state folder, deepest first.
unmount_all() {
  local mount
  while read -r mount; do
    umount -l "$mount" 2>/dev/null || true
  done < <(awk -v dir="$state/" 'index($2, dir) == 1 { print $2 }' /proc/self/mounts | sort -r)
}

# Removes the iptables rules the CNI plugins added for a Pod that was not torn down, and
# kube-proxy's rules.
remove_rules() {
  local proxy_bin=$1 rule chain
  if [[ -x $proxy_bin ]]; then
    "$proxy_bin" --cleanup >"$state/kube-proxy-cleanup.log" 2>&1 || say "kube-proxy --cleanup: $(tail -n 3 "$state/kube-proxy-cleanup.log")"
  fi
  while read -r rule; do
    chain=$(sed -n 's/.* -j \(CNI-[0-9a-f]*\).*/\1/p' <<<"$rule")
    eval "iptables -t nat ${rule/-A POSTROUTING/-D POSTROUTING}" 2>/dev/null || true
    [[ -z $chain ]] || { iptables -t nat -F "$chain" 2>/dev/null || true; iptables -t nat -X "$chain" 2>/dev/null || true; }
  done < <(iptables -t nat -S POSTROUTING 2>/dev/null | grep -F "name: \\\"$CNI_NETWORK\\\"" || true)
}

# The kubelet's own chains (a canary it watches for flushes; KUBE-FIREWALL, KUBE-IPTABLES-HINT
# where it makes its utility chains), in the tables and families it uses; only where they were not
# there before start.
KUBELET_CHAINS=(KUBE-FIREWALL KUBE-KUBELET-CANARY KUBE-IPTABLES-HINT)
remove_kubelet_chains() {
  local tool table chain rule
  for tool in iptables ip6tables; do
    command -v "$tool" >/dev/null || continue
    for table in filter nat mangle; do
      for chain in "${KUBELET_CHAINS[@]}"; do
        grep -qxF "$tool $table $chain" "$state/chains.before" 2>/dev/null && continue
        "$tool" -t "$table" -S "$chain" >/dev/null 2>&1 || continue
        while read -r rule; do
          eval "$tool -t $table ${rule/-A /-D }" 2>/dev/null || true
        done < <("$tool" -t "$table" -S 2>/dev/null | grep -E "^-A [A-Z]+ .*-j $chain( |$)" || true)
        "$tool" -t "$table" -F "$chain" 2>/dev/null || true
        "$tool" -t "$table" -X "$chain" 2>/dev/null || true
      done
    done
  done
}

# The kubelet's chains there now ("TOOL TABLE CHAIN" lines).
kubelet_chains() {
  local tool table chain
  for tool in iptables ip6tables; do
    command -v "$tool" >/dev/null || continue
    for table in filter nat mangle; do
      for chain in "${KUBELET_CHAINS[@]}"; do
        ! "$tool" -t "$table" -S "$chain" >/dev/null 2>&1 || printf '%s %s %s\n' "$tool" "$table" "$chain"
      done
    done
  done
}

# Removes the cgroups the kubelet made (kubepods and below), deepest first.
remove_cgroups() {
  local dir
  for dir in /sys/fs/cgroup/*/kubepods /sys/fs/cgroup/kubepods; do
    [[ -d $dir ]] || continue
    find "$dir" -depth -type d -exec rmdir {} + 2>/dev/null || true
  done
}

# runc's state of containerd's k8s.io namespace, and the folders around it where they are empty
# (containerd keeps them under /run/containerd whatever its configured state folder).
remove_runc_state() {
  rm -rf /run/containerd/runc/k8s.io
  rmdir /run/containerd/runc /run/containerd/fifo /run/containerd/s /run/containerd 2>/dev/null || true
}

# The network namespaces containerd made for Pods (those not there before start).
remove_netns() {
  local ns
  [[ -d /run/netns ]] || return 0
  for ns in /run/netns/cni-*; do
    [[ -e $ns ]] || continue
    grep -qxF "$(basename "$ns")" "$state/netns.before" 2>/dev/null && continue
    umount "$ns" 2>/dev/null || true
    rm -f "$ns"
  done
}

teardown() {
  local proxy_bin
  proxy_bin=$(grep '^kube-proxy ' "$state/pids" 2>/dev/null | awk '{ print $3 }' || true)
  drain
  stop_recorded "$state" except containerd registry
  kill_containers
  stop_recorded "$state"
  unmount_all
  remove_runc_state
  remove_netns
  remove_rules "$proxy_bin"
  remove_kubelet_chains
  remove_cgroups
  ip link del "$NODE_INTERFACE" 2>/dev/null || true
  rm -rf "$state"
}

cmd_stop() {
  state=$1
  [[ -d $state ]] || { say "nothing to stop: $state does not exist"; return 0; }
  [[ -f $state/$MARKER ]] || die "$state is not a state folder of node.sh (no $MARKER): not touching it"
  state=$(cd "$state" && pwd)
  cp=$(<"$state/control-plane")
  teardown
}

# --- push ---------------------------------------------------------------------------------------

# check_push_target STATE_DIR NAME:TAG: a running node's folder and a target it can push to.
check_push_target() {
  [[ -f $1/$MARKER && -f $1/node.env ]] || die "$1 is not the state folder of a running node"
  [[ $2 =~ ^[a-z0-9][a-z0-9._/-]*:[A-Za-z0-9_][A-Za-z0-9_.-]*$ ]] || die "give the target as NAME:TAG (streamspace-dev/chrome-selkies:dev), not '$2'"
  configure_containers "${STREAMSPACE_CACHE_DIR:-$HOME/.cache/streamspace-images}/storage"
}

cmd_build() {
  state=$1
  local context=$2 target=$3 arg
  shift 3
  check_push_target "$state" "$target"
  [[ -f $context/Containerfile ]] || die "$context has no Containerfile"
  local -a args=()
  for arg in "$@"; do
    [[ $arg == [A-Za-z_]*=* ]] || die "give build arguments as NAME=VALUE, not '$arg'"
    args+=(--build-arg "$arg")
  done
  local image=localhost/streamspace-lab/${target%:*}:${target##*:}
  podman build --quiet "${args[@]}" -t "$image" "$context" >"$state/build.log" 2>&1 ||
    die "building $context failed: $(tail -n 5 "$state/build.log")"
  cmd_push "$state" "$image" "$target"
  podman rmi "$image" >/dev/null 2>&1 || true
}

cmd_push() {
  state=$1
  local image=$2 target=$3 registry digest
  check_push_target "$state" "$target"
  registry=$(sed -n 's/^REGISTRY=//p' "$state/node.env")
  podman image exists "$image" || die "no image $image in the offline images' podman storage: scripts/offline-images.sh builds them"
  podman push --quiet --tls-verify=false --digestfile "$state/push.digest" "$image" "$registry/$target" >"$state/push.log" 2>&1 ||
    die "pushing $image to $registry/$target failed: $(tail -n 5 "$state/push.log")"
  digest=$(<"$state/push.digest")
  printf '%s/%s@%s\n' "$registry" "${target%:*}" "$digest"
}

# --- start --------------------------------------------------------------------------------------

make_certificates() {
  make_cert kubelet "/O=system:nodes/CN=system:node:$NODE_NAME" "extendedKeyUsage=clientAuth
keyUsage=critical,digitalSignature" "$cp"
  make_cert kubelet-serving "/CN=$NODE_NAME" "subjectAltName=IP:$NODE_IP,DNS:$NODE_NAME
extendedKeyUsage=serverAuth
keyUsage=critical,digitalSignature" "$cp"
  make_cert kube-proxy "/CN=system:kube-proxy" "extendedKeyUsage=clientAuth
keyUsage=critical,digitalSignature" "$cp"
  make_cert kube-scheduler "/CN=system:kube-scheduler" "extendedKeyUsage=clientAuth
keyUsage=critical,digitalSignature" "$cp"
  local server component
  server=$(sed -n 's/^ *server: //p' "$cp/kubeconfig")
  for component in kubelet kube-proxy kube-scheduler; do
    write_kubeconfig "$state/$component.kubeconfig" "$server" "$cp/ca.crt" "$state/$component.crt" "$state/$component.key"
  done
}

start_registry() {
  registry_port=$(free_port)
  mkdir -p "$state/registry"
  cat >"$state/registry.yml" <<EOF
version: 0.1
log:
  level: warn
storage:
  filesystem:
    rootdirectory: $state/registry
  delete:
    enabled: true
http:
  addr: 127.0.0.1:$registry_port
EOF
  start_process registry "$(command -v docker-registry)" serve "$state/registry.yml"
  wait_until registry "serving on 127.0.0.1:$registry_port" curl -sf --max-time 5 -o /dev/null "http://127.0.0.1:$registry_port/v2/"
}

# The sandbox ("pause") image every Pod starts with: catatonit in pause mode, alone in an image.
push_pause_image() {
  local build=$state/pause-image
  mkdir -p "$build"
  cp "$(command -v catatonit)" "$build/catatonit"
  printf 'FROM scratch\nCOPY catatonit /pause\nUSER 65535:65535\nENTRYPOINT ["/pause", "-P"]\n' >"$build/Containerfile"
  pause_image=localhost:$registry_port/pause:catatonit
  {
    podman build --quiet --no-cache -t "$pause_image" "$build" &&
      podman push --quiet --tls-verify=false "$pause_image" &&
      podman rmi "$pause_image"
  } >"$state/pause-image.log" 2>&1 || die "the pause image could not be built and pushed: $(tail -n 5 "$state/pause-image.log")"
}

start_containerd() {
  local dir=$state/containerd host=localhost:$registry_port
  mkdir -p "$dir/certs.d/$host" "$state/cni/net.d" "$state/cni/ipam"
  cat >"$dir/certs.d/$host/hosts.toml" <<EOF
server = "http://$host"
[host."http://$host"]
  capabilities = ["pull", "resolve"]
EOF
  cat >"$dir/config.toml" <<EOF
version = 2
root = "$dir/root"
state = "$dir/state"
[grpc]
  address = "$dir/containerd.sock"
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "$pause_image"
  # Where, as in a container, this machine may not lower a process's OOM score (runc fails
  # with "can't get final child's PID from pipe" otherwise), no container asks for less than
  # containerd's own.
  restrict_oom_score_adj = true
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = "$state/cni/net.d"
  [plugins."io.containerd.grpc.v1.cri".registry]
    config_path = "$dir/certs.d"
EOF
  # Every Pod on one point-to-point link to the node, addressed from the node's Pod range; their
  # traffic to elsewhere leaves with the node's address.
  cat >"$state/cni/net.d/10-$CNI_NETWORK.conflist" <<EOF
{
  "cniVersion": "0.4.0",
  "name": "$CNI_NETWORK",
  "plugins": [
    {
      "type": "ptp",
      "ipMasq": true,
      "ipam": {
        "type": "host-local",
        "dataDir": "$state/cni/ipam",
        "ranges": [[{ "subnet": "$POD_CIDR" }]],
        "routes": [{ "dst": "0.0.0.0/0" }]
      }
    },
    { "type": "portmap", "capabilities": { "portMappings": true } }
  ]
}
EOF
  start_process containerd "$(command -v containerd)" --config "$dir/config.toml" --log-level warn
  wait_until containerd "serving on $dir/containerd.sock" containerd_serves
}

start_scheduler() {
  local port
  port=$(free_port)
  start_process kube-scheduler "$(kube_bin kube-scheduler)" \
    --kubeconfig "$state/kube-scheduler.kubeconfig" \
    --authentication-kubeconfig "$state/kube-scheduler.kubeconfig" \
    --authorization-kubeconfig "$state/kube-scheduler.kubeconfig" \
    --bind-address 127.0.0.1 --secure-port "$port" --leader-elect=false
  wait_for kube-scheduler "https://127.0.0.1:$port/healthz" --insecure
}

# Whether the API server reports the node Ready.
node_ready() {
  api GET "/api/v1/nodes/$NODE_NAME" 2>/dev/null |
    node -e 'const j = JSON.parse(require("fs").readFileSync(0, "utf8")); process.exit((j.status?.conditions ?? []).some((c) => c.type === "Ready" && c.status === "True") ? 0 : 1)' 2>/dev/null
}

start_kubelet() {
  local port healthz
  port=$(free_port)
  healthz=$(free_port)
  mkdir -p "$state/kubelet" "$state/pod-logs"
  # Debian 12 machines of this kind run cgroup v1, which the kubelet supports only when told.
  # The disk thresholds are low: a lab node must not taint itself on a busy build machine.
  cat >"$state/kubelet.yaml" <<EOF
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
address: $NODE_IP
port: $port
readOnlyPort: 0
healthzBindAddress: 127.0.0.1
healthzPort: $healthz
tlsCertFile: $state/kubelet-serving.crt
tlsPrivateKeyFile: $state/kubelet-serving.key
authentication:
  anonymous: { enabled: false }
  webhook: { enabled: true }
  x509: { clientCAFile: $cp/ca.crt }
authorization: { mode: Webhook }
containerRuntimeEndpoint: unix://$state/containerd/containerd.sock
cgroupDriver: cgroupfs
failCgroupV1: false
failSwapOn: false
clusterDNS: [$NODE_IP]
clusterDomain: $CLUSTER_DOMAIN
podCIDR: $POD_CIDR
podLogsDir: $state/pod-logs
imageGCHighThresholdPercent: 100
evictionHard: { memory.available: 100Mi, nodefs.available: 1%, imagefs.available: 1% }
serializeImagePulls: false
EOF
  start_process kubelet "$(kube_bin kubelet)" --config "$state/kubelet.yaml" \
    --kubeconfig "$state/kubelet.kubeconfig" --root-dir "$state/kubelet" \
    --hostname-override "$NODE_NAME" --node-ip "$NODE_IP"
  wait_until kubelet "Ready" node_ready
}

start_kube_proxy() {
  local healthz metrics
  healthz=$(free_port)
  metrics=$(free_port)
  # conntrack limits are the machine's: kube-proxy leaves them as they are.
  start_process kube-proxy "$(kube_bin kube-proxy)" \
    --kubeconfig "$state/kube-proxy.kubeconfig" --hostname-override "$NODE_NAME" \
    --proxy-mode iptables --cluster-cidr "$POD_CIDR" \
    --healthz-bind-address "127.0.0.1:$healthz" --metrics-bind-address "127.0.0.1:$metrics" \
    --nodeport-addresses "$NODE_IP/32" \
    --conntrack-max-per-core 0 --conntrack-tcp-timeout-established 0 --conntrack-tcp-timeout-close-wait 0
  wait_until kube-proxy "healthy" curl -sf --max-time 5 -o /dev/null "http://127.0.0.1:$healthz/healthz"
}

start_coredns() {
  local ready
  ready=$(free_port)
  # The cluster's names from the API server, others from this machine's resolver.
  cat >"$state/Corefile" <<EOF
.:53 {
    bind $NODE_IP
    errors
    ready 127.0.0.1:$ready
    kubernetes $CLUSTER_DOMAIN in-addr.arpa ip6.arpa {
        kubeconfig $cp/kubeconfig
        pods insecure
        fallthrough in-addr.arpa ip6.arpa
    }
    forward . /etc/resolv.conf
    cache 30
}
EOF
  start_process coredns "$(kube_bin coredns)" -conf "$state/Corefile"
  wait_until coredns "ready" curl -sf --max-time 5 -o /dev/null "http://127.0.0.1:$ready/ready"
}

check_tools() {
  local tool
  [[ $(id -u) == 0 ]] || die "runs as root: the kubelet, containerd and the CNI plugins manage namespaces, mounts, cgroups and iptables"
  for tool in containerd ctr runc docker-registry catatonit podman iptables ip curl openssl; do
    command -v "$tool" >/dev/null || die "$tool is needed and not installed (Debian: containerd, runc, docker-registry, catatonit, podman, iptables, iproute2)"
  done
  for tool in ptp host-local portmap loopback; do
    [[ -x /usr/lib/cni/$tool ]] || die "the CNI plugin $tool is needed in /usr/lib/cni (Debian: containernetworking-plugins)"
  done
  ! ip link show "$NODE_INTERFACE" >/dev/null 2>&1 ||
    die "another lab node runs here (interface $NODE_INTERFACE exists): stop it first (node.sh stop ITS_STATE_DIR)"
}

cmd_start() {
  state=$1 cp=$2
  local owner=${3:-}
  [[ -f $cp/kubeconfig && -f $cp/ca.key ]] || die "$cp is not the state folder of a running scripts/lab/apiserver.sh (no kubeconfig and CA)"
  cp=$(cd "$cp" && pwd)
  check_tools
  mkdir -p "$state"
  state=$(cd "$state" && pwd)
  [[ -z $(ls -A "$state") ]] || die "$state is not empty: give a new folder (stop removes the folder of an earlier start)"
  : >"$state/$MARKER"
  printf '%s\n' "$cp" >"$state/control-plane"
  ls /run/netns 2>/dev/null >"$state/netns.before" || true
  kubelet_chains >"$state/chains.before"
  # Until the node is ready, any exit undoes what was done.
  trap 'status=$?; if ((status != 0)); then teardown; fi' EXIT
  trap 'exit 130' INT TERM

  bins=$("$script_dir/kubernetes.sh" --print-path --no-build kube-scheduler kubelet kube-proxy coredns 2>"$state/kubernetes.log") ||
    die "the Kubernetes binaries are not built: $(tail -n 1 "$state/kubernetes.log")"

  # A bridge without ports: a dummy interface would do, where the kernel has the module.
  ip link add "$NODE_INTERFACE" type bridge
  ip addr add "$NODE_IP/32" dev "$NODE_INTERFACE"
  ip link set "$NODE_INTERFACE" up

  configure_containers "${STREAMSPACE_CACHE_DIR:-$HOME/.cache/streamspace-images}/storage"
  make_certificates
  start_registry
  push_pause_image
  start_containerd
  [[ -z $owner ]] || start_owner_watch "$owner" teardown
  start_scheduler
  start_kubelet
  start_kube_proxy
  start_coredns

  printf 'REGISTRY=localhost:%s\nNODE_NAME=%s\nNODE_IP=%s\n' "$registry_port" "$NODE_NAME" "$NODE_IP" >"$state/node.env"
  trap - EXIT INT TERM
  say "ready: node $NODE_NAME, registry localhost:$registry_port"
}

(($# >= 2)) || { usage; die "give a command and a state folder"; }
case $1 in
  start)
    if (($# == 4)) && [[ $3 == --control-plane ]]; then
      cmd_start "$2" "$4"
    elif (($# == 6)) && [[ $3 == --control-plane && $5 == --owner && $6 =~ ^[0-9]+$ ]]; then
      cmd_start "$2" "$4" "$6"
    else
      usage
      die "start takes STATE_DIR --control-plane APISERVER_STATE_DIR and optionally --owner PID"
    fi
    ;;
  stop)
    (($# == 2)) || { usage; die "stop takes STATE_DIR only"; }
    cmd_stop "$2"
    ;;
  push)
    (($# == 4)) || { usage; die "push takes STATE_DIR IMAGE NAME:TAG"; }
    cmd_push "$2" "$3" "$4"
    ;;
  build)
    (($# >= 4)) || { usage; die "build takes STATE_DIR CONTEXT_DIR NAME:TAG and build arguments"; }
    shift
    cmd_build "$@"
    ;;
  *) usage; die "unknown command: $1" ;;
esac
