"""The pure protocol layer: request building, frame parsing, reply assembly."""

from __future__ import annotations

import dataclasses
import itertools
import json
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st
from nbconvert.filters.markdown_mistune import markdown2html_mistune

from convowidget import ConfigurationError
from convowidget.protocol import (
    MAX_DEPTH,
    ORIGINS,
    ActionEvent,
    ChunkEvent,
    DebugEvent,
    InvalidEvent,
    MetadataEvent,
    SyncChatHistoryEvent,
    UnknownEvent,
    build_interact,
    encode_event,
    loads,
    parse_frame,
    region_info,
    validate_request,
)
from convowidget.reply import Reply, ReplyBuilder, share_turns
from convowidget.turns import parse_snapshot, turn_blocks, turn_text


def build(**overrides):
    options = {"agent_id": "agent-1", "convo_id": "c-1", "prompt": "Hello"}
    options.update(overrides)
    return build_interact(**options)


def test_interact_object_has_every_documented_field():
    request = build(
        owner_id="owner-9",
        user_id="user-7",
        user_name="Ada",
        user_email="ada@example.com",
        user_phone="+100",
        origin="discord",
        region="na",
    )
    assert request == {
        "agentId": "agent-1",
        "convoId": "c-1",
        "bucket": "(default)",
        "prompt": "Hello",
        "agentData": {"ownerID": "owner-9", "userID": "user-7"},
        "lightConvoData": {
            "origin": "discord",
            "userName": "Ada",
            "userEmail": "ada@example.com",
            "userPhone": "+100",
        },
    }


def test_user_id_defaults_to_owner_id_and_origin_to_web_chat():
    request = build(owner_id="owner-9")
    assert request["agentData"] == {"ownerID": "owner-9", "userID": "owner-9"}
    assert request["lightConvoData"] == {"origin": "web-chat"}
    assert request["bucket"] == "voiceglow-eu"


def test_regions_give_documented_urls_and_buckets():
    assert region_info("eu") == ("wss://eu-gcp-api.vg-stuff.com/interact", "voiceglow-eu")
    assert region_info("na") == ("wss://na-gcp-api.vg-stuff.com/interact", "(default)")


def test_optional_extras_pass_through_and_are_type_checked():
    request = build(extra={"sessionId": "s1", "isTest": True, "turnsHistory": [], "futureField": 3})
    assert request["sessionId"] == "s1" and request["isTest"] is True and request["futureField"] == 3
    with pytest.raises(ConfigurationError, match="isTest"):
        build(extra={"isTest": "yes"})
    with pytest.raises(ConfigurationError, match="disableUiEngine"):
        build(extra={"disableUiEngine": 1})
    with pytest.raises(ConfigurationError, match="agentId"):
        build(extra={"agentId": "other"})


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"agent_id": None}, "agent_id"),
        ({"agent_id": "  "}, "agent_id"),
        ({"prompt": ""}, "prompt"),
        ({"prompt": " \n\t"}, "prompt"),
        ({"prompt": 5}, "prompt"),
        ({"region": "us"}, "region"),
        ({"origin": ""}, "origin"),
        ({"origin": 5}, "origin"),
        ({"owner_id": 12}, "owner_id"),
    ],
)
def test_bad_arguments_raise_value_error_naming_the_field(overrides, field):
    with pytest.raises(ValueError, match=field):
        build(**overrides)


def test_every_event_type_parses():
    assert parse_frame('{"type":"chunk","chunk":"Hi","chunkIndex":0}') == ChunkEvent("Hi", 0, False)
    assert parse_frame('{"type":"metadata","metadata":{"sources":["a"]}}') == MetadataEvent({"sources": ["a"]})
    assert parse_frame('{"type":"sync_chat_history","turns":[]}') == SyncChatHistoryEvent([])
    action = parse_frame('{"type":"action","action":{"type":"request_handoff"}}')
    assert isinstance(action, ActionEvent) and action.action_type == "request_handoff"
    assert isinstance(parse_frame('{"type":"debug","x":1}'), DebugEvent)
    patch = parse_frame('{"type":"turn_patch","p":1}')
    assert isinstance(patch, UnknownEvent) and patch.type == "turn_patch"
    assert patch.raw == {"type": "turn_patch", "p": 1}
    types = [parse_frame(json.dumps(f)).type for f in (
        {"type": "chunk", "chunk": ""}, {"type": "metadata", "metadata": {}},
        {"type": "sync_chat_history", "turns": []},
        {"type": "action", "action": {}}, {"type": "debug"}, {"type": "turn_commit"},
    )]  # fmt: skip
    assert types == ["chunk", "metadata", "sync_chat_history", "action", "debug", "turn_commit"]


