"""Agent test suites: scenarios of turns with expectations, each run as one conversation.

A suite is plain data (``Suite`` > ``Scenario`` > ``Turn`` > ``Expect``), written in
Python or loaded from YAML or JSON by ``load_suite``, which checks every key before
anything is sent. ``Expect`` also judges a reply. Running a suite is ``runner.run_suite``
(also ``convowidget.run_suite``, and importable from here as before), which returns a
``SuiteResult`` (see ``convowidget.results``) for notebooks, CI and pandas.
"""

from __future__ import annotations

import importlib
import json
import os
import re
from collections.abc import Hashable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ._expect import Check, Expect, with_check, with_stored
from ._files import read_text
from ._reactions import click_label, submit_values
from ._snapshots import Stored, read_snapshots, snapshot_path, volatile_patterns
from ._suite_checks import check_keys, json_type, rate_or_none
from .errors import ConfigurationError, SuiteError

__all__ = ["Expect", "Scenario", "Suite", "SuiteError", "Turn", "load_suite"]

_SUITE_KEYS = ("name", "scenarios", "volatile", "min_pass_rate")
_SCENARIO_KEYS = ("name", "turns", "min_pass_rate")
_TURN_KEYS = ("user", "click", "submit", "expect")
MAX_SUITE_BYTES = 10 * 2**20  # a suite file's size: far above any suite, far below a memory problem
_TOO_DEEP = "lists or mappings nested too deeply to read"


@dataclass(frozen=True, init=False)
class Turn:
    """One turn and what the reply must satisfy: a message from the user (``user``), a click
    on a button the previous reply offered (``click``, its name), or the previous reply's
    form or input filled in and sent (``submit``, ``{field id or label: value}``).

    Exactly one of the three is given. ``check=`` here is the same as ``expect=Expect(check=...)``.
    """

    user: str | None
    expect: Expect
    click: str | None
    submit: dict[str, Any] | None

    def __init__(
        self,
        user: str | None = None,
        expect: Expect | Mapping[str, Any] | None = None,
        check: Check | None = None,
        *,
        click: str | None = None,
        submit: Mapping[str, Any] | None = None,
    ) -> None:
        given = [key for key, value in (("user", user), ("click", click), ("submit", submit)) if value is not None]
        if len(given) != 1:
            problem = "give one of user, click or submit" if not given else f"give only one of {' and '.join(given)}"
            raise SuiteError(f"{problem}: a turn sends one message", key=given[-1] if given else "user")
        if user is not None:
            _check_user(user)
        object.__setattr__(self, "user", user)
        object.__setattr__(self, "click", None if click is None else click_label(click))
        object.__setattr__(self, "submit", None if submit is None else submit_values(submit))
        object.__setattr__(self, "expect", _built_expect(expect, check))

    @property
    def label(self) -> str:
        """The turn as results show it before it runs (a submit's field names, never its values)."""
        if self.user is not None:
            return self.user
        if self.click is not None:
            return f"click: {self.click}"
        return f"submit: {', '.join(self.submit or {})}"

    @classmethod
    def from_dict(cls, data: object) -> Turn:
        """A Turn from a suite file: ``user``, ``click`` or ``submit``, and ``expect``; or just the text."""
        if isinstance(data, str):
            return cls(data)
        if not isinstance(data, Mapping):
            raise SuiteError(f"expected a turn (a mapping with 'user' and 'expect'), got {json_type(data)}")
        check_keys(data, _TURN_KEYS, "a turn")
        sent = [key for key in ("user", "click", "submit") if key in data]
        if not sent:
            raise SuiteError("user: missing; every turn needs the user's message (or click: or submit:)", key="user")
        if any(data[key] is None for key in sent):
            key = next(key for key in sent if data[key] is None)
            raise SuiteError(f"{key}: expected a value, got null", key=key)
        return cls(data.get("user"), data.get("expect"), click=data.get("click"), submit=data.get("submit"))


def _check_user(user: object) -> None:
    if not isinstance(user, str):
        hint = " (put it in quotes)" if isinstance(user, (bool, int, float)) else ""
        raise SuiteError(f"user: expected the user's message as text, got {json_type(user)}{hint}", key="user")
    if not user.strip():
        raise SuiteError("user: the message is empty; the agent needs something to answer", key="user")
    if re.search("[\ud800-\udfff]", user):
        raise SuiteError("user: the message holds a lone surrogate (half a character)", key="user")


