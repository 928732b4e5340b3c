"""The results view: static HTML laid out like the chat panel, with no script.

It needs no widget model, so it survives saved notebooks, nbviewer and CI artifacts.
Agent text is hostile input: its markdown goes through ``_markdown`` (raw HTML off, an
allowlist of elements and attributes; without markdown-it-py the text is shown escaped).
The stylesheet is ``static/results.css``. ``view`` draws any ``Results``: this module sits
below ``results``, whose ``SuiteResult`` calls it, so it names what it reads instead of
importing it.
"""

from __future__ import annotations

import functools
import html
import json
from importlib import resources
from typing import Any, Protocol

from ._markdown import markdown_to_safe_html, safe_href
from ._run_records import ScenarioSummary, TurnResult, percentile

__all__ = ["Results", "view"]


class Results(Protocol):
    """What the view reads of a suite's outcome (``SuiteResult`` has it all)."""

    suite: str
    repeat: int
    interrupted: bool
    elapsed: float

    @property
    def scenarios(self) -> list[ScenarioSummary]: ...
    @property
    def turns(self) -> list[TurnResult]: ...
    @property
    def passed(self) -> int: ...
    @property
    def failed(self) -> int: ...
    @property
    def not_run(self) -> int: ...
    @property
    def pass_rate(self) -> float: ...
    def latency(self) -> dict[str, float | None]: ...


_ORDER = {"failed": 0, "interrupted": 1, "running": 1, "not run": 2, "passed": 3}
_VIEW_ROWS = 300  # rows the HTML view shows; failing rows come first, so they are never the ones cut
_VIEW_TEXT = 2000  # characters of each reply the HTML view shows

# ---------------------------------------------------------------------- the HTML view
#
# Laid out like the chat panel (js/src/widget.css): the prompt in a right-aligned bubble,
# the reply in a left-aligned one with its sources and handoff notice, the verdict under
# it. Semantic HTML first (an <ol> of turns, lists, labels only screen readers and
# CSS-less views see), so it still reads where the <style> is dropped (an untrusted output
# in JupyterLab). Colours come from JupyterLab's --jp-* variables, so it follows the theme;
# the fallbacks cover a standalone page in light and dark.

_BADGE = {
    "passed": '<span class="cwr-pass">✓ passed</span>',
    "failed": '<span class="cwr-fail">✗ failed</span>',
    "interrupted": '<span class="cwr-muted">■ interrupted</span>',
    "not run": '<span class="cwr-muted">○ not run</span>',
    "skipped": '<span class="cwr-muted">↷ skipped</span>',
}
_TURN_MARK = {
    "passed": ("✓", "cwr-pass"),
    "failed": ("✗", "cwr-fail"),
    "interrupted": ("■", "cwr-muted"),
    "not run": ("○", "cwr-muted"),
    "skipped": ("↷", "cwr-muted"),
}
_HANDOFF = "The agent asked for a human: a human will take over this conversation."
_SEP = '<span class="cwr-sep"> · </span>'  # separates cells when there is no CSS grid


def _esc(value: object) -> str:
    return html.escape(str(value), quote=True)


def _seconds(value: float | None) -> str:
    return "–" if value is None else f"{value:.2f} s"


def _percent(rate: float | None) -> str:
    return "–" if rate is None else f"{rate:.0%}"


@functools.lru_cache(maxsize=1)
def _stylesheet() -> str:
    return resources.files(__package__).joinpath("static/results.css").read_text(encoding="utf-8")


def _reply_html(text: str) -> str:
    if not text:
        return '<p class="cwr-note">(no text)</p>'
    rendered = markdown_to_safe_html(text)
    if rendered is None:
        return f'<div class="cwr-md cwr-plain">{_esc(text)}</div>'
    return f'<div class="cwr-md">{rendered}</div>'


def _source_html(source: str) -> str:
    href = safe_href(source)
    if href is None:
        return f"<li>{_esc(source)}</li>"
    return f'<li><a href="{_esc(href)}" target="_blank" rel="noopener noreferrer">{_esc(source)}</a></li>'


# ----------------------------------------------------------- the page


