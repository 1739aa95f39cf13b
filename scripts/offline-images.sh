#!/usr/bin/env bash
# Builds every image of the catalog without a Docker engine or registry access, then boots each one
# and checks it the way a user meets it:
#   - a Debian base made with debootstrap (cached), imported and passed as BASE_IMAGE;
#   - buildah builds in catalog order (bases first, children on their base's digest), with the
#     build arguments of scripts/offline-images.conf that keep internet-only steps out;
#   - podman boots each image, waits until its HEALTHCHECK passes, saves a screenshot of the X
#     display to artifacts/offline-images/, stops it, and runs scripts/test-image.sh against it.
# Ends with "N passed, N failed, N skipped" and exits non-zero when any build or check fails.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=scripts/lib/offline-common.sh
source "$ROOT/scripts/lib/offline-common.sh"

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
  OFFLINE_IMAGES_CONF           offline build arguments (default scripts/offline-images.conf)
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
CONF=${OFFLINE_IMAGES_CONF:-$ROOT/scripts/offline-images.conf}
TEST_IMAGE_SCRIPT=${OFFLINE_IMAGES_TEST_SCRIPT:-$ROOT/scripts/test-image.sh}
EXTRA_CA=${OFFLINE_IMAGES_EXTRA_CA:-/etc/ssl/certs/ca-certificates.crt}
# The catalog's stream probe, which test-image.sh runs against a WebRTC session.
PROBE_IMAGE_NAME=stream-probe
REMOVE_STORAGE=no

passed=0
failed=0
skipped=0
check_pass() {
    passed=$((passed + 1))
    say "PASS $*"
}
check_fail() {
    failed=$((failed + 1))
    say "FAIL $*"
}
check_skip() {
    skipped=$((skipped + 1))
    say "SKIP $*"
}
print_summary() { say "$passed passed, $failed failed, $skipped skipped"; }

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

