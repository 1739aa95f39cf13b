#!/bin/bash
# Installs Blender for blender-selkies. The shared Dockerfiles run it as root while they build
# (images/app.Dockerfile on selkies-base, images/app.kasmvnc.Dockerfile on LinuxServer's KasmVNC
# base), with image.yaml's app.platformInstall settings in the environment and:
#   APT_INSTALL  the base's apt installer (selkies-base: streamspace-apt-install)
# Debian's Blender (amd64 and arm64). OpenGL comes from Mesa (llvmpipe) on the virtual screen; on a
# GPU node the NVIDIA container toolkit mounts the driver's libraries (compute, graphics), which
# Cycles' CUDA and OptiX back ends load when the build supports them.
set -euo pipefail
read -ra apt_install <<<"${APT_INSTALL:?the Dockerfile sets APT_INSTALL to the apt installer of its base}"

apt-get update
"${apt_install[@]}" blender libgl1-mesa-dri libglu1-mesa fonts-liberation
rm -rf /var/lib/apt/lists/* /var/cache/apt/archives/*.deb