@pytest.mark.parametrize(
    ("frame", "reason"),
    [
        ("not json", "not JSON"),
        (b"\xff\xfe", "not JSON"),
        ("[1,2]", "not an object"),
        ('"text"', "not an object"),
        ('{"chunk":"x"}', "type"),
        ('{"type":"chunk","chunk":5}', "'chunk' is a number"),
        ('{"type":"metadata","metadata":[]}', "metadata"),
        ('{"type":"sync_chat_history","turns":{}}', "turns"),
        ('{"type":"action","action":"handoff"}', "action"),
    ],
)
def test_bad_frames_become_invalid_events(frame, reason):
    event = parse_frame(frame)
    assert isinstance(event, InvalidEvent)
    assert reason in event.reason


@given(st.one_of(st.text(), st.binary(), st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda inner: st.lists(inner) | st.dictionaries(st.sampled_from(["type", "chunk", "chunkIndex", "ui_engine",
        "metadata", "turns", "action", "sources"]) | st.text(), inner), max_leaves=20,
).map(json.dumps)))  # fmt: skip
def test_no_frame_makes_parsing_or_assembly_raise(frame):
    builder = ReplyBuilder("p")
    builder.feed(parse_frame(frame))
    reply = builder.finish()
    assert isinstance(reply.text, str)


@given(st.lists(st.text(max_size=20), max_size=30))
def test_plain_chunks_concatenate_in_arrival_order(pieces):
    builder = ReplyBuilder()
    for index, piece in enumerate(pieces):
        builder.feed(parse_frame(encode_event(ChunkEvent(piece, index))))
    reply = builder.finish()
    assert reply.text == "".join(pieces)
    assert reply.chunks == pieces
    assert reply.warnings == []


def test_reply_assembly_merges_everything():
    builder = ReplyBuilder("Q", "c1")
    frames = [
        {"type": "chunk", "chunk": "Hello ", "chunkIndex": 0},
        {"type": "chunk", "chunk": "world", "chunkIndex": 1},
        {"type": "action", "action": {"type": "tool_call", "toolMetadata": {"toolName": "x"}}},
        {"type": "action", "action": {"type": "request_handoff"}},
        {"type": "metadata", "metadata": {"sources": ["s1", "s2"], "inputTokens": 3}},
        {"type": "metadata", "metadata": {"sources": ["s2", "s3"], "llmUsed": "m", "outputTokens": 2}},
        {"type": "sync_chat_history", "turns": [{"from": "human", "messages": []}]},
        {"type": "debug", "trace": [1]},
        {"type": "turn_commit", "turn": {}},
    ]
    for frame in frames:
        builder.feed(parse_frame(json.dumps(frame)))
    reply = builder.finish()
    assert reply.text == "Hello world"
    assert reply.sources == ["s1", "s2", "s3"]
    assert reply.metadata == {"sources": ["s2", "s3"], "inputTokens": 3, "llmUsed": "m", "outputTokens": 2}
    assert [a["type"] for a in reply.actions] == ["tool_call", "request_handoff"]
    assert reply.handoff is True
    assert reply.turns == [{"from": "human", "messages": []}]
    assert reply.debug == [{"type": "debug", "trace": [1]}]
    assert reply.unknown_events == [{"type": "turn_commit", "turn": {}}]
    assert reply.status == "complete" and reply.convo_id == "c1" and reply.prompt == "Q"
    assert reply.time_to_first_chunk is not None and reply.elapsed >= reply.time_to_first_chunk


def test_bad_frames_are_warnings_and_add_no_text():
    builder = ReplyBuilder()
    for frame in ('{"type":"chunk","chunk":"A","chunkIndex":0}', "garbage", "[]", '{"type":"chunk","chunk":null}',
                  '{"type":"chunk","chunk":"B","chunkIndex":1}'):  # fmt: skip
        builder.feed(parse_frame(frame))
    reply = builder.finish()
    assert reply.text == "AB"
    assert len(reply.warnings) == 3
    assert "not JSON" in reply.warnings[0]


