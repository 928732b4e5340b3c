"""Connection failures in words: each names the cause a person can act on first, and the
technical detail after it, in parentheses. Every case is a real situation on loopback
(or an unresolvable name, which fails at once offline), never a mock.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import shutil
import socket
import ssl
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from test_transport import PROXY_VARIABLES, bare_server, free_port

from convowidget import ConvoClient
from convowidget._failures import open_failure

# A URL's user info and query string: none of them may show in any message below.
USER_INFO, QUERY = "UZ3R:PW9", "api_key=K3Y"
URL_SECRETS = ("UZ3R", "PW9", "K3Y")
# Exception names that must never lead a message (they may follow, in the detail).
PYTHON_WORDS = ("Error", "Exception", "gaierror", "Invalid", "Traceback", "errno")


@pytest.fixture(autouse=True)
def no_proxy(monkeypatch):
    """Failures here are the server's own; a proxy in the environment would change them."""
    for name in (*PROXY_VARIABLES, "no_proxy", "NO_PROXY"):
        monkeypatch.delenv(name, raising=False)


def with_secrets(url: str) -> str:
    """``url`` with user info and a query string added, which no message may quote."""
    scheme, rest = url.split("://", 1)
    return f"{scheme}://{USER_INFO}@{rest}?{QUERY}"


def split_detail(error: str) -> tuple[str, str]:
    """The words of a message and the technical detail in the parentheses that end it."""
    assert error.endswith(")"), f"no technical detail at the end of: {error!r}"
    depth = 0
    for position in range(len(error) - 1, -1, -1):
        depth += {")": 1, "(": -1}.get(error[position], 0)
        if depth == 0:
            return error[:position].rstrip(), error[position + 1 : -1]
    raise AssertionError(f"unbalanced parentheses in: {error!r}")


def assert_in_words(error: str | None, words: str, detail: str = "") -> None:
    """``words`` say the cause, before any Python name; ``detail`` sits in the final parentheses."""
    assert error is not None
    for secret in URL_SECRETS:
        assert secret not in error, f"{secret!r} leaked into: {error!r}"
    said, technical = split_detail(error)
    assert words in said, f"{words!r} not in the words of: {error!r}"
    assert detail in technical, f"{detail!r} not in the detail of: {error!r}"
    for name in PYTHON_WORDS:
        assert name not in said, f"{name!r} before the detail in: {error!r}"
    assert said[0].islower() or said.startswith(("ws://", "wss://")), error


def ask(url: str, **options: object):
    return ConvoClient(url=url, agent_id="x", **options).ask("hi")


# ---------------------------------------------------------------------- opening


def test_an_unknown_host_says_no_internet_or_dns():
    reply = ask(with_secrets("wss://agent.invalid/interact"), open_timeout=10)
    assert reply.status == "failed"
    assert_in_words(
        reply.error,
        "could not find the server agent.invalid: this machine has no internet connection or the name "
        "does not resolve (DNS). Check your network, or the url.",
        "gaierror: ",
    )


def test_a_closed_port_says_nothing_is_listening():
    url = f"ws://127.0.0.1:{free_port()}/interact"
    reply = ask(with_secrets(url))
    assert_in_words(
        reply.error,
        f"{url} refused the connection: nothing is listening there. Is the server running, and is the port right?",
        "ConnectionRefusedError: ",
    )


def test_refusals_merged_over_several_addresses_still_read_as_refused():
    # asyncio merges the errors of each address it tried (::1, then 127.0.0.1) into one
    # OSError; this machine resolves localhost to one address, so the text is built here.
    merged = OSError(
        "Multiple exceptions: [Errno 111] Connect call failed ('::1', 9, 0, 0), "
        "[Errno 111] Connect call failed ('127.0.0.1', 9)"
    )
    failure = open_failure(merged, "ws://localhost:9/interact", open_timeout=10)
    assert failure.retryable
    assert_in_words(failure.message, "ws://localhost:9/interact refused the connection", "Multiple exceptions")
    other = open_failure(
        OSError("Multiple exceptions: [Errno 111] a, [Errno 113] b"), "ws://localhost:9/x", open_timeout=1
    )
    assert not other.retryable and "could not connect to ws://localhost:9/x: the network failed" in other.message


