"""A saved notebook shows the conversation when the kernel is gone, and runs nothing.

With JupyterLab's default settings (widget state is not saved; settings folders isolated
by the harness), a notebook chats with an agent whose replies carry XSS vectors, is
saved and its kernel shut down. Then the saved file is read back in JupyterLab 4,
Notebook 7, and ``jupyter nbconvert --to html`` (plain, and ``--sanitize-html`` as a
GitHub-like renderer does) opened in Chromium: each shows the whole conversation, spread
over several of the copy's outputs under the panel (a summary line, then pages), formatted
where the host keeps the tags, and none runs or builds anything from the vectors.
Screenshots land in test-artifacts/.
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

from convowidget._saved_copy import NEWEST, SLOTS

pytestmark = pytest.mark.browser
TIMEOUT = 60_000  # ms

AGENT = """from convowidget import ChatWidget, serve
VECTORS = '''Hello <img src=x onerror="window.__xss=1"> <script>window.__xss=2</script>
<svg onload="window.__xss=3"><circle r="5"></circle></svg> <iframe src="javascript:window.__xss=4"></iframe>
<a href="javascript:window.__xss=5">raw link</a> [md link](javascript:window.__xss=6) <b onclick="window.__xss=7">b</b>
</pre></details><img src=y onerror="window.__xss=8"> <style>body { display: none }</style>

### A heading

- first item
- second item

```python
print("<b>code</b>")
```

| name | value |
| --- | --- |
| cell | 1 |
'''
def evil(request):
    yield f"Answer to {request.prompt}. "
    yield VECTORS
server = serve(evil, chunk_delay=0).start()
chat = ChatWidget(url=server.url, agent_id="evil")
chat"""
TURNS = 2 * NEWEST + 3  # two gathered pages, then the newest turns an output each
ASK = f"""for prompt in ["first question", 'second <img src=z onerror="window.__xss=9">']:
    chat.ask(prompt)
for turn in range(3, {TURNS + 1}):
    chat.ask(f"question {{turn}}")"""
# Elements and attributes the vectors would build if they ran as markup (a <style> is the copy's own,
# checked apart).
HOSTILE = (
    "img, svg, script, iframe, [onerror], [onload], [onclick], a[href^='javascript' i]",
    "the agent's markup",
)
SUMMARY = re.compile(r"Conversation with Agent evil .* \(a copy for when the kernel is gone\)")
EXPECTED_TEXT = [
    "first question",
    "Answer to first question.",
    'Hello <img src=x onerror="window.__xss=1">',
    "<script>window.__xss=2</script>",
    "[md link](javascript:window.__xss=6)",
    'second <img src=z onerror="window.__xss=9">',
    *[f"Answer to question {turn}." for turn in range(3, TURNS + 1)],
]
# The copy's outputs in the cell that shows the panel: the header (the output with the
# summary), then the pages; what each shows (innerText: nothing for a hidden page) and its height.
COPY_OUTPUTS = """() => {
  const header = [...document.querySelectorAll('.jp-OutputArea-output')].find(
    o => o.textContent.includes('(a copy for when the kernel is gone)'));
  const child = header.closest('.jp-OutputArea-child');
  const outputs = [...child.parentElement.children].slice([...child.parentElement.children].indexOf(child));
  const copy = outputs.map(o => ({text: o.innerText, height: o.getBoundingClientRect().height,
                                   html: (o.querySelector('.jp-OutputArea-output') || o).innerHTML.trim()}));
  return [copy[0], ...copy.slice(1).filter(o => !o.html || o.html.includes('cw-copy-'))];  // not a later stream
}"""


def new_page(browser, errors: list[str]):
    context = browser.new_context(viewport={"width": 1200, "height": 1000})
    page = context.new_page()
    page.set_default_timeout(TIMEOUT)
    page.on("pageerror", lambda exc: errors.append(f"pageerror: {exc} {exc.stack}"))
    page.on("dialog", lambda dialog: (errors.append(f"dialog: {dialog.message}"), dialog.dismiss()))
    return context, page


def copy_outputs(page) -> list[dict]:
    page.locator(".jp-OutputArea-output", has_text=SUMMARY).first.wait_for()
    return page.evaluate(COPY_OUTPUTS)


def assert_empty_outputs_take_no_room(outputs: list[dict], where: str, padding: float = 0) -> None:
    """The copy's unused outputs are flat (but for the ``padding`` a host gives every output)."""
    empty = [output for output in outputs if not output["html"]]
    assert empty and all(output["height"] <= padding for output in empty), f"{where}: {[o['height'] for o in empty]}"


