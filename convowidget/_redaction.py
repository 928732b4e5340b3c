"""Personal data blanked out of an exchange as a reader would find it, before a cassette keeps it.

An agent may echo a secret (owner id, user id, token, name, e-mail, phone) in any form.
``Redaction`` looks for each secret in the text a reader would see: the text of the plain
chunks joined across chunks (a secret cut in two is still found), every other string of
every JSON frame, a frame that is not JSON, and a binary frame (its bytes read one to one as
characters, so the UTF-8 of a secret shows). Each character may be written as itself in any
case, as a JSON ``\\uXXXX`` or short escape, as ``%XX`` bytes in either hex case, or as an
HTML numeric entity; the secret may also be base64 (at any of the three alignments inside a
longer base64 text). Every occurrence becomes ``[redacted]``. A secret that straddles chunks
leaves ``[redacted]`` in the first and the rest of the text in the others: the frames,
their number and their chunk indexes stay, so a replay still plays.

Secrets shorter than 6 characters (a first name) match only as whole words, and shorter
than 3 not at all, so that a name does not blank parts of other words.
"""

from __future__ import annotations

import base64
import functools
import json
import re
from collections.abc import Iterable
from typing import Any

__all__ = ["REDACTED", "Redaction"]

REDACTED = "[redacted]"
Frame = str | bytes

_SHORTEST = 3  # a secret shorter than this is not looked for at all
_WHOLE_WORDS_BELOW = 6  # shorter secrets match only as whole words
_SHORTEST_BASE64 = 6  # fewer base64 characters than this would match noise
_JSON_SHORT = {'"': '"', "\\": "\\\\", "/": "/", "\b": "b", "\f": "f", "\n": "n", "\r": "r", "\t": "t"}


def _any_case(text: str) -> str:
    """``text`` as a regex whose ASCII letters match in either case (hex digits, an entity's x)."""
    return "".join(f"[{c.lower()}{c.upper()}]" if c.isascii() and c.isalpha() else re.escape(c) for c in text)


def _escapes(char: str) -> list[str]:
    """Regex alternatives for one exact character written escaped: JSON, %XX bytes, HTML entities."""
    code = ord(char)
    units = [code] if code < 0x10000 else [0xD800 + ((code - 0x10000) >> 10), 0xDC00 + (code & 0x3FF)]
    forms = [
        "".join(rf"\\+u{_any_case(f'{unit:04x}')}" for unit in units),  # JSON, escaped once or more
        _any_case("".join(f"%{byte:02x}" for byte in char.encode("utf-8", "surrogatepass"))),
        rf"&#0*{code};?",
        rf"&#[xX]0*{_any_case(f'{code:x}')};?",
    ]
    if char in _JSON_SHORT:
        forms.append(r"\\+" + re.escape(_JSON_SHORT[char]))
    if char == " ":
        forms.append(r"\+")  # a space in a form-encoded query
    return forms


def _literal(char: str, *, bytes_view: bool) -> str:
    """The character as it shows: itself, or in a binary frame read as Latin-1 its UTF-8 bytes."""
    return char.encode("utf-8", "surrogatepass").decode("latin-1") if bytes_view else char


def _char_forms(char: str, *, bytes_view: bool) -> list[str]:
    """Regex alternatives for one character of a secret in any case (``ß`` also as ``SS``), any spelling.

    Cases are spelled out rather than left to ``re.IGNORECASE``, so that the regex engine
    can skip quickly over text that cannot start a secret.
    """
    variants = list(dict.fromkeys((char, char.lower(), char.upper(), char.casefold())))
    shown = [_literal(v, bytes_view=bytes_view) for v in variants if len(v) == 1]
    forms = ["[" + "".join(re.escape(c) for c in shown if len(c) == 1) + "]"] if any(len(c) == 1 for c in shown) else []
    forms += [re.escape(c) for c in shown if len(c) > 1]
    for variant in variants:
        if len(variant) == 1:
            forms += _escapes(variant)
        else:  # a case mapping to several characters, each exact
            exact = (f"(?:{'|'.join([re.escape(_literal(c, bytes_view=bytes_view)), *_escapes(c)])})" for c in variant)
            forms.append("".join(exact))
    return forms


def _text_pattern(secret: str, *, bytes_view: bool) -> str:
    body = "".join(f"(?:{'|'.join(_char_forms(char, bytes_view=bytes_view))})" for char in secret)
    if len(secret) < _WHOLE_WORDS_BELOW:
        body = rf"(?<![^\W_]){body}(?![^\W_])"
    return body


