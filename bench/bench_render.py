"""How the panel holds a long transcript: 1,000 messages rendered and scrolled in Chromium.

Run: .venv/bin/python bench/bench_render.py [--runs 3] [--bundle DIR] [--shot PNG]

A static page (served to Chromium from memory, no network) loads the committed bundle
convowidget/static/widget.js and widget.css with a fake anywidget model whose `transcript`
holds 1,000 finished messages: 500 prompts and 500 replies of mixed markdown (prose, lists,
links, code blocks, tables). It reports, per run:

- first render: from the view's render() call to the first frame painted after it, with
  the newest messages in view (target: under 500 ms);
- settled: until the DOM stops changing (the whole transcript is in the DOM);
- the longest main-thread task while the page settles, and while a script scrolls the log
  from the bottom to the top and back, 300 px a frame (PerformanceObserver 'longtask'
  reports tasks over 50 ms; the longest gap between frames is given too).
  Target: no task over 50 ms while scrolling.

Then a second page shows hostile replies (raw HTML, a <style> named in prose, a fake
JupyterLab dialog, http:/data:/huge https: images, javascript: and protocol-relative links,
a very wide table, and a position:fixed element planted inside a message bubble as if the
sanitizer had failed) and checks that nothing covers the panel's header or input row and
no script ran. `--shot` saves a screenshot of that panel.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from browser_harness import chromium

ROOT = Path(__file__).resolve().parent.parent
ORIGIN = "http://cw-bench.localhost"
IMAGES = "https://img.cw-bench.localhost"

PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>convowidget render bench</title>
<link rel="stylesheet" href="widget.css">
<style>body { margin: 16px; font-family: sans-serif; background: #fff; } #host { width: 760px; }</style>
</head><body><div id="host"></div>
<script type="module">
import widget from './widget.js';

class FakeModel {
  constructor(attrs) { this.attrs = attrs; this.handlers = new Map(); this.sent = []; }
  get(k) { return this.attrs[k]; }
  set(k, v) { this.attrs[k] = v; for (const cb of [...(this.handlers.get('change:' + k) || [])]) cb(this, v); }
  on(n, cb) { if (!this.handlers.has(n)) this.handlers.set(n, []); this.handlers.get(n).push(cb); }
  off(n, cb) { const l = this.handlers.get(n) || []; const i = l.indexOf(cb); if (i >= 0) l.splice(i, 1); }
  send(m) { this.sent.push(m); }
}

window.__longtasks = [];
new PerformanceObserver((list) => {
  for (const e of list.getEntries()) window.__longtasks.push({ start: e.startTime, duration: e.duration });
}).observe({ type: 'longtask', buffered: true });

const frame = () => new Promise((r) => requestAnimationFrame(() => r(performance.now())));
const painted = () => new Promise((r) => requestAnimationFrame(() => setTimeout(r, 0)));

/** Mount the panel on `transcript`; resolves with timings once the DOM is quiet. */
window.__mount = async (transcript) => {
  const model = new FakeModel({
    _panel_id: 'bench', agent_label: 'Bench agent', is_demo: false, status: 'idle', error: '',
    transcript, pending: {}, stream: {},
  });
  const host = document.getElementById('host');
  let last = performance.now();
  new MutationObserver(() => { last = performance.now(); })
    .observe(host, { subtree: true, childList: true, characterData: true, attributes: true });
  await painted();
  const t0 = performance.now();
  widget.initialize({ model });
  widget.render({ model, el: host });
  await painted();
  const first = performance.now() - t0;
  // Settled: 30 frames in a row without a DOM change.
  let quiet = 0;
  while (quiet < 30) {
    const before = last;
    await frame();
    quiet = last === before ? quiet + 1 : 0;
  }
  return { first, settled: last - t0, end: performance.now() };
};

/** Scroll the log bottom -> top -> bottom, `step` px a frame; resolves with the longest frame gap. */
window.__scroll = async (step) => {
  const log = document.querySelector('.cw-log');
  let prev = await frame();
  let gap = 0;
  const tick = async () => { const t = await frame(); gap = Math.max(gap, t - prev); prev = t; };
  const start = performance.now();
  // The reader's wheel, as a browser reports it: the log stops following the newest text.
  log.dispatchEvent(new WheelEvent('wheel', { deltaY: -step, bubbles: true }));
  while (log.scrollTop > 0) { log.scrollTop = Math.max(0, log.scrollTop - step); await tick(); }
  for (;;) {
    const max = log.scrollHeight - log.clientHeight;
    if (log.scrollTop >= max - 1) break;
    log.scrollTop = Math.min(max, log.scrollTop + step);
    await tick();
  }
  for (let i = 0; i < 10; i++) await tick();
  return { start, gap, height: log.scrollHeight };
};
window.__ready = true;
</script></body></html>
"""

