"""The agent logs refused peers at once, then once a period with a count (agent/authz.py)."""
from __future__ import annotations

import logging

from agent.authz import OPEN_SERVICES, RefusalLog, _address, _service


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


def test_a_peer_is_logged_once_a_period_with_the_refusals_counted(caplog):
    clock = Clock()
    refusals = RefusalLog(period=60, clock=clock)
    peer = ("intruder", "agent", "10.0.0.9")
    with caplog.at_level(logging.WARNING, logger="agent.authz"):
        for _ in range(50):
            refusals.refused(peer, "/thecloud.v1.Agent/EnsureInstance", "no")
        refusals.refused(("other", "admin", "10.0.0.8"), "/thecloud.v1.Agent/InstanceLogs", "no")
        clock.now += 61
        refusals.refused(peer, "/thecloud.v1.AgentVolumes/RemoveVolume", "no")
    lines = [r.getMessage() for r in caplog.records]
    assert len(lines) == 3
    assert "/thecloud.v1.Agent/EnsureInstance from 'intruder' (role 'agent') at 10.0.0.9" in lines[0]
    assert "(1 refused call from this peer)" in lines[0]
    assert "'other' (role 'admin')" in lines[1]
    assert "RemoveVolume" in lines[2] and "50 refused calls from this peer in the last 60s" in lines[2]


def test_names_from_grpc():
    assert _address("ipv4:127.0.0.1:5123") == "127.0.0.1"
    assert _address("ipv6:[::1]:5123") == "::1"
    assert _service("/thecloud.v1.Agent/GetInfo") == "thecloud.v1.Agent"
    assert "grpc.health.v1.Health" in OPEN_SERVICES and "thecloud.v1.Agent" not in OPEN_SERVICES
