"""What a ChatWidget is made of: the agent it talks to (or the local demo), and the panel's options.

``ChatWidget(...)`` checks its keywords here before anything runs: which agent (a real one
is never silently replaced by the demo), the transcript's height, the starter suggestions
and whether the panel greets.
"""

from __future__ import annotations

import os
import re
import threading
from typing import Any

from ._answers import valid
from ._urls import safe_url
from .client import ConvoClient
from .errors import ConfigurationError
from .protocol import region_info

__all__ = [
    "DEMO_SUGGESTIONS",
    "agent_configured",
    "css_height",
    "demo_url",
    "greets",
    "label_for",
    "suggestion_list",
]

DEMO_SUGGESTIONS = (
    "Show me the menu",
    "Show me some code",
    "Tell me a long story",
    "Book a demo",
    "Where is my order 12345?",
    "How does streaming work?",
)
"""The demo agent's starter prompts: each shows off something the panel draws."""
MAX_SUGGESTIONS = 12
MAX_SUGGESTION_CHARS = 500
# A CSS length the panel can use as is: a number and an absolute or viewport unit. No
# percentages (the panel's parent has no height to take one of), nothing else of CSS.
_CSS_LENGTH = re.compile(r"(?:\d{1,5}(?:\.\d{1,3})?|\.\d{1,3})(?:px|em|rem|vh|svh|lvh|dvh|pt|cm|mm|in)")
_MAX_PIXELS = 20_000
_AGENT_SETTINGS = ("agent_id", "url")
_REAL_AGENT_SETTINGS = ("owner_id", "user_id", "token", "region")
_demo_lock = threading.Lock()
_demo_server: Any = None


def demo_url() -> str:
    """The URL of this kernel's shared embedded demo server, started on first use."""
    global _demo_server
    shared = os.environ.get("CONVOWIDGET_DEMO_URL")  # set by `convowidget demo`
    if shared:
        return shared
    with _demo_lock:
        if _demo_server is None:
            from .server import serve

            _demo_server = serve().start()
        return str(_demo_server.url)


def _setting(kwargs: dict[str, Any], name: str) -> Any:
    return kwargs.get(name) if kwargs.get(name) is not None else os.environ.get(f"CONVOCORE_{name.upper()}") or None


def agent_configured(kwargs: dict[str, Any]) -> bool:
    """True when the caller points at an agent; False means the demo may answer.

    Settings that only make sense for a real agent, given without one, are an error:
    a real agent is never silently replaced by the demo.
    """
    if any(_setting(kwargs, name) for name in _AGENT_SETTINGS):
        return True
    stray = [name for name in _REAL_AGENT_SETTINGS if _setting(kwargs, name)]
    if stray:
        raise ConfigurationError(
            f"{', '.join(stray)} given but no agent id: pass agent_id=... or set CONVOCORE_AGENT_ID "
            "(with nothing configured, ChatWidget() talks to the local demo agent)"
        )
    return False


def label_for(client: ConvoClient) -> str:
    """The header's title for a client: its region's agent, or the agent id and (safe) address."""
    if client.url == region_info(client.region).url:
        return f"Convocore agent · {client.region}"
    return f"Agent {client.agent_id} · {safe_url(client.url)}"


def css_height(value: Any) -> str:
    """``height=``: pixels as a number, or a CSS length such as ``"40vh"``; '' (None) for the default."""
    if value is None or value == "":
        return ""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if not 0 < value <= _MAX_PIXELS:
            raise ConfigurationError(f"height: expected pixels between 1 and {_MAX_PIXELS:,}, got {value!r}")
        return f"{round(value)}px"
    if isinstance(value, str) and _CSS_LENGTH.fullmatch(value.strip()):
        return value.strip()
    raise ConfigurationError(
        f"height: expected pixels (a number) or a CSS length such as '600px' or '70vh', got {value!r}"
    )


def suggestion_list(value: Any, demo: bool) -> list[str]:
    """``suggestions=``: the starter prompts; None gives the demo's own (none for a real agent)."""
    if value is None:
        return list(DEMO_SUGGESTIONS) if demo else []
    if isinstance(value, str) or not isinstance(value, (list, tuple)):
        raise ConfigurationError(f"suggestions: expected a list of prompts, got {type(value).__name__}")
    prompts = []
    for item in value:
        if not isinstance(item, str) or not item.strip():
            raise ConfigurationError(f"suggestions: every prompt must be non-empty text, got {item!r}")
        if len(item) > MAX_SUGGESTION_CHARS:
            too_long = f"a prompt of {len(item):,} characters; at most {MAX_SUGGESTION_CHARS}"
            raise ConfigurationError(f"suggestions: {too_long}")
        prompts.append(valid(item.strip()))
    if len(prompts) > MAX_SUGGESTIONS:
        raise ConfigurationError(f"suggestions: {len(prompts)} prompts; at most {MAX_SUGGESTIONS} fit the panel")
    return prompts


def greets(value: Any, demo: bool) -> bool:
    """``greet=``: send ``start`` when the panel first shows; None means on for the demo agent only."""
    if value is None:
        return demo
    if not isinstance(value, bool):
        raise ConfigurationError(f"greet: expected True or False, got {value!r}")
    return value
