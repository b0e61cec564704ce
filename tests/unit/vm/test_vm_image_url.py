"""The one reading of image URLs (common/imageurl.py) and the agent's fetch policy
(agent/compute/imagefetch.py): what is a file: URL, what is refused, which addresses."""
from __future__ import annotations

import ipaddress
import os

import pytest

from agent.compute.imagefetch import FetchPolicy, FetchRefused, check_allow, is_public, open_file
from common.errors import InvalidArgument
from common.imageurl import parse
from scheduler.auth.permissions import _image_import
from proto.v1 import images_pb2, vm_pb2

SHA = "ab" * 32


@pytest.mark.parametrize("url, canonical, path", [
    ("FILE:///etc/shadow", "file:///etc/shadow", "/etc/shadow"),
    ("File:/etc/shadow", "file:///etc/shadow", "/etc/shadow"),
    ("file://localhost/etc/shadow", "file:///etc/shadow", "/etc/shadow"),
    ("file://LOCALHOST/etc/shadow", "file:///etc/shadow", "/etc/shadow"),
    ("file:////etc//shadow", "file:///etc/shadow", "/etc/shadow"),
    ("file:///%65tc/shadow", "file:///etc/shadow", "/etc/shadow"),
    ("file:///var/a%20b.qcow2", "file:///var/a%20b.qcow2", "/var/a b.qcow2"),
])
def test_file_urls_read_one_way(url, canonical, path):
    parsed = parse(url, "disk.url")
    assert parsed.is_file and parsed.url == canonical and parsed.path == path
    assert parse(parsed.url).url == canonical          # canonical form is a fixed point


@pytest.mark.parametrize("url, problem", [
    (" file:///etc/shadow", "whitespace"),
    ("file:///etc/shadow ", "whitespace"),
    ("\tfile:///etc/shadow", "whitespace"),
    ("file:///etc/sha\x00dow", "control"),
    ("file:///etc/shadow\n", "whitespace"),
    ("\x7ffile:///etc/shadow", "control"),
    ("file:///etc/sh%C3%A4dow\u00e4", "non-ASCII"),
    ("file://host/x", "empty or localhost"),
    ("file://127.0.0.1/etc/shadow", "empty or localhost"),
    ("file:///a/../etc/shadow", "'..'"),
    ("file:///a/%2e%2e/etc/shadow", "'..'"),
    ("file:///a/%2E%2E/etc/shadow", "'..'"),
    ("file:///%2e%2e/etc/shadow", "'..'"),
    ("file:///a/./b", "'.'"),
    ("file:///a/%00b", "control"),
    ("file:///a/%0ab", "control"),
    ("file:///a/%ff", "UTF-8"),
    ("file:etc/shadow", "absolute"),
    ("file:", "absolute"),
    ("file:///x?y", "query"),
    ("file:///x#y", "fragment"),
    ("ftp://example.com/x", "scheme 'ftp'"),
    ("gopher://example.com/x", "scheme"),
    ("/etc/shadow", "scheme ''"),
    ("", "required"),
    ("http://user:pw@example.com/x", "user name or password"),
    ("http://example.com@127.0.0.1/x", "user name or password"),
    ("http:///x", "needs a host"),
    ("http://example.com:99999/x", "port"),
    ("http://example.com:/x", "empty port"),
    ("http://[::1/x", "not a valid"),
    ("http://[zz::1]/x", "not a valid"),
    ("http://[fe80::1%25eth0]/x", "scoped"),
    ("http://0x7f.1/x", "dotted-quad"),
    ("http://2130706433/x", "dotted-quad"),
    ("http://127.1/x", "dotted-quad"),
    ("http://0177.0.0.1/x", "dotted-quad"),
    ("http://%31%32%37.0.0.1/x", "DNS name"),
    ("http://exa_mple.com/x", "DNS name"),
    ("http://example.com/x#frag", "fragment"),
    ("http://example.com/a b", "whitespace"),
])
def test_odd_urls_are_refused_naming_the_field(url, problem):
    with pytest.raises(InvalidArgument) as err:
        parse(url, "disk.url")
    assert err.value.field == "disk.url"
    assert problem in str(err.value), str(err.value)


@pytest.mark.parametrize("url, canonical, host, port", [
    ("HTTP://Example.COM/img.qcow2", "http://example.com/img.qcow2", "example.com", None),
    ("https://example.com:8443/a?sig=1&x=2", "https://example.com:8443/a?sig=1&x=2", "example.com", 8443),
    ("http://[::1]:8080/x", "http://[::1]:8080/x", "::1", 8080),
    ("http://[0:0:0:0:0:0:0:1]/x", "http://[::1]/x", "::1", None),
    ("http://[::ffff:127.0.0.1]/x", "http://[::ffff:7f00:1]/x", "::ffff:7f00:1", None),
    ("http://127.0.0.1:80", "http://127.0.0.1:80/", "127.0.0.1", 80),
    ("http://cafe.example/x", "http://cafe.example/x", "cafe.example", None),
])
def test_web_urls(url, canonical, host, port):
    parsed = parse(url)
    assert (parsed.url, parsed.host, parsed.port, parsed.is_file) == (canonical, host, port, False)


def _import(disk_url: str, kernel_url: str = "") -> images_pb2.ImportImageRequest:
    return images_pb2.ImportImageRequest(
        name="x", project="p1", disk=vm_pb2.ImageFile(url=disk_url, sha256=SHA, size_bytes=1),
        kernel=vm_pb2.ImageFile(url=kernel_url, sha256=SHA, size_bytes=1) if kernel_url else None)


