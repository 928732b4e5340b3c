"""The errors convowidget raises: one base class, a few kinds, messages that say what to do."""

from __future__ import annotations


class ConvoError(Exception):
    """Base class of every error convowidget raises on purpose."""


class ConfigurationError(ConvoError, ValueError):
    """An argument or environment variable is missing or wrong; raised before connecting."""


class InsecureURLError(ConfigurationError):
    """A plain ``ws://`` address points at a host that is not this machine."""


class StreamError(ConvoError):
    """A reply stream ended badly: abnormal close, dropped connection or silence.

    ``ask`` and ``ask_async`` never raise it; they return a ``failed`` Reply instead.
    ``stream`` raises it at the end, after yielding every event that did arrive.
    """
