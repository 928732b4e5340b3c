"""Benchmark of the embedded server under fan-out: thousands of conversations at once.

Run it from the repository root:

    .venv/bin/python bench/bench_server.py [--concurrent 1000 5000] [--prompt start]

For each N, a fresh embedded server (the demo agent, default ``chunk_delay`` of 0.02 s)
runs in its own process; this process opens N conversations at the same instant over bare
``websockets.asyncio.client`` connections (not ``ConvoClient``: the figures are the
server's, and the client side stays as thin as it can be). Each sends one interact object
and reads until the close (no proxy lookup: loopback). The demo's greeting (``start``) is
23 chunks, so a reply that is served on time takes about 23 x 0.02 = 0.46 s.

Every reply is checked whole: close code 1000, chunk indexes 0, 1, 2... in order, the text
equal to the reference reply (one conversation asked alone first), a ``metadata`` frame
with the token counts, and a ``sync_chat_history`` whose last turn is the bot's text.

For comparison, each N is run again against the floor: a bare ``websockets`` server (no
convowidget code) that sends the same frames (a debug frame, the reference reply's chunks
with the same 0.02 s pacing, metadata, sync_chat_history, close 1000) on the same machine
in the same minute. ``--no-bare`` skips it.

Reported per N: time to an open connection (handshake done) p50 / p99; time to first
chunk (from just before connecting to the first ``chunk`` frame) p50 / p99 / max; reply
time p50 / p99; total wall time; and for each side its CPU seconds and peak RSS during
the run. Target: 1,000 conversations with p99 first chunk under 0.5 s.

To measure another copy of the package (the code before a change), put it first on the
path: ``PYTHONPATH=/tmp/old .venv/bin/python bench/bench_server.py``; the report names the
server module it ran.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import platform
import queue
import resource
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import websockets
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

AGENT_ID = "bench"
CHUNK_DELAY = 0.02  # the embedded server's default


# ---------------------------------------------------------------------- the server process


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _serve_until_stopped(reports: Any, start: Any, stop: Any, chunks: list[str] | None) -> None:
    """The server process: the embedded server, or with ``chunks`` the bare reference server."""
    import convowidget.server
    from convowidget import serve

    if chunks is not None:
        asyncio.run(_serve_bare(reports, start, stop, chunks))
        return
    with serve() as server:
        reports.put(("ready", server.port, convowidget.server.__file__))
        _measure(reports, start, stop)


def _measure(reports: Any, start: Any, stop: Any) -> None:
    start.wait()
    _reset_peak_rss()
    cpu = _cpu_seconds()
    stop.wait()
    reports.put(("done", _cpu_seconds() - cpu, _peak_rss()))


async def _serve_bare(reports: Any, start: Any, stop: Any, chunks: list[str]) -> None:
    """The floor: a bare websockets server sending the demo's frames with the same pacing, nothing else."""
    from websockets.asyncio.server import serve as ws_serve

    text = "".join(chunks)
    turn = {"from": "bot", "messages": [{"type": "text", "item": {"type": "text", "payload": {"message": text}}}]}

    async def handler(ws: Any) -> None:
        request = json.loads(await ws.recv())
        await ws.send(json.dumps({"type": "debug", "agent": "bare", "chars": len(request["prompt"])}))
        for index, chunk in enumerate(chunks):
            await asyncio.sleep(CHUNK_DELAY)
            await ws.send(json.dumps({"type": "chunk", "chunk": chunk, "chunkIndex": index}))
        usage = {"inputTokens": 1, "outputTokens": len(text.split()), "llmUsed": "bare"}
        await ws.send(json.dumps({"type": "metadata", "metadata": usage}))
        await ws.send(json.dumps({"type": "sync_chat_history", "turns": [turn]}))
        await ws.close(1000)

    async with ws_serve(handler, "127.0.0.1", 0, backlog=2048) as server:
        reports.put(("ready", server.sockets[0].getsockname()[1], "bare websockets server"))
        await asyncio.to_thread(_measure, reports, start, stop)


