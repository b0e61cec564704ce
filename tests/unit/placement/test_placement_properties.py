"""Property: no interleaving of concurrent placements overfills a host or breaks a hard
group rule, because apply checks every decision again against the state it commits on.

Several "schedulers" each decide a batch from the same (soon stale) view; their
commands then commit in an arbitrary interleaving, as Raft would order them.
"""
import random

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from placement_fixtures import GiB, apply, group, join, spec

from common.errors import CloudError
from scheduler.rules import groups as g
from scheduler.placement.planner import Planner, Settings
from scheduler.state import placement as rules
from scheduler.state.machine import ClusterState

OVERCOMMIT = {"vcpus": 2.0}
RESERVED = {"memory_bytes": GiB // 2}

hosts_st = st.lists(st.tuples(st.integers(1, 4), st.integers(1, 6), st.sampled_from("ab"),
                              st.sampled_from(["r1", "r2", "r3"])), min_size=1, max_size=8)
group_st = st.tuples(st.sampled_from(g.POLICIES), st.sampled_from(g.DOMAINS), st.integers(0, 2))
request_st = st.tuples(st.integers(1, 3), st.integers(1, 3), st.booleans(), st.sampled_from(["", "zone=a"]))


def check_invariants(state: ClusterState) -> None:
    for host in state.hosts.values():
        for key in ("vcpus", "memory_bytes"):
            limit = rules.host_limit(host, key, OVERCOMMIT, RESERVED)
            assert host["allocated"][key] <= limit, (host["name"], key)
        used = sum(i["spec"][k] for i in state.instances_on(host["id"]) for k in ("vcpus",))
        assert used == host["allocated"]["vcpus"]
    for group_id, grp in state.groups.items():
        counts: dict = {}
        for instance in state.instances.values():
            if instance["spec"].get("group") == grp["name"]:
                value = g.domain_value(state.hosts[instance["host_id"]], grp["domain"])
                counts[value] = counts.get(value, 0) + 1
        assert counts == state.placement.group_counts.get(group_id, {})
        cap = g.limit(grp)
        assert cap is None or all(n <= cap for n in counts.values()), (grp, counts)
        if grp["policy"] == "affinity":
            assert len(counts) <= 1, counts
        if grp["policy"] == "spread" and counts:
            # No domain is more than one member ahead of a domain that holds members.
            assert max(counts.values()) - min(counts.values()) <= 1, counts


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(hosts=hosts_st, rule=group_st, rounds=st.lists(st.lists(request_st, min_size=1, max_size=4),
                                                      min_size=1, max_size=6),
       schedulers=st.integers(2, 3), seed=st.integers(0, 10**6))
def test_concurrent_placements_never_overfill_or_break_hard_rules(hosts, rule, rounds, schedulers, seed):
    rng = random.Random(seed)
    state = ClusterState()
    for n, (vcpus, mem_gib, zone, rack) in enumerate(hosts):
        join(state, f"h{n}", vcpus=vcpus, memory=mem_gib * GiB, zone=zone, rack=rack)
    policy, domain, max_per_domain = rule
    group(state, "db", policy, domain=domain, max_per_domain=max_per_domain)
    planners = [Planner(Settings(overcommit=OVERCOMMIT, reserved=RESERVED, limit=3), rng=random.Random(seed + i))
                for i in range(schedulers)]
    counter = 0
    for batch in rounds:
        # Every scheduler decides from the same view...
        proposals = []
        for planner in planners:
            for vcpus, mem_gib, in_group, constraint in batch:
                counter += 1
                if policy == "spread":
                    # Spread compares the domains a request may use; with constraints that
                    # set differs per request, and the global skew below would not hold.
                    constraint = ""
                s = spec(vcpus=vcpus, memory=mem_gib * GiB // 2, group="db" if in_group else None,
                         constraints=[constraint] if constraint else [])
                if not in_group:
                    del s["group"]
                try:
                    decision = planner.place(state, planner.request(state, "default", s))
                except CloudError:
                    continue
                proposals.append({"id": f"i-{counter}", "name": f"n{counter}", "project": "default",
                                  "labels": {}, "spec": s, "host_id": decision.host_id,
                                  "overcommit": OVERCOMMIT, "reserved": RESERVED})
        # ...and Raft orders their commands somehow.
        rng.shuffle(proposals)
        for args in proposals:
            apply(state, "instance.create", args)
            check_invariants(state)
