ARG BASE_IMAGE
FROM ${BASE_IMAGE}
# An application on selkies-base, built from its folder (the build context): install.sh installs it
# and rootfs/ adds its launcher, usr/local/bin/streamspace-app. The catalog passes the base's digest
# as BASE_IMAGE and image.yaml's `app:` settings as APP_*; BASE_TREE_HASH changes with the base's
# files on builds that are not pushed, so the application rebuilds with its base.
ARG BASE_TREE_HASH

SHELL ["/bin/bash", "-o", "pipefail", "-c"]
USER root

# rootfs/ first: what it sets for dpkg (paths to leave out) holds during the install too.
COPY rootfs/ /
RUN chmod 0755 /usr/local/bin/streamspace-app

# The application, by install.sh (shared with app.kasmvnc.Dockerfile), with the settings of
# image.yaml's app.platformInstall (KEY=VALUE words, e.g. BROWSER=chromium) in its environment.
ARG DEBIAN_FRONTEND=noninteractive
ARG APP_INSTALL_ENV=""
COPY install.sh /usr/local/share/streamspace/install.sh
RUN env ${APP_INSTALL_ENV} APT_INSTALL=streamspace-apt-install bash /usr/local/share/streamspace/install.sh

# The window the health check and test-image.sh look for (an extended regular expression over
# WM_CLASS), from image.yaml's app.windowClass. The argument has a name of its own: the base's ENV
# APP_WINDOW_CLASS would win over an ARG of that name.
ARG APP_WINDOW
ENV APP_WINDOW_CLASS="${APP_WINDOW}"

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

USER 1000:1000
