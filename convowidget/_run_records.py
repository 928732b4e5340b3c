"""What one run of a suite records, turn by turn: the records ``run_suite`` fills in.

``TurnResult`` is one turn (its prompt, reply and failed expectations), ``ScenarioResult``
one run of one scenario, ``ScenarioSummary`` a scenario over all its runs (its pass rate
judged against ``min_pass_rate``). They are exported by ``convowidget.results``, whose
``SuiteResult`` holds them, and read by its HTML view. ``percentile`` is the nearest-rank
percentile both use for latency, ``wilson_interval`` the 95% interval of a pass rate.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from .reply import Reply

__all__ = [
    "Measured",
    "ScenarioResult",
    "ScenarioStatus",
    "ScenarioSummary",
    "TurnResult",
    "TurnStatus",
    "latency",
    "percentile",
    "tokens",
    "wilson_interval",
]

TurnStatus = Literal["passed", "failed", "skipped", "interrupted", "not run"]
ScenarioStatus = Literal["passed", "failed", "running", "interrupted", "not run"]
_REPLY_KEYS = ("text", "status", "error", "sources", "handoff", "time_to_first_chunk", "elapsed", "convo_id")
_USAGE_KEYS = ("input_tokens", "output_tokens", "model")  # saved only when the reply carried them


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

    @property
    def input_tokens(self) -> int | None:
        """The tokens the agent's model read for this reply, as the server reported them (None if not)."""
        return self.reply.input_tokens if self.reply is not None else None

    @property
    def output_tokens(self) -> int | None:
        """The tokens the agent's model wrote for this reply, as the server reported them (None if not)."""
        return self.reply.output_tokens if self.reply is not None else None

    def to_dict(self) -> dict[str, Any]:
        reply = None
        if self.reply is not None:
            reply = {key: getattr(self.reply, key) for key in _REPLY_KEYS}
            reply.update({key: getattr(self.reply, key) for key in _USAGE_KEYS if getattr(self.reply, key) is not None})
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
            keys = (*_REPLY_KEYS, *_USAGE_KEYS)
            reply = Reply(**{key: saved[key] for key in keys if key in saved}, prompt=data["prompt"])
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
    min_pass_rate: float | None = None
    """The scenario's threshold (its own, else the suite's): with repeat, the share of runs that must pass."""

    @classmethod
    def planned(
        cls,
        scenario: str,
        run: int,
        turns: Iterable[tuple[str, dict[str, Any]]],
        min_pass_rate: float | None = None,
    ) -> ScenarioResult:
        """A run not started yet: every turn ``not run``."""
        records = [
            TurnResult(scenario, run, number, prompt, expect) for number, (prompt, expect) in enumerate(turns, 1)
        ]
        return cls(scenario, run, records, min_pass_rate=min_pass_rate)

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
            **({} if self.min_pass_rate is None else {"min_pass_rate": self.min_pass_rate}),
            "turns": [turn.to_dict() for turn in self.turns],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ScenarioResult:
        name, run = data["scenario"], data["run"]
        turns = [TurnResult.from_dict(name, run, turn) for turn in data["turns"]]
        elapsed, threshold = data.get("elapsed", 0.0), data.get("min_pass_rate")
        return cls(name, run, turns, data["status"], data.get("convo_id", ""), elapsed, threshold)


class Measured:
    """Timings and tokens over the turns of ``runs``: what a scenario and a whole suite both report."""

    runs: Sequence[ScenarioResult]

    @property
    def turns(self) -> list[TurnResult]:
        return [turn for run in self.runs for turn in run.turns]

    def latency(self) -> dict[str, float | None]:
        """p50 and p95 of the time to first chunk and of the whole reply, in seconds."""
        return latency(self.turns)

    def tokens(self) -> dict[str, int | None]:
        """Input and output tokens summed over the replies (None when no reply reported any)."""
        return tokens(self.turns)


