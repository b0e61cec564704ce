#!/usr/bin/env bash
# Build the small guest the VM tests and benchmarks boot, from Debian packages only:
#   vmlinuz     the kernel of linux-image-cloud-amd64 (apt-get download + dpkg -x)
#   initrd.img  a busybox-static initramfs (gzip'd newc cpio) whose /init loads the
#               virtio modules, mounts the NoCloud `cidata` CD-ROM, applies the
#               hostname and the network-config (static address, MTU, default
#               route of the NIC with the given MAC), writes the cloud-config's
#               write_files, runs the user-data script (plain or the x-shellscript
#               part of a MIME multipart), stamps the instance id onto /dev/vda and
#               prints THECLOUD-GUEST markers on the serial console
#   disk.qcow2  a 64 MiB disk whose first sector says THECLOUD-BASE-IMAGE
# Cached under $THECLOUD_VM_CACHE (default /var/cache/thecloud/vm-guest) in a
# directory keyed by the package versions and this script; printed on stdout.
set -euo pipefail

cache_root=${THECLOUD_VM_CACHE:-/var/cache/thecloud/vm-guest}
log() { printf 'build-vm-test-guest: %s\n' "$*" >&2; }

kernel_pkg=linux-image-cloud-amd64
kernel_version=$(apt-cache policy "$kernel_pkg" | awk '/Candidate:/ {print $2}')
busybox_version=$(apt-cache policy busybox-static | awk '/Candidate:/ {print $2}')
if [[ -z $kernel_version || $kernel_version == "(none)" || -z $busybox_version ]]; then
    log "apt knows no $kernel_pkg or busybox-static; run apt-get update"
    exit 1
fi
key=$( { echo "$kernel_version $busybox_version"; cat "$0"; } | sha256sum | cut -c1-16)
out=$cache_root/$key
if [[ -f $out/done ]]; then
    echo "$out"
    exit 0
fi

mkdir -p "$cache_root"
exec 9>"$cache_root/.lock"
flock 9
if [[ -f $out/done ]]; then
    echo "$out"
    exit 0
fi

work=$(mktemp -d "$cache_root/.build.XXXXXX")
trap 'rm -rf "$work"' EXIT
cd "$work"
# apt-get download writes into the current directory; _apt cannot enter mktemp's 0700 dir.
chmod 755 "$work"

log "downloading $kernel_pkg $kernel_version and busybox-static $busybox_version"
image_pkg=$(apt-cache depends "$kernel_pkg" | awk '/Depends: linux-image-/ {print $2; exit}')
apt-get download -q "$image_pkg" busybox-static >/dev/null 2>&1 \
    || apt-get download "$image_pkg" busybox-static >&2
mkdir kernel bb
dpkg -x "$image_pkg"_*.deb kernel
dpkg -x busybox-static_*.deb bb
kver=$(ls kernel/lib/modules)

root=$work/initramfs
mkdir -p "$root"/{bin,dev,proc,sys,mnt/seed,tmp,etc/acpi/PWRF,lib/modules/"$kver"}
cp bb/bin/busybox "$root/bin/busybox"
for applet in $("$root/bin/busybox" --list); do
    [[ -e $root/bin/$applet ]] || ln -s busybox "$root/bin/$applet"
done
# Only the modules the guest needs, at their usual paths, with modules.dep so
# busybox's modprobe pulls in dependencies in order.
modules="virtio_ring virtio virtio_pci_modern_dev virtio_pci_legacy_dev virtio_pci virtio_blk
         virtio_scsi scsi_common scsi_mod cdrom sr_mod isofs button evdev failover net_failover virtio_net
         pvpanic pvpanic-mmio"
