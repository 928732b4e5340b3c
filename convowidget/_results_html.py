"""The results view: static HTML laid out like the chat panel, with no script.

It needs no widget model, so it survives saved notebooks, nbviewer and CI artifacts.
Agent text is hostile input: its markdown goes through ``_markdown`` (raw HTML off, an
allowlist of elements and attributes; without markdown-it-py the text is shown escaped).
The stylesheet is ``static/results.css``. ``view`` draws any ``Results``: this module sits
below ``results``, whose ``SuiteResult`` calls it, so it names what it reads instead of
importing it. ``page`` wraps a view in a standalone page whose Content-Security-Policy
runs no script; what needs a click without one ("Expand all", the comparison's "Only
differences") is a checkbox that CSS reads with ``:has()``.
"""

from __future__ import annotations

import functools
import html
import json
import time
from collections.abc import Sequence
from importlib import resources
from typing import Any, Protocol

from ._markdown import markdown_to_safe_html, safe_href
from ._run_records import ScenarioResult, ScenarioSummary, TurnResult

__all__ = [
    "BADGE",
    "MARKS",
    "REPLY_CHARS",
    "Results",
    "esc",
    "header",
    "interval_text",
    "page",
    "seconds_text",
    "stylesheet",
    "tokens_text",
    "totals",
    "view",
]


class Results(Protocol):
    """What the views read of a suite's outcome (``SuiteResult`` has it all)."""

    suite: str
    repeat: int
    interrupted: bool
    elapsed: float
    started_at: float
    agent_id: str | None
    url: str | None

    @property
    def scenarios(self) -> list[ScenarioSummary]: ...
    @property
    def runs(self) -> Sequence[ScenarioResult]: ...
    @property
    def turns(self) -> list[TurnResult]: ...
    @property
    def passed(self) -> int: ...
    @property
    def failed(self) -> int: ...
    @property
    def not_run(self) -> int: ...
    @property
    def ok(self) -> bool: ...
    @property
    def pass_rate(self) -> float: ...
    @property
    def pass_rate_interval(self) -> tuple[float, float] | None: ...
    @property
    def pass_hat_k(self) -> float | None: ...
    def latency(self) -> dict[str, float | None]: ...
    def tokens(self) -> dict[str, int | None]: ...
    def to_dict(self) -> dict[str, Any]: ...


_ORDER = {"failed": 0, "interrupted": 1, "running": 1, "not run": 2, "passed": 3}
_VIEW_ROWS = 300  # rows the HTML view shows; failing rows come first, so they are never the ones cut
REPLY_CHARS = 2000  # characters of each reply the HTML views show
_ROW_FAILURES = 20  # distinct failures a row lists; the conversation below it has them all

# ---------------------------------------------------------------------- the HTML view
#
# Laid out like the chat panel (js/src/widget.css): the prompt in a right-aligned bubble,
# the reply in a left-aligned one with its sources and handoff notice, the verdict under
# it. Semantic HTML first (an <ol> of turns, lists, labels only screen readers and
# CSS-less views see), so it still reads where the <style> is dropped (an untrusted output
# in JupyterLab). Colours come from JupyterLab's --jp-* variables, so it follows the theme;
# the fallbacks cover a standalone page in light and dark.

BADGE = {
    "passed": '<span class="cwr-pass">✓ passed</span>',
    "failed": '<span class="cwr-fail">✗ failed</span>',
    "interrupted": '<span class="cwr-muted">■ interrupted</span>',
    "not run": '<span class="cwr-muted">○ not run</span>',
    "skipped": '<span class="cwr-muted">↷ skipped</span>',
}
MARKS = {
    "passed": ("✓", "cwr-pass"),
    "failed": ("✗", "cwr-fail"),
    "interrupted": ("■", "cwr-muted"),
    "not run": ("○", "cwr-muted"),
    "skipped": ("↷", "cwr-muted"),
}
_HANDOFF = "The agent asked for a human: a human will take over this conversation."
_SEP = '<span class="cwr-sep"> · </span>'  # separates cells when there is no CSS grid
_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src https:"


def esc(value: object) -> str:
    return html.escape(str(value), quote=True)


def seconds_text(value: float | None) -> str:
    return "–" if value is None else f"{value:.2f} s"


def _percent(rate: float | None) -> str:
    return "–" if rate is None else f"{rate:.0%}"


def interval_text(interval: tuple[float, float] | None) -> str:
    """A pass rate's 95% interval as ``95% CI 49–94%`` ('' when unknown)."""
    return "" if interval is None else f"95% CI {interval[0]:.0%}–{interval[1]:.0%}"


