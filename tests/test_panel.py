"""The panel's own controls, connection state, keyboard and contrast, in real Chromium.

JupyterLab 4 in its light and its dark theme (each test runs in both), with the widget
state saved in notebooks ("Save Jupyter widget state in notebooks" on, through the
harness's isolated settings folder), plus one check in Notebook 7. Each test writes a
notebook, runs it through the Run menu and uses the panel as a person would.
Screenshots land in test-artifacts/.
"""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

import pytest
from browser_harness import (
    ARTIFACTS,
    JupyterServer,
    chromium,
    menu,
    open_and_run,
    shot,
    shut_down_kernels,
    wait_for_kernel,
    wait_for_saved_copy,
)
from playwright.sync_api import TimeoutError as PlaywrightTimeout

pytestmark = pytest.mark.browser
TIMEOUT = 60_000  # ms
OFFLINE = "The kernel is not connected: run the cell again to chat."
THEMES = {"light": "JupyterLab Light", "dark": "JupyterLab Dark"}


def _settings(root: Path, plugin: str, values: dict) -> None:
    path = root / "home" / "settings" / f"{plugin}.jupyterlab-settings"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(values))


@pytest.fixture(scope="module", params=list(THEMES))
def lab(request, tmp_path_factory):
    """JupyterLab in one theme, saving widget state in notebooks."""
    root = tmp_path_factory.mktemp(f"panel-{request.param}")
    _settings(root, "@jupyterlab/apputils-extension/themes", {"theme": THEMES[request.param]})
    _settings(root, "@jupyter-widgets/jupyterlab-manager/plugin", {"saveState": True})
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("JUPYTER_DATA_DIR", str(root / "data"))  # its own notebook-trust database
        server = JupyterServer(root).start()
    server.theme = request.param  # type: ignore[attr-defined]
    yield server
    server.stop()


@pytest.fixture(scope="module")
def browser():
    with chromium() as running:
        yield running


def new_page(browser, errors: list[str]):
    context = browser.new_context(
        viewport={"width": 1200, "height": 900}, permissions=["clipboard-read", "clipboard-write"]
    )
    page = context.new_page()
    page.set_default_timeout(TIMEOUT)
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("dialog", lambda dialog: (errors.append(f"dialog: {dialog.message}"), dialog.dismiss()))
    return context, page


@pytest.fixture
def page(browser, request):
    errors: list[str] = []
    context, page = new_page(browser, errors)
    page.js_errors = errors
    yield page
    ARTIFACTS.mkdir(exist_ok=True)  # the whole page as the test left it, to look at after a failure
    page.screenshot(path=str(ARTIFACTS / f"page-{request.node.name}.png"))
    context.close()


def box(page):
    return page.get_by_role("textbox", name="Message").first


def send(page, text: str) -> None:
    box(page).fill(text)
    box(page).press("Enter")


def replies(page):
    return page.get_by_role("log").first.get_by_role("article", name="assistant message")


def done(page, text: str):
    """The finished reply holding `text`, once it is there."""
    reply = page.locator("[role=article][data-status=complete]").filter(has_text=text).last
    reply.wait_for()
    return reply


def run_cell(page, index: int) -> str:
    """Run one cell from the keyboard, wait until it ran (a new execution count), return its output text."""
    cell = page.locator(".jp-Notebook .jp-Cell").nth(index)
    prompt = cell.locator(".jp-InputPrompt").element_handle()
    before = prompt.text_content()
    cell.locator(".jp-InputArea-editor").click()
    page.keyboard.press("Shift+Enter")
    page.wait_for_function(
        "([el, before]) => el.textContent !== before && !el.textContent.includes('*')", arg=[prompt, before]
    )
    outputs = cell.locator(".jp-OutputArea-output")
    return outputs.first.text_content() if outputs.count() else ""  # text_content: the cell may be off-screen