class ServerProcess:
    """A server in a child process; ``begin()`` and ``end()`` bracket the run it reports on."""

    def __init__(self, bare_chunks: list[str] | None = None) -> None:
        self._bare_chunks = bare_chunks

    def __enter__(self) -> ServerProcess:
        context = multiprocessing.get_context("spawn")
        self._reports = context.Queue()
        self._start, self._stop = context.Event(), context.Event()
        args = (self._reports, self._start, self._stop, self._bare_chunks)
        self._process = context.Process(target=_serve_until_stopped, args=args, daemon=True)
        self._process.start()
        try:
            _, port, self.module = self._reports.get(timeout=60)
        except queue.Empty:
            self.__exit__()
            raise SystemExit("the server process did not report its port within 60 s") from None
        self.url = f"ws://127.0.0.1:{port}/interact"
        return self

    def begin(self) -> None:
        self._start.set()

    def end(self) -> tuple[float, int | None]:
        """The server's CPU seconds and peak RSS since ``begin()``."""
        self._stop.set()
        _, cpu, peak = self._reports.get(timeout=60)
        return cpu, peak

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._process.join(10)
        if self._process.is_alive():
            self._process.terminate()
            self._process.join(5)


# ---------------------------------------------------------------------- memory of a process


def _reset_peak_rss() -> None:
    """Restart the kernel's high-water mark of this process (Linux); harmless elsewhere."""
    try:
        with open("/proc/self/clear_refs", "w", encoding="ascii") as refs:
            refs.write("5")
    except OSError:
        pass


