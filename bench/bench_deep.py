"""Hostile markdown in the panel: deep nesting, huge replies, many links, wide tables.

Run: .venv/bin/python bench/bench_deep.py [--before REF] [--only NAME]

Each case is shown on a fresh static page in Chromium (the page of bench_render.py), once
as a finished reply in a saved transcript and once streamed into the panel (one delta a
frame), with the bundle committed at REF (default: main) and the bundle in
convowidget/static side by side. Per case and bundle it reports: the time until the DOM is
quiet, the longest main-thread task and the sum of long tasks (PerformanceObserver
'longtask', over 50 ms), page errors (a RangeError is the stack overflowing), whether the
reply's last word is on screen, and whether the tab crashed.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_render import ORIGIN, PAGE, _assistant
from browser_harness import chromium

ROOT = Path(__file__).resolve().parent.parent
END = "ENDWORD"

# Stream `text` into a fresh panel in `n` deltas, one a frame; resolves once the DOM is
# quiet, or gives up sending after a minute (and waiting for quiet after two).
STREAM = """
const LIMIT = 60_000; // ms: a case that takes longer is given up (and says so)
window.__stream = async ([text, n]) => {
  const model = new FakeModel({
    _panel_id: 'bench', agent_label: 'Bench agent', is_demo: false, status: 'idle', error: '',
    transcript: [], pending: {}, stream: {},
  });
  const host = document.getElementById('host');
  let last = performance.now();
  new MutationObserver(() => { last = performance.now(); })
    .observe(host, { subtree: true, childList: true, characterData: true, attributes: true });
  widget.initialize({ model });
  widget.render({ model, el: host });
  await painted();
  const t0 = performance.now();
  model.set('pending', { user: { id: 'u0', role: 'user', text: 'go' }, assistant_id: 'a0' });
  const step = Math.ceil(text.length / n);
  let sent = 0;
  for (; sent < text.length && performance.now() - t0 < LIMIT; sent += step) {
    model.set('stream', { id: 'a0', offset: sent, text: text.slice(sent, sent + step) });
    await frame();
  }
  let quiet = 0;
  while (quiet < 30 && performance.now() - t0 < 2 * LIMIT) {
    const before = last;
    await frame();
    quiet = last === before ? quiet + 1 : 0;
  }
  return { settled: last - t0, start: t0, gaveUp: sent < text.length || quiet < 30 };
};
"""


def cases() -> dict[str, str]:
    """The hostile replies, each ending in END (which must be on screen)."""
    return {
        "quote 5,000 deep (one line)": ">" * 5000 + f" {END}",
        "list 5,000 deep (one line)": "- " * 5000 + END,
        "quote 1,500 deep (a line a level)": "\n".join(">" * i + " q" for i in range(1, 1501)) + f" {END}",
        "list 1,500 deep (indented)": "\n".join("  " * i + "- x" for i in range(1500)) + f" {END}",
        "quotes ever deeper, 12.5 MB": "\n".join(">" * i for i in range(1, 5000)) + f"\n\n{END}",
        "emphasis 5,000 deep": "_a " * 5000 + END + "_" * 5000,
        "20,000 links": " ".join(f"[l{i}](https://example.com/{i})" for i in range(20000)) + f" {END}",
        "table 5,000 columns": "|"
        + "a|" * 5000
        + "\n|"
        + "-|" * 5000
        + "\n"
        + ("|" + "b|" * 5000 + "\n") * 3
        + f"\n{END}",
    }


def _page(browser: Any, bundle: Path) -> Any:
    page = browser.new_page(viewport={"width": 1000, "height": 900})
    page.set_default_timeout(180_000)
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc).split("\n")[0][:80]))
    page.errors = errors
    html = PAGE.replace("window.__ready = true;", STREAM + "window.__ready = true;")
    files = {
        "/index.html": (html.encode(), "text/html"),
        "/widget.js": ((bundle / "widget.js").read_bytes(), "text/javascript"),
        "/widget.css": ((bundle / "widget.css").read_bytes(), "text/css"),
    }

    def local(route: Any) -> None:
        body, kind = files.get("/" + route.request.url.split("/", 3)[3].split("?")[0], (b"", "text/plain"))
        route.fulfill(status=200 if body else 404, body=body, content_type=kind)

    page.route(f"{ORIGIN}/**", local)
    page.route(lambda url: not url.startswith(ORIGIN), lambda route: route.abort())
    page.goto(f"{ORIGIN}/index.html")
    page.wait_for_function("window.__ready === true")
    return page


def run(browser: Any, bundle: Path, text: str, streamed: bool) -> str:
    """One case on a fresh page: a line of figures."""
    page = _page(browser, bundle)
    try:
        if streamed:
            timing = page.evaluate("a => window.__stream(a)", [text, 60])
        else:
            timing = page.evaluate("m => window.__mount(m)", [{"id": "u0", "role": "user", "text": "go"},
                                                               _assistant("a0", text)])  # fmt: skip
        tasks = page.evaluate("window.__longtasks")
        seen = page.evaluate(f"() => document.querySelector('[data-id=a0]')?.innerText.includes('{END}') ?? false")
    except Exception as exc:  # a crashed tab or one that never answers
        return f"FAILED: {str(exc).splitlines()[0][:70]}"
    finally:
        page.close()
    long = [t["duration"] for t in tasks]
    errors = "; ".join(sorted(set(page.errors))) or "none"
    gave_up = " (GAVE UP: not done after 60 s)" if timing.get("gaveUp") else ""
    return (
        f"quiet after {timing['settled']:7.0f} ms, longest task {max(long, default=0):5.0f} ms, "
        f"long tasks {sum(long):6.0f} ms; last word shown: {'yes' if seen else 'NO '}; errors: {errors}{gave_up}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--before", default="main", help="git ref whose committed bundle is 'before'")
    parser.add_argument("--only", default="", help="run only the cases whose name contains this")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, chromium() as browser:
        before = Path(tmp)
        for name in ("widget.js", "widget.css"):
            blob = subprocess.run(["git", "show", f"{args.before}:convowidget/static/{name}"], cwd=ROOT,
                                  check=True, capture_output=True).stdout  # fmt: skip
            (before / name).write_bytes(blob)
        after = Path(tmp) / "after"  # copied: a rebuild while this runs changes nothing
        shutil.copytree(ROOT / "convowidget" / "static", after)
        bundles = {f"before ({args.before})": before, "after (this tree)": after}
        for name, text in cases().items():
            if args.only not in name:
                continue
            print(f"{name} ({len(text):,} characters):")
            for streamed in (False, True):
                for label, bundle in bundles.items():
                    how = "streamed" if streamed else "saved   "
                    print(f"   {how} {label:18}: {run(browser, bundle, text, streamed)}", flush=True)


if __name__ == "__main__":
    main()
