"""The results view in real Chromium: as a standalone page, and in JupyterLab."""

from __future__ import annotations

import re

import pytest
from suite_helpers import HOSTILE

# ---------------------------------------------------------------------- the results view in Chromium


@pytest.mark.browser
def test_the_results_view_page_in_chromium(hostile_result, tmp_path):
    from browser_harness import ARTIFACTS, chromium

    path = tmp_path / "results.html"
    hostile_result.to_html(path)
    with chromium() as browser:
        page = browser.new_page(viewport={"width": 1100, "height": 800})
        dialogs: list[str] = []
        page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
        page.goto(path.as_uri())
        rows = page.locator("details.cwr-row")
        assert rows.count() == 2
        failing = rows.nth(0)  # failing first
        assert "<b>hostile</b>" in failing.locator("summary").inner_text()
        assert not failing.locator(".cwr-convo").is_visible()
        failing.locator("summary").click()
        assert failing.locator(".cwr-convo").is_visible()
        assert "<script>window.__pwned = 1</script>" in failing.locator(".cwr-agent").first.inner_text()
        failure = failing.locator("ul.cwr-failures li").first
        assert failure.inner_text() == "✗ expected the reply to contain 'nothing'"
        assert failure.evaluate("e => getComputedStyle(e).color") == "rgb(207, 34, 46)"
        assert page.locator("svg.cwr-chart rect").count() >= 1
        assert page.evaluate("typeof window.__pwned") == "undefined" and not dialogs
        # laid out like the panel: the prompt in a bubble on the right, the reply on the left
        chat = failing.locator("ol.cwr-chat").first.bounding_box()
        you = failing.locator(".cwr-you .cwr-bubble").first.bounding_box()
        agent = failing.locator(".cwr-agent").first.bounding_box()
        assert chat["x"] + chat["width"] - (you["x"] + you["width"]) < 20 < you["x"] - chat["x"]
        assert agent["x"] - chat["x"] < 20 < chat["x"] + chat["width"] - (agent["x"] + agent["width"])
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "results-view-page.png"), full_page=True)
        # a reader who prefers dark gets a dark conversation and a red that reads on it
        page.emulate_media(color_scheme="dark")
        assert failing.locator("ol.cwr-chat").first.evaluate("e => getComputedStyle(e).backgroundColor") == (
            "rgb(22, 27, 34)"
        )
        assert failure.evaluate("e => getComputedStyle(e).color") == "rgb(255, 123, 114)"
        page.screenshot(path=str(ARTIFACTS / "results-view-page-dark.png"), full_page=True)
        page.close()


@pytest.mark.browser
def test_the_results_view_in_jupyterlab(tmp_path):
    from browser_harness import ARTIFACTS, JupyterServer, chromium, write_notebook

    cells = [
        "from convowidget import ConvoClient, serve\n"
        "from convowidget.suite import Scenario, Suite, Turn, run_suite\n"
        f"HOSTILE = {HOSTILE!r}\n"
        "server = serve(lambda r: HOSTILE if 'bad' in r.prompt else 'fine', chunk_delay=0).start()\n"
        "client = ConvoClient(url=server.url, agent_id='a')\n"
        "hostile = Scenario('hostile', [Turn('bad', expect={'contains': 'nothing'})])\n"
        "suite = Suite([Scenario('fine', ['hello']), hostile])\n"
        "result = run_suite(client, suite, progress=False)\n"
        "result"
    ]
    lab = JupyterServer(tmp_path).start()
    try:
        write_notebook(lab.root / "work" / "results.ipynb", cells)
        with chromium() as browser:
            page = browser.new_page(viewport={"width": 1200, "height": 900})
            page.set_default_timeout(60_000)
            dialogs: list[str] = []
            page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
            page.goto(lab.notebook_url("results.ipynb"))
            page.locator(".jp-StatusBar-TextItem", has_text="Idle").first.wait_for()
            page.locator(".lm-MenuBar-itemLabel", has_text=re.compile(r"^Run$")).click()
            page.locator(".lm-Menu-itemLabel", has_text=re.compile(r"^Run All Cells$")).click()
            view = page.locator(".jp-OutputArea-output .cwr-results")
            view.wait_for()
            assert "1 passed" in view.locator(".cwr-summary").inner_text()
            failing = view.locator("details.cwr-row").first
            failing.locator("summary").click()
            assert "<script>window.__pwned = 1</script>" in failing.locator(".cwr-agent").inner_text()
            assert failing.locator("ul.cwr-failures li").inner_text() == "✗ expected the reply to contain 'nothing'"
            assert view.locator("svg.cwr-chart").is_visible()
            assert page.evaluate("typeof window.__pwned") == "undefined" and not dialogs
            ARTIFACTS.mkdir(exist_ok=True)
            view.screenshot(path=str(ARTIFACTS / "results-view-jupyterlab.png"))
    finally:
        lab.stop()
