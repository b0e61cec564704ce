"""The schedulers' certificates this agent refuses: the cluster's deny-list.

A scheduler removed from the cluster (`cloud cluster remove-node`) keeps a valid
certificate until it expires; the schedulers refuse it at once
(scheduler/auth/resolve.py), and every heartbeat response carries their list of
refused scheduler certificates to the agent (HeartbeatResponse.deny_list), which
refuses them too (agent/authz.py). The list has a revision that grows with every
change: the agent keeps the newest it saw, so a removed scheduler answering a
heartbeat cannot hand it an older, shorter list. It is kept in the data
directory, so a restarted agent refuses them before its first heartbeat.
"""
from __future__ import annotations

import json
import logging
import threading
from dataclasses import dataclass
from pathlib import Path

from common.tls import CertificateFacts, write_atomic

log = logging.getLogger(__name__)

FILE_NAME = "deny-list.json"


@dataclass(frozen=True)
class DeniedName:
    revoked_ms: int
    current_serial: str      # a certificate enrolled after the removal stays valid


class DenyList:
    def __init__(self, path: Path | None = None):
        self.path = path
        self._lock = threading.Lock()
        self.revision = 0
        self._names: dict[str, DeniedName] = {}
        self._serials: frozenset[str] = frozenset()
        if path is not None and path.exists():
            self._load()

    def refuses(self, facts: CertificateFacts) -> bool:
        """Whether a scheduler's certificate with these facts is on the list."""
        with self._lock:
            names, serials = self._names, self._serials
        if facts.serial in serials:
            return True
        denied = names.get(facts.common_name)
        if denied is None or denied.current_serial == facts.serial:
            return False
        return facts.issued_ms <= denied.revoked_ms

    def update(self, revision: int, names: dict[str, DeniedName], serials) -> bool:
        """Take the list if it is newer than the one held; whether it was."""
        with self._lock:
            if revision <= self.revision:
                return False
            self.revision, self._names, self._serials = revision, dict(names), frozenset(serials)
        self._save()
        log.info("the cluster's deny-list, revision %d: schedulers %s, serials %s", revision,
                 ", ".join(sorted(names)) or "none", ", ".join(sorted(serials)) or "none")
        return True

    def update_from(self, deny_list_pb) -> bool:
        """From a HeartbeatResponse.deny_list."""
        return self.update(deny_list_pb.revision,
                           {n.name: DeniedName(n.revoked_at_ms, n.current_serial) for n in deny_list_pb.names},
                           list(deny_list_pb.serials))

    def _save(self) -> None:
        if self.path is None:
            return
        with self._lock:
            data = {"revision": self.revision, "serials": sorted(self._serials),
                    "names": {name: {"revoked_ms": d.revoked_ms, "current_serial": d.current_serial}
                              for name, d in sorted(self._names.items())}}
        write_atomic(self.path, json.dumps(data, indent=1).encode(), 0o600)

    def _load(self) -> None:
        try:
            data = json.loads(self.path.read_text())
            self.revision = int(data["revision"])
            self._names = {name: DeniedName(int(d["revoked_ms"]), str(d["current_serial"]))
                           for name, d in data["names"].items()}
            self._serials = frozenset(str(s) for s in data["serials"])
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as err:
            # Refusing to start would keep a host down for a corrupt cache; the next
            # heartbeat brings the list again.
            log.warning("ignoring the unreadable deny-list %s: %s", self.path, err)
            self.revision, self._names, self._serials = 0, {}, frozenset()