def tokens_text(counts: dict[str, int | None]) -> str:
    """``120 in / 340 out``, or '' when the agent reported no tokens."""
    if counts["input_tokens"] is None and counts["output_tokens"] is None:
        return ""
    shown = ["–" if counts[key] is None else f"{counts[key]:,}" for key in ("input_tokens", "output_tokens")]
    return f"{shown[0]} in / {shown[1]} out"


@functools.lru_cache(maxsize=1)
def stylesheet() -> str:
    return resources.files(__package__).joinpath("static/results.css").read_text(encoding="utf-8")


def page(title: str, body: str) -> str:
    """A standalone page around a view: follows light or dark, runs no script, loads only https: images."""
    head = (
        '<meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">'
        f'<meta http-equiv="Content-Security-Policy" content="{_CSP}">'
        '<meta name="referrer" content="no-referrer"><meta name="color-scheme" content="light dark">'
        f"<title>{esc(title)}</title>"
    )
    return (
        f'<!doctype html>\n<html lang="en"><head>{head}</head>'
        f'<body style="font-family: system-ui, sans-serif; margin: 1.5em">{body}</body></html>\n'
    )


def _reply_html(text: str) -> str:
    if not text:
        return '<p class="cwr-note">(no text)</p>'
    rendered = markdown_to_safe_html(text)
    if rendered is None:
        return f'<div class="cwr-md cwr-plain">{esc(text)}</div>'
    return f'<div class="cwr-md">{rendered}</div>'


def _source_html(source: str) -> str:
    href = safe_href(source)
    if href is None:
        return f"<li>{esc(source)}</li>"
    return f'<li><a href="{esc(href)}" target="_blank" rel="noopener noreferrer">{esc(source)}</a></li>'


# ----------------------------------------------------------- the page


