#!/usr/bin/env bash
# Runs a StreamSpace session image and checks it against the image standard (images/README.md):
#   scripts/test-image.sh [--no-stream] [--probe-image REF] [--streamspace-env FILE] [--artifacts DIR]
#                         [--timeout SECONDS] IMAGE
# CONTAINER_ENGINE=podman uses Podman instead of Docker. Prints one line per check (PASS, FAIL or
# SKIP with the reason) and a summary; exits non-zero when any check fails. The stream checks run
# the stream probe (images/stream-probe) from this checkout in Debian's Chromium against the
# session, over WebSockets on both web ports; with --probe-image, that probe image also streams from
# a WebRTC session, inside its network namespace; with --streamspace-env (KEY=VALUE lines: the env of
# the image's StreamSpace Template, `scripts/catalog.ts template-env`), the image is also started the
# way StreamSpace starts a session and must stream on its web port; --no-stream skips them. Its checks
# count in the tally of scripts/lib/checks.sh: run by scripts/offline-images.sh, in that run's total.
set -euo pipefail

ENGINE=${CONTAINER_ENGINE:-docker}
TIMEOUT=180
STREAM=yes
IMAGE=
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PROBE=${STREAM_PROBE:-$ROOT/images/stream-probe/rootfs/opt/stream-probe/stream-probe.js}
PROBE_CHROMIUM=${PROBE_CHROMIUM:-/usr/bin/chromium}
PROBE_EXTRA=()
PROBE_RESULT=
PROBE_IMAGE=
STREAMSPACE_ENV=
ARTIFACTS=
PASSWORD="test-$$-$RANDOM"
AUTH_USER=tester
WIDTH=1280
HEIGHT=720
ZONE=Asia/Tokyo
ZONE_ABBREVIATION=JST
RUN_ID="streamspace-test-$$"
CONTAINERS=()
CLEANUP_DIRS=()
# The standard ports by name, from catalog/imageStandard.ts (read_standard_ports).
PORT_SELKIES=
PORT_WEB=
PORT_VNC=
PORT_NOVNC=

# shellcheck source=scripts/lib/checks.sh
source "$ROOT/scripts/lib/checks.sh"
CHECKS_PAD=" "

usage() {
    sed -n '2,6s/^# \{0,1\}//p' "$0" >&2
    exit 2
}

cleanup() {
    local c
    for c in "${CONTAINERS[@]}"; do
        "$ENGINE" rm -f "$c" >/dev/null 2>&1 || true
    done
    for c in "${CLEANUP_DIRS[@]}"; do
        rm -rf "$c"
    done
    checks_cleanup
}
trap cleanup EXIT INT TERM

parse_args() {
    while [ "$#" -gt 0 ]; do
        case "$1" in
            --no-stream) STREAM=no ;;
            --artifacts) ARTIFACTS=${2:?--artifacts needs a folder}; shift ;;
            --probe-image) PROBE_IMAGE=${2:?--probe-image needs an image reference}; shift ;;
            --streamspace-env) STREAMSPACE_ENV=${2:?--streamspace-env needs a file}; shift ;;
            --timeout) TIMEOUT=${2:?--timeout needs seconds}; shift ;;
            -h | --help) usage ;;
            -*) echo "unknown option $1" >&2; usage ;;
            *) [ -z "$IMAGE" ] || usage; IMAGE=$1 ;;
        esac
        shift
    done
    [ -n "$IMAGE" ] || usage
    command -v "$ENGINE" >/dev/null || { echo "container engine '$ENGINE' not found (set CONTAINER_ENGINE)" >&2; exit 2; }
    command -v curl >/dev/null || { echo "curl is needed on this machine" >&2; exit 2; }
}

