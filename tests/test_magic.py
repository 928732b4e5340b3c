"""The %%convo cell magic in a real IPython shell."""

from __future__ import annotations

import pytest
from IPython.core.error import UsageError
from IPython.testing.globalipapp import start_ipython

from convowidget import Reply, serve


@pytest.fixture(scope="module")
def shell():
    return start_ipython()


@pytest.fixture
def asked(monkeypatch, recording_comm):
    """The prompts an agent received while the magic's panels talk to it (the demo's place)."""
    prompts: list[str] = []

    def agent(request):
        prompts.append(request.prompt)
        return f"you asked: {request.prompt}"

    with serve(agent, chunk_delay=0) as server:
        monkeypatch.setenv("CONVOWIDGET_DEMO_URL", server.url)
        yield prompts


def test_convo_magic_returns_the_reply_and_stores_it(shell, recording_comm):
    shell.run_cell("%load_ext convowidget")
    result = shell.run_cell("%%convo --var answer\nHow do I install convowidget?\n")
    assert result.success, result.error_in_exec
    reply = result.result
    assert isinstance(reply, Reply) and reply.status == "complete" and "pip install" in reply.text
    assert shell.user_ns["answer"] is reply
    follow = shell.run_cell("%%convo\nAnd how does streaming work?").result
    assert follow.convo_id == reply.convo_id  # cells share one conversation
    fresh = shell.run_cell("%%convo --new\nstart").result
    assert fresh.convo_id != reply.convo_id


def test_convo_magic_errors_are_clear(shell):
    shell.run_cell("%load_ext convowidget")
    for cell, message in (("%%convo\n   \n", "empty"), ("%%convo --var 1x\nhi", "variable name"),
                          ("%%convo --bogus\nhi", "usage")):  # fmt: skip
        result = shell.run_cell(cell)
        assert not result.success and message in str(result.error_in_exec)


def test_help_prints_the_usage_and_sends_nothing(shell, asked, capsys):
    shell.run_cell("%load_ext convowidget")
    capsys.readouterr()
    for cell in ("%%convo --help\n", "%%convo -h\n", "%%convo --help\nHow do I install convowidget?"):
        result = shell.run_cell(cell)
        out, err = capsys.readouterr()
        assert result.success and result.result is None, cell
        assert out.startswith("usage: %%convo [--var NAME] [--new] [--help]\n"), out
        assert "streams the reply into a chat panel" in out  # what it does
        assert "--var NAME" in out and "--new" in out and "--help" in out  # its options
        assert "example:\n  %%convo --var answer\n  How do I install convowidget?" in out
        assert "empty" not in out + err and "Traceback" not in out + err
    assert asked == []


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ("--vra x", "%%convo: unknown option '--vra' (did you mean --var?)"),
        ("--var", "%%convo: --var needs a variable name, as in --var answer"),
        ("--bogus", "%%convo: unknown option '--bogus'."),
        ("--nwe", "%%convo: unknown option '--nwe' (did you mean --new?)"),
        ("--var 1x", "%%convo: --var '1x' is not a Python variable name"),
        ("--new=yes", "%%convo: argument --new: ignored explicit argument 'yes'"),
        ("What is this?", "%%convo: unexpected 'What' after %%convo: the prompt goes in the cell"),
        ('--var "answer', "%%convo: No closing quotation in the options"),
    ],
)
def test_a_mistake_in_the_options_is_one_line_and_sends_nothing(shell, asked, capsys, options, message):
    shell.run_cell("%load_ext convowidget")
    capsys.readouterr()
    result = shell.run_cell(f"%%convo {options}\nHow do I install convowidget?")
    out, err = capsys.readouterr()
    assert not result.success and isinstance(result.error_in_exec, UsageError)
    printed = [line for line in (out + err).splitlines() if line.strip()]
    assert printed == [f"UsageError: {result.error_in_exec}"], printed  # one line, no traceback
    assert message in printed[0] and printed[0].endswith("usage: %%convo [--var NAME] [--new] [--help]")
    assert asked == []
    assert shell.run_cell("%%convo --new\nnow it is right").result.text == "you asked: now it is right"
    assert asked == ["now it is right"]  # the same cell, corrected, reaches the agent


def test_an_empty_cell_is_one_line_and_sends_nothing(shell, asked, capsys):
    shell.run_cell("%load_ext convowidget")
    capsys.readouterr()
    for cell in ("%%convo\n", "%%convo --new\n  \n\t\n", "%%convo --var answer"):
        result = shell.run_cell(cell)
        out, err = capsys.readouterr()
        assert not result.success and isinstance(result.error_in_exec, UsageError)
        assert [line for line in (out + err).splitlines() if line.strip()] == [
            "UsageError: %%convo: the cell is empty: write your prompt under %%convo"
        ]
    assert asked == []


def test_a_setting_that_cannot_work_is_one_line_naming_it(shell, recording_comm, monkeypatch, capsys):
    shell.run_cell("%load_ext convowidget")
    capsys.readouterr()
    monkeypatch.setenv("CONVOCORE_OWNER_ID", "owner-3c1d-secret")  # an owner id but no agent id
    result = shell.run_cell("%%convo --new\nhi")
    out, err = capsys.readouterr()
    printed = [line for line in (out + err).splitlines() if line.strip()]
    assert len(printed) == 1 and printed[0].startswith("UsageError: %%convo: owner_id given but no agent id")
    assert "owner-3c1d-secret" not in out + err and "Traceback" not in out + err
    assert not result.success
