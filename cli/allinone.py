"""The all-in-one cluster: three schedulers and one agent on this machine's loopback.

    python -m cli.allinone up [--timeout 60] [--no-wait]
    python -m cli.allinone status
    python -m cli.allinone down [--purge]

The same daemons and configs as a real deployment, only every address is on
127.0.0.1. Everything lives under one home directory ($THECLOUD_HOME, default
/var/lib/thecloud/allinone for root, else ~/.local/share/thecloud/allinone):

    ca/                 the cluster CA (ca.crt, ca.key)
    tls/                ca.crt and <name>.crt/.key for sched-1..3, agent-1, admin
    secrets/cluster.key the Raft password and join-token key (hex, mode 0600)
    etc/                sched-N.toml, agent-1.toml, cli.toml
    data/<name>/        each daemon's data directory
    log/<name>.log      each daemon's stdout and stderr
    run/<name>.pid      each running daemon's pid
    images/             files `cloud image import --file` may register (with the
                        checkout's build/ and the VM test guest cache: image_file_dirs)

Ports: schedulers' API at BASE+1.., Raft at BASE+101.., their node API (agents' joins
and heartbeats) at BASE+104..106, the agent at BASE+200,
metrics at BASE+4..6 (schedulers) and BASE+7 (agent), enrollment at BASE+8 (sched-1),
BASE being $THECLOUD_BASE_PORT (default 7100), so tests can run a second cluster.
The agent is "agent-1" on the default ports and "agent-1-<BASE>" otherwise: the
agent labels its containers with its name, and two clusters sharing one Docker
Engine must not take each other's containers for their own.
Importable: `AllInOne(home, base_port).up()`, `.down()`, `.stop_node()`, ...
"""
from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import signal
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import grpc

from common.tls import TlsFiles
from proto.v1 import operations_pb2, public_pb2, resources_pb2

from cli import allinone_configs, allinone_pki, own_certificate
from cli.client import ClusterClient, RetryPolicy
from cli.errors import RpcFailure
from cli.settings import CliConfig, default_config_path, write_cli_config
from cli.allinone_processes import CLI_CONFIG_MARK, Processes, bin_dir, write_atomic
from cli.allinone_token import ensure_admin_token, token_path
from cli.allinone_token import read_token as read_admin_token

CLUSTER_NAME = "allinone"
DEFAULT_BASE_PORT = 7100
SCHEDULERS = ("sched-1", "sched-2", "sched-3")
AGENT = "agent-1"
ADMIN = "admin"
LOOPBACK_NAMES = ["127.0.0.1", "localhost"]
_CLI_HEADER_START = f"Written by `python -m {CLI_CONFIG_MARK} up`"
_PROBE = RetryPolicy(call_timeout=2.0, budget=0.0)


class AllInOneError(RuntimeError):
    """The cluster could not be set up or did not become healthy."""


def default_home() -> Path:
    if os.environ.get("THECLOUD_HOME"):
        return Path(os.environ["THECLOUD_HOME"]).expanduser()
    if os.geteuid() == 0:
        return Path("/var/lib/thecloud/allinone")
    return Path.home() / ".local" / "share" / "thecloud" / "allinone"


def default_base_port() -> int:
    text = os.environ.get("THECLOUD_BASE_PORT", "")
    try:
        port = int(text) if text else DEFAULT_BASE_PORT
    except ValueError:
        raise AllInOneError(f"THECLOUD_BASE_PORT={text!r} is not a port number") from None
    if not 0 < port <= 65535 - 200:
        raise AllInOneError(f"THECLOUD_BASE_PORT={port} leaves no room for BASE+200")
    return port


@dataclass(frozen=True)
class Node:
    """One daemon of the all-in-one cluster."""

    name: str
    role: str            # "scheduler" or "agent": its certificate's role too
    api: str             # the address it serves gRPC on
    raft: str = ""       # schedulers only


def _tail(path: Path, lines: int = 20) -> str:
    try:
        with open(path, "rb") as f:
            f.seek(0, os.SEEK_END)
            f.seek(max(0, f.tell() - 64 * 1024))
            text = f.read().decode("utf-8", "replace")
    except OSError as err:
        return f"(cannot read {path}: {err.strerror})"
    return "\n".join(text.splitlines()[-lines:]) or "(empty)"


