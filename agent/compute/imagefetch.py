"""Where an agent may fetch image bytes from, and the fetch itself.

The agent runs as root on the host's network, so a registered image URL must not
become a way to read the host's files or reach its neighbours:

* `file:` URLs are read only from the operator's `image_file_dirs`, judged on the
  real path (symlinks resolved) before opening and again on the opened file;
* `http(s):` URLs are fetched only from addresses `image_fetch_allow` admits (by
  default public addresses only). The host is resolved once, every address is
  checked, and the connection goes to a checked address (the name is sent as Host
  and SNI), so a second DNS answer cannot swap it. Each redirect is checked the same
  way; sizes are bounded by `image_max_bytes` and by the size the image was
  registered with.
"""
from __future__ import annotations

import contextlib
import http.client
import ipaddress
import os
import socket
import ssl
import stat
import urllib.parse
from dataclasses import dataclass, field
from typing import BinaryIO, Iterator

from common import imageurl
from common.errors import InvalidArgument

MAX_REDIRECTS = 5
PUBLIC = "public"           # the image_fetch_allow entry for every public address
_REDIRECTS = (301, 302, 303, 307, 308)
_REFUSED_V4 = [ipaddress.ip_network(n) for n in (
    "0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16",
    "172.16.0.0/12", "192.0.0.0/24", "192.168.0.0/16", "198.18.0.0/15", "224.0.0.0/4",
    "240.0.0.0/4")]
_REFUSED_V6 = [ipaddress.ip_network(n) for n in (
    "::/128", "::1/128", "fc00::/7", "fe80::/10", "fec0::/10", "ff00::/8", "100::/64")]
_EMBEDS_V4 = ipaddress.ip_network("64:ff9b::/96")      # NAT64: the IPv4 address in the low bits


class FetchRefused(Exception):
    """The policy forbids this fetch; the message names the rule."""


class FetchFailed(Exception):
    """The source could not be read (network, HTTP status, size); says why."""


