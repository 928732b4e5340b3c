"""Expectations on what a reply carried besides its text, checked as strictly as a suite file.

``buttons_include`` (button names), ``ui_includes`` (message types: form, input, card...),
``tool_called`` (a tool's name, or ``{name, input_contains}``), ``model``,
``max_output_tokens``, ``not_regex`` and ``similar_to`` with ``min_similarity``. The
``*_wanted`` readers raise ``SuiteError`` naming the key, at load time; ``carried_failures``
says in sentences why a reply fails them. ``Expect`` holds the values and calls both.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from ._offered import UI_KINDS, offered_blocks, offered_buttons, ui_kind
from ._patterns import PatternTooSlow, check_pattern, search
from ._similarity import DEFAULT_MIN_SIMILARITY, similarity
from ._suite_checks import json_type, texts
from .errors import SuiteError
from .reply import Reply

__all__ = ["Carried", "ToolWanted", "carried_failures", "tools_wanted", "ui_types_wanted"]

Fold = Callable[[str], str]


@dataclass(frozen=True)
class ToolWanted:
    """A tool the reply must have called; ``input_contains`` is text found in its input's JSON,
    or a mapping of keys the input must hold (text values contained, others equal)."""

    name: str
    input_contains: str | Mapping[str, Any] | None = None

    def to_value(self) -> Any:
        """As a suite file writes it: the name alone, or ``{name, input_contains}``."""
        if self.input_contains is None:
            return self.name
        return {"name": self.name, "input_contains": self.input_contains}


def _tool(value: object) -> ToolWanted:
    if isinstance(value, ToolWanted):
        return value
    if isinstance(value, str):
        return ToolWanted(texts("tool_called", value)[0])
    if not isinstance(value, Mapping):
        raise SuiteError(
            f"tool_called: expected a tool's name or {{name, input_contains}}, got {json_type(value)}",
            key="tool_called",
        )
    for key in value:
        if key not in ("name", "input_contains"):
            raise SuiteError(f"tool_called: unknown key {key!r} (allowed: name, input_contains)", key="tool_called")
    if not isinstance(value.get("name"), str) or not value["name"].strip():
        raise SuiteError("tool_called: name: expected the tool's name as text", key="tool_called")
    wanted = value.get("input_contains")
    if wanted is not None and not (
        (isinstance(wanted, str) and wanted.strip()) or (isinstance(wanted, Mapping) and wanted)
    ):
        got = "empty" if isinstance(wanted, (str, Mapping)) else json_type(wanted)
        raise SuiteError(
            f"tool_called: input_contains: expected text or a mapping of input keys, got {got}", key="tool_called"
        )
    return ToolWanted(value["name"], dict(wanted) if isinstance(wanted, Mapping) else wanted)


def tools_wanted(value: object) -> tuple[ToolWanted, ...]:
    """``tool_called``: one tool (a name or ``{name, input_contains}``) or a list of them."""
    items = value if isinstance(value, (list, tuple)) else [] if value is None else [value]
    return tuple(_tool(item) for item in items)


def ui_types_wanted(value: object) -> tuple[str, ...]:
    """``ui_includes``: message types the panel can draw, as written."""
    names = texts("ui_includes", value)
    for name in names:
        if ui_kind(name) is None:
            known = "form, input, card, carousel, iFrame, choice, image, text, notice"
            raise SuiteError(f"ui_includes: {name!r} is not a message type (known: {known})", key="ui_includes")
    return names


@dataclass(frozen=True)
class Carried:
    """The carried-content expectations of one turn, read from their suite-file values."""

    buttons_include: tuple[str, ...] = ()
    ui_includes: tuple[str, ...] = ()
    tool_called: tuple[ToolWanted, ...] = ()
    model: str | None = None
    max_output_tokens: int | None = None
    not_regex: tuple[str, ...] = ()
    similar_to: str | None = None
    min_similarity: float | None = None

    @classmethod
    def read(cls, values: Mapping[str, Any]) -> Carried:
        """Check each value as a suite file gives it (or Python: a set, a generator); ``SuiteError`` names the key."""
        values = {key: _listed(value) for key, value in values.items()}
        not_regex = texts("not_regex", values.get("not_regex", ()))
        for pattern in not_regex:
            check_pattern(pattern, "not_regex")
        model = values.get("model")
        if model is not None and not (isinstance(model, str) and model.strip()):
            raise SuiteError(f"model: expected the model's name as text, got {json_type(model)}", key="model")
        tokens = values.get("max_output_tokens")
        if tokens is not None and (isinstance(tokens, bool) or not isinstance(tokens, int) or tokens < 0):
            raise SuiteError(
                f"max_output_tokens: expected a whole number, got {json_type(tokens)}", key="max_output_tokens"
            )
        similar_to, least = values.get("similar_to"), values.get("min_similarity")
        if similar_to is not None and not (isinstance(similar_to, str) and similar_to.strip()):
            got = "an empty text" if isinstance(similar_to, str) else json_type(similar_to)
            raise SuiteError(f"similar_to: expected the text the reply should resemble, got {got}", key="similar_to")
        if least is not None:
            if similar_to is None:
                raise SuiteError("min_similarity: give similar_to too (the text to compare with)", key="min_similarity")
            if isinstance(least, bool) or not isinstance(least, (int, float)) or not 0 <= least <= 1:
                raise SuiteError(
                    f"min_similarity: expected a number from 0 to 1, got {json_type(least)}", key="min_similarity"
                )
            least = float(least)
        return cls(
            texts("buttons_include", values.get("buttons_include", ())),
            ui_types_wanted(values.get("ui_includes", ())),
            tools_wanted(values.get("tool_called")),
            model,
            tokens,
            not_regex,
            similar_to,
            least,
        )

    def to_dict(self) -> dict[str, Any]:
        """The expectations set, as suite-file keys."""
        out: dict[str, Any] = {}
        for key in ("buttons_include", "ui_includes", "not_regex"):
            if getattr(self, key):
                out[key] = list(getattr(self, key))
        if self.tool_called:
            tools = [tool.to_value() for tool in self.tool_called]
            out["tool_called"] = tools[0] if len(tools) == 1 else tools
        for key in ("model", "max_output_tokens", "similar_to", "min_similarity"):
            if getattr(self, key) is not None:
                out[key] = getattr(self, key)
        return out


def _listed(value: object) -> object:
    """A set or generator from Python code as a list; anything else as it is."""
    if isinstance(value, Iterable) and not isinstance(value, (str, list, tuple, Mapping)):
        return list(value)
    return value


def carried_failures(wanted: Carried, reply: Reply, case_sensitive: bool) -> list[str]:
    """Why ``reply`` fails ``wanted``, as sentences; empty when it does not.

    Names, types and texts are compared ignoring case unless ``case_sensitive``.
    """
    found: list[str] = []
    fold: Fold = (lambda text: text) if case_sensitive else str.casefold
    if wanted.buttons_include or wanted.ui_includes:
        blocks = offered_blocks(reply.ui_turn)
        found += _button_failures(wanted.buttons_include, offered_buttons(blocks), fold)
        found += _ui_failures(wanted.ui_includes, [block["kind"] for block in blocks])
    for tool in wanted.tool_called:
        found += _tool_failures(tool, reply, fold)
    if wanted.model is not None and fold(reply.model or "") != fold(wanted.model):
        came = f"it came from {_short(reply.model)!r}" if reply.model else "the reply did not say which model answered"
        found.append(f"expected the model {wanted.model!r}; {came}")
    limit = wanted.max_output_tokens
    if limit is not None and (reply.output_tokens is None or reply.output_tokens > limit):
        used = "the reply reported no count" if reply.output_tokens is None else f"it used {reply.output_tokens:,}"
        found.append(f"expected at most {limit:,} output tokens; {used}")
    for pattern in wanted.not_regex:
        try:
            match = search(pattern, reply.text)
        except PatternTooSlow as exc:
            found.append(str(exc))
            continue
        if match is not None:
            found.append(f"expected the reply not to match the regex /{pattern}/; it does: {_short(match.group(0))!r}")
    if wanted.similar_to is not None:
        least = DEFAULT_MIN_SIMILARITY if wanted.min_similarity is None else wanted.min_similarity
        score = similarity(reply.text, wanted.similar_to, case_sensitive=case_sensitive)
        if score < least:
            found.append(
                f"expected the reply to be at least {least:.0%} similar to {_short(wanted.similar_to)!r}; "
                f"it is {math.floor(score * 100)}%"  # never rounded up to the threshold it missed
            )
    return found


def _button_failures(names: tuple[str, ...], buttons: list[dict[str, str]], fold: Fold) -> list[str]:
    labels = [button["label"] for button in buttons]
    folded = {fold(label.strip()) for label in labels}
    shown = ", ".join(repr(_short(label, 40)) for label in labels[:10]) or "none"
    return [
        f"expected a button named {_short(name)!r}; the buttons were: {shown}"
        for name in names
        if fold(name.strip()) not in folded
    ]


def _ui_failures(names: tuple[str, ...], kinds: list[str]) -> list[str]:
    held = ", ".join(dict.fromkeys(kinds)) or "no rich messages"
    return [
        f"expected a {name} message in the reply; it held: {held}"
        for name in names
        if UI_KINDS[name.strip().casefold()] not in kinds
    ]


def _tool_failures(tool: ToolWanted, reply: Reply, fold: Fold) -> list[str]:
    calls = [call for call in reply.tool_calls if fold(call.name) == fold(tool.name)]
    if not calls:
        called = ", ".join(dict.fromkeys(repr(call.name) for call in reply.tool_calls)) or "none"
        return [f"expected a call to the tool {tool.name!r}; the tools called were: {called}"]
    if tool.input_contains is None or any(_input_holds(call.input, tool.input_contains, fold) for call in calls):
        return []
    wanted, given = _short(_json(tool.input_contains)), _short(_json(calls[-1].input))
    return [f"expected a call to {tool.name!r} with input containing {wanted}; its input was {given}"]


def _input_holds(actual: Any, wanted: Any, fold: Fold) -> bool:
    """Text: found in the input (its JSON for anything but text); a mapping: each key held."""
    if isinstance(wanted, str):
        return fold(wanted) in fold(actual if isinstance(actual, str) else _json(actual))
    if isinstance(wanted, Mapping):
        return isinstance(actual, Mapping) and all(
            key in actual and _input_holds(actual[key], value, fold) for key, value in wanted.items()
        )
    return isinstance(actual, bool) == isinstance(wanted, bool) and bool(actual == wanted)


def _json(value: Any) -> str:
    try:
        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    except (TypeError, ValueError):
        return repr(value)


def _short(value: Any, limit: int = 80) -> str:
    text = str(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"