def _chart(values: list[float], p50: float | None, p95: float | None) -> str:
    """A small inline-SVG histogram of times to first chunk, with p50 and p95 marked."""
    if not values:
        return ""
    width, height, bins = 360, 80, 24
    top = max(values) or 1.0
    counts = [0] * bins
    for value in values:
        counts[min(bins - 1, int(value / top * bins))] += 1
    tallest = max(counts)
    bar = width / bins
    shapes = [
        f'<rect x="{i * bar:.1f}" y="{height - 14 - c / tallest * (height - 24):.1f}" width="{bar - 1:.1f}" '
        f'height="{c / tallest * (height - 24):.1f}" fill="#0969da" fill-opacity=".6"/>'
        for i, c in enumerate(counts)
        if c
    ]
    for label, mark, y in (("p50", p50, 9), ("p95", p95, 19)):
        if mark is not None:
            x = min(width - 1, mark / top * width)
            shapes.append(
                f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{y - 1}" y2="{height - 14}" stroke="#cf222e" '
                'stroke-dasharray="3 2"/>'
                f'<text x="{min(x + 2, width - 60):.1f}" y="{y}" font-size="9" fill="currentColor">'
                f"{label} {mark:.2f} s</text>"
            )
    shapes.append(f'<text x="0" y="{height - 2}" font-size="9" fill="currentColor">0 s</text>')
    shapes.append(
        f'<text x="{width / 2:.0f}" y="{height - 2}" font-size="9" text-anchor="middle" fill="currentColor">'
        "time to first chunk</text>"
    )
    shapes.append(
        f'<text x="{width}" y="{height - 2}" font-size="9" text-anchor="end" fill="currentColor">{top:.2f} s</text>'
    )
    return (
        f'<svg class="cwr-chart" role="img" width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
        f'style="overflow: visible; margin: .3em 0 .6em"><title>Time to first chunk, {len(values)} replies</title>'
        + "".join(shapes)
        + "</svg>"
    )


def _expected(value: Any) -> str:
    """An expectation's value as a suite file would hold it: strings quoted as written."""
    if isinstance(value, str):
        return f"'{value}'"
    if isinstance(value, list):
        return "[" + ", ".join(_expected(item) for item in value) + "]"
    return json.dumps(value, ensure_ascii=False)


def _verdict(turn: TurnResult) -> str:
    """The quiet line under a reply: the turn's status, timings and what it expected."""
    mark, css = _TURN_MARK.get(turn.status, ("", "cwr-muted"))
    parts = [f'<span class="{css}">{mark} turn {turn.turn} {_esc(turn.status)}</span>']
    reply = turn.reply
    if reply is not None:
        if reply.status != "complete":
            parts.append(f"reply {_esc(reply.status)}")
        parts.append(f"first chunk {_seconds(reply.time_to_first_chunk)}, whole reply {_seconds(reply.elapsed)}")
    if turn.expect:
        checks = "; ".join(
            f"{_esc(key)}: {_esc(_expected(value))}" if key != "check" else _esc(value)
            for key, value in turn.expect.items()
        )
        parts.append(f"expected {checks}")
    return f'<p class="cwr-verdict">{" · ".join(parts)}</p>'


def _turn_html(turn: TurnResult) -> str:
    """One turn as the panel shows it: the prompt, the reply, then what was expected of it."""
    parts = [f'<li class="cwr-turn{" cwr-bad" if turn.failures else ""}">']
    parts.append(
        f'<div class="cwr-msg cwr-you"><div class="cwr-bubble"><span class="cwr-sr">You: </span>'
        f"{_esc(turn.prompt)}</div></div>"
    )
    parts.append('<div class="cwr-msg cwr-reply">')
    reply = turn.reply
    if reply is not None:
        text = reply.text[:_VIEW_TEXT]
        body = ['<div class="cwr-bubble cwr-agent"><span class="cwr-sr">Agent: </span>', _reply_html(text)]
        if len(reply.text) > len(text):
            body.append(f'<p class="cwr-note">… {len(reply.text) - len(text)} more characters in to_dataframe()</p>')
        if reply.status != "complete":
            body.append(f'<p class="cwr-alert">The reply {_esc(reply.status)}: {_esc(reply.error or "no reason")}</p>')
        if reply.handoff:
            body.append(f'<p class="cwr-handoff">{_HANDOFF}</p>')
        if reply.sources:
            items = "".join(_source_html(source) for source in reply.sources)
            body.append(
                f'<div class="cwr-sources"><span class="cwr-sources-label">Sources:</span><ul>{items}</ul></div>'
            )
        body.append("</div>")
        parts.extend(body)
    if turn.failures:
        items = "".join(f"<li>✗ {_esc(failure)}</li>" for failure in turn.failures)
        parts.append(f'<ul class="cwr-failures">{items}</ul>')
    parts.append(_verdict(turn))
    parts.append("</div></li>")
    return "".join(parts)


