"""Two runs of one suite, scenario by scenario: ``Comparison`` and ``MultiResult``.

``Comparison`` sorts scenarios into what broke, got fixed, still fails... between two
results (a run and an earlier one, or two agents), and shows them side by side, turn by
turn, through ``_compare_html``. ``MultiResult`` is what ``run_suite(suite, clients=...)``
returns: each agent's result by name, compared first against each other. Both read the
results they hold only through what ``results.SuiteResult`` offers (``Results`` of
``_results_html``), so this module sits below it.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ._junit import junit_xml
from ._results_html import Results

__all__ = ["Comparison", "MultiResult"]

_MULTI_FORMAT = "convowidget-multi-result"


@dataclass(frozen=True)
class Comparison:
    """Scenario by scenario, what got better or worse between two runs of a suite.

    The lists hold scenario names; ``notes`` says why for each. ``before`` and ``after``
    are the two results and ``labels`` their names (``("previous run", "this run")``, or
    the agents' names); in a notebook, and in ``to_html()``, the two show side by side.
    """

    fixed: list[str]
    broken: list[str]
    still_failing: list[str]
    still_passing: list[str]
    new: list[str]
    removed: list[str]
    not_run: list[str]
    notes: dict[str, str]
    before: Results | None = field(default=None, compare=False, repr=False)
    after: Results | None = field(default=None, compare=False, repr=False)
    labels: tuple[str, str] = field(default=("previous run", "this run"), compare=False, repr=False)

    @classmethod
    def between(cls, before: Results, after: Results, *, labels: tuple[str, str] | None = None) -> Comparison:
        old = {summary.name: summary for summary in before.scenarios}
        new = {summary.name: summary for summary in after.scenarios}
        groups: dict[str, list[str]] = {key: [] for key in ("fixed", "broken", "still_failing", "still_passing")}
        groups.update(new=[], removed=[name for name in old if name not in new], not_run=[])
        notes: dict[str, str] = {}
        for name, now in new.items():
            was = old.get(name)
            rates = f"{was.runs_label} → {now.runs_label} runs passed" if was and len(now.runs) > 1 else ""
            first = now.failures[0] if now.failures else ""
            if was is None:
                groups["new"].append(name)
                notes[name] = now.status + (f": {first}" if first else "")
            elif "not run" in (now.status, was.status) or "interrupted" in (now.status, was.status):
                groups["not_run"].append(name)
                notes[name] = f"{was.status} → {now.status}"
            else:
                key = {
                    ("failed", "passed"): "fixed",
                    ("passed", "failed"): "broken",
                    ("failed", "failed"): "still_failing",
                }.get((was.status, now.status), "still_passing")
                groups[key].append(name)
                notes[name] = "; ".join(part for part in (rates, first) if part)
        for name in groups["removed"]:
            notes[name] = f"was {old[name].status}"
        return cls(**groups, notes=notes, before=before, after=after, labels=labels or ("previous run", "this run"))

    @property
    def ok(self) -> bool:
        """True when nothing that passed before fails now."""
        return not self.broken

    def sections(self) -> list[tuple[str, list[str]]]:
        """Each group's label and names, worst first (``still passing`` last)."""
        return [
            ("broken", self.broken),
            ("fixed", self.fixed),
            ("still failing", self.still_failing),
            ("new", self.new),
            ("removed", self.removed),
            ("not run", self.not_run),
            ("still passing", self.still_passing),
        ]

    def __repr__(self) -> str:
        counts = [f"{len(names)} {label}" for label, names in self.sections()]
        lines = ["Comparison: " + ", ".join(counts)]
        for label, names in self.sections()[:-1]:
            if names:
                lines.append(f"{label}:")
                lines.extend(
                    f"  {name!r}" + (f": {self.notes[name]}" if self.notes.get(name) else "") for name in names
                )
        return "\n".join(lines)

    def to_html(self, path: str | os.PathLike[str] | None = None) -> str:
        """A standalone HTML page of the side-by-side view (no script); also written to ``path``."""
        from ._compare_html import comparison_page

        return _written(comparison_page(self), path)

    def _repr_html_(self) -> str:
        from ._compare_html import comparison_view

        return comparison_view(self)


class MultiResult(Mapping[str, Results]):
    """One suite run against several agents: each agent's ``SuiteResult`` by its name.

    ``result["A"]`` is agent A's result; ``compare()`` compares the first agent with the
    second (or any two named); in a notebook it shows each agent's totals, then the first
    agent side by side with each other one. ``ok`` is True when every agent passed all.
    """

    def __init__(self, results: Mapping[str, Results]) -> None:
        self._results = dict(results)

    def __getitem__(self, label: str) -> Results:
        return self._results[label]

    def __iter__(self) -> Iterator[str]:
        return iter(self._results)

    def __len__(self) -> int:
        return len(self._results)

    @property
    def ok(self) -> bool:
        return all(result.ok for result in self._results.values()) and not self.interrupted

    @property
    def interrupted(self) -> bool:
        return any(result.interrupted for result in self._results.values())

    def compare(self, first: str | None = None, second: str | None = None) -> Comparison:
        """``first`` (default: the first agent) against ``second`` (default: the next), side by side."""
        labels = list(self._results)
        first = labels[0] if first is None else first
        second = next(label for label in labels if label != first) if second is None else second
        for label in (first, second):
            if label not in self._results:
                raise KeyError(f"no agent named {label!r}; the agents are {', '.join(map(repr, labels))}")
        return Comparison.between(self._results[first], self._results[second], labels=(first, second))

    def comparisons(self) -> list[Comparison]:
        """The first agent compared with each other agent, in order."""
        first, *others = list(self._results)
        return [self.compare(first, other) for other in others]

    def __repr__(self) -> str:
        parts = [f"{label}: {result!r}" for label, result in self._results.items()]
        return "MultiResult(\n  " + ",\n  ".join(parts) + "\n)"

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": _MULTI_FORMAT,
            "version": 1,
            "results": {label: result.to_dict() for label, result in self._results.items()},
        }

    def to_json(self, path: str | os.PathLike[str] | None = None, *, indent: int | None = 2) -> str:
        """Every agent's result as JSON, by name; also written to ``path``."""
        return _written(json.dumps(self.to_dict(), indent=indent, ensure_ascii=False), path, newline=True)

    def to_junit(self, path: str | os.PathLike[str] | None = None) -> str:
        """JUnit XML with one testsuite per agent (named ``suite [agent]``); also written to ``path``."""
        suites = [(f"{result.suite} [{label}]", result) for label, result in self._results.items()]
        return _written(junit_xml(suites), path)

    def to_html(self, path: str | os.PathLike[str] | None = None) -> str:
        """A standalone HTML page of the agents side by side (no script); also written to ``path``."""
        from ._compare_html import multi_page

        return _written(multi_page(self), path)

    def _repr_html_(self) -> str:
        from ._compare_html import multi_view

        return multi_view(self)


def _written(text: str, path: str | os.PathLike[str] | None, *, newline: bool = False) -> str:
    if path is not None:
        Path(path).write_text(text + ("\n" if newline else ""), encoding="utf-8")
    return text
