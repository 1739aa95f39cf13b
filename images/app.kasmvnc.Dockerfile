ARG BASE_IMAGE
FROM ${BASE_IMAGE}
# The LinuxServer-compatible flavour of an application (image.yaml's `app:`), built from its folder:
# LinuxServer's KasmVNC base (pinned by digest in image.yaml, passed as BASE_IMAGE by the catalog)
# serves the desktop on 3000 (HTTP) and 3001 (HTTPS), remaps its user abc to PUID/PGID, keeps the
# home in /config and protects the web UI with CUSTOM_USER/PASSWORD. Its s6 init starts as root and
# drops to abc before the desktop starts, so this image ends without USER, as every LinuxServer
# image does.

SHELL ["/bin/bash", "-o", "pipefail", "-c"]
ARG APP_NAME
ENV TITLE="${APP_NAME}"

# rootfs/ first: the base has no selkies-base files, and what install.sh may need (the signing-key
# helper, dpkg's paths to leave out) comes from the application's folder.
COPY rootfs/ /

# The application, by install.sh (shared with app.Dockerfile), with apt-get as this base installs
# and the settings of image.yaml's app.platformInstall in its environment.
ARG DEBIAN_FRONTEND=noninteractive
ARG APP_INSTALL_ENV=""
COPY install.sh /usr/local/share/streamspace/install.sh
RUN env ${APP_INSTALL_ENV} APT_INSTALL="apt-get install -y --no-install-recommends" bash /usr/local/share/streamspace/install.sh

# LinuxServer's convention: the desktop session runs /defaults/autostart, which starts the
# application and restarts it whenever it is closed.
COPY kasmvnc/ /

ARG OCI_TITLE OCI_DESCRIPTION OCI_VERSION OCI_REVISION OCI_CREATED \
    OCI_SOURCE OCI_URL OCI_DOCUMENTATION OCI_VENDOR OCI_LICENSES
LABEL org.opencontainers.image.title="${OCI_TITLE}" \
      org.opencontainers.image.description="${OCI_DESCRIPTION}" \
      org.opencontainers.image.version="${OCI_VERSION}" \
      org.opencontainers.image.revision="${OCI_REVISION}" \
      org.opencontainers.image.created="${OCI_CREATED}" \
      org.opencontainers.image.source="${OCI_SOURCE}" \
      org.opencontainers.image.url="${OCI_URL}" \
      org.opencontainers.image.documentation="${OCI_DOCUMENTATION}" \
      org.opencontainers.image.vendor="${OCI_VENDOR}" \
      org.opencontainers.image.licenses="${OCI_LICENSES}"

EXPOSE 3000 3001
VOLUME /config
