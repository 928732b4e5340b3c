"""Agent test suites: scenarios of turns with expectations, each run as one conversation.

A suite is plain data (``Suite`` > ``Scenario`` > ``Turn`` > ``Expect``), written in
Python or loaded from YAML or JSON by ``load_suite``, which checks every key before
anything is sent. ``run_suite`` runs the scenarios a few at a time through the client's
public ``exchange`` on convowidget's IO thread and returns a ``SuiteResult``
(see ``convowidget.results``) for notebooks, CI and pandas.
"""

from __future__ import annotations

import asyncio
import difflib
import importlib
import inspect
import json
import os
import re
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from . import _io
from ._options import is_positive_seconds
from .errors import ConfigurationError, ConvoError
from .reply import Reply
from .results import ScenarioResult, SuiteResult, TurnResult

if TYPE_CHECKING:
    from .client import ConvoClient

__all__ = ["Expect", "Scenario", "Suite", "SuiteError", "Turn", "load_suite", "run_suite"]

Check = Callable[[Reply], Any]
ExpectedStatus = Literal["complete", "stopped", "failed"]
_STATUSES = ("complete", "stopped", "failed")
_SUITE_KEYS = ("name", "scenarios")
_SCENARIO_KEYS = ("name", "turns")
_TURN_KEYS = ("user", "expect")
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


def _json_type(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return f"{str(value).lower()} (true/false)"
    if isinstance(value, (int, float)):
        return f"a number ({value!r})"
    if isinstance(value, str):
        return "text"
    if isinstance(value, Mapping):
        return "a mapping"
    if isinstance(value, (list, tuple)):
        return "a list"
    return type(value).__name__


def _unknown_key(key: object, allowed: Sequence[str], where: str) -> SuiteError:
    close = difflib.get_close_matches(str(key), allowed, n=1, cutoff=0.6)
    hint = f" (did you mean {close[0]!r}?)" if close else f" (allowed in {where}: {', '.join(allowed)})"
    return SuiteError(f"unknown key {key!r}{hint}", key=str(key))


def _check_keys(data: Mapping[Any, Any], allowed: Sequence[str], where: str) -> None:
    for key in data:
        if key not in allowed:
            raise _unknown_key(key, allowed, where)


def _texts(key: str, value: object) -> tuple[str, ...]:
    """A string or a list of strings, as a tuple; blank strings would always match, so refuse them."""
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, (list, tuple)) or not all(isinstance(item, str) for item in items):
        raise SuiteError(f"{key}: expected text or a list of texts, got {_json_type(value)}", key=key)
    if any(not item.strip() for item in items):
        raise SuiteError(f"{key}: an empty text would match any reply; remove it", key=key)
    return tuple(items)


def _seconds(key: str, value: object) -> float | None:
    if value is None:
        return None
    if not is_positive_seconds(value):
        raise SuiteError(f"{key}: expected a positive number of seconds, got {_json_type(value)}", key=key)
    return float(value)


def _flag(key: str, value: object, *, optional: bool = False) -> Any:
    if (value is None and optional) or isinstance(value, bool):
        return value
    raise SuiteError(f"{key}: expected true or false, got {_json_type(value)}", key=key)


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
            keep(name, _texts(name, value))
        for pattern in self.regex:
            try:
                re.compile(pattern)
            except re.error as exc:
                raise SuiteError(f"regex: {pattern!r} is not a valid regular expression ({exc})", key="regex") from None
        keep("max_first_chunk_s", _seconds("max_first_chunk_s", max_first_chunk_s))
        keep("max_seconds", _seconds("max_seconds", max_seconds))
        keep("handoff", _flag("handoff", handoff, optional=True))
        if status not in _STATUSES:
            raise SuiteError(
                f"status: expected one of {', '.join(_STATUSES)}, got {status!r}"
                if isinstance(status, str)
                else f"status: expected text, got {_json_type(status)}",
                key="status",
            )
        keep("status", status)
        keep("case_sensitive", _flag("case_sensitive", case_sensitive))
        if check is not None and not callable(check):
            raise SuiteError(f"check: expected a function of the Reply, got {_json_type(check)}", key="check")
        keep("check", check)

    @classmethod
    def from_dict(cls, data: object) -> Expect:
        """An Expect from a suite file's ``expect:`` mapping (``check`` exists only in Python)."""
        if data is None:
            return cls()
        if not isinstance(data, Mapping):
            raise SuiteError(f"expect: expected a mapping of checks, got {_json_type(data)}", key="expect")
        if "check" in data:
            raise SuiteError("check: a check function can only be given in Python: Expect(check=...)", key="check")
        _check_keys(data, _EXPECT_KEYS, "expect")
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
        found = self._reply_failures(reply)
        if self.check is not None:
            found.extend(_check_outcome(self.check, reply))
        return found

    def _reply_failures(self, reply: Reply) -> list[str]:
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
            if re.search(pattern, reply.text) is None:
                found.append(f"expected the reply to match the regex /{pattern}/")
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


