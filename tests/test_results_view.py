"""The results view: static HTML laid out like the panel, with agent markdown made inert."""

from __future__ import annotations

import re
import subprocess
import sys
import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from suite_helpers import quiet

from convowidget import ConvoClient, Reply, serve
from convowidget.results import SuiteResult
from convowidget.suite import Scenario, Suite, Turn


def test_the_html_view_escapes_agent_text_and_lists_failures_first(hostile_result):
    page = hostile_result._repr_html_()
    assert "<script>window" not in page and "<img src=x" not in page and "<b>hostile" not in page
    assert "&lt;script&gt;window.__pwned = 1&lt;/script&gt;" in page
    assert "&lt;b&gt;hostile&lt;/b&gt;" in page
    assert page.index("cwr-row cwr-failed") < page.index("cwr-row cwr-passed")
    assert "✗ expected the reply to contain &#x27;nothing&#x27;" in page
    assert "<svg" in page and "p50" in page and "p95" in page
    assert "<details" in page and "<summary>" in page
    assert repr(hostile_result).startswith("SuiteResult('hostile <suite>': 1 passed, 1 failed, 50% of runs passed")


# ---------------------------------------------------------------------- the results view: the conversation

MARKDOWN = """The **pro plan** costs *$29*.

- unlimited agents
- priority support, see [pricing](https://example.com/pricing "Prices")

```python class="evil" id="x"
run_suite(suite)
```

| plan | price |
|:-----|------:|
| pro | $29 |

![chart](https://example.com/chart.png) ![old](http://example.com/old.png) ![pixel](data:image/png;base64,AAAA)
[mail](mailto:sales@example.com)
"""
HOSTILE_MD = """<script>window.__pwned = 3</script>

<img src=x onerror="window.__pwned = 4">

<div class="jp-Dialog" style="position:fixed;inset:0">over everything</div>

<iframe src="https://example.com"></iframe><style>body { display: none }</style><!-- hidden -->

[click](javascript:alert(1)) [vb](vbscript:msgbox(1)) [file](file:///etc/passwd) [rel](../secrets) <javascript:alert(2)>
[entity](java&#115;cript:alert(3)) ![x](javascript:alert(5)) ![y](data:image/svg+xml,<svg/onload=alert(6)>)
[![img](https://example.com/a.png)](javascript:alert(7)) *<b onclick="alert(8)">bold</b>* {: .cwr-agent #id}
"""
# What the page itself writes: the view's own elements, then those agent markdown may become.
VIEW_TAGS = {"div", "style", "p", "span", "strong", "em", "details", "summary", "ol", "ul", "li", "a", "label", "input"}
CHART_TAGS = {"svg", "title", "rect", "line", "text"}
MARKDOWN_TAGS = {"p", "br", "hr", "blockquote", "pre", "code", "ul", "ol", "li", "strong", "em", "s", "a", "img"}
MARKDOWN_TAGS |= {"table", "thead", "tbody", "tr", "th", "td", "h1", "h2", "h3", "h4", "h5", "h6"}
VOID = {"br", "hr", "img", "input", "meta", "link", "source", "wbr"}


class Element:
    """One parsed HTML element: enough of a DOM to ask what the view really contains."""

    def __init__(self, tag: str, attrs: dict[str, str | None], parent: Element | None = None) -> None:
        self.tag, self.attrs, self.parent = tag, attrs, parent
        self.children: list[Element | str] = []

    @property
    def classes(self) -> list[str]:
        return (self.attrs.get("class") or "").split()

    def iter(self):
        """This element and everything inside it, in document order."""
        yield self
        for child in self.children:
            if isinstance(child, Element):
                yield from child.iter()

    def select(self, tag: str | None = None, cls: str | None = None) -> list[Element]:
        """The elements inside this one with that tag and class."""
        return [e for e in list(self.iter())[1:] if tag in (None, e.tag) and (cls is None or cls in e.classes)]

    def text(self) -> str:
        return "".join(child if isinstance(child, str) else child.text() for child in self.children)


