#!/usr/bin/env bash
# Block volumes (issue 5): the qemu guest the lvm storage driver is tested and
# benchmarked in. This machine's kernel has no device-mapper, so LVM runs under
# Debian's cloud kernel in a TCG guest (tests/vm/volume/guest.py boots it).
#
# Built once per machine under $VOLUME_CACHE/<key>/, keyed by this script and
# the kernel package version:
#   vmlinuz        the cloud kernel (apt-get download + dpkg -x, not installed)
#   initrd.gz      busybox + the virtio/ext4 modules; mounts /dev/vda, switch_roots
#   root.img       ext4 made with `mke2fs -d` from a debootstrap minbase root with
#                  lvm2, thin-provisioning-tools, python3, python3-pytest, kmod and
#                  the kernel's modules; its /sbin/thecloud-init runs /code/run.sh
#                  from the second disk and powers off
# `ready` marks a finished build; `current` (a symlink) points at it.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/../.."

VOLUME_CACHE=${VOLUME_CACHE:-/var/cache/thecloud/volume}
SUITE=bookworm
MIRROR=${VOLUME_MIRROR:-http://deb.debian.org/debian}
INCLUDE=lvm2,thin-provisioning-tools,python3,python3-pytest,kmod,e2fsprogs,util-linux
KERNEL_META=linux-image-cloud-amd64
# Loaded by the initramfs (with their dependencies, in order) to reach the root disk.
BOOT_MODULES="virtio_pci virtio_blk ext4"

log() { printf '60-volume: %s\n' "$*" >&2; }

for tool in debootstrap mke2fs cpio busybox apt-get dpkg; do
    if ! command -v "$tool" >/dev/null; then
        log "$tool missing (scripts/install-deps.sh installs it); skipping the LVM test guest"
        exit 0
    fi
done
if [[ $(id -u) -ne 0 ]]; then
    log "not root: cannot debootstrap; skipping the LVM test guest"
    exit 0
fi

kernel_pkg=$(apt-cache depends "$KERNEL_META" 2>/dev/null | awk '/Depends: linux-image-/ {print $2; exit}')
if [[ -z $kernel_pkg ]]; then
    log "apt-get update (to find $KERNEL_META)"
    apt-get update -q >/dev/null
    kernel_pkg=$(apt-cache depends "$KERNEL_META" | awk '/Depends: linux-image-/ {print $2; exit}')
fi
kernel_version=$(apt-cache policy "$kernel_pkg" | awk '/Candidate:/ {print $2}')
key=$( { printf '%s\n' "$SUITE" "$INCLUDE" "$kernel_pkg" "$kernel_version" "$BOOT_MODULES"; cat "${BASH_SOURCE[0]}"; } \
       | sha256sum | cut -c1-16)
out=$VOLUME_CACHE/$key
if [[ -e $out/ready ]]; then
    ln -sfn "$key" "$VOLUME_CACHE/current"
    exit 0
fi

mkdir -p "$VOLUME_CACHE"
exec 9>"$VOLUME_CACHE/build.lock"
flock 9
if [[ -e $out/ready ]]; then
    ln -sfn "$key" "$VOLUME_CACHE/current"
    exit 0
fi
rm -rf "$out"
work=$(mktemp -d "$VOLUME_CACHE/build.XXXXXX")
trap 'rm -rf "$work"' EXIT

log "kernel: $kernel_pkg $kernel_version"
(cd "$work" && apt-get download -q "$kernel_pkg=$kernel_version" >/dev/null)
dpkg -x "$work"/"$kernel_pkg"_*.deb "$work/kernel"
kver=$(ls "$work/kernel/lib/modules")

root=$work/root
log "debootstrap $SUITE into $root (about a minute)"
debootstrap --variant=minbase --include="$INCLUDE" "$SUITE" "$root" "$MIRROR" >"$work/debootstrap.log" 2>&1 \
    || { tail -20 "$work/debootstrap.log" >&2; exit 1; }
mkdir -p "$root/lib/modules"
cp -a "$work/kernel/lib/modules/$kver" "$root/lib/modules/"
chroot "$root" depmod "$kver"
rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/*
mkdir -p "$root/code"
# The guest's init: filesystems, the code disk, the script on it, then power off.
cat >"$root/sbin/thecloud-init" <<'EOF'
#!/bin/sh
export PATH=/usr/sbin:/usr/bin:/sbin:/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null
mkdir -p /dev/pts /run /tmp && mount -t tmpfs tmpfs /run && mount -t tmpfs tmpfs /tmp
mount /dev/vdb /code
echo "thecloud-guest: running /code/run.sh"
sh /code/run.sh
echo "thecloud-guest: exit $?"
sync
umount /code
echo 1 >/proc/sys/kernel/sysrq
echo o >/proc/sysrq-trigger
sleep 30
EOF
chmod 755 "$root/sbin/thecloud-init"

log "initramfs"
initrd=$work/initrd
mkdir -p "$initrd"/{bin,dev,proc,sys,newroot,modules}
cp /bin/busybox "$initrd/bin/busybox"
for applet in sh mount insmod switch_root mkdir sleep cat echo; do
    ln -s busybox "$initrd/bin/$applet"
done
: >"$initrd/modules/order"
for module in $BOOT_MODULES; do
    chroot "$root" modprobe -S "$kver" --show-depends "$module" | awk '$1 == "insmod" {print $2}'
done | awk '!seen[$0]++' | while read -r path; do
    name=$(basename "$path")
    case $name in
        *.xz) xz -dc "$root$path" >"$initrd/modules/${name%.xz}"; name=${name%.xz} ;;
        *) cp "$root$path" "$initrd/modules/$name" ;;
    esac
    echo "$name" >>"$initrd/modules/order"
done
cat >"$initrd/init" <<'EOF'
#!/bin/sh
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
for m in $(cat /modules/order); do insmod /modules/$m; done
for i in 1 2 3 4 5 6 7 8 9 10; do [ -b /dev/vda ] && break; sleep 0.2; done
mount -t ext4 /dev/vda /newroot || { echo "thecloud-initrd: cannot mount /dev/vda"; sleep 5; }
exec switch_root /newroot /sbin/thecloud-init
EOF
chmod 755 "$initrd/init"
(cd "$initrd" && find . | cpio -H newc -o --quiet | gzip -1) >"$work/initrd.gz"

log "root image"
mke2fs -q -t ext4 -d "$root" "$work/root.img" 1200M

mkdir -p "$out"
cp "$work/kernel/boot/vmlinuz-$kver" "$out/vmlinuz"
mv "$work/initrd.gz" "$work/root.img" "$out/"
echo "$kver" >"$out/kernel-version"
touch "$out/ready"
ln -sfn "$key" "$VOLUME_CACHE/current"
# Older builds are other keys' leftovers.
find "$VOLUME_CACHE" -mindepth 1 -maxdepth 1 -type d ! -name "$key" ! -name 'build.*' -exec rm -rf {} +
log "guest ready in $out"