@contextlib.contextmanager
def tcp_listener(behaviour: str) -> Iterator[int]:
    """A plain TCP server on loopback that, to each connection, does one thing: ``"close"`` it
    at once, stay ``"silent"``, or read what comes and answer in plain ``"http"`` or with
    another protocol's ``"banner"``."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    held: list[socket.socket] = []
    stop = threading.Event()

    def run() -> None:
        while True:
            connection, _ = listener.accept()
            if stop.is_set():
                connection.close()
                return
            if behaviour == "close":
                connection.close()
                continue
            if behaviour == "http":
                connection.recv(4096)
                connection.sendall(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
            if behaviour == "banner":
                connection.recv(4096)
                connection.sendall(b"SSH-2.0-OpenSSH_9.2\r\n")
                connection.shutdown(socket.SHUT_WR)  # and says no more, as such a server would
            held.append(connection)  # closed when the test ends

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    try:
        yield listener.getsockname()[1]
    finally:
        stop.set()
        socket.create_connection(listener.getsockname(), timeout=5).close()  # wakes accept()
        thread.join(5)
        listener.close()
        for connection in held:
            connection.close()


def test_a_server_that_never_answers_says_no_answer_within_open_timeout():
    with tcp_listener("silent") as port:
        url = f"ws://127.0.0.1:{port}/interact"
        reply = ask(with_secrets(url), open_timeout=0.3)
    assert reply.error == (
        f"no answer from {url} within open_timeout=0.3 s: "
        "the server is slow or unreachable; raise open_timeout or check the network"
    )


def test_tls_to_a_plain_server_says_the_server_does_not_speak_tls():
    with tcp_listener("http") as port:
        secure = f"wss://127.0.0.1:{port}/interact"
        reply = ask(with_secrets(secure), open_timeout=5)
    assert_in_words(
        reply.error,
        f"the secure connection (TLS) to {secure} failed: the server does not speak TLS on that port. "
        "Check the url's port, or use ws:// for a plain server on this machine.",
        "SSLError: [SSL: WRONG_VERSION_NUMBER]",
    )
    assert "_ssl.c" not in reply.error


def test_tls_cut_during_the_handshake_says_so():
    with tcp_listener("close") as port:
        url = f"wss://127.0.0.1:{port}/interact"
        reply = ask(with_secrets(url), open_timeout=5)
    assert_in_words(
        reply.error,
        f"the secure connection (TLS) to {url} failed: the server closed the connection during the TLS handshake",
    )


@pytest.fixture(scope="module")
def self_signed(tmp_path_factory) -> ssl.SSLContext:
    """A TLS server context with a fresh self-signed certificate for 127.0.0.1."""
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.skip("needs the openssl command to make a certificate")
    folder: Path = tmp_path_factory.mktemp("tls")
    key, cert = folder / "key.pem", folder / "cert.pem"
    subprocess.run(
        [openssl, "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
         "-keyout", str(key), "-out", str(cert), "-days", "2", "-subj", "/CN=127.0.0.1"],
        check=True, capture_output=True,
    )  # fmt: skip
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    return context


def test_an_untrusted_certificate_says_so_and_what_to_do(self_signed, monkeypatch):
    for name in ("SSL_CERT_FILE", "SSL_CERT_DIR"):
        monkeypatch.delenv(name, raising=False)
    with bare_server(lambda ws: ws.close(1000), ssl=self_signed) as url:
        secure = url.replace("ws://", "wss://")
        reply = ask(with_secrets(secure), open_timeout=5)
    assert_in_words(
        reply.error,
        f"the secure connection (TLS) to {secure} failed: the server's certificate is self-signed, so it is not "
        "trusted. On a company network that inspects traffic, point SSL_CERT_FILE at its certificate",
        "SSLCertVerificationError: [SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: self-signed",
    )


@pytest.mark.parametrize(
    ("status", "headers", "words", "detail"),
    [
        (
            401,
            {},
            "did not accept the credentials: the token or the agent id is wrong, or has no access to this agent. "
            "Check token= (CONVOCORE_TOKEN) and agent_id=.",
            "HTTP 401 Unauthorized",
        ),
        (403, {}, "did not accept the credentials", "HTTP 403 Forbidden"),
        (
            404,
            {},
            "has no agent service there: the url's path or the agent id is wrong. "
            "Check the url (the usual path is /interact) and agent_id=.",
            "HTTP 404 Not Found",
        ),
        (
            429,
            {"Retry-After": "7"},
            "is rate limiting: too many requests in a short time. Retry later (the server asks to wait 7 s).",
            "HTTP 429 Too Many Requests, Retry-After: 7",
        ),
        (500, {}, "has a problem on its side: try again later.", "HTTP 500 Internal Server Error"),
        (
            503,
            {"Retry-After": "30"},
            "has a problem on its side: try again later (the server asks to wait 30 s).",
            "HTTP 503 Service Unavailable, Retry-After: 30",
        ),
        (200, {}, "is not a WebSocket server: it answered like a web page. Check the url.", "HTTP 200 OK instead"),
        (400, {}, "turned the connection down: check the url and agent_id=.", "HTTP 400 Bad Request"),
    ],
)
def test_an_http_status_says_what_it_means_and_what_to_do(status, headers, words, detail):
    def refuse(connection, request):
        response = connection.respond(status, "no\n")
        for name, value in headers.items():
            response.headers[name] = value
        return response

    with bare_server(lambda ws: ws.close(1000), process_request=refuse) as url:
        reply = ask(with_secrets(url))
    assert reply.status == "failed"
    assert_in_words(reply.error, words, detail)
    assert url in reply.error


def test_a_redirect_says_it_is_not_followed():
    def redirect(connection, request):
        response = connection.respond(307, "moved\n")
        response.headers["Location"] = "wss://elsewhere.invalid/interact?token=K3Y"
        return response

    with bare_server(lambda ws: ws.close(1000), process_request=redirect) as url:
        reply = ask(with_secrets(url))
    assert reply.error == (
        f"{url} answered with an HTTP 307 redirect to wss://elsewhere.invalid/interact; "
        "convowidget does not follow redirects: use the final address as url="
    )


def test_an_unreachable_proxy_is_named_instead_of_the_server(monkeypatch):
    port = free_port()
    monkeypatch.setenv("https_proxy", f"http://proxyuser:PROXY-PW@127.0.0.1:{port}")
    reply = ask("wss://agent.example.invalid/interact", open_timeout=5)
    assert_in_words(
        reply.error,
        f"could not reach the proxy http://127.0.0.1:{port} set in the environment (https_proxy): "
        "nothing is listening there. Check the proxy settings, or unset https_proxy.",
        "ConnectionRefusedError",
    )
    assert "PROXY-PW" not in reply.error and "agent.example.invalid" not in reply.error


def test_a_server_of_another_protocol_says_it_is_not_a_websocket_server():
    with tcp_listener("banner") as port:
        url = f"ws://127.0.0.1:{port}/interact"
        reply = ask(with_secrets(url), open_timeout=5)
    assert_in_words(
        reply.error,
        f"{url} is not a WebSocket server: it did not answer in HTTP. Check the url's host and port.",
        "InvalidMessage: did not receive a valid HTTP response; ValueError: invalid HTTP status line: SSH-2.0",
    )


# ---------------------------------------------------------------------- closing during a reply


def _close_after_one_chunk(code: int | None, reason: str = ""):
    async def handler(ws):
        await ws.recv()
        await ws.send(json.dumps({"type": "chunk", "chunk": "first ", "chunkIndex": 0}))
        if code is None:
            ws.transport.abort()  # no close frame: a dropped connection
            await asyncio.sleep(0.1)
        else:
            await ws.close(code, reason)

    return handler


@pytest.mark.parametrize(
    ("code", "reason", "expected"),
    [
        (
            1001,
            "",
            "the server went away before the reply finished (it is shutting down or restarting). Try again. "
            "(close code 1001)",
        ),
        (
            1008,
            "unknown agent",
            'the server rejected the request: "unknown agent". Check the agent id, the token and the request\'s '
            "fields. (close code 1008)",
        ),
        (
            1009,
            "",
            "the server rejected the request as too big. Send a shorter prompt or fewer extra fields. "
            "(close code 1009)",
        ),
        (
            1011,
            "database is down",
            'the server had an internal error and ended the reply: "database is down". Try again later. '
            "(close code 1011)",
        ),
        (
            None,
            "",
            "the connection dropped before the reply finished: the network or the server failed. Try again. "
            "(close code 1006, no close frame)",
        ),
        (4000, "done", 'the server closed the connection before the reply finished: "done". (close code 4000)'),
    ],
)
def test_a_close_during_a_reply_says_what_the_code_means(code, reason, expected):
    with bare_server(_close_after_one_chunk(code, reason)) as url:
        reply = ask(with_secrets(url))
    assert reply.status == "failed" and reply.text == "first "
    assert reply.error == expected
    assert_in_words(reply.error, expected.partition(" (close code")[0], "close code")


def test_a_frame_over_max_size_names_the_option():
    async def big(ws):
        await ws.recv()
        await ws.send(json.dumps({"type": "chunk", "chunk": "x" * 5000, "chunkIndex": 0}))
        await ws.wait_closed()

    with bare_server(big) as url:
        reply = ask(url, max_size=1000)
    assert reply.error == (
        "a message from the server was bigger than max_size=1000 bytes: "
        "raise ConvoClient(max_size=...) to accept it. (close code 1009)"
    )
