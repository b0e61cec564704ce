#!/usr/bin/env bash
# `make guest-image`: a small bootable guest disk, build/guest.qcow2, made only
# from Debian packages, for trying VMs without internet access:
#   MBR + one ext2 partition with extlinux (its own bootloader), the Debian cloud
#   kernel, and a busybox userland (as its initramfs) that finds the NoCloud
#   `cidata` seed, applies the hostname, runs the user-data script and reports on
#   the serial console. The kernel and userland are the VM tests' guest
#   (scripts/build-vm-test-guest.sh); this script gives them a disk that boots by
#   itself, like any cloud image:
#       cloud image import guest --file build/guest.qcow2
#       cloud instance create vm1 --kind vm --image guest --memory 256M --disk 1G
# Rebuilt only when its inputs change.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

out=${1:-build/guest.qcow2}
log() { printf 'build-guest-image: %s\n' "$*" >&2; }

for tool in extlinux sfdisk mke2fs qemu-img; do
    command -v "$tool" >/dev/null || { log "$tool is missing (scripts/install-deps.sh installs it)"; exit 1; }
done
mbr=/usr/lib/syslinux/mbr/mbr.bin
[[ -f $mbr ]] || { log "$mbr is missing (package syslinux-common)"; exit 1; }

guest=$(bash scripts/build-vm-test-guest.sh)
key=$( { echo "$guest"; extlinux --version 2>&1 | head -n1; cat "$0"; } | sha256sum | cut -c1-16)
if [[ -f $out && -f $out.key && $(cat "$out.key") == "$key" ]]; then
    log "$out is current"
    exit 0
fi

work=$(mktemp -d)
cleanup() { mountpoint -q "$work/mnt" && umount "$work/mnt"; rm -rf "$work"; }
trap cleanup EXIT

mkdir -p "$work/root/boot/extlinux" "$work/mnt"
cp "$guest/vmlinuz" "$guest/initrd.img" "$work/root/boot/"
cat > "$work/root/boot/extlinux/extlinux.conf" <<'CONF'
SERIAL 0 115200
DEFAULT thecloud
PROMPT 0
TIMEOUT 1
LABEL thecloud
  KERNEL /boot/vmlinuz
  INITRD /boot/initrd.img
  APPEND console=ttyS0
CONF

# The partition starts at 1 MiB; sector 1 stays free (the test userland stamps it).
part_mib=63
truncate -s "${part_mib}M" "$work/part.img"
# ext2: Debian's extlinux (6.04) fails to read files from ext4 with extents.
mke2fs -q -t ext2 -L guest-root -d "$work/root" "$work/part.img"
mount -o loop "$work/part.img" "$work/mnt"
extlinux --install "$work/mnt/boot/extlinux" >/dev/null
umount "$work/mnt"

truncate -s "$((part_mib + 1))M" "$work/disk.raw"
printf 'label: dos\nstart=2048, type=83, bootable\n' | sfdisk -q "$work/disk.raw"
dd if="$work/part.img" of="$work/disk.raw" bs=1M seek=1 conv=notrunc status=none
dd if="$mbr" of="$work/disk.raw" bs=440 count=1 conv=notrunc status=none

mkdir -p "$(dirname "$out")"
qemu-img convert -q -f raw -O qcow2 "$work/disk.raw" "$out.tmp"
mv "$out.tmp" "$out"
echo "$key" > "$out.key"
log "built $out ($(du -h "$out" | cut -f1))"
