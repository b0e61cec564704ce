"""Agent certificates for simulated hosts, issued from the cluster CA and cached.

The cache lives under `<cache>/<sha256 of the CA certificate>/`, so a new CA
never reuses old keys, and thousands of hosts are issued once per machine.
"""
from __future__ import annotations

import hashlib
from pathlib import Path

from common.tls import TlsFiles, make_csr, sign_csr


def issue_many(ca_dir: Path, cache: Path, names: list[str], role: str = "agent",
               sans: tuple = ("127.0.0.1", "localhost")) -> dict[str, tuple[bytes, bytes]]:
    """name -> (certificate PEM, key PEM) for every name, issuing the missing ones."""
    ca_cert = (Path(ca_dir) / "ca.crt").read_bytes()
    ca_key = (Path(ca_dir) / "ca.key").read_bytes()
    # "-r": issued with role names (common/tls.py role_name); older caches lack them.
    folder = Path(cache) / (hashlib.sha256(ca_cert).hexdigest()[:16] + "-r")
    folder.mkdir(parents=True, exist_ok=True)
    issued = {}
    for name in names:
        files = TlsFiles.in_dir(folder, name)
        if not (files.cert.exists() and files.key.exists()):
            csr, key = make_csr(name, role)
            cert = sign_csr(ca_cert, ca_key, csr, role, list(sans))
            files.key.write_bytes(key)
            files.key.chmod(0o600)
            files.cert.write_bytes(cert)
        issued[name] = (files.cert.read_bytes(), files.key.read_bytes())
    return issued
