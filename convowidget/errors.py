"""The errors convowidget raises: one base class, a few kinds, messages that say what to do."""

from __future__ import annotations


class ConvoError(Exception):
    """Base class of every error convowidget raises on purpose."""


class ConfigurationError(ConvoError, ValueError):
    """An argument or environment variable is missing or wrong; raised before connecting."""


class InsecureURLError(ConfigurationError):
    """A plain ``ws://`` address points at a host that is not this machine."""


class StreamError(ConvoError):
    """A reply ended badly: refused or dropped connection, abnormal close, silence, timeout,
    an oversized reply, or a callback that raised. Its message is the reply's ``error``.

    ``ask``, ``ask_async`` and ``exchange`` never raise it; they return a ``failed`` Reply.
    ``stream`` raises it (and nothing else) at the end, after yielding every event that did
    arrive; bad arguments to ``stream`` raise ``ConfigurationError`` at the call instead.
    """
