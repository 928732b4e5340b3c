"""What a suite run found, turn by turn, and the ways to look at it.

``SuiteResult`` holds the records ``run_suite`` filled in (``TurnResult``,
``ScenarioResult``, ``ScenarioSummary``, from ``_run_records``), counts passed and failed
scenarios and exports them: JSON (to compare with a later run), JUnit XML (for CI), a
pandas DataFrame, and an HTML view for notebooks (``_results_html``). The view is static
HTML with no script: it needs no widget model, so it survives saved notebooks, nbviewer
and CI artifacts. Agent text is hostile input: the view renders its markdown through the
allowlist of ``_markdown`` (markdown-it-py, imported only when a view is drawn).
"""

from __future__ import annotations

import html
import json
import os
import re
import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ._dataframe import to_dataframe
from ._files import read_text
from ._options import is_finite
from ._run_records import ScenarioResult, ScenarioSummary, TurnResult, percentile
from .errors import ConfigurationError

__all__ = ["Comparison", "ScenarioResult", "ScenarioSummary", "SuiteResult", "TurnResult"]

_FORMAT = "convowidget-suite-result"


def _xml_text(text: str) -> str:
    """Text XML 1.0 can hold: control characters (and surrogates) become U+FFFD."""
    return re.sub("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]", "\ufffd", text)


_MOST_SECONDS = 1e10  # a saved time (a duration, or a timestamp up to the year 2286) is below this


def _refuse_constant(name: str) -> None:
    raise ValueError(f"{name} is not a number a result holds")


def _dicts(items: object) -> list[dict[str, Any]]:
    return [item for item in items if isinstance(item, dict)] if isinstance(items, list) else []


def _check_times(data: dict[str, Any]) -> None:
    """Raise ``ValueError`` unless every saved time is a number of seconds from 0 to ``_MOST_SECONDS``."""
    times = [("started_at", data.get("started_at")), ("elapsed", data.get("elapsed"))]
    for run in _dicts(data.get("runs")):
        times.append(("a run's elapsed", run.get("elapsed")))
        replies = [turn["reply"] for turn in _dicts(run.get("turns")) if isinstance(turn.get("reply"), dict)]
        times.extend(
            (f"a reply's {key}", reply.get(key)) for reply in replies for key in ("elapsed", "time_to_first_chunk")
        )
    for name, value in times:
        if value is not None and not (is_finite(value) and 0 <= value <= _MOST_SECONDS):
            raise ValueError(f"{name}: expected a number of seconds, got {value!r}")


