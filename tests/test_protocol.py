"""The pure protocol layer: request building, frame parsing, reply assembly."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from convowidget import ConfigurationError
from convowidget.protocol import (
    ActionEvent,
    ChunkEvent,
    DebugEvent,
    InvalidEvent,
    MetadataEvent,
    SyncChatHistoryEvent,
    UnknownEvent,
    build_interact,
    encode_event,
    parse_frame,
    region_info,
    validate_request,
)
from convowidget.reply import ReplyBuilder
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
        ({"origin": "telegram"}, "origin"),
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
        ('{"type":"chunk","chunk":"x","chunkIndex":"1"}', "chunkIndex"),
        ('{"type":"chunk","chunk":"x","ui_engine":"yes"}', "ui_engine"),
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
