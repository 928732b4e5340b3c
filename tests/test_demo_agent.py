"""The demo agent shows what the panel does: code, a long reply, a slow one to try Stop;
its menu and greeting say so; and its knowledge base tells the truth about the product."""

from __future__ import annotations

import asyncio
import inspect
import json
import re
from concurrent.futures import ThreadPoolExecutor

import pytest
from nbconvert.filters.markdown_mistune import markdown2html_mistune

from convowidget import ChatWidget, ConvoClient, EmbeddedServer, Faults, agent, serve
from convowidget.agent import UIMessage
from convowidget.demo import INTRO_VIDEO, SLOW_CHUNKS, SLOW_SECONDS, Pause, knowledge_base, long_story, script, search
from convowidget.forms import form_submission
from convowidget.protocol import ChunkEvent, encode_event, validate_request
from convowidget.turns import turn_blocks
from convowidget.ui import FIELD_TYPES

FENCE = re.compile(r"^```(\w*)\n(.*?)^```$", re.M | re.S)


def fences(text: str) -> list[tuple[str, str]]:
    """(language, code) of each fenced block."""
    return FENCE.findall(text)


def prose(text: str) -> str:
    return FENCE.sub("", text).strip()


def text_of(prompt: str) -> str:
    return "".join(item for item in script(prompt) if isinstance(item, str))


def pauses(prompt: str) -> list[float]:
    return [item.seconds for item in script(prompt) if isinstance(item, Pause)]


class CountingExecutor(ThreadPoolExecutor):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.submitted = 0

    def submit(self, *args, **kwargs):
        self.submitted += 1
        return super().submit(*args, **kwargs)


# ---------------------------------------------------------------------------- code


@pytest.mark.parametrize("prompt", ["show me some code", "Show me code", "a code example, please", "give me a snippet"])
def test_asked_for_code_it_answers_with_python_and_shell_blocks_between_sentences(client, prompt):
    reply = client.ask(prompt)
    assert reply.status == "complete"
    blocks = fences(reply.text)
    languages = [language for language, _ in blocks]
    assert "python" in languages and {"bash", "sh", "shell", "javascript", "js"} & set(languages), languages
    for language, code in blocks:
        assert 1 <= len(code.splitlines()) <= 12, "short blocks"
        if language == "python":
            compile(code, "<the demo's code reply>", "exec")  # real Python, not pseudo-code
    first, last = reply.text.strip().splitlines()[0], reply.text.strip().splitlines()[-1]
    assert not first.startswith("```") and not last.startswith("```"), "a sentence before and after the code"
    assert len(prose(reply.text).split()) >= 20


def test_code_words_inside_a_question_still_get_the_knowledge_base(client):
    reply = client.ask("How do I write async code?")
    assert reply.sources and reply.sources[0].endswith("#async-code") and "```" not in reply.text


# ---------------------------------------------------------------------------- long


def test_asked_for_a_long_story_it_streams_thousands_of_words_of_varied_markdown(client):
    reply = client.ask("tell me a long story")
    assert reply.status == "complete" and reply.text == long_story()
    assert client.ask("long answer").text == reply.text
    assert len(reply.text.split()) >= 2000
    html = markdown2html_mistune(reply.text)
    assert html.count("<h3") >= 10 and "<h2" in html
    assert "<ul>" in html and "<ol>" in html and "<blockquote>" in html
    assert html.count("<table>") >= 2
    languages = {language for language, _ in fences(reply.text)}
    assert {"python", "json", "bash", "yaml"} <= languages
    for language, code in fences(reply.text):
        if language == "python":
            compile(code, "<the long story>", "exec")
        if language == "json":
            validate_request(json.loads(code))  # the interact object it shows is a valid one
    # a few words a chunk: hundreds of chunks, so at the default chunk_delay it takes seconds, not minutes
    default_delay = inspect.signature(EmbeddedServer).parameters["chunk_delay"].default
    assert len(reply.chunks) > 100 and len(reply.chunks) * default_delay < 15


def test_the_long_story_is_not_searched_as_knowledge():
    assert all(not section.source.startswith("kb/_") for section in knowledge_base())
    assert not search("epilogue chapter")  # words only the story has


