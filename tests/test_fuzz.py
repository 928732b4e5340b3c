"""Fuzzing the whole path: hostile frames -> client -> reply -> widget traits -> kernel wire.

Hypothesis makes streams of arbitrary frames (text holding surrogate escapes, bytes
that are not UTF-8, deep nesting, huge numbers, NaN, wrong types, ``ui_engine``
snapshots). One loopback server sends each stream exactly as given to a ChatWidget
with a recording comm, and every message the widget would send to the front end is
then packed as ipykernel packs comm messages (``json_clean``, then jupyter_client's
``json_packer``: ``json.dumps(..., ensure_ascii=False, allow_nan=False)``).

``CONVOWIDGET_FUZZ_EXAMPLES`` sets the number of examples (200 by default; ``make fuzz``
runs 10,000).
"""

from __future__ import annotations

import itertools
import json
import os
from typing import Any

import comm
import pytest
from conftest import RecordingComm
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from ipykernel.jsonutil import json_clean
from jupyter_client.session import json_packer
from test_widget import RawServer

from convowidget import ChatWidget, ConvoClient

EXAMPLES = int(os.environ.get("CONVOWIDGET_FUZZ_EXAMPLES", "200"))

# ---------------------------------------------------------------------- frames

surrogate = st.characters(min_codepoint=0xD800, max_codepoint=0xDFFF)
odd_text = st.text(
    alphabet=st.one_of(st.characters(), surrogate, st.sampled_from(list("<>&\"'\\`\n\r\t\x00\ufeff\u202e😀"))),
    max_size=40,
)
numbers = st.one_of(
    st.integers(),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([10**30, -(10**20), 2**63, 1e308]),
)
scalars = st.one_of(st.none(), st.booleans(), numbers, odd_text)
json_values = st.recursive(
    scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(odd_text, inner, max_size=4)),
    max_leaves=12,
)


def _message(text: Any, kind: str = "text") -> dict[str, Any]:
    return {"item": {"type": kind, "payload": {"message": text}}}


snapshots = st.builds(
    lambda texts, kinds, cut: json.dumps(
        {"from": "bot", "messages": [_message(t, k) for t, k in zip(texts, kinds, strict=False)]}
    )[: cut or None],
    st.lists(st.one_of(odd_text, odd_text, json_values), min_size=1, max_size=3),
    st.lists(st.sampled_from(["text", "choice", "visual", "cardV2", "carousel", "weird"]), min_size=3, max_size=3),
    st.one_of(st.none(), st.none(), st.integers(1, 200)),
)
chunk = st.builds(
    lambda text, index, ui: {"type": "chunk", "chunk": text, **index, **ui},
    st.one_of(odd_text, odd_text, json_values),
    st.one_of(st.just({}), st.fixed_dictionaries({"chunkIndex": st.one_of(st.integers(-2, 50), json_values)})),
    st.one_of(st.just({}), st.fixed_dictionaries({"ui_engine": json_values})),
)
snapshot_chunk = st.builds(lambda text: {"type": "chunk", "chunk": text, "ui_engine": True}, snapshots)
metadata = st.builds(
    lambda sources, extra: {"type": "metadata", "metadata": {"sources": sources, **extra}},
    st.one_of(json_values, st.lists(st.one_of(odd_text, json_values), max_size=3)),
    st.dictionaries(odd_text, json_values, max_size=2),
)
events = st.one_of(
    chunk,
    chunk,
    chunk,
    snapshot_chunk,
    snapshot_chunk,
    metadata,
    st.builds(lambda turns: {"type": "sync_chat_history", "turns": turns}, json_values),
    st.builds(lambda action: {"type": "action", "action": action}, json_values),
    st.builds(lambda rest: {"type": "debug", **rest}, st.dictionaries(odd_text, json_values, max_size=2)),
    st.builds(lambda kind, rest: {"type": kind, **rest}, json_values, st.dictionaries(odd_text, json_values)),
    json_values,
)


