"""The command line, run as a user would run it."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import signal
import subprocess
import sys
import threading
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from convowidget import Faults, serve

CLI = [sys.executable, "-m", "convowidget.cli"]
ENV = {k: v for k, v in os.environ.items() if not k.startswith("CONVOCORE_")}


def run(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*CLI, *args], capture_output=True, text=True, timeout=timeout, env=ENV)


def test_help_lists_commands_and_examples():
    result = run("--help")
    assert result.returncode == 0
    for word in ("serve", "ask", "demo", "examples:", "CONVOCORE_OWNER_ID"):
        assert word in result.stdout


def test_ask_streams_text_from_the_demo_agent_when_nothing_is_configured():
    result = run("ask", "How do I install convowidget?")
    assert result.returncode == 0, result.stderr
    assert "pip install convowidget" in result.stdout
    assert "Sources: kb/getting-started.md" in result.stdout
    assert "local demo agent" in result.stderr


def test_ask_json_prints_one_event_per_line():
    result = run("ask", "--json", "I need a human")
    events = [json.loads(line) for line in result.stdout.splitlines()]
    types = [e["type"] for e in events]
    assert types[0] == "debug" and "chunk" in types and "action" in types
    assert types[-2:] == ["metadata", "sync_chat_history"]


def test_ask_against_a_failing_server_exits_1_with_the_reason():
    with serve(lambda request: "x " * 20, chunk_delay=0, faults=Faults(close_after=2, close_code=1011)) as server:
        result = run("ask", "--url", server.url, "--agent-id", "a", "hi")
    assert result.returncode == 1
    assert result.stdout.startswith("x x ")
    assert "code 1011" in result.stderr


def test_bad_arguments_exit_2_with_a_clear_message():
    result = run("ask", "--url", "ws://example.com/interact", "--agent-id", "a", "hi")
    assert result.returncode == 2 and "use wss://" in result.stderr and "Traceback" not in result.stderr
    result = run("ask", "--agent-id", "a", "--url", "ws://127.0.0.1:1/interact", "   ")
    assert result.returncode == 2 and "prompt" in result.stderr


def test_serve_prints_its_url_and_answers():
    process = subprocess.Popen(
        [*CLI, "serve", "--port", "0"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=ENV
    )
    try:
        line = process.stdout.readline()
        assert "ws://127.0.0.1:" in line
        url = line.split(" on ")[1].strip()
        assert not url.endswith(":0/interact")
        result = run("ask", "--url", url, "--agent-id", "demo", "start")
        assert result.returncode == 0 and "demo agent" in result.stdout
    finally:
        process.terminate()
        process.wait(10)


def test_wheel_carries_the_bundle_and_every_demo_notebook(tmp_path):
    import zipfile

    root = Path(__file__).resolve().parent.parent
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "-w", str(tmp_path), str(root)],
        check=True,
        timeout=300,
    )
    (wheel,) = tmp_path.glob("convowidget-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    expected = {
        "convowidget/static/widget.js",
        "convowidget/static/widget.css",
        *(f"convowidget/_notebooks/{path.name}" for path in (root / "notebooks").glob("*.ipynb")),
        "convowidget/kb/panel.md",
        "convowidget/py.typed",
    }
    assert expected <= names


def test_demo_folder_keeps_edits_and_adds_only_missing_notebooks(tmp_path, monkeypatch):
    from convowidget import cli

    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    folder = cli._demo_folder()
    assert folder.is_relative_to(tmp_path)  # persistent, not a new temp folder per run
    first = cli._copy_notebooks(folder)
    assert "quickstart.ipynb" in first and len(first) == len(cli._notebooks()) >= 4
    (folder / "quickstart.ipynb").write_text("my edits")
    (folder / "custom_agent.ipynb").unlink()
    assert cli._copy_notebooks(folder) == ["custom_agent.ipynb"]
    assert (folder / "quickstart.ipynb").read_text() == "my edits"


def test_demo_serves_the_notebooks_in_jupyterlab_and_the_demo_agent(tmp_path):
    import re
    import socket
    import time
    import urllib.request

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = {**ENV, "JUPYTER_CONFIG_DIR": str(tmp_path / "config"), "JUPYTER_RUNTIME_DIR": str(tmp_path / "runtime")}
    folder = tmp_path / "demo"
    process = subprocess.Popen(
        [*CLI, "demo", "--no-browser", "--port", str(port), "--dir", str(folder)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
    )
    try:
        lines: list[str] = []
        deadline = time.monotonic() + 90
        lab_url = None
        while lab_url is None and time.monotonic() < deadline:
            line = process.stdout.readline()
            assert line, "convowidget demo exited early:\n" + "".join(lines)
            lines.append(line)
            found = re.search(rf"http://127\.0\.0\.1:{port}/lab/tree/quickstart\.ipynb\?token=\w+", line)
            lab_url = found.group(0) if found else None
        assert lab_url, "".join(lines)
        agent_url = re.search(r"demo agent on (ws://\S+);", "".join(lines)).group(1)
        notebooks = sorted(path.name for path in (Path(__file__).resolve().parent.parent / "notebooks").glob("*.ipynb"))
        assert sorted(path.name for path in folder.glob("*.ipynb")) == notebooks  # all of them, not just one
        token = lab_url.rsplit("=", 1)[1]
        api = f"http://127.0.0.1:{port}/api/contents/quickstart.ipynb?token={token}&content=0"
        for _ in range(100):  # the address can be printed a moment before the port accepts
            try:
                with urllib.request.urlopen(api, timeout=10) as response:
                    assert response.status == 200
                    break
            except OSError:
                time.sleep(0.2)
        else:
            raise AssertionError(f"JupyterLab never answered at {api}")
        result = run("ask", "--url", agent_url, "--agent-id", "demo", "start")
        assert result.returncode == 0 and "demo agent" in result.stdout
    finally:
        process.terminate()  # what a process manager sends: JupyterLab must stop with the demo
        process.wait(30)
    deadline = time.monotonic() + 30
    while True:
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) != 0:
                break  # JupyterLab's port is closed: it did not outlive the demo
        assert time.monotonic() < deadline, "JupyterLab kept running after convowidget demo was stopped"
        time.sleep(0.2)


# ---------------------------------------------------------------------------- convowidget test

SUITE = """name: demo agent
scenarios:
  - name: greets
    turns:
      - user: start
        expect: {contains: demo agent}
  - name: install, then a human
    turns:
      - user: How do I install it?
        expect: {contains: pip install, regex: 'Python 3\\.\\d+', sources_include: getting-started}
      - user: I want to talk to a human
        expect: {handoff: true}
