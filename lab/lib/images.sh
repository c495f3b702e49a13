# lab/lib/images.sh - the lab's images: lab/images/<dir>/ -> tsa-lab-<dir>:latest, FROM the
# debootstrap rootfs or another lab image. Shared by every instance (same tags); built only when
# the content hash of a directory (and of its parents) changed.
# shellcheck shell=bash

IMG_DIR="$LAB_DIR/images"
ROOTFS_IMAGE="tsa-lab-rootfs:bookworm"
export DOCKER_BUILDKIT=0       # legacy builder: no buildx needed, works offline

image_parent() { awk 'toupper($1)=="FROM" {print $2; exit}' "$IMG_DIR/$1/Dockerfile"; }
image_dirs() { local d; for d in "$IMG_DIR"/*/; do d="${d%/}"; echo "${d##*/}"; done; }

# image_build_order: every image dir, each after the lab image its Dockerfile's FROM names
image_build_order() {
    local -A seen=()
    local name
    visit() {
        local parent
        [[ -z "${seen[$1]:-}" ]] || return 0
        seen[$1]=1
        [[ -r "$IMG_DIR/$1/Dockerfile" ]] || die "lab/images/$1/Dockerfile missing"
        parent="$(image_parent "$1")"
        if [[ "$parent" == tsa-lab-*:latest ]]; then
            parent="${parent#tsa-lab-}"; visit "${parent%:latest}"
        fi
        echo "$1"
    }
    for name in $(image_dirs); do visit "$name"; done
}

debian_mirror() {
    local m=""
    if [[ -r /etc/apt/sources.list.d/debian.sources ]]; then
        m="$(awk '/^URIs:/ && $2 !~ /security/ {print $2; exit}' /etc/apt/sources.list.d/debian.sources)"
    fi
    if [[ -z "$m" && -r /etc/apt/sources.list ]]; then
        m="$(awk '$1=="deb" && $0 !~ /security/ {for(i=2;i<=NF;i++) if ($i ~ /^(https?|file):/) {print $i; exit}}' /etc/apt/sources.list)"
    fi
    [[ -n "$m" ]] || die "cannot find the Debian mirror in /etc/apt/sources.list(.d)"
    echo "$m"
}

build_rootfs() {
    if dk image inspect "$ROOTFS_IMAGE" >/dev/null 2>&1; then return 0; fi
    command -v debootstrap >/dev/null || die "debootstrap missing: apt-get install -y debootstrap"
    local dir mirror
    mirror="$(debian_mirror)"
    dir="$(mktemp -d /var/tmp/tsa-lab-rootfs.XXXXXX)"
    log "debootstrap --variant=minbase bookworm (takes ~1 min)"
    if ! debootstrap --variant=minbase bookworm "$dir" "$mirror" >"$dir.log" 2>&1; then
        tail -20 "$dir.log" >&2; rm -rf "$dir"; die "debootstrap failed (log: $dir.log)"
    fi
    rm -rf "$dir"/var/cache/apt/archives/*.deb "$dir"/var/lib/apt/lists/*_Packages
    log "docker import -> $ROOTFS_IMAGE"
    tar -C "$dir" --numeric-owner -c . | dk import -c 'CMD ["/bin/bash"]' - "$ROOTFS_IMAGE" >/dev/null
    rm -rf "$dir" "$dir.log"
}

# content hash of an image dir + its parent's hash: lets "start" skip docker build entirely
image_hash() {
    local d="$IMG_DIR/$1" parent
    parent="$(image_parent "$1")"
    {
        echo "parent=$parent"
        if [[ "$parent" == "$ROOTFS_IMAGE" ]]; then
            dk image inspect -f '{{.Id}}' "$ROOTFS_IMAGE"
        elif [[ "$parent" == tsa-lab-* ]]; then
            image_hash "$(sed -E 's/^tsa-lab-//; s/:.*$//' <<<"$parent")"
        fi
        (cd "$d" && find . -type f -print0 | LC_ALL=C sort -z | xargs -0 sha256sum)
        (cd "$d" && find . -print0 | LC_ALL=C sort -z | xargs -0 stat -c '%n %a')
    } | sha256sum | cut -c1-16
}

# Two instances building at once take turns (build.lock); the second finds the hashes it
# wants and builds nothing.
build_images() {
    lock 7 build
    build_rootfs
    local name tag want have order
    order="$(image_build_order)"
    for name in $order; do
        tag="tsa-lab-$name:latest"
        want="$(image_hash "$name")"
        have="$(dk image inspect -f '{{index .Config.Labels "tsa-lab.hash"}}' "$tag" 2>/dev/null || true)"
        if [[ "$want" == "$have" ]]; then continue; fi
        log "building $tag"
        if ! dk build -q --label "tsa-lab.hash=$want" -t "$tag" "$IMG_DIR/$name" >"$SHARED_DIR/build-$name.log" 2>&1; then
            dk build --label "tsa-lab.hash=$want" -t "$tag" "$IMG_DIR/$name" 2>&1 | tail -30 >&2
            die "docker build $tag failed"
        fi
        rm -f "$SHARED_DIR/build-$name.log"
    done
    unlock 7
}

# clean: the images, unless a lab container of any instance remains (under build.lock)
remove_images() {
    lock 7 build
    if [[ -n "$(dk ps -aq --filter "label=$LABEL_KEY")" ]]; then
        log "other lab instances still run ($(dk ps -a --filter "label=$LABEL_KEY" --format '{{.Label "'"$LABEL_KEY"'"}}' | sort -u | tr '\n' ' ')): images kept"
    else
        log "removing the lab images"
        local name
        for name in $(image_dirs); do dk rmi -f "tsa-lab-$name:latest" >/dev/null 2>&1 || true; done
        dk rmi -f "$ROOTFS_IMAGE" >/dev/null 2>&1 || true
    fi
    unlock 7
}
