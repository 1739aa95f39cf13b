#!/usr/bin/env bash
# Installs kind and the Pulumi CLI at the versions pinned below into DIR (for the e2e workflow; the
# runner has Docker and kubectl already). Each download must match the SHA-256 pinned for its URL
# in e2e-tools.sha256 beside this script. Checksum lists fetched from the publisher at install time
# would come from the same place as the files, so whoever could swap a file could swap its sum too;
# a sum pinned in the repository cannot change without a reviewed commit. A download without a
# pinned sum is refused before anything is fetched.
#
# Usage: .github/scripts/install-e2e-tools.sh DIR
set -euo pipefail

# kind: https://github.com/kubernetes-sigs/kind/releases
readonly KIND_VERSION=v0.29.0
# The Pulumi CLI moves with the SDK: the same version as @pulumi/pulumi in package.json (a test checks).
readonly PULUMI_VERSION=3.248.0

PINS="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/e2e-tools.sha256"
readonly PINS

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

# The SHA-256 pinned for URL ("<sha256>  <url>" lines; # starts a comment), or nothing.
pinned_sha256() { # URL
    [ -r "$PINS" ] || return 0
    awk -v url="$1" '$1 !~ /^#/ && $2 == url && $1 ~ /^[0-9a-f]+$/ && length($1) == 64 { print $1; exit }' "$PINS"
}

download() { # URL FILE
    curl --fail --silent --show-error --location --retry 3 --output "$2" "$1" || {
        say "could not download $1"
        exit 1
    }
}

# Checks FILE (downloaded from URL) against the SHA-256 pinned for URL.
verify() { # FILE URL EXPECTED
    local actual
    actual=$(sha256sum "$1" | awk '{ print $1 }')
    if [ "$actual" != "$3" ]; then
        say "${2##*/} does not match its pinned checksum: expected $3, got $actual. Nothing was installed."
        exit 1
    fi
    say "${2##*/}: sha256 $actual verified"
}

main() {
    [ "$#" -eq 1 ] || {
        say "usage: install-e2e-tools.sh DIR"
        exit 2
    }
    local dir=$1
    architectures

    local kind_url="https://github.com/kubernetes-sigs/kind/releases/download/$KIND_VERSION/kind-linux-$kind_arch"
    local pulumi_url="https://get.pulumi.com/releases/sdk/pulumi-v$PULUMI_VERSION-linux-$pulumi_arch.tar.gz"
    local kind_sha256 pulumi_sha256 url unpinned=()
    kind_sha256=$(pinned_sha256 "$kind_url")
    pulumi_sha256=$(pinned_sha256 "$pulumi_url")
    [ -n "$kind_sha256" ] || unpinned+=("$kind_url")
    [ -n "$pulumi_sha256" ] || unpinned+=("$pulumi_url")
    if [ "${#unpinned[@]}" -gt 0 ]; then
        for url in "${unpinned[@]}"; do say "the checksum of $url is not pinned in $PINS"; done
        say "nothing was downloaded or installed. Add a line '<sha256>  <url>' for each, with the SHA-256 the publisher lists for that version and architecture (kind's release notes, Pulumi's pulumi-$PULUMI_VERSION-checksums.txt), checked from a machine you trust"
        exit 1
    fi

    tmp=$(mktemp -d)
    trap 'rm -rf "$tmp"' EXIT
    mkdir -p "$dir"

    download "$kind_url" "$tmp/kind"
    verify "$tmp/kind" "$kind_url" "$kind_sha256"
    download "$pulumi_url" "$tmp/pulumi.tar.gz"
    verify "$tmp/pulumi.tar.gz" "$pulumi_url" "$pulumi_sha256"

    # Only verified files reach DIR.
    install -m 0755 "$tmp/kind" "$dir/kind"
    tar -xzf "$tmp/pulumi.tar.gz" -C "$dir" --strip-components=1
    say "kind $KIND_VERSION and pulumi $PULUMI_VERSION in $dir"
}

main "$@"
