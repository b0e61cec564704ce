"""`thecloud-agent enroll`: get this host's certificate with a join token.

    thecloud-agent enroll (--token-file FILE|- | --token T) --scheduler HOST:PORT
                          --ca-fingerprint sha256:HEX [--name NAME] [--tls-dir DIR]
                          [--address A ...] [--force]

The token may also come from the environment (THECLOUD_JOIN_TOKEN); --token puts
it in the process list, where other users of the host can read it.

1. Connect to the scheduler's enrollment endpoint with TLS and no trust yet,
   and take the CA certificate from the chain it sends; refuse unless its
   SHA-256 fingerprint is the one given (printed by `cloud cluster join-token`),
   so a man in the middle cannot hand us its own CA.
2. Make a key here (it never leaves the host) and a CSR for NAME.
3. Call Enrollment.Enroll over TLS now verified against that CA, with the token.
   The token is single-use and names this host: the certificate's CN and
   addresses are the ones the token was made for (`cloud cluster join-token NAME
   --address A`); an --address the token does not allow is refused.
4. Write <tls_dir>/ca.crt, <name>.crt and <name>.key (0600).

Already enrolled (a certificate for NAME under the pinned CA exists): nothing
to do, unless --force.
"""
from __future__ import annotations

import hashlib
import os
import socket
import ssl
import sys
from pathlib import Path

import grpc
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from common.grpcserve import expect_server
from common.tls import SCHEDULER_NAME, TlsFiles, make_csr
from proto.v1 import operations_pb2, operations_pb2_grpc


class EnrollError(RuntimeError):
    pass


def fingerprint(cert: x509.Certificate) -> str:
    return "sha256:" + hashlib.sha256(cert.public_bytes(serialization.Encoding.DER)).hexdigest()


def normalize_fingerprint(value: str) -> str:
    text = value.strip().lower().removeprefix("sha256:").replace(":", "")
    if len(text) != 64 or any(c not in "0123456789abcdef" for c in text):
        raise EnrollError(f"--ca-fingerprint: {value!r} is not a SHA-256 fingerprint")
    return "sha256:" + text


def _split(address: str) -> tuple[str, int]:
    host, _, port = address.rpartition(":")
    if not host or not port.isdigit():
        raise EnrollError(f"--scheduler: {address!r} is not host:port")
    return host.strip("[]"), int(port)


def fetch_pinned_ca(address: str, expected: str, timeout: float = 10.0) -> bytes:
    """The CA certificate (PEM) the endpoint sends in its chain, if its fingerprint is `expected`."""
    host, port = _split(address)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    # No trust yet: the fingerprint check below is what authenticates the CA.
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    context.set_alpn_protocols(["h2"])
    try:
        with socket.create_connection((host, port), timeout=timeout) as raw, \
                context.wrap_socket(raw, server_hostname=host) as tls:
            chain = tls._sslobj.get_unverified_chain() or []  # public in Python 3.13
            ders = [c.public_bytes(ssl._ssl.ENCODING_DER) for c in chain]
    except OSError as err:
        raise EnrollError(f"cannot reach the enrollment endpoint {address}: {err}") from None
    for der in ders:
        cert = x509.load_der_x509_certificate(der)
        if fingerprint(cert) == expected:
            return cert.public_bytes(serialization.Encoding.PEM)
    raise EnrollError(f"{address} did not present the CA with fingerprint {expected}; "
                      "check the fingerprint (and that you reach the right cluster)")


def already_enrolled(files: TlsFiles, expected: str) -> bool:
    if not files.exists():
        return False
    try:
        ca = x509.load_pem_x509_certificate(files.ca.read_bytes())
        cert = x509.load_pem_x509_certificate(files.cert.read_bytes())
        cert.verify_directly_issued_by(ca)
    except Exception:  # noqa: BLE001 - anything unreadable means: enroll again
        return False
    return fingerprint(ca) == expected


def enroll(token: str, scheduler: str, ca_fingerprint: str, name: str, tls_dir: Path,
           addresses: list[str], force: bool = False, timeout: float = 15.0) -> tuple[TlsFiles, bool]:
    """Enroll `name`; returns its files and whether anything was written."""
    expected = normalize_fingerprint(ca_fingerprint)
    files = TlsFiles.in_dir(tls_dir, name)
    if not force and already_enrolled(files, expected):
        return files, False
    ca_pem = fetch_pinned_ca(scheduler, expected)
    csr_pem, key_pem = make_csr(name, "agent")
    host, _ = _split(scheduler)
    credentials = grpc.ssl_channel_credentials(root_certificates=ca_pem)
    with grpc.secure_channel(scheduler, credentials, options=expect_server(SCHEDULER_NAME)) as channel:
        try:
            reply = operations_pb2_grpc.EnrollmentStub(channel).Enroll(
                operations_pb2.EnrollRequest(token=token, name=name, csr_pem=csr_pem, addresses=addresses),
                timeout=timeout)
        except grpc.RpcError as err:
            raise EnrollError(f"enrollment refused: {err.code().name}: {err.details()}") from None
    if x509.load_pem_x509_certificate(ca_pem) not in x509.load_pem_x509_certificates(reply.ca_pem):
        raise EnrollError("the scheduler answered with another CA than the pinned one")
    tls_dir = Path(tls_dir)
    tls_dir.mkdir(parents=True, exist_ok=True)
    _write(files.key, key_pem, 0o600)
    _write(files.cert, reply.certificate_pem, 0o644)
    if not files.ca.exists() or files.ca.read_bytes() != ca_pem:  # keep an installed CA file as it is
        _write(files.ca, ca_pem, 0o644)
    return files, True


def _write(path: Path, data: bytes, mode: int) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_bytes(b"")
    tmp.chmod(mode)
    tmp.write_bytes(data)
    tmp.replace(path)


def read_token(args) -> str:
    """The join token from --token-file (or stdin for '-'), --token or THECLOUD_JOIN_TOKEN."""
    if args.token_file:
        try:
            text = sys.stdin.read() if args.token_file == "-" else Path(args.token_file).read_text()
        except OSError as err:
            raise EnrollError(f"--token-file: cannot read {args.token_file}: {err.strerror}") from None
        return text.strip()
    return (args.token or os.environ.get("THECLOUD_JOIN_TOKEN", "")).strip()


def run(args, config) -> int:
    """The `enroll` subcommand; `config` gives the defaults for name and tls_dir."""
    name = args.name or config.name
    tls_dir = Path(args.tls_dir or config.tls_dir)
    # The token decides the certificate's addresses; those given are only checked.
    addresses = list(args.address or [])
    try:
        token = read_token(args)
        if not token:
            raise EnrollError("a join token is needed: --token-file FILE (or -), or THECLOUD_JOIN_TOKEN")
        files, wrote = enroll(token, args.scheduler, args.ca_fingerprint, name, tls_dir,
                              addresses, force=args.force)
    except EnrollError as err:
        print(f"thecloud-agent enroll: {err}", file=sys.stderr)
        return 1
    print(f"{'enrolled' if wrote else 'already enrolled'} {name}: {files.cert}")
    return 0
