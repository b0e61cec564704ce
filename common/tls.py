"""The cluster CA, node certificates and join tokens.

Every gRPC connection in the cluster is mutual TLS under one CA. A node's
certificate names it (CN) and its role (OU: scheduler, agent or admin), and lists
the addresses it serves on as subject alternative names, plus its role name
(`role_name`): clients dial with that name as the TLS target, so a server whose
certificate is of another role (or, for agents, another host) fails the handshake.
"""
from __future__ import annotations

import base64
import datetime as dt
import functools
import hashlib
import hmac
import ipaddress
import os
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

# "client": a certificate that only opens the TLS connection; who calls comes
# from the API token sent with each call (users, service accounts).
ROLES = ("scheduler", "agent", "admin", "client")

# Names under this domain are never resolved: they only bind a role into a
# certificate, for clients to check through grpc.ssl_target_name_override.
ROLE_DOMAIN = "thecloud.internal"


def role_name(role: str, name: str = "") -> str:
    """The DNS name every certificate of `role` carries: one for all schedulers,
    one per agent host (`name`), one per other role."""
    if role == "agent":
        if not name:
            raise ValueError("an agent's role name needs its host name")
        return f"{name}.agent.{ROLE_DOMAIN}"
    return f"{role}.{ROLE_DOMAIN}"


SCHEDULER_NAME = role_name("scheduler")


@dataclass(frozen=True)
class TlsFiles:
    """Paths of a node's CA certificate, own certificate and key (PEM)."""

    ca: Path
    cert: Path
    key: Path

    @classmethod
    def in_dir(cls, directory: Path, name: str) -> "TlsFiles":
        directory = Path(directory)
        return cls(directory / "ca.crt", directory / f"{name}.crt", directory / f"{name}.key")

    def exists(self) -> bool:
        return self.ca.exists() and self.cert.exists() and self.key.exists()

    def read(self) -> tuple[bytes, bytes, bytes]:
        return self.ca.read_bytes(), self.cert.read_bytes(), self.key.read_bytes()


def _new_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def _key_pem(key) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def _write_private(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(data)


def create_ca(cluster_name: str, days: int = 3650, generation: str = "") -> tuple[bytes, bytes]:
    """A new self-signed cluster CA: (certificate PEM, key PEM). A rotation's new CA
    gets a `generation` in its name: TLS libraries pick a certificate's issuer among
    the trusted CAs by name, so the old and new CA of a bundle must differ in it."""
    key = _new_key()
    common_name = f"{cluster_name} cluster CA" + (f" {generation}" if generation else "")
    name = x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "thecloud"),
                      x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = dt.datetime.now(dt.timezone.utc)
    cert = (x509.CertificateBuilder()
            .subject_name(name).issuer_name(name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(days=days))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
            .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                         content_commitment=False, key_encipherment=False,
                                         data_encipherment=False, key_agreement=False,
                                         encipher_only=False, decipher_only=False), critical=True)
            .sign(key, hashes.SHA256()))
    return cert.public_bytes(serialization.Encoding.PEM), _key_pem(key)


def _san(names: list[str]) -> x509.SubjectAlternativeName:
    entries: list[x509.GeneralName] = []
    for value in names:
        try:
            entries.append(x509.IPAddress(ipaddress.ip_address(value)))
        except ValueError:
            entries.append(x509.DNSName(value))
    return x509.SubjectAlternativeName(entries)


def make_csr(common_name: str, role: str) -> tuple[bytes, bytes]:
    """A key and a certificate signing request: (csr PEM, key PEM)."""
    key = _new_key()
    csr = (x509.CertificateSigningRequestBuilder()
           .subject_name(x509.Name([x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, role),
                                    x509.NameAttribute(NameOID.COMMON_NAME, common_name)]))
           .sign(key, hashes.SHA256()))
    return csr.public_bytes(serialization.Encoding.PEM), _key_pem(key)


def _public_der(public_key) -> bytes:
    return public_key.public_bytes(serialization.Encoding.DER,
                                   serialization.PublicFormat.SubjectPublicKeyInfo)


