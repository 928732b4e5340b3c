"""What a long conversation costs a real kernel, three ways of chatting and a floor side by side.

Run: .venv/bin/python bench/bench_long.py [--turns 300] [--ways floor,loop,cells,typed] [--pause 1.5]

Each way gets a fresh ipykernel (jupyter_client, this interpreter) and asks 300 prompts:

- floor: one cell per turn that displays the reply as Markdown, with no panel
  (``display(Markdown(client.ask(...).text))``): what any notebook chat costs at least;
- loop: the panel displayed, and a loop of ``chat.ask`` in one cell;
- cells: the panel displayed, one cell per ``chat.ask`` (Run All over 300 cells);
- typed: the panel displayed, each prompt sent as the front end sends what a person types
  (a ``comm_msg`` with ``{"type": "send"}`` to the widget while no cell runs), the next one
  once the reply is in and nothing more has come for ``--pause`` seconds (1.5: a person
  reads the reply before typing the next prompt).

The embedded server runs in this process, answers each prompt with 2,000 characters in 20
chunks and sends the whole history as ``sync_chat_history`` each turn (as the real service
does; its history cap is raised above 300 turns). Reported for each way:

- bytes to the front end per turn at turns 1/100/200/300, the mean and the largest turn:
  every message the kernel publishes on IOPub (status, execute_input, comm, display,
  update_display, execute_result, stream), counted as the kernel packs them (header, parent
  header, metadata, content). A loop's turn ends with the message that puts its reply in
  the transcript; what the cell sends after its last turn (the saved copy) is in the total;
- the kernel's memory: RSS growth over the turns (``gc.collect()`` and glibc's
  ``malloc_trim`` first, so freed memory is given back);
- the saved notebook's size: the cells with the outputs the front end holds after the
  turns (every update_display applied by display id), written by nbformat as JupyterLab
  saves it, without widget state (JupyterLab's default).
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

import nbformat
from jupyter_client.manager import start_new_kernel
from jupyter_client.session import json_packer

from convowidget import serve

REPLY_CHARS = 2_000
CHECKPOINTS = (1, 100, 200, 300)
WAYS = ("floor", "loop", "cells", "typed")

RSS = """\
import ctypes, gc, json, time

def _rss():
    gc.collect()
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except OSError:
        pass
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) * 1024 for line in status if line.startswith("VmRSS:"))
"""
PANEL = (
    "from convowidget import ChatWidget\nchat = ChatWidget(url={url!r}, agent_id='bench')\n"
    "display(chat)\nprint(chat.comm.comm_id)"
)
FLOOR = (
    "from convowidget import ConvoClient\nfrom IPython.display import Markdown\n"
    "client = ConvoClient(url={url!r}, agent_id='bench')\nconvo = client.new_convo_id()"
)
WARM = {
    "floor": "client.ask('warm up', convo_id=convo); convo = client.new_convo_id(); _base = _rss()",
    "panel": "chat.ask('warm up'); chat.new_conversation(); chat.clear(); time.sleep(0.5); _base = _rss()",
}
TURN = {
    "floor": "display(Markdown(client.ask({prompt!r}, convo_id=convo).text))",
    "cells": "chat.ask({prompt!r});",
}
LOOP = "for _turn in range(1, {turns} + 1):\n    chat.ask(f'turn{{_turn}}')"
REPORT = "print('BENCH', json.dumps({'grown': _rss() - _base}))"


def long_replies(request: Any):
    """2,000 characters in 20 chunks of 100, different each turn."""
    word = f"{request.prompt} "
    text = (word * (REPLY_CHARS // len(word) + 1))[:REPLY_CHARS]
    for start in range(0, REPLY_CHARS, 100):
        yield text[start : start + 100]


def message_bytes(msg: dict[str, Any]) -> int:
    parts = (msg["header"], msg["parent_header"], msg["metadata"], msg["content"])
    return sum(len(json_packer(part)) for part in parts) + sum(len(b) for b in msg.get("buffers") or [])


def ends_a_turn(msg: dict[str, Any]) -> bool:
    """The message that puts a finished reply in the panel's transcript."""
    state = msg["content"].get("data", {}).get("state", {}) if msg["msg_type"] == "comm_msg" else {}
    return "transcript_tail" in state


