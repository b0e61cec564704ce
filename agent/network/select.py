"""Choosing the network driver by config and by what the host can do."""
from __future__ import annotations

import logging

from agent.network.base import NetworkDriver

log = logging.getLogger(__name__)


def network_driver(config) -> NetworkDriver | None:
    """The configured driver, or None (no VPC ports on this host) with the reason logged."""
    if config.network_driver == "none":
        return None
    if not config.vtep:
        log.warning("no VPC networking: no IPv4 underlay address (set vtep_address)")
        return None
    try:
        from agent.network.linuxbridge import LinuxBridgeDriver
        return LinuxBridgeDriver(config.name, config.vtep)
    except (ImportError, OSError) as err:
        log.warning("no VPC networking: the linuxbridge driver cannot run here (%s)", err)
        return None
