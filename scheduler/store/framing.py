"""Length-prefixed JSON messages between a RaftStore and its Raft process.

Each frame is a 4-byte big-endian length followed by that many bytes of UTF-8 JSON.
Never pickle: the socket is the Raft process's only input besides Raft itself.
"""

from __future__ import annotations

import json
import socket
import struct

_LEN = struct.Struct(">I")
SOCKET_FILE = "raft.sock"  # in the data dir
MAX_FRAME = 1 << 30


def encode(message: dict) -> bytes:
    body = json.dumps(message, separators=(",", ":"), default=repr).encode()
    return _LEN.pack(len(body)) + body


class FrameReader:
    """Reads whole frames from a blocking socket."""

    def __init__(self, sock: socket.socket):
        self._sock = sock
        self._buf = bytearray()

    def read(self) -> dict | None:
        """The next message, or None when the peer closed the connection."""
        while True:
            if len(self._buf) >= _LEN.size:
                (length,) = _LEN.unpack_from(self._buf)
                if length > MAX_FRAME:
                    raise ValueError("frame too large")
                end = _LEN.size + length
                if len(self._buf) >= end:
                    body = bytes(self._buf[_LEN.size:end])
                    del self._buf[:end]
                    return json.loads(body)
            chunk = self._sock.recv(1 << 20)
            if not chunk:
                return None
            self._buf += chunk