def test_chunk_index_gaps_and_repeats_are_noted_not_fatal():
    builder = ReplyBuilder()
    for index, text in ((0, "a"), (2, "c"), (2, "c"), (3, "d")):
        builder.feed(ChunkEvent(text, index))
    reply = builder.finish()
    assert reply.text == "accd"
    assert reply.warnings == [
        "chunk index 2 out of order or missing: expected 1",
        "chunk index 2 repeated: expected 3",
    ]


def _turn(*texts):
    messages = [{"type": "text", "item": {"type": "text", "payload": {"message": t}}} for t in texts]
    return {"from": "bot", "messages": messages}


def test_ui_engine_snapshots_replace_each_other():
    builder = ReplyBuilder()
    builder.feed(ChunkEvent(json.dumps(_turn("Hel")), 0, True))
    builder.feed(ChunkEvent(json.dumps(_turn("Hello", "second")), 1, True))
    reply = builder.finish()
    assert reply.text == "Hello\n\nsecond"
    assert reply.ui_turn == _turn("Hello", "second")


def test_cut_short_snapshot_is_repaired_or_kept_raw():
    full = json.dumps(_turn("Hello there"))
    cut = full[: full.index("there") + 3]
    assert turn_text(parse_snapshot(cut)) == "Hello the"
    builder = ReplyBuilder()
    builder.feed(ChunkEvent('{"from": "bot", "messages": [{"item": {"payload": {"message', 0, True))
    reply = builder.finish()
    assert reply.text in ("", '{"from": "bot", "messages": [{"item": {"payload": {"message')
    builder = ReplyBuilder()
    builder.feed(ChunkEvent("<<not json at all", 0, True))
    reply = builder.finish()
    assert reply.text == "<<not json at all"
    assert any("could not be parsed" in w for w in reply.warnings)


def test_turn_blocks_cover_rich_messages():
    def message(kind, payload):
        return {"type": kind, "item": {"type": kind, "payload": payload}}

    turn = {"messages": [
        message("text", {"message": "Pick"}),
        message("choice", {"buttons": [
            {"name": "Yes", "request": {"type": "text", "payload": {"message": "yes please"}}},
            {"name": "Docs", "request": {"type": "open_url", "payload": {"url": "https://example.com"}}},
        ]}),
        message("visual", {"image": "https://example.com/a.png"}),
        message("cardV2", {"title": "T", "imageUrl": "https://example.com/c.png", "description": {"text": "D"}}),
        message("carousel", {"cards": [{"title": "C1"}, "junk"]}),
        message("audio", {"src": "x"}),
    ]}  # fmt: skip
    assert turn_blocks(turn) == [
        {"kind": "text", "text": "Pick"},
        {"kind": "choice", "buttons": [
            {"label": "Yes", "message": "yes please"}, {"label": "Docs", "url": "https://example.com"},
        ]},
        {"kind": "image", "url": "https://example.com/a.png", "alt": ""},
        {"kind": "card", "title": "T", "text": "D", "image": "https://example.com/c.png", "buttons": []},
        {"kind": "carousel", "cards": [{"kind": "card", "title": "C1", "text": "", "image": "", "buttons": []}]},
        {"kind": "unsupported", "type": "audio"},
    ]  # fmt: skip


def test_server_side_validation_names_the_problem():
    assert validate_request({"agentId": "a", "convoId": "c", "prompt": "p"})["prompt"] == "p"
    for request, message in (
        ([], "JSON object"),
        ({"convoId": "c", "prompt": "p"}, "agentId: missing"),
        ({"agentId": "a", "convoId": "c"}, "prompt: missing"),
        ({"agentId": "a", "convoId": "c", "prompt": 3}, "prompt: expected a string, got a number"),
        ({"agentId": "a", "convoId": "c", "prompt": " "}, "prompt: must not be empty"),
        ({"agentId": "a", "convoId": "c", "prompt": "p", "agentData": "x"}, "agentData"),
    ):
        with pytest.raises(ConfigurationError, match=message):
            validate_request(request)


