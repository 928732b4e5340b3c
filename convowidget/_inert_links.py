"""Markdown whose links can only go to http(s), mailto: or tel:, made so in the markdown itself.

A transcript exported as markdown (``to_markdown()``, a displayed Reply's ``text/markdown``)
is rendered later by someone else's parser: nbconvert's mistune, JupyterLab's marked,
GitHub. A link to ``javascript:`` cannot be dropped at render time there, so it must stop
being a link in the source. markdown-it-py parses the text as CommonMark does, accepting
every destination and decoding its entities (``javascript&#58;``, ``&colon;``, a
destination on the next line); every link, image, autolink and reference definition whose
destination ``safe_href`` refuses, decoded once or twice, gets its brackets backslash-escaped,
so it reads as the text it was. Parsing again until nothing is left catches a link that an
escape reveals.
"""

from __future__ import annotations

import functools
import html
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ._markdown import safe_href

if TYPE_CHECKING:  # markdown-it-py is imported on the first call, not with the package
    from markdown_it import MarkdownIt
    from markdown_it.rules_inline import StateInline
    from markdown_it.token import Token

__all__ = ["neutralise_links"]

_ROUNDS = 8  # parses before giving up on precision and escaping every bracket
_FOUND = "convowidget_unsafe_links"  # the parse environment's key for what the rules found


@dataclass(frozen=True)
class _Unsafe:
    """A link, image or autolink to neutralise: the offsets of its brackets in its inline source."""

    source: str
    brackets: tuple[int, ...]


def _is_safe(url: object) -> bool:
    """True when the destination is allowed as the parser decoded it, and as a renderer decoding
    its entities once or twice more would read it."""
    if not isinstance(url, str):
        return False
    for _ in range(3):
        if safe_href(url) is None:
            return False
        url = html.unescape(url)
    return True


def _watch(rule: Callable[[StateInline, bool], bool], opener: int) -> Callable[[StateInline, bool], bool]:
    """``rule`` (link, image or autolink), noting where each unsafe one it finds has its brackets.

    ``opener`` is the offset of the ``[`` after the start (1 for ``![``), or -1 for an
    autolink, whose ``<`` is escaped instead.
    """

    def watched(state: StateInline, silent: bool) -> bool:
        start, count = state.pos, len(state.tokens)
        if not rule(state, silent):
            return False
        if silent:
            return True
        # the first token it made (pending text may have been pushed before it)
        made = next((t for t in state.tokens[count:] if t.type in ("link_open", "image")), None)
        if made is None or _is_safe(made.attrs.get("href", made.attrs.get("src"))):
            return True
        if opener < 0:
            brackets: tuple[int, ...] = (start,)
        else:
            end = state.pos
            label_end = state.md.helpers.parseLinkLabel(state, start + opener, opener == 0)
            state.pos = end
            brackets = (start + opener, label_end) if label_end >= 0 else (start + opener,)
        state.env[_FOUND].append(_Unsafe(state.src, brackets))
        return True

    return watched


@functools.lru_cache(maxsize=1)
def _parser(factory: type[MarkdownIt]) -> MarkdownIt:
    parser = factory("commonmark", {"html": False, "inline_definitions": True}).enable(["table", "strikethrough"])
    # see every destination (markdown-it drops script links as text itself); _is_safe judges them
    parser.validateLink = lambda url: True  # type: ignore[method-assign]  # the documented override
    from markdown_it.rules_inline import autolink, image, link

    for rule, opener in ((link, 0), (image, 1), (autolink, -1)):
        parser.inline.ruler.at(rule.__name__, _watch(rule, opener))
    return parser


def _is_escaped(text: str, position: int) -> bool:
    backslashes = 0
    while position - backslashes > 0 and text[position - backslashes - 1] == "\\":
        backslashes += 1
    return backslashes % 2 == 1


def _line_starts(text: str) -> list[int]:
    starts = [0]
    starts.extend(index + 1 for index, char in enumerate(text) if char == "\n")
    return starts


