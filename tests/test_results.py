"""SuiteResult: counts, JSON round trips and comparisons, JUnit XML and pandas."""

from __future__ import annotations

import sys
import xml.etree.ElementTree as ET

import pytest
from suite_helpers import quiet

from convowidget import ConfigurationError, ConvoError
from convowidget.results import SuiteResult
from convowidget.suite import Scenario, Suite, Turn


def test_to_dataframe_has_one_row_per_scenario_turn(client):
    result = quiet(client, Suite([Scenario("a", ["start", "menu"]), Scenario("b", ["How do I install it?"])]))
    frame = result.to_dataframe()
    assert list(frame.columns[:8]) == ["scenario", "run", "turn", "prompt", "passed", "status", "failures", "reply"]
    assert {"time_to_first_chunk", "elapsed"} <= set(frame.columns)
    assert list(zip(frame.scenario, frame.turn, strict=True)) == [("a", 1), ("a", 2), ("b", 1)]
    assert frame.reply[2].startswith("### Installing convowidget")
    assert frame.passed.all()


def test_to_dataframe_without_pandas_says_how_to_get_it(client, monkeypatch):
    result = SuiteResult("s", [])
    monkeypatch.setitem(sys.modules, "pandas", None)
    with pytest.raises(ConvoError, match=r"needs pandas: pip install 'convowidget\[pandas\]'"):
        result.to_dataframe()


def test_junit_is_valid_xml_with_one_testcase_per_scenario(hostile_result, tmp_path):
    path = tmp_path / "results.xml"
    text = hostile_result.to_junit(path)
    assert path.read_text(encoding="utf-8") == text
    root = ET.parse(path).getroot()  # parses: control characters from the agent were replaced
    assert root.tag == "testsuites" and root.get("tests") == "2" and root.get("failures") == "1"
    (suite,) = root
    assert suite.get("name") == "hostile <suite>"
    cases = suite.findall("testcase")
    assert [case.get("name") for case in cases] == ["fine", "<b>hostile</b> \ufffd name"]  # 2 runs, 1 testcase
    assert cases[0].find("failure") is None
    failure = cases[1].find("failure")
    assert failure.get("message") == "passed 0 of 2 runs; run 1: turn 1: expected the reply to contain 'nothing'"
    assert failure.text.splitlines() == [
        "run 1: turn 1: expected the reply to contain 'nothing'",
        "run 2: turn 1: expected the reply to contain 'nothing'",
    ]
    assert "<script>window.__pwned = 1</script>" in cases[1].find("system-out").text


def test_junit_marks_scenarios_not_run_as_skipped():
    from convowidget.results import ScenarioResult

    runs = [ScenarioResult.planned("never", 1, [("hi", {})])]
    root = ET.fromstring(SuiteResult("s", runs, interrupted=True).to_junit())
    assert root.get("skipped") == "1"
    assert root.find("testsuite/testcase/skipped").get("message") == "not run: the run was interrupted"


def test_json_round_trip_and_compare(tmp_path, client):
    def suite(*names_and_expectations):
        scenarios = [Scenario(name, [Turn("How do I install it?", expect=e)]) for name, e in names_and_expectations]
        return Suite(scenarios)

    passes, fails = {"contains": "pip"}, {"contains": "npm"}
    before = quiet(client, suite(("a", passes), ("b", fails), ("c", fails), ("d", passes), ("gone", passes)))
    saved = tmp_path / "before.json"
    before.to_json(saved)
    again = SuiteResult.load(saved)
    assert again.to_dict() == before.to_dict()
    assert again.runs[1].turns[0].reply.text.startswith("### Installing")

    after = quiet(client, suite(("a", fails), ("b", passes), ("c", fails), ("d", passes), ("new", passes)))
    comparison = after.compare(saved)
    assert comparison == after.compare(before)
    assert (comparison.broken, comparison.fixed, comparison.still_failing) == (["a"], ["b"], ["c"])
    assert (comparison.still_passing, comparison.new, comparison.removed) == (["d"], ["new"], ["gone"])
    assert not comparison.ok
    assert repr(comparison) == (
        "Comparison: 1 broken, 1 fixed, 1 still failing, 1 new, 1 removed, 0 not run, 1 still passing\n"
        "broken:\n  'a': turn 1: expected the reply to contain 'npm'\n"
        "fixed:\n  'b'\n"
        "still failing:\n  'c': turn 1: expected the reply to contain 'npm'\n"
        "new:\n  'new': passed\n"
        "removed:\n  'gone': was passed"
    )
    with pytest.raises(ConfigurationError, match="cannot read a suite result"):
        SuiteResult.from_json('{"format": "something else"}')
