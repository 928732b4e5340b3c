"""The ``%%convo`` cell magic: the cell is the prompt, the reply streams into a panel.

Cells of one notebook share one conversation, each showing its own exchange. The Reply
is the cell's value (``_``, ``Out[n]``); ``--var NAME`` also stores it in ``NAME``.
"""

from __future__ import annotations

import argparse
import shlex
from typing import Any

from .errors import ConfigurationError
from .reply import Reply


class _CellReply(Reply):
    """A Reply shown as its one-line repr, since the panel above already shows the text."""

    def _repr_markdown_(self) -> str | None:  # type: ignore[override]
        return None


_parser = argparse.ArgumentParser(prog="%%convo", add_help=False)
_parser.add_argument("--var", "-v", default=None, help="also store the Reply in this variable")
_parser.add_argument("--new", action="store_true", help="start a new conversation with this cell")

_state: dict[str, Any] = {}


def _convo_magic(line: str, cell: str) -> Reply | None:
    from IPython.display import display

    from .widget import ChatWidget

    try:
        options = _parser.parse_args(shlex.split(line))
    except SystemExit:
        raise ConfigurationError("usage: %%convo [--var NAME] [--new]") from None
    if options.var is not None and not options.var.isidentifier():
        raise ConfigurationError(f"--var: {options.var!r} is not a Python variable name")
    if not cell.strip():
        raise ConfigurationError("%%convo: the cell is the prompt, and it is empty")
    first: ChatWidget | None = _state.get("first")
    if first is None or options.new:
        chat = ChatWidget()
        _state["first"] = chat
    else:
        chat = ChatWidget(client=first.client, convo_id=first.convo_id)
    display(chat)
    reply = chat.ask(cell.strip())
    result = _CellReply(**{name: getattr(reply, name) for name in reply.__dataclass_fields__})
    if options.var:
        from IPython import get_ipython

        get_ipython().user_ns[options.var] = result
    return result


def register(ipython: Any) -> None:
    ipython.register_magic_function(_convo_magic, magic_kind="cell", magic_name="convo")
