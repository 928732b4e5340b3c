"""`convowidget ask` in a terminal: everything a reply carried, in words, after its streamed text.

Run through the real command (``main([...])``, and a subprocess for what reaches a UTF-8
terminal) against the embedded demo agent and custom agents.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from convowidget import Faults, serve
from convowidget._terminal_reply import usage_line
from convowidget.agent import UIMessage, button, card, choice, form, form_field, iframe, image, notice, text, tool_call
from convowidget.cli import main

USAGE = re.compile(r"(< )?\d+\.\d s to first word · (< )?\d+(\.\d)? s · \d+ → \d+ tokens · convowidget-demo")
RAW_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


@pytest.fixture(autouse=True)
def no_agent_configured(monkeypatch):
    for name in ("CONVOCORE_AGENT_ID", "CONVOCORE_URL", "CONVOCORE_OWNER_ID", "CONVOCORE_TOKEN", "CONVOCORE_REGION"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture(scope="module")
def demo_url():
    with serve(chunk_delay=0) as server:
        yield server.url


def ask(capsys, url: str | None, prompt: str, *options: str) -> tuple[int, str, str]:
    target = ["--url", url, "--agent-id", "a"] if url else []
    code = main(["ask", *target, *options, prompt])
    out, err = capsys.readouterr()
    return code, out, err


def section(out: str, first: str) -> list[str]:
    """The lines of the section (blank-line separated) that starts with ``first``."""
    for block in out.split("\n\n"):
        lines = block.strip("\n").split("\n")
        if lines[0] == first:
            return lines
    raise AssertionError(f"no section starting {first!r} in:\n{out}")


# ------------------------------------------------------------------ the demo agent's answers


def test_the_menu_lists_each_choice_and_the_cards_title_and_buttons_with_their_targets(capsys):
    code, out, err = ask(capsys, None, "menu")  # no agent configured: the local demo agent, as a user runs it
    assert code == 0 and "local demo agent" in err
    assert section(out, "Here is what I can show you. Pick one:") == ["Here is what I can show you. Pick one:"]
    assert section(out, '  1. Streaming → sends "How does streaming work?"') == [
        '  1. Streaming → sends "How does streaming work?"',
        '  2. Show me code → sends "Show me some code"',
        '  3. A long reply → sends "Tell me a long story"',
        '  4. Answer slowly (try Stop) → sends "Answer slowly"',
        '  5. Talk to a human → sends "I want a human"',
    ]
    card_lines = section(out, "Card: convowidget")
    assert card_lines[1].startswith("  Chat with your Convocore agent from a notebook.")
    assert card_lines[2:4] == ['  1. Book a demo → sends "Book a demo"', '  2. Subscribe → sends "Subscribe"']
    assert card_lines[-1] == '  6. Python API → sends "Tell me about the Python API"'
    assert USAGE.fullmatch(out.rstrip("\n").split("\n")[-1])
    assert out.count("Chat with your Convocore agent") == 1  # the card's body once, under its title


def test_book_a_demo_prints_the_forms_fields_and_how_to_send_it(capsys, demo_url):
    code, out, _ = ask(capsys, demo_url, "book a demo")
    assert code == 0
    assert section(out, "Form: Book a demo") == [
        "Form: Book a demo",
        "  Thirty minutes with the team, at a time that suits you.",
        "  - Your name (text, required)",
        "  - Email address (email, required)",
        "  - Company (text)",
        "  - Team size (select, required; options: Just me, 2–10 people, 11–50 people, 51 or more)",
        "  - Preferred date (date, required)",
        "  - What would you like to see? (textarea)",
        "  - You may contact me about this demo (checkbox, required)",
        "  Submit button: Request a demo",
        "  (to send it, use the panel in a notebook, or chat.submit() there)",
    ]


def test_subscribe_prints_the_input_field(capsys, demo_url):
    _, out, _ = ask(capsys, demo_url, "subscribe")
    assert section(out, "Input: Email address (email, required)") == [
        "Input: Email address (email, required)",
        "  (to send it, use the panel in a notebook, or chat.submit() there)",
    ]


def test_watch_the_intro_prints_the_https_address_and_layout_and_fetches_nothing(capsys, demo_url):
    _, out, _ = ask(capsys, demo_url, "watch the intro")
    url = "https://www.youtube-nocookie.com/embed/aqz-KE-bpKQ"
    assert f"Embedded video (vertical layout), not loaded: {url}" in out.split("\n")


def test_an_order_lookup_prints_the_tool_call_after_the_streamed_answer(capsys, demo_url):
    code, out, _ = ask(capsys, demo_url, "where is my order 12345")
    assert code == 0
    assert out.startswith("Your order **12345** has shipped")
    assert section(out, "Tool call: lookup_order") == [
        "Tool call: lookup_order",
        '  input: {"order_id": "12345"}',
        '  output: {"order_id": "12345", "status": "shipped", "carrier": "Royal Mail", "eta": "2026-12-08"}',
    ]
    assert out.index("has shipped") < out.index("Tool call:") < out.index("tokens · convowidget-demo")


def test_save_my_settings_prints_the_notice_with_its_level(capsys, demo_url):
    _, out, _ = ask(capsys, demo_url, "save my settings")
    assert "Notice (success): Saved!" in out.split("\n")


def test_the_last_line_is_the_usage_line_and_sources_stay_on_one_line(capsys, demo_url):
    _, out, _ = ask(capsys, demo_url, "How do I install it?")
    lines = out.rstrip("\n").split("\n")
    assert USAGE.fullmatch(lines[-1]) and lines[-2] == ""
    assert "Sources: kb/getting-started.md#installing-convowidget" in lines


def test_json_output_is_still_one_event_per_line_and_nothing_else(capsys, demo_url):
    code, out, _ = ask(capsys, demo_url, "where is my order 12345", "--json")
    assert code == 0
    events = [json.loads(line) for line in out.splitlines()]  # every line is an event
    assert [e["type"] for e in events].count("action") == 1
    assert "Tool call:" not in out and "to first word" not in out


# ------------------------------------------------------------------ every kind, from a custom agent


def everything(request):
    yield tool_call("search", {"q": "x" * 2000}, None)
    yield "Plain words first. "
    yield text("Pick a page:")
    yield choice(button("Docs", url="https://example.com/docs"), button("Ask", 'Tell me\n"more"'))
    yield UIMessage("carousel", {"cards": [card("One", "First").payload, card("Two", "Second").payload]})
    yield image("https://example.com/cat.png")
    yield image("data:image/png;base64," + "A" * 5000)
    yield iframe("http://plain.example.com/page")
    yield iframe("https://example.com/page")
    yield notice("Careful", "warning")
    yield UIMessage("poll", {"question": "?"})
    yield UIMessage(
        "form",
        {
            "title": "Sign up",
            "fields": [
                form_field("name", "Name", required=True),
                form_field("pw", "Password", "password", required=True),
                form_field("plan", "Plan", "radio", options=[("p", "Pro"), ("f", "Free")]),
                form_field("ok", "Agree", "checkbox"),
            ],
            "isSubmitted": True,
            "submittedData": [
                {"index": 0, "label": "Name", "value": "Ann", "field_id": "name", "field_type": "text"},
                {"index": 1, "label": "Password", "value": "hunter2", "field_id": "pw", "field_type": "password"},
                {"index": 2, "label": "Plan", "value": "p", "field_id": "plan", "field_type": "radio"},
                {"index": 3, "label": "Agree", "value": True, "field_id": "ok", "field_type": "checkbox"},
            ],
        },
    )
    yield UIMessage("input", {"field": form_field("pin", "PIN", "password"), "submittedValue": "1234"})
    yield {"type": "action", "action": {"type": "open_url", "payload": {"url": "https://example.com"}}}
    yield {"type": "action", "action": {"type": "request_handoff", "payload": {"queue": "billing"}}}
    sources = [{"url": "https://example.com/kb", "title": "Guide"}, {"id": "doc-42"}, "https://example.com/raw"]
    yield {
        "type": "metadata",
        "metadata": {"sources": sources, "inputTokens": 1234, "outputTokens": 567, "llmUsed": "gpt-4o"},
    }


def test_every_kind_a_reply_can_carry_is_printed(capsys):
    with serve(everything, chunk_delay=0) as server:
        code, out, err = ask(capsys, server.url, "hi")
    assert code == 0, err
    assert out.startswith("Plain words first. \n\nPick a page:\n")
    assert section(out, "  1. Docs → opens https://example.com/docs") == [
        "  1. Docs → opens https://example.com/docs",
        '  2. Ask → sends "Tell me\\n\\"more\\""',
    ]
    assert section(out, "Card 1 of 2: One") == ["Card 1 of 2: One", "  First"]
    assert section(out, "Card 2 of 2: Two") == ["Card 2 of 2: Two", "  Second"]
    lines = out.split("\n")
    assert "Image: https://example.com/cat.png" in lines
    assert "Image: (embedded data, 5,022 characters, not shown)" in lines
    assert "Embedded content that is not an https address, not loaded: http://plain.example.com/page" in lines
    assert "Embedded web page (horizontal layout), not loaded: https://example.com/page" in lines
    assert "Notice (warning): Careful" in lines
    assert "[unsupported message: poll]" in lines
    assert section(out, "Form: Sign up (submitted)") == [
        "Form: Sign up (submitted)",
        "  - Name (text, required): Ann",
        "  - Password (password, required): (hidden)",
        "  - Plan (radio): Pro",
        "  - Agree (checkbox): yes",
    ]
    assert "Input: PIN (password): (hidden) (submitted)" in lines
    assert "hunter2" not in out and "1234 " not in out
    tool = section(out, "Tool call: search")
    assert tool[1].startswith('  input: {"q": "xxx') and tool[1].endswith("x … (cut at 500 characters)")
    assert len(tool) == 2  # no output was sent, so no output line
    assert section(out, "(The agent asked for a human to take over.)") == [
        "(The agent asked for a human to take over.)",
        '  Handoff details: {"queue": "billing"}',
    ]
    assert section(out, "Action: open_url") == ["Action: open_url", '  {"url": "https://example.com"}']
    assert "Sources: Guide (https://example.com/kb), doc-42, https://example.com/raw" in lines
    assert re.fullmatch(r"(< )?\d\.\d s to first word · (< )?\d\.\d s · 1,234 → 567 tokens · gpt-4o", lines[-2])
    assert lines[-1] == ""


def test_a_snapshot_that_cannot_be_read_is_printed_as_the_text_that_came(capsys):
    def agent(request):
        yield {"type": "chunk", "chunk": "[[[not json at all", "chunkIndex": 0, "ui_engine": True}

    with serve(agent, chunk_delay=0) as server:
        code, out, err = ask(capsys, server.url, "hi")
    assert code == 0
    assert out.startswith("[[[not json at all\n") and "could not be parsed" in err


def test_a_failed_reply_still_prints_what_it_carried_before_the_error(capsys):
    def agent(request):
        yield tool_call("lookup", {"id": 1}, {"ok": True})
        yield from ["one ", "two ", "three ", "four "]

    with serve(agent, chunk_delay=0, faults=Faults(close_after=2, close_code=1011)) as server:
        code, out, err = ask(capsys, server.url, "hi")
    assert code == 1 and "code 1011" in err
    assert out.startswith("one two ")
    assert section(out, "Tool call: lookup") == ["Tool call: lookup", '  input: {"id": 1}', '  output: {"ok": true}']


# ------------------------------------------------------------------ hostile agents


HOSTILE = ["\x1b]52;c;cHduZWQ=\x07", "\x1b]0;pwned\x07", "\x1b[2J", "\x9b31m", "\x7f", "\u202e"]
H = "".join(HOSTILE)
SHOWN = "\\x1b]52;c;cHduZWQ=\\x07\\x1b]0;pwned\\x07\\x1b[2J\\x9b31m\\x7f<U+202E>"


def hostile_agent(request):
    yield tool_call(f"tool{H}", {f"key{H}": f"value{H}"}, f"out{H}\nsecond line")
    yield {"type": "action", "action": {"type": f"kind{H}", "payload": f"pay{H}"}}
    yield {"type": "action", "action": {"type": "request_handoff", "payload": {"why": H}}}
    yield text(f"said{H}")
    yield choice(button(f"label{H}", f"msg{H}"), button(f"link{H}", url=f"https://e.com/{H}"))
    yield card(f"title{H}", f"body{H}\nline two{H}", image=f"https://e.com/{H}.png", buttons=[f"b{H}"])
    yield image(f"https://e.com/{H}.png")
    yield iframe(f"https://e.com/{H}")
    yield iframe(f"javascript:{H}")
    yield notice(f"note{H}")
    yield UIMessage(f"odd{H}", {})
    yield form(
        [form_field(f"f{H}", f"label{H}", "select", options=[(f"v{H}", f"opt{H}")], placeholder=H, default=f"v{H}")],
        title=f"form{H}",
        description=f"desc{H}",
        submit_label=f"go{H}",
    )
    yield UIMessage("input", {"field": form_field("i", f"in{H}"), "submittedValue": f"typed{H}"})
    sources = [{"url": f"https://e.com/{H}", "title": f"T{H}"}, {"id": f"id{H}"}]
    yield {"type": "metadata", "metadata": {"sources": sources, "llmUsed": f"model{H}"}}


def test_nothing_an_agent_sends_reaches_the_terminal_raw():
    with serve(hostile_agent, chunk_delay=0) as server:
        result = subprocess.run(
            [sys.executable, "-m", "convowidget.cli", "ask", "--url", server.url, "--agent-id", "a", "hi"],
            capture_output=True,
            encoding="utf-8",
            timeout=60,
            env={**_env(), "PYTHONIOENCODING": "utf-8"},
        )
    assert result.returncode == 0, result.stderr
    assert not RAW_CONTROL.findall(result.stdout + result.stderr)
    out = result.stdout
    for shown in (
        f"Tool call: tool{SHOWN}",
        '  input: {"key\\u001b]52;c;cHduZWQ=\\u0007',  # C0 as JSON escapes, the rest made visible
        f"  output: out{SHOWN}",
        "    second line",
        f"Action: kind{SHOWN}",
        f"  pay{SHOWN}",
        f"said{SHOWN}",
        f'  1. label{SHOWN} → sends "msg\\u001b]52',
        f"  2. link{SHOWN} → opens https://e.com/{SHOWN}",
        f"Card: title{SHOWN}",
        f"  Image: https://e.com/{SHOWN}.png",
        f"  body{SHOWN}",
        f"  line two{SHOWN}",
        f"Image: https://e.com/{SHOWN}.png",
        f"Notice (success): note{SHOWN}",
        f"[unsupported message: odd{SHOWN}]",
        f"Form: form{SHOWN}",
        f"  desc{SHOWN}",
        f"  - label{SHOWN} (select; options: opt{SHOWN}; default: opt{SHOWN})",
        f"  Submit button: go{SHOWN}",
        f"Input: in{SHOWN} (text): typed{SHOWN} (submitted)",
        f"Sources: T{SHOWN} (https://e.com/{SHOWN}), id{SHOWN}",
    ):
        assert any(line.startswith(shown) for line in out.split("\n")), shown
    not_loaded = "Embedded content that is not an https address, not loaded: "
    assert f"{not_loaded}https://e.com/{SHOWN}" in out.split("\n")  # control characters: not a usable address
    assert f"{not_loaded}javascript:{SHOWN}" in out.split("\n")
    assert out.rstrip("\n").split("\n")[-1].endswith(f" · model{SHOWN}")


def _env() -> dict[str, str]:
    import os

    return {k: v for k, v in os.environ.items() if not k.startswith("CONVOCORE_")}


# ------------------------------------------------------------------ the per-reply line


def test_the_usage_line_has_the_panels_words_for_the_same_numbers():
    cases = json.loads((Path(__file__).parent.parent / "js" / "tests" / "usage-lines.json").read_text("utf-8"))
    assert len(cases) >= 9  # the same cases js/tests/usage-line.test.js checks the panel against
    for case in cases:
        usage = {"first_chunk_s": None, "elapsed_s": None, "input_tokens": None, "output_tokens": None, "model": None}
        assert usage_line({**usage, **case["usage"]}) == case["line"], case