def report(page, index: int) -> dict:
    text = run_cell(page, index)
    assert "REPORT" in text, text
    return json.loads(text.split("REPORT", 1)[1])


def focused(page) -> str:
    """What has the focus: the accessible name or role of the active element."""
    return page.evaluate(
        "() => { const a = document.activeElement;"
        " return a.getAttribute('aria-label') || a.getAttribute('role') || a.textContent.trim(); }"
    )


# Every text node of the panel: its colour over the first opaque background behind it
# (translucent layers in between blended in), as WCAG 2 computes contrast.
CONTRAST = """root => {
  const parse = (c) => {
    let m = /^rgba?\\(([^)]*)\\)$/.exec(c.trim());
    if (m) {
      const p = m[1].split(/[\\s,\\/]+/).filter(Boolean).map(parseFloat);
      return [p[0], p[1], p[2], p.length > 3 ? p[3] : 1];
    }
    m = /^color\\(srgb\\s+([^)]*)\\)$/.exec(c.trim());
    if (m) {
      const p = m[1].split(/[\\s\\/]+/).filter(Boolean).map(parseFloat);
      return [p[0] * 255, p[1] * 255, p[2] * 255, p.length > 3 ? p[3] : 1];
    }
    return null;
  };
  const unparsed = [];
  const blend = (top, under) => [0, 1, 2].map((i) => top[i] * top[3] + under[i] * (1 - top[3])).concat(1);
  const background = (el) => {
    const layers = [];
    for (let n = el; n; n = n.parentElement) {
      const raw = getComputedStyle(n).backgroundColor, c = parse(raw);
      if (!c) { unparsed.push(raw); continue; }
      if (c[3] > 0) { layers.push(c); if (c[3] >= 0.999) break; }
    }
    let bg = [255, 255, 255, 1];
    for (let i = layers.length - 1; i >= 0; i--) bg = blend(layers[i], bg);
    return bg;
  };
  const lin = (v) => { v /= 255; return v <= 0.04045 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; };
  const lum = (c) => 0.2126 * lin(c[0]) + 0.7152 * lin(c[1]) + 0.0722 * lin(c[2]);
  const ratio = (a, b) => { const x = lum(a), y = lum(b); return (Math.max(x, y) + 0.05) / (Math.min(x, y) + 0.05); };
  const out = [];
  const measure = (el, text, color) => {
    const cs = getComputedStyle(el), fg = parse(color || cs.color);
    if (!fg) { unparsed.push(color || cs.color); return; }
    const bg = background(el), size = parseFloat(cs.fontSize), bold = parseInt(cs.fontWeight, 10) >= 700;
    const owner = el.closest('[class*="cw-"]');
    out.push({ text: text.slice(0, 50), ratio: Math.round(ratio(blend(fg, bg), bg) * 100) / 100, size,
               large: size >= 24 || (size >= 18.66 && bold), owner: owner ? String(owner.className) : '' });
  };
  const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
  for (let t = walker.nextNode(); t; t = walker.nextNode()) {
    const el = t.parentElement;
    if (!t.data.trim() || el.closest('[hidden], .cw-sr') || !el.getClientRects().length) continue;
    // WCAG 1.4.3 exempts inactive controls (disabled, aria-disabled)
    if (el.closest('button:disabled, [aria-disabled="true"]')) continue;
    measure(el, t.data.trim());
  }
  // the message box and the form fields: what is typed, and the placeholder
  for (const input of root.querySelectorAll('textarea, input, select')) {
    if (input.disabled || input.getAttribute('aria-disabled') === 'true' || !input.getClientRects().length) continue;
    if (/^(checkbox|radio|file)$/.test(input.type)) continue;
    measure(input, 'field: ' + input.value);
    if (input.placeholder) measure(input, 'placeholder', getComputedStyle(input, '::placeholder').color);
  }
  return { texts: out, unparsed };
}"""


