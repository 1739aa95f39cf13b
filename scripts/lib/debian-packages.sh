# Installs the Debian packages the tests use (sourced by scripts/test.sh).
#   install_debian_packages PACKAGE...   installs those not installed yet, as root (sudo otherwise)
# Debian starts the service of a package it installs. coturn's would listen on every interface
# with Debian's default configuration, containerd's and docker-registry's would run a container
# runtime and a registry on the machine; the tests run all three themselves, with settings of
# their own, so on a machine running systemd their services are masked before the packages
# arrive and never start.
# shellcheck shell=bash

SYSTEMD_RUN_DIR=${STREAMSPACE_SYSTEMD_RUN_DIR:-/run/systemd/system}
# Packages whose service must not start on the machine that runs the tests.
QUIET_SERVICES=(coturn containerd docker-registry)

as_root() {
    if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

# Masks (and stops) the services of the given packages where systemd runs; elsewhere nothing
# starts them. A service masked already is left as it is.
mask_services() {
    local pkg service
    [ -d "$SYSTEMD_RUN_DIR" ] && command -v systemctl >/dev/null 2>&1 || return 0
    for pkg in "$@"; do
        for service in "${QUIET_SERVICES[@]}"; do
            [ "$pkg" = "$service" ] || continue
            [ "$(systemctl is-enabled "$service" 2>/dev/null || true)" != masked ] || continue
            echo "Masking the $service service: the tests start $service themselves, with their own settings"
            as_root systemctl mask "$service" >/dev/null
            as_root systemctl stop "$service" >/dev/null 2>&1 || true
        done
    done
}

install_debian_packages() {
    local missing=() pkg
    # Before anything is installed: a service masked first never starts.
    mask_services "$@"
    for pkg in "$@"; do
        dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
    done
    [ "${#missing[@]}" -gt 0 ] || return 0
    echo "Installing Debian packages: ${missing[*]}"
    as_root apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}
