# shellcheck shell=bash
# The boots of scripts/offline-images.sh: each built image started with podman as StreamSpace starts
# a session, timed until its HEALTHCHECK passes, its X display saved as a PNG, and stopped. Uses ROOT,
# ARTIFACTS, READY_TIMEOUT, IS_APP (scripts/lib/offline-build.sh), report of scripts/offline-images.sh
# and the check_* of scripts/lib/checks.sh. Sourced, never run.

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