def contrast(panel) -> list[dict]:
    """Every text of the panel with its contrast ratio; asserts WCAG AA (4.5:1, 3:1 large)."""
    found = panel.evaluate(CONTRAST)
    assert not found["unparsed"], found["unparsed"]
    texts = found["texts"]
    failing = [t for t in texts if t["ratio"] < (3 if t["large"] else 4.5)]
    assert not failing, failing
    return texts


def lowest(texts: list[dict]) -> dict:
    return min(texts, key=lambda t: t["ratio"])


ECHO = """from convowidget import ChatWidget, serve
server = serve(lambda request: f"You said: **{request.prompt}**", chunk_delay=0).start()
chat = ChatWidget(url=server.url, agent_id="echo")
chat"""


def test_shutting_the_kernel_down_says_so_and_keeps_the_draft(page, lab):
    open_and_run(page, lab, "shutdown.ipynb", [ECHO])
    send(page, "hello")
    done(page, "You said: hello")
    menu(page, "Kernel", "Shut Down Kernel")
    dialog = page.locator(".jp-Dialog").get_by_role("button", name=re.compile("Shut Down"))
    try:  # JupyterLab may ask first
        dialog.wait_for(timeout=3000)
        dialog.click()
    except PlaywrightTimeout:
        pass
    page.locator(".jp-StatusBar-TextItem", has_text=re.compile("No Kernel|Unknown|Dead")).first.wait_for()
    box(page).focus()  # (the panel may already read as not connected: a click would be refused)
    page.keyboard.type("a draft that must not be lost")
    page.keyboard.press("Enter")
    panel = page.locator(".cw-root").first
    alert = panel.get_by_role("alert").filter(has_text=OFFLINE)
    alert.wait_for()
    assert box(page).input_value() == "a draft that must not be lost"
    assert box(page).get_attribute("aria-disabled") == "true"
    assert panel.locator(".cw-status").inner_text().strip().lower() == "not connected"
    assert panel.get_by_role("article", name="user message").count() == 1  # nothing new was shown as sent
    texts = contrast(panel)
    print(lab.theme, "offline panel, lowest contrast:", lowest(texts))
    shot(panel, f"panel-offline-{lab.theme}.png")
    assert not page.js_errors, page.js_errors


def test_saved_widget_state_reopens_readable_and_not_connected(browser, lab):
    path = lab.root / "work" / "saved-state.ipynb"
    errors: list[str] = []
    context, page = new_page(browser, errors)
    open_and_run(page, lab, path.name, [ECHO])
    send(page, "remember me")
    done(page, "You said: remember me")
    wait_for_saved_copy(page, "remember me")  # the copy for saved notebooks, written
    page.locator(".jp-Cell").first.click()
    page.keyboard.press("Control+s")
    deadline = time.monotonic() + 30
    while "You said: **remember me**" not in json.dumps(json.loads(path.read_text()).get("metadata", {})):
        assert time.monotonic() < deadline, "the widget state was not saved"
        time.sleep(0.2)
    context.close()
    shut_down_kernels(lab)

    context, page = new_page(browser, errors)
    page.goto(lab.notebook_url(path.name))  # reopened, not run: a new kernel that knows no panel
    wait_for_kernel(page, lab)
    panel = page.locator(".cw-root").first
    panel.wait_for()
    done(page, "You said: remember me")  # the transcript, from the saved state
    alert = panel.get_by_role("alert").filter(has_text=OFFLINE)
    alert.wait_for()
    assert panel.locator(".cw-status").inner_text().strip().lower() == "not connected"
    assert box(page).get_attribute("aria-disabled") == "true"
    box(page).focus()  # a box that reads as disabled still takes a draft (click and fill refuse it)
    page.keyboard.type("is anyone there?")
    page.keyboard.press("Enter")
    page.wait_for_timeout(1000)
    assert box(page).input_value() == "is anyone there?"  # kept, never cleared by a send that did not go out
    assert panel.get_by_role("article", name="user message").count() == 1
    shot(panel, f"panel-reopened-{lab.theme}.png")
    context.close()
    assert not errors, errors


