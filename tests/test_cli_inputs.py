"""Every input the command line takes is checked before any work: exit 2 and one line.

Each case once ended in a traceback with exit 1 (which CI reads as "tests failed"), a
process that read ``/dev/zero`` until memory ran out, or one blocked forever on a FIFO.
The real command runs in a subprocess, its memory capped so that a regression fails the
test rather than the machine.
"""

from __future__ import annotations

import contextlib
import json
import os
import resource
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from suite_helpers import write

from convowidget import ConfigurationError, serve
from convowidget.results import SuiteResult

CLI = [sys.executable, "-m", "convowidget.cli"]
ENV = {k: v for k, v in os.environ.items() if not k.startswith("CONVOCORE_")}
GOOD = (
    "scenarios:\n  - name: install\n    turns:\n      - user: How do I install it?\n        expect: {contains: pip}\n"
)
DEEP = "[" * 100_000 + "]" * 100_000


def _two_gib_at_most() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (2 * 2**30, 2 * 2**30))


def run(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*CLI, *args], capture_output=True, text=True, timeout=60, env=ENV, cwd=cwd, preexec_fn=_two_gib_at_most
    )


def cassette_line(**fields) -> str:
    line = {"convo_id": "c", "prompt": "How do I install it?", "frames": [[0.1, "{}"]], "close": {"code": 1000}}
    return json.dumps({**line, **fields}) + "\n"


def _fifo(folder: Path, stack: contextlib.ExitStack) -> str:
    os.mkfifo(folder / "fifo")
    return "fifo"


def _taken_port(folder: Path, stack: contextlib.ExitStack) -> str:
    listener = stack.enter_context(socket.socket())  # listening until the test ends
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    return str(listener.getsockname()[1])


def _file(name: str, text: str):
    return lambda folder, stack: str(write(folder, name, text))


def _cassette(text: str):
    return lambda folder, stack: str(write(folder, "session.jsonl", text))


def _path(path: str):
    return lambda folder, stack: path


# (what was tried, the arguments with {} for what the setup returns, the setup, words the line holds)
CASES = [
    ("a list as a YAML key", ["test", "{}", "--demo"], _file("s.yaml", "? [a, b]\n: 1\n"), "a key must be text"),
    ("a YAML suite nested 100,000 deep", ["test", "{}", "--demo"], _file("s.yaml", DEEP), "nested too deeply"),
    ("a JSON suite nested 100,000 deep", ["test", "{}", "--demo"], _file("s.json", DEEP), "nested too deeply"),
    ("/dev/zero as the suite", ["test", "{}", "--demo"], _path("/dev/zero"), "character device"),
    ("a FIFO as the suite", ["test", "{}", "--demo", "--junit", "r.xml"], _fifo, "FIFO"),
    ("a suite over 10 MiB", ["test", "{}", "--demo"], _file("s.yaml", "#" * (10 * 2**20 + 1)), "larger than 10 MiB"),
    ("a cassette nested 100,000 deep", ["test", "good.yaml", "--replay", "{}"], _cassette(DEEP), "nested too deeply"),
    (
        "bad base64 in a cassette",
        ["test", "good.yaml", "--replay", "{}"],
        _cassette(cassette_line(frames=[[0.1, {"base64": "abc"}]])),
        "line 1",
    ),
    (
        "a frame's time of 10**400 s in a cassette",
        ["test", "good.yaml", "--replay", "{}"],
        _cassette(cassette_line().replace("0.1", "1" + "0" * 400)),
        "line 1",
    ),
    ("/dev/zero as the cassette", ["serve", "--port", "0", "--replay", "{}"], _path("/dev/zero"), "device"),
    (
        "--junit in a missing folder",
        ["test", "{}", "--demo", "--junit", "no/such/folder/r.xml"],
        _file("s.yaml", GOOD),
        "--junit",
    ),
    (
        "--html in a missing folder",
        ["test", "{}", "--demo", "--html", "no/such/folder/r.html"],
        _file("s.yaml", GOOD),
        "--html",
    ),
    ("--record into a FIFO nothing reads", ["test", "good.yaml", "--demo", "--record", "{}"], _fifo, "--record"),
    ("serve --host that is no address", ["serve", "--host", "no such host!", "--port", "0"], None, "no such host!"),
    ("serve --port 70000", ["serve", "--port", "70000"], None, "--port"),
    ("demo --port 70000", ["demo", "--no-browser", "--port", "70000"], None, "--port"),
    ("serve on a port in use", ["serve", "--port", "{}"], _taken_port, "already listens there"),
]