SENTENCE = "the agent streams replies into the panel while the kernel keeps working and every message stays "
SENTENCE += "readable with code tables lists and links rendered as markdown inside a notebook cell"
WORDS = SENTENCE.split(" ")


def _prose(rng: random.Random, sentences: int) -> str:
    out = []
    for _ in range(sentences):
        words = [rng.choice(WORDS) for _ in range(rng.randint(8, 18))]
        if rng.random() < 0.3:
            words[rng.randrange(len(words))] = f"**{rng.choice(WORDS)}**"
        if rng.random() < 0.3:
            words[rng.randrange(len(words))] = f"`{rng.choice(WORDS)}()`"
        out.append(" ".join(words).capitalize() + ".")
    return " ".join(out)


def _code(rng: random.Random, lang: str) -> str:
    lines = [f"def step_{i}(x):\n    return x * {rng.randint(2, 9)} + {i}" for i in range(rng.randint(4, 10))]
    return f"```{lang}\n" + "\n".join(lines) + "\n```"


def _table(rng: random.Random) -> str:
    head = "| name | value | unit | note |\n|---|---:|---|---|"
    rows = [
        f"| item {i} | {rng.randint(1, 9999)} | ms | {' '.join(rng.choice(WORDS) for _ in range(4))} |"
        for i in range(rng.randint(4, 8))
    ]
    return head + "\n" + "\n".join(rows)


def _reply(rng: random.Random, i: int) -> str:
    kind = i % 4
    parts = [_prose(rng, 2)]
    if kind == 0:
        parts.append("\n".join(f"- {_prose(rng, 1)}" for _ in range(rng.randint(3, 6))))
        parts.append(f"See [the docs](https://example.com/docs/{i}) for more.")
    elif kind == 1:
        parts.insert(0, f"## Step {i}")
        parts.append(_code(rng, "python"))
    elif kind == 2:
        parts.append(_table(rng))
    else:
        parts.append("\n".join(f"{n}. {_prose(rng, 1)}" for n in range(1, rng.randint(3, 5))))
        parts.append("> " + _prose(rng, 1))
        parts.append(_code(rng, "js"))
    parts.append(_prose(rng, rng.randint(1, 3)))
    return "\n\n".join(parts)


