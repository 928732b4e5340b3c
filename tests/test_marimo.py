"""The chat panel in marimo (``mo.ui.anywidget(ChatWidget())``), in Debian's Chromium.

marimo is a different anywidget host from Jupyter: its own server, its own model
proxy, no ipywidgets. A person types a prompt into the panel and reads the reply; a
second cell reads the panel's value and runs again after each reply.
"""

from __future__ import annotations

import pytest
from browser_harness import ARTIFACTS, chromium, marimo_server

pytestmark = pytest.mark.browser

APP = """import marimo

app = marimo.App()


@app.cell
def _():
    import marimo as mo
    from convowidget import ChatWidget

    chat = mo.ui.anywidget(ChatWidget())
    chat
    return chat, mo


@app.cell
def _(chat, mo):
    # reads the panel's value: marimo runs this cell again after each finished reply
    answer = chat.value.get("last_answer") or {}
    mo.plain_text(f"LAST ANSWER {answer.get('id', 'none')} {answer.get('status', '')}: {answer.get('text', '')[:40]}")
    return


if __name__ == "__main__":
    app.run()
"""


@pytest.fixture
def marimo_app(tmp_path):
    path = tmp_path / "chat_app.py"
    path.write_text(APP)
    with marimo_server(path) as url:
        yield url


def test_typing_a_prompt_in_marimo_streams_the_reply(marimo_app):
    with chromium() as browser:
        page = browser.new_page(viewport={"width": 1100, "height": 900})
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.goto(marimo_app)
        box = page.get_by_role("textbox", name="Message")
        box.wait_for(timeout=60_000)
        assert "local demo agent" in page.locator(".cw-root").inner_text().lower()
        page.locator("[role=article][data-status=complete]").first.wait_for()  # the demo's greeting, first
        box.fill("How do I install convowidget?")
        box.press("Enter")
        page.get_by_role("article", name="user message").filter(has_text="How do I install").wait_for()
        reply = page.locator("[role=article][data-status=complete]").filter(has_text="pip install convowidget")
        reply.wait_for(timeout=30_000)
        assert "Sources" in reply.inner_text()
        # the panel's own controls work here too, and the panel does not think it is offline
        panel = page.locator(".cw-root")
        box.fill("Show me some code")
        box.press("Enter")
        code = page.locator("[role=article][data-status=complete]").filter(has=page.locator(".cw-code")).last
        code.wait_for(timeout=30_000)
        assert "python" in code.locator(".cw-code-lang").all_inner_texts()
        assert code.get_by_role("button", name="Copy code").count() >= 1
        assert panel.get_by_role("button", name="Regenerate").count() == 1
        assert panel.get_by_role("alert").filter(has_text="not connected").count() == 0
        ARTIFACTS.mkdir(exist_ok=True)
        panel.screenshot(path=str(ARTIFACTS / "panel-marimo.png"))
        panel.get_by_role("button", name="New chat").click()
        page.locator(".cw-log [role=article]").first.wait_for(state="detached")  # locators see into shadow roots
        focused = "() => { let a = document.activeElement; while (a && a.shadowRoot && a.shadowRoot.activeElement)"
        focused += " a = a.shadowRoot.activeElement; return a.getAttribute('aria-label'); }"
        assert page.evaluate(focused) == "Message"
        assert not errors


def test_a_cell_reading_the_panel_runs_again_after_each_reply_and_lists_keep_their_bullets(marimo_app):
    with chromium() as browser:
        page = browser.new_page(viewport={"width": 1100, "height": 900})
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.goto(marimo_app)
        panel = page.locator(".cw-root")
        greeting = page.locator("[role=article][data-status=complete]").filter(has_text="demo agent")
        greeting.wait_for(timeout=60_000)  # the demo greets when first shown
        greeting_id = greeting.get_attribute("data-id")
        page.get_by_text(f"LAST ANSWER {greeting_id} complete").wait_for(timeout=30_000)  # ran again for it
        # the panel fills the cell's width (the cell's output, as wide as the text cell under it)
        output = page.locator(".output-area").filter(has=panel).locator(".output").first
        assert panel.bounding_box()["width"] >= output.bounding_box()["width"] - 1
        page.get_by_role("button", name="Tell me a long story").click()  # a starter prompt
        story = page.locator("[role=article][data-status=complete]").filter(has_text="Plain chunks are joined")
        story.wait_for(timeout=60_000)
        story_id = story.get_attribute("data-id")
        page.get_by_text(f"LAST ANSWER {story_id} complete").wait_for(timeout=30_000)  # and again
        style = "li => getComputedStyle(li).listStyleType"
        assert story.locator(".cw-md ul > li").first.evaluate(style) == "disc"  # marimo's page resets lists
        assert story.locator(".cw-md ol > li").first.evaluate(style) == "decimal"
        ARTIFACTS.mkdir(exist_ok=True)
        story.locator(".cw-md ul").first.scroll_into_view_if_needed()
        panel.screenshot(path=str(ARTIFACTS / "panel-marimo-list.png"))
        assert not errors