def test_reply_repr_and_markdown_are_readable():
    builder = ReplyBuilder("Q")
    builder.feed(ChunkEvent("x" * 100, 0))
    builder.feed(MetadataEvent({"sources": ["kb/a.md"]}))
    reply = builder.finish()
    assert repr(reply).startswith("Reply(status='complete', text='xxx")
    assert "chars=100" in repr(reply) and "sources=1" in repr(reply)
    assert "kb/a.md" in reply._repr_markdown_()
    assert reply.to_dict()["text"] == "x" * 100


# ---------------------------------------------------------------------------- text is always valid


def utf8_clean(value) -> bool:
    """True when every string in ``value`` encodes as UTF-8 (what a comm message needs)."""
    json.dumps(value, ensure_ascii=False, allow_nan=False).encode("utf-8")
    return True


def chunk_frame(text, index=None):
    """A chunk frame as a JavaScript server writes it: lone surrogates become \\uXXXX escapes."""
    frame = {"type": "chunk", "chunk": text}
    if index is not None:
        frame["chunkIndex"] = index
    return json.dumps(frame)  # ensure_ascii: "\ud83d" -> the six characters \ud83d


def test_surrogate_pair_split_across_chunks_is_one_character():
    builder = ReplyBuilder()
    first = builder.feed(parse_frame('{"type":"chunk","chunk":"Hi \\ud83d","chunkIndex":0}'))
    second = builder.feed(parse_frame('{"type":"chunk","chunk":"\\ude00 there","chunkIndex":1}'))
    reply = builder.finish()
    assert reply.text == "Hi \U0001f600 there" and len(reply.text) == len("Hi x there")
    assert reply.chunks == ["Hi ", "\U0001f600 there"]
    assert (first.text, second.text) == ("Hi ", "\U0001f600 there")  # what on_event and stream() pass on
    assert reply.warnings == []
    assert utf8_clean(reply.to_dict())


def test_lone_surrogates_become_replacement_characters_with_one_warning():
    builder = ReplyBuilder()
    events = [
        builder.feed(parse_frame(chunk_frame(text, i)))
        for i, text in enumerate(["\ude00start", "mid \ud83d dle", "end \ud83d"])
    ]
    reply = builder.finish()  # the held high surrogate never got its low half
    assert reply.text == "\ufffdstartmid \ufffd dleend \ufffd"
    assert [event.text for event in events] == ["\ufffdstart", "mid \ufffd dle", "end "]
    assert len(reply.warnings) == 1 and "surrogate" in reply.warnings[0] and "U+FFFD" in reply.warnings[0]
    assert utf8_clean(reply.to_dict())


@given(st.text(max_size=40), st.lists(st.integers(0, 80), max_size=8))
def test_any_text_cut_at_any_utf16_code_unit_comes_back_whole(text, cuts):
    units = text.encode("utf-16-le")
    bounds = sorted({0, len(units), *(min(2 * c, len(units)) for c in cuts)})
    pieces = [units[a:b].decode("utf-16-le", "surrogatepass") for a, b in itertools.pairwise(bounds)]
    builder = ReplyBuilder()
    added = [builder.feed(parse_frame(chunk_frame(piece, i))).text for i, piece in enumerate(pieces)]
    reply = builder.finish()
    assert reply.text == text and "".join(added) == text
    assert reply.warnings == []
    assert utf8_clean(reply.to_dict()) and utf8_clean(added)


def test_every_string_from_frames_is_clean():
    lone = "\\ud83d"  # a JSON escape of half a character, as it appears in a frame
    frames = [
        f'{{"type":"metadata","metadata":{{"sources":["a{lone}",{{"url":"u{lone}","title":"t"}}],"k{lone}":"v{lone}"}}}}',
        f'{{"type":"sync_chat_history","turns":[{{"from":"bot","messages":[{{"item":{{"payload":{{"message":"x{lone}"}}}}}}]}}]}}',
        f'{{"type":"action","action":{{"type":"tool_call","payload":"p{lone}"}}}}',
        f'{{"type":"debug","trace":["{lone}"]}}',
        f'{{"type":"turn{lone}","p":"{lone}"}}',
        f'{{"type":"chunk","chunk":"ok","chunkIndex":"{lone}"}}',
        "not json \ud83d",  # a str frame holding the character itself
        json.dumps({"type": "chunk", "ui_engine": True, "chunk": json.dumps(_turn("snap \ud83d"))}),
    ]
    builder = ReplyBuilder()
    events = [builder.feed(parse_frame(frame)) for frame in frames]
    reply = builder.finish()
    assert utf8_clean(reply.to_dict())
    assert all(utf8_clean(dataclasses.asdict(event)) for event in events)
    assert reply.sources == ["a\ufffd", "u\ufffd"]
    assert reply.metadata["k\ufffd"] == "v\ufffd"
    assert reply.turns[0]["messages"][0]["item"]["payload"]["message"] == "x\ufffd"
    assert reply.unknown_events[0]["type"] == "turn\ufffd" and events[4].type == "turn\ufffd"
    assert reply.text == "ok\n\nsnap \ufffd"


