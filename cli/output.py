"""What the `cloud` command prints: rich tables for people, JSON for scripts.

JSON is the protobuf JSON mapping (`MessageToDict`) with the proto's own field
names, every field present (zeros included) and 64-bit integers as numbers.
"""
from __future__ import annotations

import datetime as dt
import json
import os
import sys
import time
from typing import Iterable, Sequence

from google.protobuf import json_format
from google.protobuf.message import Message
from google.protobuf.timestamp_pb2 import Timestamp
from rich.console import Console
from rich.table import Table
from rich.text import Text

from common.units import format_size

FORMATS = ("table", "json")

_STYLES = {
    "RUNNING": "green", "UP": "green", "LEADER": "bold green", "yes": "green",
    "PENDING": "yellow", "CANDIDATE": "yellow", "DELETING": "yellow",
    "STOPPED": "dim", "FOLLOWER": "",
    "FAILED": "red", "LOST": "red", "DOWN": "red", "no": "red",
}


def enum_label(enum_type, value: int, prefix: str) -> str:
    """resources_pb2.InstanceState, 2, "INSTANCE_STATE_" -> "RUNNING"."""
    try:
        name = enum_type.Name(value)
    except ValueError:
        return str(value)
    return name[len(prefix):] if name.startswith(prefix) else name


def size(n: int) -> str:
    """Bytes as people read them; 0 prints as "0"."""
    return format_size(n) if n else "0"


def age(seconds: float) -> str:
    """A duration relative to now: "3s ago", "5m ago", "2h ago", "4d ago"; "in 3s" ahead."""
    ahead = seconds < 0
    seconds = abs(int(seconds))
    for unit, span in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= span:
            amount = f"{seconds // span}{unit}"
            break
    else:
        amount = f"{seconds}s"
    return f"in {amount}" if ahead else f"{amount} ago"


def is_set(ts: Timestamp) -> bool:
    return bool(ts.seconds or ts.nanos)


def timestamp(ts: Timestamp, now: float | None = None) -> str:
    """Local ISO time with its age, "2024-05-01T14:03:09+02:00 (3s ago)"; "-" when unset."""
    if not is_set(ts):
        return "-"
    when = ts.seconds + ts.nanos / 1e9
    local = dt.datetime.fromtimestamp(ts.seconds).astimezone().isoformat(timespec="seconds")
    return f"{local} ({age((now if now is not None else time.time()) - when)})"


def since(ts: Timestamp, now: float | None = None) -> str:
    """Only the age of a timestamp ("3s ago"), for table columns; "-" when unset."""
    if not is_set(ts):
        return "-"
    return age((now if now is not None else time.time()) - (ts.seconds + ts.nanos / 1e9))


def pairs(mapping) -> str:
    """{"a": "1", "b": "2"} -> "a=1,b=2"; "-" when empty."""
    return ",".join(f"{k}={v}" for k, v in sorted(mapping.items())) or "-"


def to_dict(message: Message) -> dict:
    return json_format.MessageToDict(
        message, preserving_proto_field_name=True,
        always_print_fields_with_no_presence=True, unquote_int64_if_possible=True)


def _cell(value) -> Text:
    text = "-" if value is None or value == "" else str(value)
    return Text(text, style=_STYLES.get(text, ""))


class Output:
    """Prints results in the chosen format on `stream` (stdout by default)."""

    def __init__(self, fmt: str = "table", stream=None):
        if fmt not in FORMATS:
            raise ValueError(f"unknown output format {fmt!r}")
        self.format = fmt
        self.stream = stream or sys.stdout
        is_tty = hasattr(self.stream, "isatty") and self.stream.isatty()
        # Piped into a file or a test, keep whole lines instead of rich's 80 columns.
        width = None if is_tty else int(os.environ.get("COLUMNS", "0") or 0) or 200
        self.console = Console(file=self.stream, width=width, highlight=False,
                               soft_wrap=False, emoji=False)

    @property
    def json(self) -> bool:
        return self.format == "json"

    def data(self, value) -> None:
        """`value` (a message or plain data) as indented JSON."""
        if isinstance(value, Message):
            value = to_dict(value)
        self.stream.write(json.dumps(value, indent=2) + "\n")
        self.stream.flush()

    def table(self, columns: Sequence[str], rows: Iterable[Sequence], title: str | None = None) -> None:
        table = Table(title=title, title_justify="left", box=None, header_style="bold",
                      pad_edge=False, show_edge=False)
        for column in columns:
            table.add_column(column, overflow="fold")
        for row in rows:
            table.add_row(*(_cell(value) for value in row))
        self.console.print(table)

    def fields(self, items: Sequence[tuple[str, object]], title: str | None = None) -> None:
        """A two-column "key  value" listing for one resource."""
        table = Table(title=title, title_justify="left", box=None, show_header=False,
                      pad_edge=False, show_edge=False)
        table.add_column(style="bold")
        table.add_column(overflow="fold")
        for key, value in items:
            table.add_row(Text(key), _cell(value))
        self.console.print(table)

    def line(self, text: str) -> None:
        self.console.print(Text(text))
