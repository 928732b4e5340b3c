"""The comparison view: two runs of a suite side by side, turn by turn, differences marked.

Each scenario is a table: a row per turn, the first run's reply on the left, the other's
on the right, words only one side has marked ``<del>`` (left) and ``<ins>`` (right)
from a word-level ``difflib`` diff of the escaped text. "Only differences" is a checkbox,
checked at first, that CSS reads with ``:has()`` to hide scenarios and turns that came
out the same, so it works in a page whose policy runs no script, and in JupyterLab.
``multi_view`` adds a table of each agent's totals above its comparisons. Like
``_results_html`` it names what it reads (``Compared``, ``Several``) instead of importing
the classes, which sit above it.
"""

from __future__ import annotations

import difflib
import re
import time
from collections.abc import Iterable, Iterator, Sequence
from itertools import zip_longest
from typing import Protocol

from ._results_html import (
    BADGE,
    MARKS,
    REPLY_CHARS,
    Results,
    esc,
    header,
    interval_text,
    page,
    seconds_text,
    stylesheet,
    tokens_text,
)
from ._run_records import ScenarioSummary, TurnResult

__all__ = ["comparison_page", "comparison_view", "multi_page", "multi_view", "word_diff"]

_WORDS = re.compile(r"\s+|[^\s]+")


class Compared(Protocol):
    """What the view reads of a ``Comparison``."""

    @property
    def notes(self) -> dict[str, str]: ...
    @property
    def before(self) -> Results | None: ...
    @property
    def after(self) -> Results | None: ...
    @property
    def labels(self) -> tuple[str, str]: ...
    def sections(self) -> list[tuple[str, list[str]]]: ...


class Several(Protocol):
    """What the view reads of a ``MultiResult``."""

    def items(self) -> Iterable[tuple[str, Results]]: ...
    def comparisons(self) -> Sequence[Compared]: ...


def word_diff(old: str, new: str) -> tuple[str, str]:
    """Both texts escaped, words only ``old`` has in ``<del>``, words only ``new`` has in ``<ins>``."""
    a, b = _WORDS.findall(old), _WORDS.findall(new)
    left, right = [], []
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        gone, came = esc("".join(a[i1:i2])), esc("".join(b[j1:j2]))
        if tag == "equal":
            left.append(gone)
            right.append(came)
            continue
        if gone:
            left.append(f"<del>{gone}</del>")
        if came:
            right.append(f"<ins>{came}</ins>")
    return "".join(left), "".join(right)


def _same(old: TurnResult | None, new: TurnResult | None) -> bool:
    if old is None or new is None:
        return False
    return (old.prompt, old.status, old.text, old.failures) == (new.prompt, new.status, new.text, new.failures)


def _side(turn: TurnResult | None, body: str, prompt_differs: bool) -> str:
    """One side of a turn: its verdict and measures, the reply (diff-marked), its failures."""
    if turn is None:
        return '<td class="cwr-cmp-side"><p class="cwr-note">(no such turn)</p></td>'
    mark, css = MARKS.get(turn.status, ("", "cwr-muted"))
    facts = [f'<span class="{css}">{mark} {esc(turn.status)}</span>']
    if turn.reply is not None:
        facts.append(f"first chunk {seconds_text(turn.time_to_first_chunk)}, whole {seconds_text(turn.elapsed)}")
        used = tokens_text({"input_tokens": turn.input_tokens, "output_tokens": turn.output_tokens})
        if used:
            facts.append(f"tokens {used}")
    parts = ['<td class="cwr-cmp-side">']
    if prompt_differs:
        parts.append(f'<p class="cwr-cmp-prompt">You: {esc(turn.prompt)}</p>')
    parts.append(f'<div class="cwr-diff">{body or "<span class=cwr-note>(no text)</span>"}</div>')
    if turn.reply is not None and len(turn.reply.text) > REPLY_CHARS:
        parts.append(f'<p class="cwr-note">… {len(turn.reply.text) - REPLY_CHARS} more characters not compared</p>')
    if turn.failures:
        parts.append(f'<ul class="cwr-failures">{"".join(f"<li>✗ {esc(f)}</li>" for f in turn.failures)}</ul>')
    parts.append(f'<p class="cwr-verdict">{" · ".join(facts)}</p></td>')
    return "".join(parts)


