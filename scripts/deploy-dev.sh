#!/usr/bin/env bash
# Deploys the dev stack: checks the prerequisites, installs the program's dependencies, creates the
# local kind cluster and registry when missing, and runs `pulumi up` on the dev stack with the policy
# pack in policy/. Without a Pulumi login the stack state lives in .pulumi-state/ inside the
# repository.
# Extra arguments go to `pulumi up` (e.g. --diff).
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo"

# shellcheck source=scripts/lib/dev-prerequisites.sh
source "$repo/scripts/lib/dev-prerequisites.sh"

say() { printf 'deploy-dev: %s\n' "$*"; }

# Uses the logged-in backend when there is one; otherwise a file backend inside the repository.
choose_backend() {
    if [ -n "${PULUMI_BACKEND_URL:-}" ]; then
        say "backend: $PULUMI_BACKEND_URL (from PULUMI_BACKEND_URL)"
    elif pulumi whoami >/dev/null 2>&1; then
        say "backend: $(pulumi whoami --verbose 2>/dev/null | sed -n 's/^Backend URL: //p')"
    else
        mkdir -p "$repo/.pulumi-state"
        export PULUMI_BACKEND_URL="file://$repo/.pulumi-state"
        # The dev stack holds no secrets of the user: an empty passphrase keeps it one command.
        export PULUMI_CONFIG_PASSPHRASE="${PULUMI_CONFIG_PASSPHRASE-}"
        say "no Pulumi login: using the local file backend in .pulumi-state/"
    fi
}

main() {
    check_dev_prerequisites deploy-dev || exit 1
    say "installing dependencies (npm ci)"
    npm ci --no-audit --no-fund --loglevel=error
    bash "$repo/scripts/dev-cluster.sh"
    choose_backend
    pulumi stack select dev --create
    # The policy pack (docs/policies.md) checks what the update deploys; a mandatory violation
    # stops it. Its configuration, the dev stack's facts, is written from Pulumi.dev.yaml.
    local policy_config
    policy_config=$(mktemp)
    # shellcheck disable=SC2064 # the file's name is fixed now
    trap "rm -f '$policy_config'" EXIT
    node -r ts-node/register/transpile-only "$repo/scripts/policy-config.ts" dev >"$policy_config"
    pulumi up --stack dev --yes --policy-pack "$repo/policy" --policy-pack-config "$policy_config" "$@"
}

main "$@"
