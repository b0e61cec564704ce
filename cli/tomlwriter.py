"""Just enough TOML writing for the daemons' config files.

Top-level keys hold strings, numbers, booleans, paths or lists of those; a list of
tables (dicts) is written as an array of tables (`[[members]]`), a dict as a table.
"""
from __future__ import annotations

import math
from pathlib import PurePath

_ESCAPES = {"\\": "\\\\", '"': '\\"', "\b": "\\b", "\t": "\\t", "\n": "\\n", "\f": "\\f", "\r": "\\r"}


def _string(value: str) -> str:
    out = []
    for char in value:
        if char in _ESCAPES:
            out.append(_ESCAPES[char])
        elif ord(char) < 0x20 or ord(char) == 0x7F:
            out.append(f"\\u{ord(char):04X}")
        else:
            out.append(char)
    return '"' + "".join(out) + '"'


def _key(key: str) -> str:
    bare = key and all(c.isascii() and (c.isalnum() or c in "-_") for c in key)
    return key if bare else _string(key)


def value(item) -> str:
    """One TOML value (no tables)."""
    if isinstance(item, bool):
        return "true" if item else "false"
    if isinstance(item, int):
        return str(item)
    if isinstance(item, float):
        if math.isnan(item) or math.isinf(item):
            raise ValueError(f"cannot write {item!r} as TOML")
        return repr(item)
    if isinstance(item, PurePath):
        return _string(str(item))
    if isinstance(item, str):
        return _string(item)
    if isinstance(item, (list, tuple)):
        return "[" + ", ".join(value(v) for v in item) + "]"
    raise TypeError(f"cannot write {item!r} as a TOML value")


def _is_table_list(item) -> bool:
    return isinstance(item, (list, tuple)) and bool(item) and all(isinstance(v, dict) for v in item)


def _scalars(table: dict) -> list[str]:
    return [f"{_key(k)} = {value(v)}" for k, v in table.items()
            if not isinstance(v, dict) and not _is_table_list(v)]


def dumps(doc: dict, comments: dict[str, str] | None = None) -> str:
    """TOML text for `doc`; `comments` puts "# text" above the named top-level keys."""
    comments = comments or {}
    lines: list[str] = []
    for key, item in doc.items():
        if isinstance(item, dict) or _is_table_list(item):
            continue
        if key in comments:
            lines.append(f"# {comments[key]}")
        lines.append(f"{_key(key)} = {value(item)}")
    for key, item in doc.items():
        if isinstance(item, dict):
            lines += ["", *([f"# {comments[key]}"] if key in comments else []), f"[{_key(key)}]"]
            lines += _scalars(item)
        elif _is_table_list(item):
            for index, table in enumerate(item):
                lines.append("")
                if index == 0 and key in comments:
                    lines.append(f"# {comments[key]}")
                lines += [f"[[{_key(key)}]]", *_scalars(table)]
    return "\n".join(lines) + "\n"
