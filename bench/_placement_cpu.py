"""CPU time per placement, by process: what each part of the cluster spends while a
workload runs (user + system seconds from /proc, via psutil).

Unlike sampling, this adds nothing to the processes measured and sums every
thread, so it compares before/after changes even on a noisy shared machine: the
rate depends on what else runs, the CPU each placement costs much less so.
"""
from __future__ import annotations

import contextlib
import os
import time

import psutil


def _cpu_seconds(pid: int) -> float:
    try:
        t = psutil.Process(pid).cpu_times()
        return t.user + t.system
    except psutil.Error:
        return 0.0


def roles(aio, leader: str, sim_pid: int) -> dict[str, list[int]]:
    """Role -> pids: the leader scheduler and its Raft process, the followers (both
    processes each), the real agent, the host simulator and this benchmark client."""
    found: dict[str, list[int]] = {"leader_scheduler": [], "leader_raft_process": [],
                                   "follower_schedulers": [], "follower_raft_processes": [],
                                   "agent": [], "host_simulator": [sim_pid], "bench_client": [os.getpid()]}
    for name in aio.nodes:
        pid = aio.pid(name)
        if pid is None:
            continue
        if name == aio.agent_name:
            found["agent"].append(pid)
            continue
        raft = [c.pid for c in psutil.Process(pid).children()]
        if name == leader:
            found["leader_scheduler"].append(pid)
            found["leader_raft_process"] += raft
        else:
            found["follower_schedulers"].append(pid)
            found["follower_raft_processes"] += raft
    return found


@contextlib.contextmanager
def cpu_per_placement(pids: dict[str, list[int]], result: dict, idle: dict | None = None):
    """Fill `result["cpu_ms_per_placement"]` (role -> ms) once the block has set
    `result["instances"]`; also the machine's whole CPU time per placement."""
    before = {role: sum(_cpu_seconds(p) for p in ps) for role, ps in pids.items()}
    machine_before = psutil.cpu_times()
    yield
    machine_after = psutil.cpu_times()
    placed = max(1, result.get("instances", 0))
    spent = {role: sum(_cpu_seconds(p) for p in ps) - before[role] for role, ps in pids.items()}
    busy = lambda t: t.user + t.system + getattr(t, "softirq", 0) + getattr(t, "irq", 0)  # noqa: E731
    result["cpu_ms_per_placement"] = {role: round(1000 * s / placed, 3) for role, s in spent.items()}
    result["cpu_ms_per_placement"]["cluster_total"] = round(
        1000 * sum(s for r, s in spent.items() if r != "bench_client") / placed, 3)
    if idle:
        # Less the fleet's background (heartbeats, paced reconcilers) over the same time:
        # what the placements themselves cost.
        seconds = result.get("seconds", 0.0)
        result["cpu_ms_per_placement_net_of_idle"] = {
            role: round(1000 * (s - idle.get(role, 0.0) / 100 * seconds) / placed, 3)
            for role, s in spent.items() if role != "bench_client"}
        result["cpu_ms_per_placement_net_of_idle"]["cluster_total"] = round(
            sum(result["cpu_ms_per_placement_net_of_idle"].values()), 3)
    result["cpu_ms_per_placement"]["whole_machine"] = round(
        1000 * (busy(machine_after) - busy(machine_before)) / placed, 3)


def idle_load(pids: dict[str, list[int]], seconds: float) -> dict:
    """CPU share (% of one core) each role uses with no workload: heartbeats, the
    paced reconciler, liveness flushes — the floor every placement rate sits on."""
    before = {role: sum(_cpu_seconds(p) for p in ps) for role, ps in pids.items()}
    time.sleep(seconds)
    return {role: round(100 * (sum(_cpu_seconds(p) for p in ps) - before[role]) / seconds, 1)
            for role, ps in pids.items()}
