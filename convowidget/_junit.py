"""JUnit XML of suite results, for CI: one testcase per scenario, with its measures as properties.

Each testsuite and each testcase carries ``<properties>``: pass rate and its 95% Wilson
interval, pass^k, the ``min_pass_rate`` that judged it, tokens and p50/p95 timings, so
a CI system can chart them. Text from the agent goes through ``xml_text``: XML 1.0
cannot hold control characters, and a report that does not parse shows nothing.
"""

from __future__ import annotations

import re
import time
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Protocol

from ._run_records import ScenarioResult, ScenarioSummary, wilson_interval

__all__ = ["junit_xml", "xml_text"]


class Judged(Protocol):
    """What the report reads of one agent's run (``SuiteResult`` has it all)."""

    suite: str
    elapsed: float
    started_at: float

    @property
    def scenarios(self) -> list[ScenarioSummary]: ...
    @property
    def failed(self) -> int: ...
    @property
    def not_run(self) -> int: ...
    @property
    def runs(self) -> Sequence[ScenarioResult]: ...
    @property
    def pass_rate(self) -> float: ...
    @property
    def pass_hat_k(self) -> float | None: ...
    def latency(self) -> dict[str, float | None]: ...
    def tokens(self) -> dict[str, int | None]: ...


def xml_text(text: str) -> str:
    """Text XML 1.0 can hold: control characters (and surrogates) become U+FFFD."""
    return re.sub("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]", "\ufffd", text)


def _number(value: float | int) -> str:
    return str(value) if isinstance(value, int) else f"{value:.4g}"


def _properties(parent: ET.Element, values: Mapping[str, Any]) -> None:
    """A ``<properties>`` element of the values that are known (None is left out)."""
    known = {name: value for name, value in values.items() if value is not None}
    if known:
        element = ET.SubElement(parent, "properties")
        for name, value in known.items():
            shown = str(value).lower() if isinstance(value, bool) else _number(value)
            ET.SubElement(element, "property", {"name": name, "value": shown})


def _rate_properties(passed: int, finished: int) -> dict[str, float | None]:
    if not finished:
        return {"pass_rate": None}
    low, high = wilson_interval(passed, finished)
    return {"pass_rate": passed / finished, "pass_rate_low": low, "pass_rate_high": high}


def _testcase(suite: ET.Element, classname: str, summary: ScenarioSummary) -> None:
    seconds = sum(run.elapsed for run in summary.runs)
    case = ET.SubElement(
        suite, "testcase", {"classname": classname, "name": xml_text(summary.name), "time": f"{seconds:.3f}"}
    )
    _properties(
        case,
        {
            **_rate_properties(summary.passed_runs, summary.finished_runs),
            "runs": len(summary.runs),
            "pass_hat_k": summary.pass_hat_k,
            "min_pass_rate": summary.min_pass_rate,
            **summary.tokens(),
            **summary.latency(),
        },
    )
    failures = summary.failures
    if summary.status == "failed":
        headline = failures[0] if failures else "failed"
        if len(summary.runs) > 1:
            headline = f"passed {summary.passed_runs} of {len(summary.runs)} runs; {headline}"
        element = ET.SubElement(case, "failure", {"message": xml_text(headline), "type": "ExpectationFailed"})
        element.text = xml_text("\n".join(failures))
    elif summary.status != "passed":
        ET.SubElement(case, "skipped", {"message": "not run: the run was interrupted"})
    shown = next((run for run in summary.runs if run.status == "failed"), summary.runs[0])
    ET.SubElement(case, "system-out").text = xml_text(_transcript(shown))


def _testsuite(root: ET.Element, name: str, result: Judged) -> dict[str, int]:
    summaries = result.scenarios
    counts = {"tests": len(summaries), "failures": result.failed, "errors": 0, "skipped": result.not_run}
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(result.started_at))
    attributes = {"name": xml_text(name), **{k: str(v) for k, v in counts.items()}, "time": f"{result.elapsed:.3f}"}
    suite = ET.SubElement(root, "testsuite", {**attributes, "timestamp": stamp})
    finished = [run for run in result.runs if run.status in ("passed", "failed")]
    _properties(
        suite,
        {
            **_rate_properties(sum(run.status == "passed" for run in finished), len(finished)),
            "pass_hat_k": result.pass_hat_k,
            **result.tokens(),
            **result.latency(),
        },
    )
    for summary in summaries:
        _testcase(suite, xml_text(name), summary)
    return counts


def junit_xml(results: Iterable[tuple[str, Judged]]) -> str:
    """The XML document: one ``<testsuite>`` per ``(name, result)``, in a ``<testsuites>``."""
    root = ET.Element("testsuites")
    totals = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
    seconds, names = 0.0, []
    for name, result in results:
        counts = _testsuite(root, name, result)
        totals = {key: totals[key] + counts[key] for key in totals}
        seconds += result.elapsed
        names.append(name)
    root.attrib.update({"name": xml_text(" | ".join(names)), **{k: str(v) for k, v in totals.items()}})
    root.set("time", f"{seconds:.3f}")
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def _transcript(run: ScenarioResult) -> str:
    """One run of a scenario as plain text: each prompt, reply and failure."""
    lines = [f"scenario {run.scenario!r}, run {run.run}: {run.status} (conversation {run.convo_id or '-'})"]
    for turn in run.turns:
        lines.append(f"[turn {turn.turn}: {turn.status}] You: {turn.prompt}")
        if turn.reply is not None:
            lines.append(f"Agent ({turn.reply.status}): {turn.reply.text}")
        lines.extend(f"  FAILED: {failure}" for failure in turn.failures)
    return "\n".join(lines)
