"""Judgements that hold up: min_pass_rate, the Wilson interval of a pass rate, pass^k, re-running what failed."""

from __future__ import annotations

import json
import math
import os
import re
import subprocess
import sys
import xml.etree.ElementTree as ET

import pytest
from suite_helpers import quiet, write

from convowidget import ConfigurationError, ConvoClient, SuiteError, serve
from convowidget.results import ScenarioResult, SuiteResult, TurnResult, wilson_interval
from convowidget.suite import Scenario, Suite, Turn, load_suite

# ---------------------------------------------------------------------- the Wilson score interval

# Published 95% Wilson intervals (z = 1.96), e.g. Newcombe (1998), table I, and any statistics package.
KNOWN = [
    ((8, 10), (0.4902, 0.9433)),
    ((0, 10), (0.0, 0.2775)),
    ((10, 10), (0.7225, 1.0)),
    ((50, 100), (0.4038, 0.5962)),
    ((81, 263), (0.2553, 0.3662)),  # Newcombe's example
    ((1, 1), (0.2065, 1.0)),
]


@pytest.mark.parametrize(("counts", "expected"), KNOWN, ids=[f"{p}/{n}" for (p, n), _ in KNOWN])
def test_the_wilson_interval_matches_published_values(counts, expected):
    low, high = wilson_interval(*counts)
    assert (round(low, 4), round(high, 4)) == expected


def test_the_wilson_interval_stays_inside_0_and_1_and_narrows_with_more_runs():
    for n in range(1, 60):
        for passed in range(n + 1):
            low, high = wilson_interval(passed, n)
            assert 0 <= low <= passed / n <= high <= 1
    assert (
        wilson_interval(80, 100)[1] - wilson_interval(80, 100)[0]
        < wilson_interval(8, 10)[1] - wilson_interval(8, 10)[0]
    )
    with pytest.raises(ValueError):
        wilson_interval(3, 0)
    with pytest.raises(ValueError):
        wilson_interval(4, 3)


# ---------------------------------------------------------------------- min_pass_rate


def scripted(outcomes: str):
    """An agent whose n-th reply says "yes" when outcomes[n] is "y" (and "no" after the script ends)."""
    calls = {"n": 0}

    def agent(request):
        n = calls["n"]
        calls["n"] += 1
        return "yes" if n < len(outcomes) and outcomes[n] == "y" else "no"

    return agent


def run_scripted(outcomes: str, suite: Suite, repeat: int) -> SuiteResult:
    with serve(scripted(outcomes), chunk_delay=0) as server:
        return quiet(ConvoClient(url=server.url, agent_id="a"), suite, repeat=repeat, concurrency=1)


YES = Turn("ok?", expect={"contains": "yes"})


def test_a_scenario_passes_at_8_of_10_when_its_min_pass_rate_is_0_8():
    result = run_scripted("yyyynyyyny", Suite([Scenario("flaky", [YES], min_pass_rate=0.8)]), repeat=10)
    (summary,) = result.scenarios
    assert (summary.passed_runs, summary.status, summary.pass_hat_k) == (8, "passed", False)
    assert (result.passed, result.failed, result.ok) == (1, 0, True)
    low, high = summary.pass_rate_interval
    assert (round(low, 4), round(high, 4)) == (0.4902, 0.9433)
    assert result.pass_hat_k == 0.0  # pass^10: no scenario passed all ten runs


def test_a_scenario_fails_at_7_of_10_and_without_a_threshold_any_failed_run_fails_it():
    at_seven = run_scripted("yyynynyyny", Suite([Scenario("flaky", [YES], min_pass_rate=0.8)]), repeat=10)
    assert (at_seven.scenarios[0].status, at_seven.ok) == ("failed", False)
    strict = run_scripted("yyyyyyyyyn", Suite([Scenario("flaky", [YES])]), repeat=10)
    assert (strict.scenarios[0].status, strict.scenarios[0].passed_runs) == ("failed", 9)


def test_the_suite_sets_the_default_and_a_scenario_overrides_it():
    suite = Suite(
        [
            Scenario("lenient", [YES]),
            Scenario("strict", [YES], min_pass_rate=1),
            Scenario("zero", [YES], min_pass_rate=0),
        ],
        min_pass_rate=0.5,
    )
    assert [suite.threshold(s) for s in suite.scenarios] == [0.5, 1.0, 0.0]
    # runs in suite order within each round: lenient, strict, zero, then again
    result = run_scripted("ynnynn", suite, repeat=2)
    statuses = {s.name: (s.runs_label, s.status, s.min_pass_rate) for s in result.scenarios}
    assert statuses == {
        "lenient": ("2/2", "passed", 0.5),
        "strict": ("0/2", "failed", 1.0),
        "zero": ("0/2", "passed", 0.0),  # 0 means: report the rate, never fail on it
    }


def test_without_repeat_a_threshold_changes_nothing():
    result = run_scripted("n", Suite([Scenario("once", [YES], min_pass_rate=0.0)]), repeat=1)
    assert (result.scenarios[0].status, result.failed) == ("failed", 1)
    result = run_scripted("y", Suite([Scenario("once", [YES], min_pass_rate=1.0)]), repeat=1)
    assert result.scenarios[0].status == "passed"


