"""Every filter and weigher alone, and the explanation of a refusal."""
import pytest

from common.errors import ResourceExhausted
from scheduler.rules import constraints as c
from scheduler.placement.engine import PlacementRequest, explain, place
from scheduler.placement.filters import (ConstraintFilter, CpuFilter, DiskFilter, DriverFilter, GroupFilter,
                                         HostUpFilter, ImageFilter, LabelFilter, MemoryFilter,
                                         SchedulableFilter, VtepFilter)
from scheduler.placement.weighers import FreeCpuWeigher, FreeMemoryWeigher, GroupWeigher

GiB = 1024**3


def host(name, vcpus=4, memory=8 * GiB, used_cpu=0, used_mem=0, state="up", labels=None, **extra):
    return {"id": f"h-{name}", "name": name, "state": state, "labels": labels or {},
            "drivers": ["compute:docker"], "images": ["img"],
            "capacity": {"vcpus": vcpus, "memory_bytes": memory, "disk_bytes": 10 * GiB},
            "allocated": {"vcpus": used_cpu, "memory_bytes": used_mem, "disk_bytes": 0}, **extra}


def request(vcpus=1, memory=GiB, disk=0, **kw):
    return PlacementRequest(demand={"vcpus": vcpus, "memory_bytes": memory, "disk_bytes": disk}, **kw)


def group(policy, domain="host", max_per_domain=0, soft=False):
    return {"id": "pg-db", "name": "db", "policy": policy, "domain": domain,
            "max_per_domain": max_per_domain, "soft": soft}


def test_host_up_filter():
    assert HostUpFilter().host_passes(host("a"), request())
    assert not HostUpFilter().host_passes(host("a", state="down"), request())


@pytest.mark.parametrize("mode, passes", [("active", True), ("cordoned", False), ("draining", False),
                                          ("maintenance", False)])
def test_schedulable_filter(mode, passes):
    assert SchedulableFilter().host_passes(host("a", schedulable=mode), request()) is passes
    assert SchedulableFilter().host_passes(host("a"), request())


def test_driver_image_vtep_and_label_filters():
    assert not DriverFilter().host_passes(host("a", drivers=["compute:libvirt"]), request())
    assert ImageFilter().host_passes(host("a"), request(image="img"))
    assert not ImageFilter().host_passes(host("a"), request(image="other"))
    assert not VtepFilter().host_passes(host("a"), request(needs_vtep=True))
    assert VtepFilter().host_passes(host("a", vtep="10.0.0.1"), request(needs_vtep=True))
    assert LabelFilter().host_passes(host("a", labels={"zone": "a"}), request(host_labels={"zone": "a"}))
    assert not LabelFilter().host_passes(host("a", labels={"zone": "b"}), request(host_labels={"zone": "a"}))


def test_constraint_filter():
    wanted = request(constraints=c.parse_all(["zone=a", "gpu!=none"]))
    assert ConstraintFilter().host_passes(host("a", labels={"zone": "a"}), wanted)
    assert not ConstraintFilter().host_passes(host("a", labels={"zone": "a", "gpu": "none"}), wanted)
    assert not ConstraintFilter().host_passes(host("a", labels={"zone": "b"}), wanted)


def test_capacity_filters_honour_overcommit_and_reserved_share():
    full = host("a", vcpus=2, used_cpu=2)
    assert not CpuFilter().host_passes(full, request())
    assert CpuFilter().host_passes(full, request(overcommit={"vcpus": 2.0}))
    assert MemoryFilter().host_passes(host("a", used_mem=7 * GiB), request())
    assert not MemoryFilter().host_passes(host("a", used_mem=7 * GiB), request(reserved={"memory_bytes": GiB}))
    assert not DiskFilter().host_passes(host("a"), request(disk=11 * GiB))


def test_group_filter_anti_affinity_counts_per_domain():
    rule = group("anti-affinity", max_per_domain=2)
    f = GroupFilter()
    assert f.host_passes(host("a"), request(group=rule, group_counts={"h-a": 1}))
    assert not f.host_passes(host("a"), request(group=rule, group_counts={"h-a": 2}))
    assert f.reason_for(request(group=rule)) == "violate anti-affinity 'db'"


def test_group_filter_affinity_keeps_members_together():
    rule = group("affinity", domain="zone")
    f = GroupFilter()
    assert f.host_passes(host("a", labels={"zone": "x"}), request(group=rule, group_counts={}))
    assert f.host_passes(host("a", labels={"zone": "x"}), request(group=rule, group_counts={"x": 3}))
    assert not f.host_passes(host("a", labels={"zone": "y"}), request(group=rule, group_counts={"x": 3}))
    assert not f.host_passes(host("a"), request(group=rule, group_counts={}))   # no zone label


def test_group_filter_spread_only_on_the_least_loaded_domains():
    rule = group("spread", domain="zone")
    f = GroupFilter()
    counts = {"x": 2, "y": 1}
    assert f.host_passes(host("a", labels={"zone": "y"}), request(group=rule, group_counts=counts, group_min=1))
    assert not f.host_passes(host("a", labels={"zone": "x"}), request(group=rule, group_counts=counts, group_min=1))


def test_soft_groups_never_filter():
    rule = group("anti-affinity", soft=True)
    assert GroupFilter().host_passes(host("a"), request(group=rule, group_counts={"h-a": 5}))


def test_memory_and_cpu_weighers_follow_the_strategy():
    emptier, fuller = host("a", used_mem=GiB, used_cpu=0), host("b", used_mem=6 * GiB, used_cpu=3)
    for weigher in (FreeMemoryWeigher(), FreeCpuWeigher()):
        assert weigher.weigh(emptier, request()) > weigher.weigh(fuller, request())
        binpack = request(strategy="binpack")
        assert weigher.weigh(emptier, binpack) < weigher.weigh(fuller, binpack)


def test_group_weigher_prefers_fewer_members_or_more_for_affinity():
    counts = {"h-a": 2}
    spread = request(group=group("anti-affinity", soft=True), group_counts=counts)
    assert GroupWeigher().weigh(host("b"), spread) > GroupWeigher().weigh(host("a"), spread)
    together = request(group=group("affinity", soft=True), group_counts=counts)
    assert GroupWeigher().weigh(host("a"), together) > GroupWeigher().weigh(host("b"), together)
    assert GroupWeigher().weigh(host("a"), request()) == 0.0


def test_soft_anti_affinity_steers_but_does_not_refuse():
    hosts = [host("a"), host("b")]
    rule = group("anti-affinity", soft=True)
    assert place(hosts, request(group=rule, group_counts={"h-a": 1})).host_id == "h-b"
    assert place(hosts, request(group=rule, group_counts={"h-a": 1, "h-b": 1})).host_id == "h-a"


def test_explanation_counts_what_each_filter_removed_in_filter_order():
    hosts = [host("a", state="down"), host("b", memory=GiB, used_mem=GiB), host("c", memory=GiB, used_mem=GiB),
             host("d", schedulable="cordoned"), host("e")]
    rule = group("anti-affinity")
    with pytest.raises(ResourceExhausted) as err:
        place(hosts, request(group=rule, group_counts={"h-e": 1}))
    assert str(err.value) == ("0 of 5 hosts fit: 1 down, 1 cordoned or draining, 2 short of memory, "
                              "1 violate anti-affinity 'db'")
    assert explain({}, 0) == "0 of 0 hosts fit"