def signing_certificate(bundle_pem: bytes, ca_key) -> x509.Certificate:
    """The certificate of `ca_key` among the CA certificates in `bundle_pem`.

    A trust bundle may hold several CAs (old and new while the CA is rotated, in
    either order): a certificate is signed by the CA whose key signs it, never by
    whichever comes first. ValueError when none matches."""
    mine = _public_der(ca_key.public_key())
    for cert in x509.load_pem_x509_certificates(bundle_pem):
        if _public_der(cert.public_key()) == mine:
            return cert
    raise ValueError("no CA certificate in the bundle belongs to the CA key")


def issued_by_bundle(cert: x509.Certificate, bundle_pem: bytes) -> bool:
    """Whether one of the CA certificates in `bundle_pem` issued `cert` directly."""
    for ca in x509.load_pem_x509_certificates(bundle_pem):
        try:
            cert.verify_directly_issued_by(ca)
            return True
        except (ValueError, TypeError, InvalidSignature):
            continue
    return False


# Days a certificate issued from the CA files (cli/pki.py, the all-in-one) is valid;
# schedulers renew their own and the `cloud` CLI an admin's when a third is left
# (common/renewal.py), agents theirs with the schedulers' `certificate_lifetime`.
LIFETIME_DAYS = {"scheduler": 30.0, "agent": 30.0, "admin": 90.0, "client": 90.0}


def sign_csr(ca_cert_pem: bytes, ca_key_pem: bytes, csr_pem: bytes, role: str,
             sans: list[str], days: float | None = None) -> bytes:
    """Sign a CSR for `role`, valid as TLS server and client for `sans`, its common
    name and its role name (`role_name(role, common_name)`). `ca_cert_pem` may be a
    bundle: the issuer is the certificate of `ca_key_pem` in it."""
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r}")
    ca_key = serialization.load_pem_private_key(ca_key_pem, password=None)
    ca_cert = signing_certificate(ca_cert_pem, ca_key)
    csr = x509.load_pem_x509_csr(csr_pem)
    if not csr.is_signature_valid:
        raise ValueError("CSR signature is invalid")
    common_name = csr.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value
    subject = x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "thecloud"),
                         x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, role),
                         x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = dt.datetime.now(dt.timezone.utc)
    cert = (x509.CertificateBuilder()
            .subject_name(subject).issuer_name(ca_cert.subject)
            .public_key(csr.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(days=LIFETIME_DAYS[role] if days is None else days))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH,
                                                  ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
            .add_extension(_san(sorted(set(sans) | {common_name, role_name(role, common_name)})),
                           critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
                           critical=False)
            .sign(ca_key, hashes.SHA256()))
    return cert.public_bytes(serialization.Encoding.PEM)


def fingerprint(cert: x509.Certificate | bytes) -> str:
    """"sha256:<hex>" of a certificate (DER), as join tokens and rotate-ca show a CA."""
    if isinstance(cert, bytes):
        cert = x509.load_pem_x509_certificate(cert)
    return "sha256:" + hashlib.sha256(cert.public_bytes(serialization.Encoding.DER)).hexdigest()


def issuer_fingerprint(cert_pem: bytes, bundle_pem: bytes) -> str:
    """The fingerprint of the CA in `bundle_pem` that issued `cert_pem`; "" if none did."""
    cert = x509.load_pem_x509_certificate(cert_pem)
    for ca in x509.load_pem_x509_certificates(bundle_pem):
        try:
            cert.verify_directly_issued_by(ca)
            return fingerprint(ca)
        except (ValueError, TypeError, InvalidSignature):
            continue
    return ""


def write_atomic(path: Path, data: bytes, mode: int = 0o644) -> None:
    """Replace `path` by a rename: a reader (grpc reloading credentials) sees the old
    file or the new one, never half of one."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{os.urandom(3).hex()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    os.fchmod(fd, mode)         # whatever the umask (the scheduler's unit sets 0077)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    os.replace(tmp, path)


def reissue(ca_dir: Path, files: TlsFiles, name: str, role: str, sans: list[str],
            days: float | None = None) -> None:
    """A new key and certificate for `name` from the CA in `ca_dir`, each replaced by
    a rename (the key first: servers reload the pair only once they match); `files.ca`
    is left as it is."""
    ca_dir = Path(ca_dir)
    csr, key = make_csr(name, role)
    cert = sign_csr((ca_dir / "ca.crt").read_bytes(), (ca_dir / "ca.key").read_bytes(), csr, role, sans, days)
    write_atomic(files.key, key, 0o600)
    write_atomic(files.cert, cert)


def issue(ca_dir: Path, out_dir: Path, name: str, role: str, sans: list[str],
          days: float | None = None) -> TlsFiles:
    """Issue `name`'s key and certificate from the CA in `ca_dir` into `out_dir`."""
    ca_dir, out_dir = Path(ca_dir), Path(out_dir)
    ca_cert, ca_key = (ca_dir / "ca.crt").read_bytes(), (ca_dir / "ca.key").read_bytes()
    csr, key = make_csr(name, role)
    cert = sign_csr(ca_cert, ca_key, csr, role, sans, days)
    files = TlsFiles.in_dir(out_dir, name)
    out_dir.mkdir(parents=True, exist_ok=True)
    files.ca.write_bytes(ca_cert)
    files.cert.write_bytes(cert)
    _write_private(files.key, key)
    return files


