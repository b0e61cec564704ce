"""The client moves on to the next scheduler when one does not answer, and retries writes safely."""
from __future__ import annotations

import time

import grpc
import pytest

from cli.client import ClusterClient, RetryPolicy
from cli.errors import EXIT_UNAVAILABLE, RpcFailure
from proto.v1 import public_pb2, resources_pb2
from tests.conftest import free_port

FAST = RetryPolicy(call_timeout=2.0, budget=0.5, first_backoff=0.05, max_backoff=0.1)


def create_request(name="web1", request_id="r-1"):
    return public_pb2.CreateInstanceRequest(
        name=name, project="default", request_id=request_id,
        spec=resources_pb2.InstanceSpec(image="img", vcpus=1, memory_bytes=128 << 20))


def test_dead_first_endpoint_is_skipped(fake_cluster):
    dead = f"127.0.0.1:{free_port()}"
    with ClusterClient([dead, *fake_cluster.endpoints], fake_cluster.admin, read_policy=FAST) as client:
        status = client.call("Cluster", "GetStatus", public_pb2.GetClusterStatusRequest())
        assert status.leader == "sched-1"
        # The endpoint that answered is asked first from now on.
        client.call("Cluster", "GetStatus", public_pb2.GetClusterStatusRequest())
    assert [name for name, _ in fake_cluster.state.calls] == ["sched-1", "sched-1"]


def test_nobody_answers_is_unavailable_naming_the_endpoints(fake_cluster):
    dead = [f"127.0.0.1:{free_port()}", f"127.0.0.1:{free_port()}"]
    started = time.monotonic()
    with ClusterClient(dead, fake_cluster.admin, read_policy=FAST) as client:
        with pytest.raises(RpcFailure) as err:
            client.call("Cluster", "GetStatus", public_pb2.GetClusterStatusRequest())
    assert time.monotonic() - started < 5
    assert err.value.code == grpc.StatusCode.UNAVAILABLE
    assert err.value.exit_code == EXIT_UNAVAILABLE
    assert dead[0] in err.value.message and dead[1] in err.value.message
    assert "connection refused" in err.value.message


def test_refusals_are_not_retried_elsewhere(fake_cluster):
    with ClusterClient(fake_cluster.endpoints, fake_cluster.admin, read_policy=FAST) as client:
        with pytest.raises(RpcFailure) as err:
            client.call("Instances", "GetInstance", public_pb2.GetInstanceRequest(name="nope"))
    assert err.value.code == grpc.StatusCode.NOT_FOUND
    assert err.value.line() == "error: NOT_FOUND: instance 'nope' not found"
    assert len(fake_cluster.state.calls) == 1


def test_write_applied_then_unavailable_is_retried_with_the_same_request_id(fake_cluster):
    fake_cluster.servicers[0].fail_next = ["after"]
    with ClusterClient(fake_cluster.endpoints, fake_cluster.admin, write_policy=FAST) as client:
        inst = client.call("Instances", "CreateInstance", create_request(), write=True)
    assert inst.meta.name == "web1"
    assert len(fake_cluster.state.instances) == 1
    assert fake_cluster.state.calls == [("sched-1", "CreateInstance"), ("sched-2", "CreateInstance")]


def test_writes_keep_trying_within_their_budget(fake_cluster):
    # Both schedulers answer UNAVAILABLE once (an election), then the write goes through.
    for servicer in fake_cluster.servicers:
        servicer.fail_next = ["before"]
    with ClusterClient(fake_cluster.endpoints, fake_cluster.admin, write_policy=FAST) as client:
        inst = client.call("Instances", "CreateInstance", create_request(), write=True)
    assert inst.meta.name == "web1"
    assert len(fake_cluster.state.calls) == 3


def test_reads_give_up_sooner_than_writes(fake_cluster):
    for servicer in fake_cluster.servicers:
        servicer.fail_next = ["before"] * 3
    no_retry = RetryPolicy(call_timeout=2.0, budget=0.0)
    with ClusterClient(fake_cluster.endpoints, fake_cluster.admin, write_policy=no_retry) as client:
        with pytest.raises(RpcFailure) as err:
            client.call("Instances", "CreateInstance", create_request(), write=True)
    assert err.value.code == grpc.StatusCode.UNAVAILABLE
    assert "leader changed (fake)" in err.value.message


def test_delete_that_went_through_before_the_failure_counts_as_done(fake_cluster):
    with ClusterClient(fake_cluster.endpoints, fake_cluster.admin, write_policy=FAST) as client:
        client.call("Instances", "CreateInstance", create_request(), write=True)
        fake_cluster.servicers[0].fail_next = ["after"]
        result = client.call("Instances", "DeleteInstance",
                             public_pb2.DeleteInstanceRequest(name="web1"), write=True,
                             ok_after_retry=(grpc.StatusCode.NOT_FOUND,))
        assert result is None
        assert fake_cluster.state.instances == {}
        # Without an earlier attempt of unknown outcome, NOT_FOUND is an error.
        with pytest.raises(RpcFailure, match="NOT_FOUND"):
            client.call("Instances", "DeleteInstance", public_pb2.DeleteInstanceRequest(name="web1"),
                        write=True, ok_after_retry=(grpc.StatusCode.NOT_FOUND,))


def test_list_all_follows_pages(fake_cluster):
    with ClusterClient(fake_cluster.endpoints, fake_cluster.admin) as client:
        for n in range(5):
            client.call("Instances", "CreateInstance", create_request(f"web{n}", f"r{n}"), write=True)
        result = client.list_all("Instances", "ListInstances",
                                 public_pb2.ListInstancesRequest(page_size=2), "instances")
    assert [i.meta.name for i in result.instances] == [f"web{n}" for n in range(5)]
    assert result.next_page_token == ""


def test_wrong_ca_is_reported_as_a_tls_problem(fake_cluster, tmp_path):
    from common.tls import TlsFiles, ensure_ca, issue
    ensure_ca(tmp_path / "ca", "other")
    other = issue(tmp_path / "ca", tmp_path / "tls", "admin", "admin", ["127.0.0.1"])
    with ClusterClient(fake_cluster.endpoints[:1], TlsFiles(other.ca, other.cert, other.key),
                       read_policy=FAST) as client:
        with pytest.raises(RpcFailure) as err:
            client.call("Cluster", "GetStatus", public_pb2.GetClusterStatusRequest())
    assert err.value.code == grpc.StatusCode.UNAVAILABLE
    assert "TLS handshake failed" in err.value.message