def test_encode_event_escapes_a_lone_surrogate_so_the_frame_is_utf8():
    frame = encode_event(ChunkEvent("half \ud83d", 0))
    assert frame.encode("utf-8") and "\\ud83d" in frame
    assert parse_frame(frame) == ChunkEvent("half \ud83d", 0)
    assert (
        encode_event(ChunkEvent("caf\u00e9 \U0001f600", 1))
        == '{"type": "chunk", "chunk": "caf\u00e9 \U0001f600", "chunkIndex": 1}'
    )


# ---------------------------------------------------------------------------- loads and depth


@pytest.mark.parametrize(
    ("frame", "reason"),
    [
        ("[" * 100_000, "nested deeper than 64 levels"),
        ("[" * (MAX_DEPTH + 1) + "]" * (MAX_DEPTH + 1), "nested deeper than 64 levels"),
        ('{"a":' * 100_000, "nested deeper than 64 levels"),
        ('{"a": NaN}', "NaN"),
        ('{"a": [Infinity]}', "Infinity"),
        ("-Infinity", "-Infinity"),
        ('{"a": 1e400}', "too large for a float"),
        ('{"a": ' + "9" * 5000 + "}", "more than 4300 digits"),
        (b'{"a": "\xff"}', "not UTF-8"),
        ("{'a': 1}", "not JSON"),
        ("", "not JSON"),
    ],
)
def test_loads_refuses_hostile_json_with_a_readable_value_error(frame, reason):
    with pytest.raises(ValueError, match=reason) as caught:
        loads(frame)
    assert not isinstance(caught.value, RecursionError) and len(str(caught.value)) < 200
    event = parse_frame(frame)
    assert isinstance(event, InvalidEvent) and reason in event.reason and event.reason.startswith("frame is ")
    assert len(event.raw) <= 201


def test_loads_reads_what_is_within_the_limits():
    assert loads("[" * MAX_DEPTH + "]" * MAX_DEPTH) is not None
    assert loads('{"text": "' + "[{" * 1000 + '", "n": 1.5e300}') == {"text": "[{" * 1000, "n": 1.5e300}
    assert loads(b'{"a": "\\"[[[\\\\"}') == {"a": '"[[[\\'}
    assert loads("9" * 4000) == int("9" * 4000)


def test_hostile_frames_cost_a_warning_and_keep_the_text_so_far():
    builder = ReplyBuilder()
    frames = [
        chunk_frame("Hello ", 0),
        '{"type":"sync_chat_history","turns":' + "[" * 100_000,
        '{"type":"metadata","metadata":{"inputTokens":NaN}}',
        '{"type":"chunk","chunk":"lost","chunkIndex":' + "1" * 5000 + "}",
        chunk_frame("world", 1),
    ]
    for frame in frames:
        builder.feed(parse_frame(frame))
    reply = builder.finish()
    assert reply.text == "Hello world" and reply.metadata == {} and reply.turns == []
    assert [w.split(":")[1].strip() for w in reply.warnings] == [
        "frame is JSON nested deeper than 64 levels of arrays and objects",
        "frame is JSON holding NaN, which standard JSON does not allow",
        "frame is JSON holding a number with more than 4300 digits",
    ]


def deep_list(depth):
    value = []
    for _ in range(depth):
        value = [value]
    return value


