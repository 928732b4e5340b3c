"""What one run of a suite records, turn by turn: the records ``run_suite`` fills in.

``TurnResult`` is one turn (its prompt, reply and failed expectations), ``ScenarioResult``
one run of one scenario, ``ScenarioSummary`` a scenario over all its runs. They are
exported by ``convowidget.results``, whose ``SuiteResult`` holds them, and read by its
HTML view. ``percentile`` is the nearest-rank percentile both use for latency.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Literal

from .reply import Reply

__all__ = ["ScenarioResult", "ScenarioStatus", "ScenarioSummary", "TurnResult", "TurnStatus", "percentile"]

TurnStatus = Literal["passed", "failed", "skipped", "interrupted", "not run"]
ScenarioStatus = Literal["passed", "failed", "running", "interrupted", "not run"]
_REPLY_KEYS = ("text", "status", "error", "sources", "handoff", "time_to_first_chunk", "elapsed", "convo_id")


@dataclass
class TurnResult:
    """One turn of one run: the prompt, the reply (None when it was not sent) and what failed."""

    scenario: str
    run: int
    turn: int
    prompt: str
    expect: dict[str, Any] = field(default_factory=dict)
    status: TurnStatus = "not run"
    failures: list[str] = field(default_factory=list)
    reply: Reply | None = None

    @property
    def passed(self) -> bool:
        return self.status == "passed"

    @property
    def text(self) -> str:
        return self.reply.text if self.reply is not None else ""

    @property
    def time_to_first_chunk(self) -> float | None:
        return self.reply.time_to_first_chunk if self.reply is not None else None

    @property
    def elapsed(self) -> float | None:
        return self.reply.elapsed if self.reply is not None else None

    def to_dict(self) -> dict[str, Any]:
        reply = None if self.reply is None else {key: getattr(self.reply, key) for key in _REPLY_KEYS}
        return {
            "turn": self.turn,
            "prompt": self.prompt,
            "expect": self.expect,
            "status": self.status,
            "failures": list(self.failures),
            "reply": reply,
        }

    @classmethod
    def from_dict(cls, scenario: str, run: int, data: dict[str, Any]) -> TurnResult:
        saved = data.get("reply")
        reply = None
        if isinstance(saved, dict):
            reply = Reply(**{key: saved[key] for key in _REPLY_KEYS if key in saved}, prompt=data["prompt"])
        return cls(
            scenario,
            run,
            data["turn"],
            data["prompt"],
            data.get("expect") or {},
            data["status"],
            data["failures"],
            reply,
        )


@dataclass
class ScenarioResult:
    """One run of one scenario (one conversation)."""

    scenario: str
    run: int
    turns: list[TurnResult]
    status: ScenarioStatus = "not run"
    convo_id: str = ""
    elapsed: float = 0.0

    @classmethod
    def planned(cls, scenario: str, run: int, turns: Iterable[tuple[str, dict[str, Any]]]) -> ScenarioResult:
        """A run not started yet: every turn ``not run``."""
        records = [
            TurnResult(scenario, run, number, prompt, expect) for number, (prompt, expect) in enumerate(turns, 1)
        ]
        return cls(scenario, run, records)

    @property
    def passed(self) -> bool:
        return self.status == "passed"

    @property
    def failures(self) -> list[str]:
        """Every failed expectation of this run, as ``turn N: sentence``."""
        return [f"turn {turn.turn}: {failure}" for turn in self.turns for failure in turn.failures]

    def to_dict(self) -> dict[str, Any]:
        return {
            "scenario": self.scenario,
            "run": self.run,
            "status": self.status,
            "convo_id": self.convo_id,
            "elapsed": self.elapsed,
            "turns": [turn.to_dict() for turn in self.turns],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ScenarioResult:
        name, run = data["scenario"], data["run"]
        turns = [TurnResult.from_dict(name, run, turn) for turn in data["turns"]]
        return cls(name, run, turns, data["status"], data.get("convo_id", ""), data.get("elapsed", 0.0))


@dataclass(frozen=True)
class ScenarioSummary:
    """A scenario over all its runs: passed only when every run passed."""

    name: str
    runs: tuple[ScenarioResult, ...]

    @property
    def passed_runs(self) -> int:
        return sum(run.status == "passed" for run in self.runs)

    @property
    def finished_runs(self) -> int:
        return sum(run.status in ("passed", "failed") for run in self.runs)

    @property
    def pass_rate(self) -> float | None:
        """Passed runs over finished runs; None when no run finished."""
        return self.passed_runs / self.finished_runs if self.finished_runs else None

    @property
    def status(self) -> ScenarioStatus:
        statuses = {run.status for run in self.runs}
        for status in ("failed", "interrupted", "running", "not run"):
            if status in statuses:
                return "interrupted" if status == "running" else status
        return "passed"

    @property
    def failures(self) -> list[str]:
        if len(self.runs) == 1:
            return self.runs[0].failures
        return [f"run {run.run}: {failure}" for run in self.runs for failure in run.failures]

    @property
    def runs_label(self) -> str:
        return f"{self.passed_runs}/{len(self.runs)}"


def percentile(values: list[float], q: float) -> float | None:
    """Nearest-rank percentile; None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q / 100 * len(ordered)) - 1)]
