# Shared helpers of the StreamSpace start-up steps and service wrappers (sourced, not run).
# STREAMSPACE_ROOT prefixes every system path so each step can run against a scratch tree.
# shellcheck shell=bash

STREAMSPACE_ROOT=${STREAMSPACE_ROOT:-}
# A failure inside $(...) fails the caller too.
shopt -s inherit_errexit

log() {
    printf '[%s] %s\n' "${STREAMSPACE_STEP:-${0##*/}}" "$*" >&2
}

warn() {
    log "WARNING: $*"
}

# Prints the message and stops the start-up: the container exits with it as its last log line.
die() {
    log "ERROR: $*"
    exit 1
}

# Normalises a boolean setting: prints true or false, fails on anything else.
parse_bool() {
    case "${1,,}" in
        true | 1 | yes | on) echo true ;;
        false | 0 | no | off) echo false ;;
        *) return 1 ;;
    esac
}

is_uint() {
    [[ $1 =~ ^[0-9]+$ ]] && [ "${#1}" -le 10 ]
}
