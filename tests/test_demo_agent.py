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

from convowidget import ChatWidget, ConvoClient, EmbeddedServer, Faults, serve
from convowidget.agent import UIMessage
from convowidget.demo import SLOW_CHUNKS, SLOW_SECONDS, Pause, knowledge_base, long_story, script, search
from convowidget.protocol import ChunkEvent, validate_request

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
