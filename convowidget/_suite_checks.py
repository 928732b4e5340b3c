"""A suite file's values checked in its own words, raising ``SuiteError`` naming the key.

The checks read values as a suite file holds them (``json_type`` says "text", "a list",
"true/false"), refuse unknown keys with a did-you-mean, and are shared by ``Expect`` and
the suite model.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping, Sequence
from typing import Any

from ._options import is_finite, is_positive_seconds
from .errors import SuiteError

__all__ = ["check_keys", "flag", "json_type", "rate_or_none", "seconds_or_none", "texts"]


def json_type(value: object) -> str:
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


def check_keys(data: Mapping[Any, Any], allowed: Sequence[str], where: str) -> None:
    for key in data:
        if key not in allowed:
            raise _unknown_key(key, allowed, where)


def texts(key: str, value: object) -> tuple[str, ...]:
    """A string or a list of strings, as a tuple; blank strings would always match, so refuse them."""
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, (list, tuple)) or not all(isinstance(item, str) for item in items):
        raise SuiteError(f"{key}: expected text or a list of texts, got {json_type(value)}", key=key)
    if any(not item.strip() for item in items):
        raise SuiteError(f"{key}: an empty text would match any reply; remove it", key=key)
    return tuple(items)


def seconds_or_none(key: str, value: object) -> float | None:
    if value is None:
        return None
    if not is_positive_seconds(value):
        raise SuiteError(f"{key}: expected a positive number of seconds, got {json_type(value)}", key=key)
    return float(value)


def rate_or_none(key: str, value: object) -> float | None:
    """None, or a share from 0 to 1 (``0.8``: 8 runs in 10), as a float."""
    if value is None:
        return None
    if not (is_finite(value) and 0 <= value <= 1):
        raise SuiteError(f"{key}: expected a number from 0 to 1 (0.8 is 8 runs in 10), got {json_type(value)}", key=key)
    return float(value)


def flag(key: str, value: object, *, optional: bool = False) -> Any:
    if (value is None and optional) or isinstance(value, bool):
        return value
    raise SuiteError(f"{key}: expected true or false, got {json_type(value)}", key=key)
