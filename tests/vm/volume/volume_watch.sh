#!/bin/sh
# user-data for the VM hot-plug test (busy-box sh in the test guest): watch the
# virtio disks that carry a serial and say on the console what changes. A disk seen
# for the first time with no data gets a marker written at its first sector; one
# that has the marker gets it read back. No command channel is needed: the test
# only attaches, detaches and grows, and reads what the guest says.
say() { echo "THECLOUD-VOL: $*"; }
watch_disks() {
    : > /tmp/vol.prev
    while :; do
        : > /tmp/vol.now
        for d in /sys/block/vd*; do
            [ -r "$d/serial" ] || continue
            serial=$(cat "$d/serial" 2>/dev/null)
            [ -n "$serial" ] || continue
            echo "$serial ${d##*/} $(cat "$d/size")" >> /tmp/vol.now
        done
        while read -r serial dev sectors; do
            grep -q "^$serial " /tmp/vol.prev && continue
            say "attached serial=$serial dev=$dev sectors=$sectors"
            data=$(dd if=/dev/$dev bs=64 count=1 2>/dev/null | tr -d '\000' | head -n1)
            case "$data" in
                THECLOUD-VOLDATA*) say "read serial=$serial data=$data" ;;
                *) echo "THECLOUD-VOLDATA written-on-$(hostname)-to-$serial" > /tmp/vol.data
                   dd if=/tmp/vol.data of=/dev/$dev bs=512 conv=sync,fsync 2>/dev/null
                   say "wrote serial=$serial rc=$?" ;;
            esac
        done < /tmp/vol.now
        while read -r serial dev sectors; do
            if ! grep -q "^$serial " /tmp/vol.now; then
                say "detached serial=$serial dev=$dev"
            elif ! grep -q "^$serial $dev $sectors\$" /tmp/vol.now; then
                say "resized serial=$serial dev=$dev sectors=$(grep "^$serial " /tmp/vol.now | cut -d' ' -f3)"
            fi
        done < /tmp/vol.prev
        mv /tmp/vol.now /tmp/vol.prev
        sleep 0.3
    done
}
watch_disks </dev/null &
say "watching"
