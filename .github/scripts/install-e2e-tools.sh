#!/usr/bin/env bash
# Installs kind and the Pulumi CLI at the versions pinned below into DIR (for the e2e workflow; the
# runner has Docker and kubectl already). Each download is checked against the SHA-256 that its
# publisher lists for that version: kind's kind-<os>-<arch>.sha256sum from the release, Pulumi's
# pulumi-<version>-checksums.txt. Those lists come from the same publisher over HTTPS: they catch a
# corrupted or swapped download, and to trust a release is to trust them.
#
# Usage: .github/scripts/install-e2e-tools.sh DIR
set -euo pipefail

# kind: https://github.com/kubernetes-sigs/kind/releases
readonly KIND_VERSION=v0.29.0
# The Pulumi CLI moves with the SDK: the same version as @pulumi/pulumi in package.json (a test checks).
readonly PULUMI_VERSION=3.248.0

tmp=""

say() { printf 'install-e2e-tools: %s\n' "$*"; }

architectures() {
    case "$(uname -m)" in
        x86_64 | amd64) kind_arch=amd64 pulumi_arch=x64 ;;
        aarch64 | arm64) kind_arch=arm64 pulumi_arch=arm64 ;;
        *)
            say "no kind and Pulumi builds for the architecture $(uname -m): use an x86_64 or arm64 Linux runner"
            exit 1
            ;;
    esac
}

download() { # URL FILE
    curl --fail --silent --show-error --location --retry 3 --output "$2" "$1" || {
        say "could not download $1"
        exit 1
    }
}

# Checks FILE against the line for NAME in the publisher's CHECKSUMS file ("<sha256>  <name>").
verify() { # FILE NAME CHECKSUMS
    local expected actual
    expected=$(awk -v name="$2" '$2 == name || $2 == "*" name { print $1 }' "$3")
    if [ -z "$expected" ]; then
        say "$3 lists no checksum for $2: is the version right?"
        exit 1
    fi
    actual=$(sha256sum "$1" | awk '{ print $1 }')
    if [ "$actual" != "$expected" ]; then
        say "$2 does not match its published checksum: expected $expected, got $actual. Nothing was installed."
        exit 1
    fi
    say "$2: sha256 $actual verified"
}

main() {
    [ "$#" -eq 1 ] || {
        say "usage: install-e2e-tools.sh DIR"
        exit 2
    }
    local dir=$1
    architectures
    tmp=$(mktemp -d)
    trap 'rm -rf "$tmp"' EXIT
    mkdir -p "$dir"

    local kind_file="kind-linux-$kind_arch"
    local kind_url="https://github.com/kubernetes-sigs/kind/releases/download/$KIND_VERSION/$kind_file"
    download "$kind_url" "$tmp/$kind_file"
    download "$kind_url.sha256sum" "$tmp/kind.sha256sum"
    verify "$tmp/$kind_file" "$kind_file" "$tmp/kind.sha256sum"

    local pulumi_file="pulumi-v$PULUMI_VERSION-linux-$pulumi_arch.tar.gz"
    download "https://get.pulumi.com/releases/sdk/$pulumi_file" "$tmp/$pulumi_file"
    download "https://get.pulumi.com/releases/sdk/pulumi-$PULUMI_VERSION-checksums.txt" "$tmp/pulumi-checksums.txt"
    verify "$tmp/$pulumi_file" "$pulumi_file" "$tmp/pulumi-checksums.txt"

    # Only verified files reach DIR.
    install -m 0755 "$tmp/$kind_file" "$dir/kind"
    tar -xzf "$tmp/$pulumi_file" -C "$dir" --strip-components=1
    say "kind $KIND_VERSION and pulumi $PULUMI_VERSION in $dir"
}

main "$@"
