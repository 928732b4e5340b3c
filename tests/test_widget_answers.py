"""ChatWidget's kernel side of the panel's newer controls: size, suggestions, greeting,
answer versions (Regenerate, Edit), feedback, Export and the marimo-visible last answer.

A recording comm stands in for the browser (see test_widget.py); the agent is a real
embedded server on loopback.
"""

from __future__ import annotations

import json
import logging
import re
import threading

import pytest
from test_widget import custom_messages, from_front_end, updates, wait_for

from convowidget import ChatWidget, ConfigurationError, ConvoClient, serve
from convowidget._panel_options import DEMO_SUGGESTIONS
from convowidget.demo import script


@pytest.fixture(autouse=True)
def _record(recording_comm):
    pass


@pytest.fixture
def counting():
    """An agent answering "answer N to PROMPT", N counting every reply; the panel talks to it."""
    count = iter(range(1, 1000))

    def agent(request):
        if request.prompt == "fail":
            raise RuntimeError("broken")
        return f"answer {next(count)} to {request.prompt}"

    with serve(agent, chunk_delay=0) as server:
        yield lambda **kw: ChatWidget(client=ConvoClient(url=server.url, agent_id="x"), **kw)


# ---------------------------------------------------------------- size and suggestions


@pytest.mark.parametrize(
    ("given", "css"), [(None, ""), (600, "600px"), (480.4, "480px"), ("70vh", "70vh"), (" 32em ", "32em")]
)
def test_height_is_pixels_or_a_css_length(given, css):
    assert ChatWidget(height=given).height == css


@pytest.mark.parametrize("bad", [0, -5, True, "100%", "calc(100vh - 10px)", "600px; color: red", "1e3px", "tall"])
def test_a_height_that_is_not_a_safe_length_is_refused_before_anything_runs(bad):
    with pytest.raises(ConfigurationError, match="height"):
        ChatWidget(height=bad)
    chat = ChatWidget()
    with pytest.raises(ConfigurationError, match="height"):
        chat.height = bad if isinstance(bad, str) else "1px;x"
    assert chat.height == ""


def test_the_demo_offers_starter_prompts_a_real_agent_none_unless_given(counting):
    assert ChatWidget().suggestions == list(DEMO_SUGGESTIONS)
    assert ChatWidget(suggestions=[]).suggestions == []
    assert counting().suggestions == []
    assert counting(suggestions=["  What can you do? ", "Pricing"]).suggestions == ["What can you do?", "Pricing"]
    for bad in ("one string", [""], [3], ["x" * 501], ["p"] * 13):
        with pytest.raises(ConfigurationError, match="suggestions"):
            counting(suggestions=bad)


def test_each_demo_suggestion_shows_off_something_of_the_panel():
    """The defaults are not generic prompts: each gets a reply drawn differently."""
    kinds = []
    for prompt in DEMO_SUGGESTIONS:
        quiet = ("debug", "metadata")  # what the panel does not draw as a part of the reply
        items = [item for item in script(prompt) if not (isinstance(item, dict) and item.get("type") in quiet)]
        text = "".join(item for item in items if isinstance(item, str))
        if len(text) > 10_000:
            kinds.append("long")
        elif not all(isinstance(item, str) for item in items):
            kinds.append("rich")  # ui_engine messages or a tool call
        elif "```" in text:
            kinds.append("code")
        else:
            kinds.append("answer")  # from the knowledge base, with sources
        assert "I don't know about that yet" not in text, prompt
    assert kinds.count("rich") >= 3 and {"code", "long", "answer"} <= set(kinds), kinds


# ---------------------------------------------------------------- greeting


def test_the_demo_greets_once_when_first_shown_never_on_a_second_view_or_reload():
    chat = ChatWidget()
    from_front_end(chat, {"type": "hello"})  # the first view
    wait_for(lambda: chat.transcript and chat.status == "idle")
    for _ in range(3):  # a second view, a page reload, the panel asking whether the kernel is back
        from_front_end(chat, {"type": "hello"})
    assert [r.prompt for r in chat.replies] == ["start"]
    (greeting,) = chat.transcript  # the answer only: the panel shows no "start" from the person
    assert greeting["role"] == "assistant" and greeting["greeting"] is True and greeting["prompt_id"] is None
    assert "demo agent" in greeting["text"]
    reply = chat.ask("How does streaming work?")
    assert reply.status == "complete" and len(chat.replies) == 2


