#!/usr/bin/env bash
# Builds every image of the catalog without a Docker engine or registry access, then boots each one
# and checks it the way a user meets it:
#   - a Debian base made with debootstrap (cached), imported and passed as BASE_IMAGE;
#   - buildah builds in catalog order (bases first, children on their base's digest), with the
#     install settings of image.yaml's `offline:` that keep internet-only steps out;
#   - podman boots each image, waits until its HEALTHCHECK passes, saves a screenshot of the X
#     display to artifacts/offline-images/, stops it, and runs scripts/test-image.sh against it.
# Ends with "N passed, N failed, N skipped" and exits non-zero when any build or check fails. This
# file plans the run and goes through it; each job lives in scripts/lib: offline-build.sh,
# offline-boot.sh, offline-checks.sh, and checks.sh, the tally its checks and test-image.sh's share.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=scripts/lib/offline-common.sh
source "$ROOT/scripts/lib/offline-common.sh"
# shellcheck source=scripts/lib/checks.sh
source "$ROOT/scripts/lib/checks.sh"
# shellcheck source=scripts/lib/offline-build.sh
source "$ROOT/scripts/lib/offline-build.sh"
# shellcheck source=scripts/lib/offline-boot.sh
source "$ROOT/scripts/lib/offline-boot.sh"
# shellcheck source=scripts/lib/offline-checks.sh
source "$ROOT/scripts/lib/offline-checks.sh"

usage() {
    cat <<'EOF'
Usage: scripts/offline-images.sh [options]

Builds the catalog's images offline with buildah and boots each with podman (run as root).

Options:
  --only IMAGE      build and boot this image and the bases below it (repeatable)
  --no-boot         build only
  --no-tests        boot and screenshot, but do not run scripts/test-image.sh
  --boots N         boot each image N times to time start-up (default 1)
  --storage DIR     container storage folder (default: <cache>/storage)
  --artifacts DIR   screenshots and logs (default: artifacts/offline-images)
  --report FILE     append measurements as "image<TAB>key<TAB>value" lines
  --no-install      do not apt-get install missing tools; name them and stop
  --remove-storage  remove every container and image of --storage DIR, then the folder
  -h, --help        this text

Environment:
  STREAMSPACE_CACHE_DIR   caches (base tarball, layers); default ~/.cache/streamspace-images
  DEBIAN_MIRROR           default http://deb.debian.org/debian
  SKIP_IMAGE_TESTS=1      skip everything (reported as skipped)
  OFFLINE_IMAGES_READY_TIMEOUT  seconds an image may take to become healthy (default 120)
  OFFLINE_IMAGES_MIN_FREE_GIB   free disk space required to start (default 8)
  OFFLINE_IMAGES_TEST_SCRIPT    the per-image checks (default scripts/test-image.sh)
  OFFLINE_IMAGES_EXTRA_CA       CA bundle passed to the builds as the secret "extra-ca", for pip and
                                npm behind a TLS-intercepting proxy (default: the host's bundle,
                                /etc/ssl/certs/ca-certificates.crt, when present; "none" passes none)
EOF
}

ONLY=()
BOOT=yes
TESTS=yes
BOOTS=1
INSTALL=yes
STORAGE=""
REPORT=""
ARTIFACTS="$ROOT/artifacts/offline-images"
READY_TIMEOUT=${OFFLINE_IMAGES_READY_TIMEOUT:-120}
MIN_FREE_GIB=${OFFLINE_IMAGES_MIN_FREE_GIB:-8}
TEST_IMAGE_SCRIPT=${OFFLINE_IMAGES_TEST_SCRIPT:-$ROOT/scripts/test-image.sh}
EXTRA_CA=${OFFLINE_IMAGES_EXTRA_CA:-/etc/ssl/certs/ca-certificates.crt}
# The catalog's stream probe, which test-image.sh runs against a WebRTC session.
PROBE_IMAGE_NAME=stream-probe
REMOVE_STORAGE=no