def test_snapshots_and_turn_helpers_survive_hostile_nesting():
    assert parse_snapshot("[" * 100_000) is None
    assert parse_snapshot('{"from": "bot", "messages": [' + "[" * 100_000) is None
    builder = ReplyBuilder()
    builder.feed(ChunkEvent("[" * 100_000, 0, True))
    reply = builder.finish()
    assert reply.ui_turn is None and "could not be parsed" in reply.warnings[0]
    deep = deep_list(100_000)
    cyclic = {"title": None}
    cyclic["title"] = cyclic
    turn = {"messages": [
        {"item": {"type": "cardV2", "payload": {"title": deep, "description": {"text": deep}, "buttons": deep}}},
        {"item": {"type": "cardV2", "payload": cyclic}},
        {"item": {"type": "choice", "payload": {"buttons": [{"name": deep, "request": cyclic}]}}},
        {"item": {"type": "text", "payload": {"message": deep}}},
        deep,
    ]}  # fmt: skip
    blank = {"kind": "card", "title": "", "text": "", "image": "", "buttons": []}
    assert turn_blocks(turn)[:2] == [blank, blank]
    assert turn_text(turn) == "" and turn_text(deep) == ""


# ---------------------------------------------------------------------------- lenient where the service is


@pytest.mark.parametrize("index", ['"1"', "1.5", "1.0", "true", '{"n": 1}', "[1]"])
def test_chunk_index_of_any_type_keeps_the_text(index):
    builder = ReplyBuilder()
    builder.feed(parse_frame(chunk_frame("Hello ", 0)))
    event = builder.feed(parse_frame('{"type":"chunk","chunk":"world","chunkIndex":' + index + "}"))
    builder.feed(parse_frame('{"type":"chunk","chunk":"!","chunkIndex":' + index + "}"))
    reply = builder.finish()
    assert reply.text == "Hello world!"
    assert isinstance(event, ChunkEvent) and event.index is None and event.raw_index == json.loads(index)
    assert len(reply.warnings) == 1 and "not a whole number" in reply.warnings[0]
    assert json.loads(encode_event(event))["chunkIndex"] == json.loads(index)


@pytest.mark.parametrize(
    ("ui_engine", "snapshot"),
    [("true", True), ("1", True), ('"true"', True), ('"false"', True), ("{}", True), ("2.5", True),
     ("false", False), ("0", False), ('""', False), ("null", False)],
)  # fmt: skip
def test_any_truthy_ui_engine_marks_a_snapshot(ui_engine, snapshot):
    text = json.dumps(json.dumps(_turn("from the snapshot")))
    event = parse_frame('{"type":"chunk","chunk":' + text + ',"ui_engine":' + ui_engine + "}")
    assert isinstance(event, ChunkEvent) and event.ui_engine is snapshot
    builder = ReplyBuilder()
    builder.feed(event)
    reply = builder.finish()
    assert (reply.text == "from the snapshot") is snapshot
    assert (reply.ui_turn is not None) is snapshot


def test_non_ui_messages_stay_out_of_the_text_and_notices_are_blocks():
    def message(kind, text):
        return {"type": kind, "item": {"type": kind, "payload": {"message": text}}}

    turn = {"from": "bot", "messages": [
        message("text", "Hello"),
        message("debug", "trace"), message("debug:tell", "told"), message("debug:error", "boom"),
        message("debug:success", "ok"), message("context:form_submission", "{form}"), message("stealth", "hidden"),
        message("end", "bye"), {"type": "debug:tell", "item": {"payload": {"message": "typed on the message only"}}},
        message("info:success", "Saved"), message("info:danger", "Careful"), message("info", "Plain"),
        message("text", "world"),
    ]}  # fmt: skip
    assert turn_text(turn) == "Hello\n\nworld"
    assert turn_blocks(turn) == [
        {"kind": "text", "text": "Hello"},
        {"kind": "notice", "level": "success", "text": "Saved"},
        {"kind": "notice", "level": "danger", "text": "Careful"},
        {"kind": "notice", "level": "default", "text": "Plain"},
        {"kind": "text", "text": "world"},
    ]
    builder = ReplyBuilder()
    builder.feed(ChunkEvent(json.dumps(turn), 0, True))
    assert builder.finish().text == "Hello\n\nworld"


