"""The %%convo cell magic in a real IPython shell."""

from __future__ import annotations

import pytest
from IPython.testing.globalipapp import start_ipython

from convowidget import Reply


@pytest.fixture(scope="module")
def shell():
    return start_ipython()


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
