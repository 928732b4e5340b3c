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
        "result",
        "other = serve(lambda r: HOSTILE if 'bad' in r.prompt else 'fine, thanks', chunk_delay=0).start()\n"
        "clients = {'A': client, 'B': ConvoClient(url=other.url, agent_id='b')}\n"
        "both = run_suite(suite, clients=clients, progress=False)\n"
        "both.compare()",
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
            view = page.locator(".jp-OutputArea-output .cwr-results").first
            view.wait_for()
            assert "1 passed" in view.locator(".cwr-summary").inner_text()
            failing = view.locator("details.cwr-row").first
            failing.locator("summary").click()
            assert "<script>window.__pwned = 1</script>" in failing.locator(".cwr-agent").inner_text()
            assert failing.locator("ul.cwr-failures li").inner_text() == "✗ expected the reply to contain 'nothing'"
            assert view.locator("svg.cwr-chart").is_visible()
            # "Expand all" opens every row without a script, in JupyterLab too
            passing = view.locator("details.cwr-row").nth(1)
            assert not passing.locator(".cwr-convo").is_visible()
            view.locator(".cwr-expand input").check()
            assert passing.locator(".cwr-convo").is_visible()
            # every column fits the notebook's output width: nothing runs off the right edge
            wide = view.locator(".cwr-grid").evaluate_all(
                "grids => grids.filter(g => g.scrollWidth > g.clientWidth + 1).map(g => g.textContent)"
            )
            assert not wide, wide
            ARTIFACTS.mkdir(exist_ok=True)
            view.screenshot(path=str(ARTIFACTS / "results-view-jupyterlab.png"))
            # the comparison: "Only differences" is on, and unticking it shows what came out the same
            compare = page.locator(".jp-OutputArea-output .cwr-compare")
            compare.wait_for()
            same = compare.locator(".cwr-cmp-scenario", has_text="hostile")
            changed = compare.locator(".cwr-cmp-scenario", has_text="fine")
            assert changed.first.is_visible() and not same.is_visible()
            assert changed.first.locator("ins").first.inner_text() == "fine, thanks"
            compare.locator(".cwr-only input").uncheck()
            assert same.is_visible()
            assert page.evaluate("typeof window.__pwned") == "undefined" and not dialogs
            compare.screenshot(path=str(ARTIFACTS / "compare-view-jupyterlab.png"))
            # JupyterLab Dark: both views take the theme's colours, and the marks still show
            light = view.evaluate("e => getComputedStyle(e).color")
            page.locator(".lm-MenuBar-itemLabel", has_text="Settings").click()
            page.locator(".lm-Menu-itemLabel", has_text=re.compile(r"^Theme$")).hover()
            page.locator(".lm-Menu-itemLabel", has_text=re.compile(r"^JupyterLab Dark$")).click()
            page.wait_for_function("document.body.dataset.jpThemeLight === 'false'")
            page.wait_for_function(f"getComputedStyle(document.querySelector('.cwr-results')).color !== {light!r}")
            for part in (view, compare):
                assert _luminance(part.evaluate("e => getComputedStyle(e).color")) > 0.5
            mark = changed.first.locator("ins").first.evaluate("e => getComputedStyle(e).backgroundColor")
            assert mark not in ("rgba(0, 0, 0, 0)", "")
            view.screenshot(path=str(ARTIFACTS / "results-view-jupyterlab-dark.png"))
            compare.screenshot(path=str(ARTIFACTS / "compare-view-jupyterlab-dark.png"))
    finally:
        lab.stop()


