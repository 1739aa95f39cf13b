#!/usr/bin/env bash
# engine.sh - a tool that builds the Pulumi engine pieces this program needs
# (the pulumi CLI, the Node.js language host, the provider plugins) from source,
# through the Go module proxy, for machines where the official release downloads
# (get.pulumi.com, GitHub releases) cannot be reached.
#
# Nothing is fetched from anywhere but the Go module proxy ($GOPROXY) and no
# binary is committed: each piece is built into a cache folder keyed by its
# version, so a second run reuses it and takes seconds.
#
#   scripts/lab/engine.sh [--env | --print-path] [--no-build] [PIECE...]
#
#   PIECE         pulumi, kubernetes, language-nodejs, docker, random
#                 (default: pulumi). pulumi and kubernetes build; the Go module
#                 proxy these machines reach refuses the other three modules
#                 (403 "not available"), and the script says so, naming module
#                 and version. The Node.js language host is not needed by
#                 programs run through the Automation API's inline mode.
#   --env         print shell exports instead: eval "$(scripts/lab/engine.sh --env)"
#   --print-path  print only the bin folders, joined with ':'
#   --no-build    build nothing: fail, saying so, when a piece is not built yet
#
# Versions come from package.json (@pulumi/pulumi, @pulumi/docker,
# @pulumi/random, @pulumi/kubernetes), so the engine cannot drift from the
# SDKs; where the proxy serves no build of the SDK's provider version, the
# table KUBERNETES_PROVIDER below names the one it does serve, and the script
# says which it built.
# Cache: ${STREAMSPACE_CACHE_DIR:-~/.cache/streamspace-images}/engine/
#   <binary>-<version>/bin   the built binary (plus src/: the wrapper module)
#   go/mod, go/build         Go's own module and build caches (GOMODCACHE,
#                            GOCACHE) live here too, so deleting the folder
#                            removes everything this script left behind.
# Progress goes to stderr ("built X in N s" / "cached X"), the bin folders to
# stdout. Exit status 1 when any requested piece cannot be had.
set -euo pipefail

# shellcheck source=scripts/lib/go-modules.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib/go-modules.sh"

die() { printf 'engine.sh: %s\n' "$*" >&2; exit 1; }
say() { printf '%s\n' "$*" >&2; }

usage() { sed -n '11,20p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2; }

mode=plain
build=1
pieces=()
while (($#)); do
  case $1 in
    --env) mode=exports ;;
    --print-path) mode=path ;;
    --no-build) build=0 ;;
    -h | --help) usage; exit 0 ;;
    pulumi | kubernetes | language-nodejs | docker | random) pieces+=("$1") ;;
    *) usage; die "unknown argument: $1" ;;
  esac
  shift
