"""Which libvirt domain type this host can really run: "kvm" or "qemu" (TCG).

/dev/kvm existing is not enough (some nested hosts expose it, and qemu then dies
with "failed to set MSR"). The probe boots a 512-byte boot sector under KVM with
the host CPU model — what a kvm domain would get — and waits for the one byte it
writes to the serial port.
"""
from __future__ import annotations

import logging
import os
import select
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

log = logging.getLogger(__name__)

VIRT_TYPES = ("kvm", "qemu")
PROBE_SECONDS = 5.0
_MARK = b"K"
# mov dx,0x3f8; mov al,'K'; out dx,al; hlt; jmp back to hlt — then the boot signature.
_BOOT_SECTOR = (bytes.fromhex("baf803b04beef4ebfd").ljust(510, b"\0") + b"\x55\xaa")


def kvm_works(qemu: str = "qemu-system-x86_64", timeout: float = PROBE_SECONDS) -> tuple[bool, str]:
    """(whether a KVM guest really runs here, why not)."""
    if not os.path.exists("/dev/kvm"):
        return False, "no /dev/kvm"
    binary = shutil.which(qemu)
    if binary is None:
        return False, f"{qemu} is not installed"
    with tempfile.TemporaryDirectory(prefix="thecloud-kvm-probe-") as tmp:
        disk = Path(tmp) / "boot.img"
        disk.write_bytes(_BOOT_SECTOR)
        argv = [binary, "-accel", "kvm", "-cpu", "host", "-machine", "pc", "-m", "16",
                "-nodefaults", "-display", "none", "-no-reboot", "-serial", "stdio",
                "-drive", f"file={disk},format=raw,if=ide"]
        proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE)
        try:
            output = b""
            deadline = time.monotonic() + timeout
            while _MARK not in output and time.monotonic() < deadline:
                ready, _, _ = select.select([proc.stdout], [], [], 0.1)
                if ready:
                    chunk = os.read(proc.stdout.fileno(), 4096)
                    if not chunk:
                        break
                    output += chunk
            if _MARK in output:
                return True, ""
        finally:
            proc.kill()
            _, err = proc.communicate()
        reason = err.decode(errors="replace").strip().splitlines()
        return False, reason[0] if reason else f"no guest output under KVM within {timeout:g}s"


def detect_virt_type(configured: str = "auto") -> tuple[str, str]:
    """(domain type, why) for the configured choice: "auto" probes, else taken as given."""
    if configured in VIRT_TYPES:
        return configured, "configured"
    works, reason = kvm_works()
    if works:
        return "kvm", "KVM guest ran"
    log.info("KVM is not usable here (%s); domains run under TCG (type qemu)", reason)
    return "qemu", reason
