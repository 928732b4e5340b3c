"""The results view: static HTML laid out like the chat panel, with no script.

It needs no widget model, so it survives saved notebooks, nbviewer and CI artifacts.
Agent text is hostile input: its markdown is rendered with raw HTML off and an allowlist
of elements and attributes (markdown-it-py, imported only when a view is drawn; without
it the text is shown escaped).
"""

from __future__ import annotations

import functools
import html
import json
import re
from typing import TYPE_CHECKING, Any

from .results import ScenarioSummary, SuiteResult, TurnResult, _percent, _percentile, _seconds

if TYPE_CHECKING:  # markdown-it-py is imported when a view is drawn, not with the package
    from markdown_it import MarkdownIt
    from markdown_it.token import Token

__all__ = ["view"]

_ORDER = {"failed": 0, "interrupted": 1, "running": 1, "not run": 2, "passed": 3}
_VIEW_ROWS = 300  # rows the HTML view shows; failing rows come first, so they are never the ones cut
_VIEW_TEXT = 2000  # characters of each reply the HTML view shows

# ---------------------------------------------------------------------- the HTML view
#
# Laid out like the chat panel (js/src/widget.css): the prompt in a right-aligned bubble,
# the reply in a left-aligned one with its sources and handoff notice, the verdict under
# it. Semantic HTML first (an <ol> of turns, lists, labels only screen readers and
# CSS-less views see), so it still reads where the <style> is dropped (an untrusted output
# in JupyterLab). Colours come from JupyterLab's --jp-* variables, so it follows the theme;
# the fallbacks cover a standalone page in light and dark.