def _chart(values: list[float], p50: float | None, p95: float | None) -> str:
    """An inline-SVG histogram of times to first chunk; p50 and p95 are lines named in a legend above."""
    if not values:
        return ""
    width, height, bins, top_y, axis_y = 420, 112, 24, 26, 92
    top = max(values) or 1.0
    counts = [0] * bins
    for value in values:
        counts[min(bins - 1, int(value / top * bins))] += 1
    tallest, bar, room = max(counts), width / bins, axis_y - top_y
    shapes = [
        f'<rect x="{i * bar:.1f}" y="{axis_y - c / tallest * room:.1f}" width="{bar - 1:.1f}" '
        f'height="{c / tallest * room:.1f}" fill="#0969da" fill-opacity=".6"/>'
        for i, c in enumerate(counts)
        if c
    ]
    legend_x = 0
    marks = (("p50", p50, "cwr-p50", "#1f2328", ""), ("p95", p95, "cwr-p95", "#bc4c00", ' stroke-dasharray="5 3"'))
    for label, mark, css, colour, dash in marks:
        if mark is None:
            continue
        x = min(width - 1, mark / top * width)
        line = f'class="{css}" stroke="{colour}" stroke-width="2"{dash}'
        shapes.append(f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{top_y - 4}" y2="{axis_y}" {line}/>')
        shapes.append(f'<line x1="{legend_x}" x2="{legend_x + 22}" y1="10" y2="10" {line}/>')
        shapes.append(
            f'<text x="{legend_x + 28}" y="14" font-size="12" fill="currentColor">{label} {mark:.2f} s</text>'
        )
        legend_x += 150
    axis = f'y="{height - 4}" font-size="12" fill="currentColor"'
    shapes.append(f'<text x="0" {axis}>0 s</text>')
    shapes.append(f'<text x="{width / 2:.0f}" {axis} text-anchor="middle">time to first chunk</text>')
    shapes.append(f'<text x="{width}" {axis} text-anchor="end">{top:.2f} s</text>')
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
    """The quiet line under a reply: the turn's status, timings, tokens and what it expected."""
    mark, css = MARKS.get(turn.status, ("", "cwr-muted"))
    parts = [f'<span class="{css}">{mark} turn {turn.turn} {esc(turn.status)}</span>']
    reply = turn.reply
    if reply is not None:
        if reply.status != "complete":
            parts.append(f"reply {esc(reply.status)}")
        parts.append(
            f"first chunk {seconds_text(reply.time_to_first_chunk)}, whole reply {seconds_text(reply.elapsed)}"
        )
        used = tokens_text({"input_tokens": reply.input_tokens, "output_tokens": reply.output_tokens})
        if used:
            parts.append(f"tokens {used}")
    if turn.expect:
        checks = "; ".join(
            f"{esc(key)}: {esc(_expected(value))}" if key != "check" else esc(value)
            for key, value in turn.expect.items()
        )
        parts.append(f"expected {checks}")
    return f'<p class="cwr-verdict">{" · ".join(parts)}</p>'


def _turn_html(turn: TurnResult) -> str:
    """One turn as the panel shows it: the prompt, the reply, then what was expected of it."""
    parts = [f'<li class="cwr-turn{" cwr-bad" if turn.failures else ""}">']
    parts.append(
        f'<div class="cwr-msg cwr-you"><div class="cwr-bubble"><span class="cwr-sr">You: </span>'
        f"{esc(turn.prompt)}</div></div>"
    )
    parts.append('<div class="cwr-msg cwr-reply">')
    reply = turn.reply
    if reply is not None:
        text = reply.text[:REPLY_CHARS]
        body = ['<div class="cwr-bubble cwr-agent"><span class="cwr-sr">Agent: </span>', _reply_html(text)]
        if len(reply.text) > len(text):
            body.append(f'<p class="cwr-note">… {len(reply.text) - len(text)} more characters in to_dataframe()</p>')
        if reply.status != "complete":
            body.append(f'<p class="cwr-alert">The reply {esc(reply.status)}: {esc(reply.error or "no reason")}</p>')
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
        items = "".join(f"<li>✗ {esc(failure)}</li>" for failure in turn.failures)
        parts.append(f'<ul class="cwr-failures">{items}</ul>')
    parts.append(_verdict(turn))
    parts.append("</div></li>")
    return "".join(parts)


def _row_failures(summary: ScenarioSummary) -> list[str]:
    """Each distinct failure of the scenario once, with the runs it happened in when repeated."""
    seen: dict[str, list[int]] = {}
    for run in summary.runs:
        for failure in run.failures:
            seen.setdefault(failure, []).append(run.run)
    if len(summary.runs) == 1:
        return list(seen)
    return [
        f"{failure} (run{'s' if len(runs) > 1 else ''} {', '.join(map(str, runs))})" for failure, runs in seen.items()
    ]


def _runs_cell(summary: ScenarioSummary) -> str:
    """``1/1``; with repeat ``8/10 · 80%``, under it the 95% interval and the threshold that judged it."""
    text = esc(summary.runs_label)
    interval = summary.pass_rate_interval
    if len(summary.runs) > 1 and summary.pass_rate is not None and interval is not None:
        text += f" · {summary.pass_rate:.0%}"
        text += f'<span class="cwr-line cwr-muted">CI {interval[0]:.0%}–{interval[1]:.0%}</span>'
    if summary.min_pass_rate is not None and len(summary.runs) > 1:
        text += f'<span class="cwr-line cwr-muted">min {summary.min_pass_rate:.0%}</span>'
    return text


def _stats(summary: ScenarioSummary) -> str:
    """The line above a scenario's conversation: with repeat its pass rate, interval and pass^k; tokens, timings."""
    timing = summary.latency()
    parts = [f"{summary.runs_label} runs passed"]
    repeated = len(summary.runs) > 1
    if repeated and summary.pass_rate is not None:
        parts.append(f"pass rate {summary.pass_rate:.0%} ({interval_text(summary.pass_rate_interval)})")
        parts.append(f"pass^{len(summary.runs)} {'yes' if summary.pass_hat_k else 'no'}")
    if summary.min_pass_rate is not None:
        parts.append(f"min_pass_rate {summary.min_pass_rate:.0%}" + ("" if repeated else " (one run: not used)"))
    used = tokens_text(summary.tokens())
    if used:
        parts.append(f"tokens {used}")
    first, whole = (
        f"p50 {seconds_text(timing[f'{k}_p50'])}, p95 {seconds_text(timing[f'{k}_p95'])}"
        for k in ("first_chunk", "reply")
    )
    parts.extend((f"first chunk {first}", f"whole reply {whole}"))
    return f'<p class="cwr-stats">{" · ".join(parts)}</p>'


def _row_html(summary: ScenarioSummary) -> str:
    timing = summary.latency()
    seconds = sum(run.elapsed for run in summary.runs)
    failures = _row_failures(summary)
    listed = [f'<span class="cwr-line cwr-failure">{esc(failure)}</span>' for failure in failures[:_ROW_FAILURES]]
    if len(failures) > _ROW_FAILURES:
        listed.append(f'<span class="cwr-line cwr-muted">… {len(failures) - _ROW_FAILURES} more below</span>')
    firsts = f"{seconds_text(timing['first_chunk_p50'])} / {seconds_text(timing['first_chunk_p95'])}"
    cells = [
        BADGE.get(summary.status, esc(summary.status)),
        esc(summary.name),
        _runs_cell(summary),
        "".join(listed),
        firsts,
        esc(tokens_text(summary.tokens()) or "–"),
        seconds_text(seconds),
    ]
    titles = {1: esc(summary.name), 3: esc("\n".join(failures))}
    grid = _SEP.join(f'<span class="cwr-cell" title="{titles.get(i, "")}">{c}</span>' for i, c in enumerate(cells))
    body = [_stats(summary)]
    for run in summary.runs:
        if len(summary.runs) > 1:
            body.append(f'<p class="cwr-run">run {run.run}: {BADGE.get(run.status, esc(run.status))}</p>')
        turns = "".join(_turn_html(turn) for turn in run.turns)
        body.append(f'<ol class="cwr-chat" aria-label="conversation, run {run.run}">{turns}</ol>')
    status = esc(summary.status).replace(" ", "-")
    return (
        f'<details class="cwr-row cwr-{status}"><summary><span class="cwr-grid">{grid}</span></summary>'
        f'<div class="cwr-convo">{"".join(body)}</div></details>'
    )


def header(result: Results, label: str = "") -> str:
    """Which run this is: the suite, when it started (UTC), the agent and its address (no secrets).

    ``label`` names the run first (``previous run``, an agent's name) where two are shown.
    """
    when = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(result.started_at))
    parts = [f"<em>{esc(label)}</em>"] if label else []
    parts += [f"<strong>{esc(result.suite)}</strong>", f"<span>{when}</span>"]
    if result.agent_id:
        parts.append(f"<span>agent {esc(result.agent_id)}</span>")
    if result.url:
        parts.append(f"<span>at {esc(result.url)}</span>")
    return f'<p class="cwr-header">{" · ".join(parts)}</p>'