@pytest.mark.parametrize("url", ["file:///etc/shadow", "FILE:///etc/shadow", " file:///etc/shadow",
                                 "File:/etc/shadow", "file://localhost/etc/shadow", "\nfile:///x",
                                 "fILe:///x", "not a url", "file://host/x"])
def test_permission_is_decided_on_the_parsed_url(url):
    assert _image_import(_import(url))[:2] == ("image.import-file", "cluster")
    assert _image_import(_import("https://example.com/d", url))[:2] == ("image.import-file", "cluster")


def test_web_import_is_a_project_permission():
    assert _image_import(_import("https://example.com/d.qcow2")) == ("image.import", "project", "p1")


@pytest.mark.parametrize("address, public", [
    ("8.8.8.8", True), ("2001:4860:4860::8888", True),
    ("127.0.0.1", False), ("127.5.5.5", False), ("10.1.2.3", False), ("172.16.0.1", False),
    ("192.168.1.1", False), ("169.254.169.254", False), ("100.64.0.1", False), ("0.0.0.0", False),
    ("224.0.0.1", False), ("239.255.255.250", False), ("255.255.255.255", False),
    ("::1", False), ("::", False), ("fd00::1", False), ("fe80::1", False), ("ff02::1", False),
    ("::ffff:127.0.0.1", False), ("::ffff:10.0.0.1", False), ("::ffff:8.8.8.8", True),
    ("2002:7f00:1::", False), ("64:ff9b::a9fe:a9fe", False), ("64:ff9b::808:808", True),
])
def test_public_addresses(address, public):
    assert is_public(ipaddress.ip_address(address)) is public


def test_allow_list():
    default = FetchPolicy()
    assert not default.admits("localhost", ipaddress.ip_address("127.0.0.1"))
    assert default.admits("example.com", ipaddress.ip_address("8.8.8.8"))
    loopback = FetchPolicy(allow=("127.0.0.0/8",))
    assert loopback.admits("localhost", ipaddress.ip_address("127.0.0.1"))
    assert not loopback.admits("example.com", ipaddress.ip_address("8.8.8.8"))   # only what is listed
    assert not loopback.admits("x", ipaddress.ip_address("::ffff:127.0.0.1"))
    both = FetchPolicy(allow=("public", "10.0.0.0/24", "Mirror.Internal"))
    assert both.admits("example.com", ipaddress.ip_address("8.8.8.8"))
    assert both.admits("x", ipaddress.ip_address("10.0.0.9"))
    assert not both.admits("x", ipaddress.ip_address("10.0.1.9"))
    assert both.admits("mirror.internal", ipaddress.ip_address("192.168.7.7"))
    for bad in (["not a cidr!"], ["10.0.0.0/33"], ["user@host"]):
        with pytest.raises(ValueError):
            check_allow(bad)


def test_file_dirs_are_judged_on_real_paths(tmp_path):
    allowed, outside = tmp_path / "images", tmp_path / "private"
    allowed.mkdir()
    outside.mkdir()
    (allowed / "ok.img").write_bytes(b"ok")
    (outside / "secret").write_bytes(b"secret")
    os.symlink(outside / "secret", allowed / "link")
    os.symlink(outside, allowed / "dirlink")
    (tmp_path / "images-evil").mkdir()
    (tmp_path / "images-evil" / "x").write_bytes(b"x")
    policy = FetchPolicy(file_dirs=(str(allowed),))
    with open_file(policy, str(allowed / "ok.img")) as f:
        assert f.read() == b"ok"
    for path in (outside / "secret", allowed / "link", allowed / "dirlink" / "secret",
                 tmp_path / "images-evil" / "x", "/etc/shadow"):
        with pytest.raises(FetchRefused, match="outside this host's image_file_dirs"):
            open_file(policy, str(path))
    with pytest.raises(FetchRefused, match="outside"):
        open_file(FetchPolicy(), str(allowed / "ok.img"))      # no dirs: no file: images
    os.mkfifo(allowed / "fifo")
    with pytest.raises(FetchRefused, match="not a regular file"):
        open_file(policy, str(allowed / "fifo"))


def test_cache_modes_and_files_in_use_keep_their_owner(tmp_path):
    import pwd

    from agent.compute.imagecache import QEMU_USERS, ImageCache, qemu_group
    group = qemu_group()
    if group is None or os.geteuid() != 0:
        pytest.skip("needs root and a qemu user")
    qemu_uid = next(u.pw_uid for u in pwd.getpwall() if u.pw_name in QEMU_USERS)
    root = tmp_path / "images"
    root.mkdir()
    old, in_use = root / ("a" * 64), root / ("b" * 64)
    old.write_bytes(b"cached by an older agent")
    old.chmod(0o644)
    in_use.write_bytes(b"handed to qemu by libvirt")
    os.chown(in_use, qemu_uid, group)
    ImageCache(root)
    assert (root.stat().st_mode & 0o777, root.stat().st_gid) == (0o750, group)
    assert (old.stat().st_mode & 0o777, old.stat().st_uid, old.stat().st_gid) == (0o640, 0, group)
    assert (in_use.stat().st_uid, in_use.stat().st_mode & 0o777) == (qemu_uid, 0o640)
