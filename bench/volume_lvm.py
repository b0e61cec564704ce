"""The lvm driver's create, snapshot and clone vs the bare lvcreate calls they make, in the LVM guest.

Boots the guest of scripts/setup.d/60-volume.sh (this machine's kernel has no
device-mapper) and runs bench/_volume_lvm_guest.py there, interleaving driver
and bare calls; then snapshot and clone times with 256 MB and 2 GB written.
Target (issue 5): overhead at most 20 %; snapshot/clone not growing with data.
"""
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests" / "vm" / "volume"))

from bench._cluster import write  # noqa: E402
from volume_guest import run_in_guest, send_back  # noqa: E402

SCRIPT = """\
modprobe dm-mod && modprobe dm-thin-pool && modprobe dm-snapshot
pvcreate -q /dev/vdc && vgcreate -q tcvg /dev/vdc
cd /code/src && PYTHONPATH=/code/src python3 /code/bench_guest.py /tmp/bench.json tcvg
rc=$?
""" + send_back("/tmp/bench.json") + "exit $rc\n"


def main() -> int:
    run = run_in_guest(SCRIPT, {"bench_guest.py": ROOT / "bench" / "_volume_lvm_guest.py"},
                       vg_disk_gb=6, timeout=1800)
    if "bench.json" not in run.files:
        print(run.console[-4000:], file=sys.stderr)
        return 1
    figures = json.loads(run.files["bench.json"])
    figures["within_target"] = all(figures[op]["overhead_pct"] <= 20 for op in ("create", "snapshot", "clone"))
    write("volume_lvm", {"where": "qemu TCG guest, Debian cloud kernel, thin pool on a sparse virtio disk",
                         **figures})
    return 0


if __name__ == "__main__":
    sys.exit(main())
