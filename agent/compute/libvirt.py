"""The libvirt compute driver: one persistent domain per VM instance.

Domains are named ``thecloud-<instance id>`` and carry the instance id, the owning
agent, name, project and spec hash in their <metadata>, so several agents can share
one libvirtd and a restarted agent adopts its running domains. Each instance has a
directory under ``<vm_dir>/instances/<id>/`` holding its qcow2 overlay (backed by a
cached image, never written), its cloud-init seed ISO and its serial console log.
The domain type is "kvm" only where a KVM guest was seen running (virt_probe).
"""
from __future__ import annotations

import contextlib
import logging
import os
import shutil
import stat
import threading
import time
from pathlib import Path
from typing import Iterator, Mapping

import libvirt

from agent.compute import domain as dom_xml
from agent.compute.base import RUNNING, STOPPED, Capability, ComputeDriver, InstanceSpec, Observed, State
from agent.compute.cloudinit import network_config
from agent.compute.imagecache import ImageCache, ImageError, create_overlay
from agent.compute.imagefetch import FetchPolicy
from agent.compute.libvirt_events import DomainEvents, start_event_loop
from agent.compute.qemulog import domain_failure
from agent.compute.seed import MAX_USER_DATA, SeedData, write_seed_iso
from agent.compute.virt_probe import cached_probe, choose_virt_type
from agent.compute.vmdisk import VolumeDisks
from common.errors import FailedPrecondition, NotFound, Unavailable

log = logging.getLogger(__name__)

STATS_PERIOD = 10.0       # seconds between samples: each changed sample is a Raft write
DISK_FILE, SEED_FILE, CONSOLE_FILE, STARTED_FILE = "disk.qcow2", "seed.iso", "console.log", "started-ms"
FAILURE_FILE = "failure"  # why the domain failed since its last start (kept across agent restarts)
_DISK_ERRORS = {libvirt.VIR_DOMAIN_DISK_ERROR_NO_SPACE: "no space left on the host's disk"}


def _libvirt_quiet(_ctx, _err) -> None:
    """libvirt prints every error on stderr by default; the driver reports them itself."""


libvirt.registerErrorHandler(_libvirt_quiet, None)


def _pause_reasons(*names: str) -> frozenset[int]:
    return frozenset(getattr(libvirt, f"VIR_DOMAIN_PAUSED_{name}") for name in names
                     if hasattr(libvirt, f"VIR_DOMAIN_PAUSED_{name}"))


# Pauses that pass by themselves (libvirt or an operator is doing something), and the
# one pause made on purpose. Any other pause is qemu stopping a guest that failed.
PASSING_PAUSES = _pause_reasons("MIGRATION", "SAVE", "DUMP", "SNAPSHOT", "SHUTTING_DOWN",
                                "STARTING_UP", "POSTCOPY")
PAUSED_ON_PURPOSE = libvirt.VIR_DOMAIN_PAUSED_USER
_PAUSE_FAILURES = {
    libvirt.VIR_DOMAIN_PAUSED_IOERROR: "qemu paused the guest on an I/O error",
    libvirt.VIR_DOMAIN_PAUSED_WATCHDOG: "the guest's watchdog fired",
    libvirt.VIR_DOMAIN_PAUSED_CRASHED: "the guest crashed",
}


def pause_failure(reason: int) -> str | None:
    """Why a domain paused with `reason` failed; None for a pause that is no failure."""
    if reason == PAUSED_ON_PURPOSE or reason in PASSING_PAUSES:
        return None
    return _PAUSE_FAILURES.get(reason, "qemu stopped the guest")


