"""Snapshots: each turn's reply text stored beside the suite, and replies checked against it.

``convowidget test SUITE.yaml --update-snapshots`` writes ``SUITE.snapshots.json`` (one
list of reply texts per scenario, in turn order, meant to be reviewed in git);
``expect: {snapshot: 0.85}`` then passes when the reply is at least that similar to its
stored text (``_similarity``), after every match of the suite's ``volatile`` patterns
(regexes, or the presets ``dates``, ``numbers``, ``ids``) is replaced by a placeholder on
both sides. ``Stored`` is what a turn's ``Expect`` is given to compare with.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ._files import read_text
from ._patterns import PatternTooSlow, check_pattern
from ._similarity import DEFAULT_MIN_SIMILARITY, mask, similarity
from ._suite_checks import json_type, texts
from .errors import ConfigurationError, SuiteError

__all__ = [
    "PRESETS",
    "Stored",
    "read_snapshots",
    "snapshot_failures",
    "snapshot_level",
    "snapshot_path",
    "store_snapshots",
    "volatile_patterns",
    "write_snapshots",
]

PRESETS = {
    "dates": r"\b\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)?\b"
    r"|\b\d{1,2}[/.]\d{1,2}[/.]\d{2,4}\b"
    r"|\b\d{1,2}:\d{2}(?::\d{2})?\b"
    r"|(?i:\b\d{1,2}(?:st|nd|rd|th)?\s+(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\.?(?:\s+\d{4})?\b)"
    r"|(?i:\b(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\.?\s+\d{1,2}(?:st|nd|rd|th)?(?:,?\s+\d{4})?\b)",
    "numbers": r"[-+]?\d[\d,]*(?:\.\d+)?",
    "ids": r"\b[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\b"
    r"|\b(?=[A-Za-z0-9_-]*\d)[A-Za-z]+[-_]?[A-Za-z0-9_-]*\d[A-Za-z0-9_-]*\b",
}
"""Volatile patterns a suite can name: ISO and written dates and times, numbers, ids (UUIDs,
and words mixing letters then digits such as ``CW-1042`` or ``ord_9f3k2``)."""

MOST_BYTES = 50 * 2**20  # a snapshot file: far above any suite's replies


def snapshot_path(suite: str | os.PathLike[str]) -> Path:
    """Where a suite file's snapshots live: ``agent-tests.yaml`` -> ``agent-tests.snapshots.json``."""
    path = Path(suite)
    return path.with_name(f"{path.stem}.snapshots.json")


def volatile_patterns(value: object) -> tuple[str, ...]:
    """A suite's ``volatile``: regexes or preset names, each checked; as written."""
    patterns = texts("volatile", value)
    for pattern in patterns:
        if pattern not in PRESETS:
            check_pattern(pattern, "volatile")
    return patterns


def snapshot_level(value: object) -> float | None:
    """``snapshot``: the least similarity to the stored reply, 0 to 1 (``true``: the default, 0.8)."""
    if value is None or value is False:
        return None
    if value is True:
        return DEFAULT_MIN_SIMILARITY
    if isinstance(value, (int, float)) and 0 <= value <= 1:
        return float(value)
    raise SuiteError(f"snapshot: expected a similarity from 0 to 1 (or true), got {json_type(value)}", key="snapshot")


@dataclass(frozen=True)
class Stored:
    """What a turn's snapshot is compared with: its stored text (None when none was
    stored), the suite's volatile patterns, and whether the run is updating snapshots
    (then nothing is compared)."""

    text: str | None
    volatile: tuple[str, ...] = ()
    updating: bool = False
    where: str = "the suite's snapshots file"


def snapshot_failures(level: float, stored: Stored | None, reply_text: str) -> list[str]:
    """Why a reply does not match its snapshot at ``level``, as sentences; empty when it does."""
    if stored is not None and stored.updating:
        return []
    if stored is None or stored.text is None:
        return [
            f"no snapshot is stored for this turn in {stored.where if stored else 'a snapshots file'}; "
            "run convowidget test SUITE --update-snapshots and review the file"
        ]
    patterns = [PRESETS.get(pattern, pattern) for pattern in stored.volatile]
    try:
        score = similarity(mask(reply_text, patterns), mask(stored.text, patterns))
    except PatternTooSlow as exc:
        return [str(exc)]
    if score >= level:
        return []
    return [
        f"expected the reply to be at least {level:.0%} similar to its snapshot; it is {int(score * 100)}% "
        f"(snapshot: {_short(stored.text)!r})"
    ]


def read_snapshots(path: Path) -> dict[str, list[str | None]]:
    """A snapshots file's texts by scenario name ({} when there is none); ``SuiteError`` when unreadable."""
    try:
        data: Any = json.loads(read_text(path, most_bytes=MOST_BYTES, what="a snapshots file"))
    except FileNotFoundError:
        return {}
    except (OSError, UnicodeDecodeError, ValueError, RecursionError, ConfigurationError) as exc:
        raise SuiteError(f"cannot read the snapshots {path.name}: {exc}") from None
    scenarios = data.get("scenarios") if isinstance(data, Mapping) else None
    if not isinstance(scenarios, Mapping) or not all(
        isinstance(texts, list) and all(text is None or isinstance(text, str) for text in texts)
        for texts in scenarios.values()
    ):
        raise SuiteError(
            f"{path.name}: expected {{'scenarios': {{name: [reply text or null, ...]}}}}; "
            "write it again with --update-snapshots"
        )
    return {str(name): list(texts) for name, texts in scenarios.items()}


def write_snapshots(path: Path, suite: str, scenarios: Mapping[str, Sequence[str | None]]) -> None:
    """Write the snapshots file: one list of reply texts per scenario, readable in a diff."""
    data = {"suite": suite, "scenarios": {name: list(texts) for name, texts in scenarios.items()}}
    temporary = path.with_name(f".{path.name}.tmp")
    temporary.write_text(json.dumps(data, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    os.replace(temporary, path)


def store_snapshots(suite_file: str | os.PathLike[str], suite: str, runs: Iterable[Any]) -> Path:
    """Store each scenario's first run's reply texts (a run's ``ScenarioResult``) beside the suite file."""
    texts = {run.scenario: [t.reply.text if t.reply else None for t in run.turns] for run in runs if run.run == 1}
    path = snapshot_path(suite_file)
    write_snapshots(path, suite, texts)
    return path


def _short(text: str, limit: int = 80) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
