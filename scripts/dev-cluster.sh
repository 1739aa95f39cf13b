#!/usr/bin/env bash
# Creates the dev stack's local cluster when it is missing: a kind cluster named "streamspace"
# (kubectl context kind-streamspace) and a local registry on localhost:5001 that the cluster's
# nodes pull from, following kind's documented local-registry setup. Running it again changes
# nothing when both exist.
set -euo pipefail

CLUSTER_NAME=${CLUSTER_NAME:-streamspace}
REGISTRY_NAME=${REGISTRY_NAME:-kind-registry}
REGISTRY_PORT=${REGISTRY_PORT:-5001}
REGISTRY_IMAGE=${REGISTRY_IMAGE:-docker.io/library/registry:2.8.3}

work_dir=$(mktemp -d)
trap 'rm -rf "$work_dir"' EXIT

say() { printf 'dev-cluster: %s\n' "$*"; }

ensure_registry() {
    if [ "$(docker inspect -f '{{.State.Running}}' "$REGISTRY_NAME" 2>/dev/null || true)" = "true" ]; then
        say "registry $REGISTRY_NAME is running on localhost:$REGISTRY_PORT"
        return
    fi
    if docker inspect "$REGISTRY_NAME" >/dev/null 2>&1; then
        say "starting the stopped registry $REGISTRY_NAME"
        docker start "$REGISTRY_NAME" >/dev/null
        return
    fi
    say "creating registry $REGISTRY_NAME on localhost:$REGISTRY_PORT"
    docker run -d --restart=always -p "127.0.0.1:${REGISTRY_PORT}:5000" --network bridge \
        --name "$REGISTRY_NAME" "$REGISTRY_IMAGE" >/dev/null
}

ensure_cluster() {
    if kind get clusters 2>/dev/null | grep -qx "$CLUSTER_NAME"; then
        say "kind cluster $CLUSTER_NAME exists"
        return
    fi
    say "creating kind cluster $CLUSTER_NAME"
    # containerd reads per-registry settings from certs.d, where the registry mirror goes below.
    cat >"$work_dir/kind.yaml" <<YAML
kind: Cluster
apiVersion: kind.x-k8s.io/v1alpha4
containerdConfigPatches:
  - |-
    [plugins."io.containerd.grpc.v1.cri".registry]
      config_path = "/etc/containerd/certs.d"
YAML
    kind create cluster --name "$CLUSTER_NAME" --config "$work_dir/kind.yaml"
}

# Makes localhost:<port> inside every node resolve to the registry container.
configure_nodes() {
    local dir="/etc/containerd/certs.d/localhost:${REGISTRY_PORT}"
    local node
    for node in $(kind get nodes --name "$CLUSTER_NAME"); do
        docker exec "$node" mkdir -p "$dir"
        printf '[host."http://%s:5000"]\n' "$REGISTRY_NAME" | docker exec -i "$node" cp /dev/stdin "$dir/hosts.toml"
    done
}

connect_registry() {
    if [ "$(docker inspect -f '{{json .NetworkSettings.Networks.kind}}' "$REGISTRY_NAME")" = "null" ]; then
        docker network connect kind "$REGISTRY_NAME"
    fi
}

# Tells tools in the cluster where the local registry is (KEP-1755).
document_registry() {
    kubectl --context "kind-${CLUSTER_NAME}" apply -f - >/dev/null <<YAML
apiVersion: v1
kind: ConfigMap
metadata:
  name: local-registry-hosting
  namespace: kube-public
data:
  localRegistryHosting.v1: |
    host: "localhost:${REGISTRY_PORT}"
    help: "https://kind.sigs.k8s.io/docs/user/local-registry/"
YAML
}

main() {
    ensure_registry
    ensure_cluster
    configure_nodes
    connect_registry
    document_registry
    say "ready: kubectl context kind-${CLUSTER_NAME}, registry localhost:${REGISTRY_PORT}"
}

main "$@"
