"""Text for a terminal: control characters shown as readable escapes, never obeyed.

An agent's reply, a source, a close reason or a suite name is untrusted: printed raw, ESC
sequences could write the clipboard (OSC 52), retitle the window or clear the screen, and
bidi controls reverse the rest of a line. ``visible`` shows each such character as an
escape (``\\x1b``, ``\\x9b``, ``<U+202E>``) and keeps newlines and tabs. It works on each
piece alone, so streamed text stays safe however it is split into chunks.
"""

from __future__ import annotations

import re

__all__ = ["json_visible", "visible"]

# C0 but newline and tab, DEL, C1, and the bidi embeddings, overrides and isolates.
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
# What json.dumps leaves raw inside strings that a terminal would obey: DEL, C1, bidi.
_JSON_RAW = re.compile("[\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def _shown(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code <= 0xFF else f"<U+{code:04X}>"


def visible(text: str) -> str:
    """``text`` with every control character but newline and tab made visible."""
    return _CONTROL.sub(_shown, text)


def json_visible(text: str) -> str:
    """JSON text with DEL, C1 and bidi controls written as ``\\uXXXX`` escapes.

    ``json.dumps`` escapes C0 itself; these others it leaves raw. In JSON they can only
    stand inside strings, where the escape decodes to the same character.
    """
    return _JSON_RAW.sub(lambda match: f"\\u{ord(match.group()):04x}", text)
