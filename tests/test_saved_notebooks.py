"""A saved notebook shows the conversation when the kernel is gone, and runs nothing.

With JupyterLab's default settings (widget state is not saved; settings folders isolated
by the harness), a notebook chats with an agent whose replies carry XSS vectors, is
saved and its kernel shut down. Then the saved file is read back in JupyterLab 4,
Notebook 7, and ``jupyter nbconvert --to html`` (plain, and ``--sanitize-html`` as a
GitHub-like renderer does) opened in Chromium: each shows the whole conversation in the
copy under the panel (a collapsed ``<details>``), and none runs or builds anything from
the vectors. Screenshots land in test-artifacts/.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import subprocess
import sys
import time

import pytest
from browser_harness import JupyterServer, chromium, shot, shut_down_kernels, wait_for_kernel, write_notebook
from playwright.sync_api import TimeoutError as PlaywrightTimeout

pytestmark = pytest.mark.browser
TIMEOUT = 60_000  # ms

AGENT = '''from convowidget import ChatWidget, serve
VECTORS = """Hello <img src=x onerror="window.__xss=1"> <script>window.__xss=2</script>
<svg onload="window.__xss=3"><circle r="5"></circle></svg> <iframe src="javascript:window.__xss=4"></iframe>
<a href="javascript:window.__xss=5">raw link</a> [md link](javascript:window.__xss=6) <b onclick="window.__xss=7">b</b>
</pre></details><img src=y onerror="window.__xss=8"> <style>body { display: none }</style>
"""
def evil(request):
    yield f"Answer to {request.prompt}. "
    yield VECTORS
server = serve(evil, chunk_delay=0).start()
chat = ChatWidget(url=server.url, agent_id="evil")
chat'''
ASK = """for prompt in ["first question", 'second <img src=z onerror="window.__xss=9">']:
    chat.ask(prompt)"""
# Elements and attributes the vectors would build if they ran as markup.
HOSTILE = (
    "img, svg, script, iframe, style, [onerror], [onload], [onclick], a[href^='javascript' i]",
    "the agent's markup",
)
SUMMARY = re.compile(r"Conversation with Agent evil .* — 4 messages \(a copy for when the kernel is gone\)")
EXPECTED_TEXT = [
    "first question",
    "Answer to first question.",
    'Hello <img src=x onerror="window.__xss=1">',
    "<script>window.__xss=2</script>",
    "[md link](javascript:window.__xss=6)",
    'second <img src=z onerror="window.__xss=9">',
]


def new_page(browser, errors: list[str]):
    context = browser.new_context(viewport={"width": 1200, "height": 1000})
    page = context.new_page()
    page.set_default_timeout(TIMEOUT)
    page.on("pageerror", lambda exc: errors.append(f"pageerror: {exc} {exc.stack}"))
    page.on("dialog", lambda dialog: (errors.append(f"dialog: {dialog.message}"), dialog.dismiss()))
    return context, page


def read_expanded_copy(page, where: str) -> str:
    """Open the copy's <details> and return its text, after checking nothing hostile is in it."""
    details = page.locator("details").filter(has=page.locator("summary", has_text=SUMMARY))
    details.wait_for()
    details.scroll_into_view_if_needed()
    details.locator("summary").click()
    assert details.evaluate("d => d.open"), where
    selector, what = HOSTILE
    assert details.locator(selector).count() == 0, f"{where}: {what} became elements"
    return details.inner_text()


def assert_whole_conversation(text: str, where: str) -> None:
    for expected in EXPECTED_TEXT:
        assert expected in text, f"{where}: {expected!r} missing from the saved copy"


@pytest.fixture(scope="module")
def browser():
    with chromium() as running:
        yield running


@pytest.fixture(scope="module")
def saved(tmp_path_factory, browser):
    """Chat in JupyterLab 4, save with ctrl+s, shut the kernel down, reopen; returns what was seen."""
    root = tmp_path_factory.mktemp("saved-lab")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("JUPYTER_DATA_DIR", str(root / "data"))  # its own notebook-trust database
        lab = JupyterServer(root).start()
    errors: list[str] = []
    seen: dict[str, object] = {"errors": errors}
    try:
        path = lab.root / "work" / "chat.ipynb"
        write_notebook(path, [AGENT, ASK])
        context, page = new_page(browser, errors)
        page.goto(lab.notebook_url(path.name))
        wait_for_kernel(page, lab)
        page.locator(".lm-MenuBar-itemLabel", has_text=re.compile(r"^Run$")).click()
        page.locator(".lm-Menu-itemLabel", has_text=re.compile(r"^Run All Cells$")).click()
        summary = page.locator("summary", has_text=SUMMARY)
        summary.wait_for()  # refreshed at the end of the cell that asked
        page.locator("[role=article][data-status=complete]").nth(1).wait_for()
        details = page.locator("details").filter(has=summary)
        seen["live_open"] = details.evaluate("d => d.open")
        seen["live_height"] = details.bounding_box()["height"]
        seen["live_summary_height"] = summary.bounding_box()["height"]
        seen["live_panels"] = page.locator(".cw-root").count()
        seen["live_xss"] = page.evaluate("window.__xss")
        shot(page.locator(".jp-Cell").first, "saved-live-jupyterlab.png")
        page.locator(".jp-Cell").first.click()  # focus the notebook, then File > Save's shortcut
        page.keyboard.press("Control+s")
        deadline = time.monotonic() + 30
        while "4 messages" not in path.read_text() and time.monotonic() < deadline:
            time.sleep(0.2)
        seen["saved"] = json.loads(path.read_text())
        context.close()
        shut_down_kernels(lab)

        context, page = new_page(browser, errors)
        page.goto(lab.notebook_url(path.name))
        wait_for_kernel(page, lab)
        page.locator("summary", has_text=SUMMARY).wait_for()
        with contextlib.suppress(PlaywrightTimeout):  # JupyterLab's words for a widget whose model is gone
            page.get_by_text("Error displaying widget").first.wait_for(timeout=15_000)
        seen["reopened_panel"] = page.locator(".jp-OutputArea-output").first.inner_text()
        seen["reopened_live_panels"] = page.locator(".cw-root").count()
        seen["reopened_text"] = read_expanded_copy(page, "JupyterLab 4")
        seen["reopened_xss"] = page.evaluate("window.__xss")
        shot(page.locator(".jp-Cell").first, "saved-reopened-jupyterlab.png")
        context.close()
    finally:
        lab.stop()
    seen["path"] = path
    return seen