def _base64_cores(secret: str) -> list[str]:
    """The base64 characters that the secret alone decides, at each of the three byte alignments."""
    data = secret.encode("utf-8", "surrogatepass")
    cores = []
    for shift in range(3):
        encoded = base64.b64encode(b"\0" * shift + data + b"\0\0\0").decode("ascii")
        core = encoded[-(-8 * shift // 6) : 8 * (shift + len(data)) // 6]
        if len(core) >= _SHORTEST_BASE64:
            cores.append(re.escape(core).replace(r"\+", "[+-]").replace("/", "[/_]"))  # url-safe too
    return cores


@functools.lru_cache(maxsize=16)  # one client records many exchanges with the same secrets
def _patterns(secrets: tuple[str, ...], *, bytes_view: bool) -> list[re.Pattern[str]]:
    """For each secret, a pattern of its spellings and one of its base64.

    A pattern per secret, so that two secrets written over each other are both found.
    """
    patterns = []
    for secret in secrets:
        patterns.append(re.compile(_text_pattern(secret, bytes_view=bytes_view)))
        cores = _base64_cores(secret)
        if cores:
            patterns.append(re.compile("|".join(cores)))
    return patterns


class Redaction:
    """Blanks the given secrets out of text, JSON values and the frames of one exchange."""

    def __init__(self, secrets: Iterable[object]) -> None:
        found = tuple(sorted({s for s in secrets if isinstance(s, str) and len(s.strip()) >= _SHORTEST}))
        self.active = bool(found)
        self._text = _patterns(found, bytes_view=False)
        self._bytes = _patterns(found, bytes_view=True)
        self._short: dict[str, str] = {}  # keys and type names recur in every frame: judged once

    @staticmethod
    def _spans(text: str, patterns: list[re.Pattern[str]]) -> list[tuple[int, int]]:
        """Where the secrets are in ``text``, overlapping finds merged."""
        found = sorted(match.span() for pattern in patterns for match in pattern.finditer(text) if match.group())
        merged: list[tuple[int, int]] = []
        for start, end in found:
            if merged and start <= merged[-1][1]:
                merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
            else:
                merged.append((start, end))
        return merged

    def text(self, text: str, *, bytes_view: bool = False) -> str:
        """``text`` with every secret, in every form, replaced by ``[redacted]``."""
        if not self.active:
            return text
        if len(text) <= 32 and not bytes_view:
            if text not in self._short:
                self._short[text] = self._blank(text, self._text)
            return self._short[text]
        return self._blank(text, self._bytes if bytes_view else self._text)

    def _blank(self, text: str, patterns: list[re.Pattern[str]]) -> str:
        pieces, previous = [], 0
        for start, end in self._spans(text, patterns):
            pieces += [text[previous:start], REDACTED]
            previous = end
        pieces.append(text[previous:])
        return "".join(pieces)

    def value(self, value: Any) -> Any:
        """A JSON value with every string in it, keys included, redacted."""
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, list):
            return [self.value(item) for item in value]
        if isinstance(value, dict):
            return {self.text(str(key)): self.value(item) for key, item in value.items()}
        return value

    def stream(self, texts: list[str]) -> list[str]:
        """Texts a reader joins (a reply's chunks), redacted as joined: the same number of texts,
        each occurrence blanked in the text where it starts and cut from the ones it runs into."""
        if not self.active:
            return texts
        joined = "".join(texts)
        spans = self._spans(joined, self._text)
        out, offset = [], 0
        for text in texts:
            begin, end = offset, offset + len(text)
            pieces, position = [], begin
            for start, stop in spans:
                if stop <= begin or start >= end:
                    continue
                if start >= begin:
                    pieces += [joined[position:start], REDACTED]
                position = max(position, min(stop, end))
            pieces.append(joined[position:end])
            out.append("".join(pieces))
            offset = end
        return out

    def frames(self, frames: list[Frame]) -> list[Frame]:
        """The frames of one exchange with every secret blanked, as a reader would find it.

        A frame without a secret is returned as it was, byte for byte; a JSON frame with one
        is written again as JSON; a binary frame stays binary.
        """
        if not self.active:
            return frames
        received = [_parse(frame) for frame in frames]
        chunks = [i for i, data in enumerate(received) if _is_plain_chunk(data)]
        joined = self.stream([received[i]["chunk"] for i in chunks])
        shown = list(received)
        for i, text in zip(chunks, joined, strict=True):
            shown[i] = {**received[i], "chunk": text}
        return [self._frame(*parts) for parts in zip(frames, received, shown, strict=True)]

    def _frame(self, frame: Frame, received: Any, shown: Any) -> Frame:
        if isinstance(frame, bytes):  # not UTF-8: its bytes, one character each
            return self.text(frame.decode("latin-1"), bytes_view=True).encode("latin-1")
        if received is _NOT_JSON:
            return self.text(frame)
        if _is_plain_chunk(shown):  # its text was redacted with the others, joined: the rest here
            clean = {self.text(k): v if k == "chunk" else self.value(v) for k, v in shown.items()}
        else:
            clean = self.value(shown)
        return frame if clean == received else json.dumps(clean, ensure_ascii=False)


_NOT_JSON = object()


def _parse(frame: Frame) -> Any:
    if isinstance(frame, bytes):
        return _NOT_JSON
    try:
        return json.loads(frame)
    except (ValueError, RecursionError):  # not JSON, nested past the recursion limit, or huge numbers
        return _NOT_JSON


def _is_plain_chunk(data: Any) -> bool:
    return (
        isinstance(data, dict)
        and data.get("type") == "chunk"
        and isinstance(data.get("chunk"), str)
        and not data.get("ui_engine")
    )
