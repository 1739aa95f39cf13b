#!/bin/bash
# Installs GIMP for gimp-selkies. The shared Dockerfiles run it as root while they build
# (images/app.Dockerfile on selkies-base, images/app.kasmvnc.Dockerfile on LinuxServer's KasmVNC
# base), with image.yaml's app.platformInstall settings in the environment and:
#   APT_INSTALL  the base's apt installer (selkies-base: streamspace-apt-install)
# Debian's GIMP, and two packages GTK 2 only recommends: librsvg2-common, the SVG loader for GIMP's
# icon themes (without it nearly every icon is a red cross), and gtk2-engines-pixbuf, the "pixmap"
# engine GIMP's own themes draw with.
set -euo pipefail
read -ra apt_install <<<"${APT_INSTALL:?the Dockerfile sets APT_INSTALL to the apt installer of its base}"

apt-get update
"${apt_install[@]}" gimp gimp-data-extras fonts-liberation librsvg2-common gtk2-engines-pixbuf
rm -rf /var/lib/apt/lists/* /var/cache/apt/archives/*.deb

# The session defaults every new user starts from (/etc/gimp/2.0/sessionrc, read until GIMP has
# written the user's own): single-window mode, so one window holds the whole editor, and that window
# maximised at 0,0. GIMP unmaximises a window its session says is not maximised, overriding the
# window manager. single-window-mode is a sessionrc setting; in gimprc it is a fatal parse error
# that drops the rest.
printf '(show-tips no)\n' >>/etc/gimp/2.0/gimprc
sed -i -e '/(factory-entry "gimp-single-image-window")/,/(maximized /{' \
    -e 's/(position [0-9]* [0-9]*)/(position 0 0)/' -e 's/(maximized "no")/(maximized "yes")/' \
    -e '}' /etc/gimp/2.0/sessionrc
printf '(single-window-mode yes)\n' >>/etc/gimp/2.0/sessionrc
grep -qF '(maximized "yes")' /etc/gimp/2.0/sessionrc
