"""Image sources an agent must not read, on real daemons with the default policy
(docs/security.md, findings 2 and 3): a project member cannot register a host file
however the URL is spelt; an admin's file: URL outside image_file_dirs fails the VM
without touching the file or telling its digest; an http URL on loopback fails the
VM before a single request reaches the server."""
from __future__ import annotations

import hashlib
import os
import re
import sys
from pathlib import Path

import grpc
import pytest

from cli.errors import RpcFailure
from proto.v1 import images_pb2, public_pb2, resources_pb2 as pb, vm_pb2
from tests.vm.vms.image_origin import serving
from tests.vm.vms.vm_harness import vm_cluster

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "integration" / "iam"))
from iam_harness import make_user, token_client  # noqa: E402

pytestmark = pytest.mark.integration
HEX_DIGEST = re.compile(r"[0-9a-f]{32,}")
BASE = dict(kind="vm", vcpus=1, memory_bytes=256 << 20)


@pytest.fixture(scope="module")
def vmc(tmp_path_factory, docker_client, guest):
    with vm_cluster(tmp_path_factory.mktemp("vms-src"), docker_client) as (cluster, directory):
        yield cluster, directory


def file_ref(url: str, data: bytes) -> vm_pb2.ImageFile:
    return vm_pb2.ImageFile(url=url, sha256=hashlib.sha256(data).hexdigest(), size_bytes=len(data))


def register(cluster, name: str, disk: vm_pb2.ImageFile, client=None) -> None:
    (client or cluster).call("Images", "ImportImage", images_pb2.ImportImageRequest(
        name=name, format="raw", disk=disk), write=True)


def failed_vm(cluster, name: str, image: str) -> pb.Instance:
    cluster.call("Instances", "CreateInstance", public_pb2.CreateInstanceRequest(
        name=name, spec=pb.InstanceSpec(**BASE, image=image)), write=True)
    instance = cluster.wait_instance(name, states=(pb.INSTANCE_STATE_FAILED, pb.INSTANCE_STATE_RUNNING),
                                     timeout=120)
    assert instance.state == pb.INSTANCE_STATE_FAILED, instance
    return instance


def delete(cluster, *names: str) -> None:
    for name in names:
        cluster.call("Instances", "DeleteInstance", public_pb2.DeleteInstanceRequest(name=name),
                     write=True)


def cache_files(directory: Path) -> set[str]:
    """What the cache holds, partial fetches included (not the per-checksum lock files)."""
    images = directory / "images"
    return {p.name for p in images.iterdir() if not p.name.endswith(".lock")} if images.exists() else set()


@pytest.mark.parametrize("url", [
    "FILE:///etc/shadow", "File:///etc/shadow", " file:///etc/shadow", "file:///etc/shadow ",
    "\tfile:///etc/shadow", "file:/etc/shadow", "file://localhost/etc/shadow",
    "file:///tmp/%2e%2e/etc/shadow", "file://evil/etc/shadow", "fIlE:///etc/shadow"])
def test_a_member_cannot_register_a_host_file(vmc, url):
    cluster, _ = vmc
    user = "mallory-" + hashlib.sha256(url.encode()).hexdigest()[:8]
    member = token_client(cluster, make_user(cluster, user, role="member", project="default"))
    disk = vm_pb2.ImageFile(url=url, sha256="0" * 64, size_bytes=1)
    for request in (images_pb2.ImportImageRequest(name="shadow", format="raw", disk=disk),
                    images_pb2.ImportImageRequest(
                        name="shadow", format="raw",
                        disk=vm_pb2.ImageFile(url="https://example.com/d", sha256="0" * 64, size_bytes=1),
                        kernel=disk)):
        with pytest.raises(RpcFailure) as err:
            member.call("Images", "ImportImage", request)
        assert err.value.code == grpc.StatusCode.PERMISSION_DENIED, err.value
    images = cluster.call("Images", "ListImages", images_pb2.ListImagesRequest()).images
    assert "shadow" not in [i.meta.name for i in images]
    # The same URL from an admin: odd spellings are INVALID_ARGUMENT naming the field.
    if url.strip() != url:
        with pytest.raises(RpcFailure) as err:
            register(cluster, "shadow", disk)
        assert err.value.code == grpc.StatusCode.INVALID_ARGUMENT and "disk.url" in str(err.value)


def test_a_file_outside_image_file_dirs_fails_the_vm_and_is_never_read(vmc, tmp_path):
    cluster, directory = vmc
    secret = Path("/etc/shadow")
    link = tmp_path / "innocent.img"            # inside the allowed dirs, pointing out of them
    os.symlink(secret, link)
    before = cache_files(directory)
    for name, url in (("outside", "FILE:///etc/shadow"), ("via-link", f"file://{link}")):
        # A registered checksum that is wrong on purpose: a reason that told the computed
        # digest would let anyone learn the file's checksum.
        register(cluster, name, vm_pb2.ImageFile(url=url, sha256="1" * 64, size_bytes=secret.stat().st_size))
        instance = failed_vm(cluster, f"vm-{name}", name)
        assert "image_file_dirs" in instance.reason, instance.reason
        assert not HEX_DIGEST.search(instance.reason), instance.reason
        assert hashlib.sha256(secret.read_bytes()).hexdigest() not in instance.reason
    assert cache_files(directory) == before
    delete(cluster, "vm-outside", "vm-via-link")


def test_a_checksum_mismatch_names_no_digest(vmc, tmp_path):
    cluster, directory = vmc
    data = b"these bytes are not the registered ones\n" * 100
    image = tmp_path / "wrong.img"
    image.write_bytes(data)
    register(cluster, "wrong", vm_pb2.ImageFile(url=f"file://{image}", sha256="2" * 64, size_bytes=len(data)))
    instance = failed_vm(cluster, "vm-wrong", "wrong")
    assert "checksum mismatch" in instance.reason and "not the ones registered" in instance.reason
    assert hashlib.sha256(data).hexdigest() not in instance.reason
    assert not HEX_DIGEST.search(instance.reason), instance.reason
    assert ("2" * 64) not in cache_files(directory)
    delete(cluster, "vm-wrong")


def test_loopback_image_urls_are_refused_before_any_request(vmc):
    cluster, directory = vmc
    data = b"an image on the host's loopback\n" * 64
    with serving("127.0.0.1") as origin:
        origin.claims("/disk.img", len(data), data)
        names = []
        for index, host in enumerate(("127.0.0.1", "localhost")):
            name = f"loop{index}"
            register(cluster, name, file_ref(origin.url("/disk.img", host), data))
            instance = failed_vm(cluster, f"vm-{name}", name)
            assert "image_fetch_allow" in instance.reason, instance.reason
            names.append(f"vm-{name}")
        assert origin.total == 0, origin.requests
    # The instance metadata address, an IPv4-mapped loopback: refused by the same rule.
    for index, url in enumerate(("http://169.254.169.254/latest/meta-data",
                                 "http://[::ffff:127.0.0.1]:9/x", "http://[::1]:9/x")):
        name = f"meta{index}"
        register(cluster, name, file_ref(url, data))
        instance = failed_vm(cluster, f"vm-{name}", name)
        assert "image_fetch_allow" in instance.reason, instance.reason
        names.append(f"vm-{name}")
    assert hashlib.sha256(data).hexdigest() not in cache_files(directory)
    delete(cluster, *names)
