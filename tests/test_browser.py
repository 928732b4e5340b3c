"""The chat panel in a real JupyterLab 4 (and Notebook 7) in Debian's Chromium.

Each test writes a notebook, opens it, runs it through the Run menu and then uses the
panel the way a person would: typing, clicking Stop and Retry, reading what it shows.
Screenshots land in test-artifacts/.
"""

from __future__ import annotations

import json
import re

import pytest
from browser_harness import (
    ARTIFACTS,
    JupyterServer,
    chromium,
    open_and_run,
    save_notebook,
    shot,
    wait_for_saved_copy,
)
from conftest import SECRETS

pytestmark = pytest.mark.browser
TIMEOUT = 60_000  # ms; a cold kernel start to a streamed reply took about 10 s here


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    server = JupyterServer(tmp_path_factory.mktemp("lab")).start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def browser():
    with chromium() as running:
        yield running


@pytest.fixture
def page(browser, request):
    context = browser.new_context(viewport={"width": 1200, "height": 900})
    page = context.new_page()
    page.set_default_timeout(TIMEOUT)
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("dialog", lambda dialog: (errors.append(f"dialog: {dialog.message}"), dialog.dismiss()))
    page.js_errors = errors
    yield page
    ARTIFACTS.mkdir(exist_ok=True)  # the whole page as the test left it, to look at after a failure
    page.screenshot(path=str(ARTIFACTS / f"page-{request.node.name}.png"))
    context.close()


def send(page, text: str, view: int = 0) -> None:
    box = page.get_by_role("textbox", name="Message").nth(view)
    box.fill(text)
    box.press("Enter")


def assistant(page, view: int = 0):
    return page.get_by_role("log").nth(view).get_by_role("article", name=re.compile("assistant"))


def run_cell(page, index: int) -> str:
    """Run one cell from the keyboard and return its output text."""
    cell = page.locator(".jp-Notebook .jp-Cell").nth(index)
    cell.locator(".jp-InputArea-editor").click()
    page.keyboard.press("Shift+Enter")
    output = cell.locator(".jp-OutputArea-output").first
    output.wait_for()
    return output.inner_text()


SETUP_DEMO = "from convowidget import ChatWidget\nchat = ChatWidget(greet=False)\nchat"
REPORT = "import json\nprint('REPORT', json.dumps([[r.prompt, r.status, r.text] for r in chat.replies]))"


def report(page, index: int) -> list[list[str]]:
    text = run_cell(page, index)
    return json.loads(text.split("REPORT", 1)[1])


def test_typed_prompt_streams_with_markdown_and_sources_and_lands_in_replies(page, lab):
    open_and_run(page, lab, "stream.ipynb", [SETUP_DEMO, REPORT])
    panel = page.locator(".cw-root").first
    assert "local demo agent" in panel.inner_text().lower()
    send(page, "How does streaming work?")
    page.get_by_role("article", name=re.compile("user")).first.wait_for()
    streaming = page.locator("[role=article][data-status=streaming]")
    streaming.wait_for()
    partial = streaming.inner_text()
    box = page.get_by_role("textbox", name="Message")
    box.fill("a draft typed while the reply streams")
    done = page.locator("[role=article][data-status=complete]").first
    done.wait_for()
    page.wait_for_timeout(500)  # the saved copy's refresh follows the reply
    assert box.input_value() == "a draft typed while the reply streams", "the panel was re-created"
    assert page.locator(".cw-root").count() == 1
    box.fill("")
    final = done.inner_text()
    assert len(final) > len(partial), "the reply should have been seen growing"
    assert done.locator("h3", has_text="Streaming replies").count() == 1  # markdown rendered
    codes = done.locator("code")  # the reply's inline code, rendered as code elements
    assert codes.count() == 2 and codes.first.inner_text() == 'await chat.ask_async("Hi")'
    assert "`" not in final
    assert "Sources" in final and "kb/panel.md#streaming-replies" in final
    assert page.locator(".cw-status").first.inner_text().lower().strip().endswith("idle")
    shot(panel, "panel-light.png")
    replies = report(page, 1)
    assert replies[0][0] == "How does streaming work?" and replies[0][1] == "complete"
    assert "Replies stream into the panel" in replies[0][2]
    # a saved notebook carries the transcript in a collapsed copy under the panel, one line while live
    wait_for_saved_copy(page, "Replies stream into the panel")  # written once the reply is in
    copy = page.locator("details summary", has_text="a copy for when the kernel is gone")
    assert copy.count() == 1 and not page.locator("details").first.evaluate("el => el.open")
    saved = save_notebook(page, lab.root / "work" / "stream.ipynb")
    copies = "".join("".join(output.get("data", {}).get("text/html", "")) for output in saved["cells"][0]["outputs"])
    assert "How does streaming work?" in copies and "Replies stream into the panel" in copies
    assert not page.js_errors


