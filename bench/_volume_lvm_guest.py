"""Runs INSIDE the LVM test guest (bench/volume_lvm.py boots it): the lvm driver vs bare lvcreate.

Standard library only. Writes its figures as JSON to the path in argv[1].
"""
import json
import statistics
import subprocess
import sys
import time

from agent.storage.lvm import LvmDriver

MiB = 1024**2
REPS = 9


def timed(fn):
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def run(argv):
    subprocess.run(argv, check=True, capture_output=True)


def median_ms(values):
    return round(statistics.median(values) * 1000, 1)


def min_ms(values):
    return round(min(values) * 1000, 1)


def main(out_path):
    d = LvmDriver(sys.argv[2] if len(sys.argv) > 2 else "tcvg", pool="benchpool", udev=False)
    d.ensure_pool()
    vg = d.vg
    d.create_volume("v-0000", 64 * MiB)          # warms the extent-size cache and LVM's own
    t = {k: [] for k in ("create", "bare_create", "snapshot", "bare_snapshot", "clone", "bare_clone")}
    # Interleaved, and in alternating order, so that drift on a shared machine and
    # the VG's growing metadata hit both sides alike.
    for i in range(REPS):
        vol, snap, clone = f"v-1{i:03d}", f"s-1{i:03d}", f"v-2{i:03d}"
        steps = [
            ("create", lambda: d.create_volume(vol, 64 * MiB)),
            ("bare_create", lambda: run(d.command(
                "lvcreate", "--type", "thin", "-V", f"{64 * MiB}b", "--thinpool", d.thin_pool,
                "-n", f"bare-c{i}", "--addtag", "thecloud", vg))),
            ("snapshot", lambda: d.create_snapshot(snap, vol)),
            ("bare_snapshot", lambda: run(d.command(
                "lvcreate", "-s", f"{vg}/vol-{vol}", "-n", f"bare-s{i}", "--addtag", "thecloud",
                "--addtag", f"thecloud.volume.{vol}"))),
            ("clone", lambda: d.clone_volume(clone, snap, 0)),
            ("bare_clone", lambda: run(d.command(
                "lvcreate", "-s", f"{vg}/snap-{snap}", "-kn", "-n", f"bare-k{i}", "--addtag", "thecloud"))),
        ]
        for pair in range(0, len(steps), 2):
            first, second = steps[pair], steps[pair + 1]
            for name, step in ((first, second) if i % 2 == 0 else (second, first)):
                t[name].append(timed(step))
    result = {"reps": REPS}
    for op in ("create", "snapshot", "clone"):
        # The minimum is the figure least disturbed by other work on a shared machine.
        driver, bare = min_ms(t[op]), min_ms(t["bare_" + op])
        result[op] = {"driver_min_ms": driver, "bare_lvcreate_min_ms": bare,
                      "driver_p50_ms": median_ms(t[op]), "bare_lvcreate_p50_ms": median_ms(t["bare_" + op]),
                      "overhead_pct": round((driver / bare - 1) * 100, 1)}

    # Both volumes written first, then their snapshots and clones interleaved: the
    # only difference between the two series is what the volume holds.
    sizes = (("256MB", 256, 512), ("2GB", 2048, 3072))
    by_data = {}
    for label, data_mib, size_mib in sizes:
        vol = f"v-3{data_mib:04d}"
        d.create_volume(vol, size_mib * MiB)
        start = time.perf_counter()
        run(["dd", "if=/dev/zero", f"of={d.open_block(vol)}", "bs=4M", f"count={data_mib // 4}", "oflag=direct"])
        by_data[label] = {"written_mb": data_mib, "write_s": round(time.perf_counter() - start, 1)}
    series = {label: ([], []) for label, _, _ in sizes}
    for i in range(5):
        for label, data_mib, _ in sizes:
            snaps, clones = series[label]
            vol, snap = f"v-3{data_mib:04d}", f"s-3{data_mib:04d}{i}"
            snaps.append(timed(lambda: d.create_snapshot(snap, vol)))
            clones.append(timed(lambda: d.clone_volume(f"v-4{data_mib:04d}{i}", snap, 0)))
    for label, (snaps, clones) in series.items():
        by_data[label].update({"snapshot_min_ms": min_ms(snaps), "snapshot_p50_ms": median_ms(snaps),
                               "clone_min_ms": min_ms(clones), "clone_p50_ms": median_ms(clones)})
    result["by_data_written"] = by_data
    with open(out_path, "w") as f:
        json.dump(result, f)


if __name__ == "__main__":
    main(sys.argv[1])
