"""The copy under the panel: a turn writes only its own output, and the outputs read as the whole conversation.

IPython's display and update_display are recorded (``displayed``) and replayed the way a
front end applies them (``Outputs``): each display id shows its latest bundle, in the
order first displayed. With no IPython shell no cell is running, so the copy is refreshed
at once after each reply, as when typing in the panel (tests/test_kernel.py checks the
cell-end refresh in a real kernel).
"""

from __future__ import annotations

import json
import re

import pytest
from test_widget import VECTORS, assert_inert, displayed, from_front_end, wait_for

from convowidget import ChatWidget, ConvoClient, Faults, serve
from convowidget._saved_copy import NEWEST, PAGE_CHARS, SLOTS, layout


@pytest.fixture(autouse=True)
def _record(recording_comm):
    pass


class Outputs:
    """The copy as a front end shows it: every display id's latest bundle, in display order."""

    def __init__(self, shown: list[tuple[str, dict, str | None]]) -> None:
        self.shown = shown

    def bundles(self) -> list[dict]:
        latest: dict[str, dict] = {}
        for kind, bundle, display_id in self.shown:
            if display_id is None:
                continue  # the panel's own output
            assert kind == "update" or display_id not in latest, f"{display_id} displayed twice"
            assert kind == "display" or display_id in latest, f"{display_id} updated before it was shown"
            latest[display_id] = bundle
        return list(latest.values())

    def html(self) -> str:
        return "\n".join(bundle["text/html"] for bundle in self.bundles())


def counted(pattern: str, text: str) -> int:
    return len(re.findall(pattern, text))


def test_the_copy_is_a_fixed_set_of_outputs_shown_with_the_panel():
    with serve(lambda request: "hi", chunk_delay=0) as server:
        chat = ChatWidget(client=ConvoClient(url=server.url, agent_id="x"))
        with displayed() as shown:
            chat._ipython_display_()
    (panel_kind, panel, panel_id), *copy = shown
    assert panel_kind == "display" and panel_id is None and "application/vnd.jupyter.widget-view+json" in panel
    assert len(copy) == SLOTS and len({display_id for _, _, display_id in copy}) == SLOTS
    (_, header, _), (_, first, _), *rest = copy
    plain = header["text/plain"]
    assert plain.startswith("Conversation with Agent x") and plain.endswith("(a copy for when the kernel is gone)")
    assert "<summary>Conversation with Agent x" in header["text/html"] and "No messages yet." in first["text/html"]
    assert all(bundle == {"text/html": ""} for _, bundle, _ in rest)  # empty outputs take no room


def test_each_turn_writes_its_own_output_and_now_and_then_gathers_a_page():
    with serve(lambda request: f"answer to {request.prompt}. " + "words " * 80, chunk_delay=0) as server:
        chat = ChatWidget(client=ConvoClient(url=server.url, agent_id="x"))
        with displayed() as shown:
            chat._ipython_display_()
            per_turn: list[list[tuple[str, dict, str | None]]] = []
            for turn in range(1, 41):
                before = len(shown)
                chat.ask(f"q{turn}")
                per_turn.append(shown[before:])
                html = Outputs(shown).html()
                said = [int(n) for n in re.findall(r"answer to q(\d+)\.", html)]
                assert said == list(range(1, turn + 1)), f"turn {turn}: the copy reads {said}"
                assert counted(r"<blockquote><div>q\d+</div></blockquote>", html) == turn
                assert "No messages yet." not in html
    assert all(kind == "update" for turn in per_turn for kind, _, _ in turn)
    single = [turn for turn in per_turn if len(turn) == 1]
    gathering = [turn for turn in per_turn if len(turn) > 1]
    assert len(single) + len(gathering) == 40 and len(gathering) == (40 - 1) // NEWEST
    assert all(len(turn) <= NEWEST for turn in gathering)
    # A turn that gathers nothing sends only itself, the same bytes at turn 40 as at turn 1.
    sizes = [len(json.dumps(turn[0][1])) for turn in single]
    assert max(sizes) - min(sizes) <= 10, sizes
    assert all(
        f"answer to q{n}." in per_turn[n - 1][-1][1]["text/html"] for n in range(1, 41) if len(per_turn[n - 1]) == 1
    )


def test_layout_keeps_every_turn_once_in_order_within_the_outputs():
    def check(sizes: list[int]) -> list[range]:
        pages = layout(sizes)
        assert len(pages) <= SLOTS - 1, len(pages)
        assert [turn for page in pages for turn in page] == list(range(len(sizes)))
        return pages

    typed = check([2_200] * 300)  # the long-conversation benchmark: fits without doubling up
    assert max(len(page) for page in typed) == NEWEST and all(len(page) == 1 for page in typed[-NEWEST:])
    assert all(sum([2_200] * len(page)) <= PAGE_CHARS for page in typed)
    big = check([500, 100_000, 500, 500])  # a turn over the page size is a page of its own
    assert [len(page) for page in big] == [1, 1, 1, 1]
    assert [list(page) for page in check([10_000] * 7)[:2]] == [[0, 1, 2], [3, 4, 5]]
    many = check([300] * 5_000)  # past the last output, pages take two groups, then four...
    assert len(many[0]) == 16 * NEWEST  # 416 groups of 12 in 27 outputs
    assert check([]) == []


