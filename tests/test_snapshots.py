"""Snapshots: ``--update-snapshots`` stores each reply beside the suite; ``snapshot: 0.85``
checks the next run against it, ignoring what the suite lists as volatile."""

from __future__ import annotations

import json
import subprocess
import sys
from itertools import count

import pytest
from suite_helpers import quiet, write

from convowidget import ConvoClient, serve
from convowidget.suite import Expect, Scenario, Suite, SuiteError, load_suite

CLI = [sys.executable, "-m", "convowidget.cli"]
DEMO = """
scenarios:
  - name: install
    turns:
      - user: How do I install convowidget?
        expect: {snapshot: 0.85}
      - user: menu
"""


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*CLI, *args], capture_output=True, text=True, timeout=90)


def test_update_snapshots_stores_each_reply_and_the_next_run_checks_against_it(tmp_path):
    suite = write(tmp_path, "agent-tests.yaml", DEMO)
    missing = cli("test", str(suite), "--demo")
    assert missing.returncode == 1 and "no snapshot is stored for this turn" in missing.stdout
    updated = cli("test", str(suite), "--demo", "--update-snapshots")
    assert updated.returncode == 0, updated.stdout + updated.stderr
    assert "snapshots: stored in agent-tests.snapshots.json" in updated.stdout
    stored = json.loads((tmp_path / "agent-tests.snapshots.json").read_text(encoding="utf-8"))
    install, menu = stored["scenarios"]["install"]
    assert "pip install convowidget" in install and "Pick one" in menu
    assert cli("test", str(suite), "--demo").returncode == 0
    stored["scenarios"]["install"][0] = "Download the installer from our website and run it."
    (tmp_path / "agent-tests.snapshots.json").write_text(json.dumps(stored), encoding="utf-8")
    changed = cli("test", str(suite), "--demo")
    assert changed.returncode == 1
    assert "expected the reply to be at least 85% similar to its snapshot; it is " in changed.stdout


def volatile_agent():
    numbers = count(1000)

    def agent(request):
        n = next(numbers)
        return f"Order CW-{n}7 ships on 2031-0{n % 9 + 1}-1{n % 10} at 1{n % 10}:{n % 60:02d}, {n * 37} parcels."

    return agent


SUITE = """
{volatile}
scenarios:
  - name: order
    turns:
      - user: where is my order?
        expect: {{snapshot: 0.99}}
"""


@pytest.mark.parametrize(
    ("volatile", "passes"),
    [
        ("", False),
        ("volatile: [dates, numbers, ids]", True),
        (r"volatile: ['CW-\d+', '\d{4}-\d\d-\d\d', '\d\d:\d\d', '\d+ parcels']", True),
        ("volatile: [dates]", False),  # the order number and count still differ
    ],
)
def test_volatile_patterns_are_ignored_when_comparing(tmp_path, volatile, passes):
    path = write(tmp_path, "orders.yaml", SUITE.format(volatile=volatile))
    with serve(volatile_agent(), chunk_delay=0) as server:
        client = ConvoClient(url=server.url, agent_id="a")
        first = quiet(client, load_suite(path, update_snapshots=True))
        write(tmp_path, "orders.snapshots.json", json.dumps({"scenarios": {"order": [first.turns[0].text]}}))
        second = quiet(client, path)
    assert first.passed == 1
    assert first.turns[0].text != second.turns[0].text
    assert second.passed == int(passes), second.turns[0].failures


def test_a_python_suite_without_stored_snapshots_fails_saying_how_to_store_them(server, client):
    result = quiet(client, Suite([Scenario("s", [{"user": "hello", "expect": {"snapshot": True}}])]))
    assert result.turns[0].failures == [
        "no snapshot is stored for this turn in a snapshots file; "
        "run convowidget test SUITE --update-snapshots and review the file"
    ]
    assert Expect(snapshot=True).snapshot == 0.8 and Expect(snapshot=0.85).to_dict() == {"snapshot": 0.85}


BAD = [
    ("expect: {snapshot: 2}", "scenario 's', turn 1: snapshot: expected a similarity from 0 to 1 (or true), got"),
    ("expect: {snapshot: text}", "scenario 's', turn 1: snapshot: expected a similarity from 0 to 1 (or true), got"),
]


@pytest.mark.parametrize(("expect", "message"), BAD)
def test_a_bad_snapshot_level_is_refused_when_the_suite_loads(tmp_path, expect, message):
    with pytest.raises(SuiteError, match=message.replace("(", r"\(").replace(")", r"\)")):
        load_suite(
            write(tmp_path, "bad.yaml", f"scenarios:\n  - name: s\n    turns:\n      - user: hi\n        {expect}\n")
        )


def test_a_bad_volatile_pattern_or_snapshots_file_is_refused_when_the_suite_loads(tmp_path):
    text = "volatile: ['(unclosed']\nscenarios:\n  - name: s\n    turns: [hi]\n"
    with pytest.raises(SuiteError, match=r"bad.yaml: volatile: '\(unclosed' is not a valid regular expression"):
        load_suite(write(tmp_path, "bad.yaml", text))
    suite = write(tmp_path, "s.yaml", "scenarios:\n  - name: s\n    turns: [{user: hi, expect: {snapshot: 0.9}}]\n")
    write(tmp_path, "s.snapshots.json", '{"scenarios": {"s": "not a list"}}')
    with pytest.raises(SuiteError, match=r"s.yaml: s.snapshots.json: expected \{'scenarios'"):
        load_suite(suite)
    assert load_suite(suite, update_snapshots=True).scenarios[0].turns[0].expect.snapshot == 0.9


def test_similarity_to_a_megabyte_snapshot_is_judged(tmp_path):
    long = "".join(f"Parcel {n} left the depot on 2031-05-{n % 28 + 1:02d}. " for n in range(25_000))
    suite = write(
        tmp_path,
        "big.yaml",
        "volatile: [numbers]\nscenarios:\n  - name: big\n    turns: [{user: go, expect: {snapshot: 0.95}}]\n",
    )
    write(tmp_path, "big.snapshots.json", json.dumps({"scenarios": {"big": [long]}}))
    changed = long.replace("depot", "warehouse")
    with serve(lambda request: changed, chunk_delay=0) as server:
        result = quiet(ConvoClient(url=server.url, agent_id="a"), suite)
    assert len(long) > 1_000_000
    (failure,) = result.turns[0].failures
    assert failure.startswith("expected the reply to be at least 95% similar to its snapshot; it is 8")
