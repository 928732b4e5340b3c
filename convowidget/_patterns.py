"""Regular expressions from users (a suite's ``regex:``), matched with a time limit.

An agent's form-field ``pattern`` goes through ``fullmatch_within`` the same way.
A pattern such as ``(a|aa)+$`` backtracks catastrophically: Python's ``re`` can take
hours on a reply of 41 characters, holding the GIL all along, so that neither Ctrl-C
nor a timeout can stop it. Patterns are written in ``re``'s syntax (checked with ``re``,
whose error messages people know) and run by the ``regex`` package, which releases the
GIL and gives up after ``MATCH_SECONDS``; a pattern that runs out of time is a failure
that says so, never a frozen process.
"""

from __future__ import annotations

import functools
import re

import regex

from .errors import ConvoError, SuiteError

__all__ = ["MATCH_SECONDS", "PatternTooSlow", "check_pattern", "fullmatch_within", "search"]

MATCH_SECONDS = 1.0  # per pattern and reply


class PatternTooSlow(ConvoError):
    """A pattern that did not finish matching within ``MATCH_SECONDS``; its message says so."""


@functools.lru_cache(maxsize=512)
def _compiled(pattern: str) -> regex.Pattern[str]:
    return regex.compile(pattern)


def check_pattern(pattern: str, key: str = "regex") -> None:
    """Raise ``SuiteError`` naming ``key`` unless ``pattern`` is a valid ``re`` expression."""
    try:
        re.compile(pattern)
        _compiled(pattern)
    except (re.error, regex.error) as exc:
        raise SuiteError(f"{key}: {pattern!r} is not a valid regular expression ({exc})", key=key) from None


def search(pattern: str, text: str) -> regex.Match[str] | None:
    """The first match of ``pattern`` in ``text`` (a ``regex`` match object), or None.

    Raises ``PatternTooSlow`` when matching takes longer than ``MATCH_SECONDS``; it runs
    without the GIL, so other threads (the IO thread, Ctrl-C) carry on meanwhile.
    """
    try:
        return _compiled(pattern).search(text, timeout=MATCH_SECONDS, concurrent=True)
    except TimeoutError:
        raise PatternTooSlow(
            f"the regex /{pattern}/ took longer than {MATCH_SECONDS:g} s on a {len(text):,}-character reply: "
            "it backtracks catastrophically; rewrite it"
        ) from None


def fullmatch_within(pattern: str, text: str, seconds: float) -> bool | None:
    """Whether all of ``text`` matches ``pattern`` (an agent's form-field pattern, say).

    None when that cannot be told: a pattern ``regex`` cannot read, or one that does not
    finish within ``seconds`` (without the GIL, like ``search``).
    """
    try:
        compiled = _compiled(pattern)
    except regex.error:
        return None
    try:
        return compiled.fullmatch(text, timeout=seconds, concurrent=True) is not None
    except TimeoutError:
        return None
