#!/usr/bin/env bash
# Installs what the tests need and runs every test of the repository:
#   1. type-check of the program (tsc),
#   2. unit and program tests (mocha: Pulumi mocks, config, catalog, image standards, probe),
#   2b. the API server check: the program's Kubernetes objects on a real kube-apiserver and etcd,
#   2c. the engine check: the dev stack under the real Pulumi CLI and Kubernetes provider on that
#       API server (preview, up, no-change preview and up, destroy),
#   3. the offline build-and-boot of the images (buildah/podman, no Docker engine needed), with
#      the stream checks of every image;
#   3b. the node check: the dev stack under the real engine on that control plane with a real node
#      (containerd, kubelet, kube-proxy, CoreDNS): the session pod runs the chrome-selkies just
#      built, the probe Job streams from it and gates the update;
#   4. the streaming benchmark on its smallest setting (npm run bench:stream -- --tiny).
# Each stage's results go into one tally (scripts/lib/checks.sh); the last line of this script is
# the total.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

# Debian packages the test stages use (the offline image stage installs its own).
DEB_PACKAGES=(chromium shellcheck coturn gpg
    # the node check's container runtime, Pod network, registry and pause process
    containerd runc containernetworking-plugins docker-registry catatonit iptables iproute2)

# shellcheck source=scripts/lib/debian-packages.sh
source scripts/lib/debian-packages.sh
# shellcheck source=scripts/lib/checks.sh
source scripts/lib/checks.sh

log_dir=$(mktemp -d)
trap 'rm -rf "$log_dir"; checks_cleanup' EXIT
# The total: every stage's results in the shared tally of scripts/lib/checks.sh.
checks_begin

# Runs one stage's command and shows its output (kept in $log_dir/NAME.log); sets stage_status.
run_logged() {
    local name=$1
    shift
    stage_status=0
    "$@" 2>&1 | tee "$log_dir/$name.log" || stage_status=$?
}

# Settles a stage that ended: one failure more when it failed without a failed check to show for it
# (or before reporting any), one pass for a stage that reports nothing and succeeded.
settle_stage() {
    local name=$1 reported=$2 failures=$3
    if [ "$reported" = no ]; then
        if [ "$stage_status" -ne 0 ]; then
            echo "$name: failed with status $stage_status before reporting results"
            checks_add 1 fail
        else
            checks_add 1 pass
        fi
    elif [ "$stage_status" -ne 0 ] && [ "$failures" -eq 0 ]; then
        echo "$name: exited with status $stage_status"
        checks_add 1 fail
    fi
}

# A stage that is not one of our shell scripts (tsc, mocha, a benchmark): its last
# "N passed, N failed[, N skipped]" line goes into the total.
run_stage() {
    local name=$1 summary passed=0 failed=0 skipped=0 reported=no
    shift
    echo "=== $name: $*"
    # Only the checks stages write to the tally: a script a test starts is counted by its test.
    run_logged "$name" env -u STREAMSPACE_CHECKS_TALLY "$@"
    summary=$(grep -E '^([A-Za-z0-9_-]+: )?[0-9]+ passed, [0-9]+ failed' "$log_dir/$name.log" | tail -n 1 || true)
    if [ -n "$summary" ]; then
        summary=${summary#*: }
        passed=$(sed -E 's/^([0-9]+) passed.*/\1/' <<<"$summary")
        failed=$(sed -E 's/^[0-9]+ passed, ([0-9]+) failed.*/\1/' <<<"$summary")
        skipped=$(grep -oE '[0-9]+ skipped' <<<"$summary" | grep -oE '[0-9]+' || echo 0)
        checks_add "$passed" pass
        checks_add "$failed" fail
        checks_add "$skipped" skip
        reported=yes
    fi
    settle_stage "$name" "$reported" "$failed"
}

# A stage whose checks use scripts/lib/checks.sh (the offline images): they are in the tally as they
# run, its nested scripts' included, with no summary line to read back.
run_checks_stage() {
    local name=$1 first reported=no
    shift
    echo "=== $name: $*"
    first=$(checks_next_line)
    run_logged "$name" "$@"
    if [ "$(checks_next_line)" -gt "$first" ]; then reported=yes; fi
    settle_stage "$name" "$reported" "$(checks_count fail "$first")"
}

install_debian_packages "${DEB_PACKAGES[@]}"
npm ci --no-audit --no-fund --loglevel=error

run_stage typecheck npx tsc --noEmit
# The API server check runs in its own stage below, not twice.
run_stage unit npm run -s test:unit -- --ignore tests/kubernetes/apiserver.test.ts
# The program's Kubernetes objects on a real kube-apiserver and etcd, built from the Go module
# proxy by scripts/lab/kubernetes.sh (cached by version: minutes the first time, seconds after).
run_stage apiserver npm run -s test:apiserver
# The dev stack under the real Pulumi engine (CLI and Kubernetes provider built from the Go module
# proxy by scripts/lab/engine.sh, cached by version) on a real kube-apiserver.
run_stage engine npm run -s test:engine
# Builds and boots the images offline (buildah, podman); SKIP_IMAGE_TESTS=1 skips it, loudly.
run_checks_stage images bash scripts/offline-images.sh
if [ "${SKIP_IMAGE_TESTS:-}" != 1 ]; then
    # The dev stack on a real node (scripts/lab/node.sh), with the chrome-selkies and stream-probe
    # images just built: the session runs, the probe Job streams from it and gates the update.
    run_stage node npm run -s test:node
    # The streaming benchmark on its smallest setting, on the images just built: it runs and measures.
    run_stage bench-stream npm run -s bench:stream -- --tiny
fi

echo
if [ "$(checks_count skip)" -gt 0 ]; then
    checks_summary
else
    echo "$(checks_count pass) passed, $(checks_count fail) failed"
fi
checks_passed
