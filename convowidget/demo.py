"""The built-in demo agent: answers from a small bundled knowledge base about convowidget.

It needs no account and no network, so the product works out of the box. It greets on
``start``, hands off when asked for a human, cites its sections as sources, and shows a
rich ``ui_engine`` turn (choices and a card) when asked for a menu. So that the
panel can be tried, it also answers with code ("show me some code"), at length ("tell me
a long story") and slowly ("answer slowly": about ``SLOW_SECONDS``, time to press Stop).
It shows what web-chat agents send too: a form ("book a demo"), an input ("subscribe"),
an iFrame ("watch the intro"), a tool call ("where is my order") and a notice ("save my
settings"), built with ``convowidget.agent``; a submitted form gets thanks by name.
With ``disableUiEngine`` the embedded server writes those messages as markdown.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import re
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, replace
from functools import lru_cache
from importlib import resources
from typing import Any

from . import agent
from .agent import UIMessage, button, split_chunks

LABEL = "Local demo agent (embedded server)"
_STOPWORDS = frozenset([
    "the", "a", "an", "and", "or", "of", "to", "in", "on", "for", "is", "it", "i", "me", "my", "you", "your",
    "how", "do", "does", "can", "what", "with", "this", "that", "be", "are", "was", "from", "about", "tell",
    "show", "use", "using", "please", "there", "when", "where", "why",
])  # fmt: skip
_HANDOFF = re.compile(r"\b(human|person|operator|real agent|someone real|representative)\b", re.I)
_MENU = re.compile(r"\b(menu|options|choices|card)\b", re.I)
_BOOK = re.compile(r"\b(book|schedule|request|arrange)\s+(me\s+)?(a\s+)?demo\b", re.I)
_SUBSCRIBE = re.compile(r"\b(subscribe|newsletter|sign\s+(me\s+)?up)\b", re.I)
_INTRO = re.compile(r"\b(watch|play|see)\s+(the\s+)?(intro|introduction|video)\b|\bintro(duction)?\s+video\b", re.I)
_ORDER = re.compile(r"\bwhere\s+is\s+my\s+order\b|\b(track|find)\s+(my\s+)?order\b|\border\s+status\b", re.I)
_ORDER_ID = re.compile(r"\b([A-Z]{2}-?\d{3,8}|\d{4,10})\b")
_SETTINGS = re.compile(r"\bsave\s+(my\s+|the\s+)?settings\b", re.I)
INTRO_VIDEO = "https://www.youtube-nocookie.com/embed/aqz-KE-bpKQ"
"""The iFrame the demo embeds for "watch the intro": an example video address (privacy-enhanced YouTube)."""
_CODE = re.compile(
    r"\b(some|example|sample|show|with|give me|write)\s+(me\s+)?(some\s+)?code\b"
    r"|\bcode\s+(examples?|samples?|snippets?|blocks?)\b|\bsnippets?\b",
    re.I,
)
_LONG = re.compile(r"\b(long|longer|lengthy)\s+(story|answer|reply|response|text)\b|\bstor(y|ies)\b", re.I)
# The whole request for pace ("answer slowly", "a slow reply"), so what is left can be searched.
_SLOW = re.compile(
    r"\b((answer|reply|respond|write|type|stream|talk|go)\s+)?(very\s+|more\s+)?"
    r"(slowly|slow\s+(reply|answer|response|mode))\b",
    re.I,
)
SLOW_SECONDS = 20.0
"""About how long a reply asked for slowly takes: time enough to press Stop."""
SLOW_CHUNKS = 80
"""A slow reply comes in at most this many chunks, so each one shows as it arrives."""
_LONG_CHUNK_WORDS = 6  # the long reply streams a few words a chunk: ~10 s at the default chunk_delay


@dataclass(frozen=True)
class Pause:
    """A wait before the next item of a reply: how the demo paces a reply asked for slowly."""

    seconds: float


Item = str | dict[str, Any] | UIMessage


@dataclass(frozen=True)
class Section:
    source: str
    title: str
    body: str
    topic: str
    words: frozenset[str]


def _words(text: str) -> list[str]:
    """The words that matter for search, stemmed so "stopping" meets "stop"."""
    return [_stem(w) for w in re.findall(r"[a-z0-9]+", text.lower()) if len(w) > 2 and w not in _STOPWORDS]


def _stem(word: str) -> str:
    """A crude English stem: replies -> reply, streaming -> stream, stopped -> stop."""
    for suffix, replacement in (("ies", "y"), ("ing", ""), ("ed", ""), ("s", "")):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3 and not word.endswith("ss"):
            word = word[: -len(suffix)] + replacement
            if len(word) > 3 and word[-1] == word[-2] and word[-1] not in "aeiouls":
                word = word[:-1]  # stopp -> stop
            break
    return word


@lru_cache(maxsize=1)
def knowledge_base() -> tuple[Section, ...]:
    """The bundled markdown, cut into ``##`` sections (files named ``_*.md`` are canned replies)."""
    sections = []
    for entry in sorted(resources.files("convowidget.kb").iterdir(), key=lambda e: e.name):
        if not entry.name.endswith(".md") or entry.name.startswith("_"):
            continue
        heading, *parts = entry.read_text(encoding="utf-8").split("\n## ")
        topic = heading.lstrip("# ").strip()
        for part in parts:
            title, _, body = part.partition("\n")
            slug = re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")
            sections.append(
                Section(f"kb/{entry.name}#{slug}", title.strip(), body.strip(), topic, frozenset(_words(body)))
            )
    return tuple(sections)


