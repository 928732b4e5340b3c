"""The built-in demo agent: answers from a small bundled knowledge base about convowidget.

It needs no account and no network, so the product works out of the box. It greets on
``start``, hands off when asked for a human, cites its sections as sources, and shows a
rich ``ui_engine`` turn (choices and a card) when asked for a menu. So that the
panel can be tried, it also answers with code ("show me some code"), at length ("tell me
a long story") and slowly ("answer slowly": about ``SLOW_SECONDS``, time to press Stop).
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Any

LABEL = "Local demo agent (embedded server)"
_STOPWORDS = frozenset(
    [
        "the",
        "a",
        "an",
        "and",
        "or",
        "of",
        "to",
        "in",
        "on",
        "for",
        "is",
        "it",
        "i",
        "me",
        "my",
        "you",
        "your",
        "how",
        "do",
        "does",
        "can",
        "what",
        "with",
        "this",
        "that",
        "be",
        "are",
        "was",
        "from",
        "about",
        "tell",
        "show",
        "use",
        "using",
        "please",
        "there",
        "when",
        "where",
        "why",
    ]
)
_HANDOFF = re.compile(r"\b(human|person|operator|real agent|someone real|representative)\b", re.I)
_MENU = re.compile(r"\b(menu|options|choices|card)\b", re.I)
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


Item = str | dict[str, Any]


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


def _ui_turn() -> dict[str, Any]:
    def message(kind: str, payload: dict[str, Any]) -> dict[str, Any]:
        return {"type": kind, "item": {"type": kind, "payload": payload}}

    def button(name: str, prompt: str) -> dict[str, Any]:
        return {"name": name, "request": {"type": "text", "payload": {"message": prompt}}}

    return {
        "from": "bot",
        "messages": [
            message("text", {"message": "Here is what I can show you. Pick one:"}),
            message(
                "choice",
                {
                    "buttons": [
                        button("Streaming", "How does streaming work?"),
                        button("Show me code", "Show me some code"),
                        button("A long reply", "Tell me a long story"),
                        button("Answer slowly (try Stop)", "Answer slowly"),
                        button("Talk to a human", "I want a human"),
                    ]
                },
            ),
            message(
                "cardV2",
                {
                    "title": "convowidget",
                    "description": {
                        "text": "Chat with your Convocore agent from a notebook. Ask me for code, "
                        "a long story or a slow answer to see the panel at work."
                    },
                    "buttons": [button("Python API", "Tell me about the Python API")],
                },
            ),
        ],
    }


_GREETING = (
    "Hi! I'm the **convowidget demo agent**, running on your own machine. "
    "Ask me how to install convowidget or how streaming works. To see what the panel can do, "
    "say *show me some code*, *tell me a long story*, or *answer slowly* and try **Stop**; "
    "or type *menu*."
)
_DONT_KNOW = (
    "I don't know about that yet. I'm a small demo agent that knows convowidget itself: "
    "try asking about {topics}. Or say *show me some code*, *tell me a long story* or "
    "*answer slowly*, or type *menu*."
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


async def demo_agent(request: Any) -> AsyncIterator[str | dict[str, Any]]:
    """Answer one prompt; yields text chunks (markdown) and whole events.

    Native async, so thousands of conversations cost no worker thread: its work is a
    quick search of the bundled sections, done on the event loop, and a slow reply's
    pauses are ``asyncio.sleep``, which a client leaving cancels.
    """
    for item in script(request.prompt):
        if isinstance(item, Pause):
            await asyncio.sleep(item.seconds)
        else:
            yield item


def script(prompt: str) -> Iterator[Item | Pause]:
    """The demo's reply to one prompt, in order: text chunks, whole events and pauses.

    ``demo_agent`` plays it; pauses appear only in a reply asked for slowly.
    """
    yield {"type": "debug", "agent": "demo", "step": "received", "chars": len(prompt)}
    if prompt.strip().lower() == "start":
        yield from split_chunks(_GREETING)
        return
    if _HANDOFF.search(prompt):
        yield from split_chunks("Of course. I'm asking a human colleague to take over this conversation.")
        yield {"type": "action", "action": {"type": "request_handoff", "reason": "user asked for a human"}}
        return
    if _MENU.search(prompt):
        turn = _ui_turn()
        shown: dict[str, Any] = {**turn, "messages": []}
        for message in turn["messages"]:
            shown = {**shown, "messages": [*shown["messages"], message]}
            yield {"type": "chunk", "chunk": json.dumps(shown), "ui_engine": True}
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


def split_chunks(text: str) -> Iterator[str]:
    """Cut text into word-sized chunks, spaces and newlines kept."""
    yield from re.findall(r"\s*\S+\s*", text) or [text]