# ---------------------------------------------------------------------------- slow


def test_asked_to_answer_slowly_the_reply_is_paced_over_about_twenty_seconds():
    waits = pauses("answer slowly")
    assert sum(waits) == pytest.approx(SLOW_SECONDS) and 15 <= SLOW_SECONDS <= 25
    assert 20 <= len(waits) <= SLOW_CHUNKS and max(waits) < 1  # text keeps coming: one chunk each pause
    items = [item for item in script("answer slowly") if isinstance(item, (str, Pause))]
    assert all(isinstance(a, Pause) and isinstance(b, str) for a, b in zip(items[::2], items[1::2], strict=True))
    assert "Stop" in text_of("answer slowly")
    # a question asked slowly gets its usual answer, paced
    slow, usual = list(script("How does streaming work? Answer slowly")), list(script("How does streaming work?"))
    assert text_of("How does streaming work? Answer slowly") == text_of("How does streaming work?")
    assert [i for i in slow if isinstance(i, dict) and i["type"] == "metadata"] == [
        i for i in usual if isinstance(i, dict) and i["type"] == "metadata"
    ]
    assert sum(pauses("tell me a long story slowly")) == pytest.approx(SLOW_SECONDS)


@pytest.mark.parametrize(
    "prompt", ["start", "menu", "How does streaming work?", "show me some code", "tell me a long story", "Why so slow?"]
)
def test_only_a_reply_asked_for_slowly_is_paced(prompt):
    assert pauses(prompt) == []


async def test_stop_during_a_slow_reply_keeps_its_text_and_other_conversations_go_on():
    executor = CountingExecutor(max_workers=4)
    asyncio.get_running_loop().set_default_executor(executor)
    async with serve() as server:  # the default chunk_delay: the pace is the demo agent's own
        client = ConvoClient(url=server.url, agent_id="demo", idle_timeout=30)
        chunks = 0
        three = asyncio.Event()
        stop = asyncio.Event()

        def on_event(event, _builder):
            nonlocal chunks
            if isinstance(event, ChunkEvent):
                chunks += 1
                if chunks == 3:
                    three.set()

        slow = asyncio.create_task(
            client.exchange(client.make_request("answer slowly"), on_event=on_event, stop_event=stop)
        )
        await asyncio.wait_for(three.wait(), 30)
        other = await client.ask_async("How does streaming work?")
        # about twenty seconds of pacing remain: the other reply did not wait for them
        assert other.status == "complete" and not slow.done()
        stop.set()
        reply = await asyncio.wait_for(slow, 30)
        after = await client.ask_async("start")
    assert reply.status == "stopped" and reply.text and text_of("answer slowly").startswith(reply.text)
    assert len(reply.text) < len(text_of("answer slowly"))
    assert after.status == "complete"
    assert executor.submitted == 0  # the pauses are asyncio.sleep on the loop, not a thread each


# ---------------------------------------------------------------------------- menu and greeting


def test_the_menu_and_the_greeting_lead_to_code_a_long_reply_and_a_slow_one(client):
    menu = client.ask("menu")
    (choice,) = [m for m in menu.ui_turn["messages"] if m["type"] == "choice"]
    buttons = {b["name"]: b["request"]["payload"]["message"] for b in choice["item"]["payload"]["buttons"]}
    assert next(iter(buttons)) == "Streaming"
    (card,) = [m for m in menu.ui_turn["messages"] if m["type"] == "cardV2"]
    assert "imageUrl" not in card["item"]["payload"]  # the panel shows no data: images; a placeholder would look broken
    by_kind = {}
    for name, prompt in buttons.items():
        if pauses(prompt):
            by_kind["slow"] = name
        else:
            reply = client.ask(prompt)
            if len(reply.text.split()) > 2000:
                by_kind["long"] = name
            elif fences(reply.text):
                by_kind["code"] = name
    assert set(by_kind) == {"slow", "long", "code"}, buttons
    assert "Stop" in by_kind["slow"]
    greeting = client.ask("start").text
    assert greeting.startswith("Hi! I'm the **convowidget demo agent**")
    suggested = set(re.findall(r"(?<!\*)\*([a-z][a-z ]+)\*(?!\*)", greeting))
    assert {"show me some code", "tell me a long story", "answer slowly", "menu"} <= suggested
    assert fences(text_of("show me some code")) and len(text_of("tell me a long story").split()) > 2000
    assert pauses("answer slowly") and any(isinstance(i, UIMessage) for i in script("menu"))