def search(prompt: str, limit: int = 2) -> list[Section]:
    """The sections sharing the most words with the prompt (heading words count triple)."""
    wanted = set(_words(prompt))
    scored = []
    for section in knowledge_base():
        heading = set(_words(f"{section.title} {section.topic}"))
        score = len(wanted & section.words) + 2 * len(wanted & heading)
        if score:
            scored.append((score, section))
    scored.sort(key=lambda pair: -pair[0])
    return [section for _, section in scored[:limit]]


def _menu() -> list[UIMessage]:
    return [
        agent.text("Here is what I can show you. Pick one:"),
        agent.choice(
            button("Streaming", "How does streaming work?"),
            button("Show me code", "Show me some code"),
            button("A long reply", "Tell me a long story"),
            button("Answer slowly (try Stop)", "Answer slowly"),
            button("Talk to a human", "I want a human"),
        ),
        agent.card(
            "convowidget",
            "Chat with your Convocore agent from a notebook. Ask me for code, a long story or a slow "
            "answer to see the panel at work, or try what web-chat agents send: a form, an input, "
            "embedded video, a tool call and a notice.",
            buttons=[
                button("Book a demo"),
                button("Subscribe"),
                button("Watch the intro"),
                button("Where is my order?"),
                button("Save my settings"),
                button("Python API", "Tell me about the Python API"),
            ],
        ),
    ]


_WEB_CHAT = (
    "*book a demo* (a form), *subscribe* (an input), *watch the intro* (embedded video), "
    "*where is my order* (a tool call) or *save my settings* (a notice)"
)
_GREETING = (
    "Hi! I'm the **convowidget demo agent**, running on your own machine. "
    "Ask me how to install convowidget or how streaming works. To see what the panel can do, "
    "say *show me some code*, *tell me a long story*, or *answer slowly* and try **Stop**; "
    f"for what web-chat agents send, say {_WEB_CHAT}; or type *menu*."
)
_DONT_KNOW = (
    "I don't know about that yet. I'm a small demo agent that knows convowidget itself: "
    "try asking about {topics}. Or say *show me some code*, *tell me a long story* or "
    f"*answer slowly*; {_WEB_CHAT}; or type *menu*."
)
_CODE_REPLY = """Here is convowidget in a few lines of Python: a panel, a question asked from code, \
and the reply kept as data.

```python
from convowidget import ChatWidget

chat = ChatWidget()  # no agent configured: this local demo agent answers
chat                 # shows the panel
reply = chat.ask("How does streaming work?")
print(reply.status, reply.sources, f"{reply.elapsed:.2f} s")
```

The same from a terminal: install it, ask one question, or serve the demo agent for your \
own scripts.

```bash
pip install convowidget
convowidget ask "How do I install it?"
convowidget serve --port 8765   # ws://127.0.0.1:8765/interact
```

Ask me for *a long story* to see longer code, tables and lists.
"""
_SLOW_REPLY = """This reply is paced on purpose: it takes about twenty seconds to arrive, a few \
words at a time, so you have time to try **Stop**, the square button beside the message box. \
Press it while I am still writing and the reply ends at once; the text so far stays in the \
panel, marked *Stopped*, and `chat.replies[-1].status` is `stopped`. Then ask again: the \
conversation goes on as before. From a cell, where the panel's Stop reaches the kernel only \
once the cell is done, the kernel's own stop button (an interrupt) ends a blocking \
`chat.ask(...)` and returns the stopped reply. Only this reply is slow; the next one streams \
at the usual pace, unless you ask for it *slowly* again. You can also ask for anything \
slowly, for example *how does streaming work? answer slowly*. If you let me finish, this \
sentence is the end of a slow and otherwise quite ordinary reply."""