def test_object_sources_are_kept():
    builder = ReplyBuilder()
    builder.feed(parse_frame(json.dumps({"type": "metadata", "metadata": {"sources": [
        "kb/a.md", {"url": "https://example.com/b", "title": "B"}, {"title": "Only a title"}, {"id": 7}, 5,
    ]}})))  # fmt: skip
    builder.feed(MetadataEvent({"sources": ["kb/a.md", {"url": "https://example.com/b", "title": "B"}, "kb/c.md"]}))
    reply = builder.finish()
    assert reply.sources == ["kb/a.md", "https://example.com/b", "Only a title", "7", "kb/c.md"]  # id-only: its id
    assert reply.source_details == [
        "kb/a.md", {"url": "https://example.com/b", "title": "B"}, {"title": "Only a title"}, {"id": 7}, 5, "kb/c.md",
    ]  # fmt: skip
    assert len(reply.warnings) == 1 and "source_details" in reply.warnings[0]  # the bare number 5
    assert reply.to_dict()["source_details"][1] == {"url": "https://example.com/b", "title": "B"}


def test_interact_object_takes_what_the_service_takes():
    request = build(
        origin="whatsapp",
        user_email="ada@example.com",
        extra={
            "replyTo": {"mid": "m-1", "from": "bot"},
            "lightConvoData": {
                "userImage": "https://example.com/a.png",
                "userID": "u-1",
                "capturedVariables": {"x": 1},
            },
        },
    )
    assert request["replyTo"] == {"mid": "m-1", "from": "bot"}
    assert request["lightConvoData"] == {
        "origin": "whatsapp",
        "userEmail": "ada@example.com",
        "userImage": "https://example.com/a.png",
        "userID": "u-1",
        "capturedVariables": {"x": 1},
    }
    for reply_to in ("m-1", 3, ["a"], None, True):
        assert build(extra={"replyTo": reply_to})["replyTo"] == reply_to
    assert {"sms", "whatsapp"}.isdisjoint(ORIGINS) and build(origin="sms")["lightConvoData"]["origin"] == "sms"
    assert validate_request(request) is request
    assert validate_request({"agentId": "a", "convoId": "c", "prompt": "p", "replyTo": [1], "lightConvoData": {
        "origin": "telegram", "userImage": "x"}})  # fmt: skip


def cyclic_dict():
    value = {}
    value["self"] = value
    return value


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"user_email": "a@b.c", "extra": {"lightConvoData": {"userEmail": "x"}}}, "userEmail: already set by"),
        ({"extra": {"lightConvoData": {"origin": "sms"}}}, "lightConvoData.origin: already set by the origin="),
        ({"extra": {"lightConvoData": ["x"]}}, "lightConvoData: expected an object"),
        ({"extra": {"lightConvoData": {"score": float("inf")}}}, "lightConvoData.score: holds NaN or Infinity"),
        ({"extra": {"ratio": float("nan")}}, "ratio: holds NaN or Infinity"),
        ({"extra": {"replyTo": {"when": float("nan")}}}, "replyTo: holds NaN or Infinity"),
        ({"extra": {"tags": {1, 2}}}, "tags: not JSON-serialisable"),
        ({"extra": {"loop": cyclic_dict()}}, "loop: refers to itself"),
        ({"extra": {"deep": deep_list(MAX_DEPTH)}}, "deep: nested deeper than 63 levels"),
        ({"extra": {"deep": deep_list(100_000)}}, "deep: nested too deeply"),
        ({"extra": {"sessionId": "s\ud800"}}, "sessionId: contains an unpaired surrogate"),
        ({"extra": {"k\udc00": 1}}, "extra: field name"),
        ({"extra": "sessionId=1"}, "extra: expected a dict"),
    ],
)  # fmt: skip
def test_extra_fields_that_cannot_be_sent_are_configuration_errors(options, message):
    with pytest.raises(ConfigurationError, match=re.escape(message)):
        build(**options)


@pytest.mark.parametrize(
    "name", ["prompt", "convo_id", "agent_id", "owner_id", "user_id", "user_name", "user_email", "user_phone", "origin"]
)
def test_lone_surrogate_in_a_text_argument_is_a_configuration_error(name):
    secret = "ada.secret@example.org \ud83d"
    with pytest.raises(ConfigurationError, match=f"^{name}: contains an unpaired surrogate") as caught:
        build(**{name: secret})
    assert "ada.secret" not in str(caught.value)
    assert str(caught.value).encode("utf-8")