def test_handoff_and_ui_engine_choices(page, lab):
    open_and_run(page, lab, "handoff.ipynb", [SETUP_DEMO])
    send(page, "Can I talk to a human please?")
    notice = page.locator(".cw-root").get_by_role("status").filter(has_text="human will take over")
    notice.wait_for()
    send(page, "show me the menu")
    choice = page.get_by_role("button", name="Streaming")
    choice.wait_for()
    page.locator(".cw-card-title", has_text="convowidget").last.wait_for()  # the card
    shot(page.locator(".cw-root").first, "panel-menu.png")
    choice.click()
    page.get_by_role("article", name=re.compile("user")).filter(has_text="How does streaming work?").wait_for()
    page.locator("[role=article][data-status=complete]").filter(has_text="Replies stream").wait_for()


ENDLESS = """from convowidget import ChatWidget, serve
def endless(request):
    for i in range(100000):
        yield f"word{i} "
server = serve(endless, chunk_delay=0.02).start()
chat = ChatWidget(url=server.url, agent_id="endless")
chat"""


def test_stop_keeps_the_partial_text_marked_stopped(page, lab):
    open_and_run(page, lab, "stop.ipynb", [ENDLESS, REPORT])
    send(page, "go")
    page.locator("[role=article][data-status=streaming]").filter(has_text="word5 ").wait_for()
    stop = page.get_by_role("button", name="Stop")
    assert stop.is_visible()
    stop.click()
    stopped = page.locator("[role=article][data-status=stopped]")
    stopped.wait_for()
    assert "Stopped" in stopped.inner_text() and "word0 word1" in stopped.inner_text()
    assert not page.get_by_role("button", name="Stop").is_visible()
    _, status, text = report(page, 1)[0]
    assert status == "stopped" and text.startswith("word0 word1")


FLAKY = """from convowidget import ChatWidget, serve, Faults
server = serve(lambda request: "one two three four five six", chunk_delay=0.05,
               faults=Faults(drop_after=3, times=1)).start()
chat = ChatWidget(url=server.url, agent_id="flaky")
chat"""


def test_error_shows_an_alert_and_retry_recovers(page, lab):
    open_and_run(page, lab, "retry.ipynb", [FLAKY, REPORT])
    send(page, "hello")
    alert = page.locator(".cw-root").get_by_role("alert").first
    alert.wait_for()
    assert "1006" in alert.inner_text()
    failed = page.locator("[role=article][data-status=failed]")
    assert "one two three" in failed.inner_text()
    shot(page.locator(".cw-root").first, "panel-error.png")
    page.get_by_role("button", name="Retry").click()
    page.locator("[role=article][data-status=complete]").filter(has_text="one two three four five six").wait_for()
    assert page.locator("[role=article][data-status=failed]").count() == 0
    statuses = [status for _, status, _ in report(page, 1)]
    assert statuses == ["failed", "complete"]


XSS = (
    f"SECRETS = {SECRETS!r}\n"
    + '''from convowidget import ChatWidget, serve
PAYLOAD = """Hello <img src=x onerror="window.__xss=1"> <script>window.__xss=2</script>
<svg onload="window.__xss=3"><circle r="5"></circle></svg> <b onclick="window.__xss=6">bold</b>

[click me](javascript:window.__xss=4) <iframe src="javascript:window.__xss=5"></iframe>
<a href="javascript:window.__xss=7">raw link</a> [good link](https://example.com/docs)
<object data="javascript:window.__xss=8"></object> <form action="javascript:window.__xss=9"><button>go</button></form>
"""
def evil(request):
    yield PAYLOAD
    yield {"type": "metadata", "metadata": {"sources": ["https://example.com/src", "javascript:window.__xss=10"]}}
server = serve(evil, chunk_delay=0).start()
chat = ChatWidget(url=server.url, agent_id="evil", **SECRETS)
chat'''
)


