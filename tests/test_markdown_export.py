"""A displayed Reply and ``to_markdown()`` exported by nbconvert: no link an agent wrote runs a script.

Every form of script link found in review (a destination on the next line, entity-encoded
schemes, and the older plain, reference, autolink and image forms) goes into a notebook as
a displayed Reply and as a ChatWidget's ``to_markdown()``; ``jupyter nbconvert --to html``
renders it as GitHub or a course site would, and every ``href`` and ``src`` of the page is
read with html.parser (which decodes entities as a browser does). The markdown export is
rendered again by two parsers. Fenced code inside a quote stays a code block in the quote.
"""

from __future__ import annotations

import os
import subprocess
import sys
from html.parser import HTMLParser

import nbformat
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from markdown_it import MarkdownIt
from nbconvert.filters.markdown_mistune import markdown2html_mistune

from convowidget import ChatWidget, ConvoClient, serve
from convowidget.reply import Reply
from convowidget.transcript import escape_markdown

FORMS = {
    "destination on the next line": "[docs](\njavascript:alert(1))",
    "decimal entity colon": "[a](javascript&#58;alert(2))",
    "named entity colon": "[b](javascript&colon;alert(3))",
    "hex entity letter": "[c](&#x6A;avascript:alert(4))",
    "plain": "[d](javascript:alert(5))",
    "upper case": "[e](JaVaScRiPt:alert(6))",
    "tab entity inside the scheme": "[f](java&#x09;script:alert(7))",
    "angle brackets": "[g](<javascript:alert(8)>)",
    "with a title": '[h](javascript:alert(9) "title")',
    "reference": "[i][r1]\n\n[r1]: javascript:alert(10)",
    "reference on the next line": "[j][r2]\n\n[r2]:\n  javascript&#58;alert(11)",
    "shortcut reference": "[r3]\n\n[r3]: vbscript:msgbox(12)",
    "autolink": "<javascript:alert(13)>",
    "image": "![k](javascript:alert(14))",
    "data image": "![l](data:image/svg+xml,<svg/onload=alert(15)>)",
    "image inside a script link": "[![m](https://example.com/a.png)](javascript:alert(16))",
    "nested brackets": "[n [o](javascript:alert(17))",
    "in a quote": "> [p](javascript:alert(18))",
    "in a list": "- item\n  [q](javascript&#x3A;alert(19))",
    "in a table": "| a | b |\n| - | - |\n| [s](javascript:alert(20)) | [s](javascript:alert(20)) |",
    "in a heading": "## [t](javascript:alert(21))",
    "in a code span in HTML": "`<b>` then `[u](javascript:alert(22))`",
}
SAFE = "[good](https://example.com/docs?a=1&b=2) <https://example.com/auto> [mail](mailto:a@example.com)"
TEXT = "\n\n".join([*FORMS.values(), SAFE])
ALLOWED = ("http://", "https://", "mailto:", "tel:", "#")  # '#': nbconvert's own heading anchors
TEMPLATE_TAGS = {"script", "link"}  # the page's own scripts and styles; no agent text can make these tags


class _Links(HTMLParser):
    """Every href and src of a page, decoded as a browser decodes attributes."""

    def __init__(self, page: str) -> None:
        super().__init__()
        self.urls: list[tuple[str, str]] = []
        self.feed(page)

    def handle_starttag(self, tag, attrs):
        self.urls += [(tag, value or "") for name, value in attrs if name in ("href", "src", "action", "formaction")]


def script_urls(page: str) -> list[tuple[str, str]]:
    """The URLs a click or a load would follow that are not http(s), mailto:, tel: or an anchor.

    A browser strips leading and trailing spaces and controls and drops tabs and newlines
    anywhere in a URL before it reads the scheme; so does this check.
    """
    found = []
    for tag, url in _Links(page).urls:
        cleaned = "".join(c for c in url if c not in "\t\n\r").strip("\x00\x01\x02\x03\x04\x05\x06\x07\x08 \x0b\x0c")
        if tag not in TEMPLATE_TAGS and not cleaned.lower().startswith(ALLOWED):
            found.append((tag, url))
    return found


