"""The compute driver(s) an agent's config asks for: "docker", "libvirt" or "docker,libvirt"."""
from __future__ import annotations

from pathlib import Path

from agent.compute.base import ComputeDriver
from agent.compute.router import KindRouter
from agent.compute.spec_key import load_spec_key
from common.config import ConfigError

DRIVERS = ("docker", "libvirt")


def driver_names(value: str) -> list[str]:
    """The driver names in a `compute_driver` value; ConfigError for an unknown or repeated one."""
    names = [part.strip() for part in value.split(",") if part.strip()]
    if not names:
        raise ConfigError("compute_driver: name at least one of docker, libvirt")
    for name in names:
        if name not in DRIVERS:
            raise ConfigError(f"compute_driver: {name!r} is not one of {', '.join(DRIVERS)}")
    if len(set(names)) != len(names):
        raise ConfigError(f"compute_driver: {value!r} names a driver twice")
    return names


def compute_driver(config) -> ComputeDriver:
    """Build the configured drivers (raises CloudError when an engine does not answer)."""
    drivers: list[ComputeDriver] = []
    spec_key = load_spec_key(config.data_dir)
    try:
        for name in driver_names(config.compute_driver):
            if name == "docker":
                from agent.compute.docker import DockerDriver
                drivers.append(DockerDriver(config.name, base_url=config.docker_host,
                                            stop_timeout=config.stop_timeout, spec_key=spec_key,
                                            pids_limit=config.container_pids_limit))
            else:
                from agent.compute.libvirt import LibvirtDriver
                vm_dir = Path(config.vm_dir) if config.vm_dir else Path(config.data_dir) / "vms"
                drivers.append(LibvirtDriver(config.name, vm_dir, uri=config.libvirt_uri,
                                             virt_type=config.virt_type,
                                             stop_timeout=config.stop_timeout, spec_key=spec_key,
                                             fetch_policy=config.fetch_policy))
    except BaseException:
        for driver in drivers:
            driver.close()
        raise
    return drivers[0] if len(drivers) == 1 else KindRouter(drivers)
