"""convowidget: chat with a Convocore AI agent from a Jupyter notebook."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from .cassette import Cassette, CassetteError, CassetteMiss, Recorder, Replay
from .client import ConvoClient, PendingReply
from .errors import ConfigurationError, ConvoError, FormError, InsecureURLError, StreamError
from .reply import Reply, ToolCall
from .server import AgentRequest, EmbeddedServer, Faults, serve

if TYPE_CHECKING:
    from .results import Comparison, MultiResult, SuiteResult
    from .runner import run_suite
    from .suite import Expect, Scenario, Suite, SuiteError, Turn, load_suite
    from .widget import ChatWidget

__version__ = "0.1.0"
__all__ = [
    "AgentRequest",
    "Cassette",
    "CassetteError",
    "CassetteMiss",
    "ChatWidget",
    "Comparison",
    "ConfigurationError",
    "ConvoClient",
    "ConvoError",
    "EmbeddedServer",
    "Expect",
    "Faults",
    "FormError",
    "InsecureURLError",
    "MultiResult",
    "PendingReply",
    "Recorder",
    "Replay",
    "Reply",
    "Scenario",
    "StreamError",
    "Suite",
    "SuiteError",
    "SuiteResult",
    "ToolCall",
    "Turn",
    "load_suite",
    "run_suite",
    "serve",
]


# Loaded on first use: the widget pulls in ipywidgets and anywidget, and agent testing
# (suites, results) is not needed to chat.
_LAZY = {
    "ChatWidget": "widget",
    "Comparison": "results",
    "MultiResult": "results",
    "SuiteResult": "results",
    "run_suite": "runner",
    **dict.fromkeys(("Expect", "Scenario", "Suite", "SuiteError", "Turn", "load_suite"), "suite"),
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'convowidget' has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


def load_ipython_extension(ipython: Any) -> None:
    """``%load_ext convowidget``: registers the ``%%convo`` cell magic."""
    from .magic import register

    register(ipython)