class AllInOne:
    """A whole cluster on loopback under `home`, its ports counted from `base_port`."""

    def __init__(self, home: Path | str | None = None, base_port: int | None = None,
                 cluster_name: str = CLUSTER_NAME, cli_config_path: Path | str | None = None,
                 compute_driver: str = "docker", agent_name: str | None = None,
                 scheduler_overrides: dict | None = None, agent_overrides: dict | None = None):
        """`*_overrides` are extra keys for the daemons' TOML files (say capacity_vcpus)."""
        self.home = Path(home).expanduser() if home else default_home()
        self.base_port = default_base_port() if base_port is None else int(base_port)
        self.cluster_name = cluster_name
        self.compute_driver = compute_driver
        self.scheduler_overrides = dict(scheduler_overrides or {})
        self.agent_overrides = dict(agent_overrides or {})
        if agent_name is None:
            agent_name = AGENT if self.base_port == DEFAULT_BASE_PORT else f"{AGENT}-{self.base_port}"
        self.ca_dir = self.home / "ca"
        self.tls_dir = self.home / "tls"
        self.secret_file = self.home / "secrets" / "cluster.key"
        self.etc_dir = self.home / "etc"
        self.cli_config_path = Path(cli_config_path) if cli_config_path else self.etc_dir / "cli.toml"
        port = self.base_port
        self.schedulers = [Node(name, "scheduler", f"127.0.0.1:{port + i}", f"127.0.0.1:{port + 100 + i}")
                           for i, name in enumerate(SCHEDULERS, start=1)]
        self.agent = Node(agent_name, "agent", f"127.0.0.1:{port + 200}")
        self.nodes = {node.name: node for node in [*self.schedulers, self.agent]}
        self.processes = Processes(self)

    @property
    def endpoints(self) -> list[str]:
        """The schedulers' public API addresses."""
        return [node.api for node in self.schedulers]

    @property
    def agent_name(self) -> str:
        return self.agent.name

    @property
    def admin_tls(self) -> TlsFiles:
        return TlsFiles.in_dir(self.tls_dir, ADMIN)

    # Extra ports end in 4..8: tests run clusters at bases that are multiples of 10,
    # whose API, Raft and agent ports end in 0..3, so these never meet a neighbour's.
    def metrics_address(self, name: str) -> str:
        """Prometheus endpoint of `name`: BASE+4..6 for the schedulers, BASE+7 for the agent."""
        node = self._node(name)
        if node.role == "agent":
            return f"127.0.0.1:{self.base_port + 7}"
        return f"127.0.0.1:{self.base_port + 4 + self.schedulers.index(node)}"

    def node_address(self, name: str) -> str:
        """Node API of scheduler `name` (its own server and workers): BASE+104..106."""
        node = self._node(name)
        if node.role != "scheduler":
            raise AllInOneError(f"{name} is not a scheduler")
        return f"127.0.0.1:{self.base_port + 104 + self.schedulers.index(node)}"

    @property
    def node_endpoints(self) -> list[str]:
        """The schedulers' node API addresses, which the agent joins and heartbeats to."""
        return [self.node_address(node.name) for node in self.schedulers]

    def enroll_address(self, name: str) -> str:
        """Enrollment endpoint (server-only TLS, join tokens): BASE+8, on the first scheduler only."""
        node = self._node(name)
        return f"127.0.0.1:{self.base_port + 8}" if node == self.schedulers[0] else ""

    def config_path(self, name: str) -> Path:
        return self.etc_dir / f"{self._node(name).name}.toml"

    def data_path(self, name: str) -> Path:
        return self.home / "data" / self._node(name).name

    def log_path(self, name: str) -> Path:
        return self.home / "log" / f"{self._node(name).name}.log"

    def pid_path(self, name: str) -> Path:
        return self.home / "run" / f"{self._node(name).name}.pid"

    def _node(self, name: str) -> Node:
        try:
            return self.nodes[name]
        except KeyError:
            raise AllInOneError(f"no node {name!r} (nodes: {', '.join(self.nodes)})") from None

    # --- files ---------------------------------------------------------------

    def prepare(self) -> None:
        """Create whatever is missing: directories, CA, certificates, secret, configs."""
        for directory in (self.home, self.etc_dir, self.home / "log", self.home / "run",
                          self.home / "images"):
            directory.mkdir(parents=True, exist_ok=True)
        self.home.chmod(0o700)
        identities = [(node.name, node.role) for node in self.nodes.values()] + [(ADMIN, "admin")]
        allinone_pki.ensure_identities(self.ca_dir, self.tls_dir, self.cluster_name, identities,
                                       LOOPBACK_NAMES)
        allinone_pki.ensure_secret(self.secret_file)
        for node in self.nodes.values():
            self.data_path(node.name).mkdir(parents=True, exist_ok=True, mode=0o700)
        for node in self.schedulers:
            write_atomic(self.config_path(node.name), self.scheduler_config(node))
        write_atomic(self.config_path(self.agent.name), self.agent_config())
        write_cli_config(self.cli_config_path, self.cli_config(), header=self._cli_header())

    def scheduler_config(self, node: Node) -> str:
        """The TOML `thecloud-scheduler --config` reads for `node`."""
        return allinone_configs.scheduler_config(self, node)

    def agent_config(self) -> str:
        """The TOML `thecloud-agent --config` reads."""
        return allinone_configs.agent_config(self)

    def image_file_dirs(self) -> list[Path]:
        """Where `cloud image import --file` may take images from on this one-machine cluster:
        <home>/images, the checkout's build/ (`make guest-image`) and the VM tests' guest
        cache. Anything else: copy it into <home>/images first."""
        return [self.home / "images", Path(__file__).resolve().parents[1] / "build",
                Path(os.environ.get("THECLOUD_VM_CACHE", "/var/cache/thecloud/vm-guest"))]

    def cli_config(self) -> CliConfig:
        tls = self.admin_tls
        return CliConfig(endpoints=self.endpoints, ca=str(tls.ca), cert=str(tls.cert),
                         key=str(tls.key), project="default", token=read_admin_token(self.home))

    def _cli_header(self) -> str:
        return (f"{_CLI_HEADER_START} for the all-in-one cluster in {self.home} "
                "(delete this line to keep `up` from rewriting the file).")

    def install_cli_config(self, path: Path | None = None) -> tuple[Path, bool]:
        """Also write the CLI config to `path` (default: where `cloud` looks for it).

        A file there that this module did not write is left alone. Returns the path and
        whether it was written.
        """
        path = Path(path) if path else default_config_path()
        if path.resolve() == self.cli_config_path.resolve():
            return path, True
        if path.exists() and not path.read_text(errors="replace").startswith(f"# {_CLI_HEADER_START}"):
            return path, False
        write_cli_config(path, self.cli_config(), header=self._cli_header())
        return path, True

    # --- CA rotation ---------------------------------------------------------

    def rotate_ca(self, timeout: float = 300.0, say=lambda line: None) -> str:
        """`cloud cluster rotate-ca` begin, reissue, finish in order, waiting between
        phases until each is possible; the new CA's fingerprint."""
        deadline = time.monotonic() + timeout

        def rotate(phase: str, retry_while: tuple = ()):
            while True:
                # A new client for every call: the admin certificate changes on the way.
                with ClusterClient(self.endpoints, self.admin_tls) as client:
                    try:
                        reply = client.call("Operations", "RotateCa",
                                            operations_pb2.RotateCaRequest(phase=phase), timeout=30.0)
                        # As `cloud cluster rotate-ca` does: the bundle, then the admin's renewal.
                        own_certificate.keep_fresh(self.endpoints, self.admin_tls, reply, warn=say)
                        return reply
                    except RpcFailure as err:
                        if err.code not in retry_while or time.monotonic() > deadline:
                            raise
                        last = err
                say(f"  waiting: {last.details}")
                time.sleep(1.0)

        state = rotate("")
        if state.phase not in ("begun", "reissue"):
            state = rotate("begin")
            say(f"begun: new CA {state.new_ca_fingerprint}; every node trusts old + new")
        rotate("reissue", retry_while=(grpc.StatusCode.FAILED_PRECONDITION,))
        say("reissue: the agent, the schedulers and the admin renew their certificates now")
        state = rotate("finish", retry_while=(grpc.StatusCode.FAILED_PRECONDITION,))
        say(f"finished: only the new CA {state.new_ca_fingerprint} is trusted")
        return state.new_ca_fingerprint

    # --- processes -----------------------------------------------------------

    # --- the whole cluster ---------------------------------------------------

    def up(self, wait: bool = True, timeout: float = 60.0) -> None:
        """Prepare, start every daemon that is not running, and wait until healthy."""
        with self.processes.locked():
            self.prepare()
            for name in self.nodes:
                self.start_node(name)
        if wait:
            self.wait_healthy(timeout)

    def down(self, purge: bool = False, timeout: float = 10.0) -> list[str]:
        """Stop every daemon (SIGTERM, then SIGKILL after `timeout`); returns who was running.

        Containers the agent runs are left alone: the next `up` adopts them. `purge`
        also removes the daemons' data and logs (the CA, certificates and secret stay,
        so CLI configs remain valid).
        """
        if not self.home.exists():
            return []
        with self.processes.locked():
            pids = {name: self.pid(name) for name in self.nodes}
            running = [name for name, pid in pids.items() if pid is not None]
            # The agent first, so that it does not spend its last seconds missing schedulers.
            self.processes.signal_all({self.agent.name: pids.pop(self.agent.name)}, signal.SIGTERM, timeout)
            self.processes.signal_all(pids, signal.SIGTERM, timeout)
            for name in self.nodes:
                self.pid_path(name).unlink(missing_ok=True)
            if purge:
                shutil.rmtree(self.home / "data", ignore_errors=True)
                shutil.rmtree(self.home / "log", ignore_errors=True)
        return running

    def client(self, policy: RetryPolicy | None = None) -> ClusterClient:
        """A client of the public API under the admin certificate."""
        return ClusterClient(self.endpoints, self.admin_tls, read_policy=policy or _PROBE)

    def problems(self, client: ClusterClient | None = None) -> list[str]:
        """Why the cluster is not healthy yet; empty when every check passes.

        Healthy: every daemon runs, Cluster.GetStatus names a leader and every
        scheduler reachable, and Hosts.ListHosts has the agent UP.
        """
        found = [f"{name} is not running" for name in self.nodes if self.pid(name) is None]
        own = client is None
        client = client or self.client()
        try:
            status = client.call("Cluster", "GetStatus", public_pb2.GetClusterStatusRequest())
            if not status.leader:
                found.append("no scheduler leader yet")
            reachable = sum(1 for m in status.members if m.reachable)
            if reachable < len(self.schedulers):
                found.append(f"{reachable}/{len(self.schedulers)} schedulers reachable")
            hosts = client.call("Hosts", "ListHosts", public_pb2.ListHostsRequest(page_size=1000))
            host = next((h for h in hosts.hosts if h.meta.name == self.agent.name), None)
            if host is None:
                found.append(f"{self.agent.name} has not joined yet")
            elif host.state != resources_pb2.HOST_STATE_UP:
                found.append(f"{self.agent.name} is not UP yet{': ' + host.reason if host.reason else ''}")
        except RpcFailure as err:
            found.append(f"the public API does not answer: {err.message}")
        finally:
            if own:
                client.close()
        return found

    def wait_healthy(self, timeout: float = 60.0) -> None:
        """Return once healthy; AllInOneError with the logs' tails after `timeout`.

        A daemon that exits meanwhile fails the wait at once.
        """
        deadline = time.monotonic() + timeout
        found: list[str] = []
        with self.client() as client:
            while time.monotonic() < deadline:
                dead = [name for name in self.nodes if self.pid(name) is None]
                if dead:
                    raise AllInOneError(self._report(f"{', '.join(dead)} exited", dead))
                found = self.problems(client)
                if not found:
                    return
                time.sleep(0.5)
        suspects = list(self.nodes) if any("scheduler" in p or "API" in p for p in found) \
            else [self.agent.name]
        raise AllInOneError(self._report(
            f"not healthy after {timeout:g}s: {'; '.join(found)}", suspects))

    # --- processes (cli/allinone_processes.py) -------------------------------

    def command(self, name: str) -> list[str]:
        return self.processes.command(name)

    def pid(self, name: str) -> int | None:
        return self.processes.pid(name)

    def start_node(self, name: str) -> int:
        """Start `name` in the background unless it already runs; returns its pid."""
        return self.processes.start(name)

    def stop_node(self, name: str, sig: int = signal.SIGTERM, timeout: float = 10.0) -> None:
        """Send `sig` to `name`; for a terminating signal, wait (SIGKILL after `timeout`)."""
        self.processes.stop(name, sig, timeout)

    def _report(self, headline: str, names: list[str]) -> str:
        parts = [headline]
        for name in names:
            parts.append(f"--- last lines of {self.log_path(name)}:\n{_tail(self.log_path(name))}")
        return "\n".join(parts)