_STYLE = """
.cwr-results {
  --cwr-fg: var(--jp-ui-font-color1, #1f2328);
  --cwr-content: var(--jp-content-font-color1, #1f2328);
  --cwr-bg: var(--jp-layout-color1, #fff);
  --cwr-bg-soft: var(--jp-layout-color2, #eef1f4);
  --cwr-bg-deep: var(--jp-layout-color0, #fff);
  --cwr-border: var(--jp-border-color2, #d8dee4);
  --cwr-border-strong: var(--jp-border-color1, #afb8c1);
  --cwr-brand: var(--jp-brand-color1, #1976d2);
  --cwr-link: var(--jp-content-link-color, #1565c0);
  --cwr-error: var(--jp-error-color1, #cf222e);
  --cwr-ok: var(--jp-success-color1, #1a7f37);
  --cwr-muted: #59636e;
  --cwr-muted: color-mix(in srgb, var(--cwr-fg) 72%, transparent);
  --cwr-bubble: var(--cwr-bg-soft);
  --cwr-bubble: color-mix(in srgb, var(--cwr-bg-soft) 75%, var(--cwr-bg));
  --cwr-user-bubble: #e3eefa;
  --cwr-user-bubble: color-mix(in srgb, var(--cwr-brand) 16%, var(--cwr-bg));
  --cwr-error-soft: rgba(207, 34, 46, .08);
  --cwr-error-soft: color-mix(in srgb, var(--cwr-error) 9%, transparent);
  color: var(--cwr-fg); font-family: var(--jp-ui-font-family, system-ui, -apple-system, 'Segoe UI', sans-serif);
  font-size: 13px; line-height: 1.45; max-width: 1100px; text-align: left;
}
@media (prefers-color-scheme: dark) {
  .cwr-results {
    --cwr-fg: var(--jp-ui-font-color1, #e6edf3);
    --cwr-content: var(--jp-content-font-color1, #e6edf3);
    --cwr-bg: var(--jp-layout-color1, #161b22);
    --cwr-bg-soft: var(--jp-layout-color2, #2d333b);
    --cwr-bg-deep: var(--jp-layout-color0, #0d1117);
    --cwr-border: var(--jp-border-color2, #373e47);
    --cwr-border-strong: var(--jp-border-color1, #545d68);
    --cwr-brand: var(--jp-brand-color1, #4493f8);
    --cwr-link: var(--jp-content-link-color, #6cb6ff);
    --cwr-error: var(--jp-error-color1, #ff7b72);
    --cwr-ok: var(--jp-success-color1, #3fb950);
    --cwr-muted: #9198a1;
    --cwr-muted: color-mix(in srgb, var(--cwr-fg) 72%, transparent);
    --cwr-user-bubble: #1d3350;
    --cwr-user-bubble: color-mix(in srgb, var(--cwr-brand) 22%, var(--cwr-bg));
    --cwr-error-soft: rgba(255, 123, 114, .1);
    --cwr-error-soft: color-mix(in srgb, var(--cwr-error) 12%, transparent);
  }
}
.cwr-results *, .cwr-results *::before, .cwr-results *::after { box-sizing: border-box; }
.cwr-results .cwr-sr { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0);
  white-space: nowrap; }
.cwr-results .cwr-sep { display: none; }
.cwr-results .cwr-summary { margin: 0 0 .5em; }
.cwr-results .cwr-pass { color: var(--cwr-ok); font-weight: 600; }
.cwr-results .cwr-fail { color: var(--cwr-error); font-weight: 600; }
.cwr-results .cwr-muted { color: var(--cwr-muted); }
.cwr-results .cwr-banner { background: rgba(212,167,44,.18); padding: .3em .6em; border-radius: 4px; }
.cwr-results .cwr-grid { display: grid; grid-template-columns: 6.5em minmax(10em,2fr) 4em minmax(12em,4fr) 6.5em 5.5em;
  gap: .6em; align-items: baseline; }
.cwr-results .cwr-head { font-weight: 600; border-bottom: 1px solid var(--cwr-border-strong);
  padding: .2em 0 .2em 1.2em; }
.cwr-results details.cwr-row { border-bottom: 1px solid var(--cwr-border); }
.cwr-results summary { cursor: pointer; padding: .25em 0; }
.cwr-results summary > .cwr-grid { display: inline-grid; width: calc(100% - 1.5em); }
.cwr-results .cwr-cell { overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
.cwr-results .cwr-convo { padding: .2em 0 .9em 1.2em; }
.cwr-results .cwr-run { margin: .5em 0 .3em; font-size: 12px; color: var(--cwr-muted); }
.cwr-results ol.cwr-chat { display: flex; flex-direction: column; gap: 14px; max-width: 860px; margin: .3em 0 .6em;
  padding: 12px; list-style: none; color: var(--cwr-fg); background: var(--cwr-bg);
  border: 1px solid var(--cwr-border); border-radius: 10px; }
.cwr-results li.cwr-turn { display: flex; flex-direction: column; gap: 6px; margin: 0; padding: 0; }
.cwr-results .cwr-msg { display: flex; flex-direction: column; gap: 4px; min-width: 0; max-width: 88%; }
.cwr-results .cwr-you { align-self: flex-end; align-items: flex-end; }
.cwr-results .cwr-reply { align-self: flex-start; align-items: flex-start; }
.cwr-results .cwr-bubble { max-width: 100%; margin: 0; padding: 8px 12px; border-radius: 14px; overflow-wrap: anywhere;
  font-size: var(--jp-content-font-size1, 14px); line-height: 1.5; }
.cwr-results .cwr-you .cwr-bubble { color: var(--cwr-fg); background: var(--cwr-user-bubble);
  border-bottom-right-radius: 4px; white-space: pre-wrap; }
.cwr-results .cwr-agent { display: flex; flex-direction: column; gap: 8px; color: var(--cwr-content);
  background: var(--cwr-bubble); border-bottom-left-radius: 4px; }
.cwr-results .cwr-bad .cwr-agent { box-shadow: inset 0 0 0 1.5px var(--cwr-error); }
.cwr-results ul.cwr-failures { margin: 0; padding: 4px 10px; list-style: none; color: var(--cwr-error);
  background: var(--cwr-error-soft); border-left: 3px solid var(--cwr-error); border-radius: 4px; font-weight: 600; }
.cwr-results ul.cwr-failures li { margin: 1px 0; }
.cwr-results .cwr-verdict { margin: 0; font-size: 12px; color: var(--cwr-muted); }
.cwr-results .cwr-verdict .cwr-pass, .cwr-results .cwr-verdict .cwr-fail { font-weight: 400; }
.cwr-results .cwr-alert { margin: 0; color: var(--cwr-error); font-size: 12px; }
.cwr-results .cwr-note { margin: 0; color: var(--cwr-muted); font-size: 12px; font-style: italic; }
.cwr-results .cwr-handoff { margin: 0; padding: 6px 10px; font-size: 12px; background: rgba(25,118,210,.12);
  background: color-mix(in srgb, var(--cwr-brand) 12%, transparent); border-left: 3px solid var(--cwr-brand);
  border-radius: 4px; }
.cwr-results .cwr-sources { padding-top: 6px; border-top: 1px solid var(--cwr-border); font-size: .9em; }
.cwr-results .cwr-sources-label { color: var(--cwr-muted); font-weight: 600; }
.cwr-results .cwr-sources ul { margin: 2px 0 0; padding-left: 1.3em; list-style: disc; }
.cwr-results .cwr-sources a, .cwr-results .cwr-md a { color: var(--cwr-link); text-decoration: underline;
  text-underline-offset: 2px; }
.cwr-results .cwr-plain { white-space: pre-wrap; }
.cwr-results .cwr-md > :first-child { margin-top: 0; }
.cwr-results .cwr-md > :last-child { margin-bottom: 0; }
.cwr-results .cwr-md p, .cwr-results .cwr-md ul, .cwr-results .cwr-md ol, .cwr-results .cwr-md pre,
.cwr-results .cwr-md blockquote, .cwr-results .cwr-md table { margin: 0 0 .6em; }
.cwr-results .cwr-md ul, .cwr-results .cwr-md ol { padding-left: 1.5em; list-style: disc; }
.cwr-results .cwr-md ol { list-style: decimal; }
.cwr-results .cwr-md ul ul { list-style-type: circle; }
.cwr-results .cwr-md li > p { margin: .2em 0; }
.cwr-results .cwr-md h1, .cwr-results .cwr-md h2, .cwr-results .cwr-md h3, .cwr-results .cwr-md h4,
.cwr-results .cwr-md h5, .cwr-results .cwr-md h6 { margin: .8em 0 .4em; font-size: 1em; font-weight: 600;
  line-height: 1.3; }
.cwr-results .cwr-md h1 { font-size: 1.35em; }
.cwr-results .cwr-md h2 { font-size: 1.2em; }
.cwr-results .cwr-md h3 { font-size: 1.08em; }
.cwr-results .cwr-md code { padding: .1em .35em; background: var(--cwr-bg-deep); border-radius: 4px;
  font-family: var(--jp-code-font-family, ui-monospace, SFMono-Regular, Menlo, Consolas, monospace); font-size: .9em; }
.cwr-results .cwr-md pre { max-width: 100%; padding: 8px 10px; overflow-x: auto; background: var(--cwr-bg-deep);
  border: 1px solid var(--cwr-border); border-radius: 8px; line-height: 1.45; }
.cwr-results .cwr-md pre code { padding: 0; background: none; border-radius: 0; white-space: pre; }
.cwr-results .cwr-md blockquote { padding-left: .8em; color: var(--cwr-muted);
  border-left: 3px solid var(--cwr-border-strong); }
.cwr-results .cwr-md table { display: block; max-width: 100%; overflow-x: auto; border-collapse: collapse; }
.cwr-results .cwr-md th, .cwr-results .cwr-md td { padding: 3px 8px; border: 1px solid var(--cwr-border-strong);
  overflow-wrap: normal; color: inherit; background: none; }
.cwr-results .cwr-md th { background: var(--cwr-bg-deep); }
.cwr-results .cwr-md :is(th, td) { text-align: left; }
.cwr-results .cwr-md :is(th, td)[align="center"] { text-align: center; }
.cwr-results .cwr-md :is(th, td)[align="right"] { text-align: right; }
.cwr-results .cwr-chart rect { fill: var(--cwr-brand); }
.cwr-results .cwr-md img { width: auto; max-width: 100%; height: auto; max-height: 320px; border-radius: 6px; }
.cwr-results .cwr-md hr { margin: .8em 0; border: 0; border-top: 1px solid var(--cwr-border); }
"""
_BADGE = {
    "passed": '<span class="cwr-pass">✓ passed</span>',
    "failed": '<span class="cwr-fail">✗ failed</span>',
    "interrupted": '<span class="cwr-muted">■ interrupted</span>',
    "not run": '<span class="cwr-muted">○ not run</span>',
    "skipped": '<span class="cwr-muted">↷ skipped</span>',
}
_TURN_MARK = {
    "passed": ("✓", "cwr-pass"),
    "failed": ("✗", "cwr-fail"),
    "interrupted": ("■", "cwr-muted"),
    "not run": ("○", "cwr-muted"),
    "skipped": ("↷", "cwr-muted"),
}
_HANDOFF = "The agent asked for a human: a human will take over this conversation."
_SEP = '<span class="cwr-sep"> · </span>'  # separates cells when there is no CSS grid


