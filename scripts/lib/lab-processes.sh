# shellcheck shell=bash disable=SC2154
# Shared by the scripts under scripts/lab/ that start servers as processes of their own and stop
# exactly those again: free ports, recorded process ids, readiness waits and certificates signed
# by a CA of the lab. Source it; the caller defines say and die and sets $state, the state folder
# every process, log and certificate lives in.

# A free TCP port on 127.0.0.1 (the kernel's choice, released at once).
free_port() {
  node -e 'const s = require("net").createServer().listen(0, "127.0.0.1", () => { console.log(s.address().port); s.close(); });'
}

# Whether pid $1 still runs the executable $2 (a recycled pid does not).
runs() {
  local exe
  exe=$(readlink "/proc/$1/exe" 2>/dev/null) || return 1
  [[ $exe == "$2" ]]
}

# stop_recorded DIR [KEEP...]: TERM, then KILL after 10 s, each process in DIR/pids
# ("name pid executable" lines) but those named KEEP, last started first, and wait until it
# is gone.
stop_recorded() {
  local dir=$1 name pid exe i
  shift
  [[ -f $dir/pids ]] || return 0
  while read -r name pid exe; do
    [[ $pid != "${BASHPID}" ]] || continue
    [[ " $* " != *" $name "* ]] || continue
    runs "$pid" "$exe" || continue
    kill -TERM "$pid" 2>/dev/null || continue
    for ((i = 0; i < 100; i++)); do
      runs "$pid" "$exe" || break
      sleep 0.1
    done
    if runs "$pid" "$exe"; then
      say "$name (pid $pid) ignored TERM for 10 s: killing it"
      kill -KILL "$pid" 2>/dev/null || true
    fi
  done < <(tac "$dir/pids")
}

# start_process NAME EXECUTABLE ARGS...: runs it in the background with its
# output in $state/NAME.log and records it in $state/pids.
start_process() {
  local name=$1 exe=$2
  shift 2
  "$exe" "$@" </dev/null >"$state/$name.log" 2>&1 &
  printf '%s %s %s\n' "$name" "$!" "$exe" >>"$state/pids"
}

# start_owner_watch OWNER STOP: in the background, runs function STOP once process OWNER has ended
# (a test run killed before it could stop what it started), unless STOP ran already ($state/$MARKER
# gone). Recorded in $state/pids with the servers, so a regular stop ends it too.
start_owner_watch() {
  local owner=$1 stop=$2
  {
    while kill -0 "$owner" 2>/dev/null; do sleep 2; done
    [[ -f $state/$MARKER ]] || exit 0
    "$stop"
  } </dev/null >/dev/null 2>&1 &
  printf 'owner-watch %s %s\n' "$!" "$(readlink "/proc/$!/exe")" >>"$state/pids"
}

# The last lines of process NAME's log, to end an error message with.
log_tail() { printf 'last lines of its log:\n%s' "$(tail -n "${2:-20}" "$state/$1.log")"; }

# wait_until NAME WHAT COMMAND...: until COMMAND succeeds, while NAME runs, at most
# $READY_TIMEOUT_SECONDS.
wait_until() {
  local name=$1 what=$2 pid exe deadline=$((SECONDS + READY_TIMEOUT_SECONDS))
  shift 2
  read -r _ pid exe < <(grep "^$name " "$state/pids")
  until "$@"; do
    runs "$pid" "$exe" || die "$name exited before $what; $(log_tail "$name")"
    ((SECONDS < deadline)) || die "$name: not $what within $READY_TIMEOUT_SECONDS s; $(log_tail "$name")"
    sleep 0.5
  done
}

# Whether URL answers "ok" (curl arguments after it).
answers_ok() {
  local url=$1
  shift
  [[ $(curl -s --max-time 5 "$@" "$url" 2>/dev/null) == ok ]]
}

# wait_for NAME URL CURL_ARGS...: until URL answers 200 "ok", while NAME runs.
wait_for() {
  local name=$1 url=$2
  shift 2
  wait_until "$name" "ready at $url" answers_ok "$url" "$@"
}

# openssl, with its output kept for the error message.
ssl() { openssl "$@" >>"$state/openssl.log" 2>&1 || die "openssl $1 failed: $(tail -n 5 "$state/openssl.log")"; }

# make_cert NAME SUBJECT EXTENSIONS [CA_DIR]: a key and a certificate signed by the CA in
# CA_DIR (default $state: ca.crt, ca.key), written as $state/NAME.{key,crt}.
make_cert() {
  local name=$1 subject=$2 extensions=$3 ca=${4:-$state}
  ssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$state/$name.key"
  ssl req -new -key "$state/$name.key" -subj "$subject" -out "$state/$name.csr"
  printf '%s\n' "$extensions" >"$state/$name.ext"
  ssl x509 -req -in "$state/$name.csr" -CA "$ca/ca.crt" -CAkey "$ca/ca.key" -CAcreateserial \
    -CAserial "$state/ca.srl" -days 2 -sha256 -extfile "$state/$name.ext" -out "$state/$name.crt"
}

# write_kubeconfig FILE SERVER CA USER_CERT USER_KEY: a kubeconfig of one cluster and one user.
write_kubeconfig() {
  cat >"$1" <<KUBECONFIG
apiVersion: v1
kind: Config
clusters:
  - name: lab
    cluster:
      server: $2
      certificate-authority: $3
users:
  - name: user
    user:
      client-certificate: $4
      client-key: $5
contexts:
  - name: lab
    context:
      cluster: lab
      user: user
current-context: lab
KUBECONFIG
}
