#!/usr/bin/env bash
# Operations (issue 8): the Debian 12 image with systemd as PID 1 that the
# Ansible test (tests/integration/ops/test_ops_ansible.py) runs its "hosts" from.
#
# No image registry is reachable, so the root file system comes from
# debootstrap and is imported with `docker import`. Built once per machine:
# the rootfs tarball is cached under $OPS_CACHE keyed by the package list and
# this script, and the image carries the same key as a label.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/../.."

IMAGE=${OPS_HOST_IMAGE:-thecloud/debian-systemd:ops}
OPS_CACHE=${OPS_CACHE:-/var/cache/thecloud/ops}
SUITE=bookworm
MIRROR=${OPS_MIRROR:-http://deb.debian.org/debian}
# What a fresh Debian 12 host has (systemd, python3 for Ansible's modules), plus
# the runtime libraries thecloud's wheels link against (libvirt0 for
# libvirt-python). Everything thecloud itself needs is installed by the roles.
INCLUDE=systemd,systemd-sysv,dbus,python3,python3-venv,libvirt0,iproute2,procps,ca-certificates,netbase

log() { printf '50-ops: %s\n' "$*" >&2; }

if ! command -v debootstrap >/dev/null || ! command -v docker >/dev/null; then
    log "debootstrap or docker missing (scripts/install-deps.sh installs them); skipping the host image"
    exit 0
fi
if [[ $(id -u) -ne 0 ]]; then
    log "not root: cannot debootstrap; skipping the host image"
    exit 0
fi

key=$( { printf '%s\n' "$SUITE" "$INCLUDE"; cat "${BASH_SOURCE[0]}"; } | sha256sum | cut -c1-16)
current=$(docker image inspect -f '{{ index .Config.Labels "thecloud.ops.key" }}' "$IMAGE" 2>/dev/null || true)
if [[ $current == "$key" ]]; then
    exit 0
fi

mkdir -p "$OPS_CACHE"
tarball=$OPS_CACHE/rootfs-$key.tar
exec 9>"$OPS_CACHE/build.lock"
flock 9
if [[ ! -s $tarball ]]; then
    root=$(mktemp -d "$OPS_CACHE/root.XXXXXX")
    trap 'rm -rf "$root"' EXIT
    log "debootstrap $SUITE into $root (about a minute)"
    debootstrap --variant=minbase --include="$INCLUDE" "$SUITE" "$root" "$MIRROR" >"$OPS_CACHE/debootstrap.log" 2>&1 \
        || { tail -20 "$OPS_CACHE/debootstrap.log" >&2; exit 1; }
    # Units that make no sense in a container, or wait for hardware that is not there.
    for unit in systemd-udevd.service systemd-udevd-control.socket systemd-udevd-kernel.socket \
                systemd-modules-load.service sys-kernel-config.mount getty.target \
                systemd-networkd-wait-online.service systemd-timesyncd.service; do
        ln -sf /dev/null "$root/etc/systemd/system/$unit"
    done
    echo 'localhost' >"$root/etc/hostname"
    : >"$root/etc/machine-id"
    rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/*
    tar -C "$root" -cf "$tarball.tmp" .
    mv "$tarball.tmp" "$tarball"
    rm -rf "$root"
    trap - EXIT
fi
log "importing $IMAGE"
docker import -c 'CMD ["/sbin/init"]' -c "LABEL thecloud.ops.key=$key" \
    -c 'ENV container=docker' "$tarball" "$IMAGE" >/dev/null
# Old rootfs tarballs are other keys' leftovers.
find "$OPS_CACHE" -maxdepth 1 -name 'rootfs-*.tar' ! -name "rootfs-$key.tar" -delete
