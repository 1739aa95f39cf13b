# shellcheck shell=bash
# One pass/fail/skip tally for the scripts that check things: scripts/test.sh, the
# scripts/offline-images.sh it runs, and the scripts/test-image.sh that runs for every image. Each
# result is one line ("pass", "fail" or "skip") of the file named by STREAMSPACE_CHECKS_TALLY, which
# the outermost script creates and every script it starts inherits: a child's checks are in its
# parent's total as they happen, and no script reads another's summary line back. A script's own
# summary counts the lines from where it began, its checks and its children's. Sourced, never run.

# Where this script's results start in the tally, and whether it made the tally (and so removes it).
CHECKS_FIRST_LINE=1
CHECKS_OWN_TALLY=no
# scripts/test-image.sh pads PASS and FAIL with a second space, as its output has always had them.
CHECKS_PAD=""

# Joins the tally this script was started with, or makes one. Call before the first check.
checks_begin() {
    if [ -z "${STREAMSPACE_CHECKS_TALLY:-}" ]; then
        STREAMSPACE_CHECKS_TALLY=$(mktemp "${TMPDIR:-/tmp}/streamspace-checks.XXXXXX")
        CHECKS_OWN_TALLY=yes
        export STREAMSPACE_CHECKS_TALLY
    fi
    if ! : >>"$STREAMSPACE_CHECKS_TALLY"; then
        printf 'cannot write the check tally %s (STREAMSPACE_CHECKS_TALLY)\n' "$STREAMSPACE_CHECKS_TALLY" >&2
        exit 2
    fi
    CHECKS_FIRST_LINE=$(checks_next_line)
}

# Removes the tally if this script made it; for its EXIT trap.
checks_cleanup() {
    if [ "$CHECKS_OWN_TALLY" = yes ]; then rm -f "$STREAMSPACE_CHECKS_TALLY"; fi
}

# The tally's next line: where the results of whatever runs next will start.
checks_next_line() {
    local lines
    lines=$(wc -l <"$STREAMSPACE_CHECKS_TALLY")
    printf '%s\n' "$((lines + 1))"
}

# checks_add COUNT KIND: COUNT results of KIND (pass, fail or skip), for counts a stage reported
# without this library (scripts/test.sh's mocha and tsc stages).
checks_add() {
    local count=$1 kind=$2 i
    for ((i = 0; i < count; i++)); do printf '%s\n' "$kind"; done >>"$STREAMSPACE_CHECKS_TALLY"
}

check_pass() {
    checks_add 1 pass
    printf 'PASS %s%s\n' "$CHECKS_PAD" "$*"
}

check_fail() {
    checks_add 1 fail
    printf 'FAIL %s%s\n' "$CHECKS_PAD" "$*"
}

check_skip() {
    checks_add 1 skip
    printf 'SKIP %s\n' "$*"
}

# checks_count KIND [FIRST_LINE]: the results of KIND from FIRST_LINE on (default: this script's).
checks_count() {
    tail -n +"${2:-$CHECKS_FIRST_LINE}" "$STREAMSPACE_CHECKS_TALLY" | grep -cx "$1" || true
}

# "N passed, N failed, N skipped": this script's checks and those of the scripts it ran.
checks_summary() {
    printf '%s passed, %s failed, %s skipped\n' "$(checks_count pass)" "$(checks_count fail)" "$(checks_count skip)"
}

# True when none of this script's checks, nor its children's, failed.
checks_passed() {
    [ "$(checks_count fail)" -eq 0 ]
}