@dataclass(frozen=True, init=False)
class Turn:
    """One message from the user and what the reply must satisfy.

    ``check=`` here is the same as ``expect=Expect(check=...)``.
    """

    user: str
    expect: Expect

    def __init__(self, user: str, expect: Expect | Mapping[str, Any] | None = None, check: Check | None = None) -> None:
        given: object = user  # from a suite file it may be anything
        if not isinstance(given, str):
            hint = " (put it in quotes)" if isinstance(given, (bool, int, float)) else ""
            raise SuiteError(f"user: expected the user's message as text, got {_json_type(given)}{hint}", key="user")
        if not user.strip():
            raise SuiteError("user: the message is empty; the agent needs something to answer", key="user")
        if re.search("[\ud800-\udfff]", user):
            raise SuiteError("user: the message holds a lone surrogate (half a character)", key="user")
        spec: object = expect
        if isinstance(spec, Expect):
            built = spec
        elif spec is None or isinstance(spec, Mapping):
            built = Expect.from_dict(spec)
        else:
            got = _json_type(spec)
            raise SuiteError(f"expect: expected a mapping of checks or Expect(...), got {got}", key="expect")
        if check is not None:
            if built.check is not None:
                raise SuiteError("check: given both on the Turn and in its Expect; keep one", key="check")
            built = Expect(**{**_expect_arguments(built), "check": check})
        object.__setattr__(self, "user", user)
        object.__setattr__(self, "expect", built)

    @classmethod
    def from_dict(cls, data: object) -> Turn:
        """A Turn from a suite file: a mapping with ``user`` and ``expect``, or just the text."""
        if isinstance(data, str):
            return cls(data)
        if not isinstance(data, Mapping):
            raise SuiteError(f"expected a turn (a mapping with 'user' and 'expect'), got {_json_type(data)}")
        _check_keys(data, _TURN_KEYS, "a turn")
        if "user" not in data:
            raise SuiteError("user: missing; every turn needs the user's message", key="user")
        return cls(data["user"], data.get("expect"))


def _expect_arguments(expect: Expect) -> dict[str, Any]:
    return {key: getattr(expect, key) for key in (*_EXPECT_KEYS, "check")}


