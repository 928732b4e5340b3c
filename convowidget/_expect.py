"""What one reply must satisfy: ``Expect``, and the sentences that say why a reply fails it.

An ``Expect`` is checked as strictly as a suite file (``SuiteError`` names the key), and
judges a reply in two parts: ``reply_failures`` from the reply alone, and
``check_failures`` from the user's ``check`` function, which may be slow.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from ._patterns import PatternTooSlow, check_pattern, search
from ._suite_checks import check_keys, flag, json_type, seconds_or_none, texts
from .errors import SuiteError
from .reply import Reply

__all__ = ["Check", "Expect", "ExpectedStatus", "with_check"]

Check = Callable[[Reply], Any]
ExpectedStatus = Literal["complete", "stopped", "failed"]
_STATUSES = ("complete", "stopped", "failed")
_EXPECT_KEYS = (
    "contains",
    "not_contains",
    "regex",
    "sources_include",
    "max_first_chunk_s",
    "max_seconds",
    "handoff",
    "status",
    "case_sensitive",
)


@dataclass(frozen=True, init=False, repr=False)
class Expect:
    """What one reply must satisfy. Every text check holds for each item of its list.

    ``contains``, ``not_contains`` and ``sources_include`` ignore case unless
    ``case_sensitive=True``; ``regex`` is matched as written (add ``(?i)`` to ignore
    case). ``check`` is a function of the Reply: True or None passes, False or a message
    fails; it runs in a worker thread, so it may be slow (an LLM judge) without holding
    up the other conversations.
    """

    contains: tuple[str, ...]
    not_contains: tuple[str, ...]
    regex: tuple[str, ...]
    sources_include: tuple[str, ...]
    max_first_chunk_s: float | None
    max_seconds: float | None
    handoff: bool | None
    status: ExpectedStatus
    case_sensitive: bool
    check: Check | None

    def __init__(
        self,
        contains: str | Iterable[str] = (),
        not_contains: str | Iterable[str] = (),
        regex: str | Iterable[str] = (),
        sources_include: str | Iterable[str] = (),
        max_first_chunk_s: float | None = None,
        max_seconds: float | None = None,
        handoff: bool | None = None,
        status: ExpectedStatus = "complete",
        case_sensitive: bool = False,
        check: Check | None = None,
    ) -> None:
        def keep(name: str, value: object) -> None:
            object.__setattr__(self, name, value)

        for name, value in (
            ("contains", contains),
            ("not_contains", not_contains),
            ("sources_include", sources_include),
            ("regex", regex),
        ):
            if isinstance(value, Iterable) and not isinstance(value, (str, list, tuple, Mapping)):
                value = list(value)  # a set or generator from Python code
            keep(name, texts(name, value))
        for pattern in self.regex:
            check_pattern(pattern, "regex")
        keep("max_first_chunk_s", seconds_or_none("max_first_chunk_s", max_first_chunk_s))
        keep("max_seconds", seconds_or_none("max_seconds", max_seconds))
        keep("handoff", flag("handoff", handoff, optional=True))
        if status not in _STATUSES:
            raise SuiteError(
                f"status: expected one of {', '.join(_STATUSES)}, got {status!r}"
                if isinstance(status, str)
                else f"status: expected text, got {json_type(status)}",
                key="status",
            )
        keep("status", status)
        keep("case_sensitive", flag("case_sensitive", case_sensitive))
        if check is not None and not callable(check):
            raise SuiteError(f"check: expected a function of the Reply, got {json_type(check)}", key="check")
        keep("check", check)

    @classmethod
    def from_dict(cls, data: object) -> Expect:
        """An Expect from a suite file's ``expect:`` mapping (``check`` exists only in Python)."""
        if data is None:
            return cls()
        if not isinstance(data, Mapping):
            raise SuiteError(f"expect: expected a mapping of checks, got {json_type(data)}", key="expect")
        if "check" in data:
            raise SuiteError("check: a check function can only be given in Python: Expect(check=...)", key="check")
        check_keys(data, _EXPECT_KEYS, "expect")
        return cls(**{str(key): value for key, value in data.items() if value is not None})

    def to_dict(self) -> dict[str, Any]:
        """The expectations that are set, as suite-file keys (``check`` by its function's name)."""
        out: dict[str, Any] = {}
        for key in _EXPECT_KEYS:
            value = getattr(self, key)
            if (
                value in ((), None)
                or (key == "status" and value == "complete")
                or (key == "case_sensitive" and not value)
            ):
                continue
            out[key] = list(value) if isinstance(value, tuple) else value
        if self.check is not None:
            out["check"] = _check_name(self.check)
        return out

    def __repr__(self) -> str:
        return f"Expect({', '.join(f'{key}={value!r}' for key, value in self.to_dict().items())})"

    def failures(self, reply: Reply) -> list[str]:
        """Why the reply does not meet these expectations, as sentences; empty when it does."""
        return self.reply_failures(reply) + self.check_failures(reply)

    def check_failures(self, reply: Reply) -> list[str]:
        """What ``check`` finds wrong with the reply, as sentences (none without a ``check``).

        Any way a check fails (False, a message, an exception) is one sentence. It may be
        slow (an LLM judge): ``run_suite`` calls it in a worker thread.
        """
        return [] if self.check is None else _check_outcome(self.check, reply)

    def reply_failures(self, reply: Reply) -> list[str]:
        """Why the reply fails every expectation but ``check``, judged from the reply alone."""
        found: list[str] = []
        if reply.status != self.status:
            how = {"complete": "was complete", "stopped": "was stopped", "failed": "failed"}[reply.status]
            because = f": {reply.error}" if reply.error and reply.status != "complete" else ""
            found.append(f"expected the reply to be {self.status}; it {how}{because}")
        fold = (lambda text: text) if self.case_sensitive else str.casefold
        text = fold(reply.text)
        for wanted in self.contains:
            if fold(wanted) not in text:
                found.append(f"expected the reply to contain {_short(wanted)!r}")
        for unwanted in self.not_contains:
            at = text.find(fold(unwanted))
            if at >= 0:
                found.append(
                    f"expected the reply not to contain {_short(unwanted)!r}; it does: {_around(reply.text, at)!r}"
                )
        for pattern in self.regex:
            try:
                if search(pattern, reply.text) is None:
                    found.append(f"expected the reply to match the regex /{pattern}/")
            except PatternTooSlow as exc:
                found.append(str(exc))
        if self.sources_include:
            labels = _source_labels(reply)
            for wanted in self.sources_include:
                if not any(fold(wanted) in fold(label) for label in labels):
                    seen = ", ".join(repr(_short(label, 60)) for label in labels[:5]) or "none"
                    found.append(f"expected a source matching {_short(wanted)!r}; the sources were: {seen}")
        if self.max_first_chunk_s is not None:
            first = reply.time_to_first_chunk
            if first is None:
                found.append(f"expected the first chunk within {self.max_first_chunk_s:g} s; no chunk arrived")
            elif first > self.max_first_chunk_s:
                found.append(
                    f"expected the first chunk within {self.max_first_chunk_s:g} s; it came after {first:.2f} s"
                )
        if self.max_seconds is not None and reply.elapsed > self.max_seconds:
            found.append(f"expected the whole reply within {self.max_seconds:g} s; it took {reply.elapsed:.2f} s")
        if self.handoff is True and not reply.handoff:
            found.append("expected the agent to hand off to a human; it did not")
        elif self.handoff is False and reply.handoff:
            found.append("expected no handoff to a human; the agent asked for one")
        return found


