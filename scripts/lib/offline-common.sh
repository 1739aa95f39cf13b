# shellcheck shell=bash
# shellcheck disable=SC2034  # OFFLINE_BASE_* are results read by the scripts that source this file
# Shared parts of scripts/offline-images.sh and scripts/bench-images.sh: the container tools, their
# configuration (kept in the cache folder, never in /etc), the Debian base made with debootstrap,
# and the clean-up of everything a run creates. Sourced, never run.

# Bump when the way the base root filesystem is made changes: it is part of the cache key.
readonly OFFLINE_BASE_RECIPE_VERSION=2
readonly OFFLINE_NAMESPACE=localhost/streamspace-offline
readonly OFFLINE_TOOLS=(buildah podman runc debootstrap xwdtopnm pnmtopng flock findmnt)
# Debian package providing each tool above.
declare -A OFFLINE_TOOL_PACKAGE=(
    [buildah]=buildah [podman]=podman [runc]=runc [debootstrap]=debootstrap
    [xwdtopnm]=netpbm [pnmtopng]=netpbm [flock]=util-linux [findmnt]=util-linux
)

OFFLINE_CACHE_DIR=${STREAMSPACE_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/streamspace-images}
DEBIAN_MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}

# What the EXIT trap undoes, in this order: containers started, a half-imported base, a half-made
# debootstrap folder.
OFFLINE_CLEANUP_CONTAINERS=()
OFFLINE_CLEANUP_IMAGE=""
OFFLINE_CLEANUP_ROOTFS=""
OFFLINE_BASE_TARBALL=""
OFFLINE_BASE_REUSED=no
OFFLINE_BASE_REF=""

say() { printf '%s\n' "$*"; }
warn() { printf '%s\n' "$*" >&2; }
die() {
    warn "error: $*"
    exit 1
}

# Seconds since the epoch with milliseconds, for timings.
now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }

# Human size of a byte count, in the units registries and `podman images` use (1000-based).
human_size() { awk -v b="$1" 'BEGIN { if (b >= 1e9) printf "%.2f GB", b / 1e9; else printf "%.0f MB", b / 1e6 }'; }

# Removes a folder that an interrupted debootstrap may have left with /proc or /sys mounted inside.
remove_rootfs_dir() {
    local dir=$1 target
    [ -e "$dir" ] || return 0
    while read -r target; do
        umount -l "$target" 2>/dev/null || true
    done < <(findmnt -rn -o TARGET | grep -F "$dir/" | sort -r)
    rm -rf --one-file-system "$dir"
}

offline_cleanup() {
    local name
    for name in "${OFFLINE_CLEANUP_CONTAINERS[@]}"; do
        podman rm -f -t 2 "$name" >/dev/null 2>&1 || true
    done
    OFFLINE_CLEANUP_CONTAINERS=()
    if [ -n "$OFFLINE_CLEANUP_IMAGE" ]; then
        podman rmi -f "$OFFLINE_CLEANUP_IMAGE" >/dev/null 2>&1 || true
        warn "removed the half-imported base image $OFFLINE_CLEANUP_IMAGE"
        OFFLINE_CLEANUP_IMAGE=""
    fi
    if [ -n "$OFFLINE_CLEANUP_ROOTFS" ]; then
        remove_rootfs_dir "$OFFLINE_CLEANUP_ROOTFS"
        warn "removed the unfinished debootstrap folder $OFFLINE_CLEANUP_ROOTFS"
        OFFLINE_CLEANUP_ROOTFS=""
    fi
}

# Ctrl-C and kill end the run through the EXIT trap, so clean-up happens once, on every path; a
# caller's own clean-up function, if named, runs after ours.
install_offline_traps() {
    # shellcheck disable=SC2064  # the caller's function is named now, run at exit
    trap "offline_cleanup; ${1:-:}" EXIT
    trap 'warn "interrupted"; exit 130' INT
    trap 'warn "terminated"; exit 143' TERM
}

