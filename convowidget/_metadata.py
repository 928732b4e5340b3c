"""Reading the loosely typed facts a server sends about a reply: sources and token counts.

Pure and lenient: an unexpected shape gives None, never an exception.
"""

from __future__ import annotations

import math
import re
from typing import Any

_URL_KEYS = ("url", "link", "href", "sourceUrl")
_TITLE_KEYS = ("title", "name")
_ID_KEYS = ("id", "sourceId", "source_id", "documentId", "docId")


def source_parts(source: Any) -> dict[str, str | None]:
    """``{url, title, id}`` of a source (each a non-blank string or None).

    A string source is its ``url`` when it looks like an address (``scheme:`` or ``//``),
    else its ``title``. Objects are read leniently: ``url``/``link``/``href``/``sourceUrl``,
    ``title``/``name``, ``id``/``sourceId``/``documentId``...; a numeric id becomes text.
    """
    if isinstance(source, str):
        text = source.strip()
        if not text:
            return {"url": None, "title": None, "id": None}
        address = text.startswith("//") or re.match(r"[A-Za-z][A-Za-z0-9+.-]*:", text) is not None
        return {"url": text if address else None, "title": None if address else text, "id": None}
    if not isinstance(source, dict):
        return {"url": None, "title": None, "id": None}
    return {"url": _first_text(source, _URL_KEYS), "title": _first_text(source, _TITLE_KEYS),
            "id": _first_text(source, _ID_KEYS, numbers=True)}  # fmt: skip


def _first_text(source: dict[str, Any], keys: tuple[str, ...], *, numbers: bool = False) -> str | None:
    for key in keys:
        value = source.get(key)
        if numbers and isinstance(value, int) and not isinstance(value, bool) and abs(value) < 10**30:
            value = str(value)
        if isinstance(value, str) and value.strip():
            return value.strip()
    return None


def token_count(value: Any) -> int | None:
    """A token count from metadata: a whole number >= 0, or a string of digits; else None."""
    if isinstance(value, str) and value.strip().isdigit() and value.isascii() and len(value.strip()) <= 16:
        return int(value.strip())
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    if isinstance(value, float) and not (math.isfinite(value) and value.is_integer()):
        return None
    return int(value) if 0 <= value < 2**53 else None