TOOLS = """from convowidget import ChatWidget, serve
import itertools
count = itertools.count(1)
CODE = (
    "Here you go:\\n\\n```python\\ndef greet(name):\\n    return f\\"Hi {name}\\"  # friendly\\n```\\n\\n"
    "And in a shell:\\n\\n```sh\\npip install convowidget\\n```\\n"
)
def agent(request):
    n = next(count)
    if request.prompt == "code":
        yield CODE
    elif request.prompt == "long":
        for i in range(300):
            yield f"Line {i}: " + "more " * min(i, 40) + "\\n\\n"
    else:
        yield f"Answer {n} to {request.prompt}."
server = serve(agent, chunk_delay=0.03).start()
chat = ChatWidget(url=server.url, agent_id="tools")
chat"""
TOOLS_REPORT = (
    "import json\nprint('REPORT', json.dumps({'convo': chat.convo_id,"
    " 'replies': [[r.prompt, r.text] for r in chat.replies]}))"
)
COPIED_CODE = 'def greet(name):\n    return f"Hi {name}"  # friendly'


def test_new_chat_regenerate_copy_code_and_jump_to_latest(page, lab):
    open_and_run(page, lab, "tools.ipynb", [TOOLS, TOOLS_REPORT])
    panel = page.locator(".cw-root").first
    log = page.get_by_role("log").first

    # Code blocks: a language label, light colours, and Copy code copying exactly the code
    send(page, "code")
    reply = done(page, "pip install convowidget")
    assert reply.locator(".cw-code-lang").all_inner_texts() == ["python", "sh"]
    copy_buttons = reply.get_by_role("button", name="Copy code")
    assert copy_buttons.count() == 2
    assert reply.locator(".cw-tk-kw", has_text="def").count() == 1
    assert reply.locator(".cw-tk-com").inner_text() == "# friendly"
    assert reply.locator(".cw-tk-str").first.inner_text() == 'f"Hi {name}"'
    copy_buttons.first.click()
    reply.get_by_role("button", name="Copied").wait_for()
    assert page.evaluate("navigator.clipboard.readText()") == COPIED_CODE

    # Regenerate: only on the latest reply; the new answer takes the old one's place
    send(page, "question")
    done(page, "Answer 2 to question.")
    regenerate = panel.get_by_role("button", name="Regenerate")
    assert regenerate.count() == 1
    regenerate.click()
    done(page, "Answer 3 to question.")
    assert "Answer 2 to question." not in log.inner_text()
    assert log.get_by_role("article", name="user message").filter(has_text="question").count() == 1
    assert focused(page) == "Message"

    # Jump to latest: shown when the reader scrolls up while a reply streams
    send(page, "long")
    streaming = page.locator("[role=article][data-status=streaming]")
    streaming.filter(has_text="Line 1:").wait_for()
    width = streaming.locator(".cw-bubble").bounding_box()["width"]
    streaming.filter(has_text="Line 25:").wait_for()
    log.hover()  # the reader turns the wheel up (a scroll nobody asked for would be undone)
    page.mouse.wheel(0, -log.evaluate("el => el.scrollHeight"))
    jump = panel.get_by_role("button", name="Jump to latest")
    jump.wait_for()
    streaming.filter(has_text="Line 40:").wait_for()
    assert log.evaluate("el => el.scrollTop") < 50, "the reader's place was kept"
    assert streaming.locator(".cw-bubble").bounding_box()["width"] == width, "the streaming bubble widened"
    jump.click()
    page.wait_for_function(
        "() => { const l = document.querySelector('.cw-log');"
        " return l.scrollHeight - l.scrollTop - l.clientHeight < 41; }"
    )
    assert not jump.is_visible()
    done(page, "Line 299:")
    first = report(page, 1)
    assert [prompt for prompt, _ in first["replies"]] == ["code", "question", "question", "long"]
    assert first["replies"][1][1] == "Answer 2 to question."  # the replaced answer is kept in Python

    # New chat: a new conversation, an empty panel, the replies kept
    panel.get_by_role("button", name="New chat").click()
    page.wait_for_function("() => !document.querySelector('.cw-log [role=article]')")
    assert focused(page) == "Message"
    second = report(page, 1)
    assert second["convo"] != first["convo"] and len(second["replies"]) == 4
    hint = log.evaluate("el => [getComputedStyle(el, '::before').content, getComputedStyle(el, '::before').color]")
    assert hint[0] == '"Ask the agent anything."'
    contrast(panel)

    # The agent's title has a tooltip only when it is cut
    title = panel.locator(".cw-title")
    page.set_viewport_size({"width": 560, "height": 900})
    page.wait_for_function("() => document.querySelector('.cw-title').hasAttribute('title')")
    assert title.get_attribute("title") == title.inner_text()
    page.set_viewport_size({"width": 1900, "height": 900})
    page.wait_for_function("() => !document.querySelector('.cw-title').hasAttribute('title')")
    page.set_viewport_size({"width": 1200, "height": 900})
    assert not page.js_errors, page.js_errors


