"""The keyed spec hash (finding 7): a label reveals nothing about secret env values."""
from __future__ import annotations

import hashlib
import hmac
import stat

import pytest

from agent.compute.base import InstanceSpec
from agent.compute.docker import disk_limits_supported
from agent.compute.spec_key import KEY_FILE, load_spec_key
from common.errors import FailedPrecondition
from proto.v1 import agent_pb2


def _spec(secret: bool = True) -> InstanceSpec:
    proto = agent_pb2.HostInstanceSpec(image="img", vcpus=1, memory_bytes=64, command=["env"],
                                       env={"DB_PASSWORD": "hunter2"})
    if secret:
        proto.env_from_secrets = True
    return InstanceSpec.from_proto(proto)


def test_the_key_is_made_once_0600_and_read_again(tmp_path):
    key = load_spec_key(tmp_path / "data")
    path = tmp_path / "data" / KEY_FILE
    assert len(key) == 32 and stat.S_IMODE(path.stat().st_mode) == 0o600
    assert load_spec_key(tmp_path / "data") == key
    assert load_spec_key(tmp_path / "other") != key
    path.write_bytes(b"short")
    with pytest.raises(FailedPrecondition, match="expected 32 bytes"):
        load_spec_key(tmp_path / "data")


def test_the_hash_is_an_hmac_not_a_guessable_digest():
    spec, key = _spec(), b"k" * 32
    label = spec.spec_hash(key)
    # Someone who reads the label and guesses the password cannot confirm the guess.
    assert label != hashlib.sha256(spec._canonical()).hexdigest()[:16] == spec.legacy_spec_hash()
    assert label == hmac.new(key, spec._canonical(), hashlib.sha256).hexdigest()[:16]
    assert spec.spec_hash(b"j" * 32) != label
    with pytest.raises(ValueError):
        spec.spec_hash(b"")


def test_old_unkeyed_labels_are_adopted_only_without_secret_values():
    key = b"k" * 32
    plain, secret = _spec(secret=False), _spec(secret=True)
    assert plain.spec_hash(key) == secret.spec_hash(key)      # the names are not in the hash
    assert plain.hash_matches(plain.spec_hash(key), key) and secret.hash_matches(secret.spec_hash(key), key)
    assert plain.hash_matches(plain.legacy_spec_hash(), key)
    # A container of the old agent whose label could confirm a guessed secret is recreated.
    assert not secret.hash_matches(secret.legacy_spec_hash(), key)
    assert not plain.hash_matches("not-a-hash-é", key)


@pytest.mark.parametrize("info, supported", [
    ({"Driver": "overlay2", "DriverStatus": [["Backing Filesystem", "extfs"]]}, False),
    ({"Driver": "overlay2", "DriverStatus": [["Backing Filesystem", "xfs"], ["Supports d_type", "true"]]}, True),
    ({"Driver": "btrfs", "DriverStatus": []}, True),
    ({"Driver": "vfs"}, False),
])
def test_disk_limits_only_where_the_storage_driver_enforces_them(info, supported):
    assert disk_limits_supported(info) is supported
