"""Owner id, user id, token, e-mail and phone never show in reprs, logs or errors."""

from __future__ import annotations

import logging
import socket

import pytest
from conftest import SECRETS

from convowidget import ConvoClient, Faults, serve


def _assert_clean(*texts: str) -> None:
    for text in texts:
        for name, secret in SECRETS.items():
            assert secret not in text, f"{name} leaked into: {text[:200]!r}"


@pytest.fixture
def debug_logs(caplog):
    caplog.set_level(logging.DEBUG)
    for name in ("websockets", "websockets.client", "websockets.server", "asyncio", "convowidget"):
        logging.getLogger(name).setLevel(logging.DEBUG)
    return caplog


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
