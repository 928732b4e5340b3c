"""The panel's Export: the conversation as a file the browser downloads, made by the kernel.

The panel asks ``{type: "export", format, request}``; the kernel answers with the custom
message ``{type: "export", request, filename, mime, text}``, where ``text`` is exactly
``to_markdown()`` or ``to_json()``, and the panel downloads it (a Blob URL). The kernel
makes the text so that a file and the Python call always agree.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from typing import Any

__all__ = ["FORMATS", "export_message", "file_name"]

FORMATS = {"markdown": ("md", "text/markdown"), "json": ("json", "application/json")}
_NOT_NAME = re.compile(r"[^a-z0-9]+")
_MAX_NAME = 60


def file_name(label: str, extension: str, day: dt.date) -> str:
    """``agent-label-2025-01-31.md``: the agent's title in lower-case words, and the date."""
    words = _NOT_NAME.sub("-", label.lower()).strip("-")[:_MAX_NAME].strip("-") or "conversation"
    return f"{words}-{day.isoformat()}.{extension}"


def export_message(
    fmt: str, request: str, label: str, texts: dict[str, Callable[[], str]], day: dt.date | None = None
) -> dict[str, Any] | None:
    """The answer to an export request, or None for a format there is none of.

    ``texts`` maps each format to the function that makes its text (``to_markdown``...).
    """
    if fmt not in FORMATS or fmt not in texts:
        return None
    extension, mime = FORMATS[fmt]
    return {
        "type": "export",
        "request": request,
        "format": fmt,
        "filename": file_name(label, extension, day or dt.date.today()),
        "mime": mime,
        "text": texts[fmt](),
    }
