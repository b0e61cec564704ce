"""Fixtures every VM test module shares."""
from __future__ import annotations

import pytest

from tests.vm.vms.vm_harness import build_guest, libvirt_connection


@pytest.fixture(scope="session")
def guest():
    """The cached test guest (vmlinuz, initrd.img, disk.qcow2); libvirt must answer."""
    libvirt_connection().close()
    return build_guest()
