"""How the emulator speaks HTTP: one connection serves a client's requests one after another (HTTP/1.1
persistent connections), where werkzeug's development server closes it after every reply.

A new connection costs the client a TCP connect and the server a thread (socketserver starts one per
connection), several percent of an emulated request's time. werkzeug closes every connection because its
handler cannot tell where a request's body ends when the application leaves some of it unread; this
handler reads the whole body before the application runs and buffers the whole reply before sending it,
so every reply is framed by a Content-Length and the next request starts where this one ended. What a
request is answered is the application's (`middleware.py`'s) alone: only the framing changes.

`server.py` serves `EmulatorMiddleware` with `handler_for(connections)`; `Emulator.stop` closes the
connections still open (`Connections.close`), so a client kept-alive gets no answer from a stopped emulator.
"""

from __future__ import annotations

import contextlib
import io
import logging
import socket
import threading
from collections.abc import Callable, Iterable
from typing import Any

log = logging.getLogger(__name__)

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]

#: Replies that never carry a body, whatever their headers say (RFC 9110 6.4.1).
_NO_BODY_STATUSES = frozenset({204, 304})


class Connections:
    """The connections a server has open. Once closed, it shuts the reading side of every connection it
    holds or is given: a handler waiting for its client's next request sees the end of the stream and
    ends, and one serving a request still sends its reply."""

    def __init__(self) -> None:
        self._open: set[socket.socket] = set()
        self._closed = False
        self._lock = threading.Lock()

    def add(self, connection: socket.socket) -> None:
        with self._lock:
            self._open.add(connection)
            if self._closed:
                _stop_reading(connection)

    def discard(self, connection: socket.socket) -> None:
        with self._lock:
            self._open.discard(connection)

    def close(self) -> None:
        with self._lock:
            self._closed = True
            for connection in self._open:
                _stop_reading(connection)


def _stop_reading(connection: socket.socket) -> None:
    with contextlib.suppress(OSError):  # the client has gone already
        connection.shutdown(socket.SHUT_RD)


def handler_for(connections: Connections) -> type[Any]:
    """A request handler class for one server, registering its connections with `connections`."""
    from moto.moto_server.werkzeug_app import MotoRequestHandler  # moto loads slowly: only when serving
    from werkzeug.exceptions import InternalServerError

    class PersistentHandler(MotoRequestHandler):
        """moto's request handler (it keeps S3 metadata headers with underscores), keeping each connection
        open until the client closes it, and without a log line per request."""

        protocol_version = "HTTP/1.1"
        # A reply leaves in one write; no need to hold it back for the client's acknowledgement of the last.
        disable_nagle_algorithm = True

        def setup(self) -> None:
            super().setup()
            connections.add(self.connection)

        def finish(self) -> None:
            connections.discard(self.connection)
            super().finish()

        def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
            pass

        def run_wsgi(self) -> None:
            # http.server has answered `Expect: 100-continue` already (parse_request), as the client asked.
            environ = self.environ = self.make_environ()
            try:
                _read_whole_body(environ)
                status, headers, body = run_app(self.server.app, environ)
            except Exception:
                log.exception("the emulator failed on %s %s", self.command, self.path)
                self.close_connection = True  # the request's end may not have been found
                status, headers, body = run_app(InternalServerError(), environ)
            self._send(status, headers, body)

        def _send(self, status: str, headers: list[tuple[str, str]], body: bytes) -> None:
            code, _, reason = status.partition(" ")
            self.send_response(int(code), reason)
            for name, value in headers:
                self.send_header(name, value)
            lengths = [value for name, value in headers if name.lower() == "content-length"]
            if self.command == "HEAD" or int(code) in _NO_BODY_STATUSES or int(code) < 200:
                body = b""  # the headers describe the body a GET would get; none follows
            elif not lengths:
                self.send_header("Content-Length", str(len(body)))
            elif lengths != [str(len(body))]:
                self.close_connection = True  # where the body ends is the connection's end, as before
            if self.close_connection:
                self.send_header("Connection", "close")
            elif self.request_version == "HTTP/1.0":
                self.send_header("Connection", "keep-alive")  # parse_request kept it open: the client asked
            self._headers_buffer.append(b"\r\n")
            self._headers_buffer.append(body)
            self.flush_headers()

    return PersistentHandler


def _read_whole_body(environ: dict[str, Any]) -> None:
    """Read the request's body off the connection before the application sees it, however much of it the
    application reads: what is left on the connection is the client's next request."""
    stream = environ["wsgi.input"]
    length = environ.get("CONTENT_LENGTH")
    if environ.get("wsgi.input_terminated"):  # chunked: werkzeug's reader stops after the last chunk
        environ["wsgi.input"] = io.BytesIO(stream.read())
    elif length:
        environ["wsgi.input"] = io.BytesIO(stream.read(int(length)))
    else:  # HTTP/1.1: without a length or chunks, a request has no body
        environ["wsgi.input"] = io.BytesIO(b"")


def run_app(app: WSGIApp, environ: dict[str, Any]) -> tuple[str, list[tuple[str, str]], bytes]:
    """Run a WSGI application to the end: its status, headers and whole body."""
    started: list[tuple[str, list[tuple[str, str]]]] = []
    written: list[bytes] = []

    def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
        started[:] = [(status, headers)]
        return written.append

    result = app(environ, start_response)
    try:
        written.extend(result)
    finally:
        close = getattr(result, "close", None)
        if close is not None:
            close()
    status, headers = started[0]
    return status, headers, b"".join(written)
