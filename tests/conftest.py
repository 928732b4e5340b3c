"""Shared fixtures: a real embedded server on loopback, and clients for it."""

from __future__ import annotations

import pytest

from convowidget import ConvoClient, serve


@pytest.fixture
def server():
    with serve(chunk_delay=0) as running:
        yield running


@pytest.fixture
def client(server):
    return ConvoClient(url=server.url, agent_id="demo", idle_timeout=5)
