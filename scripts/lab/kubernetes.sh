#!/usr/bin/env bash
# kubernetes.sh - a tool that builds the Kubernetes pieces the lab's cluster
# runs (the control plane, the node's kubelet and kube-proxy, etcd and CoreDNS)
# from source, through the Go module proxy, for machines where the release
# downloads (dl.k8s.io, GitHub releases) and the container registries
# (registry.k8s.io) cannot be reached.
#
# Nothing is fetched from anywhere but the Go module proxy ($GOPROXY) and no
# binary is committed: each piece is built into a cache folder keyed by its
# version, so a second run reuses it and takes seconds.
#
#   scripts/lab/kubernetes.sh [--env | --print-path] [--no-build] [PIECE...]
#
#   PIECE         kube-apiserver, kube-controller-manager, kube-scheduler,
#                 kubelet, kube-proxy, etcd, coredns (default: all)
#   --env         print shell exports instead: eval "$(scripts/lab/kubernetes.sh --env)"
#   --print-path  print only the bin folders, joined with ':'
#   --no-build    build nothing: fail (status 1, naming the piece) where a
#                 piece is not in the cache yet
#
# Versions are pinned below: Kubernetes (KUBERNETES_VERSION) and the etcd and
# CoreDNS its release is tested with (kubeadm's DefaultEtcdVersion and
# CoreDNSVersion of that Kubernetes release).
# Cache: ${STREAMSPACE_CACHE_DIR:-~/.cache/streamspace-images}/kubernetes/
#   <binary>-<version>/bin   the built binary (plus src/: the wrapper module)
#   go/mod, go/build         Go's own module and build caches (GOMODCACHE,
#                            GOCACHE) live here too, so deleting the folder
#                            removes everything this script left behind; the
#                            build cache is emptied after a successful build.
# Progress goes to stderr ("built X in N s" / "cached X"), the bin folders to
# stdout. Exit status 1 when any requested piece cannot be had.
set -euo pipefail

# shellcheck source=scripts/lib/go-modules.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib/go-modules.sh"

# k8s.io/kubernetes 1.36 needs go >= 1.26.0: the Go on the machines this runs on.
KUBERNETES_VERSION=1.36.3
# kubeadm 1.36.3 installs etcd 3.6.8 (cmd/kubeadm/app/constants: DefaultEtcdVersion);
# its go.mod requires the etcd 3.6.8 client too.
ETCD_VERSION=3.6.8
# kubeadm 1.36.3 deploys CoreDNS v1.14.2 (cmd/kubeadm/app/constants: CoreDNSVersion).
COREDNS_VERSION=1.14.2

die() { printf 'kubernetes.sh: %s\n' "$*" >&2; exit 1; }
say() { printf '%s\n' "$*" >&2; }

usage() { sed -n '11,17p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2; }

mode=plain
build=yes
pieces=()
while (($#)); do
  case $1 in
    --env) mode=exports ;;
    --print-path) mode=path ;;
    --no-build) build=no ;;
    -h | --help) usage; exit 0 ;;
    kube-apiserver | kube-controller-manager | kube-scheduler | kubelet | kube-proxy | etcd | coredns) pieces+=("$1") ;;
    *) usage; die "unknown argument: $1" ;;
  esac
  shift
