"""What streaming a long reply costs the notebook: wire bytes, messages, browser latency.

Run: .venv/bin/python bench/bench_widget.py   (needs Debian's chromium, as `make test` installs)

1. With a recording comm standing in for the browser: the bytes and messages ChatWidget
   sends for a 100,000-character reply in 10,000 chunks, against the reply's size, at
   two chunk rates. Budget: <= 2.5x the reply + 20 KB, <= 60 messages a second.
2. In JupyterLab in Chromium: from the moment the kernel hands the last word to its comm
   to the moment it is in the panel's DOM, and the longest main-thread task
   (PerformanceObserver 'longtask') while the reply streams, observed from one second
   after the panel appeared (loading the bundle is a one-off at notebook load). Targets:
   <= 100 ms, <= 50 ms.
"""

from __future__ import annotations

import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import comm
from comm.base_comm import BaseComm

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from browser_harness import JupyterServer, chromium, main_thread_tasks, write_notebook

from convowidget import ChatWidget, ConvoClient, serve

REPLY_CHUNKS, PIECE = 10_000, "abcdefghi "
ROUNDS = 5


class RecordingComm(BaseComm):
    def __init__(self, **kwargs: object) -> None:
        self.sent: list[tuple[float, int]] = []
        super().__init__(**kwargs)

    def publish_msg(self, msg_type: str, data: object = None, metadata: object = None, buffers: object = None,
                    **keys: object) -> None:  # fmt: skip
        self.sent.append((time.perf_counter(), len(json.dumps(data))))


def long_reply(request: object):
    for _ in range(REPLY_CHUNKS):
        yield PIECE


def wire_cost(chunk_delay: float) -> None:
    comm.create_comm = lambda **kwargs: RecordingComm(**kwargs)
    with serve(long_reply, chunk_delay=chunk_delay) as server:
        chat = ChatWidget(client=ConvoClient(url=server.url, agent_id="bench"))
        chat.comm.sent.clear()
        reply = chat.ask("go")
    size = len(reply.text)
    times = [t for t, _ in chat.comm.sent]
    total = sum(n for _, n in chat.comm.sent)
    busiest = max(sum(1 for u in times if t <= u < t + 1) for t in times)
    budget = 2.5 * size + 20_000
    print(f"   chunk_delay={chunk_delay:<6} reply {size:,} chars in {reply.elapsed:5.2f} s: "
          f"{len(times)} messages, {total:,} bytes = {total / size:.2f}x the reply "
          f"(budget {budget:,.0f}: {'met' if total <= budget else 'MISSED'}); "
          f"busiest second {busiest} messages ({'met' if busiest <= 60 else 'MISSED'})")  # fmt: skip


SETUP = f"""import json, time
import ipywidgets
from convowidget import ChatWidget, serve
def long_reply(request):
    for i in range({REPLY_CHUNKS - 1}):
        yield "{PIECE}"
    yield f"LASTWORD{{request.prompt}} "
server = serve(long_reply, chunk_delay=0.0005).start()
handed_over = {{}}
def timed_panel():
    chat = ChatWidget(url=server.url, agent_id="bench")
    _send = chat.comm.send
    def timed_send(data=None, *args, **kwargs):
        text = json.dumps(data)
        if "LASTWORD" in text:
            prompt = text.split("LASTWORD", 1)[1].split(" ", 1)[0]
            handed_over.setdefault(prompt, time.time() * 1000)
        return _send(data, *args, **kwargs)
    chat.comm.send = timed_send
    chat.layout = ipywidgets.Layout(width="33%")
    return chat"""
ONE = "ipywidgets.HBox([timed_panel()])"
THREE = "ipywidgets.HBox([timed_panel() for _ in range(3)])"
REPORT = "print('HANDED', json.dumps(handed_over))"

# Long tasks and, per prompt, when its last word was on screen: found in a mutation of
# the log, then the next frame painted.
OBSERVE = """(prompts) => {
  window.__longtasks = []; window.__seen = {};
  window.__lt?.disconnect();
  window.__lt = new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) window.__longtasks.push(entry.duration);
  });
  window.__lt.observe({ type: 'longtask' });
  const painted = (p) => requestAnimationFrame(() => setTimeout(() => { window.__seen[p] = Date.now(); }, 0));
  const found = new Set();
  const check = (text) => {
    for (const p of prompts) if (!found.has(p) && text.includes('LASTWORD' + p + ' ')) { found.add(p); painted(p); }
  };
  for (const log of document.querySelectorAll('.cw-root [role=log]')) {
    new MutationObserver((records) => {
      for (const r of records) {
        // Only the end of a grown text: reading a 100,000-character text whole on every
        // change would make the page collect garbage the panel did not make.
        if (r.type === 'characterData') check(r.target.substringData(Math.max(0, r.target.length - 64), 64));
        for (const n of r.addedNodes) check(n.nodeType === 3 ? n.data.slice(-64) : n.textContent);
      }
    }).observe(log, { subtree: true, childList: true, characterData: true });
  }
}"""