KEYS = """from convowidget import ChatWidget, serve
from convowidget.demo import demo_agent
async def agent(request):
    if request.prompt == "fail":
        yield "Half an answer"
        raise RuntimeError("the agent broke")
    if request.prompt == "endless":
        for i in range(100000):
            yield f"word{i} "
        return
    async for item in demo_agent(request):
        yield item
server = serve(agent, chunk_delay=0.02).start()
chat = ChatWidget(url=server.url, agent_id="keys")
chat"""

TABBABLE = """root => [...root.querySelectorAll('a[href], button, textarea, [tabindex]')]
  .filter((el) => el.tabIndex >= 0 && !el.disabled && el.getClientRects().length)
  .map((el) => el.getAttribute('aria-label') || el.textContent.trim())"""


def test_keyboard_focus_escape_one_tab_stop_and_only_the_latest_choices(page, lab):
    open_and_run(page, lab, "keys.ipynb", [KEYS])
    panel = page.locator(".cw-root").first
    log = page.get_by_role("log").first

    # only the latest turn's choices can be picked
    send(page, "menu")
    page.locator("[role=article][data-status=complete]").filter(has=page.locator(".cw-choice")).first.wait_for()
    send(page, "menu")
    menus = page.locator("[role=article][data-status=complete]").filter(has=page.locator(".cw-choice"))
    menus.nth(1).wait_for()
    old, new = menus.nth(0).locator("button.cw-choice"), menus.nth(1).locator("button.cw-choice")
    assert old.count() == new.count() >= 3
    assert all(old.nth(i).is_disabled() for i in range(old.count()))
    assert not any(new.nth(i).is_disabled() for i in range(new.count()))
    new.filter(has_text="Streaming").click()
    done(page, "Replies stream")
    assert focused(page) == "Message"

    # focus comes back to the message box after Retry and Stop
    send(page, "fail")
    failed = page.locator("[role=article][data-status=failed]")
    failed.wait_for()
    first_id = failed.get_attribute("data-id")
    panel.get_by_role("button", name="Retry").click()
    assert focused(page) == "Message"
    page.locator(f"[role=article][data-status=failed]:not([data-id={first_id}])").wait_for()  # asked again
    send(page, "endless")
    page.locator("[role=article][data-status=streaming]").filter(has_text="word5 ").wait_for()
    panel.get_by_role("button", name="Stop", exact=True).click()
    page.locator("[role=article][data-status=stopped]").wait_for()
    assert focused(page) == "Message"

    # one Tab stop for the whole transcript, whatever its length
    assert log.get_by_role("article").count() >= 8
    assert panel.evaluate(TABBABLE) == [
        "New chat", "Export", "Expand", "Conversation", "Message", "Send", "Resize the conversation",
    ]  # fmt: skip
    box(page).focus()
    page.keyboard.press("Shift+Tab")
    assert focused(page) == "Conversation"
    page.keyboard.press("Shift+Tab")
    assert focused(page) == "Expand"
    page.keyboard.press("Tab")
    page.keyboard.press("Tab")
    assert focused(page) == "Message"

    # Escape leaves the box for the transcript; arrow keys move inside it
    page.keyboard.press("Escape")
    assert focused(page) == "Conversation"
    page.keyboard.press("ArrowUp")
    assert focused(page) == "assistant message"  # the latest, the stopped reply
    assert page.evaluate("document.activeElement.dataset.status") == "stopped"
    page.keyboard.press("ArrowUp")
    assert focused(page) == "user message"
    page.keyboard.press("ArrowRight")
    assert focused(page) == "Copy message"
    page.keyboard.press("ArrowLeft")
    assert focused(page) == "user message"
    page.keyboard.press("Home")
    assert page.evaluate("document.activeElement.querySelector('.cw-bubble').textContent") == "menu"
    page.keyboard.press("End")
    page.keyboard.press("ArrowRight")
    assert focused(page) == "Copy message"
    page.keyboard.press("ArrowRight")
    assert focused(page) == "Regenerate"
    page.keyboard.press("Tab")  # out of the transcript, to the message box
    assert focused(page) == "Message"
    shot(panel, f"panel-keyboard-{lab.theme}.png")
    assert not page.js_errors, page.js_errors