def _esc(value: object) -> str:
    return html.escape(str(value), quote=True)


# ----------------------------------------------------------- agent markdown, made inert
#
# markdown-it-py renders the agent's markdown with raw HTML off (any HTML in a reply is
# text). Its tokens are then rewritten against an allowlist before rendering, the same
# rules as the panel's (js/src/markdown.js, dom.js): links to http(s), mailto: and tel:
# only, opening in a new tab without opener or referrer; images from https: only, lazy
# and without a referrer (an http: image becomes a link to it, anything else text); no
# class, id or style attribute whatever the markdown says.

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


def _safe_href(url: object) -> str | None:
    """Where an agent's link may point: http(s), mailto: and tel:; ``//host`` reads as https:."""
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
            href = _safe_href(token.attrs.get("href"))
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
    url = _safe_href(token.attrs.get("src"))
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


def _markdown_html(text: str) -> str | None:
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


def _reply_html(text: str) -> str:
    if not text:
        return '<p class="cwr-note">(no text)</p>'
    rendered = _markdown_html(text)
    if rendered is None:
        return f'<div class="cwr-md cwr-plain">{_esc(text)}</div>'
    return f'<div class="cwr-md">{rendered}</div>'


def _source_html(source: str) -> str:
    href = _safe_href(source)
    if href is None:
        return f"<li>{_esc(source)}</li>"
    return f'<li><a href="{_esc(href)}" target="_blank" rel="noopener noreferrer">{_esc(source)}</a></li>'


