"""The `convowidget test` command: exit codes, JUnit and JSON output, record and replay."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET

from suite_helpers import write

# ---------------------------------------------------------------------- the command line


GOOD = (
    "scenarios:\n  - name: install\n    turns:\n      - user: How do I install it?\n        expect: {contains: pip}\n"
)


def test_the_test_command_exits_0_1_or_2_and_writes_junit_and_json(tmp_path, capsys, monkeypatch):
    from convowidget.cli import main

    for name in ("CONVOCORE_AGENT_ID", "CONVOCORE_URL"):
        monkeypatch.delenv(name, raising=False)
    good = write(tmp_path, "good.yaml", GOOD)
    failing = write(tmp_path, "failing.yaml", GOOD.replace("pip", "npm"))
    malformed = write(tmp_path, "malformed.yaml", GOOD.replace("contains", "contain"))
    junit = tmp_path / "results.xml"

    assert main(["test", str(good), "--demo", "--junit", str(junit)]) == 0
    assert re.fullmatch(r"1 passed, 0 failed in \d+\.\d s", capsys.readouterr().out.splitlines()[-1])
    assert ET.parse(junit).getroot().get("tests") == "1"

    assert main(["test", str(failing), "--demo"]) == 1
    out = capsys.readouterr().out
    assert "FAILED: install\n    turn 1: expected the reply to contain 'npm'\n" in out

    assert main(["test", str(malformed), "--demo"]) == 2
    err = capsys.readouterr().err
    assert "malformed.yaml: scenario 'install', turn 1: unknown key 'contain' (did you mean 'contains'?)" in err

    assert main(["test", str(good)]) == 2
    assert "no agent to test" in capsys.readouterr().err

    assert main(["test", str(good), "--demo", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["summary"]["passed"] == 1


def test_the_test_command_records_then_replays_offline(tmp_path, capsys):
    from convowidget.cli import main

    good = write(tmp_path, "good.yaml", GOOD)
    cassette = tmp_path / "session.jsonl"
    assert main(["test", str(good), "--demo", "--record", str(cassette)]) == 0
    assert main(["test", str(good), "--replay", str(cassette)]) == 0
    other = write(tmp_path, "other.yaml", GOOD.replace("How do I install it?", "Something new"))
    assert main(["test", str(other), "--replay", str(cassette)]) == 1
    assert "no recorded reply to 'Something new'" in capsys.readouterr().out