def _turn_row(number: int, old: TurnResult | None, new: TurnResult | None) -> str:
    left, right = word_diff(old.text[:REPLY_CHARS] if old else "", new.text[:REPLY_CHARS] if new else "")
    prompts = {turn.prompt for turn in (old, new) if turn is not None}
    head = f"turn {number}" + (f'<p class="cwr-cmp-prompt">You: {esc(prompts.pop())}</p>' if len(prompts) == 1 else "")
    same = " cwr-same" if _same(old, new) else ""
    return (
        f'<tr class="cwr-cmp-turn{same}"><th scope="row">{head}</th>'
        f"{_side(old, left, len(prompts) > 1)}{_side(new, right, len(prompts) > 1)}</tr>"
    )


def _runs(old: ScenarioSummary | None, new: ScenarioSummary | None) -> Iterator[tuple[int, str, bool]]:
    """Each pair of runs with the same number: (run number, its rows of turns, whether every turn is the same)."""
    old_runs = {run.run: run for run in old.runs} if old else {}
    new_runs = {run.run: run for run in new.runs} if new else {}
    for number in sorted(set(old_runs) | set(new_runs)):
        a, b = old_runs.get(number), new_runs.get(number)
        pairs = list(zip_longest(a.turns if a else [], b.turns if b else []))
        rows = "".join(_turn_row(i, x, y) for i, (x, y) in enumerate(pairs, 1))
        yield number, rows, all(_same(x, y) for x, y in pairs)


def _column_head(label: str, summary: ScenarioSummary | None) -> str:
    if summary is None:
        return f'<th scope="col">{esc(label)}<span class="cwr-cmp-facts">not in this run</span></th>'
    facts = [BADGE.get(summary.status, esc(summary.status)), f"{summary.runs_label} runs passed"]
    if len(summary.runs) > 1:
        facts.append(interval_text(summary.pass_rate_interval))
    timing = summary.latency()
    facts.append(f"first chunk p50 {seconds_text(timing['first_chunk_p50'])}")
    used = tokens_text(summary.tokens())
    if used:
        facts.append(f"tokens {used}")
    return f'<th scope="col">{esc(label)}<span class="cwr-cmp-facts">{" · ".join(facts)}</span></th>'


def _scenario(name: str, group: str, comparison: Compared) -> tuple[str, bool]:
    """One scenario's table, and whether it came out the same on both sides."""
    old = _summary(comparison.before, name)
    new = _summary(comparison.after, name)
    runs = list(_runs(old, new))
    same = group in ("still passing", "still failing") and all(alike for _, _, alike in runs)
    body = []
    for number, rows, _ in runs:
        if len(runs) > 1:
            body.append(f'<tr class="cwr-cmp-run"><th colspan="3" scope="rowgroup">run {number}</th></tr>')
        body.append(rows)
    note = comparison.notes.get(name, "")
    title = f'<strong>{esc(name)}</strong> <span class="cwr-cmp-group cwr-cmp-{group.replace(" ", "-")}">{group}</span>'
    if note:
        title += f' <span class="cwr-muted">{esc(note)}</span>'
    left, right = comparison.labels
    table = (
        f'<table class="cwr-cmp"><thead><tr><th scope="col">turn</th>{_column_head(left, old)}'
        f"{_column_head(right, new)}</tr></thead><tbody>{''.join(body)}</tbody></table>"
    )
    return (
        f'<div class="cwr-cmp-scenario{" cwr-same" if same else ""}"><p class="cwr-cmp-title">{title}</p>{table}</div>',
        same,
    )