moddir=kernel/lib/modules/$kver
for name in $modules; do
    path=$(find "$moddir/kernel" -name "$name.ko*" | head -n1)
    [[ -n $path ]] || { log "module $name missing from $image_pkg"; exit 1; }
    mkdir -p "$root/lib/modules/$kver/$(dirname "${path#"$moddir"/}")"
    cp "$path" "$root/lib/modules/$kver/${path#"$moddir"/}"
done
# busybox applets: the host may have neither kmod nor cpio installed.
bb/bin/busybox depmod -b "$root" "$kver"

# The power button powers off at once: libvirt's ACPI shutdown and reboot then work.
printf '#!/bin/sh\necho "THECLOUD-GUEST: acpi power button"\nsync\npoweroff -f\n' \
    > "$root/etc/acpi/PWRF/00000080"
chmod +x "$root/etc/acpi/PWRF/00000080"

cat > "$root/init" <<'INIT'
#!/bin/sh
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
echo "THECLOUD-GUEST: boot $(uname -r)"
# pvpanic-mmio: a kernel panic reaches the host as the domain's crash.
for m in virtio_pci virtio_blk virtio_scsi sr_mod isofs button evdev virtio_net pvpanic-mmio; do
    modprobe "$m" || echo "THECLOUD-GUEST: cannot load $m"
done
# Debug output of acpid goes to the console; its events show up there too.
acpid -f -d -c /etc/acpi &
seed=""
for _ in $(seq 1 50); do
    for dev in /dev/sr0 /dev/sr1 /dev/vdb; do
        [ -b "$dev" ] && mount -t iso9660 -o ro "$dev" /mnt/seed 2>/dev/null && seed=$dev && break 2
    done
    sleep 0.1
done
if [ -z "$seed" ]; then
    echo "THECLOUD-GUEST: no cidata seed found"
else
    value() { sed -n "s/^$1: *//p" /mnt/seed/meta-data | head -n1 | tr -d "\"'"; }
    iid=$(value instance-id)
    host=$(value local-hostname)
    [ -n "$host" ] && hostname "$host"
    echo "THECLOUD-GUEST: seed=$seed instance-id=$iid hostname=$(hostname)"
    grep -q 'version' /mnt/seed/network-config 2>/dev/null && echo "THECLOUD-GUEST: network-config present"
    # network-config as thecloud writes it (JSON, NoCloud v2): one NIC matched by MAC.
    ip link set lo up
    netcfg=$(tr -d ' \t\n' < /mnt/seed/network-config 2>/dev/null)
    mac=$(echo "$netcfg" | sed -n 's/.*"macaddress":"\([^"]*\)".*/\1/p')
    addr=$(echo "$netcfg" | sed -n 's/.*"addresses":\["\([^"]*\)".*/\1/p')
    mtu=$(echo "$netcfg" | sed -n 's/.*"mtu":\([0-9]*\).*/\1/p')
    gw=$(echo "$netcfg" | sed -n 's/.*"via":"\([^"]*\)".*/\1/p')
    if [ -n "$mac" ] && [ -n "$addr" ]; then
        dev=""
        for _ in $(seq 1 50); do
            for d in /sys/class/net/*; do
                [ "$(cat "$d/address")" = "$mac" ] && dev=${d##*/}
            done
            [ -n "$dev" ] && break
            sleep 0.1
        done
        if [ -z "$dev" ]; then
            echo "THECLOUD-GUEST: no NIC with MAC $mac"
        else
            [ -n "$mtu" ] && ip link set "$dev" mtu "$mtu"
            ip link set "$dev" up
            ip addr add "$addr" dev "$dev"
            [ -n "$gw" ] && ip route add default via "$gw" dev "$dev"
            echo "THECLOUD-GUEST: net dev=$dev mac=$(cat /sys/class/net/$dev/address)" \
                 "addr=$(ip -4 -o addr show dev "$dev" | awk '{print $4}')" \
                 "mtu=$(cat /sys/class/net/$dev/mtu) gw=$(ip route | awk '/^default/ {print $3}')"
        fi
    fi
    # write_files of the #cloud-config (thecloud writes one entry per line, base64).
    grep '^- {"path": ' /mnt/seed/user-data 2>/dev/null | while IFS= read -r entry; do
        path=$(echo "$entry" | sed -n 's/.*"path": "\([^"]*\)".*/\1/p')
        perm=$(echo "$entry" | sed -n 's/.*"permissions": "\([0-7]*\)".*/\1/p')
        data=$(echo "$entry" | sed -n 's/.*"content": "\([^"]*\)".*/\1/p')
        mkdir -p "$(dirname "$path")"
        (umask 077; echo "$data" | base64 -d > "$path")
        chmod "${perm:-0644}" "$path"
        echo "THECLOUD-GUEST: wrote $path mode=$(stat -c %a "$path") uid=$(stat -c %u "$path")" \
             "size=$(wc -c < "$path") sha256=$(sha256sum "$path" | cut -d' ' -f1)"
    done
    if [ -b /dev/vda ] && [ -n "$iid" ]; then
        echo "THECLOUD-INSTANCE $iid" > /tmp/stamp
        dd if=/tmp/stamp of=/dev/vda bs=512 seek=1 conv=notrunc,fsync 2>/tmp/dd.err
        echo "THECLOUD-GUEST: stamp rc=$? $(tail -n1 /tmp/dd.err)"
        sync
        echo "THECLOUD-GUEST: disk=$(dd if=/dev/vda bs=19 count=1 2>/dev/null)"
    fi
    if head -c 2 /mnt/seed/user-data 2>/dev/null | grep -q '#!'; then
        cp /mnt/seed/user-data /tmp/user-data
    elif grep -qi '^content-type: multipart/' /mnt/seed/user-data 2>/dev/null; then
        # The text/x-shellscript part (8bit) of a MIME multipart user-data.
        awk '/^--/ {head = 1; body = 0; script = 0; next}
             head && tolower($0) ~ /^content-type: text\/x-shellscript/ {script = 1}
             head && /^$/ {head = 0; body = script; next}
             body {print}' /mnt/seed/user-data > /tmp/user-data
    fi
    if [ -s /tmp/user-data ]; then
        chmod +x /tmp/user-data
        /tmp/user-data
        echo "THECLOUD-GUEST: user-data exit=$?"
    fi
fi
echo "THECLOUD-GUEST: ready"
while :; do sleep 3600; done
INIT
chmod +x "$root/init"

(cd "$root" && find . | sort | "$work/bb/bin/busybox" cpio -o -H newc 2>/dev/null | gzip -9) > initrd.img
cp kernel/boot/vmlinuz-"$kver" vmlinuz
{ printf 'THECLOUD-BASE-IMAGE\n'; } > disk.raw
truncate -s 64M disk.raw
qemu-img convert -q -f raw -O qcow2 disk.raw disk.qcow2

mkdir -p "$out.tmp"
mv vmlinuz initrd.img disk.qcow2 "$out.tmp/"
printf 'kernel %s (%s)\nbusybox-static %s\ncmdline console=ttyS0\n' "$image_pkg" "$kver" \
    "$busybox_version" > "$out.tmp/manifest"
touch "$out.tmp/done"
rm -rf "$out"
mv "$out.tmp" "$out"
log "built $out"
echo "$out"
