#!/bin/bash
# Installs Firefox for firefox-selkies. The shared Dockerfiles run it as root while they build
# (images/app.Dockerfile on selkies-base, images/app.kasmvnc.Dockerfile on LinuxServer's KasmVNC
# base), with image.yaml's app.platformInstall settings in the environment and:
#   APT_INSTALL     the base's apt installer (selkies-base: streamspace-apt-install)
#   FIREFOX_SOURCE  debian: Firefox ESR from Debian's archive (amd64 and arm64, builds offline), with
#                   the system's NSS, which its ClearKey media plugin links and Debian does not make
#                   a dependency; mozilla: the current release from Mozilla's apt repository,
#                   trusting only the signing key with the fingerprint Mozilla publishes
set -euo pipefail
read -ra apt_install <<<"${APT_INSTALL:?the Dockerfile sets APT_INSTALL to the apt installer of its base}"

case "${FIREFOX_SOURCE:-debian}" in
    debian)
        apt-get update
        "${apt_install[@]}" firefox-esr fonts-liberation libnss3
        ln -sf /usr/bin/firefox-esr /usr/local/bin/firefox
        ;;
    mozilla)
        apt-get update
        "${apt_install[@]}" gpg
        streamspace-import-signing-key https://packages.mozilla.org/apt/repo-signing-key.gpg \
            35BAA0B33E9EB396F59CA838C0BA5CE6DC6315A3 /usr/share/keyrings/mozilla.gpg
        echo "deb [signed-by=/usr/share/keyrings/mozilla.gpg] https://packages.mozilla.org/apt mozilla main" \
            >/etc/apt/sources.list.d/mozilla.list
        printf 'Package: *\nPin: origin packages.mozilla.org\nPin-Priority: 1000\n' >/etc/apt/preferences.d/mozilla
        apt-get update
        "${apt_install[@]}" firefox fonts-liberation
        apt-get purge -y gpg
        apt-get autoremove -y
        ;;
    *) echo "FIREFOX_SOURCE=${FIREFOX_SOURCE}: expected debian or mozilla" >&2; exit 1 ;;
esac
rm -rf /var/lib/apt/lists/* /var/cache/apt/archives/*.deb
if [ -d /etc/streamspace ]; then echo "FIREFOX_SOURCE=${FIREFOX_SOURCE:-debian}" >>/etc/streamspace/build.env; fi
