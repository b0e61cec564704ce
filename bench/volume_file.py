"""The file driver's clone from a snapshot: constant time whatever the volume holds.

Volumes with 0, 256 MB and 2 GB written (qemu-io, pattern data), a snapshot of
each, then clones: the time and the clone's file size stay flat because a clone
is a backing-file overlay, not a copy.
"""
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from agent.storage.file import FileDriver  # noqa: E402
from bench._cluster import write  # noqa: E402

MiB = 1024**2


def main() -> int:
    result = {}
    with tempfile.TemporaryDirectory(prefix="tc-volbench-", dir="/var/tmp") as tmp:
        d = FileDriver(Path(tmp))
        for n, (label, data_mib) in enumerate((("empty", 0), ("256MB", 256), ("2GB", 2048))):
            vol = f"v-{n:04d}"
            d.create_volume(vol, 3072 * MiB)
            if data_mib:
                # qemu-io caps one request below 2 GiB: write in 256 MiB pieces.
                writes = [arg for off in range(0, data_mib, 256)
                          for arg in ("-c", f"write -P 0xab {off}M 256M")]
                subprocess.run(["qemu-io", "-f", "qcow2", *writes, str(d.volume_file(vol))],
                               check=True, capture_output=True)
            snapshot = f"s-{n:04d}"
            start = time.perf_counter()
            d.create_snapshot(snapshot, vol)
            snap_ms = (time.perf_counter() - start) * 1000
            clones = []
            for i in range(5):
                start = time.perf_counter()
                d.clone_volume(f"v-{n:02d}{i:02d}", snapshot, 0)
                clones.append((time.perf_counter() - start) * 1000)
            clone_file = d.volume_file(f"v-{n:02d}00").stat().st_size
            result[label] = {"written_mb": data_mib, "snapshot_ms": round(snap_ms, 1),
                             "clone_p50_ms": round(statistics.median(clones), 1),
                             "clone_max_ms": round(max(clones), 1), "clone_file_bytes": clone_file}
    write("volume_file", {"clones_per_size": 5, "by_data_written": result})
    return 0


if __name__ == "__main__":
    sys.exit(main())