@dataclass(frozen=True, init=False)
class Scenario:
    """One conversation: its turns are sent in order with one conversation id."""

    name: str
    turns: tuple[Turn, ...]

    def __init__(self, name: str, turns: Iterable[Turn | str | Mapping[str, Any]]) -> None:
        if not isinstance(name, str) or not name.strip():
            got = "an empty name" if isinstance(name, str) else _json_type(name)
            raise SuiteError(f"name: expected the scenario's name as text, got {got}", key="name")
        if isinstance(turns, (str, Mapping)) or not isinstance(turns, Iterable):
            raise SuiteError(f"turns: expected a list of turns, got {_json_type(turns)}", key="turns", scenario=name)
        built = []
        for number, turn in enumerate(turns, 1):
            try:
                built.append(turn if isinstance(turn, Turn) else Turn.from_dict(turn))
            except SuiteError as exc:
                raise exc.within(scenario=name, turn=number) from None
        if not built:
            raise SuiteError("turns: the list is empty; a scenario needs at least one turn", key="turns", scenario=name)
        object.__setattr__(self, "name", name)
        object.__setattr__(self, "turns", tuple(built))

    @classmethod
    def from_dict(cls, data: object, position: int) -> Scenario:
        """A Scenario from a suite file; errors name it (or its position when it has no name)."""
        if not isinstance(data, Mapping):
            raise SuiteError(f"expected a scenario (a mapping with 'name' and 'turns'), got {_json_type(data)}").within(
                scenario=position
            )
        name = data.get("name")
        label: str | int = name if isinstance(name, str) and name.strip() else position
        try:
            _check_keys(data, _SCENARIO_KEYS, "a scenario")
            if "name" not in data:
                raise SuiteError("name: missing; every scenario needs a name (results are matched by name)", key="name")
            if "turns" not in data:
                raise SuiteError("turns: missing; list the user's messages under 'turns'", key="turns")
            return cls(data["name"], data["turns"])
        except SuiteError as exc:
            raise exc.within(scenario=label) from None


@dataclass(frozen=True, init=False)
class Suite:
    """Scenarios to run against an agent. Names are unique: results are matched by name."""

    scenarios: tuple[Scenario, ...]
    name: str

    def __init__(self, scenarios: Iterable[Scenario], name: str = "suite") -> None:
        built = tuple(scenarios)
        if not built:
            raise SuiteError("scenarios: the suite has no scenarios", key="scenarios")
        seen: set[str] = set()
        for scenario in built:
            if not isinstance(scenario, Scenario):
                raise SuiteError(f"scenarios: expected Scenario objects, got {_json_type(scenario)}", key="scenarios")
            if scenario.name in seen:
                raise SuiteError(
                    "name: another scenario has this name; names must be unique (results are matched by name)",
                    scenario=scenario.name,
                    key="name",
                )
            seen.add(scenario.name)
        if not isinstance(name, str) or not name.strip():
            raise SuiteError(f"name: expected the suite's name as text, got {_json_type(name)}", key="name")
        object.__setattr__(self, "scenarios", built)
        object.__setattr__(self, "name", name)

    def __len__(self) -> int:
        return len(self.scenarios)

    def __iter__(self) -> Any:
        return iter(self.scenarios)

    @classmethod
    def from_dict(cls, data: object, *, name: str = "suite", source: str | None = None) -> Suite:
        """A Suite from parsed YAML/JSON: ``{name?, scenarios: [...]}`` or just the list."""
        try:
            if isinstance(data, list):
                data = {"scenarios": data}
            if not isinstance(data, Mapping):
                raise SuiteError(f"expected a mapping with 'scenarios', got {_json_type(data)}")
            _check_keys(data, _SUITE_KEYS, "the suite")
            items = data.get("scenarios")
            if not isinstance(items, list):
                got = "nothing" if items is None else _json_type(items)
                raise SuiteError(f"scenarios: expected a list of scenarios, got {got}", key="scenarios")
            scenarios = [Scenario.from_dict(item, position) for position, item in enumerate(items, 1)]
            return cls(scenarios, data.get("name", name))
        except SuiteError as exc:
            raise exc.within(source=source) from None


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise SuiteError(f"key {key!r} appears twice in one mapping; keep one", key=key)
        out[key] = value
    return out


def _load_yaml(text: str) -> Any:
    try:
        yaml: Any = importlib.import_module("yaml")
    except ImportError:
        raise SuiteError("reading a YAML suite needs PyYAML: pip install pyyaml (or write the suite as JSON)") from None

    class StrictLoader(yaml.SafeLoader):  # type: ignore[misc]
        """SafeLoader that refuses a key given twice (YAML would silently keep the last)."""

    def mapping(loader: Any, node: Any, deep: bool = False) -> dict[Any, Any]:
        loader.flatten_mapping(node)
        pairs = [(loader.construct_object(k, deep=deep), loader.construct_object(v, deep=deep)) for k, v in node.value]
        try:
            return _no_duplicates(pairs)
        except SuiteError as exc:
            raise SuiteError(f"{exc.problem} (line {node.start_mark.line + 1})", key=exc.key) from None

    StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, mapping)
    try:
        return yaml.load(text, Loader=StrictLoader)  # a SafeLoader subclass
    except yaml.YAMLError as exc:
        raise SuiteError(f"not valid YAML: {exc}") from None


