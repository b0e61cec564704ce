"""The all-in-one's CA, certificates and cluster secret: made once, issued again when
missing, from another CA, without the role name, or due for renewal (cli/pki.py
`is_current`); the daemons renew their own afterwards (common/renewal.py)."""
from __future__ import annotations

import secrets
from pathlib import Path

from cli.allinone_processes import write_atomic
from cli.pki import is_current
from common.tls import TlsFiles, ensure_ca, issue, role_name


def ensure_identities(ca_dir: Path, tls_dir: Path, cluster_name: str,
                      identities: list[tuple[str, str]], sans: list[str]) -> list[str]:
    """The CA in `ca_dir` and a current certificate in `tls_dir` for every (name, role);
    the names issued now."""
    ensure_ca(ca_dir, cluster_name)
    ca_cert = (ca_dir / "ca.crt").read_bytes()
    issued = []
    for name, role in identities:
        if not is_current(TlsFiles.in_dir(tls_dir, name), ca_cert, [role_name(role, name)]):
            issue(ca_dir, tls_dir, name, role, sans)
            issued.append(name)
    return issued


def ensure_secret(path: Path) -> None:
    """The cluster secret (Raft password, join-token key): 32 random bytes in hex, mode 0600."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    if not path.exists() or not path.read_text().strip():
        write_atomic(path, secrets.token_hex(32) + "\n", mode=0o600)
    path.chmod(0o600)
