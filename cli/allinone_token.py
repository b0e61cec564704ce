"""The all-in-one's first admin token (`cloud cluster init` done for you by `up`).

Kept in <home>/secrets/admin.token (mode 0600) and written into the CLI config, so
that `cloud` calls as the admin user with a token, the way every user will. A
token that no longer works (the data was purged) is replaced.
"""
from __future__ import annotations

import os
from pathlib import Path

import grpc

from proto.v1 import iam_pb2

from cli.errors import RpcFailure
from cli.settings import write_cli_config

ADMIN_USER = "admin"


def token_path(home: Path) -> Path:
    return Path(home) / "secrets" / "admin.token"


def read_token(home: Path) -> str:
    try:
        return token_path(home).read_text().strip()
    except OSError:
        return ""


def _write_token(home: Path, token: str) -> None:
    path = token_path(home)
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(token + "\n")
    os.replace(tmp, path)


def _works(aio, token: str) -> bool:
    from cli.client import ClusterClient

    with ClusterClient(aio.endpoints, aio.admin_tls, token=token) as client:
        try:
            client.call("Tokens", "WhoAmI", iam_pb2.WhoAmIRequest())
        except RpcFailure as err:
            if err.code == grpc.StatusCode.UNAUTHENTICATED:
                return False
            raise
    return True


def ensure_admin_token(aio) -> tuple[str, bool]:
    """(the admin token, whether it was created now); the CLI config gets it too."""
    token = read_token(aio.home)
    created = False
    if not token or not _works(aio, token):
        with aio.client() as client:
            try:
                reply = client.call("Tokens", "Bootstrap", iam_pb2.BootstrapRequest(admin_name=ADMIN_USER))
                token = reply.token.secret
            except RpcFailure as err:
                if err.code != grpc.StatusCode.FAILED_PRECONDITION:
                    raise
                # Initialized before, token file lost: the admin certificate mints another.
                token = client.call("Tokens", "CreateToken", iam_pb2.CreateTokenRequest(
                    principal=ADMIN_USER, description="all-in-one admin")).secret
        _write_token(aio.home, token)
        created = True
    write_cli_config(aio.cli_config_path, aio.cli_config(), header=aio._cli_header())
    return token, created