class SuiteResult:
    """The outcome of ``run_suite``: one ``ScenarioResult`` per scenario and run.

    ``passed`` and ``failed`` count scenarios (a scenario repeated N times passes only
    when all N runs pass); ``pass_rate`` is over runs. In a notebook it shows as a table,
    failing scenarios first, each row expanding to its conversation.
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
    ) -> None:
        self.suite = suite
        self.runs = runs
        self.repeat = repeat
        self.interrupted = interrupted
        self.elapsed = elapsed
        self.started_at = time.time() if started_at is None else started_at

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
        """Scenarios whose every run passed."""
        return sum(summary.status == "passed" for summary in self.scenarios)

    @property
    def failed(self) -> int:
        """Scenarios with at least one failed run."""
        return sum(summary.status == "failed" for summary in self.scenarios)

    @property
    def not_run(self) -> int:
        """Scenarios an interrupt kept from finishing (neither passed nor failed)."""
        return len(self.scenarios) - self.passed - self.failed

    @property
    def pass_rate(self) -> float:
        """Passed runs over finished runs (0.0 when none finished)."""
        finished = [run for run in self.runs if run.status in ("passed", "failed")]
        return sum(run.status == "passed" for run in finished) / len(finished) if finished else 0.0

    @property
    def ok(self) -> bool:
        """True when every scenario ran and passed."""
        return self.failed == 0 and self.not_run == 0

    @property
    def turns(self) -> list[TurnResult]:
        return [turn for run in self.runs for turn in run.turns]

    def latency(self) -> dict[str, float | None]:
        """p50 and p95 of the time to first chunk and of the whole reply, in seconds."""
        first = [t.time_to_first_chunk for t in self.turns if t.time_to_first_chunk is not None]
        whole = [t.elapsed for t in self.turns if t.elapsed is not None]
        return {
            "first_chunk_p50": percentile(first, 50),
            "first_chunk_p95": percentile(first, 95),
            "reply_p50": percentile(whole, 50),
            "reply_p95": percentile(whole, 95),
        }

    def __repr__(self) -> str:
        parts = [f"{self.passed} passed", f"{self.failed} failed"]
        if self.not_run:
            parts.append(f"{self.not_run} not run")
        parts.append(f"{self.pass_rate:.0%} of runs passed")
        parts.append(f"{self.elapsed:.1f} s")
        flag = ", interrupted" if self.interrupted else ""
        return f"SuiteResult({self.suite!r}: {', '.join(parts)}{flag})"

    # ------------------------------------------------------------------ exports

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": _FORMAT,
            "version": 1,
            "suite": self.suite,
            "started_at": self.started_at,
            "elapsed": self.elapsed,
            "repeat": self.repeat,
            "interrupted": self.interrupted,
            "summary": {
                "passed": self.passed,
                "failed": self.failed,
                "not_run": self.not_run,
                "pass_rate": self.pass_rate,
                **self.latency(),
            },
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
        times that are not a number of seconds a run could take (``1e308``).
        """
        try:
            data = json.loads(text, parse_constant=_refuse_constant)
            if not isinstance(data, dict) or data.get("format") != _FORMAT:
                raise ValueError("not a convowidget suite result")
            _check_times(data)
            runs = [ScenarioResult.from_dict(run) for run in data["runs"]]
            return cls(
                data["suite"],
                runs,
                repeat=data.get("repeat", 1),
                interrupted=data.get("interrupted", False),
                elapsed=data.get("elapsed", 0.0),
                started_at=data.get("started_at"),
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

    def to_dataframe(self) -> Any:
        """One row per scenario turn (and run): prompt, passed, failures, reply text, timings; needs pandas."""
        rows = [
            {
                "scenario": turn.scenario,
                "run": turn.run,
                "turn": turn.turn,
                "prompt": turn.prompt,
                "passed": turn.passed,
                "status": turn.status,
                "failures": "; ".join(turn.failures),
                "reply": turn.text,
                "sources": list(turn.reply.sources) if turn.reply else [],
                "handoff": bool(turn.reply and turn.reply.handoff),
                "time_to_first_chunk": turn.time_to_first_chunk,
                "elapsed": turn.elapsed,
                "convo_id": turn.reply.convo_id if turn.reply else "",
            }
            for turn in self.turns
        ]
        return to_dataframe(rows)

    def to_junit(self, path: str | os.PathLike[str] | None = None) -> str:
        """JUnit XML: one testcase per scenario, its failures listed; also written to ``path``."""
        summaries = self.scenarios
        counts = {
            "tests": str(len(summaries)),
            "failures": str(self.failed),
            "errors": "0",
            "skipped": str(self.not_run),
            "time": f"{self.elapsed:.3f}",
        }
        name = _xml_text(self.suite)
        root = ET.Element("testsuites", {"name": name, **counts})
        stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(self.started_at))
        suite = ET.SubElement(root, "testsuite", {"name": name, **counts, "timestamp": stamp})
        for summary in summaries:
            seconds = sum(run.elapsed for run in summary.runs)
            case = ET.SubElement(
                suite, "testcase", {"classname": name, "name": _xml_text(summary.name), "time": f"{seconds:.3f}"}
            )
            failures = summary.failures
            if summary.status == "failed":
                headline = failures[0] if failures else "failed"
                if len(summary.runs) > 1:
                    headline = f"passed {summary.passed_runs} of {len(summary.runs)} runs; {headline}"
                element = ET.SubElement(case, "failure", {"message": _xml_text(headline), "type": "ExpectationFailed"})
                element.text = _xml_text("\n".join(failures))
            elif summary.status != "passed":
                ET.SubElement(case, "skipped", {"message": "not run: the run was interrupted"})
            shown = next((run for run in summary.runs if run.status == "failed"), summary.runs[0])
            ET.SubElement(case, "system-out").text = _xml_text(_transcript(shown))
        ET.indent(root)
        text = '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"
        if path is not None:
            Path(path).write_text(text, encoding="utf-8")
        return text

    def compare(self, previous: SuiteResult | str | os.PathLike[str]) -> Comparison:
        """What changed since ``previous`` (a result, or the path of its ``to_json`` file), by scenario name."""
        if not isinstance(previous, SuiteResult):
            previous = SuiteResult.load(previous)
        return Comparison.between(previous, self)

    def to_html(self, path: str | os.PathLike[str] | None = None) -> str:
        """A standalone HTML page of the results view (for a CI artifact); also written to ``path``.

        It follows the reader's light or dark preference, and its Content-Security-Policy
        runs no script and loads nothing but https: images, whatever the replies hold.
        """
        title = html.escape(f"{self.suite}: convowidget results")
        head = (
            '<meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">'
            '<meta http-equiv="Content-Security-Policy" '
            "content=\"default-src 'none'; style-src 'unsafe-inline'; img-src https:\">"
            '<meta name="referrer" content="no-referrer"><meta name="color-scheme" content="light dark">'
            f"<title>{title}</title>"
        )
        page = (
            f'<!doctype html>\n<html lang="en"><head>{head}</head>'
            f'<body style="font-family: system-ui, sans-serif; margin: 1.5em">{self._repr_html_()}</body></html>\n'
        )
        if path is not None:
            Path(path).write_text(page, encoding="utf-8")
        return page

    def _repr_html_(self) -> str:
        from ._results_html import view  # when drawn: the view and markdown-it-py stay unloaded until then

        return view(self)


