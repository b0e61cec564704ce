from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from agent.config import AgentConfig, load_config
from agent.main import main
from common.config import ConfigError, render_sample


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "agent.toml"
    path.write_text(text)
    return path


def test_defaults(monkeypatch):
    for key in ("NAME", "LISTEN", "SCHEDULERS"):
        monkeypatch.delenv(f"THECLOUD_AGENT_{key}", raising=False)
    config = load_config(None)
    assert config.listen == "127.0.0.1:7300"
    assert config.advertise_address == "127.0.0.1:7300"
    assert config.schedulers == [] and config.labels == {}
    assert config.data_dir == Path("/var/lib/thecloud/agent")
    assert config.heartbeat_interval == 1.0 and config.compute_driver == "docker"
    assert config.memory_bytes == 0 and config.disk_bytes == 0
    assert config.container_pids_limit == 1024


def test_file_then_environment_then_flags(tmp_path, monkeypatch):
    path = write(tmp_path, """
name = "host-1"
listen = "127.0.0.1:7311"
advertise = "10.0.0.5:7311"
schedulers = ["127.0.0.1:7101", "127.0.0.1:7102"]
labels = { zone = "a", rack = "r1" }
capacity_vcpus = 4
capacity_memory = "8G"
capacity_disk = "100G"
heartbeat_interval = 2
""")
    monkeypatch.setenv("THECLOUD_AGENT_LISTEN", "127.0.0.1:7400")
    monkeypatch.setenv("THECLOUD_AGENT_SCHEDULERS", "127.0.0.1:7201,127.0.0.1:7202")
    config = load_config(path, {"name": "host-2", "data_dir": str(tmp_path / "d")})
    assert config.name == "host-2"
    assert config.listen == "127.0.0.1:7400"
    assert config.advertise_address == "10.0.0.5:7311"
    assert config.schedulers == ["127.0.0.1:7201", "127.0.0.1:7202"]
    assert config.labels == {"zone": "a", "rack": "r1"}
    assert config.data_dir == tmp_path / "d"
    assert config.capacity_vcpus == 4
    assert config.memory_bytes == 8 * 1024**3 and config.disk_bytes == 100 * 1024**3
    assert config.heartbeat_interval == 2.0


@pytest.mark.parametrize("text, field", [
    ('name = "bad name"', "name"),
    ('name = "Host.example.com"', "name"),
    ('listen = "7300"', "listen"),
    ('listen = "127.0.0.1:99999"', "listen"),
    ('schedulers = ["127.0.0.1:7101", "nowhere"]', "schedulers"),
    ('compute_driver = "kvm"', "compute_driver"),
    ('capacity_memory = "lots"', "capacity_memory"),
    ('capacity_vcpus = -1', "capacity_vcpus"),
    ('heartbeat_interval = 0', "heartbeat_interval"),
    ('log_level = "loud"', "log_level"),
    ('container_pids_limit = 3', "container_pids_limit"),
    ('capacity_vcpus = "many"', "capacity_vcpus"),
    ('colour = "blue"', "colour"),
    ('image_file_dirs = ["images"]', "image_file_dirs"),
    ('image_fetch_allow = ["10.0.0.0/33"]', "image_fetch_allow"),
    ('image_fetch_allow = ["user@mirror"]', "image_fetch_allow"),
    ('image_max_bytes = "0"', "image_max_bytes"),
    ('image_fetch_timeout = 0', "image_fetch_timeout"),
])
def test_bad_options_are_named(tmp_path, text, field):
    with pytest.raises(ConfigError, match=field):
        load_config(write(tmp_path, text))


def test_sample_config_is_valid_toml_with_every_option(capsys):
    assert main(["sample-config"]) == 0
    sample = capsys.readouterr().out
    values = tomllib.loads(sample)
    assert set(values) == set(AgentConfig.__dataclass_fields__)
    assert sample == render_sample(AgentConfig)
    assert "# Address (host:port) the Agent API listens on." in sample


def test_cli_reports_bad_config_in_one_line(tmp_path, capsys):
    assert main(["--config", str(tmp_path / "missing.toml")]) == 2
    assert main(["--config", str(write(tmp_path, 'listen = "x"'))]) == 2
    assert main(["--name", "n1", "--tls-dir", str(tmp_path / "no-tls"),
                 "--data-dir", str(tmp_path / "data")]) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert lines[0] == f"thecloud-agent: config file {tmp_path / 'missing.toml'} does not exist"
    assert lines[1] == "thecloud-agent: listen: 'x' is not a host:port address"
    assert lines[2].startswith("thecloud-agent: missing TLS files for 'n1'")
