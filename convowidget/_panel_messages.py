"""What the panel sends the kernel: each message checked, then handed to the widget.

The front end talks back only with custom messages ``{type, ...}`` (js/README.md lists
them). A saved notebook, an older front end or a hand-made message may send anything,
so a message of the wrong shape is ignored here, and the widget's functions get only
well-typed values. Whether the widget may act now (a reply in flight...) is its call.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeGuard

__all__ = ["PanelMessages"]


def _text(value: Any) -> TypeGuard[str]:
    return isinstance(value, str) and bool(value.strip())


def _ident(value: Any) -> TypeGuard[str]:
    return isinstance(value, str) and bool(value)


@dataclass(frozen=True)
class PanelMessages:
    """The widget's function for each message the panel sends; ``handle`` routes one message."""

    send: Callable[[str], Any]
    stop: Callable[[], Any]
    hello: Callable[[], Any]
    new_chat: Callable[[], Any]
    retry: Callable[[str], Any]
    regenerate: Callable[[str], Any]
    edit: Callable[[str, str], Any]
    submit_form: Callable[[str, int, dict[str, Any]], Any]
    feedback: Callable[[str, Any, Any], Any]
    export: Callable[[str, str], Any]

    def handle(self, content: Any) -> None:
        """Act on one message from the panel; one of the wrong shape does nothing."""
        if not isinstance(content, dict):
            return
        kind, ident = content.get("type"), content.get("id")
        if kind == "send" and _text(content.get("text")):
            self.send(content["text"])
        elif kind == "stop":
            self.stop()
        elif kind == "hello":
            self.hello()
        elif kind == "new_chat":
            self.new_chat()
        elif kind in ("retry", "regenerate") and _ident(ident):
            (self.retry if kind == "retry" else self.regenerate)(ident)
        elif kind == "edit" and _ident(ident) and _text(content.get("text")):
            self.edit(ident, content["text"])
        elif kind == "submit_form":
            index, values = content.get("block"), content.get("values")
            if _ident(ident) and type(index) is int and isinstance(values, dict):
                self.submit_form(ident, index, values)
        elif kind == "feedback" and _ident(ident):
            self.feedback(ident, content.get("value"), content.get("note"))
        elif kind == "export" and _ident(content.get("request")) and isinstance(content.get("format"), str):
            self.export(content["format"], content["request"])