async def demo_agent(request: Any) -> AsyncIterator[Item]:
    """Answer one prompt; yields text chunks (markdown) and whole events.

    Native async, so thousands of conversations cost no worker thread: its work is a
    quick search of the bundled sections, done on the event loop, and a slow reply's
    pauses are ``asyncio.sleep``, which a client leaving cancels.
    """
    submission = getattr(request, "form_submission", None)
    for item in script(request.prompt, submission=submission):
        if isinstance(item, Pause):
            await asyncio.sleep(item.seconds)
        else:
            yield item


def script(prompt: str, *, submission: dict[str, Any] | None = None) -> Iterator[Item | Pause]:
    """The demo's reply to one prompt, in order: text chunks, whole events, UI messages and pauses.

    ``demo_agent`` plays it; pauses appear only in a reply asked for slowly. A submitted
    form or input (``submission``, the request's ``formSubmissionMetadata``) gets thanks.
    """
    yield {"type": "debug", "agent": "demo", "step": "received", "chars": len(prompt)}
    if submission is not None:
        yield from split_chunks(_thanks(submission))
        return
    if prompt.strip().lower() == "start":
        yield from split_chunks(_GREETING)
        return
    if _HANDOFF.search(prompt):
        yield from split_chunks("Of course. I'm asking a human colleague to take over this conversation.")
        yield {"type": "action", "action": {"type": "request_handoff", "reason": "user asked for a human"}}
        return
    showcase = _showcase(prompt)
    if showcase is not None:
        yield from showcase
        return
    if _SLOW.search(prompt):
        yield from _slowly(list(_content(_SLOW.sub(" ", prompt), otherwise=_SLOW_REPLY)))
        return
    yield from _content(prompt)


def _content(prompt: str, otherwise: str | None = None) -> Iterator[Item]:
    """What to say: code, the long story, or the knowledge base's answer (else ``otherwise``)."""
    if _CODE.search(prompt):
        yield from split_chunks(_CODE_REPLY)
        return
    if _LONG.search(prompt):
        yield from _word_groups(long_story(), _LONG_CHUNK_WORDS)
        return
    sections = search(prompt)
    yield {"type": "debug", "agent": "demo", "step": "retrieved", "sections": [s.source for s in sections]}
    if sections:
        yield from split_chunks("\n\n".join(f"### {s.title}\n\n{s.body}" for s in sections))
        yield {"type": "metadata", "metadata": {"sources": [s.source for s in sections]}}
    elif otherwise is not None:
        yield from split_chunks(otherwise)
    else:
        topics = ", ".join(sorted({s.title.lower() for s in knowledge_base()})[:6])
        yield from split_chunks(_DONT_KNOW.format(topics=topics))


def _showcase(prompt: str) -> list[Item] | None:
    """The reply to a request for the menu or a web-chat message, or None for other prompts."""
    if _MENU.search(prompt):
        return _named("menu", _menu())
    if _BOOK.search(prompt):
        intro = agent.text("Happy to show you around. Tell me a little about your team and pick a day:")
        return _named("book", [intro, _demo_form()])
    if _SUBSCRIBE.search(prompt):
        check = {"errorMessage": "Please enter a valid email address"}
        email = agent.form_field("email", "Email address", "email", required=True, validation=check)
        return _named("subscribe", [agent.text("Leave your e-mail address and press Enter:"), agent.input_field(email)])
    if _INTRO.search(prompt):
        intro = agent.text("Here is the intro. Nothing loads until you ask for it: press the button to play.")
        return _named("intro", [intro, agent.iframe(INTRO_VIDEO, layout="vertical")])
    if _ORDER.search(prompt):
        return list(_order(prompt))
    if _SETTINGS.search(prompt):
        saved = agent.text("Your settings are saved (this demo keeps none).")
        return _named("settings", [saved, agent.notice("Saved!", "success")])
    return None


def _named(reply: str, messages: list[UIMessage]) -> list[Item]:
    """The messages with stable ids (``demo-menu-1``...), so the demo answers alike every run."""
    return [replace(message, mid=f"demo-{reply}-{index}") for index, message in enumerate(messages)]