def parse_html(text: str) -> Element:
    from html.parser import HTMLParser

    root = Element("#root", {})

    class Builder(HTMLParser):
        current = root

        def handle_starttag(self, tag, attrs):
            element = Element(tag, dict(attrs), self.current)
            self.current.children.append(element)
            if tag not in VOID:
                self.current = element

        def handle_startendtag(self, tag, attrs):
            self.current.children.append(Element(tag, dict(attrs), self.current))

        def handle_endtag(self, tag):
            node = self.current
            while node is not root and node.tag != tag:
                node = node.parent
            assert node is not root, f"</{tag}> closes nothing"
            self.current = node.parent

        def handle_data(self, data):
            self.current.children.append(data)

    builder = Builder()
    builder.feed(text)
    builder.close()
    assert builder.current is root, "an element was left open"
    return root


@pytest.fixture(scope="module")
def markdown_result():
    """Two scenarios through the embedded server: markdown with sources then a handoff, and hostile text."""

    def agent(request):
        if request.prompt == "markdown please":
            yield MARKDOWN
            yield {
                "type": "metadata",
                "metadata": {"sources": ["https://example.com/pricing", "javascript:alert(9)", "FAQ"]},
            }
        elif request.prompt == "a human":
            yield "Connecting you to a person."
            yield {"type": "action", "action": {"type": "request_handoff", "reason": "asked"}}
        else:
            yield HOSTILE_MD

    suite = Suite(
        [
            Scenario(
                "markdown",
                [
                    Turn("markdown please", expect={"contains": "pro plan", "regex": r"\$\d+"}),
                    Turn("a human", expect={"contains": "nothing", "handoff": True}),
                ],
            ),
            Scenario("hostile", [Turn("bad <i>prompt</i>", expect={"contains": "over everything"})]),
        ],
        name="markdown",
    )
    with serve(agent, chunk_delay=0) as server:
        yield quiet(ConvoClient(url=server.url, agent_id="a"), suite)


def turns_of(page: Element, scenario: str) -> list[Element]:
    (row,) = [row for row in page.select("details", "cwr-row") if scenario in row.select("summary")[0].text()]
    return row.select("li", "cwr-turn")


def test_hostile_agent_markdown_renders_inert(markdown_result):
    page = parse_html(markdown_result.to_html())
    assert len(page.select("style")) == 1  # the view's own, and no other
    allowed = VIEW_TAGS | CHART_TAGS | MARKDOWN_TAGS | {"html", "head", "meta", "title", "body"}
    for element in page.iter():
        if element is page:
            continue
        assert element.tag in allowed, element.tag
        assert not [name for name in element.attrs if name.startswith("on")], element.attrs
        assert "id" not in element.attrs
        assert all(name.startswith("cwr-") for name in element.classes), element.classes
        if "style" in element.attrs:
            assert element.tag in ("svg", "body"), element.tag  # the chart and the page: never the agent's
        for name in ("href", "src"):
            url = element.attrs.get(name)
            assert url is None or re.match(r"(https?://|mailto:)", url), (element.tag, url)
        if element.tag == "a":
            assert (element.attrs["target"], element.attrs["rel"]) == ("_blank", "noopener noreferrer")
    (hostile,) = turns_of(page, "hostile")
    (bubble,) = hostile.select("div", "cwr-agent")
    assert not bubble.select("a") and not bubble.select("b")  # no link survives, no agent HTML
    assert [img.attrs["src"] for img in bubble.select("img")] == ["https://example.com/a.png"]  # https: only
    text = bubble.text()
    for shown in (
        "<script>window.__pwned = 3</script>",
        '<img src=x onerror="window.__pwned = 4">',
        '<div class="jp-Dialog" style="position:fixed;inset:0">over everything</div>',
        '<iframe src="https://example.com"></iframe><style>body { display: none }</style><!-- hidden -->',
        "[click](javascript:alert(1))",
        "![x](javascript:alert(5))",  # refused images stay text
        "![y](data:image/svg+xml,<svg/onload=alert(6)>)",
        '<b onclick="alert(8)">bold</b>',
    ):
        assert shown in text
    assert [e.text() for e in bubble.select("em")] == ['<b onclick="alert(8)">bold</b>']  # markdown still works
    (prompt,) = hostile.select("div", "cwr-you")
    assert prompt.text() == "You: bad <i>prompt</i>" and not prompt.select("i")
    assert "<script>window.__pwned" not in markdown_result.to_html()