def test_a_real_agent_greets_only_when_asked_and_never_after_the_person_spoke(counting):
    quiet = counting()
    from_front_end(quiet, {"type": "hello"})
    assert custom_messages(quiet) == [{"type": "welcome"}]
    assert quiet.replies == [] and quiet.transcript == []

    greets = counting(greet=True)
    from_front_end(greets, {"type": "hello"})
    wait_for(lambda: greets.transcript and greets.status == "idle")
    assert [e["text"] for e in greets.transcript] == ["answer 1 to start"]

    late = counting(greet=True)
    late.ask("hello")  # asked from a cell before the panel was ever shown
    from_front_end(late, {"type": "hello"})
    assert [r.prompt for r in late.replies] == ["hello"]
    with pytest.raises(ConfigurationError, match="greet"):
        counting(greet="yes")


# ---------------------------------------------------------------- versions


def test_regenerate_keeps_the_earlier_answers_as_versions_of_the_turn(counting):
    chat = counting()
    chat.ask("question")
    first_id = chat.transcript[-1]["id"]
    for n in (2, 3):
        from_front_end(chat, {"type": "regenerate", "id": chat.transcript[-1]["id"]})
        wait_for(lambda n=n: len(chat.replies) == n and chat.status == "idle")
    prompt, answer = chat.transcript
    assert prompt["text"] == "question" and answer["text"] == "answer 3 to question"
    assert [(v["id"], v["prompt"], v["text"]) for v in answer["versions"]] == [
        (first_id, "question", "answer 1 to question"),
        (answer["versions"][1]["id"], "question", "answer 2 to question"),
    ]
    assert all("versions" not in v for v in answer["versions"])
    assert [r.text for r in chat.replies] == [f"answer {n} to question" for n in (1, 2, 3)]
    # what a page reload or saved widget state gets: the versions are in the entry itself
    assert json.loads(chat.to_json())["messages"][1]["versions"][0]["text"] == "answer 1 to question"


def test_edit_asks_the_latest_prompt_again_as_typed_and_keeps_the_first_as_a_version(counting):
    chat = counting()
    chat.ask("first")
    chat.ask("secnd")
    prompt_id = chat.transcript[-2]["id"]
    from_front_end(chat, {"type": "edit", "id": prompt_id, "text": "second"})
    wait_for(lambda: len(chat.replies) == 3 and chat.status == "idle")
    texts = [e["text"] for e in chat.transcript]
    assert texts == ["first", "answer 1 to first", "second", "answer 3 to second"]
    (version,) = chat.transcript[-1]["versions"]
    assert version["prompt"] == "secnd" and version["text"] == "answer 2 to secnd"
    # an edit of a prompt that is no longer the latest is never lost: it is asked as a new prompt
    from_front_end(chat, {"type": "edit", "id": chat.transcript[0]["id"], "text": "first, again"})
    wait_for(lambda: len(chat.replies) == 4 and chat.status == "idle")
    assert [e["text"] for e in chat.transcript][-2:] == ["first, again", "answer 4 to first, again"]
    assert "versions" not in chat.transcript[-1]


def test_retry_of_a_failed_answer_keeps_the_turns_versions_but_not_the_failure(counting):
    chat = counting()
    chat.ask("fail")
    assert chat.transcript[-1]["status"] == "failed"
    from_front_end(chat, {"type": "retry", "id": chat.transcript[-1]["id"]})
    wait_for(lambda: len(chat.replies) == 2 and chat.status != "connecting")
    assert chat.transcript[-1]["status"] == "failed" and "versions" not in chat.transcript[-1]


# ---------------------------------------------------------------- feedback


def test_feedback_from_the_panel_reaches_the_reply_the_entry_the_dataframe_and_callbacks(counting, caplog):
    chat = counting()
    seen: list[tuple[str | None, str | None, bool]] = []
    chat.on_feedback(lambda reply: seen.append((reply.feedback, reply.feedback_note, _on_io_thread())))
    chat.on_feedback(lambda reply: 1 / 0)  # a broken callback is logged; the others still run
    reply = chat.ask("q")
    answer_id = chat.transcript[-1]["id"]
    before = len(updates(chat))
    from_front_end(chat, {"type": "feedback", "id": answer_id, "value": "down"})
    wait_for(lambda: len(seen) == 1)
    from_front_end(chat, {"type": "feedback", "id": answer_id, "value": "down", "note": "  Too vague.  "})
    wait_for(lambda: len(seen) == 2)
    assert seen == [("down", None, True), ("down", "Too vague.", True)]
    assert reply.feedback == "down" and reply.feedback_note == "Too vague."
    assert chat.transcript[-1]["feedback"] == "down" and chat.transcript[-1]["feedback_note"] == "Too vague."
    tails = [u["transcript_tail"] for u in updates(chat)[before:] if "transcript_tail" in u]
    assert tails[-1]["entries"] == [chat.transcript[-1]]  # the entry alone, as a form sent is
    assert "on_feedback callback failed" in caplog.text
    pytest.importorskip("pandas")
    frame = chat.to_dataframe()
    assert list(frame["feedback"]) == ["down"] and list(frame["feedback_note"]) == ["Too vague."]
    # taken back: no feedback, no note
    from_front_end(chat, {"type": "feedback", "id": answer_id, "value": None, "note": "ignored"})
    wait_for(lambda: len(seen) == 3)
    assert (reply.feedback, reply.feedback_note) == (None, None)


