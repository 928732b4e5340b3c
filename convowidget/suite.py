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

from ._expect import Check, Expect, with_check
from ._files import read_text
from ._suite_checks import check_keys, json_type
from .errors import ConfigurationError, SuiteError

__all__ = ["Expect", "Scenario", "Suite", "SuiteError", "Turn", "load_suite"]

_SUITE_KEYS = ("name", "scenarios")
_SCENARIO_KEYS = ("name", "turns")
_TURN_KEYS = ("user", "expect")
MAX_SUITE_BYTES = 10 * 2**20  # a suite file's size: far above any suite, far below a memory problem
_TOO_DEEP = "lists or mappings nested too deeply to read"


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
            raise SuiteError(f"user: expected the user's message as text, got {json_type(given)}{hint}", key="user")
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
            got = json_type(spec)
            raise SuiteError(f"expect: expected a mapping of checks or Expect(...), got {got}", key="expect")
        if check is not None:
            if built.check is not None:
                raise SuiteError("check: given both on the Turn and in its Expect; keep one", key="check")
            built = with_check(built, check)
        object.__setattr__(self, "user", user)
        object.__setattr__(self, "expect", built)

    @classmethod
    def from_dict(cls, data: object) -> Turn:
        """A Turn from a suite file: a mapping with ``user`` and ``expect``, or just the text."""
        if isinstance(data, str):
            return cls(data)
        if not isinstance(data, Mapping):
            raise SuiteError(f"expected a turn (a mapping with 'user' and 'expect'), got {json_type(data)}")
        check_keys(data, _TURN_KEYS, "a turn")
        if "user" not in data:
            raise SuiteError("user: missing; every turn needs the user's message", key="user")
        return cls(data["user"], data.get("expect"))


@dataclass(frozen=True, init=False)
class Scenario:
    """One conversation: its turns are sent in order with one conversation id."""

    name: str
    turns: tuple[Turn, ...]

    def __init__(self, name: str, turns: Iterable[Turn | str | Mapping[str, Any]]) -> None:
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
        object.__setattr__(self, "name", name)
        object.__setattr__(self, "turns", tuple(built))

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


def load_suite(path: str | os.PathLike[str]) -> Suite:
    """Read a suite from a YAML (``.yaml``/``.yml``) or JSON file and check all of it.

    Raises ``SuiteError`` naming the file, scenario, turn and key of the first problem.
    The suite's name is the file's ``name:`` key, else the file name without extension.
    Only a regular file of at most ``MAX_SUITE_BYTES`` (10 MiB) is read.
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
    return Suite.from_dict(data, name=file.stem, source=file.name)


def __getattr__(name: str) -> Any:
    """``convowidget.suite.run_suite``, still importable from here: it lives in ``runner`` now."""
    if name == "run_suite":
        from .runner import run_suite

        return run_suite
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