def domain_state(state: int, reason: int, desired_state: str | None) -> tuple[int, str, int]:
    """(InstanceState, reason, exit code) for a domain in libvirt `state` with `reason`.

    A VM has no exit code: a crash counts as 1, a guest that powered itself off as 0,
    so restart policies read the same as for containers.
    """
    if state in (libvirt.VIR_DOMAIN_RUNNING, libvirt.VIR_DOMAIN_BLOCKED):
        return State.INSTANCE_STATE_RUNNING, "", 0
    if state == libvirt.VIR_DOMAIN_SHUTDOWN:
        return State.INSTANCE_STATE_RUNNING, "shutting down", 0
    if state == libvirt.VIR_DOMAIN_PAUSED:
        failure = pause_failure(reason)
        if failure is not None:
            return State.INSTANCE_STATE_FAILED, failure, 1
        if reason == PAUSED_ON_PURPOSE:
            return State.INSTANCE_STATE_STOPPED, "paused", 0
        return State.INSTANCE_STATE_RUNNING, "", 0
    if state == libvirt.VIR_DOMAIN_PMSUSPENDED:
        return State.INSTANCE_STATE_STOPPED, "suspended by the guest", 0
    if state == libvirt.VIR_DOMAIN_CRASHED:
        if reason == libvirt.VIR_DOMAIN_CRASHED_PANICKED:
            return State.INSTANCE_STATE_FAILED, "the guest kernel panicked", 1
        return State.INSTANCE_STATE_FAILED, "the guest crashed", 1
    if state == libvirt.VIR_DOMAIN_SHUTOFF and reason == libvirt.VIR_DOMAIN_SHUTOFF_CRASHED:
        return State.INSTANCE_STATE_FAILED, "the guest crashed", 1
    if state == libvirt.VIR_DOMAIN_SHUTOFF:
        if desired_state == STOPPED:
            return State.INSTANCE_STATE_STOPPED, "stopped", 0
        if reason == libvirt.VIR_DOMAIN_SHUTOFF_FAILED:
            return State.INSTANCE_STATE_FAILED, "the domain failed to start", 1
        if reason == libvirt.VIR_DOMAIN_SHUTOFF_SHUTDOWN:
            return State.INSTANCE_STATE_STOPPED, "the guest powered off", 0
        if reason == libvirt.VIR_DOMAIN_SHUTOFF_DESTROYED:
            return State.INSTANCE_STATE_STOPPED, "powered off from the host", 0
        return State.INSTANCE_STATE_STOPPED, "shut off", 0
    return State.INSTANCE_STATE_UNSPECIFIED, f"unknown domain state {state}", 0


def restarts(restart_policy: str, exit_code: int) -> bool:
    return restart_policy == "always" or (restart_policy == "on-failure" and exit_code != 0)


def check_reachable(path: Path) -> None:
    """Raise Unavailable unless every directory above `path` lets others through:
    qemu runs as its own user and must open the disks and the console file."""
    for parent in [path, *path.parents]:
        mode = parent.stat().st_mode
        if not mode & stat.S_IXOTH:
            raise Unavailable(f"vm_dir {path} is not reachable by the qemu user: {parent} is "
                              f"mode {stat.filemode(mode)} (it needs o+x)")


class _Stats:
    """Per-instance (cpu_time_ns, memory_used_bytes), resampled at most every STATS_PERIOD."""

    def __init__(self):
        self._samples: dict[str, tuple[float, int, int]] = {}
        self._lock = threading.Lock()

    def get(self, instance_id: str, dom) -> tuple[int, int]:
        now = time.monotonic()
        with self._lock:
            sample = self._samples.get(instance_id)
        if sample is not None and now - sample[0] < STATS_PERIOD:
            return sample[1], sample[2]
        cpu_ns = memory = 0
        with contextlib.suppress(libvirt.libvirtError):
            info = dom.info()
            cpu_ns = int(info[4])
            memory = int(dom.memoryStats().get("rss", info[2])) * 1024
        with self._lock:
            self._samples[instance_id] = (now, cpu_ns, memory)
        return cpu_ns, memory

    def forget(self, instance_id: str) -> None:
        with self._lock:
            self._samples.pop(instance_id, None)


