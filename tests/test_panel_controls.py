"""The panel's newer controls in real JupyterLab and Chromium, light and dark theme.

The greeting and starter prompts, answer versions (Regenerate, Edit), feedback, Export,
the size (height, the resize handle, Expand), and a kernel shut down noticed without a
send. The fixtures and helpers are test_panel.py's; screenshots land in test-artifacts/.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import test_panel
from browser_harness import menu, open_and_run, save_notebook, shot
from playwright.sync_api import TimeoutError as PlaywrightTimeout
from test_panel import OFFLINE, box, contrast, done, focused, lowest, report, send

# test_panel.py's fixtures: JupyterLab in the light and the dark theme, Chromium, a page
lab, browser, page = test_panel.lab, test_panel.browser, test_panel.page

pytestmark = pytest.mark.browser

COUNTING = """from convowidget import ChatWidget, serve
import itertools
count = itertools.count(1)
def agent(request):
    n = next(count)
    if request.prompt == "long":
        for i in range(300):
            yield f"Line {i}: " + "more " * min(i, 30) + "\\n\\n"
    else:
        yield f"Answer {n} to {request.prompt}."
server = serve(agent, chunk_delay=0.02).start()
chat = ChatWidget(url=server.url, agent_id="counting", agent_label="Counting agent", height=HEIGHT)
chat"""
ANSWERS = (
    "import json\nprint('REPORT', json.dumps({'replies': [[r.prompt, r.text, r.feedback, r.feedback_note]"
    " for r in chat.replies], 'frame': chat.to_dataframe()[['feedback', 'feedback_note']].fillna('').values.tolist()}))"
)


def by_id(page, reply):
    """The message of this locator, found by its id from now on (its text may change)."""
    return page.locator(f"[role=article][data-id={reply.get_attribute('data-id')}]")


def reload(page, lab, name: str) -> None:
    """Save the notebook (so the page may leave without asking), then reload the page."""
    page.locator(".jp-Cell .jp-InputPrompt").first.click()
    save_notebook(page, lab.root / "work" / name)
    page.reload()
    page.locator(".cw-root").first.wait_for()


def test_the_demo_greets_once_and_offers_starter_prompts_from_the_keyboard(page, lab):
    open_and_run(page, lab, "greet.ipynb", ["from convowidget import ChatWidget\nchat = ChatWidget()\nchat", ANSWERS])
    panel = page.locator(".cw-root").first
    greeting = done(page, "demo agent")
    assert panel.get_by_role("article", name="user message").count() == 0  # no "start" from the person
    prompts = panel.get_by_role("group", name="Suggestions")
    assert prompts.get_by_role("button").all_inner_texts()[:3] == [
        "Show me the menu", "Show me some code", "Tell me a long story",
    ]  # fmt: skip
    texts = contrast(panel)
    owners = {t["owner"] for t in texts}
    assert {"cw-suggestion", "cw-suggest-label", "cw-tool cw-new", "cw-tool cw-export"} <= owners, owners
    print(lab.theme, "greeting and prompts, lowest contrast:", lowest(texts))
    shot(panel, f"panel-greeting-{lab.theme}.png")

    # the prompts are Tab stops between the transcript and the box: Shift+Tab from the box
    box(page).focus()
    page.keyboard.press("Shift+Tab")
    assert focused(page) == "How does streaming work?"
    page.keyboard.press("Enter")
    done(page, "Replies stream")
    assert not prompts.is_visible()
    assert panel.get_by_role("article", name="user message").all_inner_texts()[0].startswith("How does streaming")

    # a page reload (and with it a second render and a new hello) does not greet again
    greeting_id = greeting.get_attribute("data-id")
    reload(page, lab, "greet.ipynb")
    page.locator("[role=article][data-status=complete]").filter(has_text="Replies stream").wait_for()
    page.wait_for_timeout(1500)  # time enough for a greeting, were one coming
    assert [r[0] for r in report(page, 1)["replies"]] == ["start", "How does streaming work?"]
    assert page.locator(f"[role=article][data-id={greeting_id}]").count() == 1
    assert not page.js_errors, page.js_errors


def test_versions_edit_and_feedback_with_a_note(page, lab):
    open_and_run(page, lab, "versions.ipynb", [COUNTING.replace("HEIGHT", "None"), ANSWERS])
    panel = page.locator(".cw-root").first
    log = page.get_by_role("log").first
    send(page, "question")
    done(page, "Answer 1 to question.")
    panel.get_by_role("button", name="Regenerate").click()
    reply = by_id(page, done(page, "Answer 2 to question."))
    assert reply.locator(".cw-ver-at").inner_text() == "2/2"
    reply.get_by_role("button", name="Previous answer").click()
    done(page, "Answer 1 to question.")
    assert reply.locator(".cw-ver-at").inner_text() == "1/2"
    assert panel.get_by_role("button", name="Regenerate").count() == 0  # only for the latest answer
    reply.get_by_role("button", name="Next answer").click()
    done(page, "Answer 2 to question.")

    # feedback from the keyboard: the reply, then Right to its controls; Enter, a note, Enter
    box(page).focus()
    page.keyboard.press("Escape")
    page.keyboard.press("ArrowUp")
    assert focused(page) == "assistant message"
    for _ in range(8):
        page.keyboard.press("ArrowRight")
        if focused(page) == "Not helpful":
            break
    assert focused(page) == "Not helpful"
    page.keyboard.press("Enter")
    assert focused(page) == "Feedback note"
    page.keyboard.type("Too short")
    page.keyboard.press("Enter")
    assert focused(page) == "Not helpful"
    reply.get_by_text("Note: Too short").wait_for()
    assert reply.get_by_role("button", name="Not helpful").get_attribute("aria-pressed") == "true"
    data = report(page, 1)
    assert data["replies"][-1] == ["question", "Answer 2 to question.", "down", "Too short"]
    assert data["frame"] == [["", ""], ["down", "Too short"]]

    # Edit: the latest prompt back in the box; sending replaces the turn, the answers kept
    panel.get_by_role("button", name="Edit").click()
    assert box(page).input_value() == "question" and focused(page) == "Message"
    assert panel.locator(".cw-editing").is_visible()
    texts = contrast(panel)  # the editing note, versions, feedback pressed and its note
    owners = {t["owner"] for t in texts}
    assert {"cw-editing", "cw-edit-cancel", "cw-ver-at", "cw-act cw-ver", "cw-fb-saved"} <= owners, owners
    box(page).fill("question, edited")
    box(page).press("Enter")
    edited = by_id(page, done(page, "Answer 3 to question, edited."))
    assert edited.locator(".cw-ver-at").inner_text() == "3/3"
    assert log.get_by_role("article", name="user message").count() == 1
    edited.get_by_role("button", name="Previous answer").click()
    done(page, "Answer 2 to question.")
    assert log.get_by_role("article", name="user message").inner_text().startswith("question\n")  # its prompt
    assert edited.get_by_role("button", name="Not helpful").get_attribute("aria-pressed") == "true"

    # a reload draws the versions from the transcript entry, with their feedback
    reload(page, lab, "versions.ipynb")
    again = by_id(page, done(page, "Answer 3 to question, edited."))
    assert again.locator(".cw-ver-at").inner_text() == "3/3"
    again.get_by_role("button", name="Previous answer").click()
    again.get_by_role("button", name="Not helpful", pressed=True).wait_for()
    again.get_by_role("button", name="Helpful", exact=True).click()  # feedback on an earlier version
    again.get_by_role("textbox", name="Feedback note").wait_for()
    shot(panel, f"panel-versions-{lab.theme}.png")
    page.keyboard.press("Escape")
    page.wait_for_function("() => document.querySelector('.cw-fb-up[aria-pressed=true]')")
    assert report(page, 1)["replies"][1][2] == "up"
    assert not page.js_errors, page.js_errors


def test_export_downloads_exactly_what_to_markdown_and_to_json_give(page, lab):
    export_report = "import json\nprint('REPORT', json.dumps({'md': chat.to_markdown(), 'json': chat.to_json()}))"
    open_and_run(page, lab, "export.ipynb", [COUNTING.replace("HEIGHT", "None"), export_report])
    panel = page.locator(".cw-root").first
    send(page, "hello <b>there</b>")
    done(page, "Answer 1 to hello")
    texts = report(page, 1)
    button = panel.get_by_role("button", name="Export")
    button.click()
    assert button.get_attribute("aria-expanded") == "true"
    assert panel.get_by_role("menuitem").all_inner_texts() == ["Markdown", "JSON"]
    contrast(panel)
    shot(panel, f"panel-export-{lab.theme}.png")
    with page.expect_download() as got:
        panel.get_by_role("menuitem", name="Markdown").click()
    markdown = got.value
    assert re.fullmatch(r"counting-agent-\d{4}-\d\d-\d\d\.md", markdown.suggested_filename)
    assert Path(markdown.path()).read_text(encoding="utf-8") == texts["md"]
    # from the keyboard: Down opens the menu, Down again to JSON, Enter
    button.focus()
    page.keyboard.press("ArrowDown")
    assert page.evaluate("document.activeElement.textContent") == "Markdown"
    page.keyboard.press("ArrowDown")
    with page.expect_download() as got:
        page.keyboard.press("Enter")
    as_json = got.value
    assert as_json.suggested_filename.endswith(".json")
    assert json.loads(Path(as_json.path()).read_text(encoding="utf-8")) == json.loads(texts["json"])
    assert focused(page) == "Export"
    page.keyboard.press("ArrowDown")
    page.keyboard.press("Escape")  # closes the menu, the focus back on Export
    assert button.get_attribute("aria-expanded") == "false" and focused(page) == "Export"
    assert not page.js_errors, page.js_errors


LOG_HEIGHT = "() => document.querySelector('.cw-log').getBoundingClientRect().height"
FROM_BOTTOM = (
    "() => { const l = document.querySelector('.cw-log'); return l.scrollHeight - l.scrollTop - l.clientHeight; }"
)


def test_height_the_resize_handle_and_expand_while_a_reply_streams(page, lab):
    open_and_run(page, lab, "size.ipynb", [COUNTING.replace("HEIGHT", "300")])
    panel = page.locator(".cw-root").first
    send(page, "long")
    streaming = page.locator("[role=article][data-status=streaming]")
    streaming.filter(has_text="Line 20:").wait_for()
    assert page.evaluate(LOG_HEIGHT) == 300  # height=300: the conversation scrolls past 300 px

    # the handle, by pointer: 120 px down
    handle = panel.get_by_role("separator", name="Resize the conversation")
    grip = handle.bounding_box()
    x, y = grip["x"] + grip["width"] / 2, grip["y"] + grip["height"] / 2
    page.mouse.move(x, y)
    page.mouse.down()
    page.mouse.move(x, y + 60)
    page.mouse.move(x, y + 120)
    page.mouse.up()
    assert abs(page.evaluate(LOG_HEIGHT) - 420) <= 2
    # and by keyboard: a focusable separator saying its value
    handle.focus()
    page.keyboard.press("ArrowDown")
    assert abs(page.evaluate(LOG_HEIGHT) - 440) <= 2
    assert abs(int(handle.get_attribute("aria-valuenow")) - 440) <= 2

    # Expand: over the whole window while the reply keeps streaming; Escape returns
    expand = panel.get_by_role("button", name="Expand")
    assert page.evaluate(FROM_BOTTOM) < 41
    expand.click()
    assert page.evaluate(FROM_BOTTOM) < 41  # the newest text still in view
    assert expand.get_attribute("aria-pressed") == "true"
    assert page.evaluate("() => document.querySelector('dialog.cw-frame').matches(':modal')")
    whole = panel.bounding_box()
    assert whole["width"] >= 1100 and whole["height"] >= 850, whole  # the window is 1200 x 900
    streaming.filter(has_text="Line 120:").wait_for()  # still streaming
    shot(page, f"panel-expanded-{lab.theme}.png")
    assert focused(page) == "Expand"  # the focus stayed
    page.keyboard.press("Escape")
    assert expand.get_attribute("aria-pressed") == "false" and focused(page) == "Expand"
    assert not page.evaluate("() => document.querySelector('dialog.cw-frame').matches(':modal')")
    assert abs(page.evaluate(LOG_HEIGHT) - 440) <= 2  # back at the size it had
    done(page, "Line 299:")
    shot(panel, f"panel-resized-{lab.theme}.png")
    assert not page.js_errors, page.js_errors


def test_a_kernel_shut_down_reads_not_connected_without_a_send(page, lab):
    open_and_run(page, lab, "shutdown-probe.ipynb", [COUNTING.replace("HEIGHT", "None")])
    panel = page.locator(".cw-root").first
    send(page, "hello")
    done(page, "Answer 1 to hello")
    box(page).fill("a draft")
    menu(page, "Kernel", "Shut Down Kernel")
    dialog = page.locator(".jp-Dialog").get_by_role("button", name=re.compile("Shut Down"))
    try:  # JupyterLab may ask first
        dialog.wait_for(timeout=3000)
        dialog.click()
    except PlaywrightTimeout:
        pass
    # nobody types or clicks: the panel finds out on its own, within seconds
    panel.locator(".cw-status", has_text=re.compile("not connected", re.I)).wait_for(timeout=15_000)
    panel.get_by_role("alert").filter(has_text=OFFLINE).wait_for()
    assert box(page).input_value() == "a draft"
    assert panel.get_by_role("button", name="Export").get_attribute("aria-disabled") == "true"
    assert not page.js_errors, page.js_errors
