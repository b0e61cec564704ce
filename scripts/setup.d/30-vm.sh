#!/usr/bin/env bash
# Virtual machines: make libvirtd and virtlogd answer, then build (once, cached)
# the small guest the VM tests and the boot benchmark start.
#
# There is no init system on the test machines: the daemons are started detached
# with setsid when their sockets do not answer. Idempotent; safe to run again.
set -euo pipefail

here=$(cd "$(dirname "$0")/../.." && pwd)
log() { printf '30-vm: %s\n' "$*" >&2; }

if ! command -v libvirtd >/dev/null 2>&1; then
    log "libvirtd is not installed (scripts/packages.d/vm.txt); run scripts/install-deps.sh"
    exit 1
fi

# What udev does on a normal host (no udev here): the qemu user (group kvm) may open
# /dev/kvm. Otherwise libvirt finds KVM "enabled when probing but not available now"
# and re-probes qemu's capabilities on every call, which makes a domain start take ~1 min.
if [[ -c /dev/kvm && $(id -u) -eq 0 ]] && getent group kvm >/dev/null; then
    chgrp kvm /dev/kvm && chmod 0660 /dev/kvm
fi

libvirt_answers() { virsh -c qemu:///system version >/dev/null 2>&1; }

if ! libvirt_answers; then
    if [[ $(id -u) -ne 0 ]]; then
        log "libvirtd does not answer and only root can start it here"
        exit 1
    fi
    exec 9>/run/lock/thecloud-start-libvirt.lock
    flock 9
    if ! libvirt_answers; then
        mkdir -p /var/log/libvirt /run/libvirt
        if [[ ! -S /run/libvirt/virtlogd-sock ]] || ! pgrep -x virtlogd >/dev/null; then
            setsid virtlogd >>/var/log/libvirt/virtlogd.out 2>&1 < /dev/null &
        fi
        setsid libvirtd >>/var/log/libvirt/libvirtd.out 2>&1 < /dev/null &
        for _ in $(seq 1 60); do
            libvirt_answers && break
            sleep 0.5
        done
        libvirt_answers || { log "libvirtd did not come up; see /var/log/libvirt/libvirtd.out"; exit 1; }
        log "libvirtd started"
    fi
    exec 9>&-
fi

bash "$here/scripts/build-vm-test-guest.sh"