RICH = '''from convowidget import ChatWidget, serve
from convowidget import agent as ui
from convowidget.demo import demo_agent
TEXT = """### Everything a reply can hold

Plain text with **bold**, *emphasis*, `inline code` and a [link](https://example.com/docs).

> A quote from the knowledge base.

| Column | Value |
| --- | --- |
| alpha | 1 |

```python
def greet(name: str) -> str:
    # say hello
    return f"Hello {name}" + str(42) if name else None
```

- a list item
"""
FIELDS = [
    ui.form_field("name", "Your name", required=True, placeholder="Ada Lovelace"),
    ui.form_field("size", "Team size", "select", options=[("s", "Small"), ("l", "Large")]),
    ui.form_field("cv", "Your CV", "file"),
]
async def agent(request):
    if request.prompt == "rich":
        yield TEXT
        sources = ["https://example.com/kb/streaming", "Internal handbook, page 4"]
        yield {"type": "metadata", "metadata": {"sources": sources}}
    elif request.prompt == "everything":  # what web-chat agents send, in one reply
        yield ui.tool_call("lookup_order", {"order_id": "12345"}, {"status": "shipped"})
        yield {"type": "action", "action": {"type": "open_url", "url": "https://example.com"}}
        yield ui.text("Everything at once:")
        yield ui.notice("Saved!", "success")
        yield ui.iframe("https://video.example.test/embed/intro", layout="vertical")
        yield ui.form(FIELDS, title="Book a demo", description="Thirty minutes.", submit_label="Request a demo")
        yield ui.choice(ui.button("Streaming", "How does streaming work?"))
    elif request.prompt == "fail":
        yield "Half an answer"
        raise RuntimeError("the agent broke")
    elif request.prompt == "endless":
        for i in range(100000):
            yield f"word{i} "
    else:
        async for item in demo_agent(request):
            yield item
server = serve(agent, chunk_delay=0.02).start()
chat = ChatWidget(url=server.url, agent_id="rich", suggestions=["rich", "menu"])
chat.is_demo = True  # the badge and the note, to check their contrast too
chat'''
PANEL_ERROR = 'chat.error = "Could not reach the agent (an example of a panel-level error)"'
# Every kind of text the panel shows, by the class of the element that owns it.
KINDS = {
    "cw-title", "cw-badge", "cw-tool cw-new", "cw-tool cw-export", "cw-status-text", "cw-demo-note",
    "cw-bubble cw-text", "cw-md", "cw-code-lang",
    "cw-copy-code", "cw-tk-kw", "cw-tk-str", "cw-tk-com", "cw-tk-num", "cw-sources-label", "cw-sources",
    "cw-handoff", "cw-note", "cw-alert", "cw-retry", "cw-choice cw-choice-send", "cw-card-title", "cw-md cw-card-text",
    "cw-act cw-copy", "cw-act cw-regen", "cw-alert cw-panel-alert", "cw-jump",
    # what web-chat agents send: a tool call (opened), another action, a notice, an iFrame
    # not loaded, a form with a problem shown, and the usage line
    "cw-step", "cw-step-label", "cw-json", "cw-action", "cw-notice cw-notice-success cw-block", "cw-embed-info",
    "cw-choice cw-embed-load", "cw-form-title", "cw-form-desc", "cw-field", "cw-req", "cw-field-problem",
    "cw-control cw-latest-only", "cw-submit cw-latest-only", "cw-usage",
    # the panel's own controls: starter prompts (measured before the first prompt), answer
    # versions, feedback (a note saved, the note box open), Edit and its note, Export's menu
    "cw-suggestion", "cw-suggest-label", "cw-ver-at", "cw-act cw-ver", "cw-fb-saved", "cw-fb-note",
    "cw-act cw-edit", "cw-editing", "cw-edit-cancel", "cw-menu-item",
}  # fmt: skip


