"""The agent's http image fetch for real, with an operator's allow-list admitting
127.0.0.1 only (docs/security.md, finding 3): a VM boots from kernel, initrd and disk
fetched over HTTP into the cache (0640 root:<qemu group> in a 0750 directory, which
qemu reads through the overlay's backing chain); a redirect to an address the list
does not admit is refused before the target is contacted; bodies over the registered
size or image_max_bytes are refused."""
from __future__ import annotations

import hashlib
import pwd
import stat

import pytest

from agent.compute.imagecache import QEMU_USERS, qemu_group
from proto.v1 import images_pb2, public_pb2, resources_pb2 as pb, vm_pb2
from tests.vm.vms.image_origin import serving
from tests.vm.vms.test_vm_image_sources import cache_files, delete, failed_vm, file_ref, register
from tests.vm.vms.vm_harness import READY, vm_cluster, wait_console

pytestmark = pytest.mark.integration
MAX_BYTES = 200 << 20


@pytest.fixture(scope="module")
def vmc(tmp_path_factory, docker_client, guest):
    with vm_cluster(tmp_path_factory.mktemp("vms-fetch"), docker_client, agent_overrides={
            "image_fetch_allow": ["127.0.0.1/32"], "image_max_bytes": str(MAX_BYTES)}) \
            as (cluster, directory):
        yield cluster, directory


@pytest.fixture(scope="module")
def origin():
    with serving("127.0.0.1") as server:
        yield server


@pytest.fixture(scope="module")
def elsewhere():
    """A server on 127.0.0.2: loopback too, but not in the allow-list."""
    with serving("127.0.0.2") as server:
        yield server


def test_a_vm_boots_from_an_admitted_http_origin(vmc, origin, guest):
    cluster, directory = vmc
    files = {}
    for part in ("disk.qcow2", "vmlinuz", "initrd.img"):
        origin.file(f"/{part}", guest / part)
        files[part] = file_ref(origin.url(f"/{part}"), (guest / part).read_bytes())
    cluster.call("Images", "ImportImage", images_pb2.ImportImageRequest(
        name="webguest", format="qcow2", virtual_size_bytes=64 << 20, disk=files["disk.qcow2"],
        kernel=files["vmlinuz"], initrd=files["initrd.img"], cmdline="console=ttyS0"), write=True)
    cluster.call("Instances", "CreateInstance", public_pb2.CreateInstanceRequest(
        name="web1", spec=pb.InstanceSpec(kind="vm", image="webguest", vcpus=1,
                                          memory_bytes=256 << 20, disk_bytes=1 << 30)), write=True)
    instance = cluster.wait_instance("web1", states=(pb.INSTANCE_STATE_RUNNING, pb.INSTANCE_STATE_FAILED),
                                     timeout=180)
    assert instance.state == pb.INSTANCE_STATE_RUNNING, instance.reason
    wait_console(cluster, "web1", READY)
    assert all(origin.requests[f"/{part}"] == 1 for part in files), origin.requests
    images = directory / "images"
    qemu_uids = {user.pw_uid for user in pwd.getpwall() if user.pw_name in QEMU_USERS}
    assert stat.S_IMODE(images.stat().st_mode) == 0o750 and images.stat().st_gid == qemu_group()
    for ref in files.values():
        cached = images / ref.sha256
        assert stat.S_IMODE(cached.stat().st_mode) == 0o640
        # libvirt's dynamic ownership hands the files of a running domain (the whole
        # backing chain, the kernel and initrd) to qemu's user and gives them back after.
        assert cached.stat().st_uid in {0, *qemu_uids} and cached.stat().st_gid == qemu_group()
    delete(cluster, "web1")


def test_a_redirect_to_an_address_not_admitted_is_refused(vmc, origin, elsewhere):
    cluster, _ = vmc
    data = b"bytes on a server the agent must not reach\n" * 32
    elsewhere.claims("/target.img", len(data), data)
    origin.redirect("/hop.img", elsewhere.url("/target.img"))
    origin.redirect("/hop-file.img", "file:///etc/shadow")
    names = []
    for path in ("/hop.img", "/hop-file.img"):
        name = "redir" + str(len(names))
        register(cluster, name, file_ref(origin.url(path), data))
        instance = failed_vm(cluster, f"vm-{name}", name)
        assert "image_fetch_allow" in instance.reason or "file:" in instance.reason, instance.reason
        assert origin.requests[path] >= 1
        names.append(f"vm-{name}")
    assert elsewhere.total == 0, elsewhere.requests
    delete(cluster, *names)


def test_oversize_bodies_are_refused(vmc, origin):
    cluster, directory = vmc
    data = b"x" * 4096
    cases = {
        # A Content-Length over the registered size, over image_max_bytes, and a body
        # without a length that goes on past the registered size.
        "/long.img": (lambda: origin.claims("/long.img", len(data) * 2, data * 2), len(data), "over the limit"),
        "/huge.img": (lambda: origin.claims("/huge.img", MAX_BYTES + 1), MAX_BYTES + 1, "over the limit"),
        "/endless.img": (lambda: origin.streams("/endless.img", 64, data), len(data), "more than"),
    }
    names = []
    for index, (path, (route, size, problem)) in enumerate(cases.items()):
        route()
        name = f"big{index}"
        register(cluster, name, vm_pb2.ImageFile(url=origin.url(path), sha256=hashlib.sha256(data).hexdigest(),
                                                 size_bytes=size))
        instance = failed_vm(cluster, f"vm-{name}", name)
        assert problem in instance.reason, instance.reason
        names.append(f"vm-{name}")
    assert hashlib.sha256(data).hexdigest() not in cache_files(directory)
    assert not any(name.endswith(".part") for name in cache_files(directory))
    delete(cluster, *names)