def transcript(n: int = 1000) -> list[dict[str, Any]]:
    """`n` finished messages, prompts and replies alternating (seeded, so every run is the same)."""
    rng = random.Random(7)
    out: list[dict[str, Any]] = []
    for i in range(n // 2):
        out.append({"id": f"u{i}", "role": "user", "text": f"Question {i}: {_prose(rng, 1)}"})
        out.append(_assistant(f"a{i}", _reply(rng, i)))
    return out


def _assistant(mid: str, text: str, **extra: Any) -> dict[str, Any]:
    message = {"id": mid, "role": "assistant", "text": text, "status": "complete", "error": None}
    message.update({"sources": [], "handoff": False, "blocks": [], "prompt_id": "p", **extra})
    return message


WIDE_TABLE = "| " + " | ".join(f"column{i}" for i in range(30)) + " |\n" + "|---" * 30 + "|\n"
WIDE_TABLE += "| " + " | ".join("x" * 12 for _ in range(30)) + " |"
DIALOG = '<div class="jp-Dialog-content lm-Menu" id="cw-fake" style="position:fixed;inset:0">a fake dialog</div>'
HOSTILE = f"""Put CSS inside a <style> element.

Next paragraph, and {DIALOG}

<script>window.__xss = 1</script> <img src=x onerror="window.__xss = 2"> [js link](javascript:window.__xss=3)

![plain http image](http://example.com/a.png) ![data image](data:image/png;base64,AAAA)
[protocol-relative](//example.com/path)

![huge https image]({IMAGES}/huge.svg)

{WIDE_TABLE}
"""
HOSTILE_BLOCKS = [
    {"kind": "text", "text": "Blocks: an https image, an http image and a data: image."},
    {"kind": "image", "url": f"{IMAGES}/huge.svg", "alt": "huge block image"},
    {"kind": "image", "url": "http://example.com/b.png", "alt": "http block image"},
    {"kind": "image", "url": "data:image/svg+xml;base64,PHN2Zy8+", "alt": "data block image"},
    {
        "kind": "card",
        "title": "A card",
        "text": "Its image is http:",
        "image": "http://example.com/c.png",
        "buttons": [
            {"label": "Docs", "url": "//example.com/docs"},
            {"label": "Bad", "url": "javascript:window.__xss=5"},
        ],
    },
]
HUGE_SVG = (
    '<svg xmlns="http://www.w3.org/2000/svg" width="6000" height="6000" viewBox="0 0 6000 6000">'
    '<rect width="6000" height="6000" fill="#c62828"/></svg>'
)

CHECK = """() => {
  const root = document.querySelector('.cw-root');
  // As if the sanitizer had failed: a full-window fixed element inside a reply bubble.
  const bubble = document.querySelector('[data-id="h1"] .cw-bubble');
  const planted = document.createElement('div');
  planted.id = 'planted';
  planted.style.cssText = 'position:fixed;inset:0;z-index:2147483647;background:rgba(0,128,0,.4)';
  bubble.append(planted);
  // Points over the header and the input row (and beside the panel) must hit the
  // panel's own controls (or the page), never anything inside the transcript.
  const covered = [];
  const probe = (what, x, y, own) => {
    const hit = document.elementFromPoint(x, y);
    if (!hit || hit.closest('.cw-log') || (own && !own.contains(hit))) {
      const name = hit ? `${hit.tagName}#${hit.id}.${hit.className}` : 'nothing';
      covered.push(`${what} at ${Math.round(x)},${Math.round(y)}: ${name}`);
    }
  };
  for (const sel of ['.cw-header', '.cw-input-row']) {
    const el = root.querySelector(sel);
    const r = el.getBoundingClientRect();
    for (const fx of [0.02, 0.25, 0.5, 0.75, 0.98]) {
      for (const fy of [0.1, 0.5, 0.9]) probe(sel, r.left + r.width * fx, r.top + r.height * fy, el);
    }
  }
  const panel = root.getBoundingClientRect();
  for (const fy of [0.1, 0.5, 0.9]) {
    probe('the page beside the panel', panel.right + 40, panel.top + panel.height * fy, null);
  }
  planted.remove();
  const md = document.querySelector('[data-id="h1"] .cw-md');
  return {
    covered,
    xss: window.__xss ?? null,
    agentClasses: [...document.querySelectorAll('.cw-log [class]')].flatMap((n) => [...n.classList])
      .filter((c) => !c.startsWith('cw-') && !c.startsWith('language-')),
    styled: document.querySelectorAll('.cw-log [style], .cw-log style, .cw-log script, #cw-fake').length,
    images: [...document.querySelectorAll('.cw-log img')]
      .map((i) => [i.getAttribute('src'), i.loading, i.referrerPolicy]),
    links: [...document.querySelectorAll('.cw-log a')].map((a) => a.getAttribute('href')),
    text: md ? md.innerText : '',
  };
}"""


def _serve(page: Any, bundle: Path) -> None:
    files = {
        "/index.html": (PAGE.encode(), "text/html"),
        "/widget.js": ((bundle / "widget.js").read_bytes(), "text/javascript"),
        "/widget.css": ((bundle / "widget.css").read_bytes(), "text/css"),
    }

    def local(route: Any) -> None:
        path = "/" + route.request.url.split("/", 3)[3].split("?")[0]
        body, kind = files.get(path, (b"", "text/plain"))
        route.fulfill(status=200 if body else 404, body=body, content_type=kind)

    page.route(f"{ORIGIN}/**", local)
    page.route(f"{IMAGES}/**", lambda route: route.fulfill(body=HUGE_SVG, content_type="image/svg+xml"))
    # Nothing else leaves the page (the http: image must not load at all).
    page.route(lambda url: not url.startswith((ORIGIN, IMAGES)), lambda route: route.abort())


def _open(browser: Any, bundle: Path) -> Any:
    page = browser.new_page(viewport={"width": 1000, "height": 900})
    page.set_default_timeout(120_000)
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.errors = errors
    _serve(page, bundle)
    page.goto(f"{ORIGIN}/index.html")
    page.wait_for_function("window.__ready === true")
    return page


def measure(browser: Any, bundle: Path, messages: list[dict[str, Any]]) -> dict[str, float]:
    """One fresh page: first render, settle time, longest tasks while settling and scrolling."""
    page = _open(browser, bundle)
    mounted = page.evaluate("m => window.__mount(m)", messages)
    scrolled = page.evaluate("step => window.__scroll(step)", 300)
    tasks = page.evaluate("window.__longtasks")
    # Off-screen messages may be skipped by the browser, but their text is there.
    complete = page.evaluate(
        "() => { const log = document.querySelector('.cw-log');"
        " return log.querySelectorAll('article').length === 1000 && log.innerText.includes('Question 0:'); }"
    )
    if page.errors:
        raise RuntimeError(f"page errors: {page.errors}")
    page.close()
    settle = [t["duration"] for t in tasks if t["start"] < scrolled["start"]]
    scroll = [t["duration"] for t in tasks if t["start"] >= scrolled["start"]]
    return {
        "first": mounted["first"],
        "settled": mounted["settled"],
        "settle_task": max(settle, default=0.0),
        "scroll_task": max(scroll, default=0.0),
        "scroll_tasks": float(len(scroll)),
        "scroll_gap": scrolled["gap"],
        "height": scrolled["height"],
        "complete": float(complete),
    }


def hostile(browser: Any, bundle: Path, shot: Path | None) -> dict[str, Any]:
    """The hostile replies on a fresh page: containment and sanitising checks (and a screenshot)."""
    page = _open(browser, bundle)
    messages = [
        {"id": "u0", "role": "user", "text": "Show me some markup <b>please</b>"},
        _assistant(
            "h1",
            HOSTILE,
            sources=[
                "https://example.com/src",
                "http://example.com/plain",
                "javascript:window.__xss=4",
                "//example.com/x",
            ],
        ),
        {"id": "u1", "role": "user", "text": "And blocks?"},
        _assistant("h2", "", blocks=HOSTILE_BLOCKS),
    ]
    page.evaluate("m => window.__mount(m)", messages)
    page.wait_for_timeout(300)
    result: dict[str, Any] = page.evaluate(CHECK)
    if shot is not None:  # the reply's start and end, then the blocks reply's start and end
        for i, (mid, block) in enumerate([("h1", "start"), ("h1", "end"), ("h2", "start"), ("h2", "end")]):
            page.evaluate(f"document.querySelector('[data-id=\"{mid}\"]').scrollIntoView({{block: '{block}'}})")
            page.wait_for_timeout(200)
            path = shot if i == 0 else shot.with_name(f"{shot.stem}-{i + 1}{shot.suffix}")
            page.locator(".cw-root").screenshot(path=str(path))
    result["errors"] = page.errors
    page.close()
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--bundle", type=Path, default=ROOT / "convowidget" / "static", help="folder of widget.js/.css")
    parser.add_argument("--shot", type=Path, default=None, help="save a screenshot of the hostile replies here")
    args = parser.parse_args()
    messages = transcript()
    size = sum(len(m["text"]) for m in messages)
    print(f"convowidget render benchmark: {len(messages):,} messages ({size:,} characters), bundle {args.bundle}")
    with chromium() as browser:
        runs = [measure(browser, args.bundle, messages) for _ in range(args.runs)]
        for i, r in enumerate(runs, 1):
            print(
                f"   run {i}: first render {r['first']:.0f} ms, settled {r['settled']:.0f} ms "
                f"(longest task {r['settle_task']:.0f} ms); scroll through {r['height']:,.0f} px: "
                f"{r['scroll_tasks']:.0f} long tasks, longest {r['scroll_task']:.0f} ms, "
                f"longest frame gap {r['scroll_gap']:.0f} ms; all text in innerText: {bool(r['complete'])}"
            )
        first = statistics.median(r["first"] for r in runs)
        scroll = max(r["scroll_task"] for r in runs)
        print(
            f"   first render median {first:.0f} ms (target < 500 ms: {'met' if first < 500 else 'MISSED'}); "
            f"longest task while scrolling {scroll:.0f} ms (target <= 50 ms: {'met' if scroll <= 50 else 'MISSED'})"
        )
        checks = hostile(browser, args.bundle, args.shot)
    print("hostile replies:")
    print(f"   panel controls covered: {checks['covered'] or 'none'}; scripts run: {checks['xss'] or 'none'}")
    print(f"   agent classes in the DOM: {checks['agentClasses'] or 'none'}; style/script/fake-dialog elements: "
          f"{checks['styled']}")  # fmt: skip
    print(f"   images: {json.dumps(checks['images'])}")
    print(f"   links: {json.dumps(checks['links'])}")
    print(f"   page errors: {checks['errors'] or 'none'}")
    if args.shot:
        print(f"   screenshot: {args.shot}")


if __name__ == "__main__":
    main()
