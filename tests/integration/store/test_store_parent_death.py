"""The Raft process must not outlive the scheduler process that owns it."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from scheduler.store.testing import free_ports

pytestmark = [pytest.mark.integration, pytest.mark.timeout(60)]


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(")")[-1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def test_raft_process_exits_when_owner_is_killed(tmp_path):
    host = subprocess.Popen([sys.executable, str(Path(__file__).with_name("store_host.py")),
                             f"127.0.0.1:{free_ports(1)[0]}", str(tmp_path / "node")],
                            stdout=subprocess.PIPE, text=True)
    try:
        raft_pid = int(host.stdout.readline())
        assert _alive(raft_pid)
        os.kill(host.pid, signal.SIGKILL)
        host.wait()
        deadline = time.monotonic() + 5
        while _alive(raft_pid):
            assert time.monotonic() < deadline, "Raft process outlived its owner"
            time.sleep(0.02)
    finally:
        if host.poll() is None:
            host.kill()
            host.wait()
