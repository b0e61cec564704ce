"""The all-in-one's daemons as processes: the command line of each, its pid (checked in
/proc, not only the pid file), starting one in the background with its log, signalling
and waiting, and one `up` or `down` at a time per home. `layout` is the AllInOne that
knows the nodes and their paths (cli/allinone.py)."""
from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

CLI_CONFIG_MARK = "cli.allinone"


def bin_dir() -> Path:
    # Not resolved: the venv's bin directory is where python is, not where it links to.
    return Path(sys.executable).parent


def daemon_argv(program: str, module: str) -> list[str]:
    script = bin_dir() / program
    if script.exists():
        return [str(script)]
    return [sys.executable, "-m", module]


def write_atomic(path: Path, text: str, mode: int = 0o644) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "w") as f:
        f.write(text)
    os.replace(tmp, path)


class Processes:
    def __init__(self, layout):
        self.layout = layout
        self._children: dict[str, subprocess.Popen] = {}

    def command(self, name: str) -> list[str]:
        node = self.layout._node(name)
        if node.role == "scheduler":
            argv = daemon_argv("thecloud-scheduler", "scheduler.main")
        else:
            argv = daemon_argv("thecloud-agent", "agent.main")
        return argv + ["--config", str(self.layout.config_path(name))]

    def pid(self, name: str) -> int | None:
        """The pid of `name` if it is running (checked in /proc, not only the pid file)."""
        child = self._children.get(name)
        if child is not None:
            if child.poll() is None:
                # Ours and alive; right after the fork /proc still shows our own command
                # line until the exec, which must not read as "someone else's pid".
                return child.pid
            self._children.pop(name, None)
        try:
            pid = int(self.layout.pid_path(name).read_text().strip())
        except (OSError, ValueError):
            return None
        proc = Path(f"/proc/{pid}")
        try:
            state = (proc / "stat").read_text().rsplit(")", 1)[1].split()[0]
            cmdline = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except (OSError, IndexError):
            return None
        # A zombie is dead; a recycled pid belongs to someone else.
        if state == "Z" or str(self.layout.config_path(name)) not in cmdline:
            return None
        return pid

    def start(self, name: str) -> int:
        """Start `name` in the background unless it already runs; returns its pid."""
        node = self.layout._node(name)
        pid = self.pid(node.name)
        if pid is not None:
            return pid
        if not self.layout.config_path(name).exists():
            self.layout.prepare()
        log = self.layout.log_path(name)
        log.parent.mkdir(parents=True, exist_ok=True)
        with open(log, "ab") as out:
            out.write(f"--- {CLI_CONFIG_MARK}: starting {name} at "
                      f"{dt.datetime.now().astimezone().isoformat(timespec='seconds')}\n".encode())
            out.flush()
            child = subprocess.Popen(self.layout.command(name), stdin=subprocess.DEVNULL, stdout=out,
                                     stderr=subprocess.STDOUT, start_new_session=True,
                                     cwd=self.layout.data_path(name),
                                     env={**os.environ, "PYTHONUNBUFFERED": "1"})
        self._children[name] = child
        write_atomic(self.layout.pid_path(name), f"{child.pid}\n")
        return child.pid

    def stop(self, name: str, sig: int = signal.SIGTERM, timeout: float = 10.0) -> None:
        """Send `sig` to `name`. For a terminating signal, wait (SIGKILL after `timeout`).

        Other signals (SIGSTOP, SIGCONT, SIGHUP) are only delivered: SIGSTOP freezes a
        node, which a test can use to make it unreachable without closing its sockets.
        """
        self.signal_all({name: self.pid(name)}, sig, timeout)

    def signal_all(self, pids: dict[str, int | None], sig: int, timeout: float) -> None:
        pids = {name: pid for name, pid in pids.items() if pid is not None}
        for pid in pids.values():
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, sig)
                if sig != signal.SIGKILL and sig in (signal.SIGTERM, signal.SIGINT, signal.SIGQUIT):
                    os.kill(pid, signal.SIGCONT)  # a frozen node must wake up to exit
        if sig not in (signal.SIGTERM, signal.SIGINT, signal.SIGQUIT, signal.SIGKILL):
            return
        if not self._wait_gone(pids, timeout):
            for name in pids:
                pid = self.pid(name)
                if pid is not None:
                    with contextlib.suppress(ProcessLookupError):
                        os.kill(pid, signal.SIGKILL)
            self._wait_gone(pids, 5.0)
        for name in pids:
            child = self._children.pop(name, None)
            if child is not None:
                with contextlib.suppress(subprocess.TimeoutExpired):
                    child.wait(timeout=1)
            if self.pid(name) is None:
                self.layout.pid_path(name).unlink(missing_ok=True)

    def _wait_gone(self, pids: dict[str, int], timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while True:
            if all(self.pid(name) is None for name in pids):
                return True
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.1)

    @contextlib.contextmanager
    def locked(self):
        """One `up` or `down` at a time per home."""
        lock = self.layout.home / "run" / "allinone.lock"
        lock.parent.mkdir(parents=True, exist_ok=True)
        with open(lock, "w") as f:
            fcntl.flock(f, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(f, fcntl.LOCK_UN)
