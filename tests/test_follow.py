"""The transcript follows a long streamed reply to its end, in JupyterLab and marimo.

A custom agent streams 120 paragraphs (headings, lists and code among them) over about
8 s: more than the first 100 eager updates of the kernel's streamer, and several
pages of a long reply, which the browser may skip off-screen once finished; the
window gets narrower halfway. After
every animation frame (once it is painted) the bottom of the log must be in view and
"Jump to latest" hidden, with nobody touching anything. Then the reader turns the
mouse wheel up mid-stream: the log stays where they put it and offers Jump to latest;
a click on it follows the reply again to its end.
"""

from __future__ import annotations

import textwrap

import pytest
from browser_harness import JupyterServer, chromium, marimo_server, open_and_run

pytestmark = pytest.mark.browser
TIMEOUT = 60_000  # ms

STORY_AGENT = """def story(request):
    words = "the panel keeps the newest words of a long reply in view while the kernel streams them".split()
    for i in range(1, 121):
        if i % 10 == 0:
            yield f"### Part {i // 10}\\n\\n"
        if i % 12 == 0:
            yield "".join(f"- item {k} of paragraph {i}\\n" for k in range(3)) + "\\n"
        if i % 25 == 0:
            yield "```python\\n" + "".join(f"step_{k} = {k} * {i}\\n" for k in range(6)) + "```\\n\\n"
        text = f"Paragraph {i}: " + " ".join(words[(i + k) % len(words)] for k in range(36)) + ".\\n\\n"
        for k in range(4):
            yield text[k * len(text) // 4 : (k + 1) * len(text) // 4]
server = serve(story, chunk_delay=0.016).start()
"""

LAB_CELL = (
    "from convowidget import ChatWidget, serve\n"
    + STORY_AGENT
    + 'chat = ChatWidget(url=server.url, agent_id="story")\nchat'
)

MARIMO_APP = (
    """import marimo

app = marimo.App()


@app.cell
def _():
    import marimo as mo
    from convowidget import ChatWidget, serve

"""
    + textwrap.indent(STORY_AGENT, "    ")
    + """
    chat = mo.ui.anywidget(ChatWidget(url=server.url, agent_id="story"))
    chat
    return


if __name__ == "__main__":
    app.run()
"""
)

# After each frame is painted: how far the log's bottom is below its view, and whether
# Jump to latest shows. `window.__follow.stop = true` ends the sampling.
SAMPLE = """(log) => {
  const jump = log.parentElement.querySelector('.cw-jump');
  const s = (window.__follow = { frames: 0, away: [], shown: 0, stop: false, chars: [] });
  const sample = () => {
    if (s.stop) return;
    const gap = log.scrollHeight - log.scrollTop - log.clientHeight;
    s.frames++;
    if (gap > 2) s.away.push([Math.round(performance.now()), Math.round(log.scrollTop), Math.round(gap)]);
    if (!jump.hidden) s.shown++;
    s.chars.push(log.textContent.length);
    requestAnimationFrame(() => setTimeout(sample, 0));
  };
  requestAnimationFrame(() => setTimeout(sample, 0));
}"""
STOP = "() => { window.__follow.stop = true; return window.__follow; }"


def _sampled(page, log, until) -> dict:
    """Sample every painted frame until the locator `until` shows; returns the samples."""
    log.evaluate(SAMPLE)
    until.wait_for()
    return page.evaluate(STOP)


def _follows_a_long_reply(page) -> None:
    log = page.get_by_role("log").first
    box = page.get_by_role("textbox", name="Message").first
    box.fill("tell me a long story")
    box.press("Enter")
    streaming = page.locator("[role=article][data-status=streaming]")
    streaming.filter(has_text="Paragraph 1:").wait_for()

    # Nobody touches anything: pinned to the bottom on every frame, past the eager updates,
    # and through the window getting narrower (everything wraps again).
    log.evaluate(SAMPLE)
    streaming.filter(has_text="Paragraph 35:").wait_for()
    size = page.viewport_size
    page.set_viewport_size({"width": size["width"] - 300, "height": size["height"]})
    streaming.filter(has_text="Paragraph 70:").wait_for()
    first = page.evaluate(STOP)
    assert first["frames"] > 60 and first["chars"][-1] > first["chars"][0] + 10_000, first["frames"]
    assert first["away"] == [], f"the bottom left the view (time, top, gap): {first['away'][:10]}"
    assert first["shown"] == 0, "Jump to latest showed though nobody scrolled"

    # The reader turns the wheel up: the log stays where they put it, Jump to latest shows.
    log.hover()
    page.mouse.wheel(0, -600)
    jump = page.get_by_role("button", name="Jump to latest").first
    jump.wait_for()
    page.wait_for_timeout(400)  # the smooth scroll ends
    top = log.evaluate("el => el.scrollTop")
    streaming.filter(has_text="Paragraph 90:").wait_for()
    assert abs(log.evaluate("el => el.scrollTop") - top) <= 1, "the reader's place was not kept"
    assert log.evaluate("el => el.scrollHeight - el.scrollTop - el.clientHeight") > 1000
    assert jump.is_visible()

    # Jump to latest: following again to the end of the reply.
    jump.click()
    done = page.locator("[role=article][data-status=complete]").filter(has_text="Paragraph 120:")
    last = _sampled(page, log, done)
    page.wait_for_timeout(300)  # the finished reply's actions row appears below its text
    assert log.evaluate("el => el.scrollHeight - el.scrollTop - el.clientHeight") <= 2
    assert last["frames"] > 10 and last["away"] == [], f"after Jump to latest (time, top, gap): {last['away'][:10]}"
    assert last["shown"] == 0 and not jump.is_visible()


@pytest.fixture(scope="module")
def browser():
    with chromium() as running:
        yield running


def test_jupyterlab_follows_a_long_reply_until_the_reader_scrolls_up(browser, tmp_path):
    server = JupyterServer(tmp_path).start()
    page = browser.new_page(viewport={"width": 1200, "height": 900})
    page.set_default_timeout(TIMEOUT)
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    try:
        open_and_run(page, server, "story.ipynb", [LAB_CELL])
        _follows_a_long_reply(page)
    finally:
        page.close()
        server.stop()
    assert not errors


def test_marimo_follows_a_long_reply_until_the_reader_scrolls_up(browser, tmp_path):
    app = tmp_path / "story_app.py"
    app.write_text(MARIMO_APP)
    page = browser.new_page(viewport={"width": 1100, "height": 900})
    page.set_default_timeout(TIMEOUT)
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    try:
        with marimo_server(app) as url:
            page.goto(url)
            _follows_a_long_reply(page)
    finally:
        page.close()
    assert not errors
