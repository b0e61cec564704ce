"""Real libvirt + qemu (TCG) for the VM tests: the cached test guest, a cluster whose
agent runs both drivers, and cleanup of every domain that agent made."""
from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from cli import main as cli_main
from proto.v1 import public_pb2
from tests.conftest import REPO_ROOT, engine_missing
from tests.integration.cluster.cluster_harness import running_cluster

LIBVIRT_URI = "qemu:///system"
BOOT_TIMEOUT = 180          # TCG on a busy 2-core machine: generous, never asserted on
READY = "THECLOUD-GUEST: ready"


def libvirt_connection():
    try:
        import libvirt
    except ImportError as exc:
        engine_missing(f"libvirt-python is not installed ({exc}); run `make venv`")
    try:
        return libvirt.open(LIBVIRT_URI)
    except libvirt.libvirtError as exc:
        engine_missing(f"libvirtd does not answer at {LIBVIRT_URI} ({exc}); run `make images` "
                       "(scripts/setup.d/30-vm.sh starts it)")


def build_guest() -> Path:
    """The cached guest (vmlinuz, initrd.img, disk.qcow2), built from Debian packages once."""
    script = REPO_ROOT / "scripts" / "build-vm-test-guest.sh"
    proc = subprocess.run(["bash", str(script)], capture_output=True, text=True, timeout=600)
    if proc.returncode != 0:
        engine_missing(f"cannot build the VM test guest: {proc.stderr.strip()[-500:]}")
    return Path(proc.stdout.strip().splitlines()[-1])


def vm_dir() -> Path:
    """A directory qemu (its own user) can reach: /tmp is o+x, pytest's tmp_path is not."""
    path = Path(tempfile.mkdtemp(prefix="thecloud-vm-test-"))
    path.chmod(0o711)
    return path


def remove_agent_domains(conn, agent_name: str) -> None:
    import libvirt

    from agent.compute.domain import parse_tags_element, METADATA_NS
    for dom in conn.listAllDomains():
        try:
            tags = parse_tags_element(dom.metadata(libvirt.VIR_DOMAIN_METADATA_ELEMENT, METADATA_NS))
        except libvirt.libvirtError:
            continue
        if tags is not None and tags.agent == agent_name:
            with contextlib.suppress(libvirt.libvirtError):
                if dom.isActive():
                    dom.destroy()
            with contextlib.suppress(libvirt.libvirtError):
                dom.undefine()


def guest_cache_root() -> Path:
    """Where scripts/build-vm-test-guest.sh keeps the guests it built."""
    return Path(os.environ.get("THECLOUD_VM_CACHE", "/var/cache/thecloud/vm-guest"))


@contextlib.contextmanager
def vm_cluster(home: Path, docker_client, stop_timeout: float = 5.0, directory: Path | None = None,
               agent_overrides: dict | None = None):
    """An all-in-one cluster whose agent runs docker and libvirt; yields (cluster, vm_dir).

    `directory` is the agent's vm_dir (removed afterwards); a new one by default. The
    agent reads file: images from the guest cache and from pytest's base temp directory
    (`home`'s parent: where tests put the images they build)."""
    conn = libvirt_connection()
    directory = directory or vm_dir()
    aio_agent = None
    try:
        with running_cluster(home, docker_client, agent_overrides={
                "compute_driver": "docker,libvirt", "vm_dir": str(directory),
                "stop_timeout": stop_timeout,
                "image_file_dirs": [str(guest_cache_root()), str(Path(home).resolve().parent)],
                **(agent_overrides or {})}) as cluster:
            aio_agent = cluster.aio.agent_name
            yield cluster, directory
    finally:
        if aio_agent:
            remove_agent_domains(conn, aio_agent)
        conn.close()
        shutil.rmtree(directory, ignore_errors=True)


def cli(cluster, *argv: str) -> tuple[int, str]:
    """Run `cloud ARGV` against the cluster; (exit code, stdout)."""
    import io

    out = io.StringIO()
    code = cli_main.run(["--config", str(cluster.aio.cli_config_path), *argv], out)
    return code, out.getvalue()


def console(cluster, name: str) -> str:
    code, text = cli(cluster, "instance", "console-log", name)
    return text if code == 0 else ""


def wait_console(cluster, name: str, needle: str, count: int = 1, timeout: float = BOOT_TIMEOUT) -> str:
    deadline = time.monotonic() + timeout
    text = ""
    while time.monotonic() < deadline:
        text = console(cluster, name)
        if text.count(needle) >= count:
            return text
        time.sleep(0.5)
    raise AssertionError(f"{name}: {needle!r} x{count} not on the console within {timeout}s:\n{text[-3000:]}")


def wait_instance(cluster, name: str, predicate, timeout: float = BOOT_TIMEOUT):
    """The instance once `predicate(instance)` holds; AssertionError with its last state after `timeout`."""
    deadline = time.monotonic() + timeout
    instance = None
    while time.monotonic() < deadline:
        instance = cluster.call("Instances", "GetInstance", public_pb2.GetInstanceRequest(name=name))
        if predicate(instance):
            return instance
        time.sleep(0.5)
    raise AssertionError(f"{name}: condition not reached within {timeout}s: {instance}")


def import_guest(cluster, guest: Path, cmdline: str = "console=ttyS0") -> None:
    """Register the test guest (direct kernel boot) as image `guest`."""
    code, out = cli(cluster, "image", "import", "guest", "--file", str(guest / "disk.qcow2"),
                    "--kernel", str(guest / "vmlinuz"), "--initrd", str(guest / "initrd.img"),
                    "--cmdline", cmdline)
    assert code == 0, out