def ensure_ca(ca_dir: Path, cluster_name: str) -> Path:
    """Create the CA in `ca_dir` unless it is already there (the key is kept mode 0600)."""
    ca_dir = Path(ca_dir)
    if not (ca_dir / "ca.crt").exists():
        cert, key = create_ca(cluster_name)
        _write_private(ca_dir / "ca.key", key)
        (ca_dir / "ca.crt").write_bytes(cert)
    return ca_dir


def peer_identity(auth_context: dict) -> tuple[str, str] | None:
    """(common name, role) of the mTLS peer from a grpc auth_context, if any."""
    facts = peer_certificate(auth_context)
    return (facts.common_name, facts.role) if facts is not None else None


@dataclass(frozen=True)
class CertificateFacts:
    """What the deny-list and renewal need from a certificate."""

    common_name: str
    role: str
    serial: str              # hex, lower case
    not_before_ms: int
    not_after_ms: int
    sans: tuple[str, ...]

    @property
    def issued_ms(self) -> int:
        # sign_csr back-dates not_valid_before by ISSUE_BACKDATE against clock skew.
        return self.not_before_ms + ISSUE_BACKDATE_MS


ISSUE_BACKDATE_MS = 5 * 60 * 1000


# Every call's peer certificate is one of a few per connection: parse each once.
@functools.lru_cache(maxsize=4096)
def certificate_facts(cert_pem: bytes) -> CertificateFacts:
    cert = x509.load_pem_x509_certificate(cert_pem)
    cn = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    ou = cert.subject.get_attributes_for_oid(NameOID.ORGANIZATIONAL_UNIT_NAME)
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        sans = tuple(str(v) for v in san.get_values_for_type(x509.IPAddress)) + \
            tuple(san.get_values_for_type(x509.DNSName))
    except x509.ExtensionNotFound:
        sans = ()
    return CertificateFacts(
        common_name=cn[0].value if cn else "", role=ou[0].value if ou else "",
        serial=format(cert.serial_number, "x"),
        not_before_ms=int(cert.not_valid_before_utc.timestamp() * 1000),
        not_after_ms=int(cert.not_valid_after_utc.timestamp() * 1000), sans=sans)


def peer_certificate(auth_context: dict) -> CertificateFacts | None:
    """The facts of the mTLS peer's certificate from a grpc auth_context, if any."""
    certs = auth_context.get("x509_pem_cert") or []
    return certificate_facts(certs[0]) if certs else None


# Join tokens: "tcj_<id>_<secret>". Only the secret's hash is kept (in the replicated
# state, scheduler/state/enrollment.py); the token is single-use and bound to a name.
JOIN_TOKEN_PREFIX = "tcj_"


def new_join_token() -> tuple[str, str, str]:
    """(id, secret, token) of a new join token."""
    token_id = os.urandom(6).hex()
    secret = base64.urlsafe_b64encode(os.urandom(24)).decode()
    return token_id, secret, f"{JOIN_TOKEN_PREFIX}{token_id}_{secret}"


def parse_join_token(token: str) -> tuple[str, str] | None:
    """(id, secret) of a well-formed join token, else None."""
    if not token.startswith(JOIN_TOKEN_PREFIX):
        return None
    token_id, sep, secret = token[len(JOIN_TOKEN_PREFIX):].partition("_")
    if not sep or len(token_id) != 12 or not secret or len(secret) > 64:
        return None
    return token_id, secret


def join_secret_hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def join_secret_matches(record_hash: str, secret: str) -> bool:
    return hmac.compare_digest(record_hash, join_secret_hash(secret))
