"""Stream limits, refusal aggregation and the audit writer's full queue (fake clocks)."""
from __future__ import annotations

import pytest

from common.errors import CloudError, ResourceExhausted
from scheduler.auth.audit_writer import AuditWriter
from scheduler.auth.refusals import RefusalAggregator
from scheduler.auth.streams import StreamLimiter


def test_a_principal_gets_its_share_and_a_closed_stream_frees_its_slot():
    limiter = StreamLimiter(per_principal=16, total=256)
    releases = [limiter.acquire("reader") for _ in range(16)]
    with pytest.raises(ResourceExhausted, match="16 open streams"):
        limiter.acquire("reader")
    other = limiter.acquire("someone-else")      # others are not affected
    releases[0]()
    releases[0]()                                # twice is once
    assert limiter.open_streams("reader") == 15
    releases[0] = limiter.acquire("reader")
    for release in releases + [other]:
        release()
    assert limiter.open_streams() == 0


def test_the_total_is_capped():
    limiter = StreamLimiter(per_principal=16, total=20)
    for n in range(20):
        limiter.acquire(f"p{n}")
    with pytest.raises(ResourceExhausted, match="its limit"):
        limiter.acquire("late")


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


def refusal(principal="mallory", address="10.0.0.9", method="/thecloud.v1.Instances/CreateInstance"):
    return {"ts": 1, "principal": principal, "via": "token", "project": "p", "action": "instance.create",
            "method": method, "resource": "web", "outcome": "PERMISSION_DENIED", "address": address}


def test_repeats_are_counted_and_written_as_one_entry_when_the_window_closes():
    clock, written = Clock(), []
    refusals = RefusalAggregator(written.append, window_s=60, clock=clock, wall=lambda: 5.0)
    for _ in range(1000):
        refusals.record(refusal())
    refusals.record(refusal(address="10.0.0.10"))      # another source: its own first entry
    assert [e["address"] for e in written] == ["10.0.0.9", "10.0.0.10"]
    clock.now += 30
    refusals.tick()
    assert len(written) == 2                            # the window is still open
    clock.now += 31
    refusals.tick()
    assert len(written) == 3
    assert written[2]["resource"] == "999 more like this"
    assert written[2]["principal"] == "mallory" and written[2]["ts"] == 5000
    refusals.record(refusal())                          # a new window: recorded again
    assert len(written) == 4 and written[3]["resource"] == "web"


def test_a_repeat_after_the_window_closes_the_old_count_first():
    clock, written = Clock(), []
    refusals = RefusalAggregator(written.append, window_s=10, clock=clock)
    refusals.record(refusal())
    refusals.record(refusal())
    clock.now += 11
    refusals.record(refusal())
    assert [e["resource"] for e in written] == ["web", "1 more like this", "web"]


def test_kinds_are_bounded_without_losing_counts():
    written = []
    refusals = RefusalAggregator(written.append, window_s=60, max_kinds=3, clock=Clock())
    for n in range(3):
        refusals.record(refusal(address=f"10.0.0.{n}"))
        refusals.record(refusal(address=f"10.0.0.{n}"))
    refusals.record(refusal(address="10.0.0.99"))
    assert sum(e["resource"] == "1 more like this" for e in written) == 3
    refusals.close_all()


class RefusingProposer:
    def __init__(self):
        self.accept = False
        self.batches = []

    def propose(self, op, args):
        if not self.accept:
            raise CloudError("no leader")
        self.batches.append(args["entries"])


def test_a_full_queue_counts_its_drops_and_writes_an_entry_saying_so():
    proposer = RefusingProposer()
    writer = AuditWriter(proposer, max_pending=10, interval=0.01)
    for n in range(15):
        writer.record(refusal(address=f"10.0.0.{n}"))
    assert writer.dropped_total == 5
    proposer.accept = True
    writer._drain()
    entries = [e for batch in proposer.batches for e in batch]
    assert entries[0]["action"] == "audit.dropped" and entries[0]["resource"] == "dropped 5 entries"
    assert [e["address"] for e in entries[1:]] == [f"10.0.0.{n}" for n in range(10)]   # the first kept