def planned(statuses: list[str], threshold: float | None) -> SuiteResult:
    runs = []
    for number, status in enumerate(statuses, 1):
        run = ScenarioResult.planned("s", number, [("hi", {})], threshold)
        run.status = status
        runs.append(run)
    return SuiteResult("suite", runs, repeat=len(statuses), interrupted="not run" in statuses)


def test_an_interrupted_repeat_is_judged_only_once_the_runs_decide_it():
    # 4 runs at 0.75 need 3 passes: 3 already passed, 2 failed with 2 unknown can still go either way
    assert planned(["passed", "passed", "passed", "not run"], 0.75).scenarios[0].status == "passed"
    assert planned(["failed", "failed", "not run", "not run"], 0.75).scenarios[0].status == "failed"
    assert planned(["passed", "failed", "not run", "not run"], 0.75).scenarios[0].status == "not run"
    assert planned(["not run"] * 4, 0.0).scenarios[0].status == "not run"  # nothing finished: nothing judged


def test_min_pass_rate_is_checked_when_the_suite_loads(tmp_path):
    good = write(
        tmp_path, "s.yaml", "min_pass_rate: 0.8\nscenarios:\n  - name: a\n    min_pass_rate: 0.5\n    turns: [hi]\n"
    )
    suite = load_suite(good)
    assert (suite.min_pass_rate, suite.scenarios[0].min_pass_rate) == (0.8, 0.5)
    for bad, words in (
        ("1.5", "min_pass_rate: expected a number from 0 to 1 (0.8 is 8 runs in 10), got a number (1.5)"),
        ("-0.1", "got a number (-0.1)"),
        ("'80%'", "got text"),
        ("true", "got true (true/false)"),
        (".nan", "got a number (nan)"),
    ):
        path = write(tmp_path, "bad.yaml", f"scenarios:\n  - name: a\n    min_pass_rate: {bad}\n    turns: [hi]\n")
        with pytest.raises(SuiteError) as caught:
            load_suite(path)
        assert "scenario 'a'" in str(caught.value) and words in str(caught.value), str(caught.value)
    with pytest.raises(SuiteError, match="min_pass_rate: expected a number from 0 to 1"):
        load_suite(write(tmp_path, "top.yaml", "min_pass_rate: 2\nscenarios:\n  - name: a\n    turns: [hi]\n"))


def test_the_threshold_and_the_interval_survive_json_and_reach_junit():
    result = run_scripted("yyyynyyyny", Suite([Scenario("flaky", [YES], min_pass_rate=0.8)]), repeat=10)
    again = SuiteResult.from_json(result.to_json())
    assert again.to_dict() == result.to_dict() and again.ok
    data = result.to_dict()
    (row,) = data["scenarios"]
    assert (row["passed_runs"], row["runs"], row["min_pass_rate"], row["pass_hat_k"]) == (8, 10, 0.8, False)
    assert [round(x, 4) for x in row["pass_rate_interval"]] == [0.4902, 0.9433]
    assert data["summary"]["pass_hat_k"] == 0.0 and data["summary"]["pass_rate"] == 0.8
    case = ET.fromstring(result.to_junit()).find("testsuite/testcase")
    assert case.find("failure") is None  # 8 of 10 at 0.8: passed
    properties = {p.get("name"): p.get("value") for p in case.findall("properties/property")}
    assert properties["min_pass_rate"] == "0.8" and properties["pass_hat_k"] == "false"
    assert (properties["pass_rate_low"], properties["pass_rate_high"]) == ("0.4902", "0.9433")


@pytest.mark.parametrize(
    ("key", "value"),
    [("min_pass_rate", 7), ("min_pass_rate", "high"), ("min_pass_rate", -1)],
)
def test_a_saved_result_with_an_impossible_threshold_is_refused(key, value):
    result = planned(["passed", "failed"], 0.5)
    data = result.to_dict()
    data["runs"][0][key] = value
    with pytest.raises(ConfigurationError, match="cannot read a suite result: min_pass_rate"):
        SuiteResult.from_json(json.dumps(data))


# ---------------------------------------------------------------------- the command line

CLI = [sys.executable, "-m", "convowidget.cli"]
ENV = {k: v for k, v in os.environ.items() if not k.startswith("CONVOCORE_")}


def cli(*args: str, cwd) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*CLI, *args], capture_output=True, text=True, timeout=120, env=ENV, cwd=cwd)


SUITE = """name: s
scenarios:
  - name: install
    turns:
      - user: How do I install it?
        expect: {contains: pip}
  - name: menu
    turns:
      - user: menu
        expect: {contains: Pick one}
  - name: sometimes
    min_pass_rate: 0.8
    turns:
      - user: sometimes
        expect: {contains: "yes"}
"""