def test_xss_vectors_neither_run_nor_stay_in_the_dom_and_no_secret_reaches_the_page(page, lab):
    open_and_run(page, lab, "xss.ipynb", [XSS])
    send(page, "hi")
    reply = page.locator("[role=article][data-status=complete]")
    reply.wait_for()
    page.wait_for_timeout(500)
    assert page.evaluate("window.__xss") is None
    log = page.get_by_role("log").first
    for selector in ("script", "iframe", "object", "embed", "form", "[onerror]", "[onload]", "[onclick]",
                     "a[href^='javascript' i]", "[src^='javascript' i]"):  # fmt: skip
        assert log.locator(selector).count() == 0, selector
    for link in log.locator("a[href^='https://example.com']").all():
        assert link.get_attribute("target") == "_blank"
        assert set((link.get_attribute("rel") or "").split()) >= {"noopener", "noreferrer"}
    assert log.get_by_role("link", name="good link").count() == 1
    log.get_by_text("click me").click()
    page.wait_for_timeout(300)
    assert page.evaluate("window.__xss") is None
    assert not page.js_errors
    wait_for_saved_copy(page, "good link")  # the copy, written once the reply is in
    page.locator(".jp-Cell .jp-InputPrompt").first.click()  # focus the notebook for its Ctrl+S
    notebook = save_notebook(page, lab.root / "work" / "xss.ipynb")
    copy = "".join("".join(out.get("data", {}).get("text/html", "")) for out in notebook["cells"][0]["outputs"])
    assert "good link" in copy  # the saved copy of the chat is there to be checked
    saved = (lab.root / "work" / "xss.ipynb").read_text()
    outputs = page.locator(".jp-OutputArea").evaluate_all("areas => areas.map(a => a.outerHTML).join('')")
    assert "good link" in outputs
    for secret in SECRETS.values():  # the outputs' DOM, and the saved notebook beyond the cell's own source
        assert secret not in outputs and secret not in saved.replace(repr(SECRETS), "")


MARKUP = """from convowidget import ChatWidget, serve
REPLY = '''Put CSS inside a <style> element.

Next paragraph <div class="jp-Dialog-content lm-Menu" id="cw-fake" style="position:fixed;inset:0">Fake dialog</div>

![plain http](http://example.com/a.png) ![secure](https://example.com/b.png) ![data](data:image/png;base64,AAAA)
[relative](//example.com/path) <a download href="https://example.com/f.zip">dl</a>
'''
def agent(request):
    yield REPLY
server = serve(agent, chunk_delay=0).start()
chat = ChatWidget(url=server.url, agent_id="markup")
chat"""


def test_agent_markup_stays_text_and_inside_the_panel(page, lab):
    open_and_run(page, lab, "markup.ipynb", [MARKUP])
    send(page, "hi")
    reply = page.locator("[role=article][data-status=complete]")
    reply.wait_for()
    text = reply.inner_text()
    # raw HTML is shown as text, so prose that names a tag keeps every word
    assert "Put CSS inside a <style> element." in text and "Next paragraph" in text
    assert '<div class="jp-Dialog-content lm-Menu"' in text and "Fake dialog" in text
    log = page.get_by_role("log").first
    for selector in ("style", ".jp-Dialog-content", ".lm-Menu", "#cw-fake", "[style*='fixed']", "[download]"):
        assert log.locator(selector).count() == 0, selector
    # agent markup never reaches the DOM: every class inside the reply body is the panel's own
    classes = reply.evaluate(
        "el => [...el.querySelectorAll('.cw-md [class]')].flatMap(n => [...n.classList])"
        ".filter(c => !c.startsWith('cw-') && !c.startsWith('language-'))"
    )
    assert classes == []
    # images: https only, no referrer, lazy; http becomes a link; data: never loads
    images = reply.locator("img")
    assert images.count() == 1
    assert images.first.get_attribute("src") == "https://example.com/b.png"
    assert images.first.get_attribute("referrerpolicy") == "no-referrer"
    assert images.first.get_attribute("loading") == "lazy"
    assert reply.locator("a[href='http://example.com/a.png']").count() == 1
    for link in reply.locator("a").all():
        href = link.get_attribute("href") or ""
        assert href.startswith("https://") or href.startswith("http://example.com/a.png"), href
        assert link.get_attribute("target") == "_blank"
    assert reply.locator("a[href^='//']").count() == 0
    # nothing the agent sent covers the panel's own controls
    box = page.get_by_role("textbox", name="Message").first
    assert box.evaluate(
        "el => { const r = el.getBoundingClientRect();"
        " return document.elementFromPoint(r.x + r.width / 2, r.y + r.height / 2) === el; }"
    )
    shot(page.locator(".cw-root").first, "panel-markup.png")
    assert not page.js_errors