def _embedded_v4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address.teredo is not None:
        return address.teredo[1]
    if address in _EMBEDS_V4:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def is_public(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    """Not loopback, private (RFC 1918, ULA), link-local, CGNAT, multicast, unspecified or
    reserved, nor an IPv6 form (mapped, 6to4, Teredo, NAT64) of such an IPv4 address."""
    if isinstance(address, ipaddress.IPv6Address):
        inner = _embedded_v4(address)
        if inner is not None:
            return is_public(inner)
        return address.is_global and not any(address in net for net in _REFUSED_V6)
    return address.is_global and not any(address in net for net in _REFUSED_V4)


@dataclass(frozen=True)
class FetchPolicy:
    """What a host's agent may read images from (agent options image_*)."""

    file_dirs: tuple[str, ...] = ()
    allow: tuple[str, ...] = ()          # CIDRs, host names, or "public"; empty = ("public",)
    max_bytes: int = 64 << 30
    timeout: float = 30.0
    networks: tuple = field(init=False, default=(), repr=False)
    names: frozenset = field(init=False, default=frozenset(), repr=False)
    public: bool = field(init=False, default=True, repr=False)

    def __post_init__(self):
        check_allow(self.allow)
        networks, names = [], set()
        for entry in self.allow:
            if entry == PUBLIC:
                continue
            try:
                networks.append(ipaddress.ip_network(entry, strict=False))
            except ValueError:
                names.add(entry.lower().rstrip("."))
        object.__setattr__(self, "networks", tuple(networks))
        object.__setattr__(self, "names", frozenset(names))
        object.__setattr__(self, "public", not self.allow or PUBLIC in self.allow)
        object.__setattr__(self, "file_dirs", tuple(os.path.realpath(d) for d in self.file_dirs))

    def admits(self, host: str, address) -> bool:
        """May the agent connect to `address`, which `host` resolved to?"""
        if host in self.names:
            return True
        if any(address.version == net.version and address in net for net in self.networks):
            return True
        return self.public and is_public(address)

    def file_path(self, path: str) -> str:
        """The real path of `path` when it lies in one of file_dirs; FetchRefused otherwise."""
        real = os.path.realpath(path)
        if not any(real == d or real.startswith(d.rstrip("/") + "/") for d in self.file_dirs):
            where = ", ".join(self.file_dirs) or "none are set"
            raise FetchRefused(f"{path} is outside this host's image_file_dirs ({where}): "
                               "the agent reads file: images only from the directories its "
                               "operator lists")
        return real


def open_file(policy: FetchPolicy, path: str) -> BinaryIO:
    """The regular file at `path`, opened only inside policy.file_dirs (checked before and
    after opening, so a symlink swapped in between is caught)."""
    real = policy.file_path(path)
    fd = os.open(real, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise FetchRefused(f"{path} is not a regular file")
        policy.file_path(os.readlink(f"/proc/self/fd/{fd}"))
        os.set_blocking(fd, True)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def check_allow(entries) -> None:
    """Raise ValueError naming an entry that is neither a CIDR, "public" nor a host name."""
    for entry in entries:
        if entry == PUBLIC:
            continue
        try:
            ipaddress.ip_network(entry, strict=False)
            continue
        except ValueError:
            pass
        try:
            named = imageurl.parse(f"http://{entry}/", "image_fetch_allow")
        except InvalidArgument:
            named = None
        if named is None or named.port is not None or named.path != "/" \
                or named.url != f"http://{entry.lower()}/":
            raise ValueError(f"{entry!r} is neither a CIDR, {PUBLIC!r} nor a host name")


class _PinnedConnection(http.client.HTTPConnection):
    """HTTP to one already checked address; Host is still the URL's name."""

    def __init__(self, host: str, port: int, address: str, timeout: float):
        super().__init__(host, port, timeout=timeout)
        self.address = address

    def connect(self):
        self.sock = socket.create_connection((self.address, self.port), self.timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


class _PinnedTlsConnection(_PinnedConnection):
    default_port = 443

    def __init__(self, host: str, port: int, address: str, timeout: float):
        super().__init__(host, port, address, timeout)
        self.context = ssl.create_default_context()

    def connect(self):
        super().connect()
        self.sock = self.context.wrap_socket(self.sock, server_hostname=self.host)


def _addresses(policy: FetchPolicy, url: imageurl.ImageUrl, port: int) -> list[str]:
    """Every address `url.host` resolves to, all admitted by the policy; FetchRefused if not."""
    try:
        infos = socket.getaddrinfo(url.host, port, type=socket.SOCK_STREAM)
    except OSError as err:
        raise FetchFailed(f"cannot resolve {url.host}: {err}") from None
    addresses = list(dict.fromkeys(info[4][0] for info in infos))
    for text in addresses:
        address = ipaddress.ip_address(text.split("%", 1)[0])
        if not policy.admits(url.host, address):
            # Not the address itself: the reason reaches project members, and it would
            # turn the agent into a resolver of the host's internal names.
            raise FetchRefused(f"{url.host} resolves to an address this host's "
                               "image_fetch_allow does not admit (by default only public "
                               "addresses: no loopback, private, link-local, CGNAT or multicast)")
    return addresses


def _request(policy: FetchPolicy, url: imageurl.ImageUrl) -> http.client.HTTPResponse:
    port = url.port or (443 if url.scheme == "https" else 80)
    kind = _PinnedTlsConnection if url.scheme == "https" else _PinnedConnection
    parts = urllib.parse.urlsplit(url.url)
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    error: OSError | None = None
    for address in _addresses(policy, url, port):
        connection = kind(url.host, port, address, policy.timeout)
        try:
            connection.request("GET", target, headers={"User-Agent": "thecloud-agent",
                                                       "Accept-Encoding": "identity"})
            return connection.getresponse()
        except OSError as err:
            connection.close()
            error = err
    raise FetchFailed(f"cannot connect to {url.host}:{port}: {error}")


@contextlib.contextmanager
def open_web(policy: FetchPolicy, url: imageurl.ImageUrl, limit: int) -> Iterator[BinaryIO]:
    """The body of `url` after at most MAX_REDIRECTS redirects, each checked like the first."""
    for _ in range(MAX_REDIRECTS + 1):
        response = _request(policy, url)
        try:
            if response.status in _REDIRECTS:
                location = response.getheader("Location", "")
                if not location:
                    raise FetchFailed(f"{url.url}: HTTP {response.status} without a Location")
                try:
                    url = imageurl.parse(urllib.parse.urljoin(url.url, location), "Location")
                except InvalidArgument as err:
                    raise FetchRefused(f"{url.url} redirects to a URL that is refused: {err}") from None
                if url.is_file:
                    raise FetchRefused("an http(s) image may not redirect to a file: URL")
                continue
            if response.status != 200:
                raise FetchFailed(f"{url.url}: HTTP {response.status} {response.reason}")
            length = response.getheader("Content-Length")
            if length is not None and length.isdigit() and int(length) > limit:
                raise FetchFailed(f"{url.url}: Content-Length {length} is over the limit of "
                                  f"{limit} bytes")
            yield response
            return
        finally:
            response.close()
    raise FetchFailed(f"{url.url}: more than {MAX_REDIRECTS} redirects")