@pytest.mark.parametrize(("outcomes", "status"), [("yyyynyyyny", 0), ("yyynynyyny", 1)])
def test_the_exit_status_follows_the_thresholds(tmp_path, capsys, outcomes, status):
    """8 of 10 at min_pass_rate 0.8 exits 0, 7 of 10 exits 1."""
    from convowidget.cli import main

    suite = write(tmp_path, "s.yaml", SUITE)
    script = iter(outcomes)

    def agent(request):
        if request.prompt == "sometimes":
            return "yes" if next(script) == "y" else "no"
        return "pip install, Pick one"

    with serve(agent, chunk_delay=0) as server:
        args = ["test", str(suite), "--url", server.url, "--agent-id", "a", "--repeat", "10", "--concurrency", "1"]
        assert main(args) == status
    lines = capsys.readouterr().out.splitlines()
    if status:
        assert lines[0] == "FAILED: sometimes (7/10 runs passed, below min_pass_rate 0.8)"
        assert lines[-1].startswith("2 passed, 1 failed (90% of 30 runs passed)")
        return
    assert "passed at 8/10 runs (min_pass_rate 0.8): sometimes" in lines
    assert "pass rate 93% (95% CI 79%-98%); pass^10: 2 of 3 scenarios passed every run" in lines
    assert re.fullmatch(r"3 passed, 0 failed \(93% of 30 runs passed\) in \d+\.\d s", lines[-1])


def test_rerun_failed_runs_only_what_failed_and_names_what_is_gone(tmp_path):
    first = write(tmp_path, "s.yaml", SUITE.replace("Pick one", "nothing like it"))
    run = cli("test", "s.yaml", "--demo", "--json-file", "run.json", "--json", cwd=tmp_path)
    assert run.returncode == 1, run.stderr
    assert json.loads(run.stdout) == json.loads((tmp_path / "run.json").read_text())  # --json still prints
    saved = SuiteResult.load(tmp_path / "run.json")
    assert [s.name for s in saved.scenarios if s.status == "failed"] == ["menu", "sometimes"]

    # the suite now lacks "sometimes" and fixed "menu": only "menu" runs, and passes
    first.write_text(SUITE.replace("  - name: sometimes\n    min_pass_rate: 0.8\n", "  - name: later\n"))
    again = cli("test", "s.yaml", "--demo", "--rerun-failed", "run.json", "--json", cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    assert [s["scenario"] for s in json.loads(again.stdout)["scenarios"]] == ["menu"]
    assert "note: no longer in the suite, so not run: 'sometimes'" in again.stderr
    assert "re-running 1 of 3 scenarios: those that failed in run.json" in again.stderr


@pytest.mark.parametrize(
    ("content", "words"),
    [
        ('{"format": "something else"}', "not a convowidget suite result"),
        ("not json at all", "cannot read a suite result"),
        ('{"format": "convowidget-suite-result", "suite": "s", "runs": [], "elapsed": 1e308}', "elapsed"),
    ],
)
def test_rerun_failed_with_a_file_that_is_not_a_result_exits_2_in_one_line(tmp_path, content, words):
    write(tmp_path, "s.yaml", SUITE)
    write(tmp_path, "other.json", content)
    result = cli("test", "s.yaml", "--demo", "--rerun-failed", "other.json", cwd=tmp_path)
    lines = result.stderr.splitlines()
    assert (result.returncode, len(lines)) == (2, 1), result.stderr
    assert lines[0].startswith("convowidget: --rerun-failed: cannot read a suite result") and words in lines[0]
    assert result.stdout == ""


def test_rerun_failed_when_nothing_failed_runs_nothing(tmp_path):
    write(tmp_path, "s.yaml", SUITE.partition("  - name: sometimes")[0])
    assert cli("test", "s.yaml", "--demo", "--json-file", "ok.json", cwd=tmp_path).returncode == 0
    again = cli("test", "s.yaml", "--demo", "--rerun-failed", "ok.json", cwd=tmp_path)
    assert again.returncode == 0 and "no scenario that failed there (ok.json); nothing to run" in again.stderr
    assert again.stdout == ""


def test_a_scenario_summary_with_no_runs_is_not_judged():
    assert math.isclose(planned(["passed", "passed"], None).pass_hat_k, 1.0)
    assert SuiteResult("s", []).pass_hat_k is None and SuiteResult("s", []).pass_rate_interval is None
    turn = TurnResult("s", 1, 1, "hi", status="passed")
    assert SuiteResult("s", [ScenarioResult("s", 1, [turn], "passed")]).pass_rate_interval == (wilson_interval(1, 1))


def test_a_failed_repeat_says_what_judged_it_in_the_terminal(hostile_result):
    """Without a threshold every run must pass; the header line says so beside the count."""
    from convowidget._terminal_summary import summary_lines

    lines = summary_lines(hostile_result)
    assert lines[0] == "FAILED: <b>hostile</b> \x01 name (0/2 runs passed, every run must pass)"
    single = SuiteResult("once", [run for run in hostile_result.runs if run.run == 1])
    assert summary_lines(single)[0] == "FAILED: <b>hostile</b> \x01 name"  # one run: nothing to judge by
