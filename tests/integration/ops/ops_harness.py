"""Helpers of the operations tests: scrape metrics, read JSON logs, watch events."""
from __future__ import annotations

import json
import sys
import threading
import urllib.request
from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "cluster"))

from cluster_harness import Cluster, agent_containers, running_cluster  # noqa: E402,F401

from cli.client import ClusterClient  # noqa: E402
from cli.events_stream import watch_events  # noqa: E402
from common.tls import TlsFiles  # noqa: E402
from proto.v1 import events_pb2  # noqa: E402


def scrape(address: str) -> dict:
    """{metric family name: [(labels, value), ...]} from a /metrics endpoint."""
    with urllib.request.urlopen(f"http://{address}/metrics", timeout=10) as reply:
        text = reply.read().decode()
    families = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            families.setdefault(sample.name, []).append((dict(sample.labels), sample.value))
    return families


def value(families: dict, name: str, **labels) -> float:
    """The sum of the samples of `name` whose labels include `labels`."""
    return sum(v for sample_labels, v in families.get(name, [])
               if all(sample_labels.get(k) == want for k, want in labels.items()))


def json_log_lines(path: Path) -> list[dict]:
    lines = []
    for line in Path(path).read_text(errors="replace").splitlines():
        if line.startswith("{"):
            try:
                lines.append(json.loads(line))
            except ValueError:
                pass
    return lines


class EventWatcher:
    """Follows the event stream in a thread, starting at `endpoints[0]`."""

    def __init__(self, endpoints: list[str], home: Path, after_sequence: int):
        self.client = ClusterClient(endpoints, TlsFiles.in_dir(home / "tls", "admin"))
        self.events: list = []
        self.error: BaseException | None = None
        self.stop = threading.Event()
        request = events_pb2.WatchEventsRequest(after_sequence=after_sequence, follow=True)
        self.thread = threading.Thread(target=self._run, args=(request,), daemon=True)
        self.thread.start()

    def _run(self, request) -> None:
        try:
            watch_events(self.client, request, self.events.append, stop=self.stop, give_up_after=60)
        except BaseException as err:  # noqa: BLE001 - reported by the test
            self.error = err

    def close(self) -> None:
        self.stop.set()
        self.thread.join(timeout=10)
        self.client.close()
