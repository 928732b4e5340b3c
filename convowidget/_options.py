"""Checks of the options people pass, in one place, so that every argument is judged alike.

The ``is_*`` predicates say whether a value is a number, a whole number or a positive
number of seconds (True and False are never numbers here, whatever Python says); a module
with wording of its own, such as a suite file's, builds its message on them. ``whole``,
``seconds``, ``optional_seconds`` and ``finite_number`` check and return the value, or raise
``ConfigurationError`` reading ``name: expected <wanted>, got <value>``.
"""

from __future__ import annotations

import math
from typing import TypeGuard

from .errors import ConfigurationError

__all__ = [
    "finite_number",
    "is_finite",
    "is_number",
    "is_positive_seconds",
    "is_whole",
    "optional_seconds",
    "seconds",
    "whole",
]


def is_number(value: object) -> TypeGuard[int | float]:
    """An int or a float, and not a bool."""
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def is_whole(value: object) -> TypeGuard[int]:
    """An int, and not a bool."""
    return isinstance(value, int) and not isinstance(value, bool)


def is_finite(value: object) -> TypeGuard[int | float]:
    """A number that is neither infinite nor NaN."""
    return is_number(value) and math.isfinite(value)


def is_positive_seconds(value: object) -> TypeGuard[int | float]:
    """A finite number above 0."""
    return is_finite(value) and value > 0


def whole(name: str, value: object, *, least: int, most: int | None = None, wanted: str | None = None) -> int:
    """``value`` if it is a whole number from ``least`` to ``most`` (no upper bound when None)."""
    if is_whole(value) and value >= least and (most is None or value <= most):
        return value
    raise ConfigurationError(f"{name}: expected {wanted or f'a whole number of at least {least}'}, got {value!r}")


def seconds(
    name: str, value: object, *, most: float | None = None, wanted: str = "a positive, finite number of seconds"
) -> float:
    """``value`` as a float if it is a finite number of seconds above 0 (and at most ``most``)."""
    if is_positive_seconds(value) and (most is None or value <= most):
        return float(value)
    raise ConfigurationError(f"{name}: expected {wanted}, got {value!r}")


def optional_seconds(name: str, value: object) -> float | None:
    """None, or ``value`` checked by ``seconds``."""
    return None if value is None else seconds(name, value, wanted="a positive, finite number of seconds or None")


def finite_number(name: str, value: object, *, least: float, wanted: str) -> float:
    """``value`` as a float if it is a finite number of at least ``least``."""
    if is_finite(value) and value >= least:
        return float(value)
    raise ConfigurationError(f"{name}: expected {wanted}, got {value!r}")
