"""The errors convowidget raises: one base class, a few kinds, messages that say what to do."""

from __future__ import annotations


class ConvoError(Exception):
    """Base class of every error convowidget raises on purpose."""


class ConfigurationError(ConvoError, ValueError):
    """An argument or environment variable is missing or wrong; raised before connecting."""


class InsecureURLError(ConfigurationError):
    """A plain ``ws://`` address points at a host that is not this machine."""


class ListenError(ConfigurationError, OSError):
    """The embedded server cannot listen where it was asked: the port is taken, or the host
    is no address of this machine. Also an ``OSError``, as binding raised before."""


class StreamError(ConvoError):
    """A reply ended badly: refused or dropped connection, abnormal close, silence, timeout,
    an oversized reply, or a callback that raised. Its message is the reply's ``error``.

    ``ask``, ``ask_async`` and ``exchange`` never raise it; they return a ``failed`` Reply.
    ``stream`` raises it (and nothing else) at the end, after yielding every event that did
    arrive; bad arguments to ``stream`` raise ``ConfigurationError`` at the call instead.
    """


class SuiteError(ConfigurationError):
    """A malformed suite, naming the file, scenario, turn and key; raised before anything is sent."""

    def __init__(
        self,
        problem: str,
        *,
        scenario: str | int | None = None,
        turn: int | None = None,
        key: str | None = None,
        source: str | None = None,
    ) -> None:
        self.problem = problem
        self.scenario = scenario
        self.turn = turn
        self.key = key
        self.source = source
        place = []
        if scenario is not None:
            place.append(f"scenario {scenario!r}" if isinstance(scenario, str) else f"scenario {scenario}")
        if turn is not None:
            place.append(f"turn {turn}")
        parts = [source, ", ".join(place), problem]
        super().__init__(": ".join(part for part in parts if part))

    def within(
        self, *, scenario: str | int | None = None, turn: int | None = None, source: str | None = None
    ) -> SuiteError:
        """The same error with the place filled in where it was not known yet."""
        return SuiteError(
            self.problem,
            scenario=self.scenario if self.scenario is not None else scenario,
            turn=self.turn if self.turn is not None else turn,
            key=self.key,
            source=self.source or source,
        )


class FormError(ConvoError, ValueError):
    """Values for a form or input do not fit its fields; nothing was sent.

    ``problems`` maps each bad field's id to what to fix (the agent's own message when its
    field has one); ``field`` is the first of them. The message lists them all by label.
    """

    def __init__(self, message: str, problems: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.problems: dict[str, str] = dict(problems or {})
        self.field: str | None = next(iter(self.problems), None)