class Notebook:
    """The cells and outputs a front end holds, from what the kernel publishes."""

    def __init__(self) -> None:
        self.cells: list[tuple[str, list[dict[str, Any]]]] = []
        self.by_msg: dict[str, list[dict[str, Any]]] = {}
        self.by_display_id: dict[str, list[dict[str, Any]]] = {}

    def cell(self, msg_id: str, source: str) -> None:
        self.cells.append((source, []))
        self.by_msg[msg_id] = self.cells[-1][1]

    def apply(self, msg: dict[str, Any]) -> None:
        kind, content = msg["msg_type"], msg["content"]
        if kind == "update_display_data":
            for output in self.by_display_id.get(content["transient"]["display_id"], []):
                output["data"], output["metadata"] = content["data"], content["metadata"]
            return
        outputs = self.by_msg.get(msg["parent_header"].get("msg_id", ""))
        if outputs is None:
            return
        if kind == "stream":
            if outputs and outputs[-1]["output_type"] == "stream" and outputs[-1]["name"] == content["name"]:
                outputs[-1]["text"] += content["text"]
            else:
                outputs.append(nbformat.v4.new_output("stream", name=content["name"], text=content["text"]))
        elif kind in ("display_data", "execute_result"):
            extra = {"execution_count": content["execution_count"]} if kind == "execute_result" else {}
            output = nbformat.v4.new_output(kind, data=content["data"], metadata=content["metadata"], **extra)
            outputs.append(output)
            display_id = content.get("transient", {}).get("display_id")
            if display_id:
                self.by_display_id.setdefault(display_id, []).append(output)

    def size(self) -> int:
        cells = [nbformat.v4.new_code_cell(source, outputs=outputs) for source, outputs in self.cells]
        return len(nbformat.writes(nbformat.v4.new_notebook(cells=cells)).encode())


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
        self.notebook = Notebook()

    def _next(self, deadline: float) -> dict[str, Any]:
        msg = self.kc.get_iopub_msg(timeout=max(0.1, deadline - time.monotonic()))
        if msg["msg_type"] == "error":
            raise RuntimeError(f"{msg['content']['ename']}: {msg['content']['evalue']}")
        self.notebook.apply(msg)
        return msg

    def run(self, source: str, timeout: float = 900) -> tuple[list[int], str]:
        """Run one cell; the bytes of each turn in it (the last: what came after its last turn) and stdout."""
        msg_id = self.kc.execute(source)
        self.notebook.cell(msg_id, source)
        turns, sent, stdout, deadline = [], 0, "", time.monotonic() + timeout
        while True:
            msg = self._next(deadline)
            sent += message_bytes(msg)
            if ends_a_turn(msg):
                turns.append(sent)
                sent = 0
            mine = msg["parent_header"].get("msg_id") == msg_id
            if mine and msg["msg_type"] == "stream":
                stdout += msg["content"]["text"]
            elif mine and msg["msg_type"] == "status" and msg["content"]["execution_state"] == "idle":
                return [*turns, sent], stdout

    def type(self, comm_id: str, text: str, quiet: float) -> int:
        """Send a prompt as the panel does; the bytes until the reply is in and ``quiet`` seconds pass."""
        content = {"comm_id": comm_id, "data": {"method": "custom", "content": {"type": "send", "text": text}}}
        self.kc.shell_channel.send(self.kc.session.msg("comm_msg", content))
        sent, replied, deadline = 0, False, time.monotonic() + 120
        while True:
            try:
                msg = self._next(min(deadline, time.monotonic() + quiet) if replied else deadline)
            except queue.Empty:
                if replied:
                    return sent
                raise
            sent += message_bytes(msg)
            replied = replied or ends_a_turn(msg)

    def drain(self, seconds: float) -> int:
        """Bytes that arrive within ``seconds`` with nothing asked."""
        sent, deadline = 0, time.monotonic() + seconds
        while deadline > time.monotonic():
            try:
                sent += message_bytes(self._next(deadline))
            except queue.Empty:
                break
        return sent

    def close(self) -> None:
        self.kc.stop_channels()
        self.km.shutdown_kernel(now=True)


