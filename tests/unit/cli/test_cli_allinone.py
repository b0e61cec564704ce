"""The all-in-one launcher's files and process handling, with stand-in daemons."""
from __future__ import annotations

import signal
import stat
import sys
import tomllib

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization

from cli import allinone
from cli.allinone import AllInOne, AllInOneError
from cli.settings import load_cli_config, resolve

# Sleeps like a daemon; its command line names the config file, as the real ones do.
SLEEPER = [sys.executable, "-c", "import time, sys; time.sleep(300)"]


@pytest.fixture
def aio(tmp_path, monkeypatch):
    monkeypatch.delenv("THECLOUD_BASE_PORT", raising=False)
    cluster = AllInOne(tmp_path / "home", 17100)
    yield cluster
    cluster.down(timeout=2)


def fake_daemons(monkeypatch, argv=SLEEPER):
    monkeypatch.setattr(AllInOne, "command",
                        lambda self, name: [*argv, "--config", str(self.config_path(name))])


def toml(path):
    with open(path, "rb") as f:
        return tomllib.load(f)


def test_ports_and_names_follow_the_base_port(tmp_path):
    cluster = AllInOne(tmp_path, 20000)
    assert cluster.endpoints == ["127.0.0.1:20001", "127.0.0.1:20002", "127.0.0.1:20003"]
    assert [n.raft for n in cluster.schedulers] == ["127.0.0.1:20101", "127.0.0.1:20102",
                                                    "127.0.0.1:20103"]
    assert cluster.agent.api == "127.0.0.1:20200"
    assert cluster.agent_name == "agent-1-20000"
    assert AllInOne(tmp_path, 7100).agent_name == "agent-1"
    assert AllInOne(tmp_path, 20000, agent_name="a9").agent_name == "a9"


def test_base_port_and_home_from_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("THECLOUD_BASE_PORT", "30000")
    monkeypatch.setenv("THECLOUD_HOME", str(tmp_path / "h"))
    cluster = AllInOne()
    assert cluster.home == tmp_path / "h" and cluster.endpoints[0] == "127.0.0.1:30001"
    monkeypatch.setenv("THECLOUD_BASE_PORT", "x")
    with pytest.raises(AllInOneError, match="THECLOUD_BASE_PORT"):
        AllInOne()


def test_scheduler_config_round_trips(aio):
    aio.prepare()
    doc = toml(aio.config_path("sched-2"))
    assert doc["name"] == "sched-2" and doc["cluster_name"] == "allinone"
    assert doc["listen"] == "127.0.0.1:17102" and doc["raft_address"] == "127.0.0.1:17202"
    assert doc["data_dir"] == str(aio.home / "data" / "sched-2")
    assert doc["tls_dir"] == str(aio.home / "tls")
    assert doc["secret_file"] == str(aio.home / "secrets" / "cluster.key")
    assert doc["members"] == [{"name": f"sched-{i}", "api": f"127.0.0.1:1710{i}",
                               "raft": f"127.0.0.1:1720{i}"} for i in (1, 2, 3)]


def test_scheduler_and_agent_accept_the_configs(aio):
    """The daemons' own loaders (common.config.load underneath) take the files as written."""
    scheduler_config = pytest.importorskip("scheduler.config")
    agent_config = pytest.importorskip("agent.config")
    from common.config import load

    aio.prepare()
    for node in aio.schedulers:
        config = scheduler_config.load_config(aio.config_path(node.name))
        assert config.me().api == node.api and len(config.member_list()) == 3
    agent = load(agent_config.AgentConfig, aio.config_path(aio.agent_name), "THECLOUD_AGENT_TEST_").validate()
    assert agent.name == "agent-1-17100" and agent.schedulers == aio.endpoints
    assert agent.compute_driver == "docker" and agent.listen == "127.0.0.1:17300"
    # Joins and heartbeats go to the node API, a server of its own on every scheduler.
    assert agent.node_api_addresses == ["127.0.0.1:17204", "127.0.0.1:17205", "127.0.0.1:17206"]
    for node, address in zip(aio.schedulers, agent.node_api_addresses):
        assert scheduler_config.load_config(aio.config_path(node.name)).node_listen == address


def test_node_api_ports_are_in_the_checked_layout(tmp_path):
    from cli import allinone_ports
    cluster = AllInOne(tmp_path, 20000)
    used = [int(a.rpartition(":")[2]) - 20000 for a in cluster.node_endpoints + cluster.endpoints]
    assert set(used) <= set(allinone_ports.OFFSETS)