# The standard ports (selkies, web, vnc, novnc) from catalog/imageStandard.ts, the one place they
# are defined, into PORT_SELKIES, PORT_WEB, PORT_VNC and PORT_NOVNC.
read_standard_ports() {
    local lines name port variable
    # shellcheck disable=SC2016  # JavaScript, not shell
    if ! lines=$(cd "$ROOT" && node -r ts-node/register/transpile-only -e '
        const { STANDARD_PORTS } = require(process.argv[1] + "/catalog/imageStandard");
        for (const p of STANDARD_PORTS) console.log(`${p.name}=${p.port}`);' "$ROOT"); then
        echo "could not read the standard ports from $ROOT/catalog/imageStandard.ts: it needs node and the repository's dependencies (npm ci)" >&2
        exit 2
    fi
    while IFS='=' read -r name port; do
        case $name in
            selkies) PORT_SELKIES=$port ;;
            web) PORT_WEB=$port ;;
            vnc) PORT_VNC=$port ;;
            novnc) PORT_NOVNC=$port ;;
        esac
    done <<<"$lines"
    for name in selkies web vnc novnc; do
        variable=PORT_${name^^}
        if ! [[ ${!variable} =~ ^[0-9]+$ ]]; then
            echo "catalog/imageStandard.ts has no standard port named '$name' (STANDARD_PORTS has: $(tr '\n' ' ' <<<"$lines"))" >&2
            exit 2
        fi
    done
}

# start NAME [engine run options...]: starts the image detached with the test's settings; the
# container is removed on exit. Not called in $(...), so the cleanup list keeps its name.
start() {
    local name=$1
    shift
    CONTAINERS+=("$name")
    "$ENGINE" run -d --name "$name" --shm-size=1g \
        -e SELKIES_BASIC_AUTH_USER="$AUTH_USER" -e SELKIES_BASIC_AUTH_PASSWORD="$PASSWORD" \
        -e DISPLAY_WIDTH="$WIDTH" -e DISPLAY_HEIGHT="$HEIGHT" -e TZ="$ZONE" \
        "$@" "$IMAGE" >/dev/null
}

health_of() {
    if [ "$ENGINE" = podman ]; then
        # Podman without systemd runs no health timers: run the check itself.
        if podman healthcheck run "$1" >/dev/null 2>&1; then echo healthy; else echo starting; fi
    else
        "$ENGINE" inspect --format '{{if .State.Health}}{{.State.Health.Status}}{{else}}none{{end}}' "$1"
    fi
}

# wait_healthy NAME: waits with visible progress; on failure shows the container's last log lines.
wait_healthy() {
    local name=$1 start=$SECONDS status running
    while true; do
        running=$("$ENGINE" inspect --format '{{.State.Running}}' "$name" 2>/dev/null || echo false)
        if [ "$running" != true ]; then
            printf '\n' >&2
            echo "container $name stopped while starting; its log:" >&2
            "$ENGINE" logs --tail 30 "$name" >&2 || true
            return 1
        fi
        status=$(health_of "$name")
        printf '\r  waiting for %s to be healthy: %3ds (%s)' "${name#"$RUN_ID-"}" "$((SECONDS - start))" "$status" >&2
        if [ "$status" = healthy ]; then
            printf '\n' >&2
            return 0
        fi
        if [ $((SECONDS - start)) -ge "$TIMEOUT" ]; then
            printf '\n' >&2
            echo "not healthy after ${TIMEOUT}s; last log lines:" >&2
            "$ENGINE" logs --tail 30 "$name" >&2 || true
            return 1
        fi
        sleep 2
    done
}

host_port() {
    "$ENGINE" port "$1" "$2/tcp" | head -n 1 | sed 's/.*://'
}

http_code() {
    curl -s -o /dev/null --max-time 10 -w '%{http_code}' "$@" || true
}

in_container() {
    local name=$1
    shift
    "$ENGINE" exec "$name" "$@"
}

check_labels() {
    local labels missing=() suffix
    labels=$("$ENGINE" image inspect --format '{{json .Config.Labels}}' "$IMAGE")
    for suffix in title description version revision created source url documentation vendor licenses; do
        grep -q "\"org.opencontainers.image.$suffix\":\"[^\"]" <<<"$labels" || missing+=("$suffix")
    done
    if [ "${#missing[@]}" -eq 0 ]; then check_pass "labels: all 10 org.opencontainers.image.* labels set"; else check_fail "labels: missing or empty: ${missing[*]}"; fi
}