def test_every_text_meets_wcag_aa_and_sources_are_a_list(page, lab):
    open_and_run(page, lab, "rich.ipynb", [RICH, PANEL_ERROR])
    panel = page.locator(".cw-root").first
    panel.get_by_role("group", name="Suggestions").wait_for()
    before = contrast(panel)  # the starter prompts show until the first prompt
    send(page, "rich")
    done(page, "Everything a reply can hold")
    panel.get_by_role("button", name="Regenerate").click()  # a second version: "2/2"
    reply = page.locator("[role=article][data-status=complete]").filter(has=page.locator(".cw-ver-at", has_text="2/2"))
    reply.wait_for()
    reply.get_by_role("button", name="Not helpful").click()  # feedback with a note
    page.keyboard.type("Missing the pricing table")
    page.keyboard.press("Enter")
    reply.get_by_text("Note: Missing the pricing table").wait_for()

    # sources: a real list, URLs as links, the rest as readable text, no bullet characters
    sources = reply.locator(".cw-sources")
    items = sources.locator("ul > li")
    assert items.count() == 2
    assert items.nth(0).get_by_role("link").get_attribute("href") == "https://example.com/kb/streaming"
    assert items.nth(1).inner_text() == "Internal handbook, page 4" and items.nth(1).locator("a").count() == 0
    assert "•" not in sources.inner_text()
    assert items.nth(1).evaluate("li => getComputedStyle(li, '::before').content") in ("none", "normal")
    assert float(items.nth(1).evaluate("li => getComputedStyle(li).fontSize")[:-2]) >= 12

    send(page, "Can I talk to a human please?")
    page.locator(".cw-handoff").wait_for()
    send(page, "fail")
    page.locator("[role=article][data-status=failed]").wait_for()
    send(page, "endless")
    page.locator("[role=article][data-status=streaming]").filter(has_text="word5 ").wait_for()
    panel.get_by_role("button", name="Stop", exact=True).click()
    page.locator("[role=article][data-status=stopped]").wait_for()
    send(page, "menu")
    page.locator("[role=article][data-status=complete] .cw-card-title").wait_for()
    send(page, "everything")  # the latest turn: its choices and its form are active, so their text counts
    everything = done(page, "Everything at once")
    everything.get_by_role("button", name="Request a demo").click()  # the required name: a problem shows
    everything.locator(".cw-field-problem", has_text=re.compile("fill", re.I)).wait_for()
    everything.get_by_text("Tool call: lookup_order").click()
    everything.locator(".cw-json").first.wait_for()
    assert "[unsupported message" not in page.get_by_role("log").first.inner_text()
    run_cell(page, 1)  # a panel-level error
    panel.locator(".cw-panel-alert", has_text="an example of a panel-level error").wait_for()
    panel.get_by_role("button", name="Edit").click()  # the latest prompt back in the box, with a note
    everything.get_by_role("button", name="Helpful", exact=True).click()  # the note box, its placeholder showing
    log = page.get_by_role("log").first  # the reader scrolls up (only the reader unpins the log)
    log.hover()
    page.mouse.wheel(0, -log.evaluate("el => el.scrollHeight / 2"))
    panel.get_by_role("button", name="Jump to latest").wait_for()
    panel.get_by_role("button", name="Export").focus()
    page.keyboard.press("ArrowDown")  # Export's menu, open

    texts = before + contrast(panel)
    kinds = {t["owner"] for t in texts}
    assert not KINDS - kinds, f"not checked: {KINDS - kinds}"
    low = lowest(texts)
    print(f"{lab.theme}: {len(texts)} texts, lowest contrast {low['ratio']}:1 ({low['text']!r}, {low['owner']})")
    shot(panel, f"panel-contrast-{lab.theme}.png")
    assert not page.js_errors, page.js_errors