done
((${#pieces[@]})) || pieces=(pulumi)

repo_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
command -v node >/dev/null || die "node is needed to read the versions from package.json"
command -v go >/dev/null || die "go is needed (Go >= 1.24): none on PATH"

# One node start for all versions: pulumi docker random kubernetes, space separated.
read -r PULUMI_VERSION DOCKER_VERSION RANDOM_VERSION KUBERNETES_VERSION < <(
  cd "$repo_root" && node -p "const d = require('./package.json').dependencies;
    [d['@pulumi/pulumi'], d['@pulumi/docker'], d['@pulumi/random'], d['@pulumi/kubernetes']].join(' ')"
)
for v in "$PULUMI_VERSION" "$DOCKER_VERSION" "$RANDOM_VERSION" "$KUBERNETES_VERSION"; do
  [[ $v =~ ^[0-9]+\.[0-9]+\.[0-9]+$ ]] || die "package.json must pin exact versions of @pulumi/pulumi, @pulumi/docker, @pulumi/random and @pulumi/kubernetes (got '$v')"
done

# The Node.js language host is its own module in the pulumi repository and has
# no version tags: its pseudo-version names the commit of the matching release.
declare -A LANGUAGE_NODEJS_PSEUDO=(
  [3.248.0]=v3.0.0-20260624120734-a88168d865b7
)

# The Kubernetes provider lives in a subfolder of its repository without
# subfolder tags, so the proxy serves it by pseudo-version only, and for one
# commit only: f47bc2d6f199 of 2026-01-15, the day before the v4.25.0 release.
# The SDK's own version (package.json) is not served; the engine uses this
# build as the ambient plugin for it and notes the mismatch. Entries:
#   [npm version]="module pseudo-version|sdk/v4 version its go.mod requires"
declare -A KUBERNETES_PROVIDER=(
  [4.34.2]="v4.0.0-20260115033456-f47bc2d6f199|v4.24.0"
)

cache_root=${STREAMSPACE_CACHE_DIR:-$HOME/.cache/streamspace-images}/engine
mkdir -p "$cache_root"
export GOMODCACHE=$cache_root/go/mod GOCACHE=$cache_root/go/build
export GOFLAGS=-modcacherw GOWORK=off CGO_ENABLED=0
export GOTOOLCHAIN=${GOTOOLCHAIN:-local}
go_version=$(go env GOVERSION)

# Serialise runs (and so go builds) that share a cache.
exec 9>"$cache_root/.lock"
command -v flock >/dev/null && flock 9

# A piece is described by these globals, set by piece_<name>:
#   P_BIN      binary name, also the cache folder name with P_VERSION
#   P_VERSION  the version the cache is keyed by (the npm package's)
#   P_MODULE   Go module holding the main package, and P_MODVER its version
#   P_MAIN     import path of the main package
#   P_TAGS     build tags; P_VERSION_VAR: the -X variable stamped with v$P_VERSION
#   P_LOCAL    for each local (=> ../dir) replace in the module's go.mod:
#              "OLD=NEW@VERSION"; NEW == OLD means: just require OLD@VERSION
#   P_NOTE     text added to a failure message
#   P_PREPARE  optional: a function run with the build folder and the module's
#              folder before resolving; it may add go mod edit flags to P_EDITS
piece_pulumi() {
  P_BIN=pulumi P_VERSION=$PULUMI_VERSION
  P_MODULE=github.com/pulumi/pulumi/pkg/v3 P_MODVER=v$PULUMI_VERSION
  P_MAIN=$P_MODULE/cmd/pulumi
  P_TAGS=osusergo,grpcnotrace
  P_VERSION_VAR=github.com/pulumi/pulumi/sdk/v3/go/common/version.Version
  P_LOCAL=("github.com/pulumi/pulumi/sdk/v3=github.com/pulumi/pulumi/sdk/v3@v$PULUMI_VERSION")
  P_NOTE='' P_PREPARE=''
}
piece_kubernetes() {
  local entry=${KUBERNETES_PROVIDER[$KUBERNETES_VERSION]:-}
  P_BIN=pulumi-resource-kubernetes
  P_MODULE=github.com/pulumi/pulumi-kubernetes/provider/v4 P_MODVER=${entry%%|*}
  # Keyed and stamped by what is built (the pseudo-version without its v), not
  # by the SDK version it stands in for.
  P_VERSION=${P_MODVER#v}
  P_MAIN=$P_MODULE/cmd/pulumi-resource-kubernetes
  P_TAGS=
  P_VERSION_VAR=$P_MODULE/pkg/version.Version
  P_LOCAL=("github.com/pulumi/pulumi-kubernetes/sdk/v4=github.com/pulumi/pulumi-kubernetes/sdk/v4@${entry#*|}")
  P_PREPARE=prepare_kubernetes
  P_NOTE=
  [[ -n $entry ]] || P_NOTE="no provider module version known for @pulumi/kubernetes $KUBERNETES_VERSION: add it to KUBERNETES_PROVIDER"
}
# The provider embeds schema-embed.json and terraform-mapping-embed.json, which
# its release build generates (go generate) and the module zip lacks: build from
# a writable copy holding them. The generator only stamps the version into the
# schema and compacts both files; node does the same here.
prepare_kubernetes() {
  local work=$1 moddir=$2 cmd
  cp -r "$moddir" "$work/src/provider"
  chmod -R u+w "$work/src/provider"
  cmd=$work/src/provider/cmd/pulumi-resource-kubernetes
  node -e '
    const fs = require("fs"), [dir, version] = process.argv.slice(1);
    const schema = JSON.parse(fs.readFileSync(dir + "/schema.json", "utf8"));
    schema.version = version;
    fs.writeFileSync(dir + "/schema-embed.json", JSON.stringify(schema));
    const mapping = JSON.parse(fs.readFileSync(dir + "/terraform-mapping.json", "utf8"));
    fs.writeFileSync(dir + "/terraform-mapping-embed.json", JSON.stringify(mapping));' "$cmd" "$P_VERSION"
  P_EDITS+=("-replace=$P_MODULE=./provider")
}
piece_language-nodejs() {
  P_BIN=pulumi-language-nodejs P_VERSION=$PULUMI_VERSION
  P_MODULE=github.com/pulumi/pulumi/sdk/nodejs/cmd/pulumi-language-nodejs/v3
  P_MODVER=${LANGUAGE_NODEJS_PSEUDO[$PULUMI_VERSION]:-}
  P_MAIN=$P_MODULE
  P_TAGS=osusergo,grpcnotrace
  P_VERSION_VAR=github.com/pulumi/pulumi/sdk/v3/go/common/version.Version
  P_LOCAL=(
    "github.com/pulumi/pulumi/sdk/v3=github.com/pulumi/pulumi/sdk/v3@v$PULUMI_VERSION"
    "github.com/pulumi/pulumi/pkg/v3=github.com/pulumi/pulumi/pkg/v3@v$PULUMI_VERSION"
  )
  P_NOTE=
  [[ -n $P_MODVER ]] || P_NOTE="no pseudo-version known for pulumi $PULUMI_VERSION: add it to LANGUAGE_NODEJS_PSEUDO"
}
piece_docker() {
  P_BIN=pulumi-resource-docker P_VERSION=$DOCKER_VERSION
  P_MODULE=github.com/pulumi/pulumi-docker/provider/v5 P_MODVER=v$DOCKER_VERSION
  P_MAIN=$P_MODULE/cmd/pulumi-resource-docker
  P_TAGS=no_compose
  P_VERSION_VAR=$P_MODULE/pkg/version.Version
  # The bridged part replaces github.com/terraform-providers/terraform-provider-docker
  # with ../upstream, a git submodule that the module zip does not carry; its
  # github.com/kreuzwerker/terraform-provider-docker pseudo-version is unknown
  # until the module itself can be read, so that replace fails loudly below.
  P_LOCAL=()
  P_NOTE='' P_PREPARE=''
}
piece_random() {
  P_BIN=pulumi-resource-random P_VERSION=$RANDOM_VERSION
  P_MODULE=github.com/pulumi/pulumi-random/provider/v4 P_MODVER=v$RANDOM_VERSION
  P_MAIN=$P_MODULE/cmd/pulumi-resource-random
  P_TAGS=
  P_VERSION_VAR=$P_MODULE/pkg/version.Version
  P_LOCAL=() # its nested shim module (=> ./shim) is not in the zip either
  P_NOTE='' P_PREPARE=''
}



fail_piece() {
  say "FAILED $P_BIN $P_VERSION ($P_MODULE@${P_MODVER:-?}): $*${P_NOTE:+ ($P_NOTE)}"
  return 1
}

# build_piece: build the piece described by P_* into $cache_root/$P_BIN-$P_VERSION.
build_piece() {
  local dir=$cache_root/$P_BIN-$P_VERSION
  local ldflags="-s -w -X $P_VERSION_VAR=v$P_VERSION"
  local recipe
  recipe="$go_version $P_MODULE@$P_MODVER tags=$P_TAGS ldflags=$ldflags local=${P_LOCAL[*]} prepare=${P_PREPARE:-}"
  if [[ -x $dir/bin/$P_BIN && -f $dir/recipe && $(<"$dir/recipe") == "$recipe" ]]; then
    say "cached $P_BIN $P_VERSION"
    return 0
  fi
  [[ -n $P_MODVER ]] || { fail_piece "no module version"; return 1; }
  ((build)) || { fail_piece "not built yet (scripts/lab/engine.sh $P_PIECE builds it)"; return 1; }

  local start=$SECONDS work log info gomod old new mapped entry out
  mkdir -p "$dir"
  work=$(mktemp -d "$dir/.build.XXXXXX")
  log=$dir/build.log
  : >"$log"

  # 1. The module itself, from the proxy.
  if ! info=$(go_module_download "$P_MODULE@$P_MODVER" "$work" "$log"); then
    rm -rf "$work"
    fail_piece "the Go module proxy (GOPROXY=$(go env GOPROXY)) does not serve it: $info"
    return 1
  fi
  gomod=$(json_field GoMod <<<"$info")
  go_wrapper_module "$work/src" "streamspace.local/engine/$P_BIN" "$gomod"
  P_EDITS=()
  [[ -z ${P_PREPARE:-} ]] || "$P_PREPARE" "$work" "$(json_field Dir <<<"$info")"

  # 2. A wrapper module: go install ignores a module with replace directives,
  #    so repeat its non-local replaces and map its local ones.
  local -a edits=("-require=$P_MODULE@$P_MODVER" "-tool=$P_MAIN" ${P_EDITS[@]+"${P_EDITS[@]}"})
  while IFS=$'\t' read -r old new; do
    [[ -n $old ]] || continue
    case $new in
      ./* | ../* | /*)
        mapped=
        for entry in ${P_LOCAL[@]+"${P_LOCAL[@]}"}; do
          [[ ${entry%%=*} == "${old%@*}" ]] && mapped=${entry#*=}
        done
        if [[ -z $mapped ]]; then
          rm -rf "$work"
          fail_piece "its go.mod replaces $old => $new (a folder outside the module zip) and this script knows no module version for it"
          return 1
        fi
        if [[ ${mapped%@*} == "${old%@*}" ]]; then
          edits+=("-require=$mapped")
        else
          edits+=("-replace=$old=$mapped")
        fi
        ;;
      *) edits+=("-replace=$old=$new") ;;
    esac
  done < <(go_mod_replaces "$gomod")

  # 3. Resolve and build.
  if ! out=$(go_wrapper_build "$work/src" "$work/bin/$P_BIN" "$log" "$P_MAIN" "$P_TAGS" "$ldflags" "${edits[@]}"); then
    rm -rf "$work"
    fail_piece "$out"
    return 1
  fi

  rm -rf "${dir:?}/bin" "${dir:?}/src"
  mv "$work/src" "$dir/src"
  mv "$work/bin" "$dir/bin"
  rm -rf "$work"
  printf '%s\n' "$recipe" >"$dir/recipe"
  say "built $P_BIN $P_VERSION in $((SECONDS - start)) s"
  built=yes
}

bins=()
failed=()
built=no
for piece in "${pieces[@]}"; do
  "piece_$piece"
  P_PIECE=$piece
  if build_piece; then
    bins+=("$cache_root/$P_BIN-$P_VERSION/bin")
  else
    failed+=("$P_BIN $P_VERSION ($P_MODULE@${P_MODVER:-?})")
  fi
done

if ((${#failed[@]})); then
  say "engine.sh: could not build: $(IFS=';'; printf '%s' "${failed[*]}")"
  say "engine.sh: Go caches are under $cache_root/go"
  exit 1
fi

# Go's build cache (about 6 GB after the CLI and the Kubernetes provider) would
# only speed up a rebuild, which the recipe check asks for only for a new
# version or a new Go. The downloaded modules stay: a rebuild needs no network
# for them.
if [[ $built == yes ]]; then
  go clean -cache
fi

path=$(IFS=:; printf '%s' "${bins[*]}")
case $mode in
  exports)
    printf 'export PATH=%q:"$%s"\n' "$path" PATH
    printf 'export PULUMI_SKIP_UPDATE_CHECK=true PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION=true\n'
    ;;
  path) printf '%s\n' "$path" ;;
  *) printf 'put on PATH: %s\n' "$path" ;;
esac
