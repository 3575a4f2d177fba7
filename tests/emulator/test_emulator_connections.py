"""The emulator's HTTP connections: a client's requests share one, each reply framed so that the next
request and reply start where the last ended, and a stopped emulator closes the ones still open."""

from __future__ import annotations

import http.client
import socket
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from botocore.auth import S3SigV4Auth, SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from emulator_helpers import ACCOUNT, REGION, ClientFactory
from werkzeug.serving import make_server

from runner.emulator import EMULATOR_ACCESS_KEY, EMULATOR_SECRET_KEY, Emulator
from runner.emulator.connections import Connections, handler_for

#: Long enough for any machine; a test that reaches it has found a connection left hanging.
PATIENCE = 30.0
CALLER_IDENTITY = "Action=GetCallerIdentity&Version=2011-06-15"


def signed(service: str, method: str, url: str, body: bytes = b"", **headers: str) -> AWSRequest:
    request = AWSRequest(method=method, url=url, data=body, headers=headers)
    auth = S3SigV4Auth if service == "s3" else SigV4Auth
    auth(Credentials(EMULATOR_ACCESS_KEY, EMULATOR_SECRET_KEY), service, REGION).add_auth(request)
    return request


def send(connection: http.client.HTTPConnection, request: AWSRequest, chunked: bool = False) -> Any:
    path = request.url.split("/", 3)[3] if request.url.count("/") > 2 else ""
    body: Any = [request.body] if chunked else request.body
    connection.request(request.method, "/" + path, body=body, headers=dict(request.headers),
                       encode_chunked=chunked)
    return connection.getresponse()


def caller_identity(endpoint: str) -> AWSRequest:
    return signed("sts", "POST", f"{endpoint}/", CALLER_IDENTITY.encode(),
                  **{"Content-Type": "application/x-www-form-urlencoded"})


def connect(emulator: Emulator) -> http.client.HTTPConnection:
    return http.client.HTTPConnection("127.0.0.1", emulator.port, timeout=PATIENCE)


def test_a_client_sends_several_requests_on_one_connection(emu: Emulator) -> None:
    connection = connect(emu)
    answers, sockets = [], set()
    for _ in range(3):
        reply = send(connection, caller_identity(emu.endpoint))
        answers.append((reply.status, ACCOUNT.encode() in reply.read(), reply.getheader("Connection")))
        sockets.add(connection.sock)
    assert answers == [(200, True, None)] * 3
    assert len(sockets) == 1  # one socket: the server kept it open
    connection.close()


def test_a_chunked_request_body_ends_where_the_next_request_starts(emu: Emulator) -> None:
    connection = connect(emu)
    chunked = send(connection, caller_identity(emu.endpoint), chunked=True)
    assert (chunked.status, ACCOUNT.encode() in chunked.read()) == (200, True)
    plain = send(connection, caller_identity(emu.endpoint))
    assert (plain.status, ACCOUNT.encode() in plain.read()) == (200, True)
    connection.close()


def test_a_head_reply_has_no_body_and_the_next_reply_is_whole(emu: Emulator, aws: ClientFactory) -> None:
    s3 = aws("s3")
    s3.create_bucket(Bucket="kept-alive")
    s3.put_object(Bucket="kept-alive", Key="k", Body=b"0123456789")
    connection = connect(emu)
    head = send(connection, signed("s3", "HEAD", f"{emu.endpoint}/kept-alive/k"))
    assert (head.status, head.getheader("Content-Length"), head.read()) == (200, "10", b"")
    get = send(connection, signed("s3", "GET", f"{emu.endpoint}/kept-alive/k"))
    assert (get.status, get.read()) == (200, b"0123456789")
    connection.close()


def test_a_client_that_closes_without_reading_leaves_the_emulator_serving(emu: Emulator) -> None:
    impatient = connect(emu)
    impatient.request("POST", "/", body=CALLER_IDENTITY)
    impatient.close()
    connection = connect(emu)
    reply = send(connection, caller_identity(emu.endpoint))
    assert (reply.status, ACCOUNT.encode() in reply.read()) == (200, True)
    connection.close()


def test_stop_closes_an_idle_kept_alive_connection() -> None:
    emulator = Emulator().start()
    connection = connect(emulator)
    assert send(connection, caller_identity(emulator.endpoint)).read()
    emulator.stop()  # returns with the connection still open on the client's side
    assert connection.sock is not None
    assert connection.sock.recv(1) == b""  # the server's end of it is closed: no answer after stop()
    connection.close()


# The handler on its own, serving plain WSGI applications: replies the emulator's middleware never makes.

Serve = Callable[[Any], int]


@pytest.fixture
def serve() -> Iterator[Serve]:
    """serve(app) -> the port of a server running `app` with the emulator's handler."""
    servers: list[Any] = []

    def start(app: Any) -> int:
        server = make_server("127.0.0.1", 0, app, threaded=True, request_handler=handler_for(Connections()))
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return int(server.server_port)

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


def local(port: int) -> http.client.HTTPConnection:
    return http.client.HTTPConnection("127.0.0.1", port, timeout=PATIENCE)


def replying(status: str, headers: list[tuple[str, str]], body: bytes) -> Any:
    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        start_response(status, headers)
        return [body]
    return app


def test_a_reply_without_a_length_is_given_one(serve: Serve) -> None:
    connection = local(serve(replying("200 OK", [("Content-Type", "text/plain")], b"hello")))
    for _ in range(2):
        connection.request("GET", "/")
        reply = connection.getresponse()
        assert (reply.getheader("Content-Length"), reply.read(), reply.will_close) == ("5", b"hello", False)


def test_a_reply_whose_length_is_wrong_closes_the_connection(
    serve: Serve,
) -> None:
    connection = local(serve(replying("200 OK", [("Content-Length", "3")], b"hello")))
    connection.request("GET", "/")
    reply = connection.getresponse()
    assert (reply.getheader("Connection"), reply.read()) == ("close", b"hel")


@pytest.mark.parametrize("method, status", [("HEAD", "200 OK"), ("GET", "204 No Content"), ("GET", "304 Not Modified")])
def test_a_reply_that_has_no_body_sends_none(
    serve: Serve, method: str, status: str,
) -> None:
    connection = local(serve(replying(status, [], b"stray")))
    for _ in range(2):  # stray bytes would be read as the start of the second reply
        connection.request(method, "/")
        reply = connection.getresponse()
        assert (reply.status, reply.read(), reply.will_close) == (int(status[:3]), b"", False)


def test_an_application_that_fails_gets_a_500_and_the_connection_closed(
    serve: Serve,
) -> None:
    def failing(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        raise RuntimeError("boom")

    connection = local(serve(failing))
    connection.request("GET", "/")
    reply = connection.getresponse()
    assert (reply.status, reply.getheader("Connection")) == (500, "close")
    reply.read()


def test_an_http_1_0_client_keeps_its_connection_only_when_it_asks(serve: Serve) -> None:
    port = serve(replying("200 OK", [], b"ok"))
    for ask, kept in ((b"", False), (b"Connection: keep-alive\r\n", True)):
        with socket.create_connection(("127.0.0.1", port), timeout=PATIENCE) as client:
            client.sendall(b"GET / HTTP/1.0\r\n" + ask + b"\r\n")
            reply = b""
            while not reply.endswith(b"\r\n\r\nok"):
                reply += client.recv(4096)
            assert (b"Connection: keep-alive" in reply) is kept
            assert (b"Connection: close" in reply) is not kept
