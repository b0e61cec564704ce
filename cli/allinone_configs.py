"""The all-in-one's config files, rendered from the daemons' own declared options.

Every key written is an option the daemon declares (`SchedulerConfig`,
`AgentConfig`, `CliConfig`: the tables `thecloud-scheduler sample-config` prints
and the Ansible templates fill, ansible/roles/*/templates/), checked and coerced
by the same code the daemon loads its file with (common/config.py): a key the
daemon does not know, or a value of the wrong type, fails here, before anything
starts, not in a daemon's log.
"""
from __future__ import annotations

import dataclasses
import typing

from agent.config import AgentConfig
from cli import tomlwriter
from cli.allinone_processes import CLI_CONFIG_MARK
from common.config import ConfigError, coerce
from scheduler.config import SchedulerConfig


def declared(cls, doc: dict) -> dict:
    """`doc` if every key is an option of `cls` and every value coerces to its type."""
    hints = typing.get_type_hints(cls)
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(doc) - names)
    if unknown:
        raise ConfigError(f"{cls.__name__} has no option(s) {', '.join(unknown)}")
    for name, value in doc.items():
        coerce(name, hints[name], value)
    return doc


def scheduler_config(aio, node) -> str:
    """The TOML `thecloud-scheduler --config` reads for `node`."""
    doc = declared(SchedulerConfig, {
        "name": node.name,
        "cluster_name": aio.cluster_name,
        "listen": node.api,
        "node_listen": aio.node_address(node.name),
        "raft_address": node.raft,
        "data_dir": aio.data_path(node.name),
        "tls_dir": aio.tls_dir,
        "secret_file": aio.secret_file,
        "metrics_listen": aio.metrics_address(node.name),
        "enroll_listen": aio.enroll_address(node.name),
        "ca_key_file": aio.ca_dir / "ca.key",
        **aio.scheduler_overrides,
        "members": [{"name": m.name, "api": m.api, "raft": m.raft} for m in aio.schedulers],
    })
    return f"# Written by {CLI_CONFIG_MARK} for {node.name}; rewritten on every `up`.\n" + \
        tomlwriter.dumps(doc, {"listen": "public API (mTLS)",
                               "node_listen": "node API: agents' joins and heartbeats, workers of its own",
                               "members": "every scheduler, self included"})


def agent_config(aio) -> str:
    """The TOML `thecloud-agent --config` reads."""
    doc = declared(AgentConfig, {
        "name": aio.agent.name,
        "listen": aio.agent.api,
        "schedulers": aio.endpoints,
        "scheduler_node_api": aio.node_endpoints,
        "data_dir": aio.data_path(aio.agent.name),
        "tls_dir": aio.tls_dir,
        "compute_driver": aio.compute_driver,
        "metrics_listen": aio.metrics_address(aio.agent.name),
        "image_file_dirs": [str(d) for d in aio.image_file_dirs()],
        **aio.agent_overrides,
    })
    return f"# Written by {CLI_CONFIG_MARK} for {aio.agent.name}; rewritten on every `up`.\n" + \
        tomlwriter.dumps(doc)