def export(tmp_path, outputs: list[str], to: str) -> str:
    """A notebook whose cells display each markdown as a Reply would, exported by nbconvert."""
    notebook = nbformat.v4.new_notebook()
    for markdown in outputs:
        cell = nbformat.v4.new_code_cell("reply")
        data = {"text/markdown": markdown, "text/plain": "Reply(...)"}
        cell.outputs = [nbformat.v4.new_output("display_data", data=data)]
        notebook.cells.append(cell)
    path = tmp_path / "exported.ipynb"
    nbformat.write(notebook, path)
    command = [sys.executable, "-m", "jupyter", "nbconvert", "--to", to, str(path), "--output-dir", str(tmp_path)]
    subprocess.run(command, check=True, capture_output=True, timeout=120)
    return (tmp_path / f"exported.{'html' if to == 'html' else 'md'}").read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def chat_markdown() -> str:
    """``ChatWidget.to_markdown()`` of a real chat whose agent answered with every form."""
    import comm
    from conftest import RecordingComm

    create = comm.create_comm
    comm.create_comm = lambda **kwargs: RecordingComm(**kwargs)
    try:
        with serve(lambda request: TEXT, chunk_delay=0) as server:
            chat = ChatWidget(client=ConvoClient(url=server.url, agent_id="x"))
            chat.ask("show me [a link](javascript:alert(99)) please")
            return chat.to_markdown()
    finally:
        comm.create_comm = create


def test_no_script_link_survives_an_html_export(tmp_path, chat_markdown):
    reply = Reply(text=TEXT, sources=["[x", "](javascript:alert(30))"])  # two sources that make a link side by side
    page = export(tmp_path, [reply._repr_markdown_(), chat_markdown], "html")
    assert script_urls(page) == []
    links = [url for tag, url in _Links(page).urls if tag == "a"]
    assert links.count("https://example.com/docs?a=1&b=2") == 2 and links.count("mailto:a@example.com") == 2
    for text in ("[docs](", "javascript&amp;#58;alert(2)", "[i][r1]", "alert(22)", "show me [a link]"):
        assert text in page, text  # the agent's words are still there, as text


def test_the_markdown_export_renders_without_a_script_link_in_two_parsers(tmp_path, chat_markdown):
    reply = Reply(text=TEXT)
    exported = export(tmp_path, [reply._repr_markdown_(), chat_markdown], "markdown")
    for rendered in (markdown2html_mistune(exported), MarkdownIt("commonmark").enable("table").render(exported)):
        assert script_urls(rendered) == []
        assert "https://example.com/docs?a=1&amp;b=2" in rendered


@pytest.mark.parametrize("form", FORMS, ids=list(FORMS))
def test_each_form_alone_is_text_and_escape_markdown_keeps_a_safe_link(form):
    shown = escape_markdown(f"see {FORMS[form]} and {SAFE}")
    rendered = markdown2html_mistune(shown)
    assert script_urls(rendered) == [], shown
    assert '<a href="https://example.com/docs?a=1&amp;b=2">good</a>' in rendered


QUOTED_CODE = """Here is how:

> Run this:
> ```python
> print("<b>" if a < b else [1](javascript:alert(1)))
> ```
> and you are done.
"""


def test_a_fenced_block_in_a_quote_stays_a_code_block_in_the_quote(recording_comm):
    with serve(lambda request: QUOTED_CODE, chunk_delay=0) as server:
        chat = ChatWidget(client=ConvoClient(url=server.url, agent_id="x"))
        reply = chat.ask("how?")
    for markdown in (reply._repr_markdown_(), chat.to_markdown()):
        rendered = markdown2html_mistune(markdown)
        quotes = [part.split("</blockquote>", 1)[0] for part in rendered.split("<blockquote>")[1:]]
        (quote,) = [quote for quote in quotes if "Run this:" in quote]
        assert "Run this:" in quote and "and you are done." in quote
        assert "<pre" in quote and "&lt;b&gt;" in quote  # a code block, its text shown exactly
        assert "```" not in rendered and "\\`" not in markdown
        assert script_urls(rendered) == []


PIECES = [
    "[", "]", "(", ")", "<", ">", "!", "\n", "\n\n", "> ", "- ", "| ", " ", "`", "\\", ":", '"t"',
    "javascript", "java\tscript", "JAVASCRIPT", "vbscript", "data", ":alert(1)", "&#58;", "&colon;",
    "&#x6A;", "&amp;", "&#106;", "https://example.com/", "[r]: ", "[r]", "x", "# ",
]  # fmt: skip


@settings(max_examples=int(os.environ.get("CONVOWIDGET_FUZZ_EXAMPLES", "200")), deadline=None)
@given(st.lists(st.sampled_from(PIECES), max_size=40).map("".join))
def test_no_arrangement_of_link_syntax_leaves_a_script_link_in_either_parser(text):
    shown = escape_markdown(text)
    for rendered in (markdown2html_mistune(shown), MarkdownIt("commonmark").enable("table").render(shown)):
        assert script_urls(rendered) == [], (text, shown)
