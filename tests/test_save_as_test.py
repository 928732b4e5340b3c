"""Save as test: a chat's conversation appended to a suite file that ``convowidget test`` passes.

End to end against the embedded demo agent (a real server on loopback), then the CLI runs
the file; the appending itself on files people wrote, with comments, in YAML and JSON.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from convowidget import ChatWidget, ConfigurationError, ConvoClient, SuiteError, agent, load_suite, serve
from convowidget._save_test import append_scenario
from convowidget.cli import main

SECRET = "hunter2-very-secret"


@pytest.fixture(autouse=True)
def _record(recording_comm):
    pass


def from_front_end(chat: ChatWidget, content: dict) -> None:
    chat._handle_msg({"content": {"data": {"method": "custom", "content": content}}, "buffers": []})


def custom_messages(chat: ChatWidget) -> list[dict]:
    return [m["data"]["content"] for m in chat.comm.sent if m["data"].get("method") == "custom"]


def expects(path: Path, scenario: int = -1) -> list[dict]:
    return [turn["expect"] for turn in yaml.safe_load(path.read_text())["scenarios"][scenario]["turns"]]


def test_a_demo_chat_saved_as_a_test_passes_convowidget_test_against_the_demo(tmp_path, capsys):
    path = tmp_path / "agent-tests.yaml"
    chat = ChatWidget(suite_path=path)
    assert chat.is_demo
    chat.ask("Show me the menu")
    chat.ask("Where is my order, please?")
    last = chat.ask("How do I install convowidget?")
    assert chat.to_suite() == path.resolve()

    turns = yaml.safe_load(path.read_text())["scenarios"][0]["turns"]
    prompts = ["Show me the menu", "Where is my order, please?", "How do I install convowidget?"]
    assert [t["user"] for t in turns] == prompts
    menu, order, install = (t["expect"] for t in turns)
    assert menu["buttons_include"] and menu["status"] == "complete" and menu["handoff"] is False
    assert order["tool_called"] == ["lookup_order"] and "CW-1042" in order["similar_to"]
    assert install["similar_to"] == last.text and install["min_similarity"] == 0.8
    assert install["sources_include"] == [str(s) for s in last.sources] and last.sources

    assert main(["test", str(path), "--demo"]) == 0
    assert "1 passed" in capsys.readouterr().out

    chat.ask("I want to talk to a human")  # a second save appends, under another name
    chat.to_suite(min_similarity=0.9)
    suite = load_suite(path)
    assert [len(s.turns) for s in suite] == [3, 4] and len({s.name for s in suite}) == 2
    assert expects(path)[-1]["handoff"] is True and expects(path)[-1]["min_similarity"] == 0.9
    assert main(["test", str(path), "--demo"]) == 0


def test_a_test_saved_from_an_earlier_reply_stops_there_and_fails_when_the_agent_changes(tmp_path, capsys):
    answers = {"hello": "Hello! How can I help you today?", "bye": "Goodbye."}
    with serve(lambda request: answers.get(request.prompt, "?"), chunk_delay=0) as server:
        chat = ChatWidget(client=ConvoClient(url=server.url, agent_id="a"))
        first = chat.ask("hello")
        chat.ask("bye")
        path = Path(chat.to_suite(tmp_path / "t.yaml", reply=first))
        assert [t["user"] for t in yaml.safe_load(path.read_text())["scenarios"][0]["turns"]] == ["hello"]
        args = ["test", str(path), "--url", server.url, "--agent-id", "a"]
        assert main(args) == 0
        answers["hello"] = "Sorry, I cannot talk about that."
        assert main(args) == 1
    assert "1 failed" in capsys.readouterr().out


def test_save_as_test_from_the_panel_says_where_it_wrote(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    chat = ChatWidget()
    chat.ask("Show me the menu")
    answer_id = chat.transcript[-1]["id"]
    from_front_end(chat, {"type": "save_test", "id": answer_id})
    written = tmp_path / "convowidget-tests.yaml"  # the default: in the working directory
    assert custom_messages(chat)[-1] == {"type": "test_saved", "id": answer_id, "path": str(written)}
    assert len(load_suite(written)) == 1
    from_front_end(chat, {"type": "save_test", "id": "m999"})
    assert custom_messages(chat)[-1]["error"] == "Not saved: that reply is no longer in the panel"
    from_front_end(chat, {"type": "save_test", "id": 5})  # the wrong shape: ignored
    assert len(custom_messages(chat)) == 2


def test_a_form_becomes_a_submit_turn_without_the_password(tmp_path):
    form = agent.form(
        [agent.form_field("name", "Your name"), agent.form_field("password", "Password", "password", required=True)]
    )

    def sign_up(request):
        if request.form_submission:
            return f"Welcome, {request.form_values.get('name')}."
        return [agent.text("Please sign up:"), form]

    with serve(sign_up, chunk_delay=0) as server:
        chat = ChatWidget(client=ConvoClient(url=server.url, agent_id="forms"))
        chat.ask("sign up")
        chat.submit({"name": "Ada", "password": SECRET})
        chat.to_suite(tmp_path / "forms.yaml")
    text = (tmp_path / "forms.yaml").read_text()
    assert SECRET not in text
    sign, sent = yaml.safe_load(text)["scenarios"][0]["turns"]
    assert sent["submit"] == {"name": "Ada"} and "user" not in sent
    assert sent["expect"]["similar_to"] == "Welcome, Ada."
    assert sign["expect"]["similar_to"].startswith("Please sign up")


def test_the_demo_form_and_a_menu_click_are_saved_as_submit_and_click_and_the_demo_passes_them(tmp_path, capsys):
    from convowidget._offered import offered_blocks, offered_buttons

    path = tmp_path / "react.yaml"
    chat = ChatWidget(suite_path=path)
    chat.ask("Book me a demo")
    values = {"name": "Ada", "email": "ada@example.org", "team_size": "2-10", "date": "2027-01-05", "consent": True}
    chat.submit(values)
    menu = chat.ask("Show me the menu")
    button = next(b for b in offered_buttons(offered_blocks(menu.ui_turn)) if "message" in b)
    chat.ask(button["message"])  # what the panel sends when that button is clicked
    chat.to_suite()
    turns = yaml.safe_load(path.read_text())["scenarios"][0]["turns"]
    assert [next(iter(t)) for t in turns] == ["user", "submit", "user", "click"]
    assert turns[1]["submit"] == {**values, "company": "", "message": ""}  # as sent, empty fields too
    assert turns[3]["click"] == button["label"] and "Ada" in turns[1]["expect"]["similar_to"]
    assert main(["test", str(path), "--demo"]) == 0
    assert "1 passed" in capsys.readouterr().out


def test_nothing_to_save_and_bad_options_are_clear_errors(tmp_path):
    with pytest.raises(ConfigurationError, match=r"suite_path: expected a \.yaml, \.yml or \.json file"):
        ChatWidget(suite_path=tmp_path / "tests.txt")
    chat = ChatWidget()
    with pytest.raises(ConfigurationError, match="nothing to save as a test: the panel has no reply yet"):
        chat.to_suite(tmp_path / "t.yaml")
    with pytest.raises(ConfigurationError, match="min_similarity: expected a number from 0 to 1"):
        chat.to_suite(tmp_path / "t.yaml", min_similarity=1.5)
    assert not (tmp_path / "t.yaml").exists()


TURN = [
    {"user": "hi", "expect": {"status": "complete", "similar_to": "Hello\n\nthere:\n- you\n", "min_similarity": 0.8}}
]


def test_appending_keeps_comments_formatting_and_every_scenario(tmp_path):
    path = tmp_path / "mine.yaml"
    written = """# my agent's tests