def test_feedback_on_an_earlier_version_and_feedback_that_is_not(counting):
    chat = counting()
    first = chat.ask("q")
    first_id = chat.transcript[-1]["id"]
    from_front_end(chat, {"type": "regenerate", "id": first_id})
    wait_for(lambda: len(chat.replies) == 2 and chat.status == "idle")
    seen: list[str] = []
    chat.on_feedback(lambda reply: seen.append(reply.text))
    for bad in ({"value": "meh"}, {"value": "up", "note": 5}, {"id": "m999", "value": "up"}, {"id": 3, "value": "up"}):
        from_front_end(chat, {"type": "feedback", "id": first_id, **bad})
    from_front_end(chat, {"type": "feedback", "id": first_id, "value": "up", "note": "x" * 5000})
    wait_for(lambda: seen)
    assert seen == ["answer 1 to q"] and first.feedback == "up" and len(first.feedback_note) == 2000
    (version,) = chat.transcript[-1]["versions"]
    assert version["feedback"] == "up" and "feedback" not in chat.transcript[-1]


def _on_io_thread() -> bool:
    return threading.current_thread().name.startswith("convowidget")


# ---------------------------------------------------------------- export and marimo


def test_export_answers_the_panel_with_exactly_to_markdown_and_to_json(counting):
    chat = counting(agent_label="Support bot · EU")
    chat.ask("hello <b>there</b>")
    chat.comm.sent.clear()
    from_front_end(chat, {"type": "export", "format": "markdown", "request": "p1-1"})
    from_front_end(chat, {"type": "export", "format": "json", "request": "p1-2"})
    from_front_end(chat, {"type": "export", "format": "exe", "request": "p1-3"})  # no such format: nothing
    markdown, as_json = custom_messages(chat)
    assert markdown["text"] == chat.to_markdown() and as_json["text"] == chat.to_json()
    assert (markdown["request"], markdown["mime"], as_json["mime"]) == ("p1-1", "text/markdown", "application/json")
    assert re.fullmatch(r"support-bot-eu-\d{4}-\d\d-\d\d\.md", markdown["filename"])
    assert as_json["filename"].endswith(".json")


def test_each_finished_reply_sets_last_answer_which_marimo_shows_as_the_value(counting):
    chat = counting()
    assert chat.last_answer == {}
    chat.ask("hi")
    assert chat.last_answer == {
        "id": chat.transcript[-1]["id"], "prompt": "hi", "status": "complete", "text": "answer 1 to hi", "cut": False,
    }  # fmt: skip
    assert updates(chat)[-1]["last_answer"] == chat.last_answer  # sent with the finished turn
    # the panel writes back which answer it drew (what makes marimo re-run cells): not echoed
    chat.comm.sent.clear()
    chat.set_state({"_shown_answer": chat.last_answer["id"]})
    assert chat._shown_answer == chat.last_answer["id"] and updates(chat) == []


def test_last_answer_holds_a_long_reply_cut_and_says_so():
    with serve(lambda request: "word " * 5000, chunk_delay=0) as server:
        chat = ChatWidget(url=server.url, agent_id="x")
        chat.ask("long")
    assert chat.last_answer["cut"] is True and len(chat.last_answer["text"]) == 10_000


def test_messages_of_the_wrong_shape_do_nothing(counting, caplog):
    chat = counting()
    chat.ask("q")
    before = (list(chat.transcript), len(chat.replies))
    with caplog.at_level(logging.DEBUG):
        for content in (
            "text", None, [], {"type": "edit", "id": "m1"}, {"type": "edit", "text": "x"},
            {"type": "regenerate"}, {"type": "export", "format": "json"}, {"type": "submit_form", "id": "m2"},
            {"type": "unknown"},
        ):  # fmt: skip
            from_front_end(chat, content)
    assert (chat.transcript, len(chat.replies)) == before


def test_the_markdown_export_says_what_feedback_was_given(counting):
    chat = counting()
    chat.ask("q")
    from_front_end(chat, {"type": "feedback", "id": chat.transcript[-1]["id"], "value": "up", "note": "<b>Great</b>"})
    wait_for(lambda: "feedback" in chat.transcript[-1])
    assert chat.to_markdown().endswith("*Feedback: helpful* — &lt;b&gt;Great&lt;/b&gt;")