def _summary(result: Results | None, name: str) -> ScenarioSummary | None:
    return next((summary for summary in result.scenarios if summary.name == name), None) if result else None


def _comparison_body(comparison: Compared) -> str:
    left, right = comparison.labels
    counts = " · ".join(f"{len(names)} {label}" for label, names in comparison.sections())
    parts = [f'<p class="cwr-summary"><strong>{esc(left)}</strong> → <strong>{esc(right)}</strong>: {counts}</p>']
    tables, hidden = [], 0
    for group, names in comparison.sections():
        for name in names:
            table, same = _scenario(name, group, comparison)
            tables.append(table)
            hidden += same
    parts.append(
        '<p class="cwr-tools"><label class="cwr-only"><input type="checkbox" checked> Only differences</label>'
        f' <span class="cwr-hidden-note cwr-muted">({hidden} of {len(tables)} scenarios the same, hidden)</span></p>'
    )
    if tables and hidden == len(tables):
        parts.append('<p class="cwr-hidden-note">No differences: every turn gave the same text and verdict.</p>')
    parts.extend(tables)
    return f'<div class="cwr-compare">{"".join(parts)}</div>'


def comparison_view(comparison: Compared) -> str:
    """The whole comparison as one ``<div class="cwr-results">``, its stylesheet inside."""
    heads = "".join(
        header(result, label)
        for label, result in zip(comparison.labels, (comparison.before, comparison.after), strict=True)
        if result is not None
    )
    return f'<div class="cwr-results"><style>\n{stylesheet()}</style>{heads}{_comparison_body(comparison)}</div>'


def comparison_page(comparison: Compared) -> str:
    left, right = comparison.labels
    return page(f"{left} vs {right}: convowidget comparison", comparison_view(comparison))


def _agents_table(multi: Several) -> str:
    head = ("agent", "address", "passed", "failed", "pass rate", "first chunk p50 / p95", "tokens", "time")
    rows = []
    for label, result in multi.items():
        timing = result.latency()
        failed = f'<span class="{"cwr-fail" if result.failed else "cwr-muted"}">{result.failed}</span>'
        rate = f"{result.pass_rate:.0%} " + (f"({interval_text(result.pass_rate_interval)})" if result.runs else "")
        cells = [
            f"<strong>{esc(label)}</strong>",
            esc(result.url or ""),
            f'<span class="cwr-pass">{result.passed}</span>',
            failed,
            rate,
            f"{seconds_text(timing['first_chunk_p50'])} / {seconds_text(timing['first_chunk_p95'])}",
            esc(tokens_text(result.tokens()) or "–"),
            f"{result.elapsed:.1f} s",
        ]
        rows.append("<tr>" + "".join(f"<td>{cell}</td>" for cell in cells) + "</tr>")
    heads = "".join(f'<th scope="col">{h}</th>' for h in head)
    return f'<table class="cwr-agents"><thead><tr>{heads}</tr></thead><tbody>{"".join(rows)}</tbody></table>'


def multi_view(multi: Several) -> str:
    """Each agent's totals, then the first agent side by side with each other one."""
    results = [result for _, result in multi.items()]
    title = f"<strong>{esc(results[0].suite)}</strong> · " if results else ""
    when = (
        time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(min(result.started_at for result in results)))
        if results
        else ""
    )
    parts = [f'<div class="cwr-results"><style>\n{stylesheet()}</style>']
    parts.append(f'<p class="cwr-header">{title}{when} · {len(results)} agents, one after the other</p>')
    parts.append(_agents_table(multi))
    parts.extend(_comparison_body(comparison) for comparison in multi.comparisons())
    parts.append("</div>")
    return "".join(parts)


def multi_page(multi: Several) -> str:
    return page("convowidget: agents compared", multi_view(multi))