def _built_expect(expect: object, check: Check | None) -> Expect:
    if isinstance(expect, Expect):
        built = expect
    elif expect is None or isinstance(expect, Mapping):
        built = Expect.from_dict(expect)
    else:
        raise SuiteError(f"expect: expected a mapping of checks or Expect(...), got {json_type(expect)}", key="expect")
    if check is not None:
        if built.check is not None:
            raise SuiteError("check: given both on the Turn and in its Expect; keep one", key="check")
        built = with_check(built, check)
    return built


@dataclass(frozen=True, init=False)
class Scenario:
    """One conversation: its turns are sent in order with one conversation id.

    ``min_pass_rate`` (0 to 1, default: the suite's) matters only with ``repeat``: the
    scenario passes when that share of its runs passed (0.8: 8 of 10). With one run it
    changes nothing: the run passes or fails whole.
    """

    name: str
    turns: tuple[Turn, ...]
    min_pass_rate: float | None

    def __init__(
        self, name: str, turns: Iterable[Turn | str | Mapping[str, Any]], min_pass_rate: float | None = None
    ) -> None:
        if not isinstance(name, str) or not name.strip():
            got = "an empty name" if isinstance(name, str) else json_type(name)
            raise SuiteError(f"name: expected the scenario's name as text, got {got}", key="name")
        if isinstance(turns, (str, Mapping)) or not isinstance(turns, Iterable):
            raise SuiteError(f"turns: expected a list of turns, got {json_type(turns)}", key="turns", scenario=name)
        built = []
        for number, turn in enumerate(turns, 1):
            try:
                built.append(turn if isinstance(turn, Turn) else Turn.from_dict(turn))
            except SuiteError as exc:
                raise exc.within(scenario=name, turn=number) from None
        if not built:
            raise SuiteError("turns: the list is empty; a scenario needs at least one turn", key="turns", scenario=name)
        if built[0].user is None:
            kind = "click" if built[0].click is not None else "submit"
            raise SuiteError(
                f"{kind}: the first turn has no reply before it to {kind} in; start with user:", key=kind
            ).within(scenario=name, turn=1)
        try:
            threshold = rate_or_none("min_pass_rate", min_pass_rate)
        except SuiteError as exc:
            raise exc.within(scenario=name) from None
        object.__setattr__(self, "name", name)
        object.__setattr__(self, "turns", tuple(built))
        object.__setattr__(self, "min_pass_rate", threshold)

    @classmethod
    def from_dict(cls, data: object, position: int) -> Scenario:
        """A Scenario from a suite file; errors name it (or its position when it has no name)."""
        if not isinstance(data, Mapping):
            raise SuiteError(f"expected a scenario (a mapping with 'name' and 'turns'), got {json_type(data)}").within(
                scenario=position
            )
        name = data.get("name")
        label: str | int = name if isinstance(name, str) and name.strip() else position
        try:
            check_keys(data, _SCENARIO_KEYS, "a scenario")
            if "name" not in data:
                raise SuiteError("name: missing; every scenario needs a name (results are matched by name)", key="name")
            if "turns" not in data:
                raise SuiteError("turns: missing; list the user's messages under 'turns'", key="turns")
            return cls(data["name"], data["turns"], data.get("min_pass_rate"))
        except SuiteError as exc:
            raise exc.within(scenario=label) from None


