"""Raft traffic needs the cluster password: nothing else gets applied or unpickled."""

import os
import pickle
import socket
import struct
import time
import zlib

import pytest
from pysyncobj import SyncObj, SyncObjConf, replicated

from scheduler.store.testing import LocalCluster, free_ports

pytestmark = [pytest.mark.integration, pytest.mark.timeout(120)]


@pytest.fixture
def cluster(tmp_path):
    c = LocalCluster(tmp_path).start()
    yield c
    c.stop()


class _Marker:
    """Unpickling this creates a file: proof that a peer unpickled our bytes."""

    def __init__(self, path):
        self.path = path

    def __reduce__(self):
        return (os.mkdir, (self.path,))


class Rogue(SyncObj):
    def __init__(self, self_address, others, password):
        super().__init__(self_address, others, SyncObjConf(
            password=password, dynamicMembershipChange=True, connectionRetryTime=0.1,
            raftMinTimeout=0.15, raftMaxTimeout=0.35, appendEntriesPeriod=0.04,
            connectionTimeout=0.6))

    @replicated
    def noop(self):
        return 1


def _frame(obj) -> bytes:
    data = zlib.compress(pickle.dumps(obj, 2), 3)
    return struct.pack("i", len(data)) + data


def _members(store):
    return sorted(m.address for m in store.status().members)


def test_raw_pickles_are_not_unpickled(cluster, tmp_path):
    leader = cluster.leader()
    members = _members(leader)
    marker = tmp_path / "pwned"
    host, port = leader.self_address.rsplit(":", 1)
    for payload in (_Marker(str(marker)), ["add", "127.0.0.1:1"], leader.self_address):
        with socket.create_connection((host, int(port)), timeout=2) as s:
            s.sendall(_frame(payload))
            s.sendall(_frame(_Marker(str(marker))))
            s.settimeout(2)
            try:
                assert s.recv(4096) == b""  # the node hangs up on us
            except (ConnectionResetError, socket.timeout):
                pass
    assert not marker.exists()
    assert _members(cluster.leader()) == members
    assert leader.propose_one("incr", {"key": "n"}) == {"value": 1}


def test_peer_with_wrong_password_changes_nothing(cluster):
    leader = cluster.leader()
    members = _members(leader)
    highest = max(cluster.addresses)
    rogue_address = None
    for _ in range(20):  # pysyncobj dials from the higher address; make the rogue dial us
        candidate = f"127.0.0.1:{free_ports(1)[0]}"
        if candidate > highest:
            rogue_address = candidate
            break
    rogue_address = rogue_address or f"127.0.0.1:{free_ports(1)[0]}"
    rogue = Rogue(rogue_address, cluster.addresses, "wrong-password")
    try:
        results = []
        deadline = time.monotonic() + 2.0
        while time.monotonic() < deadline:
            rogue.noop(callback=lambda res, err: results.append(err))
            rogue.addNodeToCluster("127.0.0.1:1", callback=lambda res, err: results.append(err))
            time.sleep(0.1)
        assert 0 not in results  # FAIL_REASON.SUCCESS never happened
        assert not any(rogue.isNodeConnected(n) for n in rogue.otherNodes)
    finally:
        rogue.destroy()
    assert _members(cluster.leader()) == members
    assert cluster.leader().status().term == leader.status().term
    assert leader.propose_one("incr", {"key": "n"}) == {"value": 1}
    data = cluster.followers()[0]
    data.barrier()
    assert "127.0.0.1:1" not in {m.address for m in data.status().members}


def test_raft_binds_only_the_given_address(cluster):
    port = int(cluster.addresses[0].rsplit(":", 1)[1])
    other_ip = "127.0.0.2"  # same loopback interface, different address
    with pytest.raises(OSError):
        socket.create_connection((other_ip, port), timeout=1).close()