# no_root NAME EXPECTED_UID: every process of the container runs as EXPECTED_UID (or at least not root).
check_users() {
    local name=$1 expected=$2 what=$3 uids
    uids=$("$ENGINE" exec --user "${expected:-1000}" "$name" ps -eo uid= | tr -d ' ' | sort -u | tr '\n' ' ')
    if [[ " $uids" == *" 0 "* ]]; then
        check_fail "$what: a process runs as root (uids: $uids)"
    elif [ -n "$expected" ] && [ "$uids" != "$expected " ]; then
        check_fail "$what: processes run as uids $uids, expected only $expected"
    else
        check_pass "$what: every process runs as uid ${uids% }"
    fi
}

check_http() {
    local web=$1 label=$2 code
    code=$(http_code "http://127.0.0.1:$web/health")
    if [ "$code" = 200 ]; then check_pass "$label /health: 200 without credentials"; else check_fail "$label /health: $code, expected 200"; fi
    code=$(http_code "http://127.0.0.1:$web/")
    if [ "$code" = 401 ]; then check_pass "$label / without credentials: 401"; else check_fail "$label / without credentials: $code, expected 401"; fi
    code=$(http_code -u "$AUTH_USER:$PASSWORD" "http://127.0.0.1:$web/")
    if [ "$code" = 200 ]; then check_pass "$label / with credentials: 200"; else check_fail "$label / with credentials: $code, expected 200"; fi
    code=$(http_code -u "$AUTH_USER:wrong-$PASSWORD" "http://127.0.0.1:$web/")
    if [ "$code" = 401 ]; then check_pass "$label / with a wrong password: 401"; else check_fail "$label / with a wrong password: $code, expected 401"; fi
}

check_selkies() {
    local name=$1 web=$2 page
    if in_container "$name" pgrep -f /opt/selkies/bin/selkies >/dev/null; then check_pass "selkies process: running"; else check_fail "selkies process: not running"; fi
    page=$(curl -s --max-time 10 -u "$AUTH_USER:$PASSWORD" "http://127.0.0.1:$web/" || true)
    if grep -qi '<html' <<<"$page" && grep -qi 'selkies' <<<"$page"; then check_pass "selkies web client: served on $PORT_SELKIES"; else check_fail "selkies web client: / does not serve the Selkies page"; fi
}

# probe LABEL PORT [VAR=VALUE...]: runs the stream probe against http://127.0.0.1:PORT/ with the
# session's password (from a file, never on a command line); its JSON line goes to $PROBE_RESULT.
probe() {
    local label=$1 port=$2 password_file
    local -a auth=()
    shift 2
    password_file=$(mktemp)
    printf '%s' "$PASSWORD" >"$password_file"
    # An empty PASSWORD: a session without basic auth (as StreamSpace starts it).
    if [ -n "$PASSWORD" ]; then auth=(PROBE_USER="$AUTH_USER" PROBE_PASSWORD_FILE="$password_file"); fi
    PROBE_RESULT=$(env PROBE_URL="http://127.0.0.1:$port/" "${auth[@]}" \
        PROBE_SECONDS=5 PROBE_EXPECT_WIDTH="$WIDTH" PROBE_EXPECT_HEIGHT="$HEIGHT" PROBE_TIMEOUT_SECONDS=60 \
        PROBE_CHROMIUM="$PROBE_CHROMIUM" PROBE_SCREENSHOT="${ARTIFACTS:-/tmp}/stream-$label.png" "$@" \
        node "$PROBE" 2>"${ARTIFACTS:-/tmp}/stream-$label.log" || true)
    rm -f "$password_file"
}

probe_field() {
    node -e 'const r = JSON.parse(process.argv[1] || "{}"); const v = r[process.argv[2]]; console.log(v === undefined || v === null ? "" : v)' "$PROBE_RESULT" "$1"
}

# expect_stream LABEL PORT: the probe passes, over WebSockets, at the session's screen size.
expect_stream() {
    local label=$1 port=$2
    probe "$label" "$port" "${PROBE_EXTRA[@]}"
    if [ "$(probe_field verdict)" = pass ] && [ "$(probe_field transport)" = websockets ]; then
        check_pass "stream ($label): $(probe_field detail)"
    else
        check_fail "stream ($label): $(probe_field reason): $(probe_field detail) (log: ${ARTIFACTS:-/tmp}/stream-$label.log)"
    fi
}

