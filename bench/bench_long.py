"""What a long conversation costs a real kernel: bytes to the front end, memory, CPU per turn.

Run: .venv/bin/python bench/bench_long.py [--turns 300] [--cells]

A real ipykernel (jupyter_client, this interpreter) displays a ChatWidget and asks 300
prompts from a loop in one cell (``--cells``: one cell per prompt, as Run All over 300
cells would). The embedded server runs in this process, answers each prompt with 2,000
characters in 20 chunks and sends the whole history as ``sync_chat_history`` each turn
(as the real service does; its history cap is raised above 300 turns). Reported:

- bytes to the front end per turn at turns 1/100/200/300: every comm, display and
  update_display message the kernel publishes for that turn (up to and including the
  message that puts the finished reply in the transcript), counted as the kernel packs
  them (header, parent header, metadata and content); and the total for all turns,
  including the saved copy's refreshes (once per cell that asked, and when quiet);
- the kernel's memory: RSS growth after all turns, and after ``chat.clear()`` (with
  ``gc.collect()`` and glibc's ``malloc_trim`` so freed memory is given back);
- kernel CPU ms per turn (``time.process_time()``, all the kernel's threads) at
  turns 1/100/200/300, each the median of the 5 turns around it.
"""

from __future__ import annotations

import argparse
import json
import os
import queue
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from jupyter_client.manager import start_new_kernel
from jupyter_client.session import json_packer

from convowidget import serve

REPLY_CHARS = 2_000
CHECKPOINTS = (1, 100, 200, 300)

SETUP = """\
import ctypes, gc, json, time
from convowidget import ChatWidget

def _rss():
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) * 1024 for line in status if line.startswith("VmRSS:"))

def _trimmed_rss():
    gc.collect()
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except OSError:
        pass
    return _rss()

chat = ChatWidget(url={url!r}, agent_id="bench")
display(chat)
_cpu = []
"""
TURN = "_t = time.process_time(); _r = chat.ask({prompt!r}); _cpu.append(time.process_time() - _t); del _r"
LOOP = """\
for _turn in range(1, {turns} + 1):
    _t = time.process_time()
    chat.ask(f"turn{{_turn}}")
    _cpu.append(time.process_time() - _t)
"""
WARM = "chat.ask('warm up'); chat.new_conversation(); chat.clear(); time.sleep(0.5); _base = _trimmed_rss()"
REPORT = """\
_after = _trimmed_rss()
chat.clear(); time.sleep(0.5)
print("BENCH", json.dumps({{"cpu": _cpu, "base": _base, "after": _after, "cleared": _trimmed_rss()}}))
"""