def _to_text(token: Token, lines: list[str], starts: list[int], offset: int) -> int | None:
    """Where ``offset`` of an inline token's content is in the text, or None if it cannot be placed.

    Each line of the content is the rest of a source line once container markers and
    indentation are gone (a heading's or a table cell's text sits inside its line).
    """
    if token.map is None:
        return None
    parts = token.content.split("\n")
    for number, part in enumerate(parts):
        if offset > len(part):
            offset -= len(part) + 1
            continue
        row = token.map[0] + number
        if row >= len(lines):
            return None
        line = lines[row]
        column = len(line) - len(part) if line.endswith(part) else line.rfind(part)
        return None if column < 0 else starts[row] + column + offset
    return None


def _definition_brackets(text: str, lines: list[str], starts: list[int], token: Token) -> list[int]:
    """The ``[`` and ``]`` of a reference definition's label: the first ``[`` on its line, the next ``]``."""
    if token.map is None:
        return []
    row = token.map[0]
    opening = lines[row].find("[")
    if opening < 0:
        return []
    position = starts[row] + opening + 1
    while position < len(text):
        if text[position] == "\\":
            position += 2
            continue
        if text[position] == "]":
            return [starts[row] + opening, position]
        position += 1
    return [starts[row] + opening]


def _block_brackets(text: str, starts: list[int], token: Token) -> list[int]:
    """Every live ``[``, ``]`` and ``<`` of the lines of ``token``: the fallback when a link cannot be placed."""
    first, last = token.map if token.map is not None else (0, len(starts))
    begin, end = starts[first], starts[last] if last < len(starts) else len(text)
    return [i for i in range(begin, end) if text[i] in "[]<" and not _is_escaped(text, i)]


def _unsafe_brackets(text: str, parser: MarkdownIt) -> set[int]:
    """Offsets in ``text`` of every bracket to escape so that no unsafe link is left in this parse."""
    env: dict[str, Any] = {_FOUND: []}
    tokens = parser.parse(text, env)
    lines, starts = text.split("\n"), _line_starts(text)
    inline = {id(token.content): token for token in tokens if token.type == "inline"}
    brackets: set[int] = set()
    for token in tokens:
        if token.type == "definition" and not _is_safe(token.meta.get("url")):
            brackets.update(_definition_brackets(text, lines, starts, token))
    for found in env[_FOUND]:
        owner = inline.get(id(found.source))
        if owner is None:  # inside an image's alt text, which no renderer makes a link
            continue
        placed = [_to_text(owner, lines, starts, offset) for offset in found.brackets]
        if all(p is not None and text[p] in "[]<" for p in placed):
            brackets.update(p for p in placed if p is not None)
        else:
            brackets.update(_block_brackets(text, starts, owner))
    return {position for position in brackets if not _is_escaped(text, position)}


def _escape_at(text: str, positions: set[int]) -> str:
    pieces, previous = [], 0
    for position in sorted(positions):
        pieces += [text[previous:position], "\\"]
        previous = position
    pieces.append(text[previous:])
    return "".join(pieces)


def neutralise_links(markdown: str) -> str:
    """``markdown`` with every link, image, autolink and reference definition to anything but
    http(s), mailto: or tel: turned into plain text, and nothing else changed.

    Line endings become ``\\n`` and NUL becomes U+FFFD, as every CommonMark parser reads them.
    Without markdown-it-py, every bracket is escaped.
    """
    text = markdown.replace("\r\n", "\n").replace("\r", "\n").replace("\0", "\ufffd")
    try:
        from markdown_it import MarkdownIt
    except ImportError:  # pragma: no cover - a dependency; kept safe all the same
        return _escape_at(text, {i for i, c in enumerate(text) if c in "[]<" and not _is_escaped(text, i)})
    parser = _parser(MarkdownIt)
    for _ in range(_ROUNDS):
        brackets = _unsafe_brackets(text, parser)
        if not brackets:
            return text
        text = _escape_at(text, brackets)
    return _escape_at(text, {i for i, c in enumerate(text) if c in "[]<" and not _is_escaped(text, i)})
