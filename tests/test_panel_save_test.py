"""Save as test in real JupyterLab and Chromium (light and dark): from the keyboard, the note
saying where the kernel wrote, and the file passing ``convowidget test`` against the demo agent.

The fixtures and helpers are test_panel.py's; screenshots land in test-artifacts/.
"""

from __future__ import annotations

import pytest
import test_panel
from browser_harness import open_and_run, shot
from test_panel import box, contrast, done, focused, lowest, report, send

# test_panel.py's fixtures: JupyterLab in the light and the dark theme, Chromium, a page
lab, browser, page = test_panel.lab, test_panel.browser, test_panel.page

pytestmark = pytest.mark.browser

CHAT = 'from convowidget import ChatWidget\nchat = ChatWidget(greet=False, suite_path="saved-tests.yaml")\nchat'
RUN = """import contextlib, io, json, os
from convowidget import load_suite
from convowidget.cli import main
out = io.StringIO()
with contextlib.redirect_stdout(out), contextlib.redirect_stderr(io.StringIO()):
    code = main(["test", "saved-tests.yaml", "--demo"])
suite = load_suite("saved-tests.yaml")
print('REPORT', json.dumps({
    'path': os.path.abspath('saved-tests.yaml'), 'code': code, 'summary': out.getvalue().strip().splitlines()[-1],
    'turns': [[t.user for t in s.turns] for s in suite],
    'similar': [t.expect.similar_to for t in suite.scenarios[0].turns],
}))"""


def test_save_as_test_from_the_keyboard_writes_a_suite_the_demo_passes(page, lab):
    open_and_run(page, lab, "save-test.ipynb", [CHAT, RUN])
    panel = page.locator(".cw-root").first
    send(page, "How does streaming work?")
    first = done(page, "Replies stream")
    send(page, "Show me the menu")
    page.locator("[role=article][data-status=complete]").nth(1).wait_for()

    # from the keyboard: the latest reply, then Right to its controls, Enter
    box(page).focus()
    page.keyboard.press("Escape")
    page.keyboard.press("ArrowUp")
    assert focused(page) == "assistant message"
    for _ in range(60):  # past the menu's buttons and links
        page.keyboard.press("ArrowRight")
        if focused(page) == "Save as test":
            break
    assert focused(page) == "Save as test"
    page.keyboard.press("Enter")
    note = panel.locator(".cw-saved-note").filter(has_text="Saved as a test in").first
    note.wait_for()

    data = report(page, 1)
    assert note.inner_text() == f"Saved as a test in {data['path']}"
    assert data["turns"] == [["How does streaming work?", "Show me the menu"]]
    assert "Replies stream" in data["similar"][0] and data["similar"][1]
    assert data["code"] == 0 and data["summary"].startswith("1 passed"), data

    # from the first reply too, with the mouse: a second scenario of one turn, another name
    first.get_by_role("button", name="Save as test").click()
    first.locator(".cw-saved-note").filter(has_text="Saved as a test in").wait_for()
    data = report(page, 1)
    assert data["turns"] == [["How does streaming work?", "Show me the menu"], ["How does streaming work?"]]
    assert data["code"] == 0 and data["summary"].startswith("2 passed"), data

    texts = contrast(panel)
    assert "cw-saved-note" in {t["owner"] for t in texts}
    print(lab.theme, "Save as test, lowest contrast:", lowest(texts))
    saved = first.locator(".cw-saved-note")
    saved.scroll_into_view_if_needed()
    page.mouse.move(0, 0)
    assert saved.evaluate("el => getComputedStyle(el.closest('.cw-actions')).opacity") == "1"  # stays in sight
    shot(panel, f"panel-save-test-{lab.theme}.png")