def long_replies(request: Any):
    """2,000 characters in 20 chunks of 100, different each turn."""
    word = f"{request.prompt} "
    text = (word * (REPLY_CHARS // len(word) + 1))[:REPLY_CHARS]
    for start in range(0, REPLY_CHARS, 100):
        yield text[start : start + 100]


def message_bytes(msg: dict[str, Any]) -> int:
    parts = (msg["header"], msg["parent_header"], msg["metadata"], msg["content"])
    return sum(len(json_packer(part)) for part in parts) + sum(len(b) for b in msg.get("buffers") or [])


WIDGET_TRAFFIC = {"comm_open", "comm_msg", "display_data", "update_display_data"}


class Kernel:
    def __init__(self, folder: Path) -> None:
        spec = folder / "kernels" / "python3"
        spec.mkdir(parents=True)
        argv = [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"]
        (spec / "kernel.json").write_text(json.dumps({"argv": argv, "display_name": "bench", "language": "python"}))
        os.environ.update(
            JUPYTER_PATH=str(folder),
            JUPYTER_RUNTIME_DIR=str(folder / "runtime"),
            JUPYTER_CONFIG_DIR=str(folder / "config"),
            IPYTHONDIR=str(folder / "ipython"),
        )
        self.km, self.kc = start_new_kernel(startup_timeout=60, kernel_name="python3")

    def run(self, source: str, timeout: float = 600) -> tuple[list[int], int, str]:
        """Run one cell: the widget traffic of each turn in it, the traffic after the last
        turn (the saved copy), and the cell's stdout. A turn ends with the message that
        puts its reply into the transcript (``transcript_tail``, or ``transcript`` before)."""
        msg_id = self.kc.execute(source)
        turns: list[int] = []
        traffic, stdout, deadline = 0, "", time.monotonic() + timeout
        while True:
            msg = self.kc.get_iopub_msg(timeout=max(0.1, deadline - time.monotonic()))
            kind = msg["msg_type"]
            if kind in WIDGET_TRAFFIC:
                traffic += message_bytes(msg)  # whoever's parent: only this cell runs now
                state = msg["content"].get("data", {}).get("state", {})
                if kind == "comm_msg" and ("transcript_tail" in state or "transcript" in state):
                    turns.append(traffic)
                    traffic = 0
            if msg["parent_header"].get("msg_id") != msg_id:
                continue
            if kind == "stream":
                stdout += msg["content"]["text"]
            elif kind == "error":
                raise RuntimeError(f"{msg['content']['ename']}: {msg['content']['evalue']}\n{source}")
            elif kind == "status" and msg["content"]["execution_state"] == "idle":
                return turns, traffic, stdout

    def drain(self, seconds: float) -> int:
        """Widget traffic that arrives within ``seconds`` with no cell running."""
        traffic, deadline = 0, time.monotonic() + seconds
        while (left := deadline - time.monotonic()) > 0:
            try:
                msg = self.kc.get_iopub_msg(timeout=left)
            except queue.Empty:
                break
            if msg["msg_type"] in WIDGET_TRAFFIC:
                traffic += message_bytes(msg)
        return traffic

    def close(self) -> None:
        self.kc.stop_channels()
        self.km.shutdown_kernel(now=True)


def around(values: list[float], turn: int) -> float:
    window = values[max(0, turn - 3) : turn + 2]
    return statistics.median(window)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--turns", type=int, default=300)
    parser.add_argument("--cells", action="store_true", help="one cell per prompt instead of a loop in one cell")
    args = parser.parse_args()
    turns = args.turns
    options: dict[str, Any] = {"chunk_delay": 0.0005, "max_history_turns": 10 * turns, "max_history_bytes": 2**28}
    try:
        server = serve(long_replies, **options)
    except TypeError:  # a server from before the history cap
        server = serve(long_replies, chunk_delay=0.0005)
    with server, tempfile.TemporaryDirectory() as folder:
        kernel = Kernel(Path(folder))
        try:
            kernel.run(SETUP.format(url=server.url))
            kernel.run(WARM)
            kernel.drain(2.0)
            per_turn: list[int] = []
            copies = 0
            if args.cells:
                for turn in range(1, turns + 1):
                    in_turn, after, _ = kernel.run(TURN.format(prompt=f"turn{turn}"))
                    per_turn.append(sum(in_turn) + after)  # the cell's whole traffic is that turn's
                    copies += after
            else:
                per_turn, copies, _ = kernel.run(LOOP.format(turns=turns))
            quiet = kernel.drain(3.0)  # anything sent once the chat is quiet
            _, _, out = kernel.run(REPORT.format())
        finally:
            kernel.close()
    report = json.loads(out.split("BENCH", 1)[1])
    cpu_ms = [1000 * seconds for seconds in report["cpu"]]
    marks = [t for t in CHECKPOINTS if t <= turns]
    mib = 2**20
    how = "one cell per turn" if args.cells else "a loop in one cell"
    print(f"{turns} turns of {REPLY_CHARS:,}-character replies from {how}; whole history re-sent each turn\n")
    print("| | " + " | ".join(f"turn {t}" for t in marks) + " |")
    print("| --- |" + " --- |" * len(marks))
    print("| bytes to the front end for that turn | " + " | ".join(f"{per_turn[t - 1]:,}" for t in marks) + " |")
    print(
        "| kernel CPU ms for that turn (median of 5) | " + " | ".join(f"{around(cpu_ms, t):.1f}" for t in marks) + " |"
    )
    total = sum(per_turn) + (0 if args.cells else copies) + quiet
    print(f"\ntotal bytes to the front end: {total:,} ({total / mib:.2f} MiB); the saved copy's refreshes: "
          f"{copies + quiet:,} of them")  # fmt: skip
    print(f"kernel RSS growth after {turns} turns: {(report['after'] - report['base']) / mib:+.1f} MiB")
    print(f"kernel RSS growth after chat.clear(): {(report['cleared'] - report['base']) / mib:+.1f} MiB")


if __name__ == "__main__":
    main()