def test_agent_config_and_overrides(tmp_path):
    cluster = AllInOne(tmp_path, 17100, agent_overrides={"capacity_vcpus": 64, "labels": {"zone": "a"}},
                       scheduler_overrides={"host_down_after": 3.0})
    cluster.prepare()
    agent = toml(cluster.config_path(cluster.agent_name))
    assert agent["schedulers"] == cluster.endpoints and agent["tls_dir"] == str(tmp_path / "tls")
    assert agent["capacity_vcpus"] == 64 and agent["labels"] == {"zone": "a"}
    assert toml(cluster.config_path("sched-1"))["host_down_after"] == 3.0


def test_cli_config_points_at_the_admin_certificate(aio, monkeypatch):
    aio.prepare()
    config = load_cli_config(aio.cli_config_path)
    assert config.endpoints == aio.endpoints and config.project == "default"
    assert config.cert == str(aio.home / "tls" / "admin.crt")
    monkeypatch.setenv("THECLOUD_CONFIG", str(aio.cli_config_path))
    for var in ("THECLOUD_ENDPOINTS", "THECLOUD_CA", "THECLOUD_CERT", "THECLOUD_KEY"):
        monkeypatch.delenv(var, raising=False)
    assert resolve().endpoints == tuple(aio.endpoints)


def test_prepare_is_idempotent(aio):
    aio.prepare()
    tls = aio.home / "tls"
    before = {p.name: p.read_bytes() for p in [*tls.iterdir(), aio.home / "ca" / "ca.crt",
                                               aio.secret_file]}
    aio.prepare()
    after = {p.name: p.read_bytes() for p in [*tls.iterdir(), aio.home / "ca" / "ca.crt",
                                              aio.secret_file]}
    assert before == after
    assert {f"{n}.crt" for n in ("sched-1", "sched-2", "sched-3", aio.agent_name, "admin")} <= set(before)


def test_secrets_and_keys_are_private(aio):
    aio.prepare()
    assert stat.S_IMODE(aio.secret_file.stat().st_mode) == 0o600
    assert len(bytes.fromhex(aio.secret_file.read_text().strip())) == 32
    assert stat.S_IMODE((aio.home / "ca" / "ca.key").stat().st_mode) == 0o600
    assert stat.S_IMODE((aio.home / "tls" / "admin.key").stat().st_mode) == 0o600


def test_certificates_name_their_role_and_loopback(aio):
    aio.prepare()
    cert = x509.load_pem_x509_certificate((aio.home / "tls" / "sched-1.crt").read_bytes())
    ou = cert.subject.get_attributes_for_oid(x509.oid.NameOID.ORGANIZATIONAL_UNIT_NAME)[0].value
    assert ou == "scheduler"
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert "localhost" in san.get_values_for_type(x509.DNSName)
    assert [str(ip) for ip in san.get_values_for_type(x509.IPAddress)] == ["127.0.0.1"]


def test_every_certificate_carries_its_role_name(aio):
    aio.prepare()
    expected = {"sched-1": "scheduler.thecloud.internal", "admin": "admin.thecloud.internal",
                aio.agent_name: f"{aio.agent_name}.agent.thecloud.internal"}
    for name, role_dns in expected.items():
        cert = x509.load_pem_x509_certificate((aio.home / "tls" / f"{name}.crt").read_bytes())
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        assert role_dns in san.get_values_for_type(x509.DNSName), name


def test_a_certificate_without_its_role_name_is_issued_again(aio):
    aio.prepare()
    tls, ca = aio.home / "tls", aio.home / "ca"
    # What a home made before role names holds: same CA, CN and role, no role name.
    current = x509.load_pem_x509_certificate((tls / f"{aio.agent_name}.crt").read_bytes())
    ca_key = serialization.load_pem_private_key((ca / "ca.key").read_bytes(), password=None)
    old = (x509.CertificateBuilder().subject_name(current.subject).issuer_name(current.issuer)
           .public_key(current.public_key()).serial_number(x509.random_serial_number())
           .not_valid_before(current.not_valid_before_utc).not_valid_after(current.not_valid_after_utc)
           .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]), critical=False)
           .sign(ca_key, hashes.SHA256()))
    (tls / f"{aio.agent_name}.crt").write_bytes(old.public_bytes(serialization.Encoding.PEM))
    aio.prepare()
    cert = x509.load_pem_x509_certificate((tls / f"{aio.agent_name}.crt").read_bytes())
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert f"{aio.agent_name}.agent.thecloud.internal" in san.get_values_for_type(x509.DNSName)


