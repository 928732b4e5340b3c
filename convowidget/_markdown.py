"""An agent's markdown as HTML that cannot run anything: the one sanitiser for Python-made HTML.

markdown-it-py renders the agent's markdown with raw HTML off (any HTML in a reply is
text). Its tokens are then rewritten against an allowlist before rendering, the same
rules as the panel's (js/src/markdown.js, dom.js): links to http(s), mailto: and tel:
only, opening in a new tab without opener or referrer; images from https: only, lazy
and without a referrer (an http: image becomes a link to it, anything else text); no
class, id or style attribute whatever the markdown says.

``markdown_to_safe_html`` is the whole job; ``safe_href`` is its rule for a link, for
links made outside markdown (a reply's sources). markdown-it-py is imported on the first
call, not with the package.
"""

from __future__ import annotations

import functools
import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # markdown-it-py is imported when markdown is rendered, not with the package
    from markdown_it import MarkdownIt
    from markdown_it.token import Token

__all__ = ["markdown_to_safe_html", "safe_href"]

_MD_TAGS = frozenset(
    {"p", "br", "hr", "blockquote", "pre", "code", "ul", "ol", "li", "strong", "em", "s", "a", "img"}
    | {"table", "thead", "tbody", "tr", "th", "td"}
    | {f"h{level}" for level in range(1, 7)}
)
_MD_ATTRS: dict[str, frozenset[str]] = {
    "a": frozenset({"href", "title", "target", "rel"}),
    "img": frozenset({"src", "alt", "title", "loading", "referrerpolicy"}),
    "ol": frozenset({"start"}),
    "th": frozenset({"align"}),
    "td": frozenset({"align"}),
}
_LINK_ATTRS = {"target": "_blank", "rel": "noopener noreferrer"}
_IMAGE_ATTRS = {"loading": "lazy", "referrerpolicy": "no-referrer"}
_SAFE_URL = re.compile(r"(?:https?://[^/\\\s]|mailto:\S|tel:[+\d(])", re.IGNORECASE)
_ALIGN = re.compile(r"text-align:(left|center|right)")


def safe_href(url: object) -> str | None:
    """Where an agent's link may point (http(s), mailto: and tel:; ``//host`` reads as https:), or None."""
    if not isinstance(url, str):
        return None
    url = url.strip()
    if re.match(r"//[^/\\\s]", url):
        url = "https:" + url
    return url if _SAFE_URL.match(url) else None


@functools.lru_cache(maxsize=1)
def _markdown_parser(factory: type[MarkdownIt]) -> MarkdownIt:
    return factory("commonmark", {"html": False, "xhtmlOut": False}).enable(["table", "strikethrough"])


def _plain(tokens: list[Token] | None) -> str:
    """The text of inline tokens (an image's alt text), markup dropped."""
    parts = []
    for token in tokens or []:
        if token.type in ("text", "code_inline"):
            parts.append(token.content)
        elif token.type in ("softbreak", "hardbreak"):
            parts.append(" ")
        else:
            parts.append(_plain(token.children))
    return "".join(parts)


def _allowed(token: Token) -> Token | None:
    """The token with only the attributes its tag may have; None for a tag markdown-it should never make."""
    if token.tag and token.tag not in _MD_TAGS:
        return None
    allowed = _MD_ATTRS.get(token.tag, frozenset())
    token.attrs = {key: value for key, value in token.attrs.items() if key in allowed}
    return token


def _safe_inline(children: list[Token], token_type: type[Token]) -> list[Token]:
    safe: list[Token] = []
    kept: list[bool] = []  # for each open link: was it kept (dropped ones leave their text)
    for token in children:
        if token.type in ("html_inline", "html_block"):
            safe.append(token_type("text", "", 0, content=token.content))
            continue
        if token.type == "link_open":
            href = safe_href(token.attrs.get("href"))
            keep = href is not None and not any(kept)
            kept.append(keep)
            if keep:
                title = token.attrs.get("title")
                token.attrs = {"href": str(href), **({"title": title} if title else {}), **_LINK_ATTRS}
                safe.append(token)
            continue
        if token.type == "link_close":
            if kept and kept.pop():
                safe.append(token)
            continue
        if token.type == "image":
            safe.extend(_safe_image(token, token_type, in_link=any(kept)))
            continue
        allowed = _allowed(token)
        if allowed is not None:
            safe.append(allowed)
    return safe


def _safe_image(token: Token, token_type: type[Token], *, in_link: bool) -> list[Token]:
    """An https: image as is (lazy, no referrer); an http: one as a link to it; anything else as text."""
    alt = _plain(token.children).strip()
    url = safe_href(token.attrs.get("src"))
    title = token.attrs.get("title")
    titled = {"title": title} if title else {}
    if url is not None and url.lower().startswith("https:"):
        token.attrs = {"src": url, "alt": alt, **titled, **_IMAGE_ATTRS}
        return [token]
    if url is not None and url.lower().startswith("http:") and not in_link:
        return [
            token_type("link_open", "a", 1, attrs={"href": url, **titled, **_LINK_ATTRS}),
            token_type("text", "", 0, content=alt or url),
            token_type("link_close", "a", -1),
        ]
    return [token_type("text", "", 0, content=f"[image: {alt}]" if alt else "[image]")]


def _safe_blocks(tokens: list[Token], token_type: type[Token]) -> list[Token]:
    safe: list[Token] = []
    for token in tokens:
        if token.type in ("html_block", "html_inline"):
            safe.append(token_type("text", "", 0, content=token.content))
            continue
        if token.type in ("fence", "code_block"):
            token.info = ""  # no language class from the agent
        elif token.type in ("th_open", "td_open"):
            align = _ALIGN.fullmatch(str(token.attrs.get("style", "")))
            token.attrs = {"align": align.group(1)} if align else {}
        elif token.type == "ordered_list_open":
            start = token.attrs.get("start")
            token.attrs = {"start": start} if isinstance(start, int) else {}
        allowed = _allowed(token)
        if allowed is None:
            continue
        if allowed.children is not None:
            allowed.children = _safe_inline(allowed.children, token_type)
        safe.append(allowed)
    return safe


def markdown_to_safe_html(text: str) -> str | None:
    """The agent's markdown as inert HTML; None without markdown-it-py (the caller shows the text)."""
    try:
        from markdown_it import MarkdownIt
        from markdown_it.token import Token
    except ImportError:
        return None
    parser = _markdown_parser(MarkdownIt)
    try:
        tokens = _safe_blocks(parser.parse(text), Token)
        return str(parser.renderer.render(tokens, parser.options, {}))
    except Exception:  # a parser bug must not break the whole view: show the text instead
        return None