def _transcript(run: ScenarioResult) -> str:
    lines = [f"scenario {run.scenario!r}, run {run.run}: {run.status} (conversation {run.convo_id or '-'})"]
    for turn in run.turns:
        lines.append(f"[turn {turn.turn}: {turn.status}] You: {turn.prompt}")
        if turn.reply is not None:
            lines.append(f"Agent ({turn.reply.status}): {turn.reply.text}")
        lines.extend(f"  FAILED: {failure}" for failure in turn.failures)
    return "\n".join(lines)


@dataclass(frozen=True)
class Comparison:
    """Scenario by scenario, what got better or worse between two runs of a suite."""

    fixed: list[str]
    broken: list[str]
    still_failing: list[str]
    still_passing: list[str]
    new: list[str]
    removed: list[str]
    not_run: list[str]
    notes: dict[str, str]

    @classmethod
    def between(cls, before: SuiteResult, after: SuiteResult) -> Comparison:
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
        return cls(**groups, notes=notes)

    @property
    def ok(self) -> bool:
        """True when nothing that passed before fails now."""
        return not self.broken

    def _sections(self) -> list[tuple[str, list[str]]]:
        return [
            ("broken", self.broken),
            ("fixed", self.fixed),
            ("still failing", self.still_failing),
            ("new", self.new),
            ("removed", self.removed),
            ("not run", self.not_run),
        ]

    def __repr__(self) -> str:
        counts = [
            f"{len(names)} {label}" for label, names in (*self._sections(), ("still passing", self.still_passing))
        ]
        lines = ["Comparison: " + ", ".join(counts)]
        for label, names in self._sections():
            if names:
                lines.append(f"{label}:")
                lines.extend(
                    f"  {name!r}" + (f": {self.notes[name]}" if self.notes.get(name) else "") for name in names
                )
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        esc = html.escape
        parts = [f'<div class="cwr-compare"><pre style="white-space: pre-wrap">{esc(repr(self))}</pre></div>']
        return "".join(parts)
