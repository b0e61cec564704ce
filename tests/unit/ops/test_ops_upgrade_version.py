"""The version a daemon reports is the one it started with, whatever pip installs under it."""
from importlib import metadata

import pytest

from agent.version import agent_version
from common import version
from proto.v1 import resources_pb2


@pytest.fixture
def fresh_cache():
    version.installed_version.cache_clear()
    yield
    version.installed_version.cache_clear()


def test_the_version_is_read_once_at_start_up(fresh_cache, monkeypatch):
    monkeypatch.setattr(metadata, "version", lambda name: "0.1.0")
    assert version.installed_version() == "0.1.0"
    # `pip install --upgrade` rewrote the metadata; the process still runs 0.1.0.
    monkeypatch.setattr(metadata, "version", lambda name: "0.2.0")
    assert version.installed_version() == "0.1.0"
    assert agent_version() == "0.1.0"


def test_a_bare_checkout_says_so(fresh_cache, monkeypatch):
    def missing(name):
        raise metadata.PackageNotFoundError(name)
    monkeypatch.setattr(metadata, "version", missing)
    assert version.installed_version() == "0.0.0+unknown"


def test_cluster_members_carry_their_version_in_the_reserved_field():
    field = resources_pb2.ClusterMember.DESCRIPTOR.fields_by_name["version"]
    assert field.number == 140
    assert resources_pb2.ClusterMember(name="s1", version="0.1.0+upgrade1").version == "0.1.0+upgrade1"