TWO_VIEWS = "from convowidget import ChatWidget\nchat = ChatWidget(greet=False)\ndisplay(chat)\ndisplay(chat)"


def test_two_views_stay_identical_and_a_late_view_shows_the_transcript(page, lab):
    open_and_run(page, lab, "views.ipynb", [TWO_VIEWS, "chat if chat.replies else None"])
    logs = page.get_by_role("log")
    assert logs.count() == 2
    send(page, "How do I install convowidget?", view=0)
    for view in range(2):
        assistant(page, view).filter(has_text="pip install convowidget").first.wait_for()
    page.locator("[role=log] [data-status=complete]").nth(1).wait_for()
    assert logs.nth(0).inner_text() == logs.nth(1).inner_text()
    cell = page.locator(".jp-Notebook .jp-Cell").nth(1)
    cell.locator(".jp-InputArea-editor").click()
    page.keyboard.press("Shift+Enter")  # a view created after the reply finished
    late = cell.get_by_role("log")
    late.locator("[data-status=complete]").wait_for()
    late.scroll_into_view_if_needed()  # JupyterLab skips rendering cells out of view
    assert late.text_content() == logs.nth(0).text_content()
    assert "pip install convowidget" in late.text_content()


def test_dark_theme_follows_jupyterlab(page, lab):
    open_and_run(page, lab, "dark.ipynb", [SETUP_DEMO])
    send(page, "How do I stop a reply?")
    page.locator("[role=article][data-status=complete]").wait_for()
    panel = page.locator(".cw-root").first
    light = panel.evaluate("el => getComputedStyle(el).backgroundColor")
    page.locator(".lm-MenuBar-itemLabel", has_text="Settings").click()
    page.locator(".lm-Menu-itemLabel", has_text=re.compile(r"^Theme$")).hover()
    page.locator(".lm-Menu-itemLabel", has_text=re.compile(r"^JupyterLab Dark$")).click()
    page.wait_for_function("document.body.dataset.jpThemeLight === 'false'")
    page.wait_for_timeout(500)
    dark = panel.evaluate("el => getComputedStyle(el).backgroundColor")
    assert dark != light and _luminance(dark) < 0.3 < _luminance(light)
    text = page.locator("[role=article][data-status=complete]").evaluate("el => getComputedStyle(el).color")
    assert _luminance(text) > 0.5
    shot(panel, "panel-dark.png")
    page.locator(".lm-MenuBar-itemLabel", has_text="Settings").click()
    page.locator(".lm-Menu-itemLabel", has_text=re.compile(r"^Theme$")).hover()
    page.locator(".lm-Menu-itemLabel", has_text=re.compile(r"^JupyterLab Light$")).click()


def _luminance(css: str) -> float:
    r, g, b = (int(v) for v in re.findall(r"\d+", css)[:3])
    return (0.2126 * r + 0.7152 * g + 0.0722 * b) / 255


def test_notebook_7(page, tmp_path_factory):
    server = JupyterServer(tmp_path_factory.mktemp("nb7"), app="notebook").start()
    try:
        open_and_run(page, server, "nb7.ipynb", [SETUP_DEMO])
        send(page, "How do I install convowidget?")
        page.locator("[role=article][data-status=complete]").filter(has_text="pip install").wait_for()
        shot(page.locator(".cw-root").first, "panel-notebook7.png")
    finally:
        server.stop()
