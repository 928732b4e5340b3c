"""A long conversation costs the same per turn at turn 300 as at turn 1, in bytes and memory.

300 turns of 2,000-character replies, with the embedded server sending the whole history
as ``sync_chat_history`` every turn (as the real service does), the panel displayed and
every message to the front end recorded and packed as ipykernel packs it.
"""

from __future__ import annotations

import gc
import json
import re
import time
import tracemalloc

import pytest
from test_saved_copy import Outputs
from test_widget import displayed, kernel_packed, updates, wait_for

from convowidget import ChatWidget, ConvoClient, serve
from convowidget._saved_copy import NEWEST, PAGE_CHARS

TURNS = 300
REPLY_CHARS = 2_000


@pytest.fixture(autouse=True)
def _record(recording_comm):
    pass


def long_replies(request):
    """2,000 characters in 20 chunks, different each turn."""
    word = f"{request.prompt} "
    text = (word * (REPLY_CHARS // len(word) + 1))[:REPLY_CHARS]
    for start in range(0, REPLY_CHARS, 100):
        yield text[start : start + 100]


def _traced() -> int:
    gc.collect()
    return tracemalloc.get_traced_memory()[0]


@pytest.mark.timeout(600)
def test_300_turns_cost_flat_bytes_per_turn_and_linear_memory():
    with serve(long_replies, chunk_delay=0.0005, max_history_turns=10_000, max_history_bytes=2**26) as server:
        chat = ChatWidget(client=ConvoClient(url=server.url, agent_id="long"))
        with displayed() as shown:
            chat._ipython_display_()
            chat.ask("warm up")  # first-use imports and caches are not what is measured
            chat.new_conversation()
            chat.clear()
            wait_for(lambda: chat.transcript == [])
            time.sleep(0.1)
            tracemalloc.start()
            try:
                base = _traced()
                wire: list[int] = []
                copy: list[int] = []  # bytes of the saved copy's updates, per turn
                memory = {0: 0}
                for turn in range(1, TURNS + 1):
                    chat.comm.sent.clear()
                    before = len(shown)
                    reply = chat.ask(f"turn{turn}")
                    assert reply.status == "complete" and len(reply.text) == REPLY_CHARS
                    assert len(reply.turns) == 2 * turn  # the server did send the whole history
                    assert not any("transcript" in u for u in updates(chat))
                    wire.append(sum(len(kernel_packed(m)) for m in chat.comm.sent))
                    copy.append(sum(len(json.dumps(bundle)) for _, bundle, _ in shown[before:]))
                    if turn % 100 == 0:
                        memory[turn] = _traced() - base
            finally:
                tracemalloc.stop()
        final_copy = Outputs(shown).html()

    # Bytes: a turn sends its own text (the streamed deltas and the finished message), so
    # about twice 2,000 characters plus a few hundred bytes of framing, whatever came before.
    figures = {turn: wire[turn - 1] for turn in (1, 100, 200, 300)}
    print(f"\nbytes to the front end per turn: {figures}; memory growth: {memory}")
    assert all(size <= 2 * REPLY_CHARS + 4_000 for size in wire), max(wire)
    assert wire[-1] <= 3 * wire[0], figures
    # The copy for saved notebooks (refreshed after each reply here: no cell is running) sends
    # each turn once, plus now and then a page of the newest turns: never the conversation.
    print(f"saved copy bytes per turn: {dict((t, copy[t - 1]) for t in (1, 100, 200, 300))}, total {sum(copy):,}")
    assert max(copy) <= PAGE_CHARS + 2 * REPLY_CHARS + NEWEST * 200, max(copy)
    assert sum(copy[200:]) <= 1.2 * sum(copy[:100]), (sum(copy[:100]), sum(copy[200:]))
    assert re.findall(r"<blockquote><div>turn(\d+)</div>", final_copy) == [str(t) for t in range(1, TURNS + 1)]
    # Memory: what is kept grows with what was said. Each turn's 2,000 characters live in
    # a few places, each a 2 KB string or twenty 100-character chunks plus their dicts:
    # the reply's text and chunks (the panel's transcript shares the text), the history
    # turn the client parsed and shares with every later reply, and, in this process,
    # the server's own history and joined text. Measured: about 20 KB a turn. A private
    # copy of the history in every Reply (the old design) needs on the order of
    # TURNS**2 / 2 * 2 KB, 90 MB and more. Allow 40 KB a turn, and the last 100 turns no
    # dearer than 1.5x the first 100 (quadratic growth makes them 5x dearer).
    assert memory[TURNS] < TURNS * 40_000, memory
    assert memory[300] - memory[200] < 1.5 * memory[100] + 500_000, memory