def test_agent_markdown_renders_as_elements(markdown_result):
    page = parse_html(markdown_result._repr_html_())
    first = turns_of(page, "markdown")[0]
    (markdown,) = first.select("div", "cwr-md")
    assert [e.text() for e in markdown.select("strong")] == ["pro plan"]
    assert [e.text() for e in markdown.select("em")] == ["$29"]
    (bullets,) = markdown.select("ul")
    assert [li.text() for li in bullets.select("li")] == ["unlimited agents", "priority support, see pricing"]
    (link,) = bullets.select("a")
    assert link.attrs == {
        "href": "https://example.com/pricing",
        "title": "Prices",
        "target": "_blank",
        "rel": "noopener noreferrer",
    }
    (code,) = markdown.select("code")
    assert code.parent.tag == "pre" and code.text() == "run_suite(suite)\n" and code.attrs == {}
    (table,) = markdown.select("table")
    assert [th.text() for th in table.select("th")] == ["plan", "price"]
    assert [(td.text(), td.attrs) for td in table.select("td")] == [
        ("pro", {"align": "left"}),
        ("$29", {"align": "right"}),
    ]
    (image,) = markdown.select("img")  # https: only, lazily, without a referrer
    assert image.attrs == {
        "src": "https://example.com/chart.png",
        "alt": "chart",
        "loading": "lazy",
        "referrerpolicy": "no-referrer",
    }
    links = {a.text(): a.attrs["href"] for a in markdown.select("a")}
    assert links == {
        "pricing": "https://example.com/pricing",
        "old": "http://example.com/old.png",  # an http: image is a link to it, never loaded
        "mail": "mailto:sales@example.com",
    }
    assert "[image: pixel]" in markdown.text()  # a data: image is text


def test_the_conversation_is_laid_out_like_the_panel(markdown_result):
    page = parse_html(markdown_result._repr_html_())
    rows = page.select("details", "cwr-row")
    assert [row.classes for row in rows] == [["cwr-row", "cwr-failed"], ["cwr-row", "cwr-passed"]]
    (chat,) = rows[0].select("ol", "cwr-chat")
    first, second = turns_of(page, "markdown")
    assert first.parent is chat and second.parent is chat

    # turn 1 passed: the prompt, the reply with its sources, a quiet tick and no failures
    assert first.classes == ["cwr-turn"]
    assert [e.text() for e in first.select("div", "cwr-you")] == ["You: markdown please"]
    (reply,) = first.select("div", "cwr-agent")
    (sources,) = reply.select("div", "cwr-sources")
    items = sources.select("li")
    assert [li.text() for li in items] == ["https://example.com/pricing", "javascript:alert(9)", "FAQ"]
    assert [[a.attrs["href"] for a in li.select("a")] for li in items] == [["https://example.com/pricing"], [], []]
    assert not reply.select(cls="cwr-handoff") and not first.select("ul", "cwr-failures")
    (verdict,) = first.select("p", "cwr-verdict")
    assert verdict.text().startswith("✓ turn 1 passed · first chunk ")
    assert verdict.text().endswith("expected contains: ['pro plan']; regex: ['\\$\\d+']")

    # turn 2 failed: marked on that turn, with its handoff notice in the reply
    assert second.classes == ["cwr-turn", "cwr-bad"]
    (reply,) = second.select("div", "cwr-agent")
    assert [e.text() for e in reply.select(cls="cwr-handoff")] == [
        "The agent asked for a human: a human will take over this conversation."
    ]
    (failures,) = second.select("ul", "cwr-failures")
    assert [li.text() for li in failures.select("li")] == ["✗ expected the reply to contain 'nothing'"]
    assert second.select("p", "cwr-verdict")[0].text().startswith("✗ turn 2 failed · ")