def _peak_rss() -> int | None:
    """VmHWM (bytes): the peak RSS since the last reset, or None off Linux."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None


def _raise_open_files_limit(wanted: int) -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and soft < wanted:
        target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))


# ---------------------------------------------------------------------- one conversation


@dataclass
class Result:
    connected: float | None = None
    first_chunk: float | None = None
    total: float | None = None
    text: str = ""
    chunks: list[str] = field(default_factory=list)
    problem: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict)


def _interact(prompt: str) -> str:
    request = {"agentId": AGENT_ID, "convoId": str(uuid.uuid4()), "prompt": prompt}
    request["lightConvoData"] = {"origin": "web-chat"}
    return json.dumps(request)


async def converse(url: str, prompt: str) -> Result:
    """One conversation over a bare connection; ``problem`` says what was wrong with it, if anything."""
    result = Result()
    started = time.perf_counter()
    parts: list[str] = []
    history: list[Any] | None = None
    try:
        async with connect(url, open_timeout=120, max_size=None, proxy=None) as ws:
            result.connected = time.perf_counter() - started
            await ws.send(_interact(prompt))
            async for frame in ws:  # ends quietly on a close with 1000
                event = json.loads(frame)
                kind = event.get("type")
                if kind == "chunk":
                    if result.first_chunk is None:
                        result.first_chunk = time.perf_counter() - started
                    if event.get("chunkIndex") != len(parts):
                        result.problem = f"chunk {len(parts)} arrived with index {event.get('chunkIndex')!r}"
                    parts.append(event["chunk"])
                elif kind == "metadata":
                    result.metadata.update(event["metadata"])
                elif kind == "sync_chat_history":
                    history = event["turns"]
    except ConnectionClosed as exc:
        result.problem = f"closed with {exc.rcvd.code if exc.rcvd else 1006}"
    except Exception as exc:  # a refused or timed-out connect is a result, not a crash
        result.problem = f"{type(exc).__name__}: {exc}"
    result.total = time.perf_counter() - started
    result.chunks = parts
    result.text = "".join(parts)
    if result.problem is None:
        if not {"inputTokens", "outputTokens", "llmUsed"} <= set(result.metadata):
            result.problem = "no token counts in metadata"
        elif not history or history[-1].get("from") != "bot":
            result.problem = "sync_chat_history missing or not ending with the bot's turn"
        elif history[-1]["messages"][0]["item"]["payload"]["message"] != result.text:
            result.problem = "the bot turn in sync_chat_history differs from the streamed text"
    return result


# ---------------------------------------------------------------------- one run


@dataclass
class Run:
    server: str
    n: int
    wall: float
    results: list[Result]
    client_cpu: float
    client_rss: int | None
    server_cpu: float
    server_rss: int | None
    bad: list[str]


def _quantile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def fan_out(url: str, prompt: str, n: int) -> tuple[float, list[Result]]:
    started = time.perf_counter()
    results = await asyncio.gather(*(converse(url, prompt) for _ in range(n)))
    return time.perf_counter() - started, results


def run(n: int, prompt: str, bare_chunks: list[str] | None = None) -> tuple[Run, Result]:
    """N conversations at once against a fresh server; also the reference reply asked alone first."""
    with ServerProcess(bare_chunks) as server:
        reference = asyncio.run(converse(server.url, prompt))
        if reference.problem or not reference.text:
            raise SystemExit(f"the reference reply went wrong: {reference.problem or 'empty text'}")
        _reset_peak_rss()
        server.begin()
        cpu = _cpu_seconds()
        wall, results = asyncio.run(fan_out(server.url, prompt, n))
        client_cpu, client_rss = _cpu_seconds() - cpu, _peak_rss()
        server_cpu, server_rss = server.end()
        module = server.module
    bad = []
    for result in results:
        problem = result.problem or (None if result.text == reference.text else "text differs from the reference")
        if problem:
            bad.append(problem)
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"  N={n:,}: done in {wall:.2f} s, {len(bad)} bad, load average after {load} (server: {module})", flush=True)
    kind = "bare websockets" if bare_chunks is not None else "embedded"
    return Run(kind, n, wall, results, client_cpu, client_rss, server_cpu, server_rss, bad), reference


# ---------------------------------------------------------------------- report


def _mib(n: int | None) -> str:
    return "n/a" if n is None else f"{n / 2**20:,.0f} MiB"


def report(runs: list[Run], prompt: str) -> None:
    print()
    print(
        f"convowidget server fan-out: Python {platform.python_version()}, websockets {websockets.__version__}, "
        f"{platform.system()} {platform.machine()}, prompt {prompt!r}, demo agent, chunk_delay 0.02 s"
    )
    header = (
        "| server | conversations | connected p50 | p99 | first chunk p50 | p99 | max | reply p50 | p99 | wall | "
        "server CPU | server peak RSS | client CPU | client peak RSS | bad |"
    )
    print(header)
    print("|" + " --- |" * (header.count("|") - 1))
    for r in runs:
        firsts = [x.first_chunk for x in r.results if x.first_chunk is not None]
        connects = [x.connected for x in r.results if x.connected is not None]
        totals = [x.total for x in r.results if x.total is not None and x.problem is None]
        cells = [
            r.server,
            f"{r.n:,}",
            f"{_quantile(connects, 0.50):.3f} s" if connects else "n/a",
            f"{_quantile(connects, 0.99):.3f} s" if connects else "n/a",
            f"{_quantile(firsts, 0.50):.3f} s" if firsts else "n/a",
            f"{_quantile(firsts, 0.99):.3f} s" if firsts else "n/a",
            f"{max(firsts):.3f} s" if firsts else "n/a",
            f"{_quantile(totals, 0.50):.3f} s" if totals else "n/a",
            f"{_quantile(totals, 0.99):.3f} s" if totals else "n/a",
            f"{r.wall:.2f} s",
            f"{r.server_cpu:.1f} s",
            _mib(r.server_rss),
            f"{r.client_cpu:.1f} s",
            _mib(r.client_rss),
            f"{len(r.bad)}",
        ]
        print("| " + " | ".join(cells) + " |")
    for r in runs:
        if (
            r.server == "embedded"
            and r.n == 1000
            and (firsts := [x.first_chunk for x in r.results if x.first_chunk is not None])
        ):
            p99 = _quantile(firsts, 0.99)
            print(f"target: 1,000 conversations, p99 first chunk < 0.5 s: {'met' if p99 < 0.5 else 'NOT met'}")
        if r.bad:
            kinds = sorted(set(r.bad))
            print(f"{r.server}, N={r.n:,}: {len(r.bad)} replies were not whole, e.g. {', '.join(kinds[:3])}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--concurrent", type=int, nargs="+", default=[1000, 5000])
    parser.add_argument("--prompt", default="start")
    parser.add_argument("--no-bare", action="store_true", help="skip the bare websockets reference server")
    args = parser.parse_args()
    _raise_open_files_limit(2 * max(args.concurrent) + 1024)  # the server process inherits it
    runs = []
    for n in args.concurrent:
        embedded, reference = run(n, args.prompt)
        runs.append(embedded)
        if not args.no_bare:
            runs.append(run(n, args.prompt, bare_chunks=reference.chunks)[0])
    report(runs, args.prompt)
    if any(r.bad for r in runs):
        raise SystemExit(1)


if __name__ == "__main__":
    main()
