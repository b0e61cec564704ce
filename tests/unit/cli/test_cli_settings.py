"""Where `cloud` finds endpoints and certificates: flag > environment > config file."""
from __future__ import annotations

import pytest

from cli.errors import EXIT_USAGE, UsageError
from cli.settings import (CliConfig, default_config_path, load_cli_config, resolve,
                          split_endpoints, write_cli_config)


@pytest.fixture
def clean_env(monkeypatch, tmp_path):
    for var in ("THECLOUD_ENDPOINTS", "THECLOUD_CA", "THECLOUD_CERT", "THECLOUD_KEY",
                "THECLOUD_PROJECT", "THECLOUD_CONFIG", "XDG_CONFIG_HOME"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    return monkeypatch


@pytest.fixture
def config_file(tmp_path, clean_env):
    """A CLI config naming two endpoints and relative certificate paths."""
    certs = tmp_path / "conf" / "certs"
    certs.mkdir(parents=True)
    for name in ("ca.crt", "admin.crt", "admin.key"):
        (certs / name).write_text("pem")
    path = write_cli_config(tmp_path / "conf" / "cli.toml", CliConfig(
        endpoints=["10.0.0.1:7101", "10.0.0.2:7101"], ca="certs/ca.crt",
        cert="certs/admin.crt", key="certs/admin.key", project="team-a"))
    clean_env.setenv("THECLOUD_CONFIG", str(path))
    return path


def test_config_file_is_used_when_nothing_else_is_given(config_file):
    settings = resolve()
    assert settings.endpoints == ("10.0.0.1:7101", "10.0.0.2:7101")
    assert settings.project == "team-a"
    assert settings.config_path == config_file


def test_relative_certificate_paths_are_relative_to_the_config_file(config_file):
    tls = resolve().tls
    assert tls.ca == config_file.parent / "certs" / "ca.crt"
    assert tls.key == config_file.parent / "certs" / "admin.key"


def test_environment_beats_the_config_file(config_file, clean_env):
    clean_env.setenv("THECLOUD_ENDPOINTS", "10.9.9.9:7101, 10.9.9.8:7101")
    clean_env.setenv("THECLOUD_PROJECT", "team-b")
    settings = resolve()
    assert settings.endpoints == ("10.9.9.9:7101", "10.9.9.8:7101")
    assert settings.project == "team-b"


def test_flag_beats_environment_and_file(config_file, clean_env):
    clean_env.setenv("THECLOUD_ENDPOINTS", "10.9.9.9:7101")
    settings = resolve(endpoints_flag="127.0.0.1:7102,127.0.0.1:7101", project_flag="p")
    assert settings.endpoints == ("127.0.0.1:7102", "127.0.0.1:7101")
    assert settings.project == "p"


def test_explicit_config_flag_beats_thecloud_config(config_file, tmp_path):
    other = write_cli_config(tmp_path / "other.toml", CliConfig(
        endpoints=["127.0.0.1:9"], ca=str(config_file.parent / "certs/ca.crt"),
        cert=str(config_file.parent / "certs/admin.crt"),
        key=str(config_file.parent / "certs/admin.key")))
    settings = resolve(config_flag=str(other))
    assert settings.endpoints == ("127.0.0.1:9",)
    assert settings.project == "default"


def test_missing_explicit_config_file_is_a_usage_error(clean_env, tmp_path):
    with pytest.raises(UsageError, match="does not exist"):
        resolve(config_flag=str(tmp_path / "nope.toml"))


def test_no_endpoints_anywhere_says_where_to_put_them(clean_env):
    with pytest.raises(UsageError) as err:
        resolve()
    assert err.value.exit_code == EXIT_USAGE
    assert "--endpoint" in err.value.message and "THECLOUD_ENDPOINTS" in err.value.message


def test_missing_certificate_file_is_named(config_file):
    (config_file.parent / "certs" / "admin.key").unlink()
    with pytest.raises(UsageError, match="admin.key does not exist"):
        resolve()


def test_unknown_key_in_config_is_a_usage_error(clean_env, tmp_path):
    path = tmp_path / "cli.toml"
    path.write_text('endpoints = ["127.0.0.1:1"]\nendpoint = "typo"\n')
    with pytest.raises(UsageError, match="unknown option"):
        resolve(config_flag=str(path))


def test_broken_toml_is_a_usage_error(clean_env, tmp_path):
    path = tmp_path / "cli.toml"
    path.write_text("endpoints = [\n")
    with pytest.raises(UsageError, match="cli.toml"):
        resolve(config_flag=str(path))


def test_split_endpoints_trims_and_deduplicates():
    assert split_endpoints(" a:1, b:2 ,,a:1") == ("a:1", "b:2")
    assert split_endpoints(["[::1]:7101"]) == ("[::1]:7101",)
    with pytest.raises(UsageError, match="not host:port"):
        split_endpoints("127.0.0.1")


def test_default_config_path_order(tmp_path):
    assert default_config_path({"THECLOUD_CONFIG": "/x/cli.toml", "XDG_CONFIG_HOME": "/y"}) \
        == tmp_path.__class__("/x/cli.toml")
    assert str(default_config_path({"XDG_CONFIG_HOME": "/y"})) == "/y/thecloud/cli.toml"
    assert str(default_config_path({})).endswith(".config/thecloud/cli.toml")


def test_written_config_round_trips_through_common_config_load(tmp_path, clean_env):
    written = CliConfig(endpoints=["127.0.0.1:7101", "127.0.0.1:7102"], ca="/a/ca.crt",
                        cert="/a/admin.crt", key="/a/admin.key", project="default")
    path = write_cli_config(tmp_path / "cli.toml", written, header="made by a test\nsecond line")
    assert path.read_text().startswith("# made by a test\n# second line\n")
    assert load_cli_config(path) == written