"""
SUMMARY = r"(\d+) passed, (\d+) failed in \d+\.\d s"


def suite_file(tmp_path: Path, name: str, text: str = SUITE) -> str:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return str(path)


def test_test_command_passes_and_fails_with_a_plain_summary_last(tmp_path):
    junit, page = tmp_path / "results.xml", tmp_path / "results.html"
    result = run("test", suite_file(tmp_path, "good.yaml"), "--demo", "--junit", str(junit), "--html", str(page))
    assert result.returncode == 0, result.stderr
    assert re.fullmatch(SUMMARY, result.stdout.splitlines()[-1]).groups() == ("2", "0")
    assert "testing against: Local demo agent" in result.stderr
    assert ET.parse(junit).getroot().get("tests") == "2"
    assert 'class="cwr-results"' in page.read_text(encoding="utf-8")

    failing = suite_file(tmp_path, "failing.yaml", SUITE.replace("{handoff: true}", "{handoff: true, contains: npm}"))
    result = run("test", failing, "--demo")
    assert result.returncode == 1, result.stderr
    lines = result.stdout.splitlines()
    assert lines[:2] == ["FAILED: install, then a human", "    turn 2: expected the reply to contain 'npm'"]
    assert lines[-2].startswith("first chunk p50 ")
    assert re.fullmatch(SUMMARY, lines[-1]).groups() == ("1", "1")


def test_test_command_json_goes_to_stdout_and_the_summary_to_stderr(tmp_path):
    result = run("test", suite_file(tmp_path, "good.yaml"), "--demo", "--json", "--repeat", "2")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["summary"]["passed"] == 2 and data["repeat"] == 2 and len(data["runs"]) == 4
    assert re.fullmatch(r"2 passed, 0 failed \(100% of 4 runs passed\) in \d+\.\d s", result.stderr.splitlines()[-1])


def test_test_command_exits_2_for_a_bad_suite_or_bad_arguments(tmp_path):
    good = suite_file(tmp_path, "good.yaml")
    cases = [
        (["test", suite_file(tmp_path, "bad.yaml", SUITE.replace("expect:", "expects:", 1))], "unknown key 'expects'"),
        (["test", str(tmp_path / "missing.yaml"), "--demo"], "no suite file at"),
        (["test", good], "no agent to test: pass --agent-id"),
        (["test", good, "--demo", "--url", "ws://127.0.0.1:9/interact"], "drop --url and --agent-id"),
        (["test", good, "--replay", str(tmp_path / "none.jsonl")], "no cassette at"),
        (["test", good, "--demo", "--record", str(tmp_path / "no" / "dir.jsonl")], "cannot write the cassette"),
        (["test", good, "--demo", "--concurrency", "0"], "expected a whole number of at least 1, got 0"),  # argparse
        (["test", good, "--demo", "--junit"], "expected one argument"),  # argparse
    ]
    for args, message in cases:
        result = run(*args)
        assert (result.returncode, message in result.stderr) == (2, True), (args, result.stderr)
        assert "Traceback" not in result.stderr


def test_test_command_records_a_session_that_serve_replays(tmp_path):
    cassette = tmp_path / "session.jsonl"
    recorded = run("test", suite_file(tmp_path, "good.yaml"), "--demo", "--record", str(cassette))
    assert recorded.returncode == 0, recorded.stderr
    assert len(cassette.read_text(encoding="utf-8").splitlines()) == 3
    process = subprocess.Popen(
        [*CLI, "serve", "--port", "0", "--replay", str(cassette), "--pace", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=ENV,
    )
    try:
        line = process.stdout.readline()
        assert "(replay of session.jsonl) on ws://127.0.0.1:" in line
        url = line.split(" on ")[1].strip()
        answer = run("ask", "--url", url, "--agent-id", "demo", "How do I install it?")
        assert answer.returncode == 0 and "pip install convowidget" in answer.stdout
        assert "Sources: kb/getting-started.md" in answer.stdout
        unknown = run("ask", "--url", url, "--agent-id", "demo", "Never asked")
        assert unknown.returncode == 1
        assert "no recorded reply to 'Never asked' to start a conversation" in unknown.stderr
        assert "(close code 4404)" in unknown.stderr
    finally:
        process.terminate()
        process.wait(10)


@pytest.mark.skipif(sys.platform == "win32", reason="sends SIGINT")
def test_test_command_exits_130_on_interrupt_keeping_what_finished(tmp_path):
    hanging = threading.Event()

    async def agent(request):
        if request.prompt == "hang":
            hanging.set()
            while True:  # until the client leaves
                await asyncio.sleep(0.05)
        yield "fine"

    text = "scenarios:\n  - name: quick\n    turns: [hello]\n  - name: stuck\n    turns: [hang]\n"
    path = suite_file(tmp_path, "s.yaml", text)
    with serve(agent, chunk_delay=0) as server:
        process = subprocess.Popen(
            [*CLI, "test", path, "--url", server.url, "--agent-id", "a", "--concurrency", "1"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=ENV,
        )
        try:
            assert hanging.wait(60), "the stuck scenario never started"
            process.send_signal(signal.SIGINT)
            out, err = process.communicate(timeout=60)
        finally:
            if process.poll() is None:
                process.kill()
    assert process.returncode == 130, err
    lines = out.splitlines()
    assert lines[0] == "INTERRUPTED: stuck"
    assert re.fullmatch(r"1 passed, 0 failed, 1 not run, interrupted in \d+\.\d s", lines[-1])


# ---------------------------------------------------------------------- what reaches the terminal

# OSC 52 (writes the clipboard), a window title, clear screen, C1 CSI, DEL, BEL and a bidi override.
HOSTILE = ["\x1b]52;c;cHduZWQ=\x07", "\x1b]0;pwned\x07", "\x1b[2J\x1b[H", "\x9b31m", "\x7f", "\u202e"]
RAW_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def run_utf8(*args: str) -> subprocess.CompletedProcess[str]:
    """The CLI with a UTF-8 terminal, where every raw control character would get through."""
    env = {**ENV, "PYTHONIOENCODING": "utf-8"}
    return subprocess.run([*CLI, *args], capture_output=True, encoding="utf-8", timeout=60, env=env)


def hostile_agent(request):
    for sequence in HOSTILE:
        yield f"<{sequence}>"
    yield "split: \x1b"  # an escape sequence cut in two across chunks
    yield "]52;c;c3BsaXQ=\x07 end"
    yield {"type": "metadata", "metadata": {"sources": [f"https://example.com/{s}" for s in HOSTILE]}}
    yield {"type": "chunk", "chunk": "", "chunkIndex": "\x1b]0;index\x07"}  # a warning quoting the frame


def test_ask_shows_the_agents_control_characters_instead_of_obeying_them():
    with serve(hostile_agent, chunk_delay=0) as server:
        result = run_utf8("ask", "--url", server.url, "--agent-id", "a", "hi")
    assert result.returncode == 0, result.stderr
    assert not RAW_CONTROL.findall(result.stdout + result.stderr)
    assert "<\\x1b]52;c;cHduZWQ=\\x07><\\x1b]0;pwned\\x07><\\x1b[2J\\x1b[H><\\x9b31m><\\x7f><<U+202E>>" in result.stdout
    assert "split: \\x1b]52;c;c3BsaXQ=\\x07 end" in result.stdout
    assert "https://example.com/<U+202E>" in result.stdout.split("Sources: ")[1]


def test_a_close_reason_and_a_suite_name_cannot_drive_the_terminal(tmp_path):
    reason = "bye \x1b]0;title\x07\u202e"
    with serve(hostile_agent, chunk_delay=0, faults=Faults(close_after=2, close_code=4000, close_reason=reason)) as s:
        failed = run_utf8("ask", "--url", s.url, "--agent-id", "a", "hi")
    assert failed.returncode == 1 and not RAW_CONTROL.findall(failed.stdout + failed.stderr)
    assert "bye \\x1b]0;title\\x07<U+202E>" in failed.stderr

    names = [f"name {s}" for s in HOSTILE]
    suite = {"scenarios": [{"name": n, "turns": [{"user": "hi", "expect": {"contains": "nowhere"}}]} for n in names]}
    path = tmp_path / "hostile.json"
    path.write_text(json.dumps(suite), encoding="utf-8")
    with serve(hostile_agent, chunk_delay=0) as server:
        summary = run_utf8("test", str(path), "--url", server.url, "--agent-id", "a")
        as_json = run_utf8("test", str(path), "--url", server.url, "--agent-id", "a", "--json")
    assert summary.returncode == 1 and not RAW_CONTROL.findall(summary.stdout + summary.stderr)
    assert "FAILED: name <U+202E>" in summary.stdout.splitlines()  # the override no longer reverses the line
    assert re.fullmatch(SUMMARY, summary.stdout.splitlines()[-1]).groups() == ("0", "6")
    assert as_json.returncode == 1 and not RAW_CONTROL.findall(as_json.stdout + as_json.stderr)
    assert [run["scenario"] for run in json.loads(as_json.stdout)["runs"]] == names  # escaped, not lost


def test_ask_json_escapes_c1_del_and_bidi_controls_losslessly():
    with serve(hostile_agent, chunk_delay=0) as server:
        result = run_utf8("ask", "--url", server.url, "--agent-id", "a", "--json", "hi")
    assert result.returncode == 0, result.stderr
    assert not RAW_CONTROL.findall(result.stdout)
    events = [json.loads(line) for line in result.stdout.splitlines()]
    text = "".join(event["chunk"] for event in events if event["type"] == "chunk")
    assert text == "".join(f"<{s}>" for s in HOSTILE) + "split: \x1b]52;c;c3BsaXQ=\x07 end"


@pytest.mark.skipif(sys.platform == "win32", reason="runs the command on a pseudo-terminal")
def test_the_progress_bar_on_a_terminal_shows_the_suites_name_inert(tmp_path):
    import fcntl
    import pty
    import struct
    import termios

    path = tmp_path / "named.json"
    scenario = {"name": "one", "turns": [{"user": "start", "expect": {"contains": "demo"}}]}
    path.write_text(json.dumps({"name": "suite \u202e \x1b]0;title\x07", "scenarios": [scenario]}), encoding="utf-8")
    terminal, child_side = pty.openpty()
    fcntl.ioctl(child_side, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 100, 0, 0))  # a width, so tqdm draws
    env = {**ENV, "PYTHONIOENCODING": "utf-8"}
    process = subprocess.Popen([*CLI, "test", str(path), "--demo"], stdout=child_side, stderr=child_side, env=env)
    os.close(child_side)
    shown = b""
    with contextlib.suppress(OSError):  # EIO once the command has exited and the terminal is closed
        while chunk := os.read(terminal, 65536):
            shown += chunk
    os.close(terminal)
    assert process.wait(60) == 0
    text = shown.decode("utf-8")
    assert "suite <U+202E> \\x1b]0;title\\x07: 100%" in text  # the bar, drawn with the name made visible
    assert not RAW_CONTROL.findall(text.replace("\r", ""))  # tqdm's own carriage returns aside


def test_every_control_character_is_made_visible_and_json_stays_lossless():
    from convowidget._terminal import json_visible, visible

    controls = [*range(0x00, 0x20), 0x7F, *range(0x80, 0xA0), *range(0x202A, 0x202F), *range(0x2066, 0x206A)]
    for code in controls:
        text = f"a{chr(code)}b"
        if chr(code) in "\n\t":
            assert visible(text) == text
            continue
        assert not RAW_CONTROL.search(visible(text)) and visible(text) != text, hex(code)
        assert json.loads(json_visible(json.dumps(text, ensure_ascii=False))) == text
        assert not RAW_CONTROL.search(json_visible(json.dumps(text, ensure_ascii=False))), hex(code)
    assert visible("plain é 漢字 🙂\n\tend") == "plain é 漢字 🙂\n\tend"


@pytest.mark.parametrize("delay", ["nan", "inf", "-Infinity", "1e400", "-1"])
def test_serve_refuses_a_chunk_delay_that_would_stall_every_reply(delay):
    result = run("serve", "--port", "0", f"--chunk-delay={delay}", timeout=30)
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr.splitlines() == [
        f"convowidget: --chunk-delay: expected a number of seconds of at least 0, got {float(delay):g}"
    ]
