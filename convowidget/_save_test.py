"""Save as test: a panel's conversation, up to one reply, appended to a suite file as a scenario.

Each turn's expectations are drawn from the reply that came: ``status``, ``handoff``,
``sources_include``, ``buttons_include``, ``tool_called`` and ``similar_to`` its text at
``min_similarity``. A form the person submitted is a ``submit:`` turn with the values
sent, password fields left out (never written); a button they clicked is a ``click:``
turn. A submission the suite cannot send the same way (only passwords, or no form in the
reply before it) is written as the readable prompt the panel showed and expects only its
status: the same text without the form's fields would get another answer.

Appending keeps what the file holds. When its scenario list is a block list that ends
the file (as this module writes it), the new scenario is added as text after it, so
comments and formatting stay; otherwise the file is written again from its data (every
scenario kept, comments lost). The result is loaded back with ``load_suite`` before it
replaces the file, so a save never leaves a suite that does not load.
"""

from __future__ import annotations

import importlib
import json
import os
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from ._offered import offered_blocks, offered_buttons, offered_forms
from ._panel_forms import PanelForms
from .errors import ConfigurationError, SuiteError
from .reply import Reply
from .suite import MAX_SUITE_BYTES, load_suite

__all__ = [
    "DEFAULT_SUITE_FILE",
    "append_scenario",
    "exchanges_to_save",
    "exchanges_up_to",
    "scenario_turns",
    "suite_path",
    "threshold",
]

yaml: Any = importlib.import_module("yaml")  # PyYAML, a dependency; it has no type hints
DEFAULT_SUITE_FILE = "convowidget-tests.yaml"
"""Where Save as test writes when no ``suite_path`` was given: in the working directory."""
_NAME_CHARS = 60
_HEADER = "# Agent tests saved from a convowidget chat panel; run with: convowidget test {name}\n"


def suite_path(value: object) -> Path:
    """``suite_path``: a ``.yaml``, ``.yml`` or ``.json`` file name (None: ``DEFAULT_SUITE_FILE``)."""
    if value is None:
        return Path(DEFAULT_SUITE_FILE)
    if not isinstance(value, (str, os.PathLike)) or not str(value).strip():
        raise ConfigurationError(f"suite_path: expected a file name, got {value!r}")
    path = Path(value)
    if path.suffix.lower() not in (".yaml", ".yml", ".json"):
        raise ConfigurationError(f"suite_path: expected a .yaml, .yml or .json file, got {path.name!r}")
    return path