@dataclass(frozen=True, init=False)
class Suite:
    """Scenarios to run against an agent. Names are unique: results are matched by name.

    ``min_pass_rate`` is the default of every scenario that sets none (see ``Scenario``).
    """

    scenarios: tuple[Scenario, ...]
    name: str
    volatile: tuple[str, ...]
    """Patterns (or ``dates``, ``numbers``, ``ids``) a snapshot comparison ignores."""
    min_pass_rate: float | None

    def __init__(
        self,
        scenarios: Iterable[Scenario],
        name: str = "suite",
        volatile: Iterable[str] = (),
        min_pass_rate: float | None = None,
    ) -> None:
        built = tuple(scenarios)
        if not built:
            raise SuiteError("scenarios: the suite has no scenarios", key="scenarios")
        seen: set[str] = set()
        for scenario in built:
            if not isinstance(scenario, Scenario):
                raise SuiteError(f"scenarios: expected Scenario objects, got {json_type(scenario)}", key="scenarios")
            if scenario.name in seen:
                raise SuiteError(
                    "name: another scenario has this name; names must be unique (results are matched by name)",
                    scenario=scenario.name,
                    key="name",
                )
            seen.add(scenario.name)
        if not isinstance(name, str) or not name.strip():
            raise SuiteError(f"name: expected the suite's name as text, got {json_type(name)}", key="name")
        object.__setattr__(self, "scenarios", built)
        object.__setattr__(self, "name", name)
        given = volatile if isinstance(volatile, (str, list, tuple)) else list(volatile)
        object.__setattr__(self, "volatile", volatile_patterns(given))
        object.__setattr__(self, "min_pass_rate", rate_or_none("min_pass_rate", min_pass_rate))

    def threshold(self, scenario: Scenario) -> float | None:
        """The ``min_pass_rate`` that judges ``scenario``: its own, else the suite's, else None."""
        return self.min_pass_rate if scenario.min_pass_rate is None else scenario.min_pass_rate

    def only(self, names: Iterable[str]) -> Suite:
        """The scenarios named in ``names`` (in suite order), as a suite with this one's name and threshold.

        Raises ``SuiteError`` when none of them is in the suite.
        """
        wanted = set(names)
        kept = [scenario for scenario in self.scenarios if scenario.name in wanted]
        if not kept:
            raise SuiteError("none of the scenarios asked for is in the suite")
        return Suite(kept, self.name, self.volatile, self.min_pass_rate)

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
                raise SuiteError(f"expected a mapping with 'scenarios', got {json_type(data)}")
            check_keys(data, _SUITE_KEYS, "the suite")
            items = data.get("scenarios")
            if not isinstance(items, list):
                got = "nothing" if items is None else json_type(items)
                raise SuiteError(f"scenarios: expected a list of scenarios, got {got}", key="scenarios")
            scenarios = [Scenario.from_dict(item, position) for position, item in enumerate(items, 1)]
            return cls(scenarios, data.get("name", name), data.get("volatile") or (), data.get("min_pass_rate"))
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
        for key, _value in pairs:
            if not isinstance(key, Hashable):
                line = node.start_mark.line + 1
                raise SuiteError(f"a key must be text, not {json_type(key)} (line {line})")
        try:
            return _no_duplicates(pairs)
        except SuiteError as exc:
            raise SuiteError(f"{exc.problem} (line {node.start_mark.line + 1})", key=exc.key) from None

    StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, mapping)
    try:
        return yaml.load(text, Loader=StrictLoader)  # a SafeLoader subclass
    except yaml.YAMLError as exc:
        raise SuiteError(f"not valid YAML: {exc}") from None
    except RecursionError:
        raise SuiteError(_TOO_DEEP) from None


def _load_json(text: str) -> Any:
    try:
        return json.loads(text, object_pairs_hook=_no_duplicates)
    except json.JSONDecodeError as exc:
        raise SuiteError(f"not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}") from None
    except RecursionError:
        raise SuiteError(_TOO_DEEP) from None


def load_suite(path: str | os.PathLike[str], *, update_snapshots: bool = False) -> Suite:
    """Read a suite from a YAML (``.yaml``/``.yml``) or JSON file and check all of it.

    Raises ``SuiteError`` naming the file, scenario, turn and key of the first problem.
    The suite's name is the file's ``name:`` key, else the file name without extension.
    Only a regular file of at most ``MAX_SUITE_BYTES`` (10 MiB) is read. Turns that
    expect a ``snapshot`` are given their stored reply from ``NAME.snapshots.json``
    beside the file; ``update_snapshots=True`` skips those checks (the run writes them).
    """
    file = Path(path)
    try:
        text = read_text(file, most_bytes=MAX_SUITE_BYTES, what="a suite")
    except ConfigurationError as exc:
        raise SuiteError(str(exc), source=file.name) from None
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
    return _with_snapshots(Suite.from_dict(data, name=file.stem, source=file.name), file, update_snapshots)


def _with_snapshots(suite: Suite, file: Path, updating: bool) -> Suite:
    """The suite with each snapshot turn given its stored reply (read only when some turn has one)."""
    if all(turn.expect.snapshot is None for scenario in suite for turn in scenario.turns):
        return suite
    path = snapshot_path(file)
    try:
        stored = {} if updating else read_snapshots(path)
    except SuiteError as exc:
        raise exc.within(source=file.name) from None
    scenarios = []
    for scenario in suite.scenarios:
        texts = stored.get(scenario.name, [])
        turns = [
            turn
            if turn.expect.snapshot is None
            else Turn(
                turn.user,
                with_stored(
                    turn.expect, Stored(texts[i] if i < len(texts) else None, suite.volatile, updating, path.name)
                ),
                click=turn.click,
                submit=turn.submit,
            )
            for i, turn in enumerate(scenario.turns)
        ]
        scenarios.append(Scenario(scenario.name, turns))
    return Suite(scenarios, suite.name, suite.volatile)


def __getattr__(name: str) -> Any:
    """``convowidget.suite.run_suite``, still importable from here: it lives in ``runner`` now."""
    if name == "run_suite":
        from .runner import run_suite

        return run_suite
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
