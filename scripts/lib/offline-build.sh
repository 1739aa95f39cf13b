# shellcheck shell=bash
# shellcheck disable=SC2034  # BUILT_REF and IS_APP are read by scripts/offline-images.sh and its other libraries
# The builds of scripts/offline-images.sh: each image's BASE_IMAGE (the debootstrapped Debian of
# scripts/lib/offline-common.sh for an external Debian base, the digest just built for a catalog
# base), the buildah build with the catalog's build arguments for an offline build (image.yaml's
# `offline:` install settings), the explanation of a failed build, and the largest layers for the
# report. Uses ROOT, ARTIFACTS, STORAGE, EXTRA_CA, NEEDS_INTERNET, catalog and report of scripts/offline-images.sh
# and the check_* of scripts/lib/checks.sh. Sourced, never run.

# What the builds made: the imported Debian base of each suite, the digest reference of each image
# built, and whether an image is an app (on a base of the catalog) rather than a base.
declare -A BASE_REF_OF_SUITE=() BUILT_REF=() IS_APP=()

# The BASE_IMAGE of an image into IMAGE_BASE_REF, or empty with the reason in IMAGE_BASE_WHY.
resolve_base() {
    local name=$1 base suite
    IMAGE_BASE_REF=""
    IMAGE_BASE_WHY=""
    base=$(catalog base "$name") || die "could not read the base of $name from the catalog"
    IS_APP[$name]=yes
    if [[ $base == external* ]]; then
        IS_APP[$name]=no
        base=${base#external }
        suite=$(debian_suite_of "$base")
        if [ -z "$suite" ]; then
            IMAGE_BASE_WHY="its base $base is not a Debian image; only Debian bases are made offline"
            return 0
        fi
        if [ -z "${BASE_REF_OF_SUITE[$suite]:-}" ]; then
            ensure_base_tarball "$suite"
            report "debian-$suite" debootstrap_seconds "$(cat "$OFFLINE_BASE_TARBALL.seconds" 2>/dev/null || echo 0)"
            report "debian-$suite" debootstrap_cached "$OFFLINE_BASE_REUSED"
            ensure_base_image "$suite" "$OFFLINE_BASE_TARBALL"
            BASE_REF_OF_SUITE[$suite]=$OFFLINE_BASE_REF
            say "base: Debian $suite (in place of $base) is $OFFLINE_BASE_REF"
        fi
        IMAGE_BASE_REF=${BASE_REF_OF_SUITE[$suite]}
    elif [ -n "${BUILT_REF[$base]:-}" ]; then
        IMAGE_BASE_REF=${BUILT_REF[$base]}
    else
        IMAGE_BASE_WHY="its base $base was not built"
    fi
}

# The three largest layers of an image as "bytes<TAB>instruction" lines (podman 4.3's --format
# shows sizes rounded for people; its JSON has the bytes).
largest_layers() {
    # shellcheck disable=SC2016  # JavaScript, not shell
    podman history --format json "$1" | node -e '
        const layers = JSON.parse(require("fs").readFileSync(0, "utf8"));
        layers.sort((a, b) => b.size - a.size).slice(0, 3)
            .forEach((l) => console.log(`${l.size}\t${l.CreatedBy.replace(/\s+/g, " ")}`));'
}

explain_build_failure() {
    local name=$1 log=$2
    tail -n 25 "$log" | sed 's/^/    | /'
    if grep -qi 'no space left on device' "$log"; then
        say "    The disk under $STORAGE is full: free space or set STREAMSPACE_CACHE_DIR to a larger disk."
    elif grep -qiE 'could not resolve|temporary failure resolving|failed to fetch' "$log"; then
        say "    A step reached for the network. Offline builds reach only Debian's mirrors: put internet-only"
        say "    steps behind an install setting and give $name its offline: in image.yaml (images/README.md)."
    fi
}

build_image() {
    local name=$1 folder dockerfile started seconds log ref size kv line settings=""
    local -a args=()
    if [ -n "${NEEDS_INTERNET[$name]:-}" ]; then
        check_skip "build $name: needs the internet: ${NEEDS_INTERNET[$name]}"
        return 0
    fi
    resolve_base "$name"
    if [ -z "$IMAGE_BASE_REF" ]; then
        check_skip "build $name: $IMAGE_BASE_WHY"
        return 0
    fi
    line=$(catalog context "$name") || die "could not read the build context of $name from the catalog"
    read -r folder dockerfile <<<"$line"
    line=$(catalog build-args "$name" --base-image "$IMAGE_BASE_REF" --offline) || die "could not read the build arguments of $name from the catalog"
    while IFS= read -r kv; do
        args+=(--build-arg "$kv")
        if [[ $kv == APP_INSTALL_ENV=?* ]]; then settings=" (${kv#APP_INSTALL_ENV=})"; fi
    done <<<"$line"
    # Builds reach PyPI and npm through the host's proxy: its CA goes in as a build secret, which
    # no layer keeps.
    if [ "$EXTRA_CA" != none ] && [ -s "$EXTRA_CA" ]; then
        args+=(--secret "id=extra-ca,src=$EXTRA_CA")
    fi
    log="$ARTIFACTS/logs/build-$name.log"
    say "build $name: $folder/$dockerfile on $IMAGE_BASE_REF$settings"
    started=$(now)
    if ! buildah build --isolation chroot --format docker --layers --pull=never \
        -f "$ROOT/$folder/$dockerfile" "${args[@]}" \
        -t "$OFFLINE_NAMESPACE/$name:offline" "$ROOT/$folder" >"$log" 2>&1; then
        check_fail "build $name after $(elapsed "$started") s (log: $log)"
        explain_build_failure "$name" "$log"
        return 0
    fi
    seconds=$(elapsed "$started")
    ref="$OFFLINE_NAMESPACE/$name@$(podman image inspect --format '{{.Digest}}' "$OFFLINE_NAMESPACE/$name:offline")"
    size=$(podman image inspect --format '{{.Size}}' "$ref")
    BUILT_REF[$name]=$ref
    check_pass "build $name ($seconds s, $(human_size "$size"), $ref)"
    report "$name" build_seconds "$seconds"
    report "$name" size_bytes "$size"
    report "$name" reference "$ref"
    while IFS= read -r line; do
        report "$name" layer "$line"
    done < <(largest_layers "$ref")
}
