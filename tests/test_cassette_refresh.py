"""Cassettes that refresh: recording an exchange again replaces the old one (newest wins).

Before, re-recording appended: the file doubled and replay kept answering from the first
recording, so CI passed on answers the agent no longer gave.
"""

from __future__ import annotations

import json
import subprocess
import sys
import warnings

import pytest
from suite_helpers import quiet, write

from convowidget import ConfigurationError, ConvoClient, serve
from convowidget.cassette import Cassette, Recorder, Replay
from convowidget.suite import Scenario, Suite

SUITE = Suite([Scenario("pricing", ["start", "price?"]), Scenario("hello", ["hello"])])


def record(path, answer: str, suite: Suite = SUITE, **options) -> object:
    """Record ``suite`` against an agent that answers ``answer: <prompt>``; the refresh's report."""
    with serve(lambda request: f"{answer}: {request.prompt}", chunk_delay=0) as server, Recorder(path) as recorder:
        quiet(ConvoClient(url=server.url, agent_id="a", record=recorder), suite, **options)
    return recorder


def replayed(path) -> list[str]:
    with serve(replay=path, pace=0) as server:
        return [turn.text for turn in quiet(ConvoClient(url=server.url, agent_id="a"), SUITE).turns]


def lines(path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_recording_again_replaces_each_exchange_instead_of_appending(tmp_path):
    path = tmp_path / "session.jsonl"
    record(path, "answer v1")
    assert len(lines(path)) == 3
    with Recorder(path) as recorder:
        with serve(lambda request: f"answer v2: {request.prompt}", chunk_delay=0) as server:
            quiet(ConvoClient(url=server.url, agent_id="a", record=recorder), SUITE)
        assert len(lines(path)) == 6  # appended as it records: a crash keeps everything
    assert len(lines(path)) == 3  # ...then the older recordings are dropped
    assert {line["recording"] for line in lines(path)} == {recorder.recording}
    assert replayed(path) == ["answer v2: start", "answer v2: price?", "answer v2: hello"]


def test_refresh_says_how_many_exchanges_it_replaced_and_added(tmp_path):
    path = tmp_path / "session.jsonl"
    first = Recorder(path)
    with serve(lambda request: "v1", chunk_delay=0) as server:
        quiet(ConvoClient(url=server.url, agent_id="a", record=first), SUITE)
    assert str(first.refresh()) == "0 exchanges replaced, 3 added (3 exchanges in the cassette)"
    bigger = Suite([*SUITE.scenarios, Scenario("new", ["something new"])])
    second = Recorder(path)
    with serve(lambda request: "v2", chunk_delay=0) as server:
        quiet(ConvoClient(url=server.url, agent_id="a", record=second), bigger)
    refreshed = second.refresh()
    assert (refreshed.replaced, refreshed.added, refreshed.dropped, refreshed.exchanges) == (3, 1, 3, 4)
    assert str(refreshed) == "3 exchanges replaced, 1 added (4 exchanges in the cassette)"
    assert second.refresh().dropped == 0  # nothing left to drop


def test_a_later_turn_is_replaced_only_in_the_same_conversation_so_far(tmp_path):
    path = tmp_path / "session.jsonl"
    record(path, "v1", Suite([Scenario("a", ["start", "yes"]), Scenario("b", ["hello", "yes"])]))
    record(path, "v2", Suite([Scenario("a", ["start", "yes"])]))
    cassette = Cassette.load(path)
    assert sorted((e.prompt, e.frames[0][1].count("v2") > 0) for e in cassette.exchanges) == [
        ("hello", False),
        ("start", True),
        ("yes", False),  # "yes" after "hello" is another exchange than "yes" after "start"
        ("yes", True),
    ]


def test_a_recording_with_repeat_keeps_each_run_and_replays_them_in_turn(tmp_path):
    path, once = tmp_path / "session.jsonl", Suite([Scenario("s", ["hi"])])
    answers = iter(range(100))
    with serve(lambda request: f"run-{next(answers)}", chunk_delay=0) as server, Recorder(path) as recorder:
        quiet(ConvoClient(url=server.url, agent_id="a", record=recorder), once, repeat=3)
    assert len(lines(path)) == 3
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # repeats of one recording are not duplicates: no warning
        with serve(replay=path, pace=0) as server:
            result = quiet(ConvoClient(url=server.url, agent_id="a"), once, repeat=3)
    assert sorted(turn.text for turn in result.turns) == ["run-0", "run-1", "run-2"]


def test_replay_of_a_cassette_with_duplicates_uses_the_newest_and_warns_once(tmp_path):
    path = tmp_path / "session.jsonl"
    for answer in ("v1", "v2", "v3"):  # three recordings, never refreshed: the file grew
        with serve(lambda request, answer=answer: answer, chunk_delay=0) as server:
            quiet(ConvoClient(url=server.url, agent_id="a", record=path), SUITE)
    assert len(lines(path)) == 9
    with pytest.warns(
        UserWarning, match="holds 6 exchanges recorded again later; replay answers with the newest"
    ) as seen:
        texts = replayed(path) + replayed(path)
    assert texts == ["v3"] * 6
    assert len([w for w in seen if "recorded again" in str(w.message)]) == 2  # once per replay, not per request


def exchange(number: int, convo_id: str, recording: str | None) -> str:
    frame = json.dumps({"type": "chunk", "chunk": f"answer {number}", "chunkIndex": 0})
    line = {"convo_id": convo_id, "prompt": "hi", "request": {}, "frames": [[0, frame]], "close": {"code": 1000}}
    if recording is not None:
        line["recording"] = recording
    return json.dumps(line)


@pytest.mark.parametrize("recorded", ["by separate recordings", "by an older convowidget (no recording ids)"])
def test_ten_thousand_duplicates_replay_the_newest(tmp_path, recorded):
    separate = recorded.startswith("by separate")
    path = write(
        tmp_path,
        "many.jsonl",
        "\n".join(exchange(n, f"c{n}", f"r{n}" if separate else None) for n in range(10_000)) + "\n",
    )
    with pytest.warns(UserWarning, match="holds 9,999 exchanges recorded again later"):
        replay = Replay(path, pace=0)
    for n in range(50):
        assert json.loads(replay.answer({"convoId": f"x{n}", "prompt": "hi"}).frames[0][1])["chunk"] == "answer 9999"
    recorder = Recorder(path)
    refreshed = recorder.refresh()
    assert (refreshed.dropped, refreshed.exchanges) == (9_999, 1)
    assert len(lines(path)) == 1 and "answer 9999" in path.read_text(encoding="utf-8")


def test_recording_onto_a_file_that_is_not_a_cassette_is_refused_before_anything_is_sent(tmp_path):
    path = write(tmp_path, "notes.jsonl", "my notes, not a cassette\n")
    with pytest.raises(ConfigurationError, match=r"record: .*notes\.jsonl is not a cassette this can add to"):
        Recorder(path)
    assert path.read_text(encoding="utf-8") == "my notes, not a cassette\n"


CLI = [sys.executable, "-m", "convowidget.cli"]
SUITE_FILE = "scenarios:\n  - name: greet\n    turns: [start, menu]\n"


def test_the_cli_says_what_record_replaced_and_added(tmp_path):
    suite, cassette = write(tmp_path, "s.yaml", SUITE_FILE), tmp_path / "session.jsonl"
    outputs = []
    for _ in range(2):
        done = subprocess.run(
            [*CLI, "test", str(suite), "--demo", "--record", str(cassette)], capture_output=True, text=True, timeout=60
        )
        assert done.returncode == 0, done.stderr
        outputs.append(done.stdout.splitlines())
    assert "cassette session.jsonl: 0 exchanges replaced, 2 added (2 exchanges in the cassette)" in outputs[0]
    assert "cassette session.jsonl: 2 exchanges replaced, 0 added (2 exchanges in the cassette)" in outputs[1]
    assert outputs[1][-1].startswith("1 passed, 0 failed")
    assert len(lines(cassette)) == 2
