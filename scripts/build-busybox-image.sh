#!/usr/bin/env bash
# Build the container image the tests use, thecloud/busybox:test, from the
# host's busybox-static binary: there is no registry to pull from.
#
# The image carries the label thecloud.image.hash, a hash of the busybox binary
# and of this script; when an image with the same hash exists nothing is done,
# so running this is cheap. --force rebuilds regardless.
#
#   IMAGE     image name (default thecloud/busybox:test)
#   BUSYBOX   the static busybox binary to put in it (default /bin/busybox)
set -euo pipefail

IMAGE=${IMAGE:-thecloud/busybox:test}
BUSYBOX=${BUSYBOX:-/bin/busybox}
HASH_LABEL=thecloud.image.hash
LOCK_FILE=${THECLOUD_IMAGE_LOCK:-/run/lock/thecloud-busybox-image.lock}
SCRIPT=$(readlink -f "${BASH_SOURCE[0]}")

log() { printf 'build-busybox-image: %s\n' "$*" >&2; }

force=0
case "${1:-}" in
    --force) force=1 ;;
    "") ;;
    *) log "usage: $0 [--force]"; exit 2 ;;
esac

if [[ ! -x $BUSYBOX ]] || ! "$BUSYBOX" true 2>/dev/null; then
    log "$BUSYBOX is missing or does not run; install busybox-static (scripts/install-deps.sh)"
    exit 1
fi

source_hash=$(cat "$BUSYBOX" "$SCRIPT" | sha256sum | cut -d' ' -f1)

current_hash() {
    docker image inspect --format "{{ index .Config.Labels \"$HASH_LABEL\" }}" "$IMAGE" 2>/dev/null || true
}

# Concurrent callers (parallel test workers, make -j) build once.
mkdir -p "$(dirname "$LOCK_FILE")"
exec 9>"$LOCK_FILE"
flock 9

if ((!force)) && [[ $(current_hash) == "$source_hash" ]]; then
    exit 0
fi

old_id=$(docker image inspect --format '{{.Id}}' "$IMAGE" 2>/dev/null || true)

root=$(mktemp -d "${TMPDIR:-/tmp}/thecloud-busybox-rootfs.XXXXXX")
trap 'rm -rf "$root"' EXIT

mkdir -p "$root"/{bin,sbin,usr/bin,usr/sbin,etc,root,tmp,proc,sys,dev,run,var/www,var/run,home}
chmod 1777 "$root/tmp"
chmod 0700 "$root/root"
install -m 0755 "$BUSYBOX" "$root/bin/busybox"

# One symlink per applet at the path busybox itself prefers (bin/sh,
# sbin/ip, usr/bin/wget, ...), so PATH lookups behave as on a real system.
while read -r applet_path; do
    [[ -e $root/$applet_path || -L $root/$applet_path ]] || ln -s /bin/busybox "$root/$applet_path"
done < <("$BUSYBOX" --list-full)

cat >"$root/etc/passwd" <<'PASSWD'
root:x:0:0:root:/root:/bin/sh
daemon:x:1:1:daemon:/usr/sbin:/bin/false
www-data:x:33:33:www-data:/var/www:/bin/false
nobody:x:65534:65534:nobody:/nonexistent:/bin/false
PASSWD
cat >"$root/etc/group" <<'GROUP'
root:x:0:
daemon:x:1:
www-data:x:33:
nogroup:x:65534:
GROUP
printf 'thecloud busybox test image\n' >"$root/var/www/index.html"

tar --numeric-owner --owner=0 --group=0 -C "$root" -c . |
    docker import \
        --change 'CMD ["/bin/sh"]' \
        --change 'ENV PATH=/usr/sbin:/usr/bin:/sbin:/bin' \
        --change "LABEL $HASH_LABEL=$source_hash" \
        --change 'LABEL thecloud.image.builder=scripts/build-busybox-image.sh' \
        - "$IMAGE" >/dev/null

# The previous build is now untagged; drop it unless a container still uses it.
new_id=$(docker image inspect --format '{{.Id}}' "$IMAGE")
if [[ -n $old_id && $old_id != "$new_id" ]]; then
    docker image rm "$old_id" >/dev/null 2>&1 || true
fi
log "built $IMAGE ($HASH_LABEL=${source_hash:0:12})"
