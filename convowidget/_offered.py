"""What a reply's ``ui_engine`` turn offers the user: its blocks, its buttons, its forms.

Suite expectations (``buttons_include``, ``ui_includes``) and the turns that react to a
reply (``click``, ``submit``) read the same things the panel draws, through
``turns.turn_blocks``, so a test sees a reply as its reader does.
"""

from __future__ import annotations

from typing import Any

from .turns import turn_blocks

__all__ = ["UI_KINDS", "offered_blocks", "offered_buttons", "offered_forms", "ui_kind"]

UI_KINDS = {  # what a suite may write (folded) -> the block kind it names
    "text": "text", "choice": "choice", "buttons": "choice", "card": "card", "cardv2": "card",
    "carousel": "carousel", "form": "form", "input": "input", "iframe": "iframe",
    "image": "image", "visual": "image", "notice": "notice", "info": "notice",
}  # fmt: skip
"""Message types a suite can expect, by the spec's names (``cardV2``, ``iFrame``, ``visual``)
or the panel's (``card``, ``image``), in any case."""


def ui_kind(name: str) -> str | None:
    """The block kind a suite's message type names (None when it names none)."""
    return UI_KINDS.get(name.strip().casefold())


def offered_blocks(ui_turn: Any) -> list[dict[str, Any]]:
    """The blocks the panel draws for a reply's ``ui_turn`` (none for a plain-text reply)."""
    return [] if ui_turn is None else turn_blocks(ui_turn)


def offered_buttons(blocks: list[dict[str, Any]]) -> list[dict[str, str]]:
    """Every button, in order: a choice's, a card's, each card's of a carousel.

    Each is ``{label, message}`` (a click sends the message) or ``{label, url}`` (a link).
    """
    buttons: list[dict[str, str]] = []
    for block in blocks:
        if block["kind"] in ("choice", "card"):
            buttons.extend(block["buttons"])
        elif block["kind"] == "carousel":
            for card in block["cards"]:
                buttons.extend(card["buttons"])
    return buttons


def offered_forms(blocks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The form and input blocks not yet submitted, in order."""
    return [block for block in blocks if block["kind"] in ("form", "input") and not block.get("submitted")]
