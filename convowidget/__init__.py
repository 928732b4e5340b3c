"""convowidget: chat with a Convocore AI agent from a Jupyter notebook."""

from __future__ import annotations

from typing import Any

from .client import ConvoClient, PendingReply
from .errors import ConfigurationError, ConvoError, InsecureURLError, StreamError
from .reply import Reply
from .server import AgentRequest, EmbeddedServer, Faults, serve

__version__ = "0.1.0"
__all__ = [
    "AgentRequest",
    "ChatWidget",
    "ConfigurationError",
    "ConvoClient",
    "ConvoError",
    "EmbeddedServer",
    "Faults",
    "InsecureURLError",
    "PendingReply",
    "Reply",
    "StreamError",
    "serve",
]


def __getattr__(name: str) -> Any:
    # The widget pulls in ipywidgets and anywidget; load it only when asked for.
    if name == "ChatWidget":
        from .widget import ChatWidget

        return ChatWidget
    raise AttributeError(f"module 'convowidget' has no attribute {name!r}")


def load_ipython_extension(ipython: Any) -> None:
    """``%load_ext convowidget``: registers the ``%%convo`` cell magic."""
    from .magic import register

    register(ipython)