def open_copy(page, where: str) -> str:
    """Open the copy's summary and return the text of all its outputs, after checking nothing hostile is in them."""
    summary = page.locator("summary", has_text=SUMMARY).first
    summary.scroll_into_view_if_needed()
    summary.click()
    assert page.locator("details").filter(has=summary).evaluate("d => d.open"), where
    return read_copy(page, where)


def read_copy(page, where: str) -> str:
    selector, what = HOSTILE
    outputs = page.locator(".jp-OutputArea-output")
    assert outputs.locator(selector).count() == 0, f"{where}: {what} became elements"
    styles = outputs.locator("style").evaluate_all("all => all.map(s => s.textContent)")
    assert all(
        re.fullmatch(r"html:not\(:has\(#cw-copy-\w+\[open\]\)\) \.cw-copy-\w+ \{display: none\}", s) for s in styles
    )
    return "\n".join(output["text"] for output in copy_outputs(page))


def assert_whole_conversation(text: str, where: str) -> None:
    for expected in EXPECTED_TEXT:
        assert expected in text, f"{where}: {expected!r} missing from the saved copy"
    assert text.count("Answer to ") == TURNS, f"{where}: {text.count('Answer to ')} answers, {TURNS} asked"


def assert_formatted(page, where: str) -> None:
    """Headings, lists, code blocks and tables of the agent's markdown show as such."""
    outputs = page.locator(".jp-OutputArea-output")
    for selector in ("h3", "ul > li", "pre > code", "table th", "table td"):
        shown = outputs.locator(selector)
        assert shown.count() >= TURNS and shown.first.is_visible(), f"{where}: no visible {selector}"
    assert outputs.locator("h3", has_text="A heading").first.is_visible(), where


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
        summary.wait_for()
        page.locator("[role=article][data-status=complete]").nth(TURNS - 1).wait_for()
        last = f"Answer to question {TURNS}."
        page.wait_for_function(  # the copy is refreshed at the end of the cell that asked
            "last => [...document.querySelectorAll('[class^=cw-copy-]')].some(e => e.textContent.includes(last))",
            arg=last,
        )
        seen["live_open"] = page.locator("details").filter(has=summary).evaluate("d => d.open")
        seen["live_outputs"] = copy_outputs(page)
        seen["live_panels"] = page.locator(".cw-root").count()
        seen["live_xss"] = page.evaluate("window.__xss")
        shot(page.locator(".jp-Cell").first, "saved-live-jupyterlab.png")
        page.locator(".jp-Cell").first.click()  # focus the notebook, then File > Save's shortcut
        page.keyboard.press("Control+s")
        deadline = time.monotonic() + 30
        while last not in path.read_text() and time.monotonic() < deadline:
            time.sleep(0.2)
        seen["saved"] = json.loads(path.read_text())
        context.close()
        shut_down_kernels(lab)

        context, page = new_page(browser, errors)
        page.goto(lab.notebook_url(path.name))
        wait_for_kernel(page, lab)
        with contextlib.suppress(PlaywrightTimeout):  # JupyterLab's words for a widget whose model is gone
            page.get_by_text("Error displaying widget").first.wait_for(timeout=15_000)
        seen["reopened_panel"] = page.locator(".jp-OutputArea-output").first.inner_text()
        seen["reopened_live_panels"] = page.locator(".cw-root").count()
        seen["reopened_outputs"] = copy_outputs(page)  # before it is opened
        seen["reopened_text"] = open_copy(page, "JupyterLab 4")
        assert_formatted(page, "JupyterLab 4")
        seen["reopened_xss"] = page.evaluate("window.__xss")
        shot(page.locator(".jp-Cell").first, "saved-reopened-jupyterlab.png")
        context.close()
    finally:
        lab.stop()
    seen["path"] = path
    return seen