def test_clear_new_conversation_regenerate_and_retry_leave_a_true_copy():
    count = iter(range(1, 1000))
    with serve(
        lambda request: f"answer {next(count)} to {request.prompt}", chunk_delay=0, faults=Faults(drop_after=2, times=1)
    ) as server:
        chat = ChatWidget(client=ConvoClient(url=server.url, agent_id="x"))
        with displayed() as shown:
            chat._ipython_display_()
            copy = Outputs(shown)
            failed = chat.ask("q0")  # the fault drops the first reply: Retry replaces it
            assert failed.status == "failed" and "Reply failed" in copy.html()
            from_front_end(chat, {"type": "retry", "id": chat.transcript[-1]["id"]})
            wait_for(lambda: len(chat.replies) == 2 and "answer 2 to q0" in copy.html())
            assert "Reply failed" not in copy.html() and counted("<blockquote>", copy.html()) == 1
            for turn in range(1, NEWEST + 3):  # past a gathering: the last turn is on its own output
                chat.ask(f"q{turn}")
            last = chat.transcript[-1]
            from_front_end(chat, {"type": "regenerate", "id": last["id"]})
            wait_for(lambda: len(chat.replies) == NEWEST + 5 and f"answer {NEWEST + 5} to q{NEWEST + 2}" in copy.html())
            assert last["text"] not in copy.html() and counted("<blockquote>", copy.html()) == NEWEST + 3
            chat.clear()
            wait_for(lambda: "No messages yet." in copy.html())
            assert "answer" not in copy.html()
            chat.ask("after clear")
            chat.new_conversation()
            wait_for(lambda: "No messages yet." in copy.html())
            assert "after clear" not in copy.html()
            chat.ask("fresh")
    assert re.findall(r"answer \d+ to \w+", copy.html()) == [f"answer {NEWEST + 7} to fresh"]


FORMATTED = """### A heading

- first item
- second item

```python
print("<b>not bold</b>")
```

| name | value |
| --- | --- |
| a | 1 |

A [good link](https://example.com/x?a=1&b=2), [mail](mailto:a@example.com), ![pic](https://example.com/p.png),
![plain](http://example.com/p.png) and **bold**.
"""


def test_the_copy_renders_markdown_and_nothing_the_agent_sent_runs():
    with serve(lambda request: FORMATTED if request.prompt == "format" else VECTORS, chunk_delay=0) as server:
        chat = ChatWidget(client=ConvoClient(url=server.url, agent_id="x"))
        with displayed() as shown:
            chat._ipython_display_()
            chat.ask("format")
            chat.ask('show me <b>tags</b>\nand <img src=x onerror="alert(9)">')
    html = Outputs(shown).html()
    tags = {"details", "summary", "style", "div", "strong", "em", "blockquote", "h3", "ul", "li", "pre", "code"}
    tags |= {"table", "thead", "tbody", "tr", "th", "td", "a", "img"}
    assert_inert(html, tags)
    # formatted: a heading, a list, a code block, a table, links and an https image
    assert "<h3>A heading</h3>" in html and "<li>second item</li>" in html and "<strong>bold</strong>" in html
    assert '<pre><code>print("&lt;b&gt;not bold&lt;/b&gt;")\n</code></pre>' in html.replace("&quot;", '"')
    assert "<th>name</th>" in html and "<td>1</td>" in html
    assert '<a href="https://example.com/x?a=1&amp;b=2" target="_blank" rel="noopener noreferrer">good link</a>' in html
    assert 'href="mailto:a@example.com"' in html and 'src="https://example.com/p.png"' in html
    assert '<img src="http:' not in html and 'href="http://example.com/p.png"' in html  # http: images are links
    # the agent's HTML and the prompt's are text; script links are not links
    assert "&lt;img src=x onerror=alert(1)&gt;" in html and "&lt;script&gt;alert(3)&lt;/script&gt;" in html
    assert "[md link](javascript:alert(6))" in html
    assert (
        '<div>show me &lt;b&gt;tags&lt;/b&gt;</div><div>and &lt;img src=x onerror="alert(9)"&gt;</div>'
        in html.replace("&quot;", '"')
    )
    # the only style, class and id are the copy's own
    copy_id = chat._saved_copy.copy_id
    assert re.findall(r"<style>(.*?)</style>", html) == [
        f"html:not(:has(#{copy_id}[open])) .{copy_id} {{display: none}}"
    ]
    assert set(re.findall(r' class="([^"]*)"', html)) == {copy_id} and re.findall(r' id="([^"]*)"', html) == [copy_id]
    assert set(re.findall(r' style="([^"]*)"', html)) <= {
        "margin-top: 0.8em",
        "margin-bottom: 0.8em",
        "white-space: pre-wrap",
    }


def test_feedback_given_in_the_panel_is_in_the_copy():
    with serve(lambda request: f"answer to {request.prompt}", chunk_delay=0) as server:
        chat = ChatWidget(client=ConvoClient(url=server.url, agent_id="x"))
        with displayed() as shown:
            chat._ipython_display_()
            copy = Outputs(shown)
            chat.ask("q")
            answer_id = chat.transcript[-1]["id"]
            assert "Feedback" not in copy.html()
            from_front_end(chat, {"type": "feedback", "id": answer_id, "value": "down", "note": "<b>Too</b> vague"})
            wait_for(lambda: "Feedback: not helpful" in copy.html())
            assert "Feedback: not helpful — &lt;b&gt;Too&lt;/b&gt; vague" in copy.html()  # the note is text
            from_front_end(chat, {"type": "feedback", "id": answer_id, "value": None})
            wait_for(lambda: "Feedback" not in copy.html())