def _print_status(cluster: AllInOne) -> int:
    from rich.console import Console
    from rich.table import Table

    console = Console(highlight=False)
    if not cluster.admin_tls.exists():
        console.print(f"no all-in-one cluster in {cluster.home} yet: `make up` sets one up")
        return 1
    table = Table(box=None, header_style="bold", pad_edge=False)
    for column in ("NODE", "ROLE", "ADDRESS", "PID"):
        table.add_column(column)
    all_running = True
    for node in cluster.nodes.values():
        pid = cluster.pid(node.name)
        all_running = all_running and pid is not None
        table.add_row(node.name, node.role, node.api, str(pid) if pid else "[red]stopped[/red]")
    console.print(f"home {cluster.home}, logs in {cluster.home / 'log'}/<node>.log")
    console.print(table)
    found = cluster.problems()
    console.print("healthy" if not found else "not healthy: " + "; ".join(found))
    return 0 if all_running and not found else 1


def _print_next_steps(cluster: AllInOne, cli_config: Path, installed: bool) -> None:
    cloud = bin_dir() / "cloud"
    on_path = shutil.which("cloud") == str(cloud)
    leader = ""
    with contextlib.suppress(RpcFailure), cluster.client() as client:
        leader = client.call("Cluster", "GetStatus", public_pb2.GetClusterStatusRequest()).leader
    print(f"thecloud all-in-one cluster '{cluster.cluster_name}' is up (home {cluster.home})")
    print(f"  schedulers  {', '.join(cluster.endpoints)}" + (f"  (leader {leader})" if leader else ""))
    print(f"  agent       {cluster.agent.name} at {cluster.agent.api}")
    print(f"  logs        {cluster.home / 'log'}/")
    if installed:
        print(f"  CLI config  {cli_config}")
    else:
        print(f"  CLI config  {cluster.cli_config_path} ({cli_config} is yours and was kept: "
              f"export THECLOUD_CONFIG={cluster.cli_config_path})")
    print(f"The cloud command is {cloud}" +
          ("" if on_path else f" (not on PATH: export PATH={cloud.parent}:$PATH)"))
    print("Try:")
    print("  cloud cluster status")
    print("  cloud host list")
    print("  cloud instance create web1 --image thecloud/busybox:test --cpus 1 --memory 128M "
          "--command 'httpd -f -p 8080' --wait")
    print("Stop it with `make down` (containers keep running and are adopted by the next `up`).")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m cli.allinone",
                                     description="Run a whole thecloud cluster on this machine's loopback.")
    parser.add_argument("--home", default=None, help="default $THECLOUD_HOME or the per-user/root default")
    parser.add_argument("--base-port", type=int, default=None, help="default $THECLOUD_BASE_PORT or 7100")
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    up = actions.add_parser("up", help="set up and start the cluster, wait until healthy")
    up.add_argument("--timeout", type=float, default=60.0, help="seconds to wait for health (default 60)")
    up.add_argument("--no-wait", action="store_true", help="start the daemons and return")
    down = actions.add_parser("down", help="stop every daemon")
    down.add_argument("--purge", action="store_true", help="also remove the daemons' data and logs")
    actions.add_parser("status", help="the daemons' processes and the cluster's health")
    rotate = actions.add_parser("rotate-ca", help="a new cluster CA without downtime: `cloud cluster "
                                "rotate-ca` begin, reissue, finish, waiting between them")
    rotate.add_argument("--timeout", type=float, default=300.0, help="seconds to wait for each phase")
    args = parser.parse_args(argv)
    try:
        cluster = AllInOne(args.home, args.base_port)
        if args.action == "up":
            cluster.up(wait=not args.no_wait, timeout=args.timeout)
            if not args.no_wait:
                _, created = ensure_admin_token(cluster)   # `cloud cluster init`, done for you
                if created:
                    print(f"admin API token created: {token_path(cluster.home)} (mode 0600), "
                          "also in the CLI config")
            cli_config, installed = cluster.install_cli_config()
            if args.no_wait:
                print(f"started {', '.join(cluster.nodes)}; logs in {cluster.home / 'log'}/")
            else:
                _print_next_steps(cluster, cli_config, installed)
            return 0
        if args.action == "down":
            stopped = cluster.down(purge=args.purge)
            print(f"stopped {', '.join(stopped)}" if stopped else "nothing was running")
            if args.purge:
                print(f"removed {cluster.home / 'data'} and {cluster.home / 'log'}")
            return 0
        if args.action == "rotate-ca":
            cluster.rotate_ca(timeout=args.timeout, say=print)
            return 0
        return _print_status(cluster)
    except RpcFailure as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    except AllInOneError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    except OSError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
