#!/usr/bin/env bash
# The whole thing, end to end, on one machine with Docker: the README's deploy command
# (scripts/deploy-dev.sh) brings the dev stack up on a kind cluster and local registry made for this
# run; the probe Job decides; the same command run again must change nothing; then the stack is
# destroyed and the cluster, the registry and the images built are removed, on every exit path.
# The probe's result and screenshot and a summary (phase times, images, the probe's numbers) land in
# artifacts/e2e/; the summary is also printed, and added to the step summary in GitHub Actions.
#
# Usage: scripts/e2e.sh [--artifacts DIR]
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo"

# shellcheck source=scripts/lib/dev-prerequisites.sh
source "$repo/scripts/lib/dev-prerequisites.sh"

# The dev stack's cluster and registry (scripts/dev-cluster.sh, Pulumi.dev.yaml): this run makes
# them, so it refuses to start where they already exist rather than deploy into and delete them.
readonly CLUSTER_NAME=streamspace
readonly REGISTRY_NAME=kind-registry
readonly REGISTRY_PORT=5001
readonly STACK=dev
# The probe pods (components/sessionTest.ts).
readonly PROBE_SELECTOR="app.kubernetes.io/part-of=streamspace-session-test,app.kubernetes.io/component=probe"
# Every file a run writes into the artifacts folder (here and in scripts/e2e-report.ts). --artifacts
# may name a folder that holds other files (--artifacts ~), so a new run removes these and no others.
readonly ARTIFACT_FILES=(phases.tsv up.events.jsonl second-up.events.jsonl probe.log probe-result.json stream-probe.png images.tsv summary.md)

artifacts="$repo/artifacts/e2e"
state=""
outcome=""
stack_started=false

say() { printf 'e2e: %s\n' "$*"; }

usage() {
    cat <<'USAGE'
Usage: scripts/e2e.sh [--artifacts DIR]

Deploys the dev stack with ./scripts/deploy-dev.sh on a new kind cluster (streamspace) and local
registry (localhost:5001), lets the probe Job decide, runs the deploy command again (it must
change nothing), then destroys everything it made. Needs Docker, Node.js, the Pulumi CLI, kind and
kubectl. Writes the probe's result, its screenshot and a summary to DIR (default artifacts/e2e),
replacing an earlier run's files there and leaving any other file in DIR as it is.
USAGE
}

parse_args() {
    while [ "$#" -gt 0 ]; do
        case "$1" in
            --artifacts)
                [ "$#" -ge 2 ] || { say "--artifacts needs a directory"; exit 2; }
                artifacts=$2
                shift 2
                ;;
            -h | --help)
                usage
                exit 0
                ;;
            *)
                say "unknown argument '$1'"
                usage >&2
                exit 2
                ;;
        esac
    done
}