FRAGMENTS = [
    *("<script>", "</script>", "<img src=x onerror=alert(1)>", '<a href="javascript:x">', "<div class=jp-x style=a>"),
    *("<!--", "-->", "<![CDATA[", "&#106;", "&lt;", "&", '"', "'", "`", "```js class=x\n", "\n\n", "\n", "    "),
    *("[", "]", "(", ")", "!", "<", ">", "*", "_", "~~", "#", "> ", "- ", "1. ", "|", "|:-|", "\\", " "),
    *("javascript:", "JaVaScRiPt:", "vbscript:", "data:text/html,", "file:", "http://a.b/", "https://c.d/", "//e.f"),
    *("mailto:", "tel:+1", "onload=", "style=", "class=", "id=", "{: .x}", "\x00", "\u202e", "\ud800"),
]


# Attributes an element in the reply's bubble may carry (class: the view's own, cwr-*).
BUBBLE_ATTRS = {
    "a": {"href", "title", "target", "rel"},
    "img": {"src", "alt", "title", "loading", "referrerpolicy"},
    "ol": {"start"},
    "th": {"align"},
    "td": {"align"},
    "div": {"class"},
    "span": {"class"},
    "p": {"class"},
}


SCHEMES = ["javascript:", "JaVaScRiPt:", " javascript:", "vbscript:", "data:image/png,", "file:///", "", "/", "../"]
SCHEMES += ["http://a.b/", "https://c.d/", "//e.f/", "mailto:", "tel:+1", "ftp://g.h/", "\x01javascript:"]
LINKS = st.builds(
    "{}[{}]({}{}{})".format,
    st.sampled_from(["", "!", "[![i](https://i.j/p.png)"]),
    st.sampled_from(FRAGMENTS) | st.text(max_size=3),
    st.sampled_from(["", "<"]),
    st.sampled_from(SCHEMES),
    st.sampled_from(["x", "alert(1)", '"t"', "x 'title'", "%0a", "&#58;"]),
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.sampled_from(FRAGMENTS) | st.text(max_size=3) | LINKS, max_size=40).map("".join))
def test_any_agent_text_renders_to_allowlisted_html(text):
    from convowidget.results import ScenarioResult, TurnResult

    turn = TurnResult("s", 1, 1, "p", status="passed", reply=Reply(text=text))
    page = parse_html(SuiteResult("s", [ScenarioResult("s", 1, [turn], "passed")])._repr_html_())
    (bubble,) = page.select("div", "cwr-agent")
    for element in bubble.select():
        assert element.tag in MARKDOWN_TAGS | {"div", "span"}, element.tag
        assert set(element.attrs) <= BUBBLE_ATTRS.get(element.tag, set()), (element.tag, element.attrs)
        assert all(name.startswith("cwr-") for name in element.classes)
        if element.tag == "a":
            assert re.match(r"(https?://[^/\\\s]|mailto:|tel:)", element.attrs["href"]), element.attrs
            assert (element.attrs["target"], element.attrs["rel"]) == ("_blank", "noopener noreferrer")
        if element.tag == "img":
            assert element.attrs["src"].startswith("https://"), element.attrs
            assert (element.attrs["loading"], element.attrs["referrerpolicy"]) == ("lazy", "no-referrer")


def test_without_markdown_it_the_view_shows_the_reply_as_escaped_text(markdown_result, monkeypatch):
    monkeypatch.setitem(sys.modules, "markdown_it", None)
    page = parse_html(markdown_result._repr_html_())
    first = turns_of(page, "markdown")[0]
    (plain,) = first.select("div", "cwr-plain")
    assert plain.text() == MARKDOWN and not plain.select()
    (hostile,) = turns_of(page, "hostile")
    assert hostile.select("div", "cwr-plain")[0].text() == HOSTILE_MD


def test_importing_convowidget_does_not_import_markdown_it():
    code = "import sys, convowidget, convowidget.results; print('markdown_it' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"


