"""What web-chat agents send, in the panel in real JupyterLab and Chromium (light and dark).

Forms and inputs filled in from the keyboard reach the agent of the embedded server;
embedded content loads only on a click (Playwright's request events see every request);
notices, tool calls and the per-reply line show. Fixtures and helpers come from
test_panel.py; screenshots land in test-artifacts/.
"""

from __future__ import annotations

import json
import re
import time

import pytest
import test_panel
from browser_harness import open_and_run, save_notebook, shot, shut_down_kernels, wait_for_kernel
from test_panel import contrast, done, new_page, report, send

# test_panel.py's fixtures: JupyterLab in the light and the dark theme, Chromium, a page
lab, browser, page = test_panel.lab, test_panel.browser, test_panel.page

pytestmark = pytest.mark.browser
SECRET = "correct-horse-battery"

FORMS = """from convowidget import ChatWidget, serve
from convowidget import agent as ui
from convowidget.demo import demo_agent
received = []
SIGN_UP = ui.form([
    ui.form_field("name", "Your name", required=True, placeholder="Ada Lovelace"),
    ui.form_field("code", "Team code",
                  validation={"pattern": "[A-Z]{3}", "errorMessage": "Three capital letters, please"}),
    ui.form_field("password", "Password", "password", required=True),
    ui.form_field("size", "Team size", "select", required=True, options=[("s", "Small"), ("l", "Large")]),
    ui.form_field("plan", "Plan", "radio", options=[("free", "Free"), ("pro", "Pro")], default="free"),
    ui.form_field("day", "Preferred date", "date"),
    ui.form_field("news", "Send me news", "checkbox"),
    ui.form_field("cv", "Your CV", "file"),
], title="Sign up", description="It takes a minute.", submit_label="Create account")
async def agent(request):
    if request.form_submission:
        received.append(request.form_values)
    if request.prompt == "sign up":
        yield ui.text("Please sign up:")
        yield SIGN_UP
        return
    async for item in demo_agent(request):  # thanks a submission by name; "subscribe" is an input
        yield item
server = serve(agent, chunk_delay=0.01).start()
chat = ChatWidget(url=server.url, agent_id="forms")
chat"""
FORMS_REPORT = (
    "import json\nprint('REPORT', json.dumps({'received': received, 'texts': [e['text'] for e in chat.transcript]}))"
)


def active_label(page) -> str:
    return page.evaluate("() => document.activeElement.labels?.[0]?.textContent || ''")


