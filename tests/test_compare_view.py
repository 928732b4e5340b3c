"""Compare, seen: two runs (or two agents) side by side, turn by turn, with the differences marked."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import xml.etree.ElementTree as ET

import pytest
from suite_helpers import HOSTILE, quiet, write
from test_results_view import parse_html

from convowidget import ConfigurationError, ConvoClient, MultiResult, run_suite, serve
from convowidget.results import Comparison, SuiteResult
from convowidget.suite import Scenario, Suite, Turn

SUITE = Suite(
    [
        Scenario("same", [Turn("hello", expect={"contains": "hi"})]),
        Scenario("worded", [Turn("price?", expect={"contains": "$"}), Turn("thanks", expect={"contains": "welcome"})]),
        Scenario("hostile", [Turn("bad", expect={"contains": "fine"})]),
    ],
    name="compared",
)


def agent_a(request):
    return {
        "hello": "hi there",
        "price?": "The pro plan costs $29 a month.",
        "thanks": "You are welcome.",
        "bad": "all fine",
    }[request.prompt]


def agent_b(request):
    return {
        "hello": "hi there",
        "price?": "The pro plan costs $35 a month, billed yearly.",
        "thanks": "You are welcome.",
        "bad": HOSTILE,
    }[request.prompt]


@pytest.fixture(scope="module")
def two_agents():
    with serve(agent_a, chunk_delay=0) as a, serve(agent_b, chunk_delay=0) as b:
        yield ConvoClient(url=a.url, agent_id="agent-a"), ConvoClient(url=b.url + "?key=SECRET-9f", agent_id="agent-b")


@pytest.fixture(scope="module")
def multi(two_agents):
    first, second = two_agents
    return run_suite(SUITE, clients={"A": first, "B": second}, progress=False)


def test_run_suite_takes_the_suite_first_with_clients_and_keeps_the_old_form(two_agents, multi):
    first, second = two_agents
    assert isinstance(multi, MultiResult) and list(multi) == ["A", "B"]
    assert (multi["A"].passed, multi["B"].passed, multi["B"].failed) == (3, 2, 1)
    assert (multi["A"].agent_id, multi["B"].agent_id) == ("agent-a", "agent-b")
    assert "SECRET" not in multi["B"].url and multi["B"].url.endswith("/interact")
    assert not multi.ok and not multi.interrupted
    single = run_suite(first, SUITE, progress=False)  # the first form, as before
    assert isinstance(single, SuiteResult) and single.ok
    assert isinstance(run_suite(client=first, suite=SUITE, progress=False), SuiteResult)
    for bad in (
        lambda: run_suite(SUITE, clients={"A": first}),
        lambda: run_suite(SUITE, SUITE, clients={"A": first, "B": second}),
        lambda: run_suite(SUITE, clients={"": first, "B": second}),
        lambda: run_suite(first),
    ):
        with pytest.raises(ConfigurationError):
            bad()


def test_compare_keeps_its_attributes_and_knows_both_runs(multi):
    comparison = multi.compare()
    assert isinstance(comparison, Comparison)
    assert (comparison.broken, comparison.still_passing, comparison.fixed) == (["hostile"], ["same", "worded"], [])
    assert (comparison.new, comparison.removed, comparison.not_run, comparison.still_failing) == ([], [], [], [])
    assert comparison.notes["hostile"] == "turn 1: expected the reply to contain 'fine'" and not comparison.ok
    assert comparison.labels == ("A", "B") and comparison.before is multi["A"] and comparison.after is multi["B"]
    backwards = multi.compare("B", "A")
    assert backwards.fixed == ["hostile"] and backwards.labels == ("B", "A")
    assert multi["B"].compare(multi["A"]) == comparison  # the same groups, whichever way it was made
    assert multi["B"].compare(multi["A"]).labels == ("previous run", "this run")
    with pytest.raises(KeyError, match="no agent named 'C'"):
        multi.compare("A", "C")


def rows_of(page, scenario: str):
    (table,) = [div for div in page.select("div", "cwr-cmp-scenario") if div.select("strong")[0].text() == scenario]
    return table, table.select("tr", "cwr-cmp-turn")


def test_the_view_puts_each_turn_side_by_side_with_the_words_that_changed_marked(multi):
    page = parse_html(multi.compare().to_html())
    (toggle,) = page.select("input")
    assert toggle.attrs == {"type": "checkbox", "checked": None}  # "Only differences", on at first
    assert toggle.parent.tag == "label" and toggle.parent.text().strip() == "Only differences"

    same, (row,) = rows_of(page, "same")
    assert "cwr-same" in same.classes and "cwr-same" in row.classes  # hidden while the box is checked

    worded, rows = rows_of(page, "worded")
    assert "cwr-same" not in worded.classes
    assert ["cwr-same" in row.classes for row in rows] == [False, True]  # turn 2 said the same
    left, right = rows[0].select("td")
    assert [d.text() for d in left.select("del")] == ["$29", "month."] and not left.select("ins")
    assert [i.text() for i in right.select("ins")] == ["$35", "month, billed yearly."] and not right.select("del")
    assert left.select("div", "cwr-diff")[0].text() == "The pro plan costs $29 a month."
    assert right.select("div", "cwr-diff")[0].text() == "The pro plan costs $35 a month, billed yearly."
    heads = [th.text() for th in worded.select("thead")[0].select("th")]
    assert heads[0] == "turn" and heads[1].startswith("A✓ passed") and heads[2].startswith("B✓ passed")
    assert "tokens" in heads[1] and "first chunk p50" in heads[1]


def test_hostile_text_in_a_comparison_stays_text(multi):
    html = multi.compare().to_html()
    assert "<script>" not in html and "<img src=x" not in html and "onerror=" not in html.replace("onerror=&quot;", "")
    page = parse_html(html)
    hostile, (row,) = rows_of(page, "hostile")
    assert "broken" in hostile.select("span", "cwr-cmp-broken")[0].text()
    right = row.select("td")[1]
    assert right.select("div", "cwr-diff")[0].text() == HOSTILE
    assert [li.text() for li in right.select("li")] == ["✗ expected the reply to contain 'fine'"]
    for element in page.iter():
        assert not [name for name in element.attrs if name.startswith("on")]
        assert element.tag not in ("script", "img", "iframe", "object")


def test_the_multi_view_shows_each_agent_then_the_comparison(multi, tmp_path):
    page = parse_html(multi.to_html(tmp_path / "agents.html"))
    (agents,) = page.select("table", "cwr-agents")
    rows = [[td.text() for td in tr.select("td")] for tr in agents.select("tbody")[0].select("tr")]
    assert [row[0] for row in rows] == ["A", "B"] and [row[2:4] for row in rows] == [["3", "0"], ["2", "1"]]
    assert all("SECRET" not in cell for row in rows for cell in row)
    assert rows[0][6] == "4 in / 14 out"  # the embedded server counts words as tokens
    assert len(page.select("div", "cwr-compare")) == 1
    assert (tmp_path / "agents.html").read_text(encoding="utf-8").startswith("<!doctype html>")
    data = json.loads(multi.to_json())
    assert data["format"] == "convowidget-multi-result" and list(data["results"]) == ["A", "B"]
    root = ET.fromstring(multi.to_junit())
    assert [s.get("name") for s in root.findall("testsuite")] == ["compared [A]", "compared [B]"]
    assert (root.get("tests"), root.get("failures")) == ("6", "1")


def test_only_differences_says_so_when_nothing_differs(two_agents):
    first, _ = two_agents
    one, two = quiet(first, SUITE), quiet(first, SUITE)
    page = parse_html(two.compare(one)._repr_html_())
    notes = [p.text() for p in page.select("p", "cwr-hidden-note")]
    assert notes == ["No differences: every turn gave the same text and verdict."]
    assert all("cwr-same" in div.classes for div in page.select("div", "cwr-cmp-scenario"))


def test_a_scenario_only_one_side_has_is_shown_against_nothing(two_agents):
    first, _ = two_agents
    before = quiet(first, Suite(SUITE.scenarios[:2], name="compared"))
    after = quiet(first, Suite(SUITE.scenarios[1:], name="compared"))
    comparison = after.compare(before)
    assert (comparison.new, comparison.removed) == (["hostile"], ["same"])
    page = parse_html(comparison._repr_html_())
    removed, (row,) = rows_of(page, "same")
    assert "cwr-same" not in removed.classes
    assert row.select("td")[1].text() == "(no such turn)"
    assert "not in this run" in removed.select("thead")[0].text()


# ---------------------------------------------------------------------- the command line

CLI = [sys.executable, "-m", "convowidget.cli"]
ENV = {k: v for k, v in os.environ.items() if not k.startswith("CONVOCORE_")}
YAML = """name: compared
scenarios:
  - name: install
    turns:
      - user: How do I install it?
        expect: {contains: pip}