# Installs the missing tools from Debian, or names them and the packages when that is not allowed.
ensure_tools() {
    local install=$1 tool missing=() packages=()
    for tool in "${OFFLINE_TOOLS[@]}"; do
        command -v "$tool" >/dev/null 2>&1 && continue
        missing+=("$tool")
        packages+=("${OFFLINE_TOOL_PACKAGE[$tool]}")
    done
    [ "${#missing[@]}" -eq 0 ] && return 0
    mapfile -t packages < <(printf '%s\n' "${packages[@]}" | sort -u)
    if [ "$install" != yes ]; then
        die "missing tools: ${missing[*]}. Install them with: apt-get install -y ${packages[*]}"
    fi
    [ "$(id -u)" -eq 0 ] || die "missing tools: ${missing[*]}; run as root (buildah and podman need it here) or install: sudo apt-get install -y ${packages[*]}"
    command -v apt-get >/dev/null 2>&1 || die "missing tools: ${missing[*]}, and no apt-get to install them: install the packages ${packages[*]}"
    say "Installing from Debian: ${packages[*]}"
    local attempt
    for attempt in 1 2 3 4 5 6; do
        if apt-get update -qq >/dev/null 2>&1 &&
            DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${packages[@]}" uidmap >/dev/null 2>&1; then
            return 0
        fi
        say "apt-get failed (another apt run may hold its lock); retrying in 10 s ($attempt/6)"
        sleep 10
    done
    die "could not install ${packages[*]} with apt-get; run 'apt-get install -y ${packages[*]}' to see why"
}

# Refuses to start when the cache folder's disk is nearly full: a build that runs out of space
# half-way leaves a confusing error deep in a log.
check_free_space() {
    local need_gib=$1 dir=$2 avail_kib
    mkdir -p "$dir"
    avail_kib=$(df -Pk "$dir" | awk 'NR == 2 { print $4 }')
    if [ "$avail_kib" -lt $((need_gib * 1024 * 1024)) ]; then
        die "only $((avail_kib / 1024)) MiB free under $dir; the offline images need about ${need_gib} GiB (set STREAMSPACE_CACHE_DIR to a folder on a larger disk, or free space)"
    fi
}