def test_jupyterlab_saves_the_conversation_and_shows_it_again_without_the_kernel(saved):
    # live: the panel, and under it a single collapsed line, not a second copy of the chat
    assert saved["live_panels"] == 1 and saved["live_open"] is False
    assert saved["live_height"] <= saved["live_summary_height"] + 1 < 60, saved["live_height"]  # the summary only
    # the saved file: the panel's output (widget view and one line of text), then the copy
    outputs = saved["saved"]["cells"][0]["outputs"]
    kinds = [sorted(output.get("data", {})) for output in outputs]
    assert kinds == [["application/vnd.jupyter.widget-view+json", "text/plain"], ["text/html", "text/plain"]]
    copy = outputs[1]["data"]
    html, plain = "".join(copy["text/html"]), "".join(copy["text/plain"])
    assert SUMMARY.fullmatch(plain) and "<img" not in html and "&lt;img src=x onerror=" in html
    assert "widgets" not in saved["saved"]["metadata"]  # JupyterLab's default: no widget state
    # reopened with the kernel gone: the panel cannot render, the copy can, whole and inert
    assert saved["reopened_live_panels"] == 0
    print("the panel's own output, reopened:", saved["reopened_panel"])
    assert_whole_conversation(saved["reopened_text"], "JupyterLab 4")
    assert saved["live_xss"] is None and saved["reopened_xss"] is None
    assert not saved["errors"], saved["errors"]


def test_notebook_7_shows_the_saved_conversation(saved, browser, tmp_path_factory):
    root = tmp_path_factory.mktemp("saved-nb7")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("JUPYTER_DATA_DIR", str(root / "data"))  # untrusted here: rendered through the sanitizer
        server = JupyterServer(root, app="notebook").start()
    errors: list[str] = []
    try:
        (server.root / "work" / "chat.ipynb").write_bytes(saved["path"].read_bytes())
        context, page = new_page(browser, errors)
        page.goto(server.notebook_url("chat.ipynb"))
        wait_for_kernel(page, server)
        text = read_expanded_copy(page, "Notebook 7")
        assert_whole_conversation(text, "Notebook 7")
        assert page.evaluate("window.__xss") is None
        shot(page.locator(".jp-Cell").first, "saved-reopened-notebook7.png")
        context.close()
    finally:
        server.stop()
    assert not [e for e in errors if e.startswith("dialog")], errors
    if errors:  # Notebook 7's own code, with the harness's empty settings folder
        print("Notebook 7 page errors (not from convowidget):", errors)


@pytest.mark.parametrize("sanitize", [False, True], ids=["nbconvert-html", "nbconvert-html-sanitized"])
def test_nbconvert_html_shows_the_conversation_and_runs_nothing(saved, browser, tmp_path, sanitize):
    command = [sys.executable, "-m", "nbconvert", "--to", "html", str(saved["path"]), "--output-dir", str(tmp_path)]
    env = {**os.environ, "JUPYTER_CONFIG_DIR": str(tmp_path / "config")}  # no user config for nbconvert
    subprocess.run([*command, *(["--sanitize-html"] if sanitize else [])], check=True, capture_output=True, env=env)
    exported = tmp_path / "chat.html"
    errors: list[str] = []
    context, page = new_page(browser, errors)
    page.goto(exported.as_uri(), wait_until="domcontentloaded")  # no network: CDN scripts fail, fine
    if sanitize:
        # nbconvert's sanitizer (bleach's short list) keeps neither <details> nor <pre>: it
        # escapes our markup too, so the copy shows open, its text whole, tags and all.
        copy = page.locator(".jp-OutputArea-output").filter(has_text=SUMMARY)
        text = copy.inner_text()
        assert copy.locator("details").count() == 0
    else:
        text = read_expanded_copy(page, exported.name)
    assert_whole_conversation(text, exported.name)
    page.wait_for_timeout(500)
    assert page.evaluate("window.__xss") is None
    selector, what = HOSTILE
    outputs = page.locator(".jp-OutputArea-output")
    assert outputs.count() >= 2 and outputs.locator(selector).count() == 0, f"{what} became elements"
    shot(page, f"saved-{'sanitized-' if sanitize else ''}nbconvert.png")
    context.close()
    assert not [e for e in errors if e.startswith("dialog")], errors