name: mine
scenarios:
  - name: hi   # the first
    turns:
      - user: hi
        expect: {contains: ["hello"]}
"""
    path.write_text(written)
    assert append_scenario(path, TURN) == "hi (2)"
    assert append_scenario(path, TURN) == "hi (3)"
    text = path.read_text()
    assert text.startswith(written)  # what was there, byte for byte
    suite = load_suite(path)
    assert suite.name == "mine" and [s.name for s in suite] == ["hi", "hi (2)", "hi (3)"]
    assert suite.scenarios[2].turns[0].expect.similar_to == "Hello\n\nthere:\n- you\n"


def test_a_list_that_does_not_end_the_file_is_rewritten_with_every_scenario(tmp_path):
    path = tmp_path / "flow.yaml"
    path.write_text("scenarios: [{name: a, turns: [hi]}]\nname: flowing\n")
    append_scenario(path, TURN)
    suite = load_suite(path)
    assert suite.name == "flowing" and [s.name for s in suite] == ["a", "hi"]


def test_json_suites_and_bare_lists_get_the_scenario_too(tmp_path):
    path = tmp_path / "s.json"
    path.write_text(json.dumps([{"name": "hi", "turns": ["hi"]}]))
    append_scenario(path, TURN)
    assert [s.name for s in load_suite(path)] == ["hi", "hi (2)"]
    bare = tmp_path / "bare.yml"
    bare.write_text("- name: x\n  turns: [hi]\n")
    append_scenario(bare, TURN)
    assert bare.read_text().startswith("- name: x\n  turns: [hi]\n") and len(load_suite(bare)) == 2


def test_a_file_that_is_not_a_suite_is_left_untouched(tmp_path):
    path = tmp_path / "notes.yaml"
    path.write_text("shopping: [milk]\n")
    with pytest.raises(SuiteError, match="is not a suite this can add to, so it was left as it is"):
        append_scenario(path, TURN)
    assert path.read_text() == "shopping: [milk]\n"
    assert [p.name for p in tmp_path.iterdir()] == ["notes.yaml"]  # no temporary file left behind


def test_any_agent_text_comes_back_exactly_from_an_indented_list(tmp_path):
    from suite_helpers import HOSTILE

    texts = [HOSTILE, "line1\n\x1b[31mred\x00\n", "\u2028sep\u2029 \ufeffbom", "a\r\nb\rc", "x\n\n\n  y", " edge  \n"]
    path = tmp_path / "indented.yaml"
    path.write_text("scenarios:\n    -   name: first\n        turns: [hi]\n")
    for text in texts:
        append_scenario(path, [{"user": "q", "expect": {"similar_to": text, "min_similarity": 0.5}}])
    suite = load_suite(path)
    assert [s.turns[0].expect.similar_to for s in suite.scenarios[1:]] == texts
    assert path.read_text().startswith("scenarios:\n    -   name: first\n        turns: [hi]\n")


def test_a_place_that_cannot_be_written_is_a_clear_error_in_the_panel_too(tmp_path):
    with pytest.raises(ConfigurationError, match=r"cannot write .*missing/t\.yaml: No such file or directory; choose"):
        append_scenario(tmp_path / "missing" / "t.yaml", TURN)
    chat = ChatWidget(suite_path=tmp_path / "missing" / "t.yaml")
    chat.ask("Show me the menu")
    from_front_end(chat, {"type": "save_test", "id": chat.transcript[-1]["id"]})
    error = custom_messages(chat)[-1]["error"]
    assert error.startswith("Not saved: cannot write ") and error.endswith("choose another suite_path")
