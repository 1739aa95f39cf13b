# shellcheck shell=bash
# The checks of scripts/offline-images.sh: scripts/test-image.sh against each booted image, with the
# stream probe image when it was built and, for a session image, its StreamSpace Template's env. Its
# checks land in the shared tally of scripts/lib/checks.sh as it runs them. Uses ROOT, ARTIFACTS,
# TEST_IMAGE_SCRIPT, PROBE_IMAGE_NAME, KIND and catalog of scripts/offline-images.sh and BUILT_REF of
# scripts/lib/offline-build.sh. Sourced, never run.

# scripts/test-image.sh against the image. It fails the image when it records no check at all, or
# exits non-zero with no failed check to show for it.
test_image() {
    local name=$1 ref=$2 status=0 first
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
    first=$(checks_next_line)
    # Podman without systemd complains about health timers on every start: kept in the log only.
    CONTAINER_ENGINE=podman bash "$TEST_IMAGE_SCRIPT" --artifacts "$ARTIFACTS/stream-$name" "${probe[@]}" "$ref" 2>&1 | tee "$log" |
        sed -e '/unable to get systemd connection/d' -e 's/^/    /' || status=$?
    if [ "$(checks_next_line)" -eq "$first" ]; then
        check_fail "test-image $name: ended with status $status without recording a check (log: $log)"
    elif [ "$status" -ne 0 ] && [ "$(checks_count fail "$first")" -eq 0 ]; then
        check_fail "test-image $name: exited with status $status"
    fi
}
