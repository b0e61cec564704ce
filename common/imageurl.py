"""The one reading of an image source URL, shared by the scheduler and the agent.

The scheduler decides with it whether an import reads a host's files (`file:`, an
admin-only permission) and registers the URL it returns; every agent reads the
registered URL again with it before fetching. Nothing is stripped or guessed: a URL
that is not already plain (whitespace, control characters, non-ASCII, userinfo, a
fragment, `.`/`..` path segments, an odd numeric host) is refused, so two readers
can never disagree about what a URL means.
"""
from __future__ import annotations

import ipaddress
import posixpath
import re
import urllib.parse
from dataclasses import dataclass

from common.errors import InvalidArgument

SCHEMES = ("file", "http", "https")
MAX_URL = 4096
_SCHEME_RE = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*):")
_HOST_LABEL_RE = re.compile(r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")
_NUMERIC_LABEL_RE = re.compile(r"^(0x[0-9a-f]*|[0-9]*)$")


@dataclass(frozen=True)
class ImageUrl:
    """A checked URL. `url` is its canonical text (what is registered and fetched);
    `host` is lower-case without brackets ("" for file:); `path` of a file: URL is
    the decoded, absolute file name."""

    scheme: str
    host: str
    port: int | None
    path: str
    url: str

    @property
    def is_file(self) -> bool:
        return self.scheme == "file"


def parse(url: str, field: str = "url") -> ImageUrl:
    """`url` checked and in canonical form; InvalidArgument naming `field` otherwise."""
    if not url:
        raise InvalidArgument(field, "is required")
    if len(url) > MAX_URL:
        raise InvalidArgument(field, f"is longer than {MAX_URL} characters")
    bad = next((c for c in url if c.isspace() or ord(c) < 0x21 or ord(c) == 0x7f), None)
    if bad is not None:
        raise InvalidArgument(field, f"contains whitespace or a control character ({bad!r}); "
                                     "percent-encode it")
    if not url.isascii():
        raise InvalidArgument(field, "contains non-ASCII characters; percent-encode them")
    match = _SCHEME_RE.match(url)
    scheme = match.group(1).lower() if match else ""
    if scheme not in SCHEMES:
        raise InvalidArgument(field, f"scheme {scheme!r} is not one of {', '.join(SCHEMES)}")
    try:
        parts = urllib.parse.urlsplit(scheme + url[len(scheme):])
    except ValueError as err:
        raise InvalidArgument(field, f"is not a valid URL ({err})") from None
    if parts.fragment or url.endswith("#"):
        raise InvalidArgument(field, "must not have a #fragment")
    if scheme == "file":
        return _file(parts, field)
    return _web(parts, field)


def _file(parts: urllib.parse.SplitResult, field: str) -> ImageUrl:
    if parts.netloc.lower() not in ("", "localhost"):
        raise InvalidArgument(field, f"a file: URL names a file on every host; host "
                                     f"{parts.netloc!r} must be empty or localhost")
    if parts.query or "?" in parts.geturl():
        raise InvalidArgument(field, "a file: URL must not have a ?query")
    try:
        path = urllib.parse.unquote(parts.path, errors="strict")
    except UnicodeDecodeError:
        raise InvalidArgument(field, "the file name is not UTF-8 once percent-decoded") from None
    if any(ord(c) < 0x20 or ord(c) == 0x7f for c in path):
        raise InvalidArgument(field, "the file name has a control character once percent-decoded")
    if not path.startswith("/"):
        raise InvalidArgument(field, "a file: URL needs an absolute path")
    if any(segment in (".", "..") for segment in path.split("/")):
        raise InvalidArgument(field, "the file name must not have '.' or '..' segments "
                                     "(percent-decoded)")
    path = "/" + posixpath.normpath(path).lstrip("/")
    return ImageUrl("file", "", None, path, "file://" + urllib.parse.quote(path))


def _web(parts: urllib.parse.SplitResult, field: str) -> ImageUrl:
    netloc = parts.netloc
    if "@" in netloc:
        raise InvalidArgument(field, "must not carry a user name or password (user@host): "
                                     "the URL is visible to everyone in the project")
    if not netloc:
        raise InvalidArgument(field, f"an {parts.scheme}: URL needs a host")
    try:
        port = parts.port
    except ValueError:
        raise InvalidArgument(field, f"{netloc!r} has no valid port") from None
    if netloc.endswith(":"):
        raise InvalidArgument(field, f"{netloc!r} has an empty port")
    host = _host(netloc.rsplit(":", 1)[0] if port is not None else netloc, field)
    shown = f"[{host}]" if ":" in host else host
    authority = shown if port is None else f"{shown}:{port}"
    path = parts.path or "/"
    query = f"?{parts.query}" if parts.query else ""
    return ImageUrl(parts.scheme, host, port, path, f"{parts.scheme}://{authority}{path}{query}")


def _host(text: str, field: str) -> str:
    if text.startswith("["):
        if not text.endswith("]"):
            raise InvalidArgument(field, f"{text!r} is not a valid IPv6 literal")
        try:
            address = ipaddress.IPv6Address(text[1:-1])
        except ValueError:
            raise InvalidArgument(field, f"{text!r} is not a valid IPv6 literal") from None
        if address.scope_id:
            raise InvalidArgument(field, f"{text!r}: a scoped (%zone) IPv6 address is not accepted")
        return address.compressed
    host = text.lower()
    if all(_NUMERIC_LABEL_RE.match(label) for label in host.split(".")):
        # 0x7f.1, 2130706433, 127.1, 0177.0.0.1: resolvers read these as addresses in ways
        # that differ between libraries; only the plain dotted quad is accepted.
        try:
            return str(ipaddress.IPv4Address(host))
        except ValueError:
            raise InvalidArgument(field, f"host {text!r} is not a dotted-quad IPv4 address or a "
                                         "DNS name") from None
    labels = host[:-1].split(".") if host.endswith(".") else host.split(".")
    if len(host) > 253 or not all(_HOST_LABEL_RE.match(label) for label in labels):
        raise InvalidArgument(field, f"host {text!r} is not a valid DNS name")
    return host