def test_a_question_it_cannot_answer_suggests_what_it_can_show(client):
    reply = client.ask("What is the weather on Mars?")
    assert "don't know" in reply.text and not reply.sources
    assert "code" in reply.text and "long story" in reply.text and "slowly" in reply.text


# ---------------------------------------------------------------------------- the knowledge base tells the truth


def test_the_knowledge_base_says_where_sources_appear_truthfully(client):
    reply = client.ask("Where do sources appear?")
    assert reply.sources[0] == "kb/panel.md#sources-and-handoff"
    said = " ".join(reply.text.split())
    assert "listed under the reply" in said
    assert "web address is a link" in said and "shown as plain text" in said
    everything = " ".join(" ".join(section.body for section in knowledge_base()).split())
    assert "appear as links" not in everything


def test_every_knowledge_base_path_named_in_a_reply_is_a_real_source():
    real = {section.source for section in knowledge_base()}
    written = "\n".join([*(section.body for section in knowledge_base()), long_story(), text_of("show me some code")])
    named = set(re.findall(r"kb/[\w.-]+\.md#[\w-]+", written))
    assert named and named <= real, named - real


@pytest.mark.parametrize(
    ("prompt", "first"),
    [
        ("How do I install it?", "getting-started.md#installing-convowidget"),
        ("How does streaming work?", "panel.md#streaming-replies"),
        ("How do I stop a reply?", "panel.md#stopping-and-retrying"),  # "stop" meets "Stopping"
        ("Can I retry a failed reply?", "panel.md#stopping-and-retrying"),
        ("Where do sources appear?", "panel.md#sources-and-handoff"),
        ("What can the demo agent show?", "getting-started.md#what-the-demo-agent-can-show"),
        ("How do I save a notebook?", "panel.md#saving-notebooks"),
        ("How do I test my agent?", "python-api.md#testing-an-agent"),
    ],
)
def test_questions_find_the_section_that_answers_them(prompt, first):
    assert search(prompt)[0].source == f"kb/{first}"


def test_the_numbers_the_knowledge_base_gives_are_the_products_defaults():
    streaming = next(s for s in knowledge_base() if s.title == "Streaming replies").body
    flush = inspect.signature(ChatWidget).parameters["flush_interval"].default
    assert "at most twenty updates a second" in streaming and round(1 / flush) == 20
    server = next(s for s in knowledge_base() if s.title == "What it is").body
    assert f"({inspect.signature(EmbeddedServer).parameters['chunk_delay'].default} by default)" in server
    assert "about twenty seconds" in text_of("answer slowly") and SLOW_SECONDS == 20


def test_the_fault_examples_in_the_knowledge_base_are_real_faults():
    text = "\n".join(section.body for section in knowledge_base())
    examples = re.findall(r"`(Faults\([^`]*\))`", text)
    assert len(examples) >= 4
    for example in examples:
        faults = eval(example, {"Faults": Faults})
        assert isinstance(faults, Faults)
        assert any(
            getattr(faults, name) is not None for name in ("drop_after", "close_after", "stall_after", "refuse_status")
        ), f"{example} on its own makes no fault strike"


def test_saving_notebooks_describes_the_collapsed_html_copy(client):
    reply = client.ask("How do I save a notebook?")
    assert reply.sources[0] == "kb/panel.md#saving-notebooks"
    said = " ".join(reply.text.split())
    assert "plain HTML" in said and "collapsed" in said and "markdown copy" not in said


# ---------------------------------------------------------------------------- what web-chat agents send


def blocks_of(reply) -> dict[str, dict]:
    """The reply's rich blocks by kind (one of each kind expected)."""
    return {block["kind"]: block for block in turn_blocks(reply.ui_turn)} if reply.ui_turn else {}


