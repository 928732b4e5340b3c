"""What ``convowidget test`` prints of a result: failures, pass rates, timings, tokens, counts.

The last line is always plain counts such as ``3 passed, 1 failed in 2.1 s``, so a CI log
ends with the verdict; above it the p50/p95 time to first chunk and to the whole reply,
and tokens, so a slower or costlier agent shows in the log without opening a report.
"""

from __future__ import annotations

from ._compare_html import Several
from ._results_html import Results
from ._run_records import ScenarioSummary

__all__ = ["multi_summary", "summary_lines"]


def summary_lines(result: Results) -> list[str]:
    """The failures, pass rates, latency and tokens, and last a plain line such as ``3 passed, 1 failed in 2.1 s``."""
    lines = []
    for scenario in result.scenarios:
        if scenario.status != "passed":
            lines.append(f"{scenario.status.upper()}: {scenario.name}{_why(scenario)}")
            lines.extend(f"    {failure}" for failure in scenario.failures)
        elif not scenario.pass_hat_k and scenario.min_pass_rate is not None:
            threshold = f"min_pass_rate {scenario.min_pass_rate:g}"
            lines.append(f"passed at {scenario.runs_label} runs ({threshold}): {scenario.name}")
    lines.extend(_rate_lines(result))
    latency, used = result.latency(), result.tokens()
    measures = []
    if latency["first_chunk_p50"] is not None:
        measures.append(f"first chunk p50 {latency['first_chunk_p50']:.2f} s, p95 {latency['first_chunk_p95']:.2f} s")
    if latency["reply_p50"] is not None:
        measures.append(f"whole reply p50 {latency['reply_p50']:.2f} s, p95 {latency['reply_p95']:.2f} s")
    if used["input_tokens"] is not None or used["output_tokens"] is not None:
        measures.append(f"tokens {used['input_tokens'] or 0} in, {used['output_tokens'] or 0} out")
    if measures:
        lines.append("; ".join(measures))
    counts = f"{result.passed} passed, {result.failed} failed"
    if result.not_run:
        counts += f", {result.not_run} not run"
    if result.repeat > 1:
        counts += f" ({result.pass_rate:.0%} of {len(result.runs)} runs passed)"
    if result.interrupted:
        counts += ", interrupted"
    lines.append(f"{counts} in {result.elapsed:.1f} s")
    return lines


def _why(scenario: ScenarioSummary) -> str:
    """With repeat, what judged a failed scenario: `` (7/10 runs passed, below min_pass_rate 0.8)``."""
    if scenario.status != "failed" or len(scenario.runs) < 2:
        return ""
    threshold = scenario.min_pass_rate
    rule = "every run must pass" if threshold is None else f"below min_pass_rate {threshold:g}"
    return f" ({scenario.runs_label} runs passed, {rule})"


def _rate_lines(result: Results) -> list[str]:
    """With repeat: the pass rate with its 95% Wilson interval, and pass^k."""
    interval = result.pass_rate_interval
    if result.repeat < 2 or interval is None:
        return []
    scenarios = result.scenarios
    every = sum(scenario.pass_hat_k for scenario in scenarios)
    return [
        f"pass rate {result.pass_rate:.0%} (95% CI {interval[0]:.0%}-{interval[1]:.0%}); "
        f"pass^{result.repeat}: {every} of {len(scenarios)} scenarios passed every run"
    ]


def multi_summary(results: Several) -> list[str]:
    """Each agent's summary under its name, then what differs between the first and each other one."""
    lines = []
    for label, result in results.items():
        where = f" ({result.url})" if result.url and result.url != label else ""
        lines.append(f"== {label}{where} ==")
        lines.extend(summary_lines(result))
    for comparison in results.comparisons():
        left, right = comparison.labels
        lines.append(f"== {left} -> {right} ==")
        lines.extend(repr(comparison).splitlines())
    return lines
