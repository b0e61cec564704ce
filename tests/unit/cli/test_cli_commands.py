"""Every `cloud` command end to end against the fake schedulers (real gRPC and mTLS)."""
from __future__ import annotations

import io
import json

import pytest

from cli.main import run
from tests.conftest import free_port


class Out(io.StringIO):
    """stdout with a byte buffer underneath, like sys.stdout."""

    def __init__(self):
        super().__init__()
        self.buffer = io.BytesIO()


def cloud(fake, *args, endpoints=None):
    out = Out()
    code = run(fake.argv(*args, endpoints=endpoints), stream=out)
    return code, out.getvalue(), out.buffer.getvalue()


def cloud_json(fake, *args):
    code, text, _ = cloud(fake, "-o", "json", *args)
    assert code == 0
    return json.loads(text)


def test_cluster_status_table_and_json(fake_cluster):
    code, text, _ = cloud(fake_cluster, "cluster", "status")
    assert code == 0
    assert "leader sched-1, term 3" in text
    assert "LEADER" in text and "connection refused" in text
    data = cloud_json(fake_cluster, "cluster", "status")
    assert data["leader"] == "sched-1" and data["members"][1]["reachable"] is False


def test_host_list_and_show(fake_cluster):
    code, text, _ = cloud(fake_cluster, "host", "list")
    assert code == 0 and "agent-1" in text and "UP" in text and "1/8" in text and "128M/16G" in text
    code, text, _ = cloud(fake_cluster, "host", "show", "agent-1")
    assert code == 0
    for expected in ("8 vCPUs, 16G memory, 100G disk", "compute:docker", "zone=a", "s ago", "cpu 12.5%"):
        assert expected in text
    assert cloud_json(fake_cluster, "host", "show", "agent-1")["capacity"]["vcpus"] == 8


def test_create_sends_the_whole_spec_and_returns_at_once(fake_cluster):
    code, text, _ = cloud(fake_cluster, "instance", "create", "web1", "--image", "img",
                          "--cpus", "2", "--memory", "256M", "--disk", "1G",
                          "--command", "httpd -f -p 8080", "--env", "A=1", "--label", "t=w",
                          "--restart", "always", "--host-label", "zone=a", "--project", "p1")
    assert code == 0 and "instance web1 created" in text and "PENDING on agent-1" in text
    inst = next(iter(fake_cluster.state.instances.values()))
    assert inst.meta.project == "p1" and dict(inst.meta.labels) == {"t": "w"}
    spec = inst.spec
    assert (spec.kind, spec.image, spec.vcpus) == ("container", "img", 2)
    assert (spec.memory_bytes, spec.disk_bytes) == (256 << 20, 1 << 30)
    assert list(spec.command) == ["httpd", "-f", "-p", "8080"] and dict(spec.env) == {"A": "1"}
    assert spec.restart_policy == "always" and dict(spec.host_labels) == {"zone": "a"}
    assert [m for _, m in fake_cluster.state.calls] == ["CreateInstance"]


def test_create_wait_until_running(fake_cluster):
    code, text, _ = cloud(fake_cluster, "instance", "create", "web1", "--image", "img", "--wait")
    assert code == 0 and "instance web1 is RUNNING on agent-1 (container c0ffeec0ffee)" in text


def test_create_wait_fails_with_the_reason(fake_cluster, capsys):
    code, text, _ = cloud(fake_cluster, "instance", "create", "bad1", "--image", "fail", "--wait")
    assert code == 1 and text == ""
    assert capsys.readouterr().err == "error: instance 'bad1' is FAILED: image 'fail' not found\n"


def test_create_wait_times_out(fake_cluster, capsys):
    fake_cluster.state.reads_until_running = 10**9
    code, _, _ = cloud(fake_cluster, "instance", "create", "slow1", "--image", "img", "--wait",
                       "--timeout", "0.2")
    assert code == 1
    assert "timed out after 0.2s waiting for instance 'slow1' to be RUNNING (it is PENDING)" \
        in capsys.readouterr().err


def test_server_refusals_are_one_line_exit_1(fake_cluster, capsys):
    cloud(fake_cluster, "instance", "create", "web1", "--image", "img")
    code, _, _ = cloud(fake_cluster, "instance", "create", "web1", "--image", "img")
    assert code == 1
    assert capsys.readouterr().err == "error: ALREADY_EXISTS: instance 'web1' already exists\n"
    code, _, _ = cloud(fake_cluster, "instance", "create", "big1", "--image", "img", "--memory", "65G")
    assert code == 1 and capsys.readouterr().err.startswith("error: RESOURCE_EXHAUSTED: ")
    code, _, _ = cloud(fake_cluster, "instance", "show", "nope")
    assert code == 1
    assert capsys.readouterr().err == "error: NOT_FOUND: instance 'nope' not found\n"