def test_a_new_ca_reissues_every_certificate(aio):
    aio.prepare()
    old = (aio.home / "tls" / "admin.crt").read_bytes()
    for path in (aio.home / "ca").iterdir():
        path.unlink()
    aio.prepare()
    assert (aio.home / "tls" / "admin.crt").read_bytes() != old
    assert (aio.home / "tls" / "ca.crt").read_bytes() == (aio.home / "ca" / "ca.crt").read_bytes()


def test_install_cli_config_keeps_a_foreign_file(aio, tmp_path):
    aio.prepare()
    mine = tmp_path / "user" / "cli.toml"
    assert aio.install_cli_config(mine) == (mine, True)
    assert "cli.allinone" in mine.read_text()
    assert aio.install_cli_config(mine) == (mine, True)  # ours: rewritten
    mine.write_text('endpoints = ["10.0.0.1:7101"]\n')
    assert aio.install_cli_config(mine) == (mine, False)
    assert mine.read_text() == 'endpoints = ["10.0.0.1:7101"]\n'


def test_up_is_idempotent_and_down_stops_everything(aio, monkeypatch):
    fake_daemons(monkeypatch)
    aio.up(wait=False)
    pids = {name: aio.pid(name) for name in aio.nodes}
    assert all(pids.values()) and len(set(pids.values())) == 4
    aio.up(wait=False)
    assert {name: aio.pid(name) for name in aio.nodes} == pids
    assert sorted(aio.down(timeout=5)) == sorted(aio.nodes)
    assert all(aio.pid(name) is None for name in aio.nodes)
    assert not any((aio.home / "run").glob("*.pid"))


def test_stop_and_start_one_node(aio, monkeypatch):
    fake_daemons(monkeypatch)
    aio.up(wait=False)
    old = aio.pid("sched-2")
    aio.stop_node("sched-2", signal.SIGKILL)
    assert aio.pid("sched-2") is None and aio.pid("sched-1") is not None
    new = aio.start_node("sched-2")
    assert new != old and aio.pid("sched-2") == new
    aio.stop_node("sched-3", signal.SIGSTOP)  # frozen, still there
    assert aio.pid("sched-3") is not None
    aio.down(timeout=5)  # wakes and stops the frozen one too
    assert aio.pid("sched-3") is None
    with pytest.raises(AllInOneError, match="no node"):
        aio.pid("sched-9")


def test_stale_or_recycled_pid_files_do_not_count(aio):
    aio.prepare()
    aio.pid_path("sched-1").write_text("999999999\n")
    assert aio.pid("sched-1") is None
    aio.pid_path("sched-1").write_text(f"{__import__('os').getpid()}\n")  # alive, but not sched-1
    assert aio.pid("sched-1") is None
    aio.pid_path("sched-1").write_text("garbage")
    assert aio.pid("sched-1") is None


def test_down_purge_removes_data_and_logs_but_keeps_the_ca(aio, monkeypatch):
    fake_daemons(monkeypatch)
    aio.up(wait=False)
    aio.down(purge=True, timeout=5)
    assert not (aio.home / "data").exists() and not (aio.home / "log").exists()
    assert (aio.home / "ca" / "ca.crt").exists() and aio.secret_file.exists()


def test_a_daemon_that_exits_fails_the_wait_with_its_log(aio, monkeypatch):
    fake_daemons(monkeypatch, [sys.executable, "-c", "print('boom: bad config'); raise SystemExit(1)"])
    with pytest.raises(AllInOneError) as err:
        aio.up(wait=True, timeout=20)
    assert "exited" in str(err.value) and "boom: bad config" in str(err.value)


def test_an_unhealthy_cluster_times_out_naming_the_problem(aio, monkeypatch):
    fake_daemons(monkeypatch)  # running, but nothing answers on the API ports
    with pytest.raises(AllInOneError) as err:
        aio.up(wait=True, timeout=1)
    message = str(err.value)
    assert "not healthy after 1s" in message, message
    assert "the public API does not answer" in message, message
    assert str(aio.log_path("sched-1")) in str(err.value)


def test_command_prefers_the_venv_scripts(tmp_path):
    argv = AllInOne(tmp_path, 17100).command("sched-1")
    assert argv[-2:] == ["--config", str(tmp_path / "etc" / "sched-1.toml")]
    assert argv[0].endswith("thecloud-scheduler") or argv[1:3] == ["-m", "scheduler.main"]


def test_main_down_on_an_empty_home(tmp_path, capsys):
    assert allinone.main(["--home", str(tmp_path / "nothing"), "down"]) == 0
    assert "nothing was running" in capsys.readouterr().out
