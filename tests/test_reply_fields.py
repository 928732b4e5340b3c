"""What a real Convocore agent sends beyond text, kept on the Reply and in the panel's entry.

Frames follow the reference client's ``types.ts`` (``InteractChunkMessage``,
``InteractAction``, ``metadata``); each test feeds them through ``parse_frame`` and
``ReplyBuilder`` as the client does, or through a real embedded server on loopback.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

import convowidget
from convowidget import ChatWidget, ConfigurationError, ConvoClient, ToolCall, serve
from convowidget.protocol import OPTIONAL_FIELDS, ChunkEvent, build_interact, encode_event, parse_frame
from convowidget.reply import ReplyBuilder
from convowidget.reply_view import MAX_JSON_CHARS, json_text, reply_view


def fold(*frames: object, previous_turns: list | None = None, status: str = "complete"):
    builder = ReplyBuilder("p", "c", previous_turns=previous_turns)
    for frame in frames:
        builder.feed(parse_frame(frame if isinstance(frame, str) else json.dumps(frame)))
    return builder.finish(status)


def chunk(text: str, index: int, **more: object) -> dict:
    return {"type": "chunk", "chunk": text, "chunkIndex": index, **more}


def snapshot(index: int, *texts: str, **turn: object) -> dict:
    messages = [{"from": "bot", "type": "text", "item": {"type": "text", "payload": {"message": t}}} for t in texts]
    return chunk(json.dumps({"from": "bot", "messages": messages, **turn}), index, ui_engine=True)


def tool_call(name: object, tool_input: object, output: object, **more: object) -> dict:
    meta = {"toolName": name, "input": tool_input, "output": output}
    return {"type": "action", "action": {"type": "tool_call", "toolMetadata": meta, **more}}


# ---------------------------------------------------------------------------- chunks


def test_is_v2_is_kept_on_the_chunk_event_and_in_its_frame():
    event = parse_frame(json.dumps(chunk("hi", 0, isV2=True)))
    assert isinstance(event, ChunkEvent) and event.is_v2 is True
    assert json.loads(encode_event(event)) == {"type": "chunk", "chunk": "hi", "chunkIndex": 0, "isV2": True}
    plain = parse_frame(json.dumps(chunk("hi", 0)))
    assert plain.is_v2 is False and "isV2" not in json.loads(encode_event(plain))
    assert parse_frame(json.dumps(chunk("x", 1, isV2=False))).is_v2 is False


def test_ask_json_shows_is_v2():
    def agent(request):
        yield {"type": "chunk", "chunk": "Hello", "isV2": True}

    with serve(agent, chunk_delay=0) as server:
        result = subprocess.run(
            [sys.executable, "-m", "convowidget.cli", "ask", "--json", "--url", server.url, "--agent-id", "a", "hi"],
            capture_output=True, text=True, timeout=60,
        )  # fmt: skip
    assert result.returncode == 0, result.stderr
    chunks = [json.loads(line) for line in result.stdout.splitlines() if '"chunk"' in line]
    assert chunks == [{"type": "chunk", "chunk": "Hello", "chunkIndex": 0, "isV2": True}]


def test_ui_and_plain_chunks_share_one_index_sequence_without_warnings():
    reply = fold(chunk("Intro ", 0), snapshot(1, "Pick"), chunk("more", 2), snapshot(3, "Pick", "one"), chunk("!", 4))
    assert reply.warnings == []
    assert reply.text == "Intro more!\n\nPick\n\none"


def test_a_server_numbering_ui_and_plain_chunks_apart_gets_no_warning_but_a_real_gap_does():
    apart = fold(chunk("a", 0), chunk("b", 1), snapshot(0, "x"), snapshot(1, "y"), chunk("c", 2))
    assert apart.warnings == []
    gap = fold(chunk("a", 0), snapshot(1, "x"), chunk("c", 3))
    assert gap.warnings == ["chunk index 3 out of order or missing: expected 2"]


def test_blocks_first_records_whether_a_snapshot_came_before_the_plain_text():
    assert fold(snapshot(0, "x"), chunk("text", 1)).snapshot_first is True
    assert fold(chunk("text", 0), snapshot(1, "x")).snapshot_first is False
    assert fold(chunk("text", 0)).snapshot_first is False


def test_a_cut_short_last_snapshot_is_repaired_with_a_warning_and_the_reply_stays_complete():
    whole = json.dumps({"from": "bot", "messages": [{"item": {"type": "text", "payload": {"message": "Hello there"}}}]})
    cut = chunk(whole[: whole.index("there") + 3], 0, ui_engine=True)
    reply = fold(cut)
    assert reply.status == "complete" and reply.text == "Hello the"
    assert len(reply.warnings) == 1 and "last ui_engine snapshot was cut short" in reply.warnings[0]
    healed = fold(cut, chunk(whole, 1, ui_engine=True))  # a later whole snapshot replaces it: no warning
    assert healed.warnings == [] and healed.text == "Hello there"


# ---------------------------------------------------------------------------- actions


def test_tool_calls_are_kept_in_order_with_name_input_output_and_payload():
    reply = fold(
        tool_call("lookup_order", {"id": "A-1"}, {"status": "shipped"}, payload="looked up"),
        {"type": "action", "action": {"type": "request_handoff", "payload": "billing"}},
        tool_call(None, "raw text", None),
        {"type": "action", "action": {"type": "tool_call"}},  # no toolMetadata at all
    )
    assert reply.tool_calls == [
        ToolCall("lookup_order", {"id": "A-1"}, {"status": "shipped"}, "looked up"),
        ToolCall("", "raw text", None),
        ToolCall(""),
    ]
    assert reply.handoff is True and len(reply.actions) == 4
    saved = reply.to_dict()
    assert saved["tool_calls"][0] == {
        "name": "lookup_order", "input": {"id": "A-1"}, "output": {"status": "shipped"}, "payload": "looked up",
    }  # fmt: skip
    json.dumps(saved)
    assert convowidget.ToolCall is ToolCall


# ---------------------------------------------------------------------------- metadata


@pytest.mark.parametrize(
    ("value", "count", "warned"),
    [
        (1234, 1234, False),
        ("567", 567, False),
        (" 89 ", 89, False),
        (12.0, 12, False),
        (0, 0, False),
        (None, None, False),
        (True, None, True),
        (-3, None, True),
        (1.5, None, True),
        ("12a", None, True),
        ("٣", None, True),  # a digit, but not an ASCII one
        ({"n": 1}, None, True),
        (2**60, None, True),
    ],
)
def test_token_counts_are_ints_or_none_with_a_warning(value, count, warned):
    reply = fold({"type": "metadata", "metadata": {"inputTokens": value, "outputTokens": value}})
    assert (reply.input_tokens, reply.output_tokens) == (count, count)
    assert len(reply.warnings) == (2 if warned else 0)
    assert all("not a count of tokens" in w for w in reply.warnings)


def test_nan_token_counts_are_refused_quietly_with_a_warning():
    reply = fold('{"type":"metadata","metadata":{"inputTokens":NaN}}', {"type": "metadata", "metadata": {}})
    assert reply.input_tokens is None and reply.status == "complete"
    builder = ReplyBuilder()  # a NaN that got past the frame reader (a custom server in Python)
    from convowidget.protocol import MetadataEvent

    builder.feed(MetadataEvent({"inputTokens": float("nan"), "outputTokens": float("inf")}))
    reply = builder.finish()
    assert (reply.input_tokens, reply.output_tokens) == (None, None) and len(reply.warnings) == 2
    json.dumps(reply.to_dict(), allow_nan=True)


def test_model_comes_from_llm_used_else_the_snapshot_model_id():
    assert fold({"type": "metadata", "metadata": {"llmUsed": "gpt-4o"}}, snapshot(0, "x", modelId="m2")).model == (
        "gpt-4o"
    )
    assert fold(snapshot(0, "x", modelId="claude-x")).model == "claude-x"
    assert fold(chunk("x", 0), {"type": "metadata", "metadata": {"llmUsed": 5}}).model is None
    assert fold(chunk("x", 0)).model is None


def _turns(*texts: str) -> list[dict]:
    return [{"from": "human", "messages": [{"type": "text", "item": {"payload": {"message": t}}}]} for t in texts]


def test_metadata_turns_fill_reply_turns_when_no_history_came_and_the_history_wins_when_it_did():
    assert fold({"type": "metadata", "metadata": {"turns": _turns("a")}}).turns == _turns("a")
    meta = {"type": "metadata", "metadata": {"turns": _turns("meta")}}
    history = {"type": "sync_chat_history", "turns": _turns("h")}
    assert fold(meta, history).turns == _turns("h") and fold(history, meta).turns == _turns("h")
    odd = fold({"type": "metadata", "metadata": {"turns": "nope"}})
    assert odd.turns == [] and odd.warnings == ["metadata 'turns' is not a list; ignored"]


def test_metadata_turns_share_the_previous_replys_turns():
    previous = _turns("one", "two")
    reply = fold({"type": "metadata", "metadata": {"turns": _turns("one", "two", "three")}}, previous_turns=previous)
    assert reply.turns[0] is previous[0] and reply.turns[1] is previous[1]
    assert reply.metadata["turns"] is reply.turns  # the raw metadata holds the same, shared list


def test_sources_keep_titles_and_list_id_only_ones():
    reply = fold(
        {
            "type": "metadata",
            "metadata": {
                "sources": [
                    {"url": "https://example.com/p", "title": "Pricing"},
                    {"id": "doc-7"},
                    {"sourceId": "kb-9", "name": "Refunds"},
                    {"sourceId": 42},
                    "https://example.com/plain",
                ]
            },
        }
    )
    assert reply.sources == ["https://example.com/p", "doc-7", "Refunds", "42", "https://example.com/plain"]
    assert reply.warnings == []
    assert reply_view(reply)["source_items"] == [
        {"url": "https://example.com/p", "title": "Pricing", "id": None},
        {"url": None, "title": None, "id": "doc-7"},
        {"url": None, "title": "Refunds", "id": "kb-9"},
        {"url": None, "title": None, "id": "42"},
        {"url": "https://example.com/plain", "title": None, "id": None},
    ]


# ---------------------------------------------------------------------------- reply_view


def test_reply_view_has_tool_calls_actions_handoff_usage_and_order():
    reply = fold(
        snapshot(0, "card"),
        chunk("text", 1),
        tool_call("lookup_order", {"id": "A-1"}, {"items": [1, 2]}),
        {"type": "action", "action": {"type": "request_handoff", "payload": "needs billing"}},
        {"type": "action", "action": {"type": "open_ticket", "payload": {"queue": "L2"}}},
        {"type": "action", "action": {"type": "notify", "channel": "#ops"}},
        {"type": "metadata", "metadata": {"inputTokens": 1234, "outputTokens": "567", "llmUsed": "gpt-4o"}},
    )
    view = reply_view(reply)
    assert view["tool_calls"] == [
        {"name": "lookup_order", "input": '{\n  "id": "A-1"\n}', "output": '{\n  "items": [\n    1,\n    2\n  ]\n}'}
    ]
    assert view["actions"] == [
        {"type": "open_ticket", "text": '{\n  "queue": "L2"\n}'},
        {"type": "notify", "text": '{\n  "channel": "#ops"\n}'},
    ]
    assert view["handoff_payload"] == "needs billing"
    usage = view["usage"]
    assert (usage["input_tokens"], usage["output_tokens"], usage["model"]) == (1234, 567, "gpt-4o")
    assert usage["first_chunk_s"] == reply.time_to_first_chunk and usage["elapsed_s"] == reply.elapsed
    assert view["blocks_first"] is True and view["plain_text"] == "text" and reply.text == "text\n\ncard"
    json.dumps(view, allow_nan=False)


def test_reply_view_of_a_plain_reply_says_unknown_as_none():
    view = reply_view(fold(chunk("hi", 0)))
    assert view["tool_calls"] == [] and view["actions"] == [] and view["handoff_payload"] is None
    assert {k: view["usage"][k] for k in ("input_tokens", "output_tokens", "model")} == dict.fromkeys(
        ("input_tokens", "output_tokens", "model")
    )
    assert view["blocks_first"] is False and view["source_items"] == [] and view["plain_text"] is None


def test_tool_json_with_html_stays_text_for_the_front_end_to_escape():
    reply = fold(tool_call("<img src=x onerror=alert(1)>", {"q": "<script>alert(1)</script>"}, "</pre><b>x</b>"))
    call = reply_view(reply)["tool_calls"][0]
    assert call["name"] == "<img src=x onerror=alert(1)>"  # kept as text; never markup here
    assert json.loads(call["input"]) == {"q": "<script>alert(1)</script>"}
    assert call["output"] == "</pre><b>x</b>"


def test_huge_and_deeply_nested_tool_json_is_cut_with_a_note():
    deep: object = "bottom"
    for _ in range(29):  # 58 levels: as deep as a frame may nest (64) with its own three
        deep = {"level": [deep]}
    wide = {"rows": [{"id": n, "name": f"row {n}"} for n in range(50_000)]}
    reply = fold(tool_call("big", deep, wide))
    call = reply_view(reply)["tool_calls"][0]
    assert len(call["output"]) < MAX_JSON_CHARS + 100
    assert call["output"].endswith(f"… (cut at {MAX_JSON_CHARS:,} characters)")
    assert call["output"].startswith('{\n  "rows": [\n    {\n      "id": 0,')
    assert json.loads(call["input"]) == deep
    too_deep: object = 1
    for _ in range(5000):  # deeper than Python recurses: described, not raised
        too_deep = [too_deep]
    assert json_text(too_deep).endswith("(cut at 20,000 characters)")  # stops before it recurses too far
    assert json_text(too_deep, limit=10**9) == "(could not be shown as JSON: RecursionError)"
    assert json_text({1, 2}) == "(could not be shown as JSON: TypeError)"


def test_the_panel_entry_carries_the_view_and_to_dataframe_the_new_columns(recording_comm):
    def agent(request):
        yield "Your order "
        yield {"type": "action", "action": {"type": "tool_call", "toolMetadata": {
            "toolName": "lookup_order", "input": {"id": "A-1"}, "output": {"status": "shipped"}}}}  # fmt: skip
        yield "has shipped."
        yield {"type": "metadata", "metadata": {"inputTokens": 40, "outputTokens": 7, "llmUsed": "gpt-4o",
               "sources": [{"url": "https://example.com/orders", "title": "Orders"}]}}  # fmt: skip

    with serve(agent, chunk_delay=0) as server:
        chat = ChatWidget(url=server.url, agent_id="shop")
        reply = chat.ask("where is my order")
    entry = chat.transcript[-1]
    assert entry["text"] == "Your order has shipped." and entry["sources"] == ["https://example.com/orders"]
    assert entry["tool_calls"] == [{"name": "lookup_order", "input": '{\n  "id": "A-1"\n}',
                                    "output": '{\n  "status": "shipped"\n}'}]  # fmt: skip
    assert entry["usage"]["input_tokens"] == 40 and entry["usage"]["model"] == "gpt-4o"
    assert entry["source_items"] == [{"url": "https://example.com/orders", "title": "Orders", "id": None}]
    assert entry["blocks_first"] is False and entry["actions"] == [] and entry["handoff_payload"] is None
    assert reply.tool_calls == [ToolCall("lookup_order", {"id": "A-1"}, {"status": "shipped"})]
    frame = chat.to_dataframe()
    row = frame.iloc[0]
    assert (row["input_tokens"], row["output_tokens"], row["model"], row["llm_used"]) == (40, 7, "gpt-4o", "gpt-4o")
    assert row["tool_calls"] == [
        {"name": "lookup_order", "input": {"id": "A-1"}, "output": {"status": "shipped"}, "payload": None}
    ]
    assert {"prompt", "text", "status", "sources", "elapsed", "convo_id"} <= set(frame.columns)


# ---------------------------------------------------------------------------- requests


def build(**options: object) -> dict:
    return build_interact(agent_id="a", convo_id="c", prompt="What is in this picture?", **options)


def test_images_send_a_visual_message_with_the_reference_clients_payload():
    request = build(images=["https://example.com/a.png", "https://example.com/b.jpg"])
    assert request["messageType"] == "visual"
    assert request["visualPayload"] == {
        "images": ["https://example.com/a.png", "https://example.com/b.jpg"],
        "image": "https://example.com/a.png",
        "imageCount": 2,
        "message": "What is in this picture?",
    }
    assert "messageType" not in build(images=[]) and "messageType" not in build()


@pytest.mark.parametrize(
    ("images", "message"),
    [
        (["http://example.com/a.png"], r"images\[0\]: not an https URL"),
        (["https://example.com/a.png", "javascript:alert(1)"], r"images\[1\]: not an https URL"),
        (["https://user:pw@example.com/a.png"], r"images\[0\]"),
        (["https://exa mple.com/a.png"], r"images\[0\]"),
        (["data:image/png;base64,AAAA"], r"images\[0\]"),
        ([b"https://example.com/a.png"], r"images\[0\]: expected an https URL string, got bytes"),
        ("https://example.com/a.png", "images: expected a list of https image URLs, got str"),
    ],
)
def test_images_must_be_https_urls(images, message):
    with pytest.raises(ConfigurationError, match=message):
        build(images=images)


def test_images_and_a_visual_payload_in_extra_do_not_mix():
    with pytest.raises(ConfigurationError, match="visualPayload: set by the images= argument"):
        build(images=["https://example.com/a.png"], extra={"visualPayload": {"image": "https://x.org/a.png"}})


def test_ask_with_images_reaches_the_server_as_a_visual_message():
    seen = []

    def agent(request):
        seen.append(request.request)
        return "I see a cat."

    with serve(agent, chunk_delay=0) as server:
        client = ConvoClient(url=server.url, agent_id="a")
        reply = client.ask("What is this?", images=["https://example.com/cat.png"])
        with pytest.raises(ConfigurationError, match="images"):
            client.ask("What is this?", images=["file:///etc/passwd"])
    assert reply.ok and reply.text == "I see a cat."
    assert seen[0]["messageType"] == "visual" and seen[0]["visualPayload"]["imageCount"] == 1
    assert len(seen) == 1


@pytest.mark.parametrize(
    ("key", "good", "bad"),
    [
        ("formSubmissionMetadata", {"mid": "m1"}, "m1"),
        ("visualPayload", {"image": "https://x.org/a.png"}, ["x"]),
        ("workspaceData", {}, 3),
        ("variablesOverrides", {"plan": "pro"}, "plan=pro"),
        ("initNodesOptions", {}, []),
        ("toolTest", {"toolId": "t", "toolName": "n", "mode": "validate"}, "t"),
        ("v2", True, "yes"),
    ],
)
def test_the_reference_clients_request_fields_are_known_and_type_checked(key, good, bad):
    assert key in OPTIONAL_FIELDS
    assert build(extra={key: good})[key] == good
    with pytest.raises(ConfigurationError, match=f"^{key}: expected"):
        build(extra={key: bad})