# ----------------------------------------------------------- the page


def _chart(values: list[float], p50: float | None, p95: float | None) -> str:
    """A small inline-SVG histogram of times to first chunk, with p50 and p95 marked."""
    if not values:
        return ""
    width, height, bins = 360, 80, 24
    top = max(values) or 1.0
    counts = [0] * bins
    for value in values:
        counts[min(bins - 1, int(value / top * bins))] += 1
    tallest = max(counts)
    bar = width / bins
    shapes = [
        f'<rect x="{i * bar:.1f}" y="{height - 14 - c / tallest * (height - 24):.1f}" width="{bar - 1:.1f}" '
        f'height="{c / tallest * (height - 24):.1f}" fill="#0969da" fill-opacity=".6"/>'
        for i, c in enumerate(counts)
        if c
    ]
    for label, mark, y in (("p50", p50, 9), ("p95", p95, 19)):
        if mark is not None:
            x = min(width - 1, mark / top * width)
            shapes.append(
                f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{y - 1}" y2="{height - 14}" stroke="#cf222e" '
                'stroke-dasharray="3 2"/>'
                f'<text x="{min(x + 2, width - 60):.1f}" y="{y}" font-size="9" fill="currentColor">'
                f"{label} {mark:.2f} s</text>"
            )
    shapes.append(f'<text x="0" y="{height - 2}" font-size="9" fill="currentColor">0 s</text>')
    shapes.append(
        f'<text x="{width / 2:.0f}" y="{height - 2}" font-size="9" text-anchor="middle" fill="currentColor">'
        "time to first chunk</text>"
    )
    shapes.append(
        f'<text x="{width}" y="{height - 2}" font-size="9" text-anchor="end" fill="currentColor">{top:.2f} s</text>'
    )
    return (
        f'<svg class="cwr-chart" role="img" width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
        f'style="overflow: visible; margin: .3em 0 .6em"><title>Time to first chunk, {len(values)} replies</title>'
        + "".join(shapes)
        + "</svg>"
    )


def _expected(value: Any) -> str:
    """An expectation's value as a suite file would hold it: strings quoted as written."""
    if isinstance(value, str):
        return f"'{value}'"
    if isinstance(value, list):
        return "[" + ", ".join(_expected(item) for item in value) + "]"
    return json.dumps(value, ensure_ascii=False)


def _verdict(turn: TurnResult) -> str:
    """The quiet line under a reply: the turn's status, timings and what it expected."""
    mark, css = _TURN_MARK.get(turn.status, ("", "cwr-muted"))
    parts = [f'<span class="{css}">{mark} turn {turn.turn} {_esc(turn.status)}</span>']
    reply = turn.reply
    if reply is not None:
        if reply.status != "complete":
            parts.append(f"reply {_esc(reply.status)}")
        parts.append(f"first chunk {_seconds(reply.time_to_first_chunk)}, whole reply {_seconds(reply.elapsed)}")
    if turn.expect:
        checks = "; ".join(
            f"{_esc(key)}: {_esc(_expected(value))}" if key != "check" else _esc(value)
            for key, value in turn.expect.items()
        )
        parts.append(f"expected {checks}")
    return f'<p class="cwr-verdict">{" · ".join(parts)}</p>'


