"""Boot the LVM test guest (scripts/setup.d/60-volume.sh) and run a script in it.

The guest is Debian's cloud kernel under qemu TCG with three disks: the cached
root image (through a throw-away qcow2 overlay, so the cache stays pristine),
a small ext4 "code" disk made here with `mke2fs -d` from the files a run needs
(the storage package, a test module, a script), and an empty raw disk for the
volume group. What the script prints comes back over the serial console; the
lines between BEGIN/END markers carry files back (base64).
"""
from __future__ import annotations

import base64
import os
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[3]
CACHE = Path(os.environ.get("VOLUME_CACHE", "/var/cache/thecloud/volume")) / "current"
SETUP_SCRIPT = REPO_ROOT / "scripts" / "setup.d" / "60-volume.sh"
# What the guest needs of the project: the storage drivers are standard-library only.
PROJECT_FILES = ("agent/__init__.py", "agent/storage")

_FILE_RE = re.compile(r"^=====BEGIN (\S+)=====$(.*?)^=====END \1=====$", re.S | re.M)


class GuestUnavailable(RuntimeError):
    """The guest cannot be built or booted on this machine (a missing engine)."""


@dataclass
class GuestRun:
    returncode: int | None          # the script's exit code; None when it never finished
    console: str
    files: dict[str, bytes]


def guest_assets() -> Path:
    """The cached guest, built by the set-up hook when missing; GuestUnavailable if impossible."""
    if not (CACHE / "ready").exists() and SETUP_SCRIPT.exists():
        subprocess.run(["bash", str(SETUP_SCRIPT)], capture_output=True, text=True, timeout=900,
                       check=False)
    if not (CACHE / "ready").exists():
        raise GuestUnavailable(f"the LVM test guest is not built in {CACHE} "
                               "(run `make images` as root; it needs debootstrap and apt)")
    if not shutil.which("qemu-system-x86_64") or not shutil.which("qemu-img"):
        raise GuestUnavailable("qemu-system-x86_64 / qemu-img are not installed")
    return CACHE


def send_back(path: str) -> str:
    """Shell lines (for run.sh) that print the guest file `path` between markers."""
    name = os.path.basename(path)
    return (f'echo "=====BEGIN {name}====="; base64 {path}; echo "=====END {name}====="\n')


def run_in_guest(script: str, extra_files: dict[str, Path] | None = None, vg_disk_gb: int = 4,
                 memory_mb: int = 1024, timeout: float = 600.0) -> GuestRun:
    """Boot the guest, run `script` (sh) from /code with the project files under /code/src.

    `extra_files` maps a path under /code to a host file to copy there. The VG disk is
    /dev/vdc (sparse, `vg_disk_gb`). Returns the console and the files sent back.
    """
    assets = guest_assets()
    with tempfile.TemporaryDirectory(prefix="tc-volguest-") as tmp:
        tmp = Path(tmp)
        code = tmp / "code"
        for rel in PROJECT_FILES:
            source, target = REPO_ROOT / rel, code / "src" / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            if source.is_dir():
                shutil.copytree(source, target, ignore=shutil.ignore_patterns("__pycache__"))
            else:
                shutil.copy2(source, target)
        for rel, source in (extra_files or {}).items():
            target = code / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
        (code / "run.sh").write_text(script)
        subprocess.run(["mke2fs", "-q", "-t", "ext4", "-d", str(code), str(tmp / "code.img"), "64M"],
                       check=True, capture_output=True)
        subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", "-F", "raw",
                        "-b", str(assets / "root.img"), str(tmp / "root.qcow2")], check=True)
        with open(tmp / "vg.img", "wb") as disk:
            disk.truncate(vg_disk_gb * 1024**3)
        console = tmp / "console.log"
        argv = [
            "qemu-system-x86_64", "-machine", "q35,accel=tcg", "-cpu", "max", "-smp", "1",
            "-m", str(memory_mb), "-nographic", "-no-reboot", "-nodefaults",
            "-kernel", str(assets / "vmlinuz"), "-initrd", str(assets / "initrd.gz"),
            "-append", "console=ttyS0 panic=-1 quiet loglevel=3",
            "-drive", f"file={tmp / 'root.qcow2'},if=virtio,format=qcow2",
            "-drive", f"file={tmp / 'code.img'},if=virtio,format=raw",
            "-drive", f"file={tmp / 'vg.img'},if=virtio,format=raw,cache=unsafe",
            "-serial", f"file:{console}",
        ]
        try:
            subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, timeout=timeout,
                           check=False)
        except subprocess.TimeoutExpired:
            pass
        except OSError as err:
            raise GuestUnavailable(f"cannot start qemu: {err}") from None
        text = console.read_text(errors="replace") if console.exists() else ""
    text = text.replace("\r\n", "\n")
    match = re.search(r"^thecloud-guest: exit (\d+)$", text, re.M)
    files = {name: base64.b64decode("".join(body.split())) for name, body in _FILE_RE.findall(text)}
    return GuestRun(int(match.group(1)) if match else None, text, files)