"""


def test_compare_url_runs_the_suite_against_both_and_writes_the_view(tmp_path):
    write(tmp_path, "s.yaml", YAML)

    def other(request):
        return "Use conda."

    with serve(other, chunk_delay=0) as server:
        url = server.url
        args = ["test", "s.yaml", "--demo", "--compare-url", url, "--html", "c.html", "--junit", "c.xml"]
        run = subprocess.run([*CLI, *args], capture_output=True, text=True, timeout=120, env=ENV, cwd=tmp_path)
    assert run.returncode == 1, run.stderr  # the second agent fails
    out = run.stdout.splitlines()
    first = out.index(f"== {url} ==")  # named by its address, said once
    assert out[0].startswith("== demo (ws://127.0.0.1:") and out[first - 1].startswith("1 passed, 0 failed in ")
    assert out[first + 1 : first + 3] == ["FAILED: install", "    turn 1: expected the reply to contain 'pip'"]
    assert f"== demo -> {url} ==" in out
    assert "Comparison: 1 broken, 0 fixed, 0 still failing, 0 new, 0 removed, 0 not run, 0 still passing" in out
    page = parse_html((tmp_path / "c.html").read_text(encoding="utf-8"))
    first_row = page.select("table", "cwr-agents")[0].select("tbody")[0].select("tr")[0]
    assert first_row.select("td")[0].text() == "demo"
    assert page.select("span", "cwr-cmp-broken")[0].text() == "broken"
    assert len(ET.parse(tmp_path / "c.xml").getroot().findall("testsuite")) == 2


def test_compare_url_refuses_record_and_a_bad_address_in_one_line(tmp_path):
    write(tmp_path, "s.yaml", YAML)
    for extra, words in (
        (["--compare-url", "ws://127.0.0.1:9/interact", "--record", "c.jsonl"], "--record records one agent"),
        (["--compare-url", "http://example.com/"], "ws"),
    ):
        run = subprocess.run(
            [*CLI, "test", "s.yaml", "--demo", *extra],
            capture_output=True,
            text=True,
            timeout=60,
            env=ENV,
            cwd=tmp_path,
        )
        lines = run.stderr.splitlines()
        assert run.returncode == 2 and lines[-1].startswith("convowidget: ") and words in lines[-1], run.stderr
