# shellcheck shell=bash
# The tools the dev stack needs, checked in one place: sourced by scripts/deploy-dev.sh and
# scripts/e2e.sh.

# Prints every missing tool with where to get it, or an unreachable Docker engine, and returns 1;
# returns 0 when all is there. $1: the calling script's name, which starts each message.
check_dev_prerequisites() {
    local who=$1
    local missing=()
    command -v node >/dev/null || missing+=("node (Node.js 20.19 or newer: https://nodejs.org)")
    command -v npm >/dev/null || missing+=("npm (comes with Node.js)")
    command -v pulumi >/dev/null || missing+=("pulumi (https://www.pulumi.com/docs/install/)")
    command -v docker >/dev/null || missing+=("docker (https://docs.docker.com/engine/install/)")
    command -v kind >/dev/null || missing+=("kind (https://kind.sigs.k8s.io/docs/user/quick-start/#installation)")
    command -v kubectl >/dev/null || missing+=("kubectl (https://kubernetes.io/docs/tasks/tools/)")
    if [ "${#missing[@]}" -gt 0 ]; then
        printf '%s: missing prerequisites:\n' "$who"
        printf '  - %s\n' "${missing[@]}"
        return 1
    fi
    if ! docker info >/dev/null 2>&1; then
        printf '%s: docker is installed but its engine is not reachable (is the daemon running, may this user use it?)\n' "$who"
        return 1
    fi
}
