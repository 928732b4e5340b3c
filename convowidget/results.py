"""What a suite run found, turn by turn, and the ways to look at it.

``SuiteResult`` holds the records ``run_suite`` filled in (``TurnResult``,
``ScenarioResult``, ``ScenarioSummary``, from ``_run_records``), counts passed and failed
scenarios (each judged against its ``min_pass_rate`` when repeated), and exports them:
JSON (to compare with a later run, or to re-run what failed), JUnit XML (for CI,
``_junit``), a pandas DataFrame, and an HTML view for notebooks (``_results_html``).
``compare`` returns a ``Comparison``, and ``run_suite(suite, clients=...)`` a
``MultiResult`` (both from ``_comparison``), whose views put two runs side by side.
The views are static HTML with no script: they need no widget model, so they survive
saved notebooks, nbviewer and CI artifacts. Agent text is hostile input: the views render
its markdown through the allowlist of ``_markdown`` (markdown-it-py, imported only when a
view is drawn).
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

from ._comparison import Comparison, MultiResult
from ._dataframe import to_dataframe
from ._files import read_text
from ._junit import junit_xml
from ._options import is_finite, is_whole
from ._run_records import Measured, ScenarioResult, ScenarioSummary, TurnResult, wilson_interval
from ._urls import safe_url
from .errors import ConfigurationError

__all__ = [
    "Comparison",
    "MultiResult",
    "ScenarioResult",
    "ScenarioSummary",
    "SuiteResult",
    "TurnResult",
    "wilson_interval",
]

_FORMAT = "convowidget-suite-result"
_MOST_SECONDS = 1e10  # a saved time (a duration, or a timestamp up to the year 2286) is below this
_MOST_TOKENS = 10**12  # a saved token count is below this


def _refuse_constant(name: str) -> None:
    raise ValueError(f"{name} is not a number a result holds")


def _dicts(items: object) -> list[dict[str, Any]]:
    return [item for item in items if isinstance(item, dict)] if isinstance(items, list) else []


def _check_values(data: dict[str, Any]) -> None:
    """Raise ``ValueError`` unless every saved value is one a run could produce.

    Times are seconds from 0 to ``_MOST_SECONDS``, token counts whole numbers from 0 to
    ``_MOST_TOKENS``, a ``min_pass_rate`` a share from 0 to 1, names and addresses text.
    """
    times = [("started_at", data.get("started_at")), ("elapsed", data.get("elapsed"))]
    counts: list[tuple[str, object]] = []
    texts = [("agent_id", data.get("agent_id")), ("url", data.get("url"))]
    for run in _dicts(data.get("runs")):
        times.append(("a run's elapsed", run.get("elapsed")))
        rate = run.get("min_pass_rate")
        if rate is not None and not (is_finite(rate) and 0 <= rate <= 1):
            raise ValueError(f"min_pass_rate: expected a number from 0 to 1, got {rate!r}")
        replies = [turn["reply"] for turn in _dicts(run.get("turns")) if isinstance(turn.get("reply"), dict)]
        for reply in replies:
            times.extend((f"a reply's {key}", reply.get(key)) for key in ("elapsed", "time_to_first_chunk"))
            counts.extend((f"a reply's {key}", reply.get(key)) for key in ("input_tokens", "output_tokens"))
            texts.append(("a reply's model", reply.get("model")))
    for name, value in times:
        if value is not None and not (is_finite(value) and 0 <= value <= _MOST_SECONDS):
            raise ValueError(f"{name}: expected a number of seconds, got {value!r}")
    for name, value in counts:
        if value is not None and not (is_whole(value) and 0 <= value <= _MOST_TOKENS):
            raise ValueError(f"{name}: expected a count of tokens, got {value!r}")
    for name, value in texts:
        if value is not None and not isinstance(value, str):
            raise ValueError(f"{name}: expected text, got {type(value).__name__}")


class SuiteResult(Measured):
    """The outcome of ``run_suite``: one ``ScenarioResult`` per scenario and run.

    ``passed`` and ``failed`` count scenarios: a scenario repeated N times passes when
    all N runs pass, or, with a ``min_pass_rate``, when that share of them did.
    ``pass_rate`` is over runs, with ``pass_rate_interval`` its 95% Wilson interval;
    ``pass_hat_k`` is the share of scenarios whose every run passed (pass^k). In a
    notebook it shows as a table, failing scenarios first, each row expanding to its
    conversation. ``agent_id`` and ``url`` (without secrets) say which agent answered.
    """

    def __init__(
        self,
        suite: str,
        runs: list[ScenarioResult],
        *,
        repeat: int = 1,
        interrupted: bool = False,
        elapsed: float = 0.0,
        started_at: float | None = None,
        agent_id: str | None = None,
        url: str | None = None,
    ) -> None:
        self.suite = suite
        self.runs = runs
        self.repeat = repeat
        self.interrupted = interrupted
        self.elapsed = elapsed
        self.started_at = time.time() if started_at is None else started_at
        self.agent_id = agent_id
        self.url = None if url is None else safe_url(url)

    # ------------------------------------------------------------------ counts

    @property
    def scenarios(self) -> list[ScenarioSummary]:
        """One summary per scenario, in suite order."""
        grouped: dict[str, list[ScenarioResult]] = {}
        for run in self.runs:
            grouped.setdefault(run.scenario, []).append(run)
        return [ScenarioSummary(name, tuple(sorted(runs, key=lambda r: r.run))) for name, runs in grouped.items()]

    @property
    def passed(self) -> int:
        """Scenarios that passed: every run, or ``min_pass_rate`` of them."""
        return sum(summary.status == "passed" for summary in self.scenarios)

    @property
    def failed(self) -> int:
        """Scenarios that failed: a run failed (or, with ``min_pass_rate``, too many did)."""
        return sum(summary.status == "failed" for summary in self.scenarios)

    @property
    def not_run(self) -> int:
        """Scenarios an interrupt kept from finishing (neither passed nor failed)."""
        return len(self.scenarios) - self.passed - self.failed

    @property
    def pass_rate(self) -> float:
        """Passed runs over finished runs (0.0 when none finished)."""
        passed, finished = self._finished_runs()
        return passed / finished if finished else 0.0

    @property
    def pass_rate_interval(self) -> tuple[float, float] | None:
        """The 95% Wilson score interval of ``pass_rate`` as (low, high); None when no run finished."""
        passed, finished = self._finished_runs()
        return wilson_interval(passed, finished) if finished else None

    @property
    def pass_hat_k(self) -> float | None:
        """pass^k: the share of scenarios whose every run (k = ``repeat``) passed; None when none finished.

        Scenarios an interrupt left unfinished are not counted.
        """
        done = [summary for summary in self.scenarios if summary.finished_runs == len(summary.runs)]
        return sum(summary.pass_hat_k for summary in done) / len(done) if done else None

    def _finished_runs(self) -> tuple[int, int]:
        finished = [run for run in self.runs if run.status in ("passed", "failed")]
        return sum(run.status == "passed" for run in finished), len(finished)

    @property
    def ok(self) -> bool:
        """True when every scenario ran and passed."""
        return self.failed == 0 and self.not_run == 0

    def __repr__(self) -> str:
        parts = [f"{self.passed} passed", f"{self.failed} failed"]
        if self.not_run:
            parts.append(f"{self.not_run} not run")
        parts.append(f"{self.pass_rate:.0%} of runs passed")
        parts.append(f"{self.elapsed:.1f} s")
        flag = ", interrupted" if self.interrupted else ""
        return f"SuiteResult({self.suite!r}: {', '.join(parts)}{flag})"

    # ------------------------------------------------------------------ exports

    def _summary(self) -> dict[str, Any]:
        return {
            "passed": self.passed,
            "failed": self.failed,
            "not_run": self.not_run,
            "pass_rate": self.pass_rate,
            "pass_rate_interval": _pair(self.pass_rate_interval),
            "pass_hat_k": self.pass_hat_k,
            **self.tokens(),
            **self.latency(),
        }

    def to_dict(self) -> dict[str, Any]:
        """Everything as JSON-ready data: the runs, and a summary of the suite and of each scenario."""
        return {
            "format": _FORMAT,
            "version": 1,
            "suite": self.suite,
            "agent_id": self.agent_id,
            "url": self.url,
            "started_at": self.started_at,
            "elapsed": self.elapsed,
            "repeat": self.repeat,
            "interrupted": self.interrupted,
            "summary": self._summary(),
            "scenarios": [_scenario_row(summary) for summary in self.scenarios],
            "runs": [run.to_dict() for run in self.runs],
        }

    def to_json(self, path: str | os.PathLike[str] | None = None, *, indent: int | None = 2) -> str:
        """The whole result as JSON (replies without their raw events); also written to ``path``."""
        text = json.dumps(self.to_dict(), indent=indent, ensure_ascii=False)
        if path is not None:
            Path(path).write_text(text + "\n", encoding="utf-8")
        return text

    @classmethod
    def from_json(cls, text: str) -> SuiteResult:
        """A result saved by ``to_json``, e.g. the last CI run's, to ``compare`` with.

        Anything else raises ``ConfigurationError``: JSON nested too deeply, NaN, and
        values no run could produce (a time of ``1e308``, a token count of -1). The
        summaries are worked out again from the runs, never read.
        """
        try:
            data = json.loads(text, parse_constant=_refuse_constant)
            if not isinstance(data, dict) or data.get("format") != _FORMAT:
                raise ValueError("not a convowidget suite result")
            _check_values(data)
            runs = [ScenarioResult.from_dict(run) for run in data["runs"]]
            return cls(
                data["suite"],
                runs,
                repeat=data.get("repeat", 1),
                interrupted=data.get("interrupted", False),
                elapsed=data.get("elapsed", 0.0),
                started_at=data.get("started_at"),
                agent_id=data.get("agent_id"),
                url=data.get("url"),
            )
        except (ValueError, KeyError, TypeError) as exc:
            raise ConfigurationError(f"cannot read a suite result: {exc}") from None
        except RecursionError:
            raise ConfigurationError("cannot read a suite result: lists or objects nested too deeply") from None

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> SuiteResult:
        """Read a result written by ``to_json(path)`` (only a regular file)."""
        try:
            text = read_text(path)
        except (OSError, UnicodeDecodeError, ConfigurationError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else exc
            raise ConfigurationError(f"cannot read a suite result from {path}: {reason}") from None
        return cls.from_json(text)

    def to_dataframe(self, by: str = "turn") -> Any:
        """A pandas DataFrame (needs pandas).

        ``by="turn"`` (the default): one row per scenario turn and run, with the prompt,
        verdict, failures, reply text, timings, tokens and model. ``by="scenario"``: one
        row per scenario, with its runs, pass rate and 95% interval, pass^k, threshold,
        tokens and p50/p95 timings.
        """
        if by == "scenario":
            return to_dataframe([_scenario_row(summary) for summary in self.scenarios])
        if by != "turn":
            raise ConfigurationError(f"by: expected 'turn' or 'scenario', got {by!r}")
        return to_dataframe([_turn_row(turn) for turn in self.turns])

    def to_junit(self, path: str | os.PathLike[str] | None = None) -> str:
        """JUnit XML: one testcase per scenario, its failures listed and its measures as
        ``<properties>`` (as for the suite); also written to ``path``."""
        text = junit_xml([(self.suite, self)])
        if path is not None:
            Path(path).write_text(text, encoding="utf-8")
        return text

    def compare(
        self, previous: SuiteResult | str | os.PathLike[str], *, labels: tuple[str, str] | None = None
    ) -> Comparison:
        """What changed since ``previous`` (a result, or the path of its ``to_json`` file), by scenario name.

        The ``Comparison`` shows in a notebook as the two runs side by side, turn by turn,
        only the differences at first; ``labels`` name the two columns (previous first).
        """
        if not isinstance(previous, SuiteResult):
            previous = SuiteResult.load(previous)
        return Comparison.between(previous, self, labels=labels or ("previous run", "this run"))

    def to_html(self, path: str | os.PathLike[str] | None = None) -> str:
        """A standalone HTML page of the results view (for a CI artifact); also written to ``path``.

        It follows the reader's light or dark preference, and its Content-Security-Policy
        runs no script and loads nothing but https: images, whatever the replies hold.
        """
        from ._results_html import page

        text = page(f"{self.suite}: convowidget results", self._repr_html_())
        if path is not None:
            Path(path).write_text(text, encoding="utf-8")
        return text

    def _repr_html_(self) -> str:
        from ._results_html import view  # when drawn: the view and markdown-it-py stay unloaded until then

        return view(self)


def _pair(interval: tuple[float, float] | None) -> list[float] | None:
    return None if interval is None else list(interval)


def _scenario_row(summary: ScenarioSummary) -> dict[str, Any]:
    """A scenario's verdict and measures, as ``to_dict`` and ``to_dataframe(by="scenario")`` give them."""
    return {
        "scenario": summary.name,
        "status": summary.status,
        "runs": len(summary.runs),
        "passed_runs": summary.passed_runs,
        "pass_rate": summary.pass_rate,
        "pass_rate_interval": _pair(summary.pass_rate_interval),
        "pass_hat_k": summary.pass_hat_k,
        "min_pass_rate": summary.min_pass_rate,
        **summary.tokens(),
        **summary.latency(),
    }


def _turn_row(turn: TurnResult) -> dict[str, Any]:
    reply = turn.reply
    return {
        "scenario": turn.scenario,
        "run": turn.run,
        "turn": turn.turn,
        "prompt": turn.prompt,
        "passed": turn.passed,
        "status": turn.status,
        "failures": "; ".join(turn.failures),
        "reply": turn.text,
        "sources": list(reply.sources) if reply else [],
        "handoff": bool(reply and reply.handoff),
        "time_to_first_chunk": turn.time_to_first_chunk,
        "elapsed": turn.elapsed,
        "input_tokens": turn.input_tokens,
        "output_tokens": turn.output_tokens,
        "model": reply.model if reply else None,
        "convo_id": reply.convo_id if reply else "",
    }