# Points podman and buildah at a configuration and a storage folder of our own: runc (crun fails on
# hybrid cgroups), cgroupfs, file events, explicit limits; other users of podman are not touched.
configure_containers() {
    local storage=$1 conf_dir="$OFFLINE_CACHE_DIR/containers"
    mkdir -p "$conf_dir" "$storage"
    cat >"$conf_dir/containers.conf" <<'EOF'
[containers]
default_ulimits = ["nofile=20000:20000", "nproc=32768:32768"]
[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
EOF
    cat >"$conf_dir/storage-$(basename "$storage").conf" <<EOF
[storage]
driver = "overlay"
graphroot = "$storage"
runroot = "$storage/run"
EOF
    CONTAINERS_CONF="$conf_dir/containers.conf"
    CONTAINERS_STORAGE_CONF="$conf_dir/storage-$(basename "$storage").conf"
    export CONTAINERS_CONF CONTAINERS_STORAGE_CONF
}

# The Debian suite of an external base reference (docker.io/library/debian:bookworm-slim@sha256:…
# gives bookworm); nothing when the base is not a Debian image.
debian_suite_of() {
    local ref=${1%%@*}
    ref=${ref#docker.io/}
    ref=${ref#library/}
    [[ $ref =~ ^debian:([a-z]+)(-slim)?$ ]] || return 0
    printf '%s\n' "${BASH_REMATCH[1]}"
}

# The cache key of a base root filesystem: every input that changes what debootstrap makes.
base_cache_key() {
    local suite=$1
    printf 'suite=%s\nmirror=%s\nvariant=minbase\ninclude=\nrecipe=%s\n' \
        "$suite" "$DEBIAN_MIRROR" "$OFFLINE_BASE_RECIPE_VERSION" | sha256sum | cut -c1-16
}

# Makes the root filesystem look like the published -slim image, which removes documentation, manual
# pages, info files, translations and lintian data (debuerreotype's slimify list) and keeps dpkg from
# installing them later: the same files gone, no apt caches kept, the same apt sources.
slim_rootfs() {
    local dir=$1 suite=$2
    mkdir -p "$dir/etc/dpkg/dpkg.cfg.d" "$dir/etc/apt/apt.conf.d" "$dir/etc/apt/sources.list.d"
    cat >"$dir/etc/dpkg/dpkg.cfg.d/slim-excludes" <<'EOF'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/groff/*
path-exclude /usr/share/info/*
path-exclude /usr/share/lintian/*
path-exclude /usr/share/linda/*
path-exclude /usr/share/locale/*
path-include /usr/share/locale/locale.alias
EOF
    printf '%s\n' 'DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/*.bin || true"; };' \
        'Binary::apt::APT::Keep-Downloaded-Packages "false";' >"$dir/etc/apt/apt.conf.d/slim-clean"
    rm -f "$dir/etc/apt/sources.list"
    cat >"$dir/etc/apt/sources.list.d/debian.sources" <<EOF
Types: deb
URIs: $DEBIAN_MIRROR
Suites: $suite $suite-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: ${DEBIAN_MIRROR%/debian}/debian-security
Suites: $suite-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
    rm -rf "$dir"/var/lib/apt/lists/* "$dir"/var/cache/apt/* "$dir"/var/log/*.log
    find "$dir/usr/share/doc" -mindepth 2 ! -name copyright -delete 2>/dev/null || true
    rm -rf "$dir"/usr/share/man/* "$dir"/usr/share/info/* "$dir"/usr/share/lintian/*
    find "$dir/usr/share/locale" -mindepth 1 -maxdepth 1 ! -name locale.alias -exec rm -rf {} + 2>/dev/null || true
}

# Makes (or reuses) the root filesystem tarball of a suite into OFFLINE_BASE_TARBALL. A tarball is
# reused only when its key matches and its own checksum still holds. Not for $(...): it sets the
# clean-up state of this shell.
ensure_base_tarball() {
    local suite=$1 key dir tarball partial started
    key=$(base_cache_key "$suite")
    dir="$OFFLINE_CACHE_DIR/base"
    tarball="$dir/debian-$suite-$key.tar"
    mkdir -p "$dir"
    if [ -f "$tarball" ] && [ -f "$tarball.sha256" ]; then
        if (cd "$dir" && sha256sum --status -c "$(basename "$tarball").sha256"); then
            say "base: reusing $tarball (debootstrap $suite, key $key)"
            OFFLINE_BASE_TARBALL=$tarball
            OFFLINE_BASE_REUSED=yes
            return 0
        fi
        say "base: $tarball does not match its checksum; making it again"
    fi
    rm -f "$tarball" "$tarball.sha256" "$tarball.tmp"
    partial="$dir/debian-$suite-$key.partial"
    remove_rootfs_dir "$partial"
    OFFLINE_CLEANUP_ROOTFS=$partial
    say "base: debootstrap --variant=minbase $suite from $DEBIAN_MIRROR (about a minute)"
    started=$(now)
    if ! debootstrap --variant=minbase "$suite" "$partial" "$DEBIAN_MIRROR" >"$dir/debootstrap-$suite.log" 2>&1; then
        tail -n 15 "$dir/debootstrap-$suite.log" >&2
        die "debootstrap of Debian $suite failed (log: $dir/debootstrap-$suite.log); check that $DEBIAN_MIRROR is reachable"
    fi
    slim_rootfs "$partial" "$suite"
    tar -C "$partial" --numeric-owner --xattrs -cf "$tarball.tmp" . ||
        die "could not write $tarball.tmp (is the disk full?)"
    mv "$tarball.tmp" "$tarball"
    (cd "$dir" && sha256sum "$(basename "$tarball")" >"$(basename "$tarball").sha256")
    elapsed "$started" >"$tarball.seconds"
    remove_rootfs_dir "$partial"
    OFFLINE_CLEANUP_ROOTFS=""
    say "base: made $tarball in $(cat "$tarball.seconds") s"
    OFFLINE_BASE_TARBALL=$tarball
    OFFLINE_BASE_REUSED=no
}

# Imports the tarball as localhost/streamspace-offline/debian:<suite> unless that image already
# holds this key (re-importing would change its ID and throw away every cached layer above it).
# Sets OFFLINE_BASE_REF, the digest reference the builds get as BASE_IMAGE.
ensure_base_image() {
    local suite=$1 tarball=$2 key name current temp
    key=$(base_cache_key "$suite")
    name="$OFFLINE_NAMESPACE/debian:$suite"
    current=$(podman image inspect --format '{{index .Labels "io.streamspace.offline-base-key"}}' "$name" 2>/dev/null || true)
    if [ "$current" != "$key" ]; then
        temp="$OFFLINE_NAMESPACE/debian:importing-$$"
        OFFLINE_CLEANUP_IMAGE=$temp
        say "base: importing $tarball as $name"
        podman import --quiet --change "LABEL io.streamspace.offline-base-key=$key" \
            --change 'CMD ["bash"]' "$tarball" "$temp" >/dev/null ||
            die "podman import of $tarball failed"
        podman tag "$temp" "$name"
        podman untag "$temp" "$temp"
        OFFLINE_CLEANUP_IMAGE=""
    fi
    OFFLINE_BASE_REF="$OFFLINE_NAMESPACE/debian@$(podman image inspect --format '{{.Digest}}' "$name")"
}
