"""The `cloud` subcommands, one module per resource family.

Each module has `register(subparsers, parents)` adding its parsers; a parser's
`func(args, ctx)` runs the command and returns the exit code (or None for 0).
"""
from __future__ import annotations

import argparse

from cli import own_certificate
from cli.client import ClusterClient
from cli.output import Output
from cli.settings import ClientSettings, resolve


class Context:
    """What a command runs with; the settings and the client are made on first use."""

    def __init__(self, args: argparse.Namespace, stream=None):
        self.args = args
        self.out = Output(args.output, stream)
        self._settings: ClientSettings | None = None
        self._client: ClusterClient | None = None

    @property
    def settings(self) -> ClientSettings:
        if self._settings is None:
            self._settings = resolve(self.args.endpoint, self.args.config, self.args.project)
        return self._settings

    @property
    def project(self) -> str:
        return self.settings.project

    @property
    def client(self) -> ClusterClient:
        if self._client is None:
            self._client = ClusterClient(self.settings.endpoints, self.settings.tls,
                                         token=self.settings.token)
        return self._client

    def after_command(self) -> None:
        """A command that reached the cluster succeeded: keep the admin certificate fresh."""
        if self._client is not None:
            own_certificate.keep_fresh(self.settings.endpoints, self.settings.tls)

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
