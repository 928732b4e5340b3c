"""Shared fixtures: a real embedded server on loopback, and clients for it."""

from __future__ import annotations

import comm
import pytest
from comm.base_comm import BaseComm
from suite_helpers import HOSTILE, quiet

from convowidget import ConvoClient, serve
from convowidget.suite import Scenario, Suite, Turn

# Owner id, user id, token, e-mail and phone: none may ever show outside the request.
SECRETS = {
    "owner_id": "OWNER-5f2c9",
    "user_id": "USER-81d0e",
    "token": "TOKEN-a9b8c7",
    "user_email": "ada.secret@example.org",
    "user_phone": "+44-7700-900123",
}


class RecordingComm(BaseComm):
    """A comm that keeps every message instead of sending it to a browser."""

    def __init__(self, **kwargs):
        self.sent: list[dict] = []
        super().__init__(**kwargs)

    def publish_msg(self, msg_type, data=None, metadata=None, buffers=None, **keys):
        self.sent.append({"msg_type": msg_type, "data": data or {}, "buffers": buffers or []})


@pytest.fixture
def recording_comm(monkeypatch):
    """Widgets made in the test record what they would send, with no agent configured."""
    monkeypatch.setattr(comm, "create_comm", lambda **kwargs: RecordingComm(**kwargs))
    for name in ("CONVOCORE_AGENT_ID", "CONVOCORE_URL", "CONVOCORE_OWNER_ID", "CONVOCORE_TOKEN"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def server():
    with serve(chunk_delay=0) as running:
        yield running


@pytest.fixture
def client(server):
    return ConvoClient(url=server.url, agent_id="demo", idle_timeout=5)


@pytest.fixture
def hostile_result():
    """Two runs of a suite whose agent answers a "bad" prompt with hostile HTML and control characters."""

    def agent(request):
        if "bad" in request.prompt:
            return HOSTILE
        return "fine"

    suite = Suite(
        [
            Scenario("fine", ["hello"]),
            Scenario("<b>hostile</b> \x01 name", [Turn("bad <i>prompt</i>", expect={"contains": "nothing"})]),
        ],
        name="hostile <suite>",
    )
    with serve(agent, chunk_delay=0) as server:
        yield quiet(ConvoClient(url=server.url, agent_id="a"), suite, repeat=2)