def chat(way: str, url: str, turns: int, pause: float) -> dict[str, Any]:
    """One way of chatting in a fresh kernel: bytes per turn, the total, memory and the notebook's size."""
    with tempfile.TemporaryDirectory() as folder:
        kernel = Kernel(Path(folder))
        try:
            kernel.run(RSS)
            (_, stdout) = kernel.run((FLOOR if way == "floor" else PANEL).format(url=url))
            kernel.run(WARM["floor" if way == "floor" else "panel"])
            kernel.drain(1.5)
            per_turn: list[int] = []
            after = 0
            if way in TURN:
                for turn in range(1, turns + 1):
                    per_turn.append(sum(kernel.run(TURN[way].format(prompt=f"turn{turn}"))[0]))
            elif way == "loop":
                *per_turn, after = kernel.run(LOOP.format(turns=turns))[0]
            else:
                comm_id = stdout.split()[-1]
                per_turn = [kernel.type(comm_id, f"turn{turn}", pause) for turn in range(1, turns + 1)]
            after += kernel.drain(1.5)
            size = kernel.notebook.size()
            report = json.loads(kernel.run(REPORT)[1].split("BENCH", 1)[1])
        finally:
            kernel.close()
    return {"per_turn": per_turn, "total": sum(per_turn) + after, "grown": report["grown"], "notebook": size}


def kb(n: float) -> str:
    return f"{n / 1000:,.1f} KB" if n < 1e6 else f"{n / 1e6:,.2f} MB"


def table(results: dict[str, dict[str, Any]], turns: int) -> None:
    marks = [t for t in CHECKPOINTS if t <= turns]
    window = min(12, turns)  # a gathering of the saved copy's newest turns comes once in 12
    floor = results.get("floor")
    heads = [f"turn {t}" for t in marks] + [f"mean, turns {turns - window + 1}–{turns}", "largest turn"]
    heads += [f"all {turns} turns", "kernel memory", "saved notebook"]
    if floor:
        heads.append(f"mean at turn {turns}, to the floor")
    print("| way | " + " | ".join(heads) + " |")
    print("| --- |" + " --- |" * len(heads))
    for way, result in results.items():
        per_turn = result["per_turn"]
        mean = statistics.mean(per_turn[-window:])
        cells = [kb(per_turn[t - 1]) for t in marks] + [kb(mean), kb(max(per_turn)), kb(result["total"])]
        cells += [f"{result['grown'] / 2**20:+.1f} MiB", kb(result["notebook"])]
        if floor:
            cells.append(f"{mean / statistics.mean(floor['per_turn'][-window:]):.2f}x")
        print(f"| {way} | " + " | ".join(cells) + " |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--turns", type=int, default=300)
    parser.add_argument("--ways", default=",".join(WAYS), help=f"some of {', '.join(WAYS)}")
    parser.add_argument("--pause", type=float, default=1.5, help="seconds a typist waits after a reply")
    args = parser.parse_args()
    ways = [way.strip() for way in args.ways.split(",")]
    if not set(ways) <= set(WAYS):
        parser.error(f"--ways: choose from {', '.join(WAYS)}")
    options: dict[str, Any] = {"chunk_delay": 0.0005, "max_history_turns": 10 * args.turns, "max_history_bytes": 2**28}
    results = {}
    with serve(long_replies, **options) as server:
        for way in ways:
            started = time.monotonic()
            results[way] = chat(way, str(server.url), args.turns, args.pause)
            print(f"{way}: {time.monotonic() - started:.0f} s", file=sys.stderr)
    print(f"{args.turns} turns of {REPLY_CHARS:,}-character replies; the server re-sends the whole history each turn\n")
    table(results, args.turns)


if __name__ == "__main__":
    main()