def test_book_a_demo_answers_with_a_form_of_every_kind_of_field(client):
    reply = client.ask("I'd like to book a demo")
    form = blocks_of(reply)["form"]
    assert form["title"] == "Book a demo" and form["mid"] and not form["submitted"]
    kinds = {field["id"]: field["type"] for field in form["fields"]}
    assert kinds == {
        "name": "text",
        "email": "email",
        "company": "text",
        "team_size": "select",
        "date": "date",
        "message": "textarea",
        "consent": "checkbox",
    }
    (size,) = [field for field in form["fields"] if field["type"] == "select"]
    assert len(size["options"]) >= 3
    assert reply.status == "complete" and not reply.warnings


def test_subscribe_answers_with_an_email_input_sent_on_enter(client):
    field = blocks_of(client.ask("Subscribe me to the newsletter"))["input"]
    assert field["field"]["type"] == "email" and field["field"]["required"] and field["submit_on_enter"]


def test_watch_the_intro_answers_with_a_vertical_https_video_embed(client):
    iframe = blocks_of(client.ask("Can I watch the intro?"))["iframe"]
    assert iframe["layout"] == "vertical" and iframe["url"] == INTRO_VIDEO
    assert iframe["url"].startswith("https://") and "/embed/" in iframe["url"] and iframe["host"]


def test_where_is_my_order_calls_a_tool_then_answers_from_its_output(client):
    reply = client.ask("Where is my order CW-2001?")
    (call,) = reply.tool_calls
    assert call.name == "lookup_order" and call.input == {"order_id": "CW-2001"}
    assert call.output["order_id"] == "CW-2001" and call.output["status"] == "shipped"
    assert json.loads(json.dumps(call.output)) == call.output  # JSON, as a real tool's output
    assert "CW-2001" in reply.text and call.output["eta"] in reply.text and "made up" in reply.text
    assert reply.actions.index(next(a for a in reply.actions if a["type"] == "tool_call")) == 0
    assert client.ask("where is my order?").tool_calls[0].input["order_id"]  # an id even when none is given


def test_save_my_settings_answers_with_a_success_notice(client):
    notice = blocks_of(client.ask("Please save my settings"))["notice"]
    assert notice == {"kind": "notice", "level": "success", "text": "Saved!"}


PASSWORD = "correct-Horse-battery-9"


def test_a_submitted_form_is_thanked_by_name_and_stored_without_its_password(server, client):
    asked = client.ask("book a demo")
    sent = form_submission(
        blocks_of(asked)["form"],
        {"name": "Ann Example", "email": "ann@example.org", "team_size": "2-10", "date": "2031-03-04", "consent": True},
    )
    thanks = client.ask(sent.prompt, asked.convo_id, **sent.extra)
    assert thanks.text.startswith("Thanks, Ann Example!") and "Team size" in thanks.text
    person = thanks.turns[-2]
    (context,) = [m for m in person["messages"] if m["type"] == "context:form_submission"]
    assert {i["field_id"]: i["value"] for i in context["item"]["payload"]["submittedData"]}["team_size"] == "2-10"
    (stored_form,) = [b for b in turn_blocks(thanks.turns[1]) if b["kind"] == "form"]
    assert stored_form["submitted"] and stored_form["values"]["name"] == "Ann Example"


def test_a_password_submitted_to_the_demo_is_never_repeated_nor_stored(server, client):
    fields = [
        agent.form_field("full_name", "Full name", required=True),
        agent.form_field("secret", "Password", "password", required=True),
    ]
    signup = {"from": "bot", "messages": [agent.form(fields, title="Sign up").wire()]}
    (form,) = turn_blocks(signup)
    sent = form_submission(form, {"full_name": "Bo", "secret": PASSWORD})
    assert PASSWORD not in sent.prompt
    frames = []
    pending = client.start(
        sent.prompt, on_event=lambda event, builder: frames.append(encode_event(event)), **sent.extra
    )
    reply = pending.result(10)
    assert reply.text.startswith("Thanks, Bo!") and PASSWORD not in reply.text
    assert [f for f in frames if '"sync_chat_history"' in f] and all(PASSWORD not in f for f in frames)
    (context,) = [m for m in reply.turns[0]["messages"] if m["type"] == "context:form_submission"]
    assert [i["value"] for i in context["item"]["payload"]["submittedData"]] == ["Bo", None]


