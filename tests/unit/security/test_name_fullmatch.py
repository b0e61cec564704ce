"""Every name and label check refuses a trailing newline ('$' matched before it)."""
from __future__ import annotations

import re

import pytest

from common import ids
from common.errors import InvalidArgument
from scheduler.api import secret_input, validate, vm_input
from scheduler.auth import permissions, tokens
from scheduler import membership
import agent.config
import agent.validation
import agent.volume_servicer
import agent.storage.base
import agent.compute.vmdisk
import cli.settings

VALID = {
    ids.NAME_RE: "web",
    ids.LABEL_KEY_RE: "tier",
    validate.IMAGE_RE: "busybox:1",
    validate.ENV_KEY_RE: "PATH",
    secret_input.ENV_KEY_RE: "PATH",
    vm_input._SHA256_RE: "0" * 64,
    vm_input._SSH_KEY_RE: "ssh-ed25519 AAAA",
    permissions.PERMISSION_RE: "instance.create",
    tokens._TOKEN_RE: "tc1.t-0123456789abcdef." + "a" * 43,
    membership._ADDRESS_RE: "127.0.0.1:7101",
    agent.config._ADDRESS_RE: "127.0.0.1:7101",
    agent.validation._INSTANCE_ID_RE: "i-0123",
    agent.volume_servicer._ID_RE: "v-0123",
    agent.storage.base._ID_RE: "v-0123",
    agent.compute.vmdisk.VOLUME_SERIAL_RE: "v-0123",
    cli.settings._ENDPOINT_RE: "localhost:7101",
}


@pytest.mark.parametrize("pattern", list(VALID), ids=lambda p: p.pattern[:30])
def test_a_trailing_newline_is_refused(pattern: re.Pattern):
    good = VALID[pattern]
    assert pattern.match(good)
    assert not pattern.match(good + "\n")


@pytest.mark.parametrize("check", [ids.check_name, validate.project])
def test_name_checks_refuse_web_newline(check):
    assert check("web") == "web"
    with pytest.raises(InvalidArgument):
        check("web\n")


def test_label_keys_refuse_a_newline():
    assert ids.check_labels({"tier": "x"})
    with pytest.raises(InvalidArgument):
        ids.check_labels({"tier\n": "x"})