# When a kernel message holding a prompt's last word reaches the page (before JupyterLab
# or the panel sees it): the part of the latency spent on the way, not in the panel.
ARRIVALS = """(() => {
  window.__arrived = {};
  const text = new TextDecoder();
  const Socket = window.WebSocket;
  window.WebSocket = class extends Socket {
    constructor(...args) {
      super(...args);
      this.addEventListener('message', (e) => {
        const data = typeof e.data === 'string' ? e.data : text.decode(e.data);
        for (const m of data.matchAll(/LASTWORD(\\w+) /g)) window.__arrived[m[1]] ??= Date.now();
      });
    }
  };
})();"""

# Press Enter in several message boxes in one task: the replies start together.
SEND_ALL = """(prompts) => {
  const boxes = [...document.querySelectorAll('.cw-root textarea')].slice(-prompts.length);
  prompts.forEach((p, i) => {
    boxes[i].value = p;
    boxes[i].dispatchEvent(new KeyboardEvent('keydown', { key: 'Enter', bubbles: true, cancelable: true }));
  });
}"""


def _round(page, prompts: list[str]) -> tuple[list[float], float]:
    """Send `prompts` at once (one to each of the last len(prompts) panels): the long tasks
    (wall time), and the longest main-thread task in thread time."""
    page.evaluate(OBSERVE, prompts)
    with main_thread_tasks(page) as traced:
        page.evaluate(SEND_ALL, prompts)
        for prompt in prompts:
            page.locator("[role=article][data-status=complete]").filter(has_text="LASTWORD" + prompt).wait_for()
        page.wait_for_function("n => Object.keys(window.__seen).length >= n", arg=len(prompts))
    return page.evaluate("window.__longtasks"), max((cpu for _, cpu in traced), default=0.0)


def browser_latency(rounds: int) -> None:
    one: dict[str, Any] = {"tasks": [], "cpu": [], "prompts": []}
    three: dict[str, Any] = {"tasks": [], "cpu": [], "prompts": []}
    with tempfile.TemporaryDirectory() as root:
        server = JupyterServer(Path(root)).start()
        try:
            write_notebook(server.root / "work" / "bench.ipynb", [SETUP, ONE, THREE, REPORT])
            with chromium() as browser:
                page = browser.new_page(viewport={"width": 1500, "height": 1000})
                page.add_init_script(ARRIVALS)
                page.set_default_timeout(180_000)
                page.goto(server.notebook_url("bench.ipynb"))
                page.locator(".jp-StatusBar-TextItem", has_text="Idle").first.wait_for()
                page.locator(".lm-MenuBar-itemLabel", has_text="Run").first.click()
                page.get_by_text("Run All Cells", exact=True).click()
                page.locator(".cw-root [role=log]").nth(3).wait_for()
                page.wait_for_timeout(1500)  # let the panels finish loading: streaming is what is measured
                seen: dict[str, float] = {}
                arrived: dict[str, float] = {}
                for r in range(rounds):  # alternately, so both see the same machine
                    for kind, prompts in ((one, [f"s{r}"]), (three, [f"t{r}a", f"t{r}b", f"t{r}c"])):
                        page.evaluate("() => window.scrollTo(0, 0)")
                        tasks, cpu = _round(page, prompts)
                        kind["tasks"] += tasks
                        kind["cpu"].append(cpu)
                        kind["prompts"] += prompts
                        seen.update(page.evaluate("window.__seen"))
                        arrived.update(page.evaluate("window.__arrived"))
                cell = page.locator(".jp-Notebook .jp-Cell").nth(3)
                cell.locator(".jp-InputArea-editor").click()
                page.keyboard.press("Shift+Enter")
                output = cell.locator(".jp-OutputArea-output", has_text="HANDED")
                output.wait_for()
                handed = json.loads(output.inner_text().split("HANDED", 1)[1])
        finally:
            server.stop()
    for name, kind in (("one panel           ", one), ("three panels at once", three)):
        delays = [seen[p] - handed[p] for p in kind["prompts"]]
        kind["median"] = statistics.median(delays)
        kind["panel"] = statistics.median(seen[p] - arrived[p] for p in kind["prompts"])
        kind["longest"] = max(kind["tasks"], default=0.0)
        print(
            f"   {name}: last word handed to the comm -> on screen {', '.join(f'{d:.0f}' for d in delays)} ms "
            f"(median {kind['median']:.0f} ms, of which {kind['panel']:.0f} ms from reaching the page)\n"
            f"      long tasks (> 50 ms wall): {len(kind['tasks'])}, longest {kind['longest']:.0f} ms; "
            f"longest task's main-thread work per round: {', '.join(f'{c:.0f}' for c in kind['cpu'])} ms"
        )
    ratio = three["median"] / max(one["median"], 1.0)
    cpu = max(three["cpu"])
    print(
        f"   three at once / one: {ratio:.2f}x (target <= 1.5x: {'met' if ratio <= 1.5 else 'MISSED'}); "
        f"longest task with three: {cpu:.0f} ms of main-thread work, {three['longest']:.0f} ms wall "
        f"(target <= 50 ms: {'met' if cpu <= 50 else 'MISSED'}; wall time includes waiting for a CPU)"
    )


def main() -> None:
    print("convowidget widget benchmark: a 100,000-character reply in 10,000 chunks")
    print("1. Sent to the front end (recording comm):")
    wire_cost(0.0)
    wire_cost(0.0005)
    print(f"2. In JupyterLab 4 in Chromium (replies typed in the panels; {ROUNDS} rounds of one, then three at once):")
    browser_latency(ROUNDS)


if __name__ == "__main__":
    main()