def _as_frame(event: Any, binary: bool) -> str | bytes:
    # ensure_ascii: a lone surrogate goes out as a \\ud83d escape, as a JavaScript server sends it
    text = json.dumps(event, ensure_ascii=True, allow_nan=True)
    return text.encode("utf-8") if binary else text


raw_frames = st.one_of(
    st.text(max_size=60),
    st.binary(max_size=60),
    st.integers(1, 100_000).map(lambda n: "[" * n + "]" * (n % 3)),
    st.integers(1, 5_000).map(lambda n: '{"type": "chunk", "chunk": "x", "chunkIndex": ' + "9" * n + "}"),
    st.integers(1, 100_000).map(lambda n: '{"type": "chunk", "ui_engine": true, "chunk": "' + "[" * n + '"}'),
    st.sampled_from(
        [
            '{"type": "chunk", "chunk": NaN}',
            '{"type": "chunk", "chunk": "a", "chunkIndex": Infinity}',
            '{"type": "chunk", "chunk": "a", "chunkIndex": 1e999}',
            '{"type": "chunk", "chunk": "\\ud83d"}',
            '{"type": "chunk", "chunk": "\\ude00"}',
            '{"type": "chunk", "chunk": "\\ud83d\\ude00"}',
            '{"type": "metadata", "metadata": {"sources": [{"url": "https://example.com", "title": "<b>t</b>"}]}}',
            b'{"type": "chunk", "chunk": "\xff\xfe"}',
            "",
            "null",
        ]
    ),
)
frames = st.lists(
    st.one_of(st.builds(_as_frame, events, st.booleans()), raw_frames),
    max_size=12,
)
close_codes = st.sampled_from([1000, 1000, 1000, 1001, 1011, 4000])

# ---------------------------------------------------------------------- the path under test

_plans: dict[str, tuple[list[str | bytes], int]] = {}
_ids = itertools.count()


@pytest.fixture(scope="module")
def server():
    with RawServer(lambda request: _plans.pop(request["prompt"], ([], 1000))) as running:
        yield running


@pytest.fixture(scope="module")
def widgets_record():
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(comm, "create_comm", lambda **kwargs: RecordingComm(**kwargs))
        yield


def kernel_wire(message: dict[str, Any]) -> str:
    """A comm message packed as ipykernel packs it, read back as strict UTF-8."""
    return json_packer(json_clean(dict(data=message["data"], comm_id="c"))).decode("utf-8")


def answer_blocks(chat: ChatWidget) -> list[Any]:
    return list(chat.transcript[-1].get("blocks") or []) if chat.transcript else []


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.function_scoped_fixture],
)
@given(stream=frames, code=close_codes)
def test_fuzz_hostile_frames_through_the_widget_reach_the_kernel_wire_as_valid_text(
    server: RawServer, widgets_record: None, stream: list[str | bytes], code: int
) -> None:
    prompt = f"fuzz {next(_ids)}"
    _plans[prompt] = (stream, code)
    chat = ChatWidget(client=ConvoClient(url=server.url, agent_id="fuzz", idle_timeout=30))
    try:
        reply = chat.ask(prompt)
        assert reply.status in ("complete", "failed")
        event(f"reply {reply.status}, {'with' if reply.text else 'no'} text")
        event("a ui_engine snapshot drawn" if answer_blocks(chat) else "no blocks")
        assert (chat.status, chat.pending, chat.stream) == ("error" if reply.status == "failed" else "idle", {}, {})
        user, answer = chat.transcript
        assert answer["text"] == reply.text and answer["status"] == reply.status
        reply.text.encode("utf-8")  # strict: no lone surrogate in what the user reads
        states = [json.loads(kernel_wire(message))["data"].get("state", {}) for message in chat.comm.sent]
        tails = [state["transcript_tail"] for state in states if "transcript_tail" in state]
        assert tails[-1]["entries"] == [user, answer]  # what reached the front end is what Python holds
        streamed = ""
        for delta in (state["stream"] for state in states if "text" in state.get("stream", {})):
            assert delta["offset"] == len(streamed)
            streamed += delta["text"]
        assert reply.text.startswith(streamed)
    finally:
        chat.close()
