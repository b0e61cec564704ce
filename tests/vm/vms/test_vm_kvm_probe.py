"""The KVM probe on real libvirt + qemu: the probe guest gets through its five stages
under TCG (so a failure under KVM is KVM's), a guest that stops part-way is named by
the stage it reached, and the driver's choice on this host is the probe's, whatever
this host's KVM turns out to be."""
from __future__ import annotations

import pytest

from agent.compute import probe_guest
from agent.compute.libvirt import LibvirtDriver
from agent.compute.virt_probe import probe_kvm
from common.errors import FailedPrecondition
from tests.vm.vms.vm_harness import LIBVIRT_URI, libvirt_connection, vm_dir

pytestmark = pytest.mark.integration

# Real mode only: 'R' on COM1, then halt: a guest that never reaches long mode.
_REAL_MODE_ONLY = (bytes.fromhex("baf803b052eef4ebfd").ljust(510, b"\0") + b"\x55\xaa").ljust(1 << 20, b"\0")


@pytest.fixture
def conn():
    connection = libvirt_connection()
    yield connection
    connection.close()


def _no_probe_domains(conn) -> bool:
    return not [d for d in conn.listAllDomains() if d.name().startswith("thecloud-kvm-probe-")]


def test_probe_guest_gets_through_every_stage_under_tcg(conn):
    directory = vm_dir()
    result = probe_kvm(conn, LIBVIRT_URI, directory / "probe", timeout=60, virt_type="qemu")
    assert result.works, result.reason
    assert list(result.stages) == [name for _, name in probe_guest.STAGES]
    assert _no_probe_domains(conn) and not list((directory / "probe").iterdir())


def test_a_guest_that_stops_early_is_named_by_its_last_stage(conn):
    directory = vm_dir()
    result = probe_kvm(conn, LIBVIRT_URI, directory / "probe", timeout=8, virt_type="qemu",
                       image=_REAL_MODE_ONLY)
    assert not result.works
    assert result.reason == "no progress in a real-mode → long-mode boot within 8s"
    assert list(result.stages) == ["real mode"]
    assert _no_probe_domains(conn)


def test_driver_on_this_host_uses_what_the_probe_saw(conn):
    kvm = probe_kvm(conn, LIBVIRT_URI, vm_dir() / "probe")
    driver = LibvirtDriver("probe-test-agent", vm_dir())
    try:
        shown = driver.fingerprint()[1]
        if kvm.works:
            assert shown == "virt_type=kvm"
        else:
            assert shown.startswith("virt_type=qemu (kvm: ") and kvm.reason.split(" in ")[0] in shown
    finally:
        driver.close()
    if kvm.works:
        forced = LibvirtDriver("probe-test-agent", vm_dir(), virt_type="kvm")
        assert forced.virt_type == "kvm"
        forced.close()
    else:
        # An operator's `virt_type = kvm` on such a host stops the agent with the reason.
        with pytest.raises(FailedPrecondition, match="KVM cannot run a guest here: "):
            LibvirtDriver("probe-test-agent", vm_dir(), virt_type="kvm")
    qemu = LibvirtDriver("probe-test-agent", vm_dir(), virt_type="qemu")
    assert qemu.fingerprint()[1] == "virt_type=qemu (configured)"
    qemu.close()
