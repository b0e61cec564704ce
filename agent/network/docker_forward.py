"""Bridged VPC traffic past Docker's iptables FORWARD policy, on hosts that run Docker.

Docker sets the iptables FORWARD policy to DROP. With br_netfilter on (the security
groups need it), frames bridged between two ports of a VPC bridge traverse that
chain too, with the bridge as both in- and out-device: on a host that runs Docker
in the same network namespace, a VM and a container (or two containers) of one
VPC on one host could not reach each other. Docker leaves its DOCKER-USER chain to
the host's administrator for exactly this; the agent keeps one rule there that
accepts what enters and leaves the VPC bridges. Security groups are unaffected:
they live in the agent's own inet table, which every such packet still traverses.

The rule covers every agent's bridges (a name prefix), so it is never removed: an
agent that stopped using its bridges cannot know whether another agent still does,
and with no bridge left the rule matches nothing.
"""
from __future__ import annotations

import logging
import shutil
import subprocess

log = logging.getLogger(__name__)

CHAIN = "DOCKER-USER"
COMMENT = "thecloud: VPC bridges"


def _rule(bridge_prefix: str) -> list[str]:
    return [CHAIN, "-i", f"{bridge_prefix}+", "-o", f"{bridge_prefix}+",
            "-m", "comment", "--comment", COMMENT, "-j", "ACCEPT"]


def accept_vpc_bridges(bridge_prefix: str) -> bool:
    """Make sure DOCKER-USER accepts traffic bridged within the VPC bridges; False
    when there is nothing to do (no iptables, or no Docker chain in this namespace)."""
    iptables = shutil.which("iptables")
    if iptables is None:
        return False

    def run(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([iptables, "-w", "5", *args], capture_output=True, text=True, timeout=30)

    if run("-n", "-L", CHAIN).returncode != 0:
        return False
    rule = _rule(bridge_prefix)
    if run("-C", *rule).returncode == 0:
        return True
    inserted = run("-I", *rule)
    if inserted.returncode != 0:
        log.warning("cannot let VPC bridge traffic past Docker's FORWARD policy: %s",
                    inserted.stderr.strip())
        return False
    log.info("accepting traffic within %s+ bridges in %s (Docker's FORWARD policy drops it)",
             bridge_prefix, CHAIN)
    return True