def _demo_form() -> UIMessage:
    sizes = [("1", "Just me"), ("2-10", "2–10 people"), ("11-50", "11–50 people"), ("51+", "51 or more")]
    return agent.form(
        [
            agent.form_field("name", "Your name", required=True, placeholder="Ada Lovelace"),
            agent.form_field("email", "Email address", "email", required=True, placeholder="you@example.org"),
            agent.form_field("company", "Company", placeholder="Analytical Engines Ltd"),
            agent.form_field("team_size", "Team size", "select", required=True, options=sizes),
            agent.form_field("date", "Preferred date", "date", required=True),
            agent.form_field("message", "What would you like to see?", "textarea", validation={"maxLength": 1000}),
            agent.form_field("consent", "You may contact me about this demo", "checkbox", required=True),
        ],
        title="Book a demo",
        description="Thirty minutes with the team, at a time that suits you.",
        submit_label="Request a demo",
    )


def _order(prompt: str) -> Iterator[Item]:
    """A tool call to the (made-up) ``lookup_order`` tool, then the answer from its output."""
    found = _ORDER_ID.search(prompt)
    order_id = found.group(1) if found else "CW-1042"
    eta = (dt.date.today() + dt.timedelta(days=2)).isoformat()
    output = {"order_id": order_id, "status": "shipped", "carrier": "Royal Mail", "eta": eta}
    yield agent.tool_call("lookup_order", {"order_id": order_id}, output)
    yield from split_chunks(
        f"Your order **{order_id}** has shipped with {output['carrier']} and should arrive by {eta}. "
        "(The `lookup_order` tool is part of this demo: its data is made up.)"
    )


def _submitted_name(items: list[dict[str, Any]]) -> str:
    """The person's name from a submission: a field with ``name`` in its id or label; '' if none."""
    for item in items:
        field_id, label = str(item.get("field_id", "")), str(item.get("label", ""))
        named = field_id in ("name", "full_name", "first_name") or re.search(
            r"\b(your|full|first)\s+name\b", label, re.I
        )
        value = item.get("value")
        if named and item.get("field_type") != "password" and isinstance(value, str) and value.strip():
            return value.strip()[:80]
    return ""


def _thanks(submission: dict[str, Any]) -> str:
    """Thanks for a submitted form or input, by name when one was given; it repeats only the
    name and the fields' labels, never a value that could be a password."""
    items = [item for item in submission.get("submittedData") or [] if isinstance(item, dict)]
    name = _submitted_name(items)
    hello = f"Thanks, {name}!" if name else "Thank you!"
    if submission.get("type") == "submit_input":
        return f"{hello} You're on the list. I'm the local demo agent, so nothing was sent anywhere."
    answered = [item for item in items if item.get("value") not in ("", None, False)]
    labels = [str(item["label"]) for item in answered if isinstance(item.get("label"), str)]
    got = f" I received your answers to: {'; '.join(labels)}." if labels else ""
    return (
        f"{hello}{got} A real agent would book your demo now; I'm the local demo agent, so nothing was sent anywhere."
    )


def _slowly(items: list[Item]) -> Iterator[Item | Pause]:
    """The items with their text regrouped into at most ``SLOW_CHUNKS`` chunks, each after
    a pause, so the reply takes about ``SLOW_SECONDS`` however long it is."""
    words = [item for item in items if isinstance(item, str)]
    per_chunk = max(1, -(-len(words) // SLOW_CHUNKS))  # rounded up
    chunks = ["".join(words[i : i + per_chunk]) for i in range(0, len(words), per_chunk)]
    pause = Pause(SLOW_SECONDS / max(len(chunks), 1))
    text_done = False
    for item in items:
        if not isinstance(item, str):
            yield item
        elif not text_done:  # the text goes out, paced, where it began
            text_done = True
            for chunk in chunks:
                yield pause
                yield chunk


@lru_cache(maxsize=1)
def long_story() -> str:
    """The long reply: well over two thousand words of markdown on the journey of one reply."""
    return resources.files("convowidget.kb").joinpath("_long-story.md").read_text(encoding="utf-8")


def _word_groups(text: str, words: int) -> Iterator[str]:
    """Cut text into chunks of a few words each, spaces and newlines kept."""
    pieces = split_chunks(text)
    batch: list[str] = []
    for piece in pieces:
        batch.append(piece)
        if len(batch) == words:
            yield "".join(batch)
            batch = []
    if batch:
        yield "".join(batch)
