"""Fuzzing the builder half of the path: streams of arbitrary frames through parse_frame and ReplyBuilder.

Nothing may raise, and every string that comes out (the reply, each event ``feed``
returns, the panel's blocks) must encode as UTF-8 with no NaN, as a Jupyter comm message
needs. ``CONVOWIDGET_FUZZ_EXAMPLES`` sets the number of examples (200 by default; the long
run uses 10,000).
"""

from __future__ import annotations

import dataclasses
import json
import os

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from convowidget.protocol import parse_frame
from convowidget.reply import ReplyBuilder
from convowidget.turns import turn_blocks, turn_text

FUZZ = settings(
    max_examples=int(os.environ.get("CONVOWIDGET_FUZZ_EXAMPLES", "200")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.large_base_example],
)

# Text of any code point, lone surrogates included (hypothesis leaves them out by default).
characters = st.one_of(st.characters(), st.characters(categories=["Cs"]), st.sampled_from('\ud83d\ude00[]{}"\\'))
any_text = st.text(characters, max_size=30)
numbers = st.one_of(
    st.integers(),
    st.integers(min_value=10**30, max_value=10**80),
    st.floats(),  # NaN and infinities included: json.dumps writes them as NaN / Infinity
)
KEYS = ["type", "chunk", "chunkIndex", "ui_engine", "metadata", "sources", "turns", "action", "messages", "item",
        "payload", "message", "url", "title", "buttons", "request", "cards", "description"]  # fmt: skip
json_values = st.recursive(
    st.none() | st.booleans() | numbers | any_text,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.sampled_from(KEYS) | any_text, inner, max_size=4),
    max_leaves=12,
)
MESSAGE_TYPES = ["text", "choice", "visual", "cardV2", "carousel", "iFrame", "form", "debug", "debug:tell",
                 "context:form_submission", "stealth", "end", "info:success", "info", "file"]  # fmt: skip
messages = st.fixed_dictionaries(
    {"type": st.sampled_from(MESSAGE_TYPES) | any_text},
    optional={
        "item": st.fixed_dictionaries(
            {"type": st.sampled_from(MESSAGE_TYPES) | json_values},
            optional={"payload": st.dictionaries(st.sampled_from(KEYS), json_values | any_text, max_size=5)},
        )
    },
)
turns = st.fixed_dictionaries(
    {"from": st.sampled_from(["human", "bot", "system"]) | json_values, "messages": st.lists(messages, max_size=4)}
)
sources = st.lists(any_text | st.fixed_dictionaries({}, optional={"url": json_values, "title": any_text}) | json_values)
events = st.one_of(
    st.fixed_dictionaries(
        {"type": st.just("chunk"), "chunk": any_text},
        optional={"chunkIndex": json_values, "ui_engine": json_values},
    ),
    st.fixed_dictionaries(
        {"type": st.just("chunk"), "ui_engine": st.just(True) | json_values, "chunk": turns.map(json.dumps)}
    ),
    st.fixed_dictionaries(
        {"type": st.just("metadata"), "metadata": st.fixed_dictionaries({}, optional={"sources": sources})}
    ),
    st.fixed_dictionaries({"type": st.just("sync_chat_history"), "turns": st.lists(turns, max_size=4)}),
    st.fixed_dictionaries(
        {"type": st.sampled_from(["chunk", "metadata", "sync_chat_history", "action", "debug", "turn_patch"])},
        optional={key: json_values for key in KEYS if key != "type"},
    ),
    json_values,
)


@st.composite
def encoded(draw, value):
    """A value as a frame: ASCII JSON (surrogates as \\u escapes), raw text, UTF-8 bytes, or cut short."""
    how = draw(st.sampled_from(["ascii", "raw", "bytes", "cesu-bytes", "cut"]))
    ascii_json = json.dumps(value)
    if how == "ascii":
        return ascii_json
    raw = json.dumps(value, ensure_ascii=False)
    if how == "raw":
        return raw
    if how == "bytes":
        return ascii_json.encode("utf-8")
    if how == "cesu-bytes":
        return raw.encode("utf-8", "surrogatepass")  # not valid UTF-8 when it holds a surrogate
    return ascii_json[: draw(st.integers(0, len(ascii_json)))]


depth = st.integers(min_value=1, max_value=100_000)
hostile = st.one_of(
    depth.map(lambda n: "[" * n),
    depth.map(lambda n: "[" * n + "]" * n),
    depth.map(lambda n: "[]" * n),
    depth.map(lambda n: '{"type":"metadata","metadata":' + '{"a":' * n + "1" + "}" * n + "}"),
    depth.map(lambda n: json.dumps({"type": "chunk", "ui_engine": True, "chunk": "[" * n})),
    depth.map(lambda n: json.dumps({"type": "sync_chat_history", "turns": [{"messages": "[" * n}]}) + "]" * n),
    st.integers(1, 20_000).map(lambda n: '{"type":"chunk","chunk":"x","chunkIndex":' + "7" * n + "}"),
    st.integers(300, 100_000).map(lambda e: '{"type":"metadata","metadata":{"n":1e' + str(e) + "}}"),
    st.sampled_from(["NaN", "Infinity", "-Infinity"]).map(
        lambda c: '{"type":"chunk","chunk":"x","chunkIndex":' + c + "}"
    ),
    st.sampled_from(["NaN", "-Infinity"]).map(lambda c: '{"type":"metadata","metadata":{"sources":[' + c + "]}}"),
    st.just("null"),
    st.just(""),
)
frames = st.one_of(events.flatmap(encoded), hostile, st.text(characters), st.binary(max_size=64))


def assert_clean(value: object) -> None:
    """What ipykernel does to a comm message: JSON with no NaN, then UTF-8."""
    json.dumps(value, ensure_ascii=False, allow_nan=False).encode("utf-8")


@FUZZ
@given(
    st.lists(frames, max_size=12),
    st.none() | st.lists(turns, max_size=3),
    st.sampled_from(["complete", "stopped", "failed"]),
)
def test_no_stream_of_frames_raises_or_yields_text_that_cannot_be_sent(stream, previous_turns, status):
    builder = ReplyBuilder("prompt", "c1", previous_turns=previous_turns)
    for frame in stream:
        event = builder.feed(parse_frame(frame))
        assert_clean({"type": event.type, **dataclasses.asdict(event)})
        assert isinstance(builder.text, str)
    reply = builder.finish(status, None if status == "complete" else "why")
    assert_clean(reply.to_dict())
    reply.text.encode("utf-8")
    assert all(isinstance(source, str) for source in reply.sources)
    assert_clean(turn_blocks(reply.ui_turn))
    assert_clean([turn_blocks(turn) for turn in reply.turns])
    assert_clean([turn_text(turn) for turn in reply.turns])
    repr(reply)
    reply._repr_markdown_().encode("utf-8")
