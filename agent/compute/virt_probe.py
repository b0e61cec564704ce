"""Which libvirt domain type this host can really run: "kvm" or "qemu" (TCG).

/dev/kvm existing is not enough, and neither is a guest that writes one byte in
real mode: on some hosts qemu dies at once ("failed to set MSR"), on others KVM
runs a boot sector but stops a real bootloader with an "emulation failure" and
libvirt leaves the domain paused. So the probe boots, through libvirt and with
the domain XML the driver gives every VM (domain type kvm, host-passthrough CPU,
the same machine type and BIOS), a two-sector guest that does what a bootloader
and a kernel do first: a BIOS disk read, protected mode, long mode with paging,
SSE (probe_guest.asm). KVM is used only when that guest gets through.
"""
from __future__ import annotations

import contextlib
import logging
import os
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import libvirt

from agent.compute import domain as dom_xml
from agent.compute import probe_guest
from agent.compute.qemulog import domain_failure, failure_reason, log_path
from common.errors import FailedPrecondition

log = logging.getLogger(__name__)

VIRT_TYPES = ("kvm", "qemu")
PROBE_SECONDS = 15.0        # KVM gets through in well under a second; a hung one never does
PROBE_MEMORY = 64 << 20     # SeaBIOS wants more than 16 MiB to boot from virtio
BOOT = "a real-mode → long-mode boot"

_memo: dict[str, "KvmProbe"] = {}
_memo_lock = threading.Lock()


@dataclass(frozen=True)
class KvmProbe:
    """What the probe saw: whether a KVM guest got through, and why not."""

    works: bool
    reason: str = ""
    stages: tuple[str, ...] = ()


@dataclass(frozen=True)
class VirtType:
    """The domain type the driver uses, and why (shown in `cloud host show`)."""

    name: str
    why: str = ""

    def fingerprint(self) -> str:
        return f"virt_type={self.name}" + (f" ({self.why})" if self.why else "")


def _stop(conn, name: str) -> None:
    with contextlib.suppress(libvirt.libvirtError):
        conn.lookupByName(name).destroy()


def probe_kvm(conn, uri: str, work_dir: Path, timeout: float = PROBE_SECONDS,
              virt_type: str = "kvm", image: bytes | None = None) -> KvmProbe:
    """Boot the probe guest under KVM through `conn`; files go in `work_dir` (qemu must reach it).

    `virt_type` and `image` let a test run the same probe under TCG, or boot another guest."""
    if virt_type == "kvm" and not os.path.exists("/dev/kvm"):
        return KvmProbe(False, "no /dev/kvm")
    work_dir.mkdir(mode=0o711, parents=True, exist_ok=True)
    work_dir.chmod(0o711)
    probe_id = f"kvm-probe-{uuid.uuid4().hex[:8]}"
    disk, console = work_dir / f"{probe_id}.img", work_dir / f"{probe_id}.console"
    disk.write_bytes(image if image is not None else probe_guest.disk_image())
    disk.chmod(0o644)
    config = dom_xml.DomainConfig(
        tags=dom_xml.InstanceTags(probe_id, "kvm-probe"), virt_type=virt_type, vcpus=1,
        memory_bytes=PROBE_MEMORY, disk_path=str(disk), disk_format="raw", seed_path="",
        console_log=str(console))
    try:
        return _run(conn, uri, config, console, timeout)
    finally:
        _stop(conn, config.name)
        for path in (disk, console, log_path(uri, config.name)):
            with contextlib.suppress(OSError):
                path.unlink()


def _run(conn, uri: str, config: dom_xml.DomainConfig, console: Path, timeout: float) -> KvmProbe:
    try:
        dom = conn.createXML(dom_xml.build_xml(config), 0)
    except libvirt.libvirtError as err:
        message = err.get_error_message() or str(err)
        why = failure_reason(message) or message.splitlines()[0]
        return KvmProbe(False, f"{why} at the start of {BOOT}")
    deadline = time.monotonic() + timeout
    output = b""
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError):
            output = console.read_bytes()
        if probe_guest.DONE.encode() in output:
            return KvmProbe(True, stages=tuple(probe_guest.stages_reached(output)))
        try:
            state, _ = dom.state()
        except libvirt.libvirtError:
            state = libvirt.VIR_DOMAIN_SHUTOFF
        if state not in (libvirt.VIR_DOMAIN_RUNNING, libvirt.VIR_DOMAIN_BLOCKED):
            stages = tuple(probe_guest.stages_reached(output))
            why = domain_failure(uri, config.name) or _state_words(state)
            return KvmProbe(False, f"{why} in {BOOT}", stages)
        time.sleep(0.05)
    stages = tuple(probe_guest.stages_reached(output))
    return KvmProbe(False, f"no progress in {BOOT} within {timeout:g}s", stages)


def _state_words(state: int) -> str:
    return {libvirt.VIR_DOMAIN_PAUSED: "qemu paused the guest",
            libvirt.VIR_DOMAIN_CRASHED: "the guest crashed"}.get(state, "qemu stopped")


def cached_probe(conn, uri: str, work_dir: Path) -> KvmProbe:
    """probe_kvm once per libvirt URI in this process (the answer does not change while it runs)."""
    with _memo_lock:
        found = _memo.get(uri)
        if found is None:
            found = _memo[uri] = probe_kvm(conn, uri, work_dir)
            if found.works:
                log.info("KVM probe: a guest got through %s under KVM", BOOT)
            else:
                log.warning("KVM probe: %s (stages reached: %s)", found.reason,
                            ", ".join(found.stages) or "none")
        return found


def choose_virt_type(configured: str, probe) -> VirtType:
    """The domain type for `configured` ("auto", "kvm" or "qemu"); `probe()` -> KvmProbe.

    "kvm" on a host where the probe fails raises FailedPrecondition with its reason,
    so the agent refuses to start instead of creating domains that stop at once."""
    if configured == "qemu":
        return VirtType("qemu", "configured")
    result = probe()
    if result.works:
        return VirtType("kvm")
    if configured == "kvm":
        raise FailedPrecondition(f"virt_type = kvm, but KVM cannot run a guest here: {result.reason}")
    return VirtType("qemu", f"kvm: {result.reason}")


def host_virt_type(uri: str, work_dir: Path, configured: str = "auto") -> VirtType:
    """The domain type the libvirt driver would choose on this host (for tools and benchmarks)."""
    conn = libvirt.open(uri)
    try:
        return choose_virt_type(configured, lambda: cached_probe(conn, uri, work_dir))
    finally:
        conn.close()