def _turn_html(turn: TurnResult) -> str:
    """One turn as the panel shows it: the prompt, the reply, then what was expected of it."""
    parts = [f'<li class="cwr-turn{" cwr-bad" if turn.failures else ""}">']
    parts.append(
        f'<div class="cwr-msg cwr-you"><div class="cwr-bubble"><span class="cwr-sr">You: </span>'
        f"{_esc(turn.prompt)}</div></div>"
    )
    parts.append('<div class="cwr-msg cwr-reply">')
    reply = turn.reply
    if reply is not None:
        text = reply.text[:_VIEW_TEXT]
        body = ['<div class="cwr-bubble cwr-agent"><span class="cwr-sr">Agent: </span>', _reply_html(text)]
        if len(reply.text) > len(text):
            body.append(f'<p class="cwr-note">… {len(reply.text) - len(text)} more characters in to_dataframe()</p>')
        if reply.status != "complete":
            body.append(f'<p class="cwr-alert">The reply {_esc(reply.status)}: {_esc(reply.error or "no reason")}</p>')
        if reply.handoff:
            body.append(f'<p class="cwr-handoff">{_HANDOFF}</p>')
        if reply.sources:
            items = "".join(_source_html(source) for source in reply.sources)
            body.append(
                f'<div class="cwr-sources"><span class="cwr-sources-label">Sources:</span><ul>{items}</ul></div>'
            )
        body.append("</div>")
        parts.extend(body)
    if turn.failures:
        items = "".join(f"<li>✗ {_esc(failure)}</li>" for failure in turn.failures)
        parts.append(f'<ul class="cwr-failures">{items}</ul>')
    parts.append(_verdict(turn))
    parts.append("</div></li>")
    return "".join(parts)


def _row_html(summary: ScenarioSummary) -> str:
    firsts = [t.time_to_first_chunk for run in summary.runs for t in run.turns if t.time_to_first_chunk is not None]
    seconds = sum(run.elapsed for run in summary.runs)
    failures = summary.failures
    cells = [
        _BADGE.get(summary.status, _esc(summary.status)),
        _esc(summary.name),
        _esc(summary.runs_label),
        _esc(failures[0]) if failures else "",
        _seconds(_percentile(firsts, 50)),
        _seconds(seconds),
    ]
    titles = {1: _esc(summary.name), 3: cells[3]}
    grid = _SEP.join(f'<span class="cwr-cell" title="{titles.get(i, "")}">{c}</span>' for i, c in enumerate(cells))
    body = []
    for run in summary.runs:
        label = f"run {run.run}: {_BADGE.get(run.status, _esc(run.status))}"
        if len(summary.runs) > 1:
            body.append(f'<p class="cwr-run">{label}</p>')
        turns = "".join(_turn_html(turn) for turn in run.turns)
        body.append(f'<ol class="cwr-chat" aria-label="conversation, run {run.run}">{turns}</ol>')
    status = _esc(summary.status).replace(" ", "-")
    return (
        f'<details class="cwr-row cwr-{status}"><summary><span class="cwr-grid">{grid}</span></summary>'
        f'<div class="cwr-convo">{"".join(body)}</div></details>'
    )


def view(result: SuiteResult) -> str:
    latency = result.latency()
    firsts = [t.time_to_first_chunk for t in result.turns if t.time_to_first_chunk is not None]
    summary = [
        f"<strong>{_esc(result.suite)}</strong>:",
        f'<span class="cwr-pass">{result.passed} passed</span> ·',
        f'<span class="cwr-fail">{result.failed} failed</span> ·',
    ]
    if result.not_run:
        summary.append(f'<span class="cwr-muted">{result.not_run} not run</span> ·')
    summary.append(f"pass rate {_percent(result.pass_rate)} ·")
    summary.append(
        f"first chunk p50 {_seconds(latency['first_chunk_p50'])}, p95 {_seconds(latency['first_chunk_p95'])} ·"
    )
    summary.append(f"{result.elapsed:.1f} s")
    if result.repeat > 1:
        summary.append(f"· each scenario run {result.repeat} times")
    rows = sorted(result.scenarios, key=lambda s: _ORDER.get(s.status, 9))
    shown = rows[:_VIEW_ROWS]
    parts = [f'<div class="cwr-results"><style>{_STYLE}</style>', f'<p class="cwr-summary">{" ".join(summary)}</p>']
    if result.interrupted:
        parts.append('<p class="cwr-banner">The run was interrupted; unfinished scenarios are marked.</p>')
    parts.append(_chart(firsts, latency["first_chunk_p50"], latency["first_chunk_p95"]))
    head = ("status", "scenario", "runs", "first failure", "first chunk", "time")
    parts.append(f'<div class="cwr-grid cwr-head">{_SEP.join(f"<span>{h}</span>" for h in head)}</div>')
    parts.extend(_row_html(row) for row in shown)
    if len(rows) > len(shown):
        parts.append(
            f'<p class="cwr-muted">{len(shown)} of {len(rows)} scenarios shown; to_dataframe() has them all.</p>'
        )
    parts.append("</div>")
    return "".join(parts)