usage_error() {
    warn "offline-images: $*"
    warn "Try: scripts/offline-images.sh --help"
    exit 2
}

parse_args() {
    while [ $# -gt 0 ]; do
        case $1 in
            --only) [ $# -ge 2 ] || usage_error "--only needs an image name"; ONLY+=("$2"); shift ;;
            --no-boot) BOOT=no ;;
            --no-tests) TESTS=no ;;
            --boots)
                [[ ${2:-} =~ ^[1-9][0-9]*$ ]] || usage_error "--boots needs a positive number"
                BOOTS=$2
                shift
                ;;
            --storage) [ $# -ge 2 ] || usage_error "--storage needs a folder"; STORAGE=$2; shift ;;
            --artifacts) [ $# -ge 2 ] || usage_error "--artifacts needs a folder"; ARTIFACTS=$2; shift ;;
            --report) [ $# -ge 2 ] || usage_error "--report needs a file"; REPORT=$2; shift ;;
            --no-install) INSTALL=no ;;
            --remove-storage) REMOVE_STORAGE=yes ;;
            -h | --help) usage; exit 0 ;;
            *) usage_error "unknown argument '$1'" ;;
        esac
        shift
    done
    [[ $READY_TIMEOUT =~ ^[0-9]+$ ]] || usage_error "OFFLINE_IMAGES_READY_TIMEOUT must be a number of seconds"
    [[ $MIN_FREE_GIB =~ ^[0-9]+$ ]] || usage_error "OFFLINE_IMAGES_MIN_FREE_GIB must be a number"
    STORAGE=${STORAGE:-$OFFLINE_CACHE_DIR/storage}
}

report() {
    [ -n "$REPORT" ] || return 0
    printf '%s\t%s\t%s\n' "$@" >>"$REPORT"
}

catalog() {
    node -r ts-node/register/transpile-only "$ROOT/scripts/catalog.ts" "$@"
}

# "name kind" for every catalog image, from the catalog module itself (its CLI has no kind command).
catalog_kinds() {
    # shellcheck disable=SC2016  # JavaScript, not shell
    node -r ts-node/register/transpile-only -e '
        const { loadCatalog } = require(process.argv[1] + "/catalog");
        for (const i of loadCatalog().images) console.log(`${i.name} ${i.kind}`);' "$ROOT"
}

# image.yaml's `offline:` of every image (scripts/catalog.ts offline): what the offline build of an
# image leaves out, or why it needs the internet.
declare -A LEAVES_OUT=() NEEDS_INTERNET=()
read_offline_facts() {
    local facts image kind what
    facts=$(catalog offline) || die "could not read the offline build facts from the catalog (see the message above)"
    while IFS=$'\t' read -r image kind what; do
        case $kind in
            needs-internet) NEEDS_INTERNET[$image]=$what ;;
            leaves-out) LEAVES_OUT[$image]=$what ;;
            "") ;;
            *) die "scripts/catalog.ts offline: unexpected line for $image: $kind" ;;
        esac
    done <<<"$facts"
}

# The images to build, bases first: the whole catalog, or the --only images and their bases.
plan_images() {
    local order wanted name base
    order=$(catalog order) || die "could not read the image catalog (see the message above)"
    if [ "${#ONLY[@]}" -eq 0 ]; then
        printf '%s\n' "$order"
        return 0
    fi
    declare -A wanted_set=()
    local -a asked=("${ONLY[@]}")
    # The image checks stream from a WebRTC session with the probe image: it comes along.
    if [ "$BOOT" = yes ] && [ "$TESTS" = yes ] && grep -qxF "$PROBE_IMAGE_NAME" <<<"$order"; then asked+=("$PROBE_IMAGE_NAME"); fi
    for name in "${asked[@]}"; do
        grep -qxF "$name" <<<"$order" || die "--only $name: no such image; the catalog has: $(tr '\n' ' ' <<<"$order")"
        while [ -n "$name" ]; do
            wanted_set[$name]=1
            base=$(catalog base "$name")
            [[ $base == external* ]] && break
            name=$base
        done
    done
    while read -r wanted; do
        if [ -n "${wanted_set[$wanted]:-}" ]; then printf '%s\n' "$wanted"; fi
    done <<<"$order"
}