# True when something accepts connections on 127.0.0.1:<port>.
port_in_use() {
    (: <"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# Stops before anything is made: missing tools, or a cluster, registry or port this run would take.
preflight() {
    check_dev_prerequisites e2e || exit 1
    if kind get clusters 2>/dev/null | grep -qx "$CLUSTER_NAME"; then
        say "a kind cluster named '$CLUSTER_NAME' already exists (kubectl context kind-$CLUSTER_NAME)."
        say "This run makes its own and deletes it at the end, so it does not start next to yours."
        say "Delete it first: kind delete cluster --name $CLUSTER_NAME"
        exit 1
    fi
    if docker inspect "$REGISTRY_NAME" >/dev/null 2>&1; then
        say "a container named '$REGISTRY_NAME' already exists (the dev stack's registry on localhost:$REGISTRY_PORT?)."
        say "This run makes its own and removes it at the end. Remove it first: docker rm -f $REGISTRY_NAME"
        exit 1
    fi
    if port_in_use "$REGISTRY_PORT"; then
        say "the registry port $REGISTRY_PORT is in use: something listens on 127.0.0.1:$REGISTRY_PORT, where this run's registry goes."
        say "Stop it first; 'docker ps --filter publish=$REGISTRY_PORT' or 'ss -ltnp' shows what it is."
        exit 1
    fi
}

# Makes the artifacts folder, or clears an earlier run's files from it; the folder's other files stay.
prepare_artifacts() {
    local file
    mkdir -p "$artifacts" || { say "cannot make the artifacts folder $artifacts: choose another with --artifacts DIR"; exit 1; }
    artifacts=$(cd "$artifacts" && pwd)
    for file in "${ARTIFACT_FILES[@]}"; do
        if [ -d "$artifacts/$file" ]; then
            say "$artifacts/$file is a folder, not a file of an earlier run: choose another folder with --artifacts DIR"
            exit 1
        fi
        rm -f "$artifacts/$file"
    done
}

report() {
    node -r ts-node/register/transpile-only "$repo/scripts/e2e-report.ts" "$@"
}

# Runs a command and notes how long it took under a label, for the summary.
timed() {
    local label=$1
    shift
    local started=$SECONDS rc=0
    "$@" || rc=$?
    printf '%s\t%s\n' "$label" "$((SECONDS - started))" >>"$artifacts/phases.tsv"
    return "$rc"
}

fail() {
    outcome="failed: $*"
    say "FAILED: $*" >&2
    exit 1
}

# The last probe pod's log: the probe's verdict line and its screenshot (the Job's final attempt).
collect_probe() {
    local pod
    pod=$(kubectl --context "kind-$CLUSTER_NAME" get pods --all-namespaces --selector "$PROBE_SELECTOR" \
        --sort-by=.metadata.creationTimestamp \
        --output 'jsonpath={range .items[*]}{.metadata.namespace}{" "}{.metadata.name}{"\n"}{end}' 2>/dev/null | tail -n 1) || pod=""
    if [ -z "$pod" ]; then
        say "no probe pod in the cluster: the probe did not run"
        return 1
    fi
    if ! kubectl --context "kind-$CLUSTER_NAME" logs --namespace "${pod% *}" "${pod#* }" >"$artifacts/probe.log"; then
        say "could not read the log of probe pod ${pod#* }"
        return 1
    fi
    report probe "$artifacts/probe.log" "$artifacts"
}

# Image names, digests and sizes from the stack's state, before teardown removes the images.
record_images() {
    [ -d "$repo/node_modules/ts-node" ] || return 0
    pulumi stack export --stack "$STACK" --file "$state/stack.json" >/dev/null 2>&1 || return 0
    local name image digest size
    report images "$state/stack.json" | while IFS=$'\t' read -r name image digest; do
        size=$(docker image inspect --format '{{.Size}}' "$image" 2>/dev/null) || size=""
        printf '%s\t%s\t%s\t%s\n' "$name" "$image" "$digest" "$size"
    done >"$artifacts/images.tsv" || true
}

# Removes everything this run made; goes on past each failure so that the rest is still removed.
teardown() {
    local rc=0 image
    if [ "$stack_started" = true ] && pulumi stack select "$STACK" >/dev/null 2>&1; then
        say "pulumi destroy --stack $STACK"
        pulumi destroy --stack "$STACK" --yes --skip-preview || { say "pulumi destroy failed (deleting the cluster below removes what it held)"; rc=1; }
    fi
    if kind get clusters 2>/dev/null | grep -qx "$CLUSTER_NAME"; then
        say "deleting kind cluster $CLUSTER_NAME"
        kind delete cluster --name "$CLUSTER_NAME" || rc=1
    fi
    if docker inspect "$REGISTRY_NAME" >/dev/null 2>&1; then
        say "removing registry $REGISTRY_NAME"
        docker rm -f "$REGISTRY_NAME" >/dev/null || rc=1
    fi
    if [ -s "$artifacts/images.tsv" ]; then
        while IFS=$'\t' read -r _ image _ _; do
            docker image rm "$image" >/dev/null 2>&1 || true
        done <"$artifacts/images.tsv"
    fi
    return "$rc"
}

summarize() {
    local summary="$artifacts/summary.md"
    if [ -d "$repo/node_modules/ts-node" ] && report summary "$artifacts" "$outcome" >"$summary"; then
        :
    else
        # Without the program's dependencies (npm ci did not run) only the outcome can be told.
        printf '## End to end: dev stack on kind\n\n**%s** (no details: the dependencies are not installed)\n' "$outcome" >"$summary"
    fi
    cat "$summary"
    if [ -n "${GITHUB_STEP_SUMMARY:-}" ]; then cat "$summary" >>"$GITHUB_STEP_SUMMARY"; fi
}

# On every exit path: note the images, tear down, then summarize with the final outcome.
finish() {
    local rc=$?
    trap - EXIT
    set +e
    if [ "$rc" -eq 0 ]; then outcome=passed; fi
    [ -n "$outcome" ] || outcome="failed: stopped with exit status $rc"
    record_images
    if ! timed "teardown (pulumi destroy, cluster, registry, images)" teardown; then
        if [ "$rc" -eq 0 ]; then
            rc=1
            outcome="failed: the teardown failed (see pulumi destroy above)"
        fi
    fi
    # A first stack on a passphrase backend writes its salt into the stack file: put the user's back.
    cp "$state/Pulumi.$STACK.yaml" "$repo/Pulumi.$STACK.yaml"
    rm -rf "$state"
    summarize
    exit "$rc"
}

main() {
    parse_args "$@"
    preflight
    prepare_artifacts
    state=$(mktemp -d)
    cp "$repo/Pulumi.$STACK.yaml" "$state/"
    trap finish EXIT
    trap 'outcome="failed: interrupted"; exit 130' INT
    trap 'outcome="failed: terminated"; exit 143' TERM

    # A state backend of this run only: the user's own dev stack, wherever it lives, stays untouched.
    export PULUMI_BACKEND_URL="file://$state" PULUMI_CONFIG_PASSPHRASE="${PULUMI_CONFIG_PASSPHRASE-}"
    export CLUSTER_NAME REGISTRY_NAME REGISTRY_PORT

    # Made first on its own to time it; the deploy command then finds it and goes on.
    timed "cluster (kind and the local registry: scripts/dev-cluster.sh)" bash "$repo/scripts/dev-cluster.sh" ||
        fail "creating the kind cluster and the local registry failed (see above)"

    stack_started=true
    say "the README's deploy command: ./scripts/deploy-dev.sh"
    if ! timed "deploy command (./scripts/deploy-dev.sh)" "$repo/scripts/deploy-dev.sh" --event-log "$artifacts/up.events.jsonl"; then
        collect_probe || true
        fail "the deploy command failed: the builds, the deployment or the probe Job (see above; the probe's log is in $artifacts)"
    fi
    collect_probe || fail "the update passed, but the probe's verdict could not be read back"

    say "the deploy command again: it must change nothing"
    if ! timed "deploy command again (must change nothing)" "$repo/scripts/deploy-dev.sh" --expect-no-changes --event-log "$artifacts/second-up.events.jsonl"; then
        local changes=()
        mapfile -t changes < <(report changes "$artifacts/second-up.events.jsonl" 2>/dev/null || true)
        if [ "${#changes[@]}" -gt 0 ]; then
            local IFS=';'
            fail "the second run of the deploy command changed what the first had made: ${changes[*]}"
        fi
        fail "the second run of the deploy command failed (see above)"
    fi
    say "passed"
}

main "$@"
