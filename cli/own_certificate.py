"""The `cloud` CLI keeps an admin's certificate fresh.

After a command, at most once a minute (a stamp in the user's cache directory), the
CLI asks the cluster for its CA rotation's state (Operations.RotateCa, phase "")
and then:

* writes the cluster's trust bundle as its ca.crt when it differs (a rotation
  adds the new CA before the schedulers present certificates from it);
* renews the certificate (Operations.RenewCertificate: a new key made here, the
  same name and role) when less than a third of its validity is left, or in the
  reissue phase while it is still from the old CA.

`cloud cluster rotate-ca` does the same after each phase, whatever the stamp.
Only admin certificates renew this way, with calls that present the certificate
alone (no API token, so the certificate's identity is the caller); a failure is
one warning on stderr and never fails the command. A certificate that has
expired cannot renew itself: issue one with `python -m cli.pki issue`.
"""
from __future__ import annotations

import hashlib
import os
import sys
import time
from pathlib import Path

import grpc

from cli.client import ClusterClient, RetryPolicy
from cli.errors import RpcFailure
from common.renewal import adopt_bundle, install, renewal_due
from common.tls import TlsFiles, certificate_facts, issuer_fingerprint, make_csr
from proto.v1 import node_pb2, operations_pb2

CHECK_PERIOD = 60.0
ONE_ROUND = RetryPolicy(call_timeout=10.0, budget=0.0)     # the command itself already waited
RENEWABLE_ROLE = "admin"


def _stamp(tls: TlsFiles) -> Path:
    """When this certificate was last looked at: a file in the user's cache directory."""
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "thecloud"
    digest = hashlib.sha256(str(tls.cert.resolve()).encode()).hexdigest()[:16]
    return cache / f"certificate-checked-{digest}"


def _touch(path: Path) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.touch()
    except OSError:
        pass        # no cache directory: look again at the next command


def _recently_checked(tls: TlsFiles) -> bool:
    try:
        return time.time() - _stamp(tls).stat().st_mtime < CHECK_PERIOD
    except OSError:
        return False


def renewable(tls: TlsFiles) -> bool:
    try:
        return certificate_facts(tls.cert.read_bytes()).role == RENEWABLE_ROLE
    except (OSError, ValueError):
        return False


def keep_fresh(endpoints, tls: TlsFiles, rotation=None, *, warn=None) -> str | None:
    """Adopt the trust bundle and renew when due (see the module's docstring); the
    new certificate's serial if it renewed. `rotation` is a RotateCaResponse the
    caller already has."""
    warn = warn or (lambda line: print(line, file=sys.stderr))
    if not renewable(tls):
        return None
    cert_pem = tls.cert.read_bytes()
    if rotation is None and not renewal_due(cert_pem) and _recently_checked(tls):
        return None
    try:
        with ClusterClient(endpoints, tls, read_policy=ONE_ROUND, write_policy=ONE_ROUND) as client:
            if rotation is None:
                rotation = client.call("Operations", "RotateCa", operations_pb2.RotateCaRequest(),
                                       timeout=10.0)
            if rotation.bundle_pem:
                adopt_bundle(tls, rotation.bundle_pem)
            serial = None
            old_ca = rotation.phase == "reissue" and \
                issuer_fingerprint(cert_pem, tls.ca.read_bytes()) != rotation.new_ca_fingerprint
            if renewal_due(cert_pem) or old_ca:
                serial = renew(client, tls)
                warn(f"note: renewed the admin certificate {tls.cert} (serial {serial}"
                     f"{', from the new CA' if old_ca else ''})")
        _touch(_stamp(tls))
        return serial
    except RpcFailure as err:
        if err.code == grpc.StatusCode.UNIMPLEMENTED:
            _touch(_stamp(tls))     # a scheduler of before renewals (a rolling upgrade)
            return None
        warn(f"warning: could not renew the admin certificate {tls.cert}: {err}")
        return None
    except Exception as err:  # noqa: BLE001 - the command itself succeeded
        warn(f"warning: could not renew the admin certificate {tls.cert}: {err}")
        return None


def renew(client, tls: TlsFiles) -> str:
    current = certificate_facts(tls.cert.read_bytes())
    csr_pem, key_pem = make_csr(current.common_name, current.role)
    reply = client.call("Operations", "RenewCertificate",
                        node_pb2.RenewCertificateRequest(csr_pem=csr_pem), timeout=30.0)
    if reply.ca_pem:
        adopt_bundle(tls, reply.ca_pem)
    install(tls, reply.certificate_pem, key_pem)
    return certificate_facts(reply.certificate_pem).serial
