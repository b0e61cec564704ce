"""The cluster's CA, node certificates and secret on an operator's machine (used by
the Ansible roles, which run it on the controller).

    python -m cli.pki ca DIR --cluster-name NAME        create DIR/ca.crt and ca.key once
    python -m cli.pki issue CA_DIR OUT_DIR NAME ROLE [--san A ...] [--days N]
    python -m cli.pki secret FILE                       create the cluster secret once (0600)
    python -m cli.pki fingerprint CA_CRT                print sha256:<hex> of the CA

Each prints "changed" when it wrote something and "ok" when all was in place, so
a caller can report changes truthfully. `issue` issues again when the certificate
is missing, from another CA, lacks a name, or has less than a third of its
validity left; certificates live 30 days (schedulers, agents) or 90 (admins)
unless `--days` says otherwise, and renew themselves once running
(common/renewal.py).
"""
from __future__ import annotations

import argparse
import hashlib
import os
import secrets
import sys
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from common.renewal import renewal_due
from common.tls import TlsFiles, ensure_ca, issue, issued_by_bundle, role_name


def is_current(files: TlsFiles, ca_pem: bytes, sans: list[str]) -> bool:
    """The certificate exists beside this CA bundle, comes from one of its CAs, names
    every address in `sans` (the caller adds the role name, so certificates issued
    before role names are issued again) and is not due for renewal."""
    if not files.exists() or files.ca.read_bytes() != ca_pem:
        return False
    try:
        cert_pem = files.cert.read_bytes()
        cert = x509.load_pem_x509_certificate(cert_pem)
        if not issued_by_bundle(cert, ca_pem) or renewal_due(cert_pem):
            return False
        names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except Exception:  # noqa: BLE001 - unreadable or foreign: issue again
        return False
    present = {str(v) for v in names.get_values_for_type(x509.IPAddress)} | \
        set(names.get_values_for_type(x509.DNSName))
    return set(sans) <= present


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m cli.pki", description=__doc__.splitlines()[0])
    actions = parser.add_subparsers(dest="action", required=True)
    ca = actions.add_parser("ca")
    ca.add_argument("dir", type=Path)
    ca.add_argument("--cluster-name", default="thecloud")
    cert = actions.add_parser("issue")
    cert.add_argument("ca_dir", type=Path)
    cert.add_argument("out_dir", type=Path)
    cert.add_argument("name")
    cert.add_argument("role", choices=("scheduler", "agent", "admin"))
    cert.add_argument("--san", action="append", default=[])
    cert.add_argument("--days", type=float, default=None,
                      help="validity (default 30 for schedulers and agents, 90 for admins)")
    secret = actions.add_parser("secret")
    secret.add_argument("file", type=Path)
    fingerprint = actions.add_parser("fingerprint")
    fingerprint.add_argument("ca_crt", type=Path)
    args = parser.parse_args(argv)

    if args.action == "ca":
        existed = (args.dir / "ca.crt").exists()
        ensure_ca(args.dir, args.cluster_name)
        print("ok" if existed else "changed")
    elif args.action == "issue":
        ca_pem = (args.ca_dir / "ca.crt").read_bytes()
        files = TlsFiles.in_dir(args.out_dir, args.name)
        if is_current(files, ca_pem, args.san + [role_name(args.role, args.name)]):
            print("ok")
        else:
            issue(args.ca_dir, args.out_dir, args.name, args.role, args.san, args.days)
            print("changed")
    elif args.action == "secret":
        if args.file.exists() and args.file.read_text().strip():
            print("ok")
        else:
            args.file.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(args.file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w") as f:
                f.write(secrets.token_hex(32) + "\n")
            print("changed")
    else:
        der = x509.load_pem_x509_certificate(args.ca_crt.read_bytes()).public_bytes(serialization.Encoding.DER)
        print("sha256:" + hashlib.sha256(der).hexdigest())
    return 0


if __name__ == "__main__":
    sys.exit(main())