# scripts/offline-images.conf: per image, the offline build arguments and what they leave out.
declare -A OFFLINE_ARGS=() OFFLINE_NOTE=() NEEDS_INTERNET=()
read_offline_conf() {
    local line image word args note lineno=0
    local -a words
    [ -f "$CONF" ] || return 0
    while IFS= read -r line || [ -n "$line" ]; do
        lineno=$((lineno + 1))
        line=${line%%#*}
        read -r -a words <<<"$line"
        [ "${#words[@]}" -gt 0 ] || continue
        image=${words[0]}
        if [ "${words[1]:-}" = needs-internet ]; then
            NEEDS_INTERNET[$image]="${words[*]:2}"
            [ -n "${NEEDS_INTERNET[$image]}" ] || die "$CONF:$lineno: say why '$image' needs the internet"
            continue
        fi
        args=""
        note=""
        for word in "${words[@]:1}"; do
            if [ -z "$note" ] && [[ $word =~ ^[A-Z_][A-Z0-9_]*=.*$ ]]; then
                args+="$word "
            else
                note+="$word "
            fi
        done
        [ -n "$args" ] || die "$CONF:$lineno: '$image' has no KEY=VALUE build argument and is not marked needs-internet"
        [ -n "$note" ] || die "$CONF:$lineno: say what the build arguments of '$image' leave out"
        OFFLINE_ARGS[$image]=${args% }
        OFFLINE_NOTE[$image]=${note% }
    done <"$CONF"
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
        elif [ -n "${OFFLINE_ARGS[$image]:-}" ]; then
            say "  - $image (${OFFLINE_ARGS[$image]}): ${OFFLINE_NOTE[$image]}"
        fi
    done
}

declare -A BASE_REF_OF_SUITE=() BUILT_REF=() IS_APP=() KIND=()

# The BASE_IMAGE of an image into IMAGE_BASE_REF, or empty with the reason in IMAGE_BASE_WHY.
resolve_base() {
    local name=$1 base suite
    IMAGE_BASE_REF=""
    IMAGE_BASE_WHY=""
    base=$(catalog base "$name") || die "could not read the base of $name from the catalog"
    IS_APP[$name]=yes
    if [[ $base == external* ]]; then
        IS_APP[$name]=no
        base=${base#external }
        suite=$(debian_suite_of "$base")
        if [ -z "$suite" ]; then
            IMAGE_BASE_WHY="its base $base is not a Debian image; only Debian bases are made offline"
            return 0
        fi
        if [ -z "${BASE_REF_OF_SUITE[$suite]:-}" ]; then
            ensure_base_tarball "$suite"
            report "debian-$suite" debootstrap_seconds "$(cat "$OFFLINE_BASE_TARBALL.seconds" 2>/dev/null || echo 0)"
            report "debian-$suite" debootstrap_cached "$OFFLINE_BASE_REUSED"
            ensure_base_image "$suite" "$OFFLINE_BASE_TARBALL"
            BASE_REF_OF_SUITE[$suite]=$OFFLINE_BASE_REF
            say "base: Debian $suite (in place of $base) is $OFFLINE_BASE_REF"
        fi
        IMAGE_BASE_REF=${BASE_REF_OF_SUITE[$suite]}
    elif [ -n "${BUILT_REF[$base]:-}" ]; then
        IMAGE_BASE_REF=${BUILT_REF[$base]}
    else
        IMAGE_BASE_WHY="its base $base was not built"
    fi
}

# The three largest layers of an image as "bytes<TAB>instruction" lines (podman 4.3's --format
# shows sizes rounded for people; its JSON has the bytes).
largest_layers() {
    # shellcheck disable=SC2016  # JavaScript, not shell
    podman history --format json "$1" | node -e '
        const layers = JSON.parse(require("fs").readFileSync(0, "utf8"));
        layers.sort((a, b) => b.size - a.size).slice(0, 3)
            .forEach((l) => console.log(`${l.size}\t${l.CreatedBy.replace(/\s+/g, " ")}`));'
}

explain_build_failure() {
    local name=$1 log=$2
    tail -n 25 "$log" | sed 's/^/    | /'
    if grep -qi 'no space left on device' "$log"; then
        say "    The disk under $STORAGE is full: free space or set STREAMSPACE_CACHE_DIR to a larger disk."
    elif grep -qiE 'could not resolve|temporary failure resolving|failed to fetch' "$log"; then
        say "    A step reached for the network. Offline builds reach only Debian's mirrors: put internet-only"
        say "    steps behind a build argument and list it for $name in scripts/offline-images.conf."
    fi
}

build_image() {
    local name=$1 folder dockerfile started seconds log ref size kv line
    local -a args=()
    if [ -n "${NEEDS_INTERNET[$name]:-}" ]; then
        check_skip "build $name: needs the internet: ${NEEDS_INTERNET[$name]}"
        return 0
    fi
    resolve_base "$name"
    if [ -z "$IMAGE_BASE_REF" ]; then
        check_skip "build $name: $IMAGE_BASE_WHY"
        return 0
    fi
    line=$(catalog context "$name") || die "could not read the build context of $name from the catalog"
    read -r folder dockerfile <<<"$line"
    line=$(catalog build-args "$name" --base-image "$IMAGE_BASE_REF") || die "could not read the build arguments of $name from the catalog"
    while IFS= read -r kv; do
        args+=(--build-arg "$kv")
    done <<<"$line"
    for kv in ${OFFLINE_ARGS[$name]:-}; do
        args+=(--build-arg "$kv")
    done
    # Builds reach PyPI and npm through the host's proxy: its CA goes in as a build secret, which
    # no layer keeps.
    if [ "$EXTRA_CA" != none ] && [ -s "$EXTRA_CA" ]; then
        args+=(--secret "id=extra-ca,src=$EXTRA_CA")
    fi
    log="$ARTIFACTS/logs/build-$name.log"
    say "build $name: $folder/$dockerfile on $IMAGE_BASE_REF ${OFFLINE_ARGS[$name]:-}"
    started=$(now)
    if ! buildah build --isolation chroot --format docker --layers --pull=never \
        -f "$ROOT/$folder/$dockerfile" "${args[@]}" \
        -t "$OFFLINE_NAMESPACE/$name:offline" "$ROOT/$folder" >"$log" 2>&1; then
        check_fail "build $name after $(elapsed "$started") s (log: $log)"
        explain_build_failure "$name" "$log"
        return 0
    fi
    seconds=$(elapsed "$started")
    ref="$OFFLINE_NAMESPACE/$name@$(podman image inspect --format '{{.Digest}}' "$OFFLINE_NAMESPACE/$name:offline")"
    size=$(podman image inspect --format '{{.Size}}' "$ref")
    BUILT_REF[$name]=$ref
    check_pass "build $name ($seconds s, $(human_size "$size"), $ref)"
    report "$name" build_seconds "$seconds"
    report "$name" size_bytes "$size"
    report "$name" reference "$ref"
    while IFS= read -r line; do
        report "$name" layer "$line"
    done < <(largest_layers "$ref")
}

# Polls the image's HEALTHCHECK; sets READY_SECONDS, or fails the check and returns 1.
wait_ready() {
    local name=$1 container=$2 started=$3 state
    if [ "$(podman inspect --format '{{if .Config.Healthcheck}}yes{{end}}' "$container")" != yes ]; then
        check_fail "ready $name: the image has no HEALTHCHECK"
        return 1
    fi
    until podman healthcheck run "$container" >/dev/null 2>&1; do
        state=$(podman inspect --format '{{.State.Status}}' "$container")
        if [ "$state" != running ]; then
            check_fail "ready $name: the container is $state before becoming healthy; its last output:"
            podman logs --tail 20 "$container" 2>&1 | sed 's/^/    | /'
            return 1
        fi
        if awk -v e="$(elapsed "$started")" -v t="$READY_TIMEOUT" 'BEGIN { exit !(e > t) }'; then
            check_fail "ready $name: not healthy after $READY_TIMEOUT s; its last output:"
            podman logs --tail 20 "$container" 2>&1 | sed 's/^/    | /'
            return 1
        fi
        sleep 0.2
    done
    READY_SECONDS=$(elapsed "$started")
}

# Saves the X display as PNG. An app image must show more than a blank screen within 20 s (its
# window); a base image has no app, so its first picture is kept as it is.
take_screenshot() {
    local name=$1 container=$2 wait_for_app=$3 display colours=0 tries=0 geometry
    local png="$ARTIFACTS/$name.png" xwd="$ARTIFACTS/logs/$name.xwd" ppm="$ARTIFACTS/logs/$name.ppm"
    display=$(podman exec "$container" sh -c 'printf %s "${DISPLAY:-:0}"')
    while :; do
        if podman exec "$container" xwd -root -display "$display" -silent >"$xwd" 2>"$ARTIFACTS/logs/$name-xwd.log" &&
            xwdtopnm "$xwd" >"$ppm" 2>/dev/null; then
            colours=$(ppmhist -noheader "$ppm" | wc -l)
        fi
        [ "$wait_for_app" = yes ] || break
        [ "$colours" -gt 2 ] && break
        tries=$((tries + 1))
        [ "$tries" -ge 20 ] && break
        sleep 1
    done
    if [ "$colours" -eq 0 ]; then
        rm -f "$xwd" "$ppm"
        check_fail "screenshot $name: xwd on display $display gave no picture: $(head -c 300 "$ARTIFACTS/logs/$name-xwd.log")"
        return 0
    fi
    pnmtopng "$ppm" >"$png" 2>/dev/null
    geometry=$(pnmfile "$ppm" | sed -E 's/.* ([0-9]+) by ([0-9]+).*/\1x\2/')
    rm -f "$xwd" "$ppm"
    if [ "$wait_for_app" = yes ] && [ "$colours" -le 2 ]; then
        check_fail "screenshot $name: the screen stayed blank for 20 s, no app window ($geometry): ${png#"$ROOT"/}"
    else
        check_pass "screenshot $name ($geometry, $colours colours on screen): ${png#"$ROOT"/}"
    fi
}

stop_container() {
    local name=$1 container=$2 started seconds code
    started=$(now)
    podman stop -t 20 "$container" >/dev/null 2>&1 || true
    seconds=$(elapsed "$started")
    code=$(podman inspect --format '{{.State.ExitCode}}' "$container")
    podman rm -f "$container" >/dev/null 2>&1 || true
    report "$name" stop_seconds "$seconds"
    if [ "$code" -eq 0 ] || [ "$code" -eq 143 ]; then
        check_pass "stop $name (exit $code after $seconds s)"
    else
        check_fail "stop $name: exit status $code after $seconds s (a clean stop exits 0)"
    fi
}

# Boots an image the way StreamSpace starts a session (its basic-auth password set, everything else
# at the image's defaults), waits for health, screenshots it (first boot only) and stops it.
boot_image() {
    local name=$1 ref=$2 round=$3 container started
    container="streamspace-offline-$name-$$-$round"
    OFFLINE_CLEANUP_CONTAINERS+=("$container")
    started=$(now)
    if ! podman run -d --name "$container" --shm-size=1g -e SELKIES_BASIC_AUTH_PASSWORD="offline-$$-$RANDOM" \
        "$ref" >"$ARTIFACTS/logs/run-$name.log" 2>&1; then
        check_fail "ready $name: podman run failed:"
        sed 's/^/    | /' "$ARTIFACTS/logs/run-$name.log"
        return 0
    fi
    if wait_ready "$name" "$container" "$started"; then
        check_pass "ready $name (healthy $READY_SECONDS s after start)"
        report "$name" ready_seconds "$READY_SECONDS"
        if [ "$round" -eq 1 ]; then take_screenshot "$name" "$container" "${IS_APP[$name]}"; fi
    fi
    podman logs "$container" >"$ARTIFACTS/logs/container-$name.log" 2>&1 || true
    stop_container "$name" "$container"
}

# scripts/test-image.sh against the image; its own "N passed, N failed[, N skipped]" line is added
# to ours.
test_image() {
    local name=$1 ref=$2 status=0 summary
    local log="$ARTIFACTS/logs/test-image-$name.log"
    local -a probe=()
    if [ -n "${BUILT_REF[$PROBE_IMAGE_NAME]:-}" ]; then probe=(--probe-image "${BUILT_REF[$PROBE_IMAGE_NAME]}"); fi
    # A session image is also started the way StreamSpace starts it, with its Template's env.
    if [ "${KIND[$name]:-}" = session ] && catalog template-env "$name" >"$ARTIFACTS/logs/template-env-$name" 2>/dev/null; then
        probe+=(--streamspace-env "$ARTIFACTS/logs/template-env-$name")
    fi
    if [ ! -f "$TEST_IMAGE_SCRIPT" ]; then
        check_fail "test-image $name: $TEST_IMAGE_SCRIPT is missing"
        return 0
    fi
    say "test-image $name: CONTAINER_ENGINE=podman ${TEST_IMAGE_SCRIPT#"$ROOT"/} --artifacts ${ARTIFACTS#"$ROOT"/}/stream-$name ${probe[*]} $ref"
    # Podman without systemd complains about health timers on every start: kept in the log only.
    CONTAINER_ENGINE=podman bash "$TEST_IMAGE_SCRIPT" --artifacts "$ARTIFACTS/stream-$name" "${probe[@]}" "$ref" 2>&1 | tee "$log" |
        sed -e '/unable to get systemd connection/d' -e 's/^/    /' || status=$?
    summary=$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$log" | tail -n 1 || true)
    if [ -z "$summary" ]; then
        check_fail "test-image $name: ended with status $status and no 'N passed, N failed' line (log: $log)"
        return 0
    fi
    passed=$((passed + $(sed -E 's/^([0-9]+) passed.*/\1/' <<<"$summary")))
    failed=$((failed + $(sed -E 's/^[0-9]+ passed, ([0-9]+) failed.*/\1/' <<<"$summary")))
    skipped=$((skipped + $(grep -oE '[0-9]+ skipped' <<<"$summary" | grep -oE '[0-9]+' || echo 0)))
    if [ "$status" -ne 0 ] && ! grep -qE ' [1-9][0-9]* failed' <<<"$summary"; then
        check_fail "test-image $name: exited with status $status"
    fi
}

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
    if [ "${SKIP_IMAGE_TESTS:-}" = 1 ]; then
        say "##########################################################################"
        say "## SKIP_IMAGE_TESTS=1: the images were NOT built or booted in this run. ##"
        say "##########################################################################"
        check_skip "offline build and boot of the images (SKIP_IMAGE_TESTS=1)"
        print_summary
        return 0
    fi
    local started name round plan kinds kind
    started=$(now)
    check_free_space "$MIN_FREE_GIB" "$OFFLINE_CACHE_DIR"
    ensure_tools "$INSTALL"
    [ "$(id -u)" -eq 0 ] || die "run as root: buildah and podman need it on these machines (sudo $0)"
    install_offline_traps
    take_run_lock
    configure_containers "$STORAGE"
    mkdir -p "$ARTIFACTS/logs"
    read_offline_conf
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
    print_summary
    [ "$failed" -eq 0 ]
}

main "$@"
