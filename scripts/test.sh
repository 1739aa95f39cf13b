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
# Each stage prints "N passed, N failed"; the last line of this script is the total.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

# Debian packages the test stages use (the offline image stage installs its own).
DEB_PACKAGES=(chromium shellcheck coturn gpg
    # the node check's container runtime, Pod network, registry and pause process
    containerd runc containernetworking-plugins docker-registry catatonit iptables iproute2)

# shellcheck source=scripts/lib/debian-packages.sh
source scripts/lib/debian-packages.sh

log_dir=$(mktemp -d)
trap 'rm -rf "$log_dir"' EXIT
total_passed=0
total_failed=0
total_skipped=0

# Runs one stage, shows its output, and adds its "N passed, N failed[, N skipped]" line to the total.
# A stage that fails without such a line counts as one failure.
run_stage() {
    local name=$1
    shift
    local out="$log_dir/$name.log"
    echo "=== $name: $*"
    local status=0
    "$@" 2>&1 | tee "$out" || status=$?
    local summary
    summary=$(grep -E '^([A-Za-z0-9_-]+: )?[0-9]+ passed, [0-9]+ failed' "$out" | tail -n 1 || true)
    if [ -n "$summary" ]; then
        summary=${summary#*: }
        local passed failed skipped
        passed=$(sed -E 's/^([0-9]+) passed.*/\1/' <<<"$summary")
        failed=$(sed -E 's/^[0-9]+ passed, ([0-9]+) failed.*/\1/' <<<"$summary")
        skipped=$(grep -oE '[0-9]+ skipped' <<<"$summary" | grep -oE '[0-9]+' || echo 0)
        total_passed=$((total_passed + passed))
        total_failed=$((total_failed + failed))
        total_skipped=$((total_skipped + skipped))
        if [ "$status" -ne 0 ] && [ "$failed" -eq 0 ]; then
            echo "$name: exited with status $status"
            total_failed=$((total_failed + 1))
        fi
    elif [ "$status" -ne 0 ]; then
        echo "$name: failed with status $status before reporting results"
        total_failed=$((total_failed + 1))
    else
        total_passed=$((total_passed + 1))
    fi
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
run_stage images bash scripts/offline-images.sh
if [ "${SKIP_IMAGE_TESTS:-}" != 1 ]; then
    # The dev stack on a real node (scripts/lab/node.sh), with the chrome-selkies and stream-probe
    # images just built: the session runs, the probe Job streams from it and gates the update.
    run_stage node npm run -s test:node
    # The streaming benchmark on its smallest setting, on the images just built: it runs and measures.
    run_stage bench-stream npm run -s bench:stream -- --tiny
fi

echo
if [ "$total_skipped" -gt 0 ]; then
    echo "$total_passed passed, $total_failed failed, $total_skipped skipped"
else
    echo "$total_passed passed, $total_failed failed"
fi
[ "$total_failed" -eq 0 ]
