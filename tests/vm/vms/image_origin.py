"""A plain HTTP server for image fetch tests: serves files and canned answers on a
loopback address and counts every request it sees, so a test can tell a refused fetch
from one that reached the server."""
from __future__ import annotations

import collections
import contextlib
import http.server
import threading
from pathlib import Path
from typing import Callable

Route = Callable[[http.server.BaseHTTPRequestHandler], None]


class Origin:
    def __init__(self, host: str):
        self.routes: dict[str, Route] = {}
        self.requests: collections.Counter[str] = collections.Counter()
        origin = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 - http.server's name
                origin.requests[self.path] += 1
                route = origin.routes.get(self.path)
                if route is None:
                    self.send_error(404)
                else:
                    route(self)

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer((host, 0), Handler)
        self.server.daemon_threads = True
        self.host = host
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def url(self, path: str, host: str | None = None) -> str:
        return f"http://{host or self.host}:{self.port}{path}"

    @property
    def total(self) -> int:
        return sum(self.requests.values())

    def file(self, path: str, source: Path) -> None:
        def send(handler):
            data = source.read_bytes()
            handler.send_response(200)
            handler.send_header("Content-Length", str(len(data)))
            handler.end_headers()
            handler.wfile.write(data)
        self.routes[path] = send

    def redirect(self, path: str, location: str) -> None:
        def send(handler):
            handler.send_response(302)
            handler.send_header("Location", location)
            handler.send_header("Content-Length", "0")
            handler.end_headers()
        self.routes[path] = send

    def claims(self, path: str, length: int, body: bytes = b"") -> None:
        """Answer with a Content-Length of `length` and `body` (not that long)."""
        def send(handler):
            handler.send_response(200)
            handler.send_header("Content-Length", str(length))
            handler.end_headers()
            with contextlib.suppress(OSError):
                handler.wfile.write(body)
        self.routes[path] = send

    def streams(self, path: str, chunks: int, chunk: bytes) -> None:
        """Answer with no Content-Length, `chunks` x `chunk`, then close."""
        def send(handler):
            handler.send_response(200)
            handler.send_header("Connection", "close")
            handler.end_headers()
            with contextlib.suppress(OSError):
                for _ in range(chunks):
                    handler.wfile.write(chunk)
            handler.close_connection = True
        self.routes[path] = send


@contextlib.contextmanager
def serving(host: str = "127.0.0.1"):
    origin = Origin(host)
    origin.thread.start()
    try:
        yield origin
    finally:
        origin.server.shutdown()
        origin.server.server_close()