def test_a_form_and_an_input_filled_in_from_the_keyboard_reach_the_agent(page, lab):
    notebook = lab.root / "work" / "forms.ipynb"
    open_and_run(page, lab, notebook.name, [FORMS, FORMS_REPORT])
    panel = page.locator(".cw-root").first
    send(page, "sign up")
    reply = done(page, "Please sign up")
    form = reply.get_by_role("form", name="Sign up")
    assert "[unsupported message" not in reply.inner_text()

    # The transcript is still one Tab stop: Escape, Up to the reply, Enter into its form
    page.keyboard.press("Escape")
    page.keyboard.press("ArrowUp")
    page.keyboard.press("Enter")
    assert active_label(page).startswith("Your name")
    page.keyboard.press("Enter")  # nothing typed: the browser's own check, by the field
    name = form.get_by_label("Your name")
    assert name.get_attribute("aria-invalid") == "true"
    assert form.locator(f"#{name.get_attribute('aria-describedby')}").inner_text()
    page.keyboard.type("Ada")
    page.keyboard.press("Tab")
    assert active_label(page).startswith("Team code")
    page.keyboard.type("abc")  # the agent's pattern wants capitals: only the kernel checks it
    page.keyboard.press("Tab")
    page.keyboard.type(SECRET)
    form.get_by_label("Team size").select_option("l")
    form.get_by_label("Preferred date").fill("2025-03-04")
    form.get_by_label("Send me news").check()
    assert form.get_by_label("Your CV").is_disabled()
    assert form.get_by_text("Files cannot be sent from a notebook.").is_visible()
    form.get_by_label("Password").press("Enter")
    code = form.get_by_label("Team code")
    form.locator(".cw-field-problem", has_text="Three capital letters, please").wait_for()
    assert code.get_attribute("aria-invalid") == "true"
    assert active_label(page).startswith("Team code")  # the focus goes to what to fix
    contrast(panel)
    shot(form, f"panel-form-{lab.theme}.png")
    assert not report(page, 1)["received"]  # nothing reached the agent yet

    code.fill("ABC")
    code.press("Enter")
    done(page, "Thanks, Ada!")
    sent = report(page, 1)
    typed = {"name": "Ada", "code": "ABC", "password": SECRET, "size": "l", "plan": "free", "day": "2025-03-04"}
    assert sent["received"] == [{**typed, "news": True}]
    assert "Password: (hidden)" in sent["texts"][2] and SECRET not in json.dumps(sent["texts"])
    form.locator(".cw-form-done", has_text="Submitted").wait_for()
    assert form.get_by_label("Your name").input_value() == "Ada"
    assert form.get_by_label("Password").input_value() == "(hidden)"
    assert form.get_by_role("button", name="Create account").count() == 0

    # An input: one field, Enter sends it
    send(page, "subscribe")
    email = done(page, "Leave your e-mail").get_by_role("textbox", name="Email address")
    email.fill("ada@example.org")
    email.press("Enter")
    done(page, "You're on the list")
    assert report(page, 1)["received"][1] == {"email": "ada@example.org"}

    # The password is in no trait, so not in the panel (nor its fields) nor in the saved notebook
    shown = panel.evaluate("el => el.outerHTML + [...el.querySelectorAll('input, textarea')].map((i) => i.value)")
    assert "ada@example.org" in shown and SECRET not in shown
    page.locator(".jp-Cell").first.click()
    saved = save_notebook(page, notebook)
    # the widget state and the panel's cell (the REPORT cell printed what the agent got)
    widgets = json.dumps([saved["metadata"], saved["cells"][0]["outputs"]])
    assert "ada@example.org" in widgets and SECRET not in widgets
    assert not page.js_errors, page.js_errors


EMBED = """from convowidget import ChatWidget, serve
from convowidget import agent as ui
def agent(request):
    yield ui.text("Here is the intro:")
    yield ui.iframe("https://embed.example.test/video/1", layout="vertical")
server = serve(agent, chunk_delay=0).start()
chat = ChatWidget(url=server.url, agent_id="embed")
chat"""
EMBED_HOST = "embed.example.test"


def watched_page(browser, errors: list[str], hits: list[str]):
    """A page whose every request to the embedded host is counted (and answered locally)."""
    context, page = new_page(browser, errors)
    context.on("request", lambda request: hits.append(request.url) if EMBED_HOST in request.url else None)
    answer = {"body": "<p>the intro</p>", "content_type": "text/html"}
    context.route(f"https://{EMBED_HOST}/**", lambda route: route.fulfill(**answer))
    return context, page