def assert_one_quiet_line(outputs: list[dict], where: str) -> None:
    """The copy's outputs show the summary line and nothing else: every page hidden, every empty output flat."""
    header, *pages = outputs
    assert len(pages) == SLOTS - 1, f"{where}: {len(pages)} pages"
    assert SUMMARY.fullmatch(header["text"].strip()) and header["height"] < 40, (where, header)
    assert [page["height"] for page in pages] == [0] * len(pages), f"{where}: {[p['height'] for p in pages]}"
    assert not "".join(page["text"] for page in pages).strip(), where


def test_jupyterlab_saves_the_conversation_and_shows_it_again_without_the_kernel(saved):
    # live: the panel, and under it a single collapsed line, not a second copy of the chat
    assert saved["live_panels"] == 1 and saved["live_open"] is False
    assert_one_quiet_line(saved["live_outputs"], "live")
    # the saved file: the panel's output (widget view and one line of text), then the copy's outputs
    outputs = saved["saved"]["cells"][0]["outputs"]
    kinds = [sorted(output.get("data", {})) for output in outputs]
    assert kinds[:2] == [["application/vnd.jupyter.widget-view+json", "text/plain"], ["text/html", "text/plain"]]
    assert kinds[2:] == [["text/html"]] * (SLOTS - 1)
    html = "".join("".join(output["data"]["text/html"]) for output in outputs[1:])
    assert SUMMARY.fullmatch("".join(outputs[1]["data"]["text/plain"]))
    assert "<img" not in html and "&lt;img src=x onerror=" in html
    assert "widgets" not in saved["saved"]["metadata"]  # JupyterLab's default: no widget state
    # reopened with the kernel gone: the panel cannot render; the copy can, one line until
    # opened (JupyterLab trusts the notebook it saved), then whole, formatted and inert
    assert saved["reopened_live_panels"] == 0
    print("the panel's own output, reopened:", saved["reopened_panel"])
    assert_one_quiet_line(saved["reopened_outputs"], "reopened")
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
        # the sanitizer drops the copy's <style>: the pages show under the summary, no click needed
        outputs = copy_outputs(page)
        assert page.locator(".jp-OutputArea-output style").count() == 0
        # Notebook 7 scrolls a long output and then pads every output by 6 px: the unused ones
        # leave a blank at the end of the scrolled box (none when it does not scroll)
        scrolled = page.locator(".jp-CodeCell.jp-mod-outputsScrolled").count() == 1
        assert_empty_outputs_take_no_room(outputs, "Notebook 7", padding=6 if scrolled else 0)
        assert_whole_conversation(read_copy(page, "Notebook 7"), "Notebook 7")
        assert_formatted(page, "Notebook 7")
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
    outputs = page.locator(".jp-OutputArea-output")
    if sanitize:
        # nbconvert's sanitizer (bleach, escaping what it does not keep) shows <details>,
        # <style>, <h3> and <th> as text; paragraphs, lists, code blocks and table cells stay.
        text = read_copy(page, exported.name)
        assert outputs.locator("details").count() == 0 and "<h3>A heading</h3>" in text and "<p>" not in text
        for selector in ("ul > li", "pre > code", "table td"):
            assert outputs.locator(selector).first.is_visible(), f"{exported.name}: no visible {selector}"
    else:
        assert_one_quiet_line(copy_outputs(page), exported.name)
        text = open_copy(page, exported.name)
        assert_formatted(page, exported.name)
    assert_empty_outputs_take_no_room(copy_outputs(page), exported.name)
    assert_whole_conversation(text, exported.name)
    page.wait_for_timeout(500)
    assert page.evaluate("window.__xss") is None
    shot(page, f"saved-{'sanitized-' if sanitize else ''}nbconvert.png")
    context.close()
    assert not [e for e in errors if e.startswith("dialog")], errors
