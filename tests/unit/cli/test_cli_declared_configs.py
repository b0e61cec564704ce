"""One table of options per daemon: the all-in-one's config files and the Ansible
templates write only options the daemons declare (SchedulerConfig, AgentConfig), and
the all-in-one's files load with the daemons' own loader."""
import dataclasses
import re
from pathlib import Path

import pytest

from agent.config import AgentConfig
from cli.allinone import AllInOne
from cli.allinone_configs import declared
from common.config import ConfigError, load
from scheduler.config import SchedulerConfig

ROOT = Path(__file__).resolve().parents[3]
KEY = re.compile(r"^([a-z_]+)\s*=", re.MULTILINE)
TABLE = re.compile(r"^\[\[([a-z_]+)\]\]", re.MULTILINE)


def options(cls) -> set[str]:
    return {f.name for f in dataclasses.fields(cls)}


@pytest.mark.parametrize("template, cls", [
    ("ansible/roles/scheduler/templates/scheduler.toml.j2", SchedulerConfig),
    ("ansible/roles/agent/templates/agent.toml.j2", AgentConfig),
])
def test_the_ansible_templates_write_only_declared_options(template, cls):
    text = (ROOT / template).read_text()
    top = text.split("[[", 1)[0]                 # keys of [[members]] tables are theirs
    written = set(KEY.findall(top)) | set(TABLE.findall(text))
    assert written and written <= options(cls), written - options(cls)


def test_the_all_in_ones_files_load_with_the_daemons_loader(tmp_path):
    aio = AllInOne(tmp_path, 21000, scheduler_overrides={"certificate_lifetime": 300.0},
                   agent_overrides={"capacity_vcpus": 8})
    node = aio.schedulers[1]
    (tmp_path / "s.toml").write_text(aio.scheduler_config(node))
    (tmp_path / "a.toml").write_text(aio.agent_config())
    scheduler = load(SchedulerConfig, tmp_path / "s.toml", "NOPE_")
    agent = load(AgentConfig, tmp_path / "a.toml", "NOPE_")
    assert scheduler.name == node.name and scheduler.certificate_lifetime == 300.0
    assert [m["name"] for m in scheduler.members] == ["sched-1", "sched-2", "sched-3"]
    assert agent.capacity_vcpus == 8 and agent.scheduler_node_api == aio.node_endpoints


def test_an_option_the_daemon_does_not_declare_fails_before_anything_starts(tmp_path):
    with pytest.raises(ConfigError, match="capacity_vcpu"):
        AllInOne(tmp_path, 21000, agent_overrides={"capacity_vcpu": 8}).agent_config()
    with pytest.raises(ConfigError, match="host_down_after"):
        declared(SchedulerConfig, {"host_down_after": "soon"})