done
((${#pieces[@]})) || pieces=(kube-apiserver kube-controller-manager kube-scheduler kubelet kube-proxy etcd coredns)

command -v go >/dev/null || die "go is needed (Go >= 1.26): none on PATH"
command -v node >/dev/null || die "node is needed to read the modules' go.mod files"

cache_root=${STREAMSPACE_CACHE_DIR:-$HOME/.cache/streamspace-images}/kubernetes
mkdir -p "$cache_root"
export GOMODCACHE=$cache_root/go/mod GOCACHE=$cache_root/go/build
export GOFLAGS=-modcacherw GOWORK=off CGO_ENABLED=0
export GOTOOLCHAIN=${GOTOOLCHAIN:-local}
go_version=$(go env GOVERSION)

# Serialise runs (and so go builds) that share a cache. A look without building
# does not wait for a build: a piece counts as built once its recipe is written,
# the last step of its build.
if [[ $build == yes ]]; then
  exec 9>"$cache_root/.lock"
  if command -v flock >/dev/null; then flock 9; fi
fi

# A piece is described by these globals, set by piece_<name>:
#   P_BIN      binary name, also the cache folder name with P_VERSION
#   P_VERSION  the version the cache is keyed by
#   P_MODULE   Go module holding the main package, and P_MODVER its version
#   P_MAIN     import path of the main package
#   P_TAGS     build tags
#   P_LDFLAGS  -X flags that stamp the version (the stamps need the module's
#              publication time, so piece_<name> runs after the download)
#   map_local  function: OLD NEW -> prints the module@version that replaces
#              OLD where the module's go.mod points OLD at folder NEW (outside
#              the module zip), "-" to drop the line, nothing when unknown
piece_kube-apiserver() {
  P_BIN=kube-apiserver P_VERSION=$KUBERNETES_VERSION
  P_MODULE=k8s.io/kubernetes P_MODVER=v$KUBERNETES_VERSION
  P_MAIN=$P_MODULE/cmd/kube-apiserver
  P_TAGS=
}
# The staging modules (k8s.io/api, k8s.io/apiserver, ...) are published as
# v0.<minor>.<patch> of the same release.
map_local_kube-apiserver() {
  case $2 in
    ./staging/src/*) printf '%s@v0.%s\n' "$1" "${KUBERNETES_VERSION#*.}" ;;
  esac
}
# hack/lib/version.sh stamps both packages; gitCommit is not in the module zip,
# so the tree state says the source was an archive.
ldflags_kube-apiserver() {
  local minor=${KUBERNETES_VERSION#*.} key value
  minor=${minor%%.*}
  P_LDFLAGS="-s -w"
  for pair in "gitVersion=v$KUBERNETES_VERSION" "gitMajor=${KUBERNETES_VERSION%%.*}" "gitMinor=$minor" \
    "gitTreeState=archive" "buildDate=$1"; do
    key=${pair%%=*} value=${pair#*=}
    P_LDFLAGS+=" -X k8s.io/component-base/version.$key=$value -X k8s.io/client-go/pkg/version.$key=$value"
  done
}

# The controllers (namespaces, garbage collection, Deployments, Jobs) from the same
# module and release, stamped the same way.
piece_kube-controller-manager() {
  piece_kube-apiserver
  P_BIN=kube-controller-manager
  P_MAIN=$P_MODULE/cmd/kube-controller-manager
}
map_local_kube-controller-manager() { map_local_kube-apiserver "$@"; }
ldflags_kube-controller-manager() { ldflags_kube-apiserver "$@"; }

# The node's pieces and the scheduler: the same module, release and stamps.
piece_kube-scheduler() { piece_kube-apiserver; P_BIN=kube-scheduler P_MAIN=$P_MODULE/cmd/kube-scheduler; }
map_local_kube-scheduler() { map_local_kube-apiserver "$@"; }
ldflags_kube-scheduler() { ldflags_kube-apiserver "$@"; }
piece_kubelet() { piece_kube-apiserver; P_BIN=kubelet P_MAIN=$P_MODULE/cmd/kubelet; }
map_local_kubelet() { map_local_kube-apiserver "$@"; }
ldflags_kubelet() { ldflags_kube-apiserver "$@"; }
piece_kube-proxy() { piece_kube-apiserver; P_BIN=kube-proxy P_MAIN=$P_MODULE/cmd/kube-proxy; }
map_local_kube-proxy() { map_local_kube-apiserver "$@"; }
ldflags_kube-proxy() { ldflags_kube-apiserver "$@"; }

piece_etcd() {
  P_BIN=etcd P_VERSION=$ETCD_VERSION
  P_MODULE=go.etcd.io/etcd/server/v3 P_MODVER=v$ETCD_VERSION
  P_MAIN=$P_MODULE
  P_TAGS=
}
# The server's siblings (api, client, pkg) are published at the same version;
# the FORBIDDEN_DEPENDENCY lines only guard etcd's own tree.
map_local_etcd() {
  case $2 in
    */FORBIDDEN_DEPENDENCY) printf -- '-\n' ;;
    ../*) printf '%s@v%s\n' "$1" "$ETCD_VERSION" ;;
  esac
}
# The version number is a constant in go.etcd.io/etcd/api/v3/version; only
# the commit is a variable, and the module zip does not carry it.
ldflags_etcd() {
  P_LDFLAGS="-s -w -X go.etcd.io/etcd/api/v3/version.GitSHA=v$ETCD_VERSION"
}

# The cluster's DNS, with the plugins its release compiles in (core/plugin/zplugin.go).
piece_coredns() {
  P_BIN=coredns P_VERSION=$COREDNS_VERSION
  P_MODULE=github.com/coredns/coredns P_MODVER=v$COREDNS_VERSION
  P_MAIN=$P_MODULE
  P_TAGS=
}
map_local_coredns() { :; }
# The version is a constant of the module; only the commit is a variable.
ldflags_coredns() {
  P_LDFLAGS="-s -w -X github.com/coredns/coredns/coremain.GitCommit=v$COREDNS_VERSION"
}




fail_piece() {
  say "FAILED $P_BIN $P_VERSION ($P_MODULE@$P_MODVER): $*"
  return 1
}

# The recipe a cached binary was built by; a different one rebuilds. The
# functions that shape the build (module mapping, version stamps) count too.
recipe_of() {
  local shape
  shape=$(declare -f "map_local_$P_BIN" "ldflags_$P_BIN" | cksum)
  printf '%s %s@%s tags=%s shape=%s\n' "$go_version" "$P_MODULE" "$P_MODVER" "$P_TAGS" "${shape%% *}"
}

cached() {
  local dir=$cache_root/$P_BIN-$P_VERSION
  [[ -x $dir/bin/$P_BIN && -f $dir/recipe && $(<"$dir/recipe") == "$(recipe_of)" ]]
}

# build_piece: build the piece described by P_* into $cache_root/$P_BIN-$P_VERSION.
build_piece() {
  local dir=$cache_root/$P_BIN-$P_VERSION
  local start=$SECONDS work log info gomod old new mapped time out
  mkdir -p "$dir"
  work=$(mktemp -d "$dir/.build.XXXXXX")
  building=$work
  log=$dir/build.log
  : >"$log"

  # 1. The module itself, from the proxy.
  info=$(go_module_download "$P_MODULE@$P_MODVER" "$work" "$log") \
    || { fail_piece "the Go module proxy (GOPROXY=$(go env GOPROXY)) does not serve it: $info"; return 1; }
  gomod=$(json_field GoMod <<<"$info")
  # The publication time stands in for a build date: the same inputs give the same binary.
  time=$(json_field Info <<<"$info")
  time=$(json_field Time <"$time")
  "ldflags_$P_BIN" "$time"

  # 2. A wrapper module: go install refuses a module whose go.mod has replace
  #    directives, so build from a module of our own that requires this one,
  #    repeats its non-local replaces and maps its local ones to published
  #    versions. Only modules the go.mod requires are mapped: others (sample
  #    modules) may not be published at all.
  go_wrapper_module "$work/src" "streamspace.local/lab/$P_BIN" "$gomod"
  local -a edits=("-require=$P_MODULE@$P_MODVER" "-tool=$P_MAIN")
  local required
  required=$(go_mod_requires "$gomod")
  while IFS=$'\t' read -r old new; do
    [[ -n $old ]] || continue
    case $new in
      ./* | ../* | /*)
        mapped=$("map_local_$P_BIN" "${old%@*}" "$new")
        [[ -n $mapped ]] || { fail_piece "its go.mod replaces $old => $new (a folder outside the module zip) and this script knows no published version for it"; return 1; }
        [[ $mapped != - ]] || continue
        grep -qxF "${old%@*}" <<<"$required" || continue
        edits+=("-replace=$old=$mapped")
        ;;
      *) edits+=("-replace=$old=$new") ;;
    esac
  done < <(go_mod_replaces "$gomod")

  # 3. Resolve and build.
  out=$(go_wrapper_build "$work/src" "$work/bin/$P_BIN" "$log" "$P_MAIN" "$P_TAGS" "$P_LDFLAGS" "${edits[@]}") \
    || { fail_piece "$out"; return 1; }

  rm -rf "${dir:?}/bin" "${dir:?}/src"
  mv "$work/src" "$dir/src"
  mv "$work/bin" "$dir/bin"
  recipe_of >"$dir/recipe"
  rm -rf "$work"
  building=
  say "built $P_BIN $P_VERSION in $((SECONDS - start)) s"
}

# A build that fails or is interrupted leaves no half-built folder behind.
building=
trap '[[ -z $building ]] || rm -rf "$building"' EXIT

bins=()
failed=()
built=no
for piece in "${pieces[@]}"; do
  "piece_$piece"
  if cached; then
    say "cached $P_BIN $P_VERSION"
  elif [[ $build == no ]]; then
    say "not built: $P_BIN $P_VERSION (run scripts/lab/kubernetes.sh to build it)"
    failed+=("$P_BIN $P_VERSION")
    continue
  elif build_piece; then
    built=yes
  else
    [[ -z $building ]] || rm -rf "$building"
    building=
    failed+=("$P_BIN $P_VERSION ($P_MODULE@$P_MODVER)")
    continue
  fi
  bins+=("$cache_root/$P_BIN-$P_VERSION/bin")
done

if ((${#failed[@]})); then
  say "kubernetes.sh: not available: $(IFS=';'; printf '%s' "${failed[*]}")"
  exit 1
fi

# Go's build cache (2-3 GB after kube-apiserver) would only speed up a rebuild,
# and the recipe check rebuilds only for a new version or a new Go. The
# downloaded modules stay: a rebuild needs no network for them.
if [[ $built == yes ]]; then
  go clean -cache
fi

path=$(IFS=:; printf '%s' "${bins[*]}")
case $mode in
  exports) printf 'export PATH=%q:"$%s"\n' "$path" PATH ;;
  path) printf '%s\n' "$path" ;;
  *) printf 'put on PATH: %s\n' "$path" ;;
esac