def test_readme_screenshots(page, lab):
    """The panel as the README shows it: a reply with sources, one with code, choices and a card."""
    open_and_run(page, lab, "readme.ipynb", ["from convowidget import ChatWidget\nchat = ChatWidget()\nchat"])
    panel = page.locator(".cw-root").first
    new_chat = panel.get_by_role("button", name="New chat")
    done(page, "demo agent")  # its greeting first
    send(page, "How does streaming work?")
    done(page, "Replies stream")
    page.wait_for_timeout(300)
    shot(panel, f"panel-sources-{lab.theme}.png")
    new_chat.click()
    send(page, "Show me some code")
    page.locator("[role=article][data-status=complete] .cw-code").first.wait_for()
    page.wait_for_timeout(300)
    shot(panel, f"panel-{lab.theme}.png")
    new_chat.click()
    send(page, "Can I talk to a human please?")
    page.locator(".cw-handoff").wait_for()
    send(page, "menu")
    page.locator("[role=article][data-status=complete] .cw-card-title").wait_for()
    page.wait_for_timeout(300)
    shot(panel, f"panel-menu-{lab.theme}.png")


def test_notebook_7_new_controls_and_a_kernel_that_is_gone(page, tmp_path_factory):
    server = JupyterServer(tmp_path_factory.mktemp("panel-nb7"), app="notebook").start()
    try:
        open_and_run(page, server, "nb7.ipynb", [TOOLS])
        panel = page.locator(".cw-root").first
        send(page, "code")
        reply = done(page, "pip install convowidget")
        assert reply.locator(".cw-code-lang").all_inner_texts() == ["python", "sh"]
        assert reply.get_by_role("button", name="Copy code").count() == 2
        assert panel.get_by_role("button", name="Regenerate").count() == 1
        shot(panel, "panel-notebook7-tools.png")
        panel.get_by_role("button", name="New chat").click()
        page.wait_for_function("() => !document.querySelector('.cw-log [role=article]')")
        menu(page, "Kernel", "Shut Down Kernel")
        page.wait_for_timeout(1000)
        box(page).click()
        page.keyboard.type("still here?")
        page.keyboard.press("Enter")
        panel.get_by_role("alert").filter(has_text=OFFLINE).wait_for()
        assert box(page).input_value() == "still here?"
        shot(panel, "panel-notebook7-offline.png")
    finally:
        server.stop()