def threshold(value: object) -> float:
    """``min_similarity``: a number from 0 to 1."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 1:
        raise ConfigurationError(f"min_similarity: expected a number from 0 to 1, got {value!r}")
    return float(value)


Exchange = tuple[Reply, dict[str, Any]]
"""A reply and the request fields its prompt carried (a form's submission; {} for a typed prompt)."""


def _expect(reply: Reply, min_similarity: float, *, replayable: bool) -> dict[str, Any]:
    """What the next run's reply must satisfy, drawn from this one."""
    expect: dict[str, Any] = {"status": reply.status}
    if not replayable or reply.status != "complete":
        return expect
    expect["handoff"] = bool(reply.handoff)
    if reply.sources:
        expect["sources_include"] = [str(source) for source in reply.sources]
    buttons = [button["label"] for button in offered_buttons(offered_blocks(reply.ui_turn))]
    if buttons:
        expect["buttons_include"] = list(dict.fromkeys(buttons))
    tools = [call.name for call in reply.tool_calls if call.name]
    if tools:
        expect["tool_called"] = list(dict.fromkeys(tools))
    if reply.text.strip():
        expect["similar_to"] = reply.text
        expect["min_similarity"] = min_similarity
    return expect


def _sent(reply: Reply, fields: dict[str, Any], previous: Reply | None) -> tuple[dict[str, Any], bool]:
    """How the turn is written (``user``, ``click`` or ``submit``) and whether a run can send it the same.

    A submission is ``submit: {field id: value}`` without password fields; a prompt that is
    the message of a button the previous reply offered is ``click: label``.
    """
    offered = offered_blocks(previous.ui_turn) if previous is not None else []
    if fields:
        metadata = fields.get("formSubmissionMetadata")
        items = metadata.get("submittedData") if isinstance(metadata, dict) else None
        values = {
            str(item["field_id"]): item.get("value")
            for item in (items if isinstance(items, list) else [])
            if isinstance(item, dict) and "field_id" in item and item.get("field_type") != "password"
        }
        if values and offered_forms(offered):
            return {"submit": values}, True
        return {"user": reply.prompt}, False  # the text alone would get another answer
    button = next((b for b in offered_buttons(offered) if b.get("message") == reply.prompt), None)
    if button is not None:
        return {"click": button["label"]}, True
    return {"user": reply.prompt}, True


def exchanges_to_save(entries: list[dict[str, Any]], forms: PanelForms, reply: Reply | None) -> list[Exchange]:
    """The exchanges up to ``reply`` (the latest when None); ``ConfigurationError`` when there are none."""
    if reply is None:
        answers = [e.get("id") for e in entries if e.get("role") == "assistant" and forms.reply_of(str(e.get("id")))]
        answer_id = str(answers[-1]) if answers else None
    else:
        answer_id = forms.answer_id_of(reply)
    exchanges = exchanges_up_to(entries, answer_id, forms) if answer_id else None
    if not exchanges:
        where = "that reply is no longer in the panel" if reply is not None else "the panel has no reply yet"
        raise ConfigurationError(f"nothing to save as a test: {where}")
    return exchanges


def exchanges_up_to(entries: list[dict[str, Any]], answer_id: str, forms: PanelForms) -> list[Exchange] | None:
    """The panel's exchanges up to answer ``answer_id``, oldest first; None when it is not there."""
    found: list[Exchange] = []
    for entry in entries:
        reply = forms.reply_of(str(entry.get("id"))) if entry.get("role") == "assistant" else None
        if reply is not None:
            found.append((reply, forms.request_fields(entry.get("prompt_id"))))
        if entry.get("id") == answer_id:
            return found if reply is not None else None
    return None


def scenario_turns(exchanges: Iterable[Exchange], min_similarity: float) -> list[dict[str, Any]]:
    """A scenario's turns, each with what its reply must satisfy, oldest first."""
    turns, previous = [], None
    for reply, fields in exchanges:
        sent, replayable = _sent(reply, fields, previous)
        turns.append({**sent, "expect": _expect(reply, min_similarity, replayable=replayable)})
        previous = reply
    return turns


def _said(turn: dict[str, Any]) -> str:
    if "user" in turn:
        return str(turn["user"])
    if "click" in turn:
        return f"click: {turn['click']}"
    return "submit: " + ", ".join(turn["submit"])


def _scenario_name(turns: list[dict[str, Any]], taken: set[str]) -> str:
    """The first prompt other than the greeting's, on one line and cut; made unique with " (2)"..."""
    said = [_said(turn) for turn in turns]
    first = next((text for text in said if text.strip().lower() != "start"), said[0])
    words = " ".join(first.split())
    base = words if len(words) <= _NAME_CHARS else words[: _NAME_CHARS - 1].rstrip() + "…"
    name, number = base, 1
    while name in taken:
        number += 1
        name = f"{base} ({number})"
    return name


class _Dumper(yaml.SafeDumper):  # type: ignore[misc]
    """Writes a text of several lines as a literal block (``|``), as a person would."""


def _text(dumper: Any, value: str) -> Any:
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style="|" if "\n" in value else None)


_Dumper.add_representer(str, _text)


def _dump(data: Any) -> str:
    options = {"sort_keys": False, "allow_unicode": True, "width": 100, "default_flow_style": False}
    return str(yaml.dump(data, Dumper=_Dumper, **options))