class LibvirtDriver(ComputeDriver):
    name = "libvirt"
    kind = "vm"
    # Volumes are virtio disks plugged in and grown live; the NIC is a tap, not a netns.
    capabilities = Capability.REBOOT | Capability.DISK_HOTPLUG | Capability.DISK_GROWTH

    def __init__(self, agent_name: str, vm_dir: Path, uri: str = "qemu:///system",
                 virt_type: str = "auto", stop_timeout: float = 10.0, spec_key: bytes | None = None,
                 fetch_policy: FetchPolicy | None = None):
        self.agent_name = agent_name
        # Without the agent's key (tests), one for this process: a restart redefines its domains.
        self.spec_key = spec_key or os.urandom(32)
        self.uri = uri
        self.stop_timeout = stop_timeout
        self.vm_dir = Path(vm_dir).absolute()
        self._conn_lock = threading.Lock()
        self._conn: libvirt.virConnect | None = None
        self._stats = _Stats()
        self.volume_disks = VolumeDisks()
        # Per instance: acting on a failed domain (the event thread) waits for ensure's start.
        self._failure_locks: dict[str, threading.Lock] = {}
        start_event_loop()                  # before the first connection
        self._events = DomainEvents(self._on_domain_event)
        self._connect()
        self.instances_dir = self.vm_dir / "instances"
        self.instances_dir.mkdir(parents=True, exist_ok=True)
        for directory in (self.vm_dir, self.instances_dir):
            directory.chmod(0o711)
        check_reachable(self.instances_dir)
        self.cache = ImageCache(self.vm_dir / "images", fetch_policy)
        try:
            self.virt = choose_virt_type(
                virt_type, lambda: cached_probe(self._connect(), uri, self.vm_dir / "probe"))
        except BaseException:
            self.close()
            raise
        self.virt_type = self.virt.name
        log.info("libvirt driver on %s: domain type %s (%s), files in %s", uri, self.virt_type,
                 self.virt.why or "KVM guest ran", self.vm_dir)

    # -- the connection --------------------------------------------------------

    def _connect(self) -> libvirt.virConnect:
        with self._conn_lock:
            if self._conn is not None:
                with contextlib.suppress(libvirt.libvirtError):
                    if self._conn.isAlive():
                        return self._conn
                self._conn = None
            try:
                self._conn = libvirt.open(self.uri)
            except libvirt.libvirtError as err:
                raise Unavailable(f"libvirt at {self.uri} does not answer: "
                                  f"{err.get_error_message()}") from None
            self._events.watch(self._conn)
            return self._conn

    @contextlib.contextmanager
    def _calls(self) -> Iterator[libvirt.virConnect]:
        """libvirtd gone -> Unavailable (the caller retries); the next call reconnects."""
        conn = self._connect()
        try:
            yield conn
        except libvirt.libvirtError as err:
            if err.get_error_code() in (libvirt.VIR_ERR_SYSTEM_ERROR, libvirt.VIR_ERR_NO_CONNECT,
                                        libvirt.VIR_ERR_RPC, libvirt.VIR_ERR_INTERNAL_ERROR) \
                    and not conn.isAlive():
                with self._conn_lock:
                    self._conn = None
                raise Unavailable(f"libvirt at {self.uri} stopped answering: "
                                  f"{err.get_error_message()}") from None
            raise

    def close(self) -> None:
        self._events.close()
        with self._conn_lock:
            if self._conn is not None:
                with contextlib.suppress(libvirt.libvirtError):
                    self._conn.close()
                self._conn = None

    def fingerprint(self) -> list[str]:
        return [f"compute:{self.name}", self.virt.fingerprint()]

    def images(self) -> list[str]:
        # VM images live in the cluster state, not on hosts: placement needs no list.
        return []

    # -- finding our domains -----------------------------------------------------

    def _tags(self, dom) -> dom_xml.InstanceTags | None:
        try:
            element = dom.metadata(libvirt.VIR_DOMAIN_METADATA_ELEMENT, dom_xml.METADATA_NS)
        except libvirt.libvirtError:
            return None
        return dom_xml.parse_tags_element(element)

    def _find(self, conn, instance_id: str):
        """(domain, tags) of the instance when this agent owns it; (None, None) when absent."""
        try:
            dom = conn.lookupByName(dom_xml.domain_name(instance_id))
        except libvirt.libvirtError as err:
            if err.get_error_code() == libvirt.VIR_ERR_NO_DOMAIN:
                return None, None
            raise
        return dom, self._tags(dom)

    def _dir(self, instance_id: str) -> Path:
        return self.instances_dir / instance_id

    # -- failures ----------------------------------------------------------------

    def _failure_lock(self, instance_id: str) -> threading.Lock:
        with self._conn_lock:
            return self._failure_locks.setdefault(instance_id, threading.Lock())

    def _recorded_failure(self, instance_id: str) -> str:
        try:
            return (self._dir(instance_id) / FAILURE_FILE).read_text()
        except OSError:
            return ""

    def _record_failure(self, instance_id: str, reason: str, live: bool = False) -> str:
        """Keep the failure since the domain's last start; the one kept. The first one
        stays once qemu is gone; while the failed domain is still there (`live`: paused or
        crashed) what it shows now wins, so a guest that qemu paused and then found
        panicked reads as panicked."""
        recorded = self._recorded_failure(instance_id)
        if recorded and (not live or recorded == reason):
            return recorded
        with contextlib.suppress(OSError):
            (self._dir(instance_id) / FAILURE_FILE).write_text(reason)
        log.warning("VM %s failed: %s", instance_id, reason, extra={"instance_id": instance_id})
        return reason

    def _failure_detail(self, dom, what: str, state: int, reason: int) -> str:
        """`what` failed, with what qemu and libvirt tell of it: the disk that erred, the
        first line of qemu's error in the domain's log."""
        details = []
        if state == libvirt.VIR_DOMAIN_PAUSED and reason == libvirt.VIR_DOMAIN_PAUSED_IOERROR:
            with contextlib.suppress(libvirt.libvirtError):
                for disk, code in sorted(dom.diskErrors().items()):
                    if code != libvirt.VIR_DOMAIN_DISK_ERROR_NONE:
                        details.append(f"disk {disk}: {_DISK_ERRORS.get(code, 'I/O error')}")
        logged = domain_failure(self.uri, dom.name())
        if logged:
            details.append(logged)
        return "; ".join([what, *details]) if details else what

    def _state(self, instance_id: str, dom, desired_state: str | None) -> tuple[int, str, int, int]:
        """(InstanceState, reason, exit code, libvirt state) with the domain's failure, if any,
        recorded: a paused or crashed domain is FAILED with what qemu said."""
        state, reason = dom.state()
        code, why, exit_code = domain_state(state, reason, desired_state)
        inactive = state in (libvirt.VIR_DOMAIN_SHUTOFF, libvirt.VIR_DOMAIN_CRASHED)
        if code == State.INSTANCE_STATE_FAILED:
            live = state in (libvirt.VIR_DOMAIN_PAUSED, libvirt.VIR_DOMAIN_CRASHED)
            recorded = "" if live else self._recorded_failure(instance_id)
            why = recorded or self._record_failure(
                instance_id, self._failure_detail(dom, why, state, reason), live=live)
        elif inactive and desired_state != STOPPED:
            recorded = self._recorded_failure(instance_id)
            if recorded:
                code, why, exit_code = State.INSTANCE_STATE_FAILED, recorded, 1
        return code, why, exit_code, state

    def _on_domain_event(self, name: str, event: int, detail: int) -> None:
        """A domain was suspended, crashed or stopped: record why when it failed."""
        with self._calls() as conn:
            try:
                dom = conn.lookupByName(name)
            except libvirt.libvirtError:
                return
            tags = self._tags(dom)
            if tags is None or tags.agent != self.agent_name or name != dom_xml.domain_name(tags.instance_id):
                return
            if event == libvirt.VIR_DOMAIN_EVENT_STOPPED and detail not in (
                    libvirt.VIR_DOMAIN_EVENT_STOPPED_CRASHED, libvirt.VIR_DOMAIN_EVENT_STOPPED_FAILED):
                return
            with self._failure_lock(tags.instance_id), contextlib.suppress(libvirt.libvirtError):
                self._state(tags.instance_id, dom, None)

    # -- observing -----------------------------------------------------------------

    def _observe(self, instance_id: str, dom, tags, desired_state: str | None) -> Observed:
        code, why, exit_code, _ = self._state(instance_id, dom, desired_state)
        running = code == State.INSTANCE_STATE_RUNNING
        cpu_ns, memory = self._stats.get(instance_id, dom) if running else (0, 0)
        started = self._dir(instance_id) / STARTED_FILE
        started_ms = int(started.read_text() or 0) if started.exists() else 0
        return Observed(instance_id=instance_id, state=code, runtime_id=dom.UUIDString(),
                        reason=why, started_at_ms=started_ms, exit_code=exit_code,
                        spec_hash=tags.spec_hash if tags else "", cpu_time_ns=cpu_ns,
                        memory_used_bytes=memory,
                        labels={"name": tags.name, "project": tags.project} if tags else {})

    @staticmethod
    def _failed(instance_id: str, reason: str) -> Observed:
        return Observed(instance_id=instance_id, state=State.INSTANCE_STATE_FAILED, reason=reason)

    # -- making and unmaking -------------------------------------------------------

    def _build(self, conn, instance_id: str, name: str, project: str, spec: InstanceSpec):
        """Fetch the image, make overlay and seed, define the domain. Raises ImageError."""
        vm = spec.vm
        if vm is None or not vm.image.disk.url:
            raise ImageError("the instance's spec carries no resolved image")
        if len(vm.user_data.encode()) > MAX_USER_DATA:
            raise ImageError(f"user-data is over the NoCloud limit of {MAX_USER_DATA} bytes")
        base = self.cache.fetch(vm.image.disk)
        boot = None
        if vm.image.kernel is not None:
            kernel = self.cache.fetch(vm.image.kernel)
            initrd = self.cache.fetch(vm.image.initrd) if vm.image.initrd else None
            boot = dom_xml.DirectBoot(str(kernel), str(initrd or ""), vm.image.cmdline)
        directory = self._dir(instance_id)
        directory.mkdir(mode=0o711)
        directory.chmod(0o711)
        create_overlay(base, vm.image.format, directory / DISK_FILE, spec.disk_bytes)
        # The guest's disk is the guest's alone (qemu-img makes it 0644): libvirt hands
        # it to qemu's user when the domain starts, as it does the seed.
        (directory / DISK_FILE).chmod(0o600)
        write_seed_iso(directory / SEED_FILE, SeedData(
            instance_id=instance_id, hostname=name or instance_id,
            user_data=vm.user_data.encode(), ssh_keys=vm.ssh_keys, secret_files=vm.secret_files,
            **({"network_config": network_config(vm.nic)} if vm.nic else {})))
        config = dom_xml.DomainConfig(
            tags=dom_xml.InstanceTags(instance_id, self.agent_name, name, project, self.spec_hash(spec)),
            virt_type=self.virt_type, vcpus=spec.vcpus, memory_bytes=spec.memory_bytes,
            disk_path=str(directory / DISK_FILE), seed_path=str(directory / SEED_FILE),
            console_log=str(directory / CONSOLE_FILE), boot=boot,
            nics=(vm.nic,) if vm.nic else ())
        return conn.defineXML(dom_xml.build_xml(config))

    def _discard(self, conn, instance_id: str, dom) -> None:
        """Destroy and undefine the domain (if any) and remove the instance's files."""
        if dom is not None:
            with contextlib.suppress(libvirt.libvirtError):
                if dom.isActive():
                    dom.destroy()
            with contextlib.suppress(libvirt.libvirtError):
                dom.undefineFlags(libvirt.VIR_DOMAIN_UNDEFINE_NVRAM
                                  | libvirt.VIR_DOMAIN_UNDEFINE_MANAGED_SAVE)
        shutil.rmtree(self._dir(instance_id), ignore_errors=True)
        self._stats.forget(instance_id)
        with self._conn_lock:
            self._failure_locks.pop(instance_id, None)

    def _start(self, instance_id: str, dom) -> None:
        (self._dir(instance_id) / FAILURE_FILE).unlink(missing_ok=True)
        dom.create()
        (self._dir(instance_id) / STARTED_FILE).write_text(str(int(time.time() * 1000)))

    def _run(self, instance_id: str, dom, spec: InstanceSpec, created: bool,
             was_desired: str | None) -> None:
        """Start the domain when it should run and is not running: always when it is new or
        was meant to be stopped, else as its restart policy says of how it ended. A domain
        qemu paused on a failure, or kept after its guest panicked, is destroyed first; one
        paused on purpose is resumed."""
        code, _, exit_code, state = self._state(instance_id, dom, None)
        start = created or was_desired != RUNNING or restarts(spec.restart_policy, exit_code)
        if state in (libvirt.VIR_DOMAIN_PAUSED, libvirt.VIR_DOMAIN_CRASHED):
            if code != State.INSTANCE_STATE_FAILED:
                if code == State.INSTANCE_STATE_STOPPED:
                    dom.resume()
                return
            if not start:
                return      # kept paused for inspection; a stop or delete ends it
            dom.destroy()
        elif dom.isActive() or not start:
            return
        self._start(instance_id, dom)

    def _stop(self, dom) -> None:
        """ACPI power button first; pulled plug after stop_timeout."""
        with contextlib.suppress(libvirt.libvirtError):
            dom.shutdown()
        deadline = time.monotonic() + self.stop_timeout
        while time.monotonic() < deadline:
            if not dom.isActive():
                return
            time.sleep(0.2)
        with contextlib.suppress(libvirt.libvirtError):
            if dom.isActive():
                log.info("domain %s ignored the ACPI shutdown for %.0fs; destroying it",
                         dom.name(), self.stop_timeout)
                dom.destroy()

    def ensure(self, instance_id: str, name: str, project: str, spec: InstanceSpec,
               desired_state: str, was_desired: str | None = None) -> Observed:
        with self._calls() as conn:
            dom, tags = self._find(conn, instance_id)
            if dom is not None and (tags is None or tags.agent != self.agent_name):
                owner = tags.agent if tags else "nobody (no thecloud metadata)"
                return self._failed(instance_id, f"domain {dom.name()} belongs to {owner!r}")
            if dom is not None and not spec.hash_matches(tags.spec_hash, self.spec_key):
                log.info("spec of %s changed; recreating its domain", instance_id,
                         extra={"instance_id": instance_id})
                self._discard(conn, instance_id, dom)
                dom = None
            created = False
            if dom is None:
                try:
                    dom = self._build(conn, instance_id, name, project, spec)
                except (ImageError, ValueError, OSError) as err:
                    self._discard(conn, instance_id, None)
                    return self._failed(instance_id, str(err))
                except libvirt.libvirtError as err:
                    self._discard(conn, instance_id, None)
                    return self._failed(instance_id, f"cannot define domain: {err.get_error_message()}")
                except BaseException:
                    self._discard(conn, instance_id, None)
                    raise
                created = True
                tags = self._tags(dom)
                log.info("defined domain %s for %s", dom.name(), instance_id,
                         extra={"instance_id": instance_id})

            try:
                self.volume_disks.sync(dom, spec.disks)
            except FailedPrecondition as err:
                if not created:
                    raise       # the VM runs on; the reconciler asks again
                self._discard(conn, instance_id, dom)
                return self._failed(instance_id, str(err))

            if desired_state == RUNNING:
                try:
                    with self._failure_lock(instance_id):
                        self._run(instance_id, dom, spec, created, was_desired)
                except libvirt.libvirtError as err:
                    if created:
                        # A VM that cannot start is not left behind half-made.
                        self._discard(conn, instance_id, dom)
                    return self._failed(instance_id, f"cannot start domain: {err.get_error_message()}")
            elif dom.isActive():
                self._stop(dom)
            return self._observe(instance_id, dom, tags, desired_state)

    def remove(self, instance_id: str) -> bool:
        with self._calls() as conn:
            dom, tags = self._find(conn, instance_id)
            if dom is not None and (tags is None or tags.agent != self.agent_name):
                return False
            existed = dom is not None or self._dir(instance_id).exists()
            # Deleting is final: no point in a graceful shutdown first.
            self._discard(conn, instance_id, dom)
            if existed:
                log.info("removed domain and files of %s", instance_id,
                         extra={"instance_id": instance_id})
            return existed

    def list(self, desired_states: Mapping[str, str] | None = None) -> list[Observed]:
        desired_states = desired_states or {}
        with self._calls() as conn:
            observed = []
            for dom in conn.listAllDomains():
                if not dom.name().startswith("thecloud-"):
                    continue
                tags = self._tags(dom)
                if tags is None or tags.agent != self.agent_name \
                        or dom.name() != dom_xml.domain_name(tags.instance_id):
                    continue
                with contextlib.suppress(libvirt.libvirtError):   # undefined meanwhile
                    observed.append(self._observe(tags.instance_id, dom, tags,
                                                  desired_states.get(tags.instance_id)))
            return observed

    def observe(self, instance_id: str, desired_state: str | None = None) -> Observed | None:
        with self._calls() as conn:
            dom, tags = self._find(conn, instance_id)
            if dom is None or tags is None or tags.agent != self.agent_name:
                return None
            return self._observe(instance_id, dom, tags, desired_state)

    def logs(self, instance_id: str, tail_lines: int = 0) -> bytes:
        """The serial console, kept in the instance's directory across stops and starts."""
        if self.observe(instance_id) is None:
            raise NotFound(f"instance {instance_id} has no domain on this host")
        path = self._dir(instance_id) / CONSOLE_FILE
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            return b""
        if tail_lines:
            data = b"".join(data.splitlines(keepends=True)[-tail_lines:])
        return data

    def grow_volume_disk(self, instance_id: str, volume_id: str, size_bytes: int) -> bool:
        """Have the running VM's qemu (and so its guest) see the volume at `size_bytes`;
        False when the VM is not running or has no such disk (see VolumeDisks.grow)."""
        with self._calls() as conn:
            dom, tags = self._find(conn, instance_id)
            if dom is None or tags is None or tags.agent != self.agent_name:
                return False
            return self.volume_disks.grow(dom, volume_id, size_bytes)

    def reboot(self, instance_id: str, hard: bool = False) -> None:
        """ACPI reboot (the guest decides), or a reset at once with `hard`."""
        with self._calls() as conn:
            dom, tags = self._find(conn, instance_id)
            if dom is None or tags is None or tags.agent != self.agent_name:
                raise NotFound(f"instance {instance_id} has no domain on this host")
            if not dom.isActive():
                raise FailedPrecondition(f"instance {instance_id} is not running")
            if hard:
                dom.reset(0)
            else:
                dom.reboot(libvirt.VIR_DOMAIN_REBOOT_ACPI_POWER_BTN)