def _short(text: str, limit: int = 80) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _around(text: str, at: int, width: int = 30) -> str:
    start, end = max(0, at - width), min(len(text), at + width)
    return ("…" if start else "") + text[start:end] + ("…" if end < len(text) else "")


def _source_labels(reply: Reply) -> list[str]:
    labels = list(reply.sources)
    for detail in reply.source_details:
        if isinstance(detail, Mapping):
            labels.extend(str(value) for key, value in detail.items() if key in ("url", "title") and value)
    return labels


def _check_name(check: Check) -> str:
    name = getattr(check, "__name__", None) or type(check).__name__
    return "the check function" if name == "<lambda>" else f"check {name!r}"


def _check_outcome(check: Check, reply: Reply) -> list[str]:
    """Run a check function; any way it fails (False, a message, an exception) is one sentence."""
    name = _check_name(check)
    try:
        outcome = check(reply)
    except AssertionError as exc:  # the first line: pytest's rewritten asserts add an explanation below
        message = str(exc).split("\n", 1)[0].strip()
        return [f"{name} failed: {message}" if message else f"{name} failed an assertion"]
    except BaseException as exc:  # even KeyboardInterrupt/SystemExit: a check must not end the run
        return [f"{name} raised {type(exc).__name__}: {exc}" if str(exc) else f"{name} raised {type(exc).__name__}"]
    if outcome is True or outcome is None:
        return []
    if outcome is False:
        return [f"{name} returned False"]
    if isinstance(outcome, str):
        return [f"{name} failed: {outcome}" if outcome.strip() else f"{name} failed"]
    if inspect.isawaitable(outcome):
        close = getattr(outcome, "close", None)
        if callable(close):
            close()
        return [f"{name} is async; pass a plain function (checks run in a worker thread)"]
    return [f"{name} returned {type(outcome).__name__}; return True or None to pass, False or a message to fail"]


def with_check(expect: Expect, check: Check) -> Expect:
    """``expect`` with a ``check`` function added (what ``Turn(check=...)`` means)."""
    fields = {key: getattr(expect, key) for key in _EXPECT_KEYS}
    return Expect(**fields, check=check)