# Waits up to SECONDS for /health on PORT to answer CODE.
wait_health_code() {
    local port=$1 code=$2 deadline=$((SECONDS + $3))
    while [ "$SECONDS" -lt "$deadline" ]; do
        [ "$(http_code "http://127.0.0.1:$port/health")" = "$code" ] && return 0
        sleep 0.5
    done
    return 1
}

# The real stream, decoded by a real browser: on both web ports, a wrong password refused, and a
# streaming server that dies is reported by /health, restarted, and streams again.
check_stream() {
    local name=$1 web=$2 streamspace_web=$3 started saved
    if [ "$STREAM" = no ]; then
        check_skip "stream: --no-stream"
        return
    fi
    if ! command -v node >/dev/null || [ ! -x "$PROBE_CHROMIUM" ] || [ ! -f "$PROBE" ]; then
        check_skip "stream: needs node, Chromium at $PROBE_CHROMIUM (Debian's chromium) and $PROBE with npm ci done"
        return
    fi
    [ -z "$ARTIFACTS" ] || mkdir -p "$ARTIFACTS"
    expect_stream "$PORT_SELKIES" "$web"
    expect_stream "$PORT_WEB" "$streamspace_web"
    # The password reaches Selkies through its environment: never on a command line.
    if in_container "$name" ps -eo args | grep -qF -- "$PASSWORD"; then
        check_fail "password: it appears on a command line (ps)"
    else
        check_pass "password: on no command line of the session (ps)"
    fi
    saved=$PASSWORD
    PASSWORD="wrong-$PASSWORD"
    probe wrong-password "$web" PROBE_TIMEOUT_SECONDS=20
    PASSWORD=$saved
    if [ "$(probe_field reason)" = unauthorized ]; then check_pass "stream: a wrong password is refused (unauthorized)"; else check_fail "stream: a wrong password gave '$(probe_field reason)', expected unauthorized"; fi
    # A streaming server that stops answering: /health must say so within one health period.
    started=$SECONDS
    in_container "$name" pkill -STOP -f /opt/selkies/bin/selkies || true
    if wait_health_code "$web" 503 15; then
        check_pass "selkies hung: /health answers 503 after $((SECONDS - started)) s"
    else
        check_fail "selkies hung: /health still $(http_code "http://127.0.0.1:$web/health") 15 s later, expected 503"
    fi
    # One that dies: the supervisor starts it again and the session streams again.
    started=$SECONDS
    in_container "$name" pkill -KILL -f /opt/selkies/bin/selkies || true
    if wait_health_code "$web" 200 60; then
        check_pass "selkies killed: restarted by the supervisor, /health 200 again after $((SECONDS - started)) s"
        expect_stream after-restart "$web"
    else
        check_fail "selkies killed: /health not 200 again within 60 s"
    fi
}

check_vnc() {
    local vnc=$1 novnc=$2 banner page
    # shellcheck disable=SC2016 # $1 is expanded by the inner bash, which gets the port as its argument
    banner=$(timeout 5 bash -c 'exec 3<>"/dev/tcp/127.0.0.1/$1" && head -c 12 <&3' _ "$vnc" 2>/dev/null || true)
    if [[ $banner == RFB\ 00[0-9].* ]]; then check_pass "VNC on $PORT_VNC: banner ${banner%$'\n'}"; else check_fail "VNC on $PORT_VNC: no RFB banner (got '${banner}')"; fi
    page=$(curl -s --max-time 10 "http://127.0.0.1:$novnc/vnc.html" || true)
    if grep -qi 'noVNC' <<<"$page"; then check_pass "noVNC on $PORT_NOVNC: /vnc.html served"; else check_fail "noVNC on $PORT_NOVNC: /vnc.html is not the noVNC page"; fi
    # What noVNC does next: a WebSocket upgrade on its port, after which the VNC server's banner arrives
    # in the first binary frame.
    # shellcheck disable=SC2016 # $1 is expanded by the inner bash, which gets the port as its argument
    banner=$(timeout 8 bash -c 'exec 3<>"/dev/tcp/127.0.0.1/$1" || exit 1
        printf "GET /websockify HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: c3RyZWFtc3BhY2UtaW1hZ2VzIQ==\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: binary\r\n\r\n" >&3
        timeout 4 cat <&3' _ "$novnc" 2>/dev/null | tr -d '\0' || true)
    if grep -aq '^HTTP/1.1 101' <<<"$banner" && grep -aq 'RFB 00[0-9]\.' <<<"$banner"; then
        check_pass "noVNC on $PORT_NOVNC: WebSocket upgrade answered, VNC banner relayed"
    else
        check_fail "noVNC on $PORT_NOVNC: no VNC banner through the WebSocket (got '$(head -c 200 <<<"$banner" | tr -d '\r')')"
    fi
}

# Every program in the image finds all its shared libraries (images on selkies-base carry the check).
# /etc/streamspace/build.env records what the build chose (SELKIES_VERSION, BROWSER, ...): KEY=VALUE
# lines a script can read, and nothing else (no tool's output).
check_build_env() {
    local name=$1 content bad
    if ! content=$(in_container "$name" cat /etc/streamspace/build.env 2>/dev/null); then
        check_skip "build record: the image has no /etc/streamspace/build.env (not built on selkies-base)"
        return
    fi
    bad=$(grep -cvE '^[A-Z][A-Z0-9_]*=[^[:space:]]*$' <<<"$content" || true)
    if [ "$bad" -eq 0 ] && grep -q '^SELKIES_VERSION=' <<<"$content"; then
        check_pass "build record: /etc/streamspace/build.env holds KEY=VALUE lines only ($(tr '\n' ' ' <<<"$content" | sed 's/ $//'))"
    else
        check_fail "build record: /etc/streamspace/build.env has $bad line(s) that are not KEY=VALUE, or no SELKIES_VERSION: $(head -c 300 <<<"$content" | tr '\n' ' ')"
    fi
}

check_libraries() {
    local name=$1 out
    if ! in_container "$name" sh -c 'command -v streamspace-check-libraries' >/dev/null 2>&1; then
        check_skip "shared libraries: the image has no streamspace-check-libraries (not built on selkies-base)"
        return
    fi
    if out=$(in_container "$name" streamspace-check-libraries 2>&1); then
        check_pass "shared libraries: every program and library under /usr and /opt resolves its libraries"
    else
        check_fail "shared libraries: $(tr '\n' ' ' <<<"$out" | head -c 600)"
    fi
}

check_screen() {
    local name=$1 size
    size=$(in_container "$name" xdpyinfo 2>/dev/null | sed -n 's/^ *dimensions: *\([0-9]*x[0-9]*\) pixels.*/\1/p')
    if [ "$size" = "${WIDTH}x${HEIGHT}" ]; then check_pass "screen size: $size as set by DISPLAY_WIDTH x DISPLAY_HEIGHT"; else check_fail "screen size: '${size}', expected ${WIDTH}x${HEIGHT}"; fi
}

check_timezone() {
    local name=$1 tz abbreviation
    tz=$(in_container "$name" cat /proc/1/environ | tr '\0' '\n' | sed -n 's/^TZ=//p')
    abbreviation=$(in_container "$name" env TZ="$tz" date +%Z)
    if [ "$tz" = "$ZONE" ] && [ "$abbreviation" = "$ZONE_ABBREVIATION" ]; then check_pass "TZ: the session runs in $tz ($abbreviation)"; else check_fail "TZ: the session has TZ='$tz' ($abbreviation), expected $ZONE ($ZONE_ABBREVIATION)"; fi
}

check_window() {
    local name=$1 class deadline=$((SECONDS + 60)) tree
    class=$(in_container "$name" printenv APP_WINDOW_CLASS || true)
    if [ -z "$class" ]; then
        check_skip "app window: the image sets no APP_WINDOW_CLASS (a base image)"
        return
    fi
    while true; do
        tree=$(in_container "$name" xwininfo -root -tree 2>/dev/null || true)
        if grep -Eiq "\(\"[^\"]*\" \"($class)\"\)" <<<"$tree"; then
            check_pass "app window: a window of class /$class/ is on screen"
            return
        fi
        if [ "$SECONDS" -ge "$deadline" ]; then
            check_fail "app window: no window of class /$class/ after 60 s"
            return
        fi
        sleep 2
    done
}

# WebRTC: refused without a TURN server of the user's own; with host candidates only (an ICE
# configuration without servers), the probe image, in the session's network namespace, must decode
# its frames over WebRTC.
check_webrtc() {
    local name="$RUN_ID-webrtc" refused="$RUN_ID-webrtc-refused" work out status=0 setting
    local -a extra=()
    if [ "$STREAM" = no ] || [ -z "$PROBE_IMAGE" ]; then
        check_skip "stream over WebRTC: needs --probe-image (the stream-probe image)"
        return
    fi
    start "$refused" -e SELKIES_MODE=webrtc
    sleep 3
    out=$("$ENGINE" logs "$refused" 2>&1 || true)
    if [ "$("$ENGINE" inspect --format '{{.State.Running}}' "$refused" 2>/dev/null)" != true ] && grep -q "SELKIES_MODE=webrtc needs your own TURN server" <<<"$out"; then
        check_pass "WebRTC without TURN settings: refused at start, naming the settings"
    else
        check_fail "WebRTC without TURN settings: still running, or no message naming SELKIES_TURN_HOST (log: $(tail -n 2 <<<"$out" | tr '\n' ' '))"
    fi
    work=$(mktemp -d)
    CLEANUP_DIRS+=("$work")
    chmod 0777 "$work"
    printf '{"iceServers": []}\n' >"$work/rtc.json"
    printf '%s' "$PASSWORD" >"$work/password"
    chmod 0644 "$work/rtc.json" "$work/password"
    start "$name" -e SELKIES_MODE=webrtc -e SELKIES_RTC_CONFIG_JSON=/run/streamspace/rtc.json -v "$work/rtc.json:/run/streamspace/rtc.json:ro"
    if ! wait_healthy "$name"; then
        check_fail "stream over WebRTC: the session never turned healthy"
        return
    fi
    for setting in "${PROBE_EXTRA[@]}"; do extra+=(-e "$setting"); done
    PROBE_RESULT=$("$ENGINE" run --rm --network "container:$name" --shm-size=1g -v "$work:/probe-files" "${extra[@]}" \
        -e PROBE_URL="http://localhost:$PORT_SELKIES/" -e PROBE_USER="$AUTH_USER" -e PROBE_PASSWORD_FILE=/probe-files/password \
        -e PROBE_SECONDS=5 -e PROBE_EXPECT_WIDTH="$WIDTH" -e PROBE_EXPECT_HEIGHT="$HEIGHT" -e PROBE_TIMEOUT_SECONDS=60 \
        -e PROBE_SCREENSHOT=/probe-files/stream-webrtc.png "$PROBE_IMAGE" 2>"$work/probe.log") || status=$?
    if [ -n "$ARTIFACTS" ]; then
        cp "$work/probe.log" "$ARTIFACTS/stream-webrtc.log" 2>/dev/null || true
        cp "$work/stream-webrtc.png" "$ARTIFACTS/stream-webrtc.png" 2>/dev/null || true
    fi
    if [ "$status" -eq 0 ] && [ "$(probe_field verdict)" = pass ] && [ "$(probe_field transport)" = webrtc ]; then
        check_pass "stream over WebRTC (the probe image, exit $status): $(probe_field detail)"
    else
        check_fail "stream over WebRTC (the probe image, exit $status): $(probe_field reason): $(probe_field detail) ($(tail -n 3 "$work/probe.log" | tr '\n' ' '))"
    fi
    "$ENGINE" rm -f "$name" >/dev/null 2>&1 || true
}

# Something that moves on the screen, run by the session's shell: a small window (x11-apps' xlogo,
# override-redirect so that the window manager leaves it unmaximised) goes back and forth over a
# larger one that stays put. Only the still xlogo beneath repaints what the small one uncovers; the
# application below both is never asked to, so the motion costs it nothing.
read -r -d '' MOTION_SCRIPT <<'EOF' || true
export DISPLAY=${DISPLAY:-:0}
window_of() { xwininfo -root -children | awk -v g=" $1+" 'index($0, g) { print $1; exit }'; }
xlogo -xrm "*overrideRedirect: True" -geometry 400x200+0+300 &
sleep 0.3
xlogo -xrm "*overrideRedirect: True" -geometry 120x80+0+360 &
for _ in $(seq 50); do
    backdrop=$(window_of 400x200) window=$(window_of 120x80)
    [ -n "$backdrop" ] && [ -n "$window" ] && break
    sleep 0.1
done
x=0 step=8
while :; do
    x=$((x + step))
    if [ "$x" -ge 280 ]; then step=-8; elif [ "$x" -le 0 ]; then step=8; fi
    xdotool windowmove "$window" "$x" 360 windowraise "$window"
    sleep 0.02
done
EOF

# Selkies' JPEG encoder (SELKIES_ENCODER=jpeg): stripes that a worker decodes and draws, sent only
# where the screen changes. MOTION_SCRIPT moves something while the probe counts the pictures the
# page shows.
check_jpeg() {
    local name="$RUN_ID-jpeg" web
    if [ "$STREAM" = no ]; then
        check_skip "stream with the JPEG encoder: --no-stream"
        return
    fi
    if ! command -v node >/dev/null || [ ! -x "$PROBE_CHROMIUM" ] || [ ! -f "$PROBE" ]; then
        check_skip "stream with the JPEG encoder: needs node, Chromium at $PROBE_CHROMIUM and $PROBE"
        return
    fi
    start "$name" -e SELKIES_ENCODER=jpeg -p "127.0.0.1::$PORT_SELKIES"
    if ! wait_healthy "$name"; then
        check_fail "stream with the JPEG encoder: the session never turned healthy"
        return
    fi
    web=$(host_port "$name" "$PORT_SELKIES")
    "$ENGINE" exec -d "$name" sh -c "$MOTION_SCRIPT" >/dev/null
    # The rate follows the motion and the CPU left over on the host: this checks that pictures flow.
    probe jpeg "$web" "${PROBE_EXTRA[@]}" PROBE_MIN_FPS=1
    if [ "$(probe_field verdict)" = pass ] && [ "$(probe_field transport)" = websockets ] && [ -z "$(probe_field codec)" ]; then
        check_pass "stream with the JPEG encoder: $(probe_field detail)"
    else
        check_fail "stream with the JPEG encoder: $(probe_field reason): $(probe_field detail) (log: ${ARTIFACTS:-/tmp}/stream-jpeg.log)"
    fi
    "$ENGINE" rm -f "$name" >/dev/null 2>&1 || true
}

# The image started exactly as StreamSpace's agent starts a session: the Template's env and the five
# variables the agent adds, no password, no security context, Docker's 64 MB /dev/shm; reached on
# the web port, the one its Service targets.
check_streamspace_boot() {
    local name="$RUN_ID-streamspace" saved port kv logs
    local -a env=(-e USER=streamspace-user -e SESSION_ID=session-test -e PUID=1000 -e PGID=1000 -e TZ=UTC)
    if [ "$STREAM" = no ] || [ -z "$STREAMSPACE_ENV" ]; then
        check_skip "started as StreamSpace starts it: needs --streamspace-env (scripts/catalog.ts template-env IMAGE)"
        return
    fi
    while IFS= read -r kv; do
        [ -n "$kv" ] && env+=(-e "$kv")
    done <"$STREAMSPACE_ENV"
    CONTAINERS+=("$name")
    "$ENGINE" run -d --name "$name" --shm-size=64m "${env[@]}" -p "127.0.0.1::$PORT_WEB" "$IMAGE" >/dev/null
    if ! wait_healthy "$name"; then
        check_fail "started as StreamSpace starts it: never healthy"
        return
    fi
    port=$(host_port "$name" "$PORT_WEB")
    saved=$PASSWORD
    PASSWORD=
    probe streamspace "$port" "${PROBE_EXTRA[@]}"
    PASSWORD=$saved
    if [ "$(probe_field verdict)" = pass ]; then
        check_pass "started as StreamSpace starts it (Template env, 64 MB /dev/shm, no password), streams on $PORT_WEB: $(probe_field detail)"
    else
        check_fail "started as StreamSpace starts it: $(probe_field reason): $(probe_field detail) (log: ${ARTIFACTS:-/tmp}/stream-streamspace.log)"
    fi
    logs=$("$ENGINE" logs "$name" 2>&1 || true)
    if grep -q '^\[app\] WARNING: /dev/shm is 64 MB' <<<"$logs"; then
        check_pass "64 MB /dev/shm: the application was told (STREAMSPACE_SMALL_SHM=1)$(grep -m 1 -o 'small /dev/shm: .*' <<<"$logs" | sed 's/^/; it adapted: /')"
    else
        check_fail "64 MB /dev/shm: run-app did not warn about it, so the application was not told"
    fi
    "$ENGINE" rm -f "$name" >/dev/null 2>&1 || true
}

check_stop() {
    local name=$1 started elapsed code
    started=$(date +%s%N)
    "$ENGINE" stop -t 10 "$name" >/dev/null
    elapsed=$((($(date +%s%N) - started) / 1000000))
    code=$("$ENGINE" inspect --format '{{.State.ExitCode}}' "$name")
    if [ "$elapsed" -lt 10000 ] && [ "$code" != 137 ]; then check_pass "stop: exited in ${elapsed} ms (exit code $code)"; else check_fail "stop: took ${elapsed} ms, exit code $code (137: it had to be killed)"; fi
}

check_puid() {
    local name="$RUN_ID-puid"
    start "$name" --user 0 -e PUID=1001 -e PGID=1001
    if wait_healthy "$name"; then
        check_users "$name" 1001 "PUID/PGID 1001 (started as root)"
    else
        check_fail "PUID/PGID 1001 (started as root): never healthy"
    fi
}

check_other_uid() {
    local name="$RUN_ID-uid1234" code
    start "$name" --user 1234:1234
    if wait_healthy "$name"; then
        code=$(in_container "$name" curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PORT_SELKIES/health" || true)
        if [ "$code" = 200 ]; then check_users "$name" 1234 "--user 1234:1234"; else check_fail "--user 1234:1234: /health $code"; fi
    else
        check_fail "--user 1234:1234: never healthy"
    fi
}

main() {
    parse_args "$@"
    read_standard_ports
    checks_begin
    echo "Testing $IMAGE with $ENGINE"
    # A base image shows an empty desktop: its stream is real but one colour.
    PROBE_EXTRA=(PROBE_MIN_COLOURS=4)
    if [ -z "$("$ENGINE" image inspect --format '{{range .Config.Env}}{{println .}}{{end}}' "$IMAGE" | sed -n 's/^APP_WINDOW_CLASS=//p')" ]; then
        PROBE_EXTRA=(PROBE_MIN_COLOURS=0)
    fi
    check_labels
    local name="$RUN_ID-main" web streamspace_web vnc novnc
    start "$name" -p "127.0.0.1::$PORT_SELKIES" -p "127.0.0.1::$PORT_WEB" -p "127.0.0.1::$PORT_VNC" -p "127.0.0.1::$PORT_NOVNC"
    if wait_healthy "$name"; then
        check_pass "healthy: the HEALTHCHECK passes"
        web=$(host_port "$name" "$PORT_SELKIES")
        streamspace_web=$(host_port "$name" "$PORT_WEB")
        vnc=$(host_port "$name" "$PORT_VNC")
        novnc=$(host_port "$name" "$PORT_NOVNC")
        check_users "$name" "" "user"
        check_http "$web" "$PORT_SELKIES"
        check_http "$streamspace_web" "$PORT_WEB"
        check_selkies "$name" "$web"
        check_vnc "$vnc" "$novnc"
        check_libraries "$name"
        check_build_env "$name"
        check_screen "$name"
        check_timezone "$name"
        check_window "$name"
        check_stream "$name" "$web" "$streamspace_web"
        check_stop "$name"
    else
        check_fail "healthy: not healthy within ${TIMEOUT}s"
    fi
    check_puid
    check_other_uid
    check_webrtc
    check_jpeg
    check_streamspace_boot
    echo
    checks_summary
    checks_passed
}

main "$@"
