"""`cloud token …`, `cloud login`, `cloud logout`, `cloud whoami`, and the first
admin token of `cloud cluster init`."""
from __future__ import annotations

import getpass
import sys
from pathlib import Path

from common.config import load
from proto.v1 import iam_pb2

from cli.client import ClusterClient
from cli.commands.iam_args import duration
from cli.errors import UsageError
from cli.output import timestamp
from cli.settings import CliConfig, write_cli_config


def register(subparsers, parents) -> None:
    token = subparsers.add_parser("token", help="API tokens", parents=parents)
    actions = token.add_subparsers(dest="action", metavar="ACTION", required=True)
    create = actions.add_parser("create", parents=parents,
                                help="a new token (printed once; only its hash is kept)")
    create.add_argument("--user", default="", help="whose token (default: yours)")
    create.add_argument("--expires", type=duration, default=duration("90d"), metavar="DURATION",
                        help="30d, 12h, 90m or never (default 90d)")
    create.add_argument("--role", default="",
                        help="limit the token to this role in --project (default: all your roles)")
    create.add_argument("--description", default="")
    create.set_defaults(func=create_command)
    listing = actions.add_parser("list", parents=parents, help="tokens (never their secrets)")
    listing.add_argument("--user", default="", help="whose tokens (default: yours)")
    listing.add_argument("--all", action="store_true", help="every principal's (cluster admins)")
    listing.set_defaults(func=list_command)
    revoke = actions.add_parser("revoke", parents=parents, help="revoke a token on every scheduler")
    revoke.add_argument("id", metavar="TOKEN_ID")
    revoke.set_defaults(func=revoke_command)

    login = subparsers.add_parser("login", parents=parents,
                                  help="check a token and store it in the CLI config (mode 0600)")
    login.add_argument("--token", default=None, help="the token (default: read from stdin or a prompt)")
    login.set_defaults(func=login_command)
    subparsers.add_parser("logout", parents=parents, help="remove the token from the CLI config"
                          ).set_defaults(func=logout_command)
    subparsers.add_parser("whoami", parents=parents, help="who the cluster takes you for"
                          ).set_defaults(func=whoami_command)


def create_command(args, ctx) -> int:
    scope_project = ""
    if args.role:
        scope_project = args.project or ctx.project
    reply = ctx.client.call("Tokens", "CreateToken", iam_pb2.CreateTokenRequest(
        principal=args.user, ttl_seconds=args.expires, description=args.description,
        scope_project=scope_project, scope_role=args.role))
    if ctx.out.json:
        ctx.out.data(reply)
        return 0
    t = reply.token
    ctx.out.line(f"token {t.id} for {t.principal}, expires {timestamp(t.expires_at)}"
                 + (f", limited to {t.scope_role} in {t.scope_project}" if t.scope_role else ""))
    ctx.out.line("the token (shown only this once):")
    ctx.out.line(reply.secret)
    return 0


def list_command(args, ctx) -> int:
    reply = ctx.client.list_all("Tokens", "ListTokens", iam_pb2.ListTokensRequest(
        principal=args.user, all=args.all, page_size=500), "tokens")
    if ctx.out.json:
        ctx.out.data(reply)
        return 0
    rows = [(t.id, t.principal, "revoked" if t.revoked else "active", timestamp(t.created_at),
             timestamp(t.expires_at) if t.expires_at.seconds else "never",
             f"{t.scope_role}@{t.scope_project}" if t.scope_role else "-", t.description)
            for t in reply.tokens]
    ctx.out.table(["ID", "PRINCIPAL", "STATUS", "CREATED", "EXPIRES", "SCOPE", "DESCRIPTION"], rows)
    return 0


def revoke_command(args, ctx) -> int:
    ctx.client.call("Tokens", "RevokeToken", iam_pb2.RevokeTokenRequest(id=args.id), write=True)
    ctx.out.line(f"token {args.id.split('.')[1] if args.id.count('.') == 2 else args.id} revoked")
    return 0


def _file_config(path: Path) -> CliConfig:
    """The file's own values (no environment or flags mixed in)."""
    return load(CliConfig, path if path.exists() else None, "\0")


def save_token(ctx, token: str) -> Path:
    """Write `token` into the CLI config, keeping the rest; a new file gets the
    endpoints and certificate this command used."""
    settings = ctx.settings
    path = settings.config_path
    config = _file_config(path)
    if not path.exists():
        config.endpoints = list(settings.endpoints)
        config.ca, config.cert, config.key = (str(settings.tls.ca), str(settings.tls.cert),
                                              str(settings.tls.key))
    config.token = token
    return write_cli_config(path, config)


def login_command(args, ctx) -> int:
    token = args.token
    if token is None:
        token = (getpass.getpass("API token: ") if sys.stdin.isatty() else sys.stdin.readline()).strip()
    if not token:
        raise UsageError("no token given")
    with ClusterClient(ctx.settings.endpoints, ctx.settings.tls, token=token) as client:
        me = client.call("Tokens", "WhoAmI", iam_pb2.WhoAmIRequest())
    path = save_token(ctx, token)
    ctx.out.line(f"logged in as {me.principal}; token stored in {path}")
    return 0


def logout_command(args, ctx) -> int:
    path = ctx.settings.config_path
    if path.exists():
        config = _file_config(path)
        config.token = ""
        write_cli_config(path, config)
    ctx.out.line(f"token removed from {path}")
    return 0


def whoami_command(args, ctx) -> int:
    me = ctx.client.call("Tokens", "WhoAmI", iam_pb2.WhoAmIRequest())
    if ctx.out.json:
        ctx.out.data(me)
        return 0
    ctx.out.fields([("principal", me.principal), ("kind", me.kind), ("via", me.via),
                    ("cluster admin", "yes" if me.cluster_admin else "no"),
                    ("token", me.token_id or "-"),
                    ("roles", ", ".join(f"{b.role}@{b.project or 'cluster'}" for b in me.bindings)
                     or "-")])
    return 0


def init_command(args, ctx) -> int:
    """`cloud cluster init`: the first admin's token, printed once."""
    reply = ctx.client.call("Tokens", "Bootstrap", iam_pb2.BootstrapRequest(admin_name=args.admin))
    if args.save:
        path = save_token(ctx, reply.token.secret)
    if ctx.out.json:
        ctx.out.data(reply)
        return 0
    ctx.out.line(f"cluster initialized: admin user {reply.token.token.principal}")
    ctx.out.line("its API token (shown only this once; `cloud login` stores it):")
    ctx.out.line(reply.token.secret)
    if args.save:
        ctx.out.line(f"stored in {path}")
    return 0


def register_init(cluster_actions, parents) -> None:
    """`cloud cluster init`, added to the cluster group."""
    init = cluster_actions.add_parser("init", parents=parents,
                                      help="create the first admin and print its token once")
    init.add_argument("--admin", default="admin", help="the admin user's name (default admin)")
    init.add_argument("--save", action="store_true", help="also store the token in the CLI config")
    init.set_defaults(func=init_command)
