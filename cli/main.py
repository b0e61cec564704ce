"""The `cloud` command: drive a thecloud cluster from a shell.

    cloud [--endpoint A,B,C] [--config FILE] [--project P] [-o table|json] GROUP ACTION ...

Every error is one line on stderr ("error: NOT_FOUND: instance 'x' not found") and
an exit code from cli.errors: 1 refused, 2 usage, 3 unavailable.
"""
from __future__ import annotations

import argparse
import os
import sys

# gRPC's core logs TLS handshake failures and the like on stderr itself; the command
# reports every failure in its own single line instead. Set before grpc is imported.
os.environ.setdefault("GRPC_VERBOSITY", "ERROR")

from cli.commands import Context, cluster, hosts, instances  # noqa: E402
from cli.commands import events  # noqa: E402
from cli.commands import networks  # noqa: E402
from cli.commands import floating  # noqa: E402
from cli.commands import placement  # noqa: E402
from cli.commands import volumes  # noqa: E402
from cli.commands import images  # noqa: E402
from cli.commands import audit, principals, projects, quotas, roles, secrets, tokens  # noqa: E402
from cli.errors import CliError, UsageError  # noqa: E402
from cli.output import FORMATS  # noqa: E402

EPILOG = """\
Endpoints and the admin certificate come from --endpoint / --config, else
THECLOUD_ENDPOINTS, THECLOUD_CA, THECLOUD_CERT, THECLOUD_KEY, else the file
$THECLOUD_CONFIG or ~/.config/thecloud/cli.toml (`make up` writes it).

exit codes: 0 ok, 1 refused by the cluster or failed, 2 usage, 3 unavailable
"""


class Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line and exit code 2 like every other error."""

    def error(self, message: str):
        raise UsageError(f"{self.prog}: {message} (see '{self.prog} --help')")


def _global_options(parser: argparse.ArgumentParser, suppress: bool) -> None:
    # The same options are accepted after the subcommand too; there their default is
    # SUPPRESS so that they do not overwrite a value given before it.
    default = (lambda value: argparse.SUPPRESS) if suppress else (lambda value: value)
    parser.add_argument("--endpoint", default=default(None), metavar="HOST:PORT[,...]",
                        help="scheduler API addresses, tried in turn")
    parser.add_argument("--config", default=default(None), metavar="FILE",
                        help="CLI config file (default $THECLOUD_CONFIG or ~/.config/thecloud/cli.toml)")
    parser.add_argument("--project", default=default(None), help="project (default from config: default)")
    parser.add_argument("-o", "--output", choices=FORMATS, default=default("table"),
                        help="table (default) or json")


def build_parser() -> Parser:
    parser = Parser(prog="cloud", description="Drive a thecloud cluster.", epilog=EPILOG,
                    formatter_class=argparse.RawDescriptionHelpFormatter)
    _global_options(parser, suppress=False)
    common = Parser(add_help=False)
    _global_options(common, suppress=True)
    groups = parser.add_subparsers(dest="group", metavar="GROUP", required=True)
    for module in (cluster, hosts, instances, events, networks, floating, placement, volumes,
                   projects, principals, tokens, roles, quotas, audit, secrets, images):
        module.register(groups, [common])
    return parser


def run(argv: list[str] | None = None, stream=None) -> int:
    """Run one command, printing results on `stream` (stdout); returns its exit code.

    Errors are printed on stderr as one line.
    """
    try:
        args = build_parser().parse_args(argv)
    except CliError as err:
        print(err.line(), file=sys.stderr)
        return err.exit_code
    ctx = None
    try:
        ctx = Context(args, stream)
        code = args.func(args, ctx) or 0
        ctx.after_command()
        return code
    except CliError as err:
        print(err.line(), file=sys.stderr)
        return err.exit_code
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return 130
    finally:
        if ctx is not None:
            ctx.close()


def main(argv: list[str] | None = None) -> int:
    try:
        code = run(argv)
        sys.stdout.flush()
    except BrokenPipeError:
        # `cloud instance list | head`: the reader left; that is not an error.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        code = 0
    return code


if __name__ == "__main__":
    sys.exit(main())