print_left_out() {
    local image
    say "Left out of the offline build (it reaches only Debian's mirrors, PyPI and npm):"
    for image in "${PLAN[@]}"; do
        if [ -n "${NEEDS_INTERNET[$image]:-}" ]; then
            say "  - $image: not built: ${NEEDS_INTERNET[$image]}"
        elif [ -n "${LEAVES_OUT[$image]:-}" ]; then
            say "  - $image: ${LEAVES_OUT[$image]}"
        fi
    done
}

# The catalog kind of each image (base, session, tool): only bases and sessions are booted.
declare -A KIND=()

take_run_lock() {
    exec 9>"$OFFLINE_CACHE_DIR/offline-images.lock"
    if ! flock -n 9; then
        say "Another offline image run holds $OFFLINE_CACHE_DIR/offline-images.lock; waiting up to 60 min"
        flock -w 3600 9 || die "gave up waiting for the other offline image run"
    fi
}

# Empties a storage folder made by --storage (the benchmark's cold builds) and removes it.
remove_storage() {
    [ -d "$STORAGE" ] || return 0
    configure_containers "$STORAGE"
    podman rm -af -t 2 >/dev/null 2>&1 || true
    podman rmi -af >/dev/null 2>&1 || true
    buildah rm --all >/dev/null 2>&1 || true
    remove_rootfs_dir "$STORAGE"
    rm -f "$CONTAINERS_STORAGE_CONF"
    say "removed the container storage $STORAGE"
}

main() {
    parse_args "$@"
    if [ "$REMOVE_STORAGE" = yes ]; then
        remove_storage
        return 0
    fi
    checks_begin
    trap checks_cleanup EXIT
    if [ "${SKIP_IMAGE_TESTS:-}" = 1 ]; then
        say "##########################################################################"
        say "## SKIP_IMAGE_TESTS=1: the images were NOT built or booted in this run. ##"
        say "##########################################################################"
        check_skip "offline build and boot of the images (SKIP_IMAGE_TESTS=1)"
        checks_summary
        return 0
    fi
    local started name round plan kinds kind
    started=$(now)
    check_free_space "$MIN_FREE_GIB" "$OFFLINE_CACHE_DIR"
    ensure_tools "$INSTALL"
    [ "$(id -u)" -eq 0 ] || die "run as root: buildah and podman need it on these machines (sudo $0)"
    install_offline_traps checks_cleanup
    take_run_lock
    configure_containers "$STORAGE"
    mkdir -p "$ARTIFACTS/logs"
    read_offline_facts
    plan=$(plan_images) || exit 1
    mapfile -t PLAN <<<"$plan"
    [ -n "$plan" ] || die "the catalog has no image to build"
    say "Images, in build order: ${PLAN[*]}"
    print_left_out
    for name in "${PLAN[@]}"; do
        build_image "$name"
    done
    if [ "$BOOT" = yes ]; then
        kinds=$(catalog_kinds) || die "could not read the image kinds from the catalog"
        while read -r name kind; do KIND[$name]=$kind; done <<<"$kinds"
        for name in "${PLAN[@]}"; do
            [ -n "${BUILT_REF[$name]:-}" ] || continue
            case ${KIND[$name]:-session} in
                base | session) ;;
                *)
                    check_skip "boot $name: a ${KIND[$name]} image, not a session: it is built, not booted (the session checks do not apply)"
                    continue
                    ;;
            esac
            for ((round = 1; round <= BOOTS; round++)); do
                boot_image "$name" "${BUILT_REF[$name]}" "$round"
            done
            [ "$TESTS" = yes ] && test_image "$name" "${BUILT_REF[$name]}"
        done
    fi
    say "offline images: $(elapsed "$started") s in all; screenshots and logs in ${ARTIFACTS#"$ROOT"/}/"
    checks_summary
    checks_passed
}

main "$@"
