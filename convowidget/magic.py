"""The ``%%convo`` cell magic: the cell is the prompt, the reply streams into a panel.

Cells of one notebook share one conversation, each showing its own exchange. The Reply
is the cell's value (``_``, ``Out[n]``); ``--var NAME`` also stores it in ``NAME``.
A mistake in the options or an empty cell is one line of ``UsageError`` (no traceback)
and sends nothing; ``--help`` prints the usage.
"""

from __future__ import annotations

import argparse
import difflib
import re
import shlex
from typing import Any, NoReturn

from IPython.core.error import UsageError

from .errors import ConfigurationError
from .reply import Reply

USAGE = "%%convo [--var NAME] [--new] [--help]"
HELP = f"""usage: {USAGE}

Sends the cell's text to the agent as a prompt and streams the reply into a chat panel
under the cell. The reply is the cell's value (_, Out[n]). The %%convo cells of a
notebook share one conversation. With no agent configured (CONVOCORE_AGENT_ID and the
other CONVOCORE_* variables) the local demo agent answers.

options:
  --var NAME, -v NAME  also store the Reply in the variable NAME
  --new                start a new conversation with this cell
  --help, -h           show this help; nothing is sent

example:
  %%convo --var answer
  How do I install convowidget?
"""
_OPTIONS = ("--var", "--new", "--help")
_CONVO_CELL = re.compile(r"%%convo(\s|$)")


class _CellReply(Reply):
    """A Reply shown as its one-line repr, since the panel above already shows the text."""

    def _repr_markdown_(self) -> str | None:  # type: ignore[override]
        return None


class _Parser(argparse.ArgumentParser):
    """argparse that reports a mistake as a one-line ``UsageError`` instead of exiting."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(f"%%convo: {_explain(message)}. usage: {USAGE}")


def _explain(message: str) -> str:
    """argparse's message in the magic's words, with a guess for a mistyped option."""
    if message.startswith("unrecognized arguments: "):
        words = message.removeprefix("unrecognized arguments: ").split()
        first = words[0]
        if not first.startswith("-"):
            return f"unexpected {first!r} after %%convo: the prompt goes in the cell, on the lines below"
        close = difflib.get_close_matches(first.split("=")[0], _OPTIONS, n=1)
        return f"unknown option {first!r}" + (f" (did you mean {close[0]}?)" if close else "")
    if "expected one argument" in message:
        return "--var needs a variable name, as in --var answer"
    return message


_parser = _Parser(prog="%%convo", add_help=False, allow_abbrev=False)
_parser.add_argument("--var", "-v", default=None)
_parser.add_argument("--new", action="store_true")
_parser.add_argument("--help", "-h", action="store_true")

_state: dict[str, Any] = {}


def _options(line: str) -> argparse.Namespace:
    """The magic's options; a mistake raises ``UsageError``."""
    try:
        words = shlex.split(line)
    except ValueError as exc:  # an unclosed quote
        raise UsageError(f"%%convo: {exc} in the options. usage: {USAGE}") from None
    options = _parser.parse_args(words)
    if options.var is not None and not options.var.isidentifier():
        raise UsageError(f"%%convo: --var {options.var!r} is not a Python variable name. usage: {USAGE}")
    return options


def _convo_magic(line: str, cell: str) -> Reply | None:
    from IPython.display import display

    from .widget import ChatWidget

    options = _options(line)
    if options.help:
        print(HELP, end="")
        return None
    prompt = cell.strip()
    if not prompt:
        raise UsageError("%%convo: the cell is empty: write your prompt under %%convo")
    first: ChatWidget | None = _state.get("first")
    try:
        if first is None or options.new:
            chat = ChatWidget(greet=False)  # the cell is the prompt: no greeting before it
        else:
            chat = ChatWidget(client=first.client, convo_id=first.convo_id)
        chat.client.make_request(prompt, chat.convo_id)  # a bad prompt or setting fails here, before the panel
    except ConfigurationError as exc:
        raise UsageError(f"%%convo: {exc}") from None
    _state["first"] = chat if first is None or options.new else first
    display(chat)
    reply = chat.ask(prompt)
    result = _CellReply(**{name: getattr(reply, name) for name in reply.__dataclass_fields__})
    if options.var:
        from IPython import get_ipython

        get_ipython().user_ns[options.var] = result
    return result


def _give_empty_cells_a_body(lines: list[str]) -> list[str]:
    """IPython turns down a cell magic with nothing under it ("the cell body is empty")
    before calling it; a blank line lets ``%%convo --help`` print its help, and an empty
    cell get the magic's own message."""
    if lines and _CONVO_CELL.match(lines[0]) and not "".join(lines[1:]).strip():
        first = lines[0] if lines[0].endswith("\n") else lines[0] + "\n"
        return [first, *lines[1:], "\n"]
    return lines


def register(ipython: Any) -> None:
    ipython.register_magic_function(_convo_magic, magic_kind="cell", magic_name="convo")
    cleanup = ipython.input_transformers_cleanup
    if _give_empty_cells_a_body not in cleanup:
        cleanup.append(_give_empty_cells_a_body)
