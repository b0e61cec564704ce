"""The heartbeat's join / beat / re-join cycle and the scheduler failover, without a network."""
from __future__ import annotations

import grpc
import pytest

from agent.compute.base import Observed, State
from agent.heartbeat import Heartbeat, SchedulerLink
from agent.journal import Journal
from common.tls import TlsFiles
from proto.v1 import node_pb2, resources_pb2


class RpcError(grpc.RpcError):
    def __init__(self, code, details=""):
        self._code, self._details = code, details

    def code(self):
        return self._code

    def details(self):
        return self._details


class Usage:
    def capacity(self):
        return resources_pb2.Resources(vcpus=2)

    def usage(self):
        return resources_pb2.Usage(cpu_percent=12.5)


class Link:
    addresses = ["s1"]

    def __init__(self):
        self.sent = []
        self.heartbeat_error = None

    def call(self, method, request, timeout=5.0):
        self.sent.append((method, request))
        if method == "Join":
            return node_pb2.JoinResponse(host_id=f"h-{len(self.sent)}", heartbeat_interval_ms=250)
        if self.heartbeat_error:
            error, self.heartbeat_error = self.heartbeat_error, None
            raise error
        return node_pb2.HeartbeatResponse()

    def close(self):
        pass


@pytest.fixture
def journal(tmp_path):
    journal = Journal(tmp_path)
    yield journal
    journal.close()


def heartbeat(link, journal):
    observed = [Observed("i-1", State.INSTANCE_STATE_RUNNING, runtime_id="c1")]
    return Heartbeat(link, journal, Usage(), lambda: observed, lambda: ["img:1"],
                     lambda: node_pb2.JoinRequest(host_name="host-1"), interval=1.0)


def test_join_then_beat_with_usage_and_instances(journal):
    link = Link()
    beat = heartbeat(link, journal)
    beat.step()
    assert journal.host_id() == "h-1"
    assert beat.interval == 0.25  # the scheduler's choice wins
    beat.step()
    method, request = link.sent[-1]
    assert method == "Heartbeat"
    assert request.host_id == "h-1" and request.usage.cpu_percent == 12.5
    assert request.capacity.vcpus == 2
    assert [(i.instance_id, i.runtime_id) for i in request.instances] == [("i-1", "c1")]
    assert list(request.images) == ["img:1"]
    assert beat.interval == 1.0  # no interval in the answer: back to the configured one


def test_not_found_makes_it_join_again(journal):
    link = Link()
    beat = heartbeat(link, journal)
    beat.step()
    link.heartbeat_error = RpcError(grpc.StatusCode.NOT_FOUND, "no such host")
    with pytest.raises(grpc.RpcError):
        beat.step()
    beat.step()
    assert link.sent[-1][0] == "Join"
    assert journal.host_id() == "h-3"


def test_other_failures_keep_the_host_id(journal):
    link = Link()
    beat = heartbeat(link, journal)
    beat.step()
    link.heartbeat_error = RpcError(grpc.StatusCode.UNAVAILABLE)
    with pytest.raises(grpc.RpcError):
        beat.step()
    beat.step()
    assert [m for m, _ in link.sent] == ["Join", "Heartbeat", "Heartbeat"]


class Stub:
    def __init__(self, answers):
        self.answers = answers

    def Join(self, request, timeout):
        answer = self.answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer


def test_link_tries_every_scheduler_and_sticks_to_the_one_that_answers(tmp_path):
    link = SchedulerLink(["s1", "s2", "s3"], TlsFiles.in_dir(tmp_path, "x"))
    link._stubs = {
        "s1": Stub([RpcError(grpc.StatusCode.UNAVAILABLE)] * 3),
        "s2": Stub([node_pb2.JoinResponse(host_id="h-a"), node_pb2.JoinResponse(host_id="h-b")]),
        "s3": Stub([]),
    }
    assert link.call("Join", node_pb2.JoinRequest()).host_id == "h-a"
    assert link.call("Join", node_pb2.JoinRequest()).host_id == "h-b"  # s1 not tried again


def test_link_raises_answers_at_once_and_the_last_outage(tmp_path):
    link = SchedulerLink(["s1", "s2"], TlsFiles.in_dir(tmp_path, "x"))
    link._stubs = {"s1": Stub([RpcError(grpc.StatusCode.INVALID_ARGUMENT, "host_name: bad")]),
                   "s2": Stub([])}
    with pytest.raises(grpc.RpcError) as err:
        link.call("Join", node_pb2.JoinRequest())
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    link._stubs = {"s1": Stub([RpcError(grpc.StatusCode.UNAVAILABLE, "one")]),
                   "s2": Stub([RpcError(grpc.StatusCode.DEADLINE_EXCEEDED, "two")])}
    with pytest.raises(grpc.RpcError) as err:
        link.call("Join", node_pb2.JoinRequest())
    assert err.value.details() == "two"
    with pytest.raises(ConnectionError):
        SchedulerLink([], TlsFiles.in_dir(tmp_path, "x")).call("Join", node_pb2.JoinRequest())