def _load_json(text: str) -> Any:
    try:
        return json.loads(text, object_pairs_hook=_no_duplicates)
    except json.JSONDecodeError as exc:
        raise SuiteError(f"not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}") from None


def load_suite(path: str | os.PathLike[str]) -> Suite:
    """Read a suite from a YAML (``.yaml``/``.yml``) or JSON file and check all of it.

    Raises ``SuiteError`` naming the file, scenario, turn and key of the first problem.
    The suite's name is the file's ``name:`` key, else the file name without extension.
    """
    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise SuiteError(f"no suite file at {file}") from None
    except UnicodeDecodeError:
        raise SuiteError("the file is not UTF-8 text", source=file.name) from None
    except OSError as exc:
        raise SuiteError(f"cannot read the file: {exc.strerror}", source=file.name) from None
    try:
        suffix = file.suffix.lower()
        if suffix == ".json":
            data = _load_json(text)
        elif suffix in (".yaml", ".yml") or not text.lstrip().startswith(("{", "[")):
            data = _load_yaml(text)
        else:
            data = _load_json(text)
    except SuiteError as exc:
        raise exc.within(source=file.name) from None
    return Suite.from_dict(data, name=file.stem, source=file.name)


# ---------------------------------------------------------------------- running


def _as_suite(suite: Suite | Scenario | Iterable[Scenario] | str | os.PathLike[str]) -> Suite:
    if isinstance(suite, Suite):
        return suite
    if isinstance(suite, (str, os.PathLike)):
        return load_suite(suite)
    if isinstance(suite, Scenario):
        return Suite([suite])
    return Suite(suite)