def test_the_menu_leads_to_every_web_chat_message(client):
    menu = client.ask("menu")
    (card,) = [b for b in turn_blocks(menu.ui_turn) if b["kind"] == "card"]
    prompts = [b["message"] for b in card["buttons"]]
    shown = {}
    for prompt in prompts:
        reply = client.ask(prompt)
        kinds = set(blocks_of(reply)) - {"text"}
        shown.update(dict.fromkeys(kinds, prompt))
        if reply.tool_calls:
            shown["tool call"] = prompt
    assert {"form", "input", "iframe", "notice", "tool call"} <= set(shown), shown


def test_the_greeting_and_i_dont_know_name_the_web_chat_messages(client):
    wanted = {"book a demo", "subscribe", "watch the intro", "where is my order", "save my settings"}
    for prompt in ("start", "What is the weather on Mars?"):
        said = client.ask(prompt).text
        assert wanted <= set(re.findall(r"(?<!\*)\*([a-z][a-z ]+)\*(?!\*)", said)), prompt


@pytest.mark.parametrize(
    ("prompt", "words"),
    [
        ("menu", ["Pick one", "**Streaming**", "**Book a demo**", "**convowidget**"]),
        ("book a demo", ["**Book a demo**", "- Your name (required)", "- Team size: Just me", "Preferred date"]),
        ("subscribe", ["Email address (required): please send it in a message."]),
        ("watch the intro", [f"<{INTRO_VIDEO}>"]),
        ("save my settings", ["**Saved!**"]),
    ],
)
def test_without_the_ui_engine_each_answer_is_markdown(client, prompt, words):
    reply = client.ask(prompt, disableUiEngine=True)
    assert reply.ui_turn is None and reply.status == "complete"
    for word in words:
        assert word in reply.text
    assert [m["item"]["type"] for m in reply.turns[-1]["messages"]] == ["text"]


def test_without_the_ui_engine_the_order_still_calls_its_tool(client):
    reply = client.ask("where is my order?", disableUiEngine=True)
    assert reply.tool_calls[0].name == "lookup_order" and "has shipped" in reply.text


@pytest.mark.parametrize(
    ("prompt", "first"),
    [
        ("How do forms work?", "web-chat.md#forms-and-inputs"),
        ("Can I send a password in a form?", "web-chat.md#forms-and-inputs"),
        ("What is a tool call?", "web-chat.md#tool-calls"),
        ("How do iFrames work?", "web-chat.md#embedded-content-iframes"),
        ("Does a video load by itself?", "web-chat.md#embedded-content-iframes"),
        ("What are notices?", "web-chat.md#notices"),
        ("What does disableUiEngine do?", "web-chat.md#plain-text-instead"),
    ],
)
def test_questions_about_web_chat_messages_find_their_section(prompt, first):
    assert search(prompt)[0].source == f"kb/{first}"


def test_the_knowledge_base_tells_the_truth_about_web_chat_messages(client):
    said = " ".join(" ".join(s.body for s in knowledge_base() if s.source.startswith("kb/web-chat.md")).split())
    tries = {"book a demo": "form", "subscribe": "input", "watch the intro": "iframe", "save my settings": "notice"}
    for prompt, kind in tries.items():
        assert f"*{prompt}*" in said and kind in blocks_of(client.ask(prompt))
    assert "*where is my order*" in said and client.ask("where is my order").tool_calls
    assert '"Tool call: lookup_order"' in said and "Load embedded content" in said and "(hidden)" in said
    assert all(kind in said for kind in FIELD_TYPES)  # every field type the spec lists
    reply = client.ask("How do forms work?")
    assert reply.sources[0] == "kb/web-chat.md#forms-and-inputs" and "formSubmissionMetadata" in reply.text