@dataclass(frozen=True)
class ScenarioSummary(Measured):
    """A scenario over all its runs.

    Without ``min_pass_rate`` it passes only when every run passed. With it and more than
    one run, it passes when its passed runs reach that share of its runs (8 of 10 reach
    0.8); with one run the threshold changes nothing, as one run passes or fails whole.
    """

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
    def pass_rate_interval(self) -> tuple[float, float] | None:
        """The 95% Wilson score interval of ``pass_rate``; None when no run finished."""
        return wilson_interval(self.passed_runs, self.finished_runs) if self.finished_runs else None

    @property
    def pass_hat_k(self) -> bool:
        """pass^k: every one of the k runs ran and passed (stricter than a threshold)."""
        return bool(self.runs) and self.passed_runs == len(self.runs)

    @property
    def min_pass_rate(self) -> float | None:
        return self.runs[0].min_pass_rate if self.runs else None

    @property
    def status(self) -> ScenarioStatus:
        statuses = {run.status for run in self.runs}
        judged = self._judged_by_threshold()
        if judged is not None:
            return judged
        undecided = self.min_pass_rate is not None and len(self.runs) > 1  # failed runs may still be enough
        for status in ("failed", "interrupted", "running", "not run"):
            if status in statuses and not (undecided and status == "failed"):
                return "interrupted" if status == "running" else status
        return "passed"

    def _judged_by_threshold(self) -> ScenarioStatus | None:
        """Passed or failed by ``min_pass_rate`` once the runs decide it, else None (no threshold, one run)."""
        threshold = self.min_pass_rate
        if threshold is None or len(self.runs) < 2 or not self.finished_runs:
            return None
        needed = math.ceil(threshold * len(self.runs) - 1e-9)  # 0.8 of 10 is 8, whatever the float says
        if self.passed_runs >= needed:
            return "passed"
        if self.passed_runs + len(self.runs) - self.finished_runs < needed:
            return "failed"  # even if every unfinished run had passed
        return None

    @property
    def failures(self) -> list[str]:
        if len(self.runs) == 1:
            return self.runs[0].failures
        return [f"run {run.run}: {failure}" for run in self.runs for failure in run.failures]

    @property
    def runs_label(self) -> str:
        return f"{self.passed_runs}/{len(self.runs)}"


def latency(turns: Iterable[TurnResult]) -> dict[str, float | None]:
    """p50 and p95 of the time to first chunk and of the whole reply over ``turns``, in seconds."""
    replies = [turn.reply for turn in turns if turn.reply is not None]
    first = [reply.time_to_first_chunk for reply in replies if reply.time_to_first_chunk is not None]
    whole = [reply.elapsed for reply in replies]
    return {
        "first_chunk_p50": percentile(first, 50),
        "first_chunk_p95": percentile(first, 95),
        "reply_p50": percentile(whole, 50),
        "reply_p95": percentile(whole, 95),
    }


def tokens(turns: Iterable[TurnResult]) -> dict[str, int | None]:
    """Input and output tokens summed over the replies that reported them; None where none did."""
    totals: dict[str, int | None] = {"input_tokens": None, "output_tokens": None}
    for turn in turns:
        for key, value in (("input_tokens", turn.input_tokens), ("output_tokens", turn.output_tokens)):
            if value is not None:
                totals[key] = (totals[key] or 0) + value
    return totals


def percentile(values: list[float], q: float) -> float | None:
    """Nearest-rank percentile; None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q / 100 * len(ordered)) - 1)]


def wilson_interval(passed: int, total: int, z: float = 1.96) -> tuple[float, float]:
    """The Wilson score interval of ``passed`` out of ``total`` (95% for z = 1.96), as (low, high).

    With p = passed / total and n = total::

        centre = (p + z²/2n) / (1 + z²/n)
        half   = z / (1 + z²/n) · √(p(1 − p)/n + z²/4n²)

    Unlike p ± z·√(p(1−p)/n) it stays within 0..1 and is not zero-wide at 0/n or n/n,
    so "10 of 10 passed" reads as "at least 72%", not "certainly 100%".
    """
    if total <= 0 or not 0 <= passed <= total:
        raise ValueError(f"expected 0 <= passed <= total and total > 0, got {passed} of {total}")
    p, n, z2 = passed / total, total, z * z
    centre = (p + z2 / (2 * n)) / (1 + z2 / n)
    half = z / (1 + z2 / n) * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n))
    return max(0.0, min(p, centre - half)), min(1.0, max(p, centre + half))  # p is inside, rounding aside
