"""A secret delivered into a VM as a file, on real libvirt + qemu (TCG): cloud-init's
write_files in the seed writes it with mode 0600; the guest's console shows its
content and mode; the seed ISO is 0600 and goes with the VM; the plaintext is
nowhere in the schedulers' or the agent's data or logs; bad input leaves nothing."""
from __future__ import annotations

import base64
import hashlib
import os
import re
import secrets as random_secrets
import stat

import grpc
import pytest

from cli.errors import RpcFailure
from proto.v1 import public_pb2, resources_pb2 as pb, secrets_pb2
from tests.vm.vms.vm_guest_harness import files_containing, guest_cluster
from tests.vm.vms.vm_harness import cli, wait_console

pytestmark = pytest.mark.integration

PATH = "/etc/app/db.pass"
USER_DATA = f"""#!/bin/sh
echo "SECRET-SEEN: $(cat {PATH}) mode=$(stat -c %a {PATH})"
"""


@pytest.fixture(scope="module")
def vmc(tmp_path_factory, docker_client, guest):
    with guest_cluster(tmp_path_factory.mktemp("vmsecret"), docker_client, guest) as (cluster, directory):
        yield cluster, directory


def vm_spec(**kw) -> pb.InstanceSpec:
    base = dict(kind="vm", image="guest", vcpus=1, memory_bytes=256 << 20, disk_bytes=1 << 30)
    return pb.InstanceSpec(**{**base, **kw})


def instance_names(cluster) -> set[str]:
    return {i.meta.name for i in cluster.instances()}


def test_vm_secret_file_bad_input_leaves_nothing(vmc):
    cluster, directory = vmc
    cluster.call("Secrets", "CreateSecret", secrets_pb2.CreateSecretRequest(name="present", value=b"v"))
    before = instance_names(cluster)
    cases = [
        (vm_spec(secret_files={PATH: "missing"}), grpc.StatusCode.NOT_FOUND, "missing"),
        (vm_spec(secret_files={"etc/relative": "present"}), grpc.StatusCode.INVALID_ARGUMENT,
         "spec.secret_files"),
        (vm_spec(secret_files={"/etc/../shadow": "present"}), grpc.StatusCode.INVALID_ARGUMENT,
         "spec.secret_files"),
        (vm_spec(secret_env={"DB": "present"}), grpc.StatusCode.INVALID_ARGUMENT, "spec.secret_env"),
        (pb.InstanceSpec(image="thecloud/busybox:test", vcpus=1, memory_bytes=16 << 20,
                         secret_files={PATH: "present"}), grpc.StatusCode.INVALID_ARGUMENT, "spec.secret_files"),
    ]
    for spec, code, named in cases:
        with pytest.raises(RpcFailure) as err:
            cluster.call("Instances", "CreateInstance", public_pb2.CreateInstanceRequest(name="bad", spec=spec))
        assert err.value.code == code and named in err.value.details, (spec, err.value)
    # The CLI says what it wants, and refuses secret files for containers itself.
    code, out = cli(cluster, "instance", "create", "bad", "--kind", "vm", "--image", "guest",
                    "--secret-file", "present:relative")
    assert code == 2
    code, out = cli(cluster, "instance", "create", "bad", "--image", "thecloud/busybox:test",
                    "--secret-file", f"present:{PATH}")
    assert code == 2
    assert instance_names(cluster) == before
    assert not list((directory / "instances").iterdir())


def test_vm_secret_file_reaches_the_guest_0600_and_nowhere_else(vmc, tmp_path):
    cluster, directory = vmc
    value = f"s3cr3t-{random_secrets.token_hex(12)}".encode()
    cluster.call("Secrets", "CreateSecret", secrets_pb2.CreateSecretRequest(name="db", value=value))
    script = tmp_path / "user-data.sh"
    script.write_text(USER_DATA)
    code, out = cli(cluster, "instance", "create", "vm1", "--kind", "vm", "--image", "guest", "--cpus", "1",
                    "--memory", "256M", "--disk", "1G", "--user-data", str(script),
                    "--secret-file", f"db:{PATH}", "--wait", "--timeout", "120")
    assert code == 0, out
    vm = cluster.call("Instances", "GetInstance", public_pb2.GetInstanceRequest(name="vm1"))
    assert dict(vm.spec.secret_files) == {PATH: "db"}      # the name, never the value

    # cloud-init's write_files (our guest's) wrote it 0600, root's; the user-data read it back.
    text = wait_console(cluster, "vm1", "SECRET-SEEN:")
    wrote = re.search(rf"THECLOUD-GUEST: wrote {re.escape(PATH)} mode=(\d+) uid=(\d+) size=(\d+) "
                      r"sha256=([0-9a-f]+)", text)
    assert wrote, text[-2000:]
    assert wrote.groups() == ("600", "0", str(len(value)), hashlib.sha256(value).hexdigest())
    assert f"SECRET-SEEN: {value.decode()} mode=600" in text

    # The seed holds it: mode 0600, in the agent's VM directory only; the guest's disk
    # (where the guest wrote it) is no other local user's to read either.
    seed = directory / "instances" / vm.meta.id / "seed.iso"
    assert stat.S_IMODE(os.stat(seed).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(seed.parent / "disk.qcow2").st_mode) == 0o600

    # Nowhere else: not in any scheduler's data dir (state, Raft journal, snapshots,
    # audit), not in the agent's data dir (journal), not in any daemon's log.
    needles = [value, base64.b64encode(value), value.hex().encode()]
    home = cluster.home
    hits = files_containing(home / "data", needles) + files_containing(home / "log", needles)
    assert not hits, hits

    code, out = cli(cluster, "instance", "delete", "vm1", "--wait", "--timeout", "120")
    assert code == 0, out
    assert not seed.exists() and not seed.parent.exists()