def test_list_follows_pages_and_filters_by_host(fake_cluster):
    for n in range(5):
        cloud(fake_cluster, "instance", "create", f"web{n}", "--image", "img")
    code, text, _ = cloud(fake_cluster, "instance", "list")
    assert code == 0 and all(f"web{n}" in text for n in range(5))
    assert len(cloud_json(fake_cluster, "instance", "list")["instances"]) == 5
    code, text, _ = cloud(fake_cluster, "instance", "list", "--host", "elsewhere")
    assert code == 0 and "no instances in project 'default' on host elsewhere" in text


def test_show_prints_spec_state_and_times(fake_cluster):
    cloud(fake_cluster, "instance", "create", "web1", "--image", "img", "--memory", "64M",
          "--command", "httpd -f -p 8080", "--wait")
    code, text, _ = cloud(fake_cluster, "instance", "show", "web1")
    assert code == 0
    for expected in ("RUNNING", "agent-1 (h-0001)", "64M", "httpd -f -p 8080", "s ago",
                     "c0ffee" * 10, "never"):
        assert expected in text, expected


def test_stop_start_delete_with_wait(fake_cluster):
    cloud(fake_cluster, "instance", "create", "web1", "--image", "img", "--wait")
    code, text, _ = cloud(fake_cluster, "instance", "stop", "web1", "--wait")
    assert code == 0 and "instance web1 is STOPPED" in text
    code, text, _ = cloud(fake_cluster, "instance", "start", "web1", "--wait")
    assert code == 0 and "instance web1 is RUNNING" in text
    code, text, _ = cloud(fake_cluster, "instance", "delete", "web1", "--wait")
    assert code == 0 and "instance web1 deleted" in text
    assert fake_cluster.state.instances == {}


def test_stop_without_wait_returns_at_once(fake_cluster):
    cloud(fake_cluster, "instance", "create", "web1", "--image", "img", "--wait")
    code, text, _ = cloud(fake_cluster, "instance", "stop", "web1")
    assert code == 0 and "stop requested" in text
    assert fake_cluster.state.calls[-1][1] == "StopInstance"


def test_logs_are_raw_bytes_and_tail_is_passed(fake_cluster):
    cloud(fake_cluster, "instance", "create", "web1", "--image", "img")
    code, _, raw = cloud(fake_cluster, "instance", "logs", "web1")
    assert code == 0 and raw == b"".join(f"line {n}\n".encode() for n in range(1, 6))
    code, _, raw = cloud(fake_cluster, "instance", "logs", "web1", "--tail", "2")
    assert raw == b"line 4\nline 5\n"


def test_every_command_has_parseable_json(fake_cluster):
    cloud(fake_cluster, "instance", "create", "web1", "--image", "img", "--wait")
    for args in (["cluster", "status"], ["host", "list"], ["host", "show", "agent-1"],
                 ["instance", "list"], ["instance", "show", "web1"], ["instance", "logs", "web1"],
                 ["instance", "stop", "web1"], ["instance", "start", "web1"],
                 ["instance", "delete", "web1"]):
        assert isinstance(cloud_json(fake_cluster, *args), dict), args


def test_a_dead_endpoint_first_is_skipped(fake_cluster):
    endpoints = [f"127.0.0.1:{free_port()}", *fake_cluster.endpoints]
    code, text, _ = cloud(fake_cluster, "host", "list", endpoints=endpoints)
    assert code == 0 and "agent-1" in text


def test_no_scheduler_answers_exit_3(fake_cluster, capsys):
    dead = f"127.0.0.1:{free_port()}"
    code, _, _ = cloud(fake_cluster, "cluster", "status", endpoints=[dead])
    assert code == 3
    err = capsys.readouterr().err
    assert err == f"error: UNAVAILABLE: {dead}: connection refused\n"


@pytest.mark.parametrize("args", [["instance", "create", "x1", "--image", "i", "--memory", "lots"],
                                  ["instance", "frobnicate"]])
def test_usage_errors_do_not_contact_the_cluster(fake_cluster, args, capsys):
    code, _, _ = cloud(fake_cluster, *args)
    assert code == 2 and fake_cluster.state.calls == []
    assert len(capsys.readouterr().err.splitlines()) == 1