def _appended_text(text: str, scenario: dict[str, Any]) -> str | None:
    """``text`` with ``scenario`` added after its scenario list, or None when that list does not end the file."""
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError:
        return None
    items = root
    if isinstance(root, yaml.MappingNode):
        items = next((value for key, value in root.value if getattr(key, "value", None) == "scenarios"), None)
    if not isinstance(items, yaml.SequenceNode) or items.flow_style or not items.value:
        return None
    if text[items.end_mark.index :].strip(" \t\r\n") and not _only_comments(text[items.end_mark.index :]):
        return None
    first = items.value[0].start_mark
    line = text.splitlines()[first.line]
    dash = line.rfind("-", 0, first.column)
    if dash < 0 or line[:dash].strip():
        return None
    block = "".join(" " * dash + row if row.strip() else row for row in _dump([scenario]).splitlines(keepends=True))
    head = text[: items.end_mark.index].rstrip("\r\n")
    return head + "\n" + block + text[items.end_mark.index :].lstrip("\r\n")


def _only_comments(text: str) -> bool:
    return all(not row.strip() or row.lstrip().startswith("#") for row in text.splitlines())


def _with_scenario(data: Any, scenario: dict[str, Any]) -> Any:
    """The file's data with ``scenario`` added: ``{..., scenarios: [...]}`` or a bare list, as it was."""
    if isinstance(data, dict):
        return {**data, "scenarios": [*(data.get("scenarios") or []), scenario]}
    return [*(data or []), scenario] if isinstance(data, list) or data is None else {"scenarios": [scenario]}


def _new_text(path: Path, scenario: dict[str, Any], old: str | None, data: Any) -> str:
    if path.suffix.lower() == ".json":
        fresh = {"scenarios": [scenario]}
        return json.dumps(fresh if old is None else _with_scenario(data, scenario), indent=2, ensure_ascii=False) + "\n"
    if old is None:
        return _HEADER.format(name=path.name) + _dump({"scenarios": [scenario]})
    return _appended_text(old, scenario) or _dump(_with_scenario(data, scenario))


def _read(path: Path) -> tuple[str | None, Any, set[str]]:
    """The file's text, its data and its scenario names (None, None, {} when there is no file yet)."""
    if not path.exists():
        return None, None, set()
    try:
        taken = {scenario.name for scenario in load_suite(path)}
    except SuiteError as exc:
        raise SuiteError(f"{path} is not a suite this can add to, so it was left as it is: {exc}") from None
    text = path.read_text(encoding="utf-8")  # load_suite has read it: a regular UTF-8 file, small enough
    data = json.loads(text) if path.suffix.lower() == ".json" else yaml.safe_load(text)
    return text, data, taken


def _replace(path: Path, text: str) -> None:
    """Write ``text`` beside ``path``, check that it loads, then put it in the file's place at once."""
    handle, temporary = tempfile.mkstemp(prefix=".convowidget-", suffix=path.suffix, dir=path.resolve().parent)
    try:
        with os.fdopen(handle, "w", encoding="utf-8", newline="") as file:
            file.write(text)
        load_suite(temporary)  # what replaces the file must load, with every scenario it had
        os.replace(temporary, path)
    finally:
        if os.path.exists(temporary):
            os.unlink(temporary)


def append_scenario(path: Path, turns: list[dict[str, Any]]) -> str:
    """Add a scenario of ``turns`` to the suite file at ``path`` (made when missing); its name.

    Raises ``SuiteError`` when the file is there but is not a suite (it is left untouched),
    ``ConfigurationError`` when it cannot be written.
    """
    old, data, taken = _read(path)
    scenario = {"name": _scenario_name(turns, taken), "turns": turns}
    text = _new_text(path, scenario, old, data)
    if len(text.encode()) > MAX_SUITE_BYTES:
        raise SuiteError(f"{path} would pass {MAX_SUITE_BYTES // 2**20} MiB, more than a suite may hold; start another")
    try:
        _replace(path, text)
    except OSError as exc:
        raise ConfigurationError(f"cannot write {path}: {exc.strerror or exc}; choose another suite_path") from None
    return str(scenario["name"])
