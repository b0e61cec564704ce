"""Argument converters: obvious mistakes are caught before anything is sent.

Only a convenience: the server validates everything again. Each raises
argparse.ArgumentTypeError, which the parser turns into one line and exit code 2.
"""
from __future__ import annotations

import argparse
import shlex

from common.errors import InvalidArgument
from common.ids import check_name
from common.units import parse_size


def size(text: str) -> int:
    try:
        value = parse_size(text)
    except ValueError as err:
        raise argparse.ArgumentTypeError(str(err)) from None
    return value


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{value} must be at least 1")
    return value


def non_negative_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"{value} must not be negative")
    return value


def seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"{text} must be more than 0 seconds")
    return value


def key_value(text: str) -> tuple[str, str]:
    key, sep, value = text.partition("=")
    if not sep or not key.strip():
        raise argparse.ArgumentTypeError(f"{text!r} is not KEY=VALUE")
    return key.strip(), value


def command(text: str) -> list[str]:
    """A command line split the way a POSIX shell would ("httpd -f -p 8080")."""
    try:
        argv = shlex.split(text)
    except ValueError as err:
        raise argparse.ArgumentTypeError(f"cannot split {text!r}: {err}") from None
    if not argv:
        raise argparse.ArgumentTypeError("the command is empty")
    return argv


def resource_name(text: str) -> str:
    try:
        return check_name(text)
    except InvalidArgument as err:
        raise argparse.ArgumentTypeError(err.message.partition(": ")[2] or err.message) from None