@pytest.mark.parametrize(("tried", "args", "setup", "words"), CASES, ids=[case[0] for case in CASES])
def test_bad_input_exits_2_with_one_line_before_any_work(tmp_path, tried, args, setup, words):
    write(tmp_path, "good.yaml", GOOD)
    with contextlib.ExitStack() as stack:
        given = setup(tmp_path, stack) if setup else ""
        result = run(*[arg.replace("{}", given) for arg in args], cwd=tmp_path)
    lines = result.stderr.splitlines()
    assert (result.returncode, len(lines)) == (2, 1), result.stderr[-2000:]
    assert lines[0].startswith("convowidget: ") and words in lines[0], lines[0]
    assert "Traceback" not in result.stderr and result.stdout == ""
    assert [path.name for path in tmp_path.iterdir() if path.suffix in (".xml", ".html")] == []  # none left behind


def test_a_regex_that_backtracks_fails_the_test_command_with_a_sentence(tmp_path):
    suite = write(
        tmp_path, "s.yaml", "scenarios:\n  - name: a\n    turns:\n      - {user: x, expect: {regex: '(a|aa)+$'}}\n"
    )
    with serve(lambda request: "a" * 40 + "!", chunk_delay=0) as server:
        result = run("test", str(suite), "--url", server.url, "--agent-id", "a", cwd=tmp_path)
    assert result.returncode == 1, result.stderr
    assert (
        "turn 1: the regex /(a|aa)+$/ took longer than 1 s on a 41-character reply: "
        "it backtracks catastrophically; rewrite it"
    ) in result.stdout


# ---------------------------------------------------------------------- a saved result


def saved(**fields) -> str:
    return json.dumps({"format": "convowidget-suite-result", "version": 1, "suite": "s", "runs": [], **fields})


@pytest.mark.parametrize(
    ("text", "words"),
    [
        (DEEP, "nested too deeply"),
        (saved(started_at=1e308), "started_at: expected a number of seconds, got 1e+308"),
        (saved(elapsed=1e308), "elapsed: expected a number of seconds"),
        (saved().replace('"runs": []', '"elapsed": NaN, "runs": []'), "NaN"),
        (
            saved(runs=[{"scenario": "a", "run": 1, "status": "passed", "turns": [{"reply": {"elapsed": -1}}]}]),
            "a reply's elapsed",
        ),
    ],
)
def test_loading_a_bad_saved_result_raises_a_configuration_error(tmp_path, text, words):
    path = write(tmp_path, "previous.json", text)
    with pytest.raises(ConfigurationError, match="cannot read a suite result") as raised:
        SuiteResult.load(path)
    assert words in str(raised.value)


def test_loading_a_result_from_a_fifo_or_device_refuses_without_reading(tmp_path):
    os.mkfifo(tmp_path / "fifo")
    for path in (tmp_path / "fifo", "/dev/zero", tmp_path / "missing.json"):
        with pytest.raises(ConfigurationError, match=f"cannot read a suite result from {path}"):
            SuiteResult.load(path)


def test_recording_into_a_fifo_nothing_reads_refuses_instead_of_waiting(tmp_path):
    from convowidget import Recorder

    os.mkfifo(tmp_path / "fifo")
    with pytest.raises(ConfigurationError, match=r"record: cannot write the cassette .*FIFO"):
        Recorder(tmp_path / "fifo")
