#!/bin/bash
# Installs the browser of chrome-selkies. The shared Dockerfiles run it as root while they build
# (images/app.Dockerfile on selkies-base, images/app.kasmvnc.Dockerfile on LinuxServer's KasmVNC
# base), with image.yaml's app.platformInstall settings in the environment and:
#   APT_INSTALL  the base's apt installer (selkies-base: streamspace-apt-install)
#   BROWSER      chrome: Google Chrome stable from Google's apt repository (amd64 only), trusting
#                only the signing key with the published fingerprint; chromium: Debian's Chromium
#                (arm64, and builds that reach only Debian's archive)
set -euo pipefail
read -ra apt_install <<<"${APT_INSTALL:?the Dockerfile sets APT_INSTALL to the apt installer of its base}"

readonly GOOGLE_KEY_URL=https://dl.google.com/linux/linux_signing_key.pub
readonly GOOGLE_KEY_FINGERPRINT=EB4C1BFD4F042F6DDDCCEC917721F63BD38B4796
readonly GOOGLE_KEYRING=/usr/share/keyrings/google-chrome.gpg

# Our source entry, signed-by our keyring. google-chrome-stable's own setup replaces this file with
# an entry that trusts every key apt has, so it is written again after the install.
google_source() {
    echo "deb [arch=amd64 signed-by=${GOOGLE_KEYRING}] https://dl.google.com/linux/chrome/deb/ stable main" \
        >/etc/apt/sources.list.d/google-chrome.list
}

case "${BROWSER:-chrome}" in
    chrome)
        [ "$(dpkg --print-architecture)" = amd64 ] \
            || { echo "Google Chrome is built for amd64 only; set BROWSER=chromium (image.yaml app.platformInstall, or --build-arg APP_INSTALL_ENV=BROWSER=chromium)" >&2; exit 1; }
        apt-get update
        "${apt_install[@]}" gpg
        streamspace-import-signing-key "$GOOGLE_KEY_URL" "$GOOGLE_KEY_FINGERPRINT" "$GOOGLE_KEYRING"
        google_source
        apt-get update
        "${apt_install[@]}" google-chrome-stable fonts-liberation
        google_source
        apt-get purge -y gpg
        apt-get autoremove -y
        ;;
    chromium)
        apt-get update
        "${apt_install[@]}" chromium fonts-liberation
        ;;
    *) echo "BROWSER=${BROWSER}: expected chrome or chromium" >&2; exit 1 ;;
esac
rm -rf /var/lib/apt/lists/* /var/cache/apt/archives/*.deb
# What the session's start-up reads (selkies-base only): which browser to start.
if [ -d /etc/streamspace ]; then echo "BROWSER=${BROWSER:-chrome}" >>/etc/streamspace/build.env; fi
