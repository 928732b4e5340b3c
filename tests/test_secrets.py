"""Owner id, user id, token, e-mail and phone never show in reprs, logs or errors."""

from __future__ import annotations

import logging
import socket

import pytest
from conftest import SECRETS

from convowidget import ConfigurationError, ConvoClient, Faults, serve


def _assert_clean(*texts: str) -> None:
    for text in texts:
        for name, secret in SECRETS.items():
            assert secret not in text, f"{name} leaked into: {text[:200]!r}"


@pytest.fixture
def debug_logs(caplog):
    """Every logger that could print a secret at DEBUG, for this test only."""
    caplog.set_level(logging.DEBUG)
    names = ("websockets", "websockets.client", "websockets.server", "asyncio", "convowidget")
    levels = {name: logging.getLogger(name).level for name in names}
    for name in names:
        logging.getLogger(name).setLevel(logging.DEBUG)
    yield caplog
    for name, level in levels.items():  # later tests must not keep DEBUG records of big replies
        logging.getLogger(name).setLevel(level)


def test_secrets_absent_from_logs_reprs_and_replies_with_debug_on(debug_logs):
    def echo(request):
        yield "got it "

    with serve(echo, chunk_delay=0) as server:
        client = ConvoClient(url=server.url, agent_id="agent", **SECRETS)
        reply = client.ask("hello")
        failed = ConvoClient(url=server.url.replace("/interact", "/x"), agent_id="a", **SECRETS).ask("hi")
    with serve(echo, chunk_delay=0, faults=Faults(close_after=0, close_code=4001, close_reason="denied")) as server:
        closed = ConvoClient(url=server.url, agent_id="a", **SECRETS).ask("hi")
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    refused = ConvoClient(url=f"ws://127.0.0.1:{port}/interact", agent_id="a", **SECRETS).ask("hi")

    assert reply.status == "complete" and reply.text == "got it "
    assert [r.status for r in (failed, closed, refused)] == ["failed"] * 3
    assert debug_logs.records, "DEBUG logging captured nothing; the test would prove nothing"
    _assert_clean(
        debug_logs.text,
        repr(client),
        str(vars(client).get("url")),
        repr(reply),
        str(reply.to_dict()),
        *(r.error or "" for r in (failed, closed, refused)),
    )


def test_secrets_do_reach_the_server_in_the_request():
    """The other half: the secrets are sent where they belong, so the test above is meaningful."""
    seen = {}

    def spy(request):
        seen.update(request.request)
        return "ok"

    with serve(spy, chunk_delay=0) as server:
        ConvoClient(url=server.url, agent_id="agent", **SECRETS).ask("hello")
    assert seen["agentData"] == {"ownerID": SECRETS["owner_id"], "userID": SECRETS["user_id"]}
    assert seen["lightConvoData"]["userEmail"] == SECRETS["user_email"]


def test_url_with_credentials_is_not_echoed_in_errors():
    client = ConvoClient(url="ws://user:TOKEN-a9b8c7@127.0.0.1:1/interact?key=TOKEN-a9b8c7", agent_id="a")
    reply = client.ask("hi")
    assert reply.status == "failed"
    _assert_clean(reply.error or "", repr(client))


# A URL's user info, query string and fragment are secrets too: whatever parser splits the
# address, and whatever library words the error, none of these pieces may show.
URL_SECRETS = ("UZ3R", "PW9", "Zq", "W0RD", "K3Y", "fr4g")
ENCODED = "UZ3R:PW9%2FZq%23%3FW0RD"  # a password holding / # ? as it should be written


def _assert_no_url_secret(*texts: str) -> None:
    for text in texts:
        for secret in URL_SECRETS:
            assert secret not in text, f"{secret!r} leaked into: {text[:300]!r}"


@pytest.mark.parametrize(
    "template",
    [
        "ws://UZ3R:PW9/Zq#?W0RD@127.0.0.1:{port}/interact?api_key=K3Y#fr4g",  # raw / # ? in the password
        "ws://UZ3R:PW9?Zq@127.0.0.1:{port}/interact",
        "ws://UZ3R:PW9#Zq@127.0.0.1:{port}/interact",
        "ws://UZ3R:99/Zq@127.0.0.1:{port}/interact?api_key=K3Y",  # reads as host UZ3R, port 99
        "ws://UZ3R:PW9@127.0.0.1:{port}/interact?api_key=K3Y#fr4g",  # websockets refuses fragments
        "ws://UZ3R@127.0.0.1:{port}/interact?api_key=K3Y",  # websockets wants a password too
        "ws://UZ3R:PW9%FFZq@127.0.0.1:{port}/interact?api_key=K3Y",  # not UTF-8 once decoded
        "wss://UZ3R:PW9/Zq@127.0.0.1:{port}/interact?api_key=K3Y",
    ],
)
def test_a_malformed_url_is_refused_without_quoting_its_secrets(template, debug_logs):
    url = template.format(port=8765)
    with pytest.raises(ConfigurationError) as raised:
        ConvoClient(url=url, agent_id="a")
    assert str(raised.value).startswith("url: ")
    _assert_no_url_secret(str(raised.value), debug_logs.text)


def test_url_secrets_stay_out_of_errors_reprs_and_logs_on_every_path(debug_logs, monkeypatch):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        closed_port = sock.getsockname()[1]
    with serve(chunk_delay=0) as server:
        port = server.port
        urls = [
            f"ws://{ENCODED}@127.0.0.1:{port}/interact?api_key=K3Y",  # accepted by the server
            f"ws://{ENCODED}@127.0.0.1:{port}/nope?api_key=K3Y",  # HTTP 404
            f"ws://{ENCODED}@127.0.0.1:{closed_port}/interact?api_key=K3Y",  # connection refused
            f"wss://{ENCODED}@127.0.0.1:{port}/interact?api_key=K3Y",  # TLS to a plain server
        ]
        clients = [ConvoClient(url=url, agent_id="a", open_timeout=5) for url in urls]
        replies = [client.ask("hi") for client in clients]
        retried = clients[2]

        async def no_wait(delay, stop_event):
            return None

        monkeypatch.setattr(retried, "_backoff", no_wait)
        replies += retried.ask_many(["hi"], progress=False, retries=1)  # logs each retry
    assert [r.status for r in replies] == ["complete", "failed", "failed", "failed", "failed"]
    assert any(record.name == "convowidget.client" for record in debug_logs.records)
    _assert_no_url_secret(
        debug_logs.text,
        *(repr(client) for client in clients),
        *(repr(reply) for reply in replies),
        *(str(reply.to_dict()) for reply in replies),
    )


def test_redact_removes_a_url_and_its_secret_parts_from_any_library_text():
    from websockets.exceptions import InvalidURI

    from convowidget._urls import redact

    url = f"ws://{ENCODED}@127.0.0.1:1/interact?api_key=K3Y&x=1"
    text = redact(f"{InvalidURI(url, 'something')} / user {'PW9/Zq#?W0RD'} / query api_key=K3Y", url)
    _assert_no_url_secret(text)
    assert "ws://127.0.0.1:1/interact isn't a valid URI: something" in text