def test_embedded_content_loads_only_on_a_click_and_never_on_reopening(browser, lab):
    path = lab.root / "work" / "embed.ipynb"
    errors: list[str] = []
    hits: list[str] = []
    context, page = watched_page(browser, errors, hits)
    open_and_run(page, lab, path.name, [EMBED])
    send(page, "show me")
    reply = done(page, "Here is the intro")
    load = reply.get_by_role("button", name="Load embedded content")
    assert reply.get_by_text("Video from embed.example.test").is_visible()
    page.wait_for_timeout(1500)
    assert reply.locator("iframe").count() == 0 and hits == []
    shot(reply, f"panel-embed-placeholder-{lab.theme}.png")
    load.click()
    frame = reply.locator("iframe")
    frame.wait_for()
    assert frame.get_attribute("sandbox") == "allow-scripts allow-same-origin allow-presentation"
    assert frame.get_attribute("referrerpolicy") == "no-referrer"
    page.frame_locator(".cw-embed-frame").get_by_text("the intro").wait_for()  # it did load, on the click
    assert hits == ["https://embed.example.test/video/1"]
    box = frame.bounding_box()
    assert abs(box["width"] / box["height"] - 16 / 9) < 0.02
    shot(reply, f"panel-embed-{lab.theme}.png")

    page.locator(".jp-Cell").first.click()  # saved with the widget state, then reopened without a kernel
    page.keyboard.press("Control+s")
    deadline = time.monotonic() + 30
    while EMBED_HOST not in json.dumps(json.loads(path.read_text()).get("metadata", {})):
        assert time.monotonic() < deadline, "the widget state was not saved"
        time.sleep(0.2)
    context.close()
    shut_down_kernels(lab)
    hits.clear()
    context, page = watched_page(browser, errors, hits)
    page.goto(lab.notebook_url(path.name))
    wait_for_kernel(page, lab)
    reopened = done(page, "Here is the intro")
    reopened.get_by_role("button", name="Load embedded content").wait_for()
    page.wait_for_timeout(1500)
    assert reopened.locator("iframe").count() == 0 and hits == []
    context.close()
    assert not errors, errors


def test_notices_tool_calls_and_the_per_reply_line(page, lab):
    open_and_run(page, lab, "steps.ipynb", ["from convowidget import ChatWidget\nchat = ChatWidget(greet=False)\nchat"])
    panel = page.locator(".cw-root").first
    send(page, "save my settings")
    saved = done(page, "Your settings are saved")
    notice = saved.locator(".cw-notice")
    assert notice.inner_text() == "Saved!" and notice.get_attribute("role") == "status"
    assert "cw-notice-success" in notice.get_attribute("class")

    send(page, "where is my order 12345")
    reply = done(page, "has shipped")
    step = reply.locator("details.cw-step")
    summary = step.locator("summary")
    assert summary.inner_text() == "Tool call: lookup_order"
    assert not step.evaluate("el => el.open") and not step.locator("pre").first.is_visible()
    # the arrow keys reach the step (the transcript stays one Tab stop); Enter opens it
    page.keyboard.press("Escape")
    page.keyboard.press("ArrowUp")
    page.keyboard.press("ArrowRight")
    assert page.evaluate("document.activeElement.textContent") == "Tool call: lookup_order"
    page.keyboard.press("Enter")
    pre = step.locator("pre")
    pre.first.wait_for()
    assert json.loads(pre.nth(0).inner_text()) == {"order_id": "12345"}
    assert json.loads(pre.nth(1).inner_text())["status"] == "shipped"

    line = reply.locator(".cw-usage")
    seen = line.evaluate("el => [...el.childNodes].filter((n) => !n.classList?.contains('cw-sr'))"
                         ".map((n) => n.textContent).join('')")  # fmt: skip
    time_ = r"(< 0\.1|\d+\.\d) s"
    assert re.fullmatch(rf"{time_} to first word · {time_} · [\d,]+ → [\d,]+ tokens · convowidget-demo", seen), seen
    assert saved.locator(".cw-usage").is_visible()  # under every finished reply
    assert "[unsupported message" not in page.get_by_role("log").first.inner_text()
    contrast(panel)
    page.keyboard.press("Tab")  # on to the message box: the picture shows no focus ring
    shot(reply, f"panel-tool-call-{lab.theme}.png")

    # The demo's form, nearly filled in, for the README
    send(page, "book a demo")
    booking = done(page, "Happy to show you around")
    form = booking.get_by_role("form", name="Book a demo")
    form.get_by_label("Your name").fill("Ada Lovelace")
    form.get_by_label("Email address").fill("ada@example.org")
    form.get_by_label("Team size").select_option("2-10")
    form.get_by_label("Preferred date").fill("2025-03-04")
    form.get_by_role("button", name="Request a demo").click()
    form.locator(".cw-field-problem").filter(has_text=re.compile(".")).first.wait_for()  # the box not ticked
    contrast(panel)
    shot(form, f"panel-demo-form-{lab.theme}.png")
    assert not page.js_errors, page.js_errors