def _row_html(summary: ScenarioSummary) -> str:
    firsts = [t.time_to_first_chunk for run in summary.runs for t in run.turns if t.time_to_first_chunk is not None]
    seconds = sum(run.elapsed for run in summary.runs)
    failures = summary.failures
    cells = [
        _BADGE.get(summary.status, _esc(summary.status)),
        _esc(summary.name),
        _esc(summary.runs_label),
        _esc(failures[0]) if failures else "",
        _seconds(percentile(firsts, 50)),
        _seconds(seconds),
    ]
    titles = {1: _esc(summary.name), 3: cells[3]}
    grid = _SEP.join(f'<span class="cwr-cell" title="{titles.get(i, "")}">{c}</span>' for i, c in enumerate(cells))
    body = []
    for run in summary.runs:
        label = f"run {run.run}: {_BADGE.get(run.status, _esc(run.status))}"
        if len(summary.runs) > 1:
            body.append(f'<p class="cwr-run">{label}</p>')
        turns = "".join(_turn_html(turn) for turn in run.turns)
        body.append(f'<ol class="cwr-chat" aria-label="conversation, run {run.run}">{turns}</ol>')
    status = _esc(summary.status).replace(" ", "-")
    return (
        f'<details class="cwr-row cwr-{status}"><summary><span class="cwr-grid">{grid}</span></summary>'
        f'<div class="cwr-convo">{"".join(body)}</div></details>'
    )


def view(result: Results) -> str:
    """The whole view of ``result`` as one ``<div class=\"cwr-results\">``, its stylesheet inside."""
    latency = result.latency()
    firsts = [t.time_to_first_chunk for t in result.turns if t.time_to_first_chunk is not None]
    summary = [
        f"<strong>{_esc(result.suite)}</strong>:",
        f'<span class="cwr-pass">{result.passed} passed</span> ·',
        f'<span class="cwr-fail">{result.failed} failed</span> ·',
    ]
    if result.not_run:
        summary.append(f'<span class="cwr-muted">{result.not_run} not run</span> ·')
    summary.append(f"pass rate {_percent(result.pass_rate)} ·")
    summary.append(
        f"first chunk p50 {_seconds(latency['first_chunk_p50'])}, p95 {_seconds(latency['first_chunk_p95'])} ·"
    )
    summary.append(f"{result.elapsed:.1f} s")
    if result.repeat > 1:
        summary.append(f"· each scenario run {result.repeat} times")
    rows = sorted(result.scenarios, key=lambda s: _ORDER.get(s.status, 9))
    shown = rows[:_VIEW_ROWS]
    parts = [
        f'<div class="cwr-results"><style>\n{_stylesheet()}</style>',
        f'<p class="cwr-summary">{" ".join(summary)}</p>',
    ]
    if result.interrupted:
        parts.append('<p class="cwr-banner">The run was interrupted; unfinished scenarios are marked.</p>')
    parts.append(_chart(firsts, latency["first_chunk_p50"], latency["first_chunk_p95"]))
    head = ("status", "scenario", "runs", "first failure", "first chunk", "time")
    parts.append(f'<div class="cwr-grid cwr-head">{_SEP.join(f"<span>{h}</span>" for h in head)}</div>')
    parts.extend(_row_html(row) for row in shown)
    if len(rows) > len(shown):
        parts.append(
            f'<p class="cwr-muted">{len(shown)} of {len(rows)} scenarios shown; to_dataframe() has them all.</p>'
        )
    parts.append("</div>")
    return "".join(parts)