def _whole(name: str, value: object, *, least: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < least:
        raise ConfigurationError(f"{name}: expected a whole number of at least {least}, got {value!r}")
    return value


class _Run:
    """The state one ``run_suite`` call shares between its scenarios (on the IO thread).

    ``stop()`` (an interrupt) sets ``stop_event``, which ends every reply in flight
    ``stopped`` with its text so far; scenarios doing anything else (waiting for a free
    slot, running a check) are cancelled.
    """

    def __init__(self, total: int, progress: bool, description: str) -> None:
        self.stopped = False
        self.stop_event = asyncio.Event()
        self.tasks: list[asyncio.Future[None]] = []
        self.receiving: set[asyncio.Future[Any] | None] = set()  # scenarios waiting for a reply
        self.failed = 0
        self.bar: Any = None
        if progress:
            from tqdm.auto import tqdm

            self.bar = tqdm(total=total, desc=description, unit="scenario")

    def stop(self) -> None:
        self.stopped = True
        self.stop_event.set()
        for task in self.tasks:
            if task not in self.receiving:
                task.cancel()

    def finished(self, result: ScenarioResult) -> None:
        if result.status == "failed":
            self.failed += 1
        if self.bar is not None:
            self.bar.update(1)
            if self.failed:
                self.bar.set_postfix(failed=self.failed, refresh=False)


async def _evaluate(expect: Expect, reply: Reply) -> list[str]:
    failures = expect._reply_failures(reply)
    if expect.check is not None:
        failures.extend(await asyncio.to_thread(_check_outcome, expect.check, reply))
    return failures


async def _ask(client: ConvoClient, prompt: str, convo_id: str, state: _Run, retries: int) -> Reply:
    """One turn's reply; an interrupt meanwhile ends it ``stopped``, its text kept."""
    request = client.make_request(prompt, convo_id)
    task = asyncio.current_task()
    state.receiving.add(task)
    try:
        return await client.exchange(request, stop_event=state.stop_event, retries=retries)
    finally:
        state.receiving.discard(task)


async def _run_scenario(
    client: ConvoClient, scenario: Scenario, record: ScenarioResult, state: _Run, stop_on_failure: bool, retries: int
) -> None:
    """Send the turns in order in one conversation, filling ``record`` as each turn ends."""
    started = time.perf_counter()
    record.status = "running"
    record.convo_id = convo_id = client.new_convo_id()
    current: TurnResult | None = None
    failed = False
    try:
        for turn, current in zip(scenario.turns, record.turns, strict=True):
            if stop_on_failure and failed:
                current.status = "skipped"
                continue
            try:
                reply = await _ask(client, turn.user, convo_id, state, retries)
            except Exception as exc:  # the client should not raise; if it does, it is this turn's failure
                current.failures = [f"the client raised {type(exc).__name__}: {exc}"]
            else:
                current.reply = reply
                if state.stopped:  # interrupted while it came in: keep the reply, judge nothing more
                    raise asyncio.CancelledError
                current.failures = await _evaluate(turn.expect, reply)
            current.status = "failed" if current.failures else "passed"
            failed = failed or bool(current.failures)
        current = None
        record.status = "failed" if failed else "passed"
    except asyncio.CancelledError:  # the run was interrupted: keep what finished
        if current is not None and current.status == "not run":
            current.status = "interrupted"
        record.status = "failed" if failed else "interrupted"
    finally:
        record.elapsed = time.perf_counter() - started


def run_suite(
    client: ConvoClient,
    suite: Suite | Scenario | Iterable[Scenario] | str | os.PathLike[str],
    *,
    concurrency: int = 8,
    progress: bool = True,
    stop_on_failure: bool = False,
    repeat: int = 1,
    retries: int | None = None,
) -> SuiteResult:
    """Run every scenario as its own conversation, up to ``concurrency`` at once.

    A failed turn fails its scenario; its remaining turns still run unless
    ``stop_on_failure=True`` (then they are ``skipped``). ``repeat=N`` runs each
    scenario N times, in N conversations, and reports its pass rate. ``retries``
    (default: the client's) re-tries a prompt that never reached the server. A
    KeyboardInterrupt (the kernel's stop button) stops the run and returns what
    finished: scenarios in flight are ``interrupted`` (the reply that was coming in is
    kept, with its text so far), those not started ``not run``; neither counts as failed.
    """
    if _io.on_io_thread():
        raise ConvoError("run_suite() cannot block inside a reply callback")
    built = _as_suite(suite)
    concurrency = _whole("concurrency", concurrency)
    repeat = _whole("repeat", repeat)
    retries = client.retries if retries is None else _whole("retries", retries, least=0)
    records = [
        ScenarioResult.planned(scenario.name, run, [(turn.user, turn.expect.to_dict()) for turn in scenario.turns])
        for scenario in built.scenarios
        for run in range(1, repeat + 1)
    ]
    plan = sorted(range(len(records)), key=lambda index: (records[index].run, index))  # run 1 of each first
    state = _Run(len(records), progress, built.name)
    scenarios = {scenario.name: scenario for scenario in built.scenarios}

    async def one(record: ScenarioResult, gate: asyncio.Semaphore) -> None:
        try:
            async with gate:
                if state.stopped:
                    return
                await _run_scenario(client, scenarios[record.scenario], record, state, stop_on_failure, retries)
        except asyncio.CancelledError:
            return  # cancelled while waiting for a free slot: stays "not run"
        state.finished(record)

    async def run_all() -> None:
        gate = asyncio.Semaphore(concurrency)
        state.tasks = [asyncio.ensure_future(one(records[index], gate)) for index in plan]
        if state.stopped:
            state.stop()
        await asyncio.gather(*state.tasks, return_exceptions=True)

    started = time.perf_counter()
    stamp = time.time()
    try:
        _io.wait(_io.submit(run_all()), lambda: _io.call_soon(state.stop))
    finally:
        if state.bar is not None:
            state.bar.close()
    return SuiteResult(
        suite=built.name,
        runs=records,
        repeat=repeat,
        interrupted=state.stopped,
        elapsed=time.perf_counter() - started,
        started_at=stamp,
    )