def totals(result: Results) -> str:
    """Passed and failed (red only when some failed), pass rate with its interval, pass^k, timings, tokens."""
    latency = result.latency()
    failed_css = "cwr-fail" if result.failed else "cwr-muted"
    parts = [
        f'<span class="cwr-pass">{result.passed} passed</span>',
        f'<span class="{failed_css}">{result.failed} failed</span>',
    ]
    if result.not_run:
        parts.append(f'<span class="cwr-muted">{result.not_run} not run</span>')
    rate = f"pass rate {_percent(result.pass_rate)}"
    if result.pass_rate_interval is not None:
        rate += f" ({interval_text(result.pass_rate_interval)})"
    parts.append(rate)
    if result.pass_hat_k is not None and result.repeat > 1:
        parts.append(f"pass^{result.repeat} {_percent(result.pass_hat_k)} of scenarios")
    parts.append(
        f"first chunk p50 {seconds_text(latency['first_chunk_p50'])}, p95 {seconds_text(latency['first_chunk_p95'])}"
    )
    parts.append(f"whole reply p50 {seconds_text(latency['reply_p50'])}, p95 {seconds_text(latency['reply_p95'])}")
    used = tokens_text(result.tokens())
    if used:
        parts.append(f"tokens {used}")
    parts.append(f"{result.elapsed:.1f} s")
    if result.repeat > 1:
        parts.append(f"each scenario run {result.repeat} times")
    return " · ".join(parts)


def view(result: Results) -> str:
    """The whole view of ``result`` as one ``<div class=\"cwr-results\">``, its stylesheet inside."""
    latency = result.latency()
    firsts = [t.time_to_first_chunk for t in result.turns if t.time_to_first_chunk is not None]
    rows = sorted(result.scenarios, key=lambda s: _ORDER.get(s.status, 9))
    shown = rows[:_VIEW_ROWS]
    parts = [
        f'<div class="cwr-results"><style>\n{stylesheet()}</style>',
        header(result),
        f'<p class="cwr-summary">{totals(result)}</p>',
    ]
    if result.interrupted:
        parts.append('<p class="cwr-banner">The run was interrupted; unfinished scenarios are marked.</p>')
    parts.append(_chart(firsts, latency["first_chunk_p50"], latency["first_chunk_p95"]))
    parts.append('<p class="cwr-tools"><label class="cwr-expand"><input type="checkbox"> Expand all</label></p>')
    runs = "runs passed (95% CI)" if result.repeat > 1 else "runs passed"
    head = ("status", "scenario", runs, "failures", "first chunk p50 / p95", "tokens", "time")
    parts.append(f'<div class="cwr-grid cwr-head">{_SEP.join(f"<span>{h}</span>" for h in head)}</div>')
    parts.extend(_row_html(row) for row in shown)
    if len(rows) > len(shown):
        parts.append(
            f'<p class="cwr-muted">{len(shown)} of {len(rows)} scenarios shown; to_dataframe() has them all.</p>'
        )
    parts.append("</div>")
    return "".join(parts)