@pytest.mark.browser
def test_the_results_view_reads_well_in_light_and_dark(hostile_result, tmp_path):
    """Issue 13 item 10: labels of 12 px that never overlap, 0 failed not red, Expand all without a script."""
    from browser_harness import ARTIFACTS, chromium

    passing = type(hostile_result)("all good", [run for run in hostile_result.runs if run.status == "passed"])
    with chromium() as browser:
        for scheme in ("light", "dark"):
            page = browser.new_page(viewport={"width": 1100, "height": 800})
            page.emulate_media(color_scheme=scheme)
            page.goto(_page(tmp_path, f"results-{scheme}.html", hostile_result.to_html()))
            sizes = page.locator("svg.cwr-chart text").evaluate_all(
                "texts => texts.map(t => parseFloat(getComputedStyle(t).fontSize))"
            )
            assert sizes and min(sizes) >= 12, sizes
            boxes = page.locator("svg.cwr-chart text").evaluate_all(
                "texts => texts.map(t => t.getBoundingClientRect()).map(b => [b.left, b.top, b.right, b.bottom])"
            )
            overlaps = [(a, b) for i, a in enumerate(boxes) for b in boxes[i + 1 :] if _overlap(a, b)]
            assert not overlaps, overlaps
            # the runs column holds "2/2 · 100%" and "CI 34%–100%" whole, not cut to "CI 34%–10…"
            cut = page.locator("summary .cwr-grid").evaluate_all(
                "grids => grids.map(g => g.querySelectorAll('.cwr-cell')[2])"
                ".flatMap(c => [c, ...c.querySelectorAll('.cwr-line')])"
                ".filter(e => e.scrollWidth > e.clientWidth).map(e => e.textContent)"
            )
            assert not cut, cut
            rows = page.locator("details.cwr-row")
            assert [rows.nth(i).locator(".cwr-convo").is_visible() for i in range(2)] == [False, False]
            page.get_by_label("Expand all").check()
            assert [rows.nth(i).locator(".cwr-convo").is_visible() for i in range(2)] == [True, True]
            page.screenshot(path=str(ARTIFACTS / f"results-view-expanded-{scheme}.png"), full_page=True)
            page.get_by_label("Expand all").uncheck()
            assert not rows.nth(1).locator(".cwr-convo").is_visible()
            # no failure, no red: "0 failed" reads in the muted colour
            page.goto(_page(tmp_path, f"passing-{scheme}.html", passing.to_html()))
            zero = page.locator(".cwr-summary span", has_text="0 failed")
            red = page.locator(".cwr-summary").evaluate("e => getComputedStyle(e).getPropertyValue('--cwr-error')")
            assert zero.evaluate("e => getComputedStyle(e).color") not in ("rgb(207, 34, 46)", "rgb(255, 123, 114)"), (
                red
            )
            page.close()


@pytest.mark.browser
def test_the_compare_view_hides_what_is_the_same_until_asked(tmp_path):
    from browser_harness import ARTIFACTS, chromium

    from convowidget import ConvoClient, run_suite, serve
    from convowidget.suite import Scenario, Suite

    suite = Suite([Scenario("same", ["hello"]), Scenario("changed", ["price?", "hello"])])
    with (
        serve(lambda r: "hi" if r.prompt == "hello" else "$29 a month", chunk_delay=0) as a,
        serve(lambda r: "hi" if r.prompt == "hello" else f"$35 a month {HOSTILE}", chunk_delay=0) as b,
    ):
        clients = {"A": ConvoClient(url=a.url, agent_id="a"), "B": ConvoClient(url=b.url, agent_id="b")}
        both = run_suite(suite, clients=clients, progress=False)
    dialogs: list[str] = []
    with chromium() as browser:
        for scheme in ("light", "dark"):
            page = browser.new_page(viewport={"width": 1100, "height": 800})
            page.emulate_media(color_scheme=scheme)
            page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
            page.goto(_page(tmp_path, f"compare-{scheme}.html", both.to_html()))
            scenarios = page.locator(".cwr-cmp-scenario")
            turns = scenarios.nth(1).locator("tr.cwr-cmp-turn")
            assert page.get_by_label("Only differences").is_checked()
            assert [scenarios.nth(i).is_visible() for i in range(2)] == [False, True]  # "same" is hidden
            assert [turns.nth(i).is_visible() for i in range(2)] == [True, False]  # the second turn is the same
            deleted, inserted = turns.first.locator("del").first, turns.first.locator("ins").first
            assert (deleted.inner_text(), inserted.inner_text()) == ("$29", "$35")
            for mark in (deleted, inserted):
                assert mark.evaluate("e => getComputedStyle(e).backgroundColor") not in ("rgba(0, 0, 0, 0)", "")
            assert page.evaluate("typeof window.__pwned") == "undefined" and not dialogs
            page.screenshot(path=str(ARTIFACTS / f"compare-view-{scheme}.png"), full_page=True)
            page.get_by_label("Only differences").uncheck()
            assert [scenarios.nth(i).is_visible() for i in range(2)] == [True, True]
            assert turns.nth(1).is_visible()
            page.close()


def _page(folder, name: str, text: str) -> str:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path.as_uri()


def _overlap(a: list[float], b: list[float]) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def _luminance(css: str) -> float:
    """Relative brightness, 0 to 1, of a computed ``rgb(...)`` colour."""
    red, green, blue = (int(part) for part in re.findall(r"\d+", css)[:3])
    return (0.2126 * red + 0.7152 * green + 0.0722 * blue) / 255