def test_a_surrogate_pair_in_a_text_argument_is_sent_as_its_character():
    assert build(prompt="smile \ud83d\ude00")["prompt"] == "smile \U0001f600"


def test_server_validation_is_as_lenient_and_refuses_what_utf8_cannot_carry():
    with pytest.raises(ConfigurationError, match="prompt: contains an unpaired surrogate"):
        validate_request({"agentId": "a", "convoId": "c", "prompt": "p\ud83d"})
    with pytest.raises(ConfigurationError, match="convoId: expected a string"):
        validate_request({"agentId": "a", "convoId": {"id": 1}, "prompt": "p"})


# ---------------------------------------------------------------------------- memory: shared turns


def test_share_turns_reuses_equal_turns_at_the_same_or_a_shifted_position():
    old = [{"n": 0}, {"n": 1}, {"n": 2}]
    new = [{"n": 0}, {"n": 1}, {"n": 2, "edited": True}, {"n": 3}]
    shared = share_turns(old, new)
    assert shared == new and shared is not new
    assert shared[0] is old[0] and shared[1] is old[1] and shared[2] is new[2] and shared[3] is new[3]
    trimmed = share_turns(old, [{"n": 1}, {"n": 2}, {"n": 3}])  # the server dropped the oldest turn
    assert trimmed[0] is old[1] and trimmed[1] is old[2]
    assert share_turns([], new) == new and share_turns(old, []) == []
    assert old == [{"n": 0}, {"n": 1}, {"n": 2}]


def history_frame(turns):
    return json.dumps({"type": "sync_chat_history", "turns": turns})


def test_replies_of_one_conversation_share_their_turns():
    history, replies = [], []
    for n in range(300):
        history += [_turn(f"question {n}"), _turn(f"answer {n} " + "x" * 50)]
        previous = replies[-1].turns if replies else None
        builder = ReplyBuilder(f"question {n}", "c1", previous_turns=previous)
        builder.feed(parse_frame(history_frame(history)))
        replies.append(builder.finish())
    first, last = replies[0], replies[-1]
    assert last.turns == history and len(last.turns) == 600
    assert last.turns[0] is first.turns[0] and last.turns[1] is first.turns[1]
    assert all(last.turns[2 * n] is replies[n].turns[2 * n] for n in range(300))
    distinct = {id(turn) for reply in replies for turn in reply.turns}
    assert len(distinct) == 600  # each turn held once, not once per reply (90,300 without sharing)


def test_a_light_key_set_by_an_argument_names_that_argument():
    with pytest.raises(
        ConfigurationError, match=r"^lightConvoData\.userEmail: already set by the user_email= argument"
    ):
        build(user_email="ada.secret@example.org", extra={"lightConvoData": {"userEmail": "other@example.org"}})


def test_a_chunk_index_at_pythons_digit_limit_still_keeps_the_text():
    builder = ReplyBuilder()
    builder.feed(parse_frame(chunk_frame("a", int("9" * 4300))))  # index + 1 has more digits than str() takes
    builder.feed(parse_frame(chunk_frame("b", 3)))
    reply = builder.finish()
    assert reply.text == "ab" and len(reply.warnings) == 2 and all(len(w) < 200 for w in reply.warnings)


def test_a_replys_markdown_shows_the_agents_html_as_text():
    hostile = '<img src=x onerror="alert(1)"> <script>alert(2)</script> [x](javascript:alert(3))'
    reply = Reply(text=f"**Hi** {hostile}\n\n```html\n<b>code</b>\n```", sources=["<svg onload=alert(4)>"])
    reply.error = "<iframe src=javascript:alert(5)>"
    shown = reply._repr_markdown_()
    for markup in ("<img", "<script", "<svg", "<iframe"):
        assert markup not in shown, markup
    assert "&lt;img" in shown and "**Hi**" in shown  # the markdown still renders; only HTML is text
    assert "<b>code</b>" in shown  # code stays literal inside its fence
    rendered = markdown2html_mistune(shown)  # as nbconvert renders it
    assert "[x](javascript:alert(3))" in rendered and "<a " not in rendered  # the script link is its text
