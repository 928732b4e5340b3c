"""Tokens and timings per scenario and for the suite: in to_dict, to_dataframe, JUnit, the CLI and the view."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET

import pytest
from suite_helpers import quiet, write
from test_results_view import parse_html

from convowidget import ConfigurationError, ConvoClient, Reply, serve
from convowidget.results import ScenarioResult, SuiteResult, TurnResult
from convowidget.suite import Scenario, Suite, Turn


def answer(request):
    return {"one two": "three four five", "six": "seven", "hi": "hello there"}[request.prompt]


@pytest.fixture(scope="module")
def measured():
    """Two scenarios through the embedded server, which counts words as tokens (input: the prompt)."""
    suite = Suite([Scenario("a", ["one two", "six"]), Scenario("b", [Turn("hi", expect={"contains": "nope"})])])
    with serve(answer, chunk_delay=0) as server:
        yield quiet(ConvoClient(url=server.url, agent_id="agent-7"), suite)


def test_tokens_are_summed_per_scenario_and_for_the_suite(measured):
    a, b = measured.scenarios
    assert a.tokens() == {"input_tokens": 3, "output_tokens": 4}
    assert b.tokens() == {"input_tokens": 1, "output_tokens": 2}
    assert measured.tokens() == {"input_tokens": 4, "output_tokens": 6}
    assert [turn.output_tokens for turn in measured.turns] == [3, 1, 2]
    timing = a.latency()
    assert set(timing) == {"first_chunk_p50", "first_chunk_p95", "reply_p50", "reply_p95"}
    assert 0 < timing["first_chunk_p50"] <= timing["first_chunk_p95"] and timing["reply_p50"] <= timing["reply_p95"]


def test_to_dict_and_json_keep_tokens_model_and_the_per_scenario_measures(measured):
    data = measured.to_dict()
    assert (data["summary"]["input_tokens"], data["summary"]["output_tokens"]) == (4, 6)
    assert data["summary"]["first_chunk_p95"] is not None and data["agent_id"] == "agent-7"
    rows = {row["scenario"]: row for row in data["scenarios"]}
    assert (rows["a"]["input_tokens"], rows["a"]["output_tokens"], rows["b"]["status"]) == (3, 4, "failed")
    assert rows["a"]["reply_p95"] is not None
    reply = data["runs"][0]["turns"][0]["reply"]
    assert (reply["input_tokens"], reply["output_tokens"], reply["model"]) == (2, 3, "custom")
    again = SuiteResult.from_json(measured.to_json())
    assert again.tokens() == measured.tokens() and again.to_dict() == data


def test_to_dataframe_has_token_columns_and_a_row_per_scenario(measured):
    turns = measured.to_dataframe()
    assert list(turns.input_tokens) == [2, 1, 1] and list(turns.output_tokens) == [3, 1, 2]
    assert list(turns.model) == ["custom"] * 3
    scenarios = measured.to_dataframe(by="scenario")
    assert list(scenarios.scenario) == ["a", "b"] and list(scenarios.output_tokens) == [4, 2]
    assert {"pass_rate", "pass_rate_interval", "pass_hat_k", "min_pass_rate", "first_chunk_p50", "reply_p95"} <= set(
        scenarios.columns
    )
    with pytest.raises(ConfigurationError, match="by: expected 'turn' or 'scenario'"):
        measured.to_dataframe(by="run")


def test_junit_has_properties_per_testsuite_and_per_testcase(measured):
    root = ET.fromstring(measured.to_junit())
    suite = root.find("testsuite")
    assert suite[0].tag == "properties"  # first, as the JUnit schema wants
    values = {p.get("name"): p.get("value") for p in suite.find("properties")}
    assert (values["input_tokens"], values["output_tokens"]) == ("4", "6")
    assert {"first_chunk_p50", "first_chunk_p95", "reply_p50", "reply_p95", "pass_rate"} <= set(values)
    cases = suite.findall("testcase")
    assert [case[0].tag for case in cases] == ["properties", "properties"]
    first = {p.get("name"): p.get("value") for p in cases[0].find("properties")}
    assert (first["input_tokens"], first["output_tokens"], first["pass_hat_k"]) == ("3", "4", "true")
    assert float(first["first_chunk_p50"]) > 0


def test_the_cli_summary_line_has_p50_p95_and_tokens(tmp_path, capsys):
    from convowidget.cli import main

    suite = write(tmp_path, "s.yaml", "scenarios:\n  - name: a\n    turns: [one two, six]\n")
    with serve(answer, chunk_delay=0) as server:
        assert main(["test", str(suite), "--url", server.url, "--agent-id", "a"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert re.fullmatch(
        r"first chunk p50 \d+\.\d\d s, p95 \d+\.\d\d s; whole reply p50 \d+\.\d\d s, p95 \d+\.\d\d s; "
        r"tokens 3 in, 4 out",
        lines[-2],
    ), lines


def test_the_view_shows_tokens_and_timings_per_scenario_and_turn(measured):
    page = parse_html(measured._repr_html_())
    head = [span.text() for span in page.select("div", "cwr-head")[0].select("span") if "cwr-sep" not in span.classes]
    assert head == ["status", "scenario", "runs passed", "failures", "first chunk p50 / p95", "tokens", "time"]
    rows = {row.select("summary")[0].select("span", "cwr-cell")[1].text(): row for row in page.select("details")}
    cells = [cell.text() for cell in rows["a"].select("summary")[0].select("span", "cwr-cell")]
    assert cells[5] == "3 in / 4 out" and re.fullmatch(r"\d+\.\d\d s / \d+\.\d\d s", cells[4])
    (stats,) = rows["a"].select("p", "cwr-stats")
    assert "tokens 3 in / 4 out" in stats.text() and "whole reply p50" in stats.text()
    verdicts = [p.text() for p in rows["a"].select("p", "cwr-verdict")]
    assert "tokens 2 in / 3 out" in verdicts[0] and "tokens 1 in / 1 out" in verdicts[1]
    assert "tokens 4 in / 6 out" in page.select("p", "cwr-summary")[0].text()


@pytest.mark.parametrize(
    ("key", "value"),
    [("input_tokens", -1), ("output_tokens", 1.5), ("output_tokens", True), ("input_tokens", 10**13), ("model", 7)],
)
def test_a_saved_result_with_impossible_token_counts_is_refused(key, value):
    turn = TurnResult("s", 1, 1, "hi", status="passed", reply=Reply(text="x", input_tokens=1, output_tokens=1))
    data = SuiteResult("s", [ScenarioResult("s", 1, [turn], "passed")]).to_dict()
    data["runs"][0]["turns"][0]["reply"][key] = value
    with pytest.raises(ConfigurationError, match=f"cannot read a suite result: a reply's {key}"):
        SuiteResult.from_json(json.dumps(data))
