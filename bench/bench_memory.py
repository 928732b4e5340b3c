"""What the embedded server and a replay keep in memory for many conversations (issue 16, item 7).

Run it from the repository root:

    .venv/bin/python bench/bench_memory.py [--conversations 1000] [--prompt-kib 900]

Each server runs alone in a fresh process (``spawn``): the embedded server with the demo
agent, then a replay of a one-exchange cassette recorded for a prompt of that size. This
process opens that many conversations, 16 at a time, each sending the one long prompt
(a fresh conversation id each, over bare ``websockets`` connections) and reading its
reply to the close. Reported per server: its resident memory (``VmRSS``, after a garbage
collection) before and after, and what Python objects it holds for them (``tracemalloc``),
in all and per conversation. RSS also holds memory the allocator keeps after freeing.

Before the caps, the embedded server kept every conversation's history up to its own
cap (1 MiB), 1,000 conversations x 1 MiB = 1 GB, and a replay kept every conversation's
prompts. To measure the code before a change, put it first on the path:
``PYTHONPATH=/tmp/old .venv/bin/python bench/bench_memory.py``.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import multiprocessing
import tempfile
import tracemalloc
import uuid
from pathlib import Path
from typing import Any

from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

AT_ONCE = 16


def _memory() -> tuple[int, int]:
    """This process's resident memory (VmRSS) and what Python objects hold (tracemalloc), in bytes."""
    gc.collect()
    traced = tracemalloc.get_traced_memory()[0] if tracemalloc.is_tracing() else 0
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024, traced
    raise RuntimeError("no VmRSS in /proc/self/status (Linux only)")


def _serve(options: dict[str, Any], reports: Any, requests: Any) -> None:
    """The server process: report the port, then RSS on request, until told to stop."""
    import convowidget.server
    from convowidget import serve

    with serve(chunk_delay=0, **options) as server:
        reports.put((server.port, convowidget.server.__file__))
        while requests.get() == "memory":
            tracemalloc.start()  # from the first report on: what the conversations leave behind
            reports.put(_memory())


async def _converse(url: str, prompt: str, *, normal: bool = True) -> None:
    """One conversation of one prompt, read to the close (which must be normal, 1000, unless not ``normal``)."""
    request = {"agentId": "bench", "convoId": uuid.uuid4().hex, "prompt": prompt}
    async with connect(url, max_size=None) as ws:
        await ws.send(json.dumps(request))
        try:
            while True:
                await ws.recv()
        except ConnectionClosed as closed:
            if normal and (closed.rcvd is None or closed.rcvd.code != 1000):
                raise RuntimeError(f"a conversation ended badly: {closed}") from None


async def _conversations(url: str, prompt: str, n: int) -> None:
    gate = asyncio.Semaphore(AT_ONCE)

    async def one() -> None:
        async with gate:
            await _converse(url, prompt)

    await asyncio.gather(*(one() for _ in range(n)))


def measure(options: dict[str, Any], prompt: str, n: int) -> tuple[tuple[int, int], tuple[int, int], str]:
    """RSS and traced memory of a fresh server process before and after ``n`` conversations, and its module."""
    spawn = multiprocessing.get_context("spawn")
    reports, requests = spawn.Queue(), spawn.Queue()
    process = spawn.Process(target=_serve, args=(options, reports, requests), daemon=True)
    process.start()
    try:
        port, module = reports.get(timeout=60)
        url = f"ws://127.0.0.1:{port}/interact"
        asyncio.run(_converse(url, "start", normal=False))  # warm up: imports, the first connection
        requests.put("memory")
        before = reports.get(timeout=60)
        asyncio.run(_conversations(url, prompt, n))
        requests.put("memory")
        after = reports.get(timeout=600)
    finally:
        requests.put("stop")
        process.join(30)
    return before, after, module


def cassette_for(prompt: str, folder: Path) -> Path:
    """A cassette of one exchange answering ``prompt`` (a chunk, metadata, a normal close)."""
    frames = [[0.0, json.dumps({"type": "chunk", "chunk": "recorded answer", "chunkIndex": 0})]]
    frames.append([0.0, json.dumps({"type": "metadata", "metadata": {"llmUsed": "bench"}})])
    line = {"convo_id": "recorded", "prompt": prompt, "request": {}, "frames": frames, "close": {"code": 1000}}
    path = folder / "bench.jsonl"
    path.write_text(json.dumps(line) + "\n", encoding="utf-8")
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--conversations", type=int, default=1000)
    parser.add_argument("--prompt-kib", type=int, default=900, help="each conversation's prompt, in KiB")
    args = parser.parse_args()
    prompt = "x" * (args.prompt_kib * 1024 - 10) + " question"
    mib = 2**20
    print(f"{args.conversations} conversations, one {args.prompt_kib} KiB prompt each, {AT_ONCE} at a time\n")
    print("| server | RSS before | RSS after | RSS added | Python objects added | per conversation |")
    print("| --- | ---: | ---: | ---: | ---: | ---: |")
    with tempfile.TemporaryDirectory() as folder:
        runs = {
            "embedded (demo agent)": {"max_history_bytes": 2**20},
            "replay": {"replay": str(cassette_for(prompt, Path(folder)))},
        }
        modules = set()
        for name, options in runs.items():
            (rss_before, _), (rss_after, traced), module = measure(options, prompt, args.conversations)
            modules.add(module)
            print(
                f"| {name} | {rss_before / mib:.0f} MiB | {rss_after / mib:.0f} MiB "
                f"| {(rss_after - rss_before) / mib:.0f} MiB "
                f"| {traced / mib:.1f} MiB | {traced / args.conversations / 1024:.1f} KiB |"
            )
    print(f"\nserver module: {', '.join(sorted(modules))}")


if __name__ == "__main__":
    main()