# ---------------------------------------------------------------------- the view's header, totals and rows


def test_the_header_names_the_run_the_agent_and_its_address_without_secrets():
    with serve(lambda r: "fine", chunk_delay=0) as server:
        url = server.url
        client = ConvoClient(
            url=server.url.replace("ws://", "ws://user:PASSWORD-1@") + "?token=TOKEN-2", agent_id="bot-3"
        )
        result = quiet(client, Suite([Scenario("a", ["hi"])], name="my suite"))
    text = result.to_html()
    assert "PASSWORD-1" not in text and "TOKEN-2" not in text
    (header,) = parse_html(text).select("p", "cwr-header")
    when = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(result.started_at))
    assert header.text() == f"my suite · {when} · agent bot-3 · at {url}"
    assert result.url == url and result.agent_id == "bot-3"


def test_zero_failed_is_not_red_and_every_failure_of_a_turn_is_in_its_row(markdown_result, hostile_result):
    passed = SuiteResult("s", [r for r in markdown_result.runs if r.status == "passed"])
    summary = parse_html(passed._repr_html_()).select("p", "cwr-summary")[0]
    (zero,) = [span for span in summary.select("span") if span.text() == "0 failed"]
    assert zero.classes == ["cwr-muted"]
    failing = parse_html(markdown_result._repr_html_()).select("p", "cwr-summary")[0]
    assert [s.classes for s in failing.select("span") if s.text() == "1 failed"] == [["cwr-fail"]]

    several = Turn("a human", expect={"contains": ["nothing", "nobody"], "handoff": False})
    with serve(lambda r: "Connecting you to a person.", chunk_delay=0) as server:
        result = quiet(ConvoClient(url=server.url, agent_id="a"), Suite([Scenario("x", [several, several])]), repeat=2)
    (row,) = parse_html(result._repr_html_()).select("details", "cwr-row")
    cell = row.select("summary")[0].select("span", "cwr-cell")[3]
    assert [line.text() for line in cell.select("span", "cwr-failure")] == [
        "turn 1: expected the reply to contain 'nothing' (runs 1, 2)",
        "turn 1: expected the reply to contain 'nobody' (runs 1, 2)",
        "turn 2: expected the reply to contain 'nothing' (runs 1, 2)",
        "turn 2: expected the reply to contain 'nobody' (runs 1, 2)",
    ]


def test_the_chart_labels_are_12_px_and_p50_p95_sit_in_a_legend_apart(hostile_result):
    page = parse_html(hostile_result._repr_html_())
    (chart,) = page.select("svg", "cwr-chart")
    texts = chart.select("text")
    assert texts and all(int(text.attrs["font-size"]) >= 12 for text in texts)
    legend = [text for text in texts if text.text().startswith(("p50", "p95"))]
    assert [text.text().split()[0] for text in legend] == ["p50", "p95"]
    assert {text.attrs["y"] for text in legend} == {"14"}  # one row, above the bars
    assert float(legend[1].attrs["x"]) - float(legend[0].attrs["x"]) >= 100  # wider than "p50 0.00 s" at 12 px


def test_repeat_shows_each_rate_with_its_interval_and_pass_k(hostile_result):
    page = parse_html(hostile_result._repr_html_())
    summary = page.select("p", "cwr-summary")[0].text()
    assert "pass rate 50% (95% CI 15%–85%)" in summary and "pass^2 50% of scenarios" in summary
    rows = page.select("details", "cwr-row")
    runs = rows[0].select("summary")[0].select("span", "cwr-cell")[2]
    assert runs.text() == "0/2 · 0%CI 0%–66%"  # two lines: the rate, then its interval
    (stats,) = rows[1].select("p", "cwr-stats")
    assert stats.text().startswith("2/2 runs passed · pass rate 100% (95% CI 34%–100%) · pass^2 yes")
    (toggle,) = page.select("input")
    assert toggle.attrs == {"type": "checkbox"} and toggle.parent.text().strip() == "Expand all"
