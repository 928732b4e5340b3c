"""The built-in demo agent: answers from a small bundled knowledge base about convowidget.

It needs no account and no network, so the product works out of the box. It greets on
``start``, hands off when asked for a human, cites its sections as sources, and shows a
rich ``ui_engine`` turn (choices, a card, an image) when asked for a menu.
"""

from __future__ import annotations

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
_IMAGE = (
    "data:image/svg+xml;base64,"
    "PHN2ZyB4bWxucz0iaHR0cDovL3d3dy53My5vcmcvMjAwMC9zdmciIHdpZHRoPSIxNjAiIGhlaWdodD0iOTAiPjxyZWN0"
    "IHdpZHRoPSIxNjAiIGhlaWdodD0iOTAiIHJ4PSIxMiIgZmlsbD0iIzE5NzZkMiIvPjx0ZXh0IHg9IjgwIiB5PSI1NSIg"
    "Zm9udC1zaXplPSIyMiIgZmlsbD0iI2ZmZiIgdGV4dC1hbmNob3I9Im1pZGRsZSIgZm9udC1mYW1pbHk9InNhbnMtc2Vy"
    "aWYiPmNvbnZvd2lkZ2V0PC90ZXh0Pjwvc3ZnPg=="
)


@dataclass(frozen=True)
class Section:
    source: str
    title: str
    body: str
    topic: str
    words: frozenset[str]


def _words(text: str) -> list[str]:
    return [w for w in re.findall(r"[a-z0-9]+", text.lower()) if len(w) > 2 and w not in _STOPWORDS]


@lru_cache(maxsize=1)
def knowledge_base() -> tuple[Section, ...]:
    """The bundled markdown, cut into ``##`` sections."""
    sections = []
    for entry in sorted(resources.files("convowidget.kb").iterdir(), key=lambda e: e.name):
        if not entry.name.endswith(".md"):
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
                        button("Stop and retry", "How do I stop a reply?"),
                        button("Talk to a human", "I want a human"),
                    ]
                },
            ),
            message(
                "cardV2",
                {
                    "title": "convowidget",
                    "imageUrl": _IMAGE,
                    "description": {"text": "Chat with your Convocore agent from a notebook."},
                    "buttons": [button("Python API", "Tell me about the Python API")],
                },
            ),
        ],
    }


async def demo_agent(request: Any) -> AsyncIterator[str | dict[str, Any]]:
    """Answer one prompt; yields text chunks (markdown) and whole events.

    Native async, so thousands of conversations cost no worker thread: its work is a
    quick search of the bundled sections, done on the event loop.
    """
    for item in _answer(request):
        yield item


def _answer(request: Any) -> Iterator[str | dict[str, Any]]:
    """The demo's answer as a plain generator; ``demo_agent`` streams it."""
    prompt: str = request.prompt
    yield {"type": "debug", "agent": "demo", "step": "received", "chars": len(prompt)}
    if prompt.strip().lower() == "start":
        yield from split_chunks(
            "Hi! I'm the **convowidget demo agent**, running on your own machine. "
            "Ask me how to install convowidget, how streaming works, or type *menu*."
        )
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
    sections = search(prompt)
    yield {"type": "debug", "agent": "demo", "step": "retrieved", "sections": [s.source for s in sections]}
    if not sections:
        topics = ", ".join(sorted({s.title.lower() for s in knowledge_base()})[:6])
        yield from split_chunks(
            "I don't know about that yet. I'm a small demo agent that knows convowidget itself: "
            f"try asking about {topics}, or type *menu*."
        )
        return
    answer = "\n\n".join(f"### {s.title}\n\n{s.body}" for s in sections)
    yield from split_chunks(answer)
    yield {"type": "metadata", "metadata": {"sources": [s.source for s in sections]}}


def split_chunks(text: str) -> Iterator[str]:
    """Cut text into word-sized chunks, spaces and newlines kept."""
    yield from re.findall(r"\s*\S+\s*", text) or [text]
