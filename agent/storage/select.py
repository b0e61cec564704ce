"""The storage driver the agent's config asks for, composed with its journal."""
from __future__ import annotations

from pathlib import Path

from agent.storage.base import StorageDriver
from agent.storage.host import HostVolumes
from agent.storage.journal import VolumeJournal
from common.units import parse_size


def storage_driver(config) -> StorageDriver | None:
    if config.storage_driver == "lvm":
        from agent.storage.lvm import LvmDriver
        driver = LvmDriver(config.storage_lvm_vg, config.storage_lvm_pool)
        driver.ensure_pool()
        return driver
    if config.storage_driver == "file":
        from agent.storage.file import FileDriver
        root = Path(config.storage_dir) if config.storage_dir else Path(config.data_dir) / "volumes"
        capacity = parse_size(config.storage_capacity) if config.storage_capacity else 0
        return FileDriver(root, capacity)
    return None


def host_volumes(config) -> HostVolumes | None:
    """This host's volumes, adopted from the journal and the pool; None without a driver."""
    driver = storage_driver(config)
    if driver is None:
        return None
    volumes = HostVolumes(driver, VolumeJournal(config.data_dir), Path(config.data_dir) / "volume-mounts")
    volumes.adopt()
    return volumes
