"""Placement filters and weighers, each alone, and the explanation of a refusal."""
import pytest

from common.errors import ResourceExhausted
from scheduler.placement import PlacementRequest, place
from scheduler.placement.filters import CpuFilter, DriverFilter, HostUpFilter, LabelFilter, MemoryFilter
from scheduler.placement.weighers import FreeMemoryWeigher

GiB = 1024**3


def host(name, vcpus=4, memory=8 * GiB, used_cpu=0, used_mem=0, state="up", labels=None,
         drivers=("compute:docker",)):
    return {"id": f"h-{name}", "name": name, "state": state, "labels": labels or {},
            "drivers": list(drivers),
            "capacity": {"vcpus": vcpus, "memory_bytes": memory, "disk_bytes": 0},
            "allocated": {"vcpus": used_cpu, "memory_bytes": used_mem, "disk_bytes": 0}}


def request(vcpus=1, memory=GiB, **kw):
    return PlacementRequest(demand={"vcpus": vcpus, "memory_bytes": memory, "disk_bytes": 0}, **kw)


def test_host_up_filter():
    assert HostUpFilter().host_passes(host("a"), request())
    assert not HostUpFilter().host_passes(host("a", state="down"), request())


def test_driver_filter():
    assert not DriverFilter().host_passes(host("a", drivers=["compute:libvirt"]), request())


def test_label_filter():
    assert LabelFilter().host_passes(host("a", labels={"zone": "a"}), request(host_labels={"zone": "a"}))
    assert not LabelFilter().host_passes(host("a", labels={"zone": "b"}), request(host_labels={"zone": "a"}))


def test_capacity_filters_honour_overcommit():
    full = host("a", vcpus=2, used_cpu=2)
    assert not CpuFilter().host_passes(full, request())
    assert CpuFilter().host_passes(full, request(overcommit={"vcpus": 2.0}))
    assert not MemoryFilter().host_passes(host("a", memory=GiB, used_mem=GiB // 2), request())


def test_spread_prefers_free_memory_binpack_the_fullest():
    hosts = [host("a", used_mem=6 * GiB), host("b", used_mem=1 * GiB), host("c", used_mem=3 * GiB)]
    assert place(hosts, request(strategy="spread")).host_id == "h-b"
    assert place(hosts, request(strategy="binpack")).host_id == "h-a"
    assert FreeMemoryWeigher().weigh(hosts[1], request()) > FreeMemoryWeigher().weigh(hosts[0], request())


def test_ties_break_on_id_for_a_stable_choice():
    hosts = [host("b"), host("a"), host("c")]
    assert place(hosts, request()).host_id == "h-a"


def test_refusal_says_what_each_filter_removed():
    hosts = [host("a", state="down"), host("b", memory=GiB, used_mem=GiB), host("c", memory=GiB, used_mem=GiB)]
    with pytest.raises(ResourceExhausted) as err:
        place(hosts, request())
    assert str(err.value) == "0 of 3 hosts fit: 1 down, 2 short of memory"
