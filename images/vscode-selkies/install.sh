#!/bin/bash
# Installs VS Code for vscode-selkies. The shared Dockerfiles run it as root while they build
# (images/app.Dockerfile on selkies-base, images/app.kasmvnc.Dockerfile on LinuxServer's KasmVNC
# base), with image.yaml's app.platformInstall settings in the environment and:
#   APT_INSTALL  the base's apt installer (selkies-base: streamspace-apt-install)
# VS Code comes from Microsoft's apt repository (amd64 and arm64), trusting only the signing key
# with the fingerprint Microsoft publishes: it cannot be built from Debian's archive alone.
set -euo pipefail
read -ra apt_install <<<"${APT_INSTALL:?the Dockerfile sets APT_INSTALL to the apt installer of its base}"

apt-get update
"${apt_install[@]}" gpg git openssh-client fonts-liberation
streamspace-import-signing-key https://packages.microsoft.com/keys/microsoft.asc \
    BC528686B50D79E339D3721CEB3E94ADBE1229CF /usr/share/keyrings/microsoft.gpg
echo "deb [arch=amd64,arm64 signed-by=/usr/share/keyrings/microsoft.gpg] https://packages.microsoft.com/repos/code stable main" \
    >/etc/apt/sources.list.d/vscode.list
apt-get update
"${apt_install[@]}" code
apt-get purge -y gpg
apt-get autoremove -y
rm -rf /var/lib/apt/lists/* /var/cache/apt/archives/*.deb
