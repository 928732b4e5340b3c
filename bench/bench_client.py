"""Benchmark of the convowidget client: streaming overhead and memory per open conversation.

Run it from the repository root:

    .venv/bin/python bench/bench_client.py [--rounds 7] [--chunks 20000] [--concurrent 200]

1. Throughput. One reply of 20,000 chunks ("word0 ", "word1 ", ...) from the embedded
   server with ``chunk_delay=0``, received (a) by ``client.ask()`` and (b) by a bare
   ``websockets.asyncio.client`` loop that sends the same interact JSON and only
   ``json.loads`` each frame and joins the ``chunk`` texts. The two alternate for N rounds
   after a warm-up; the report gives each median (wall clock, and CPU time of this
   process) and the ratio of medians a / b. Target: a / b <= 1.3. The embedded server
   usually sends more slowly than either client reads (CPU well under wall), so the wall
   clock mostly measures the server; the report therefore adds the per-frame cost of both
   ways with the frames already in memory, which is the client's own overhead.

2. Memory. 200 concurrent ``ask_async()`` calls to an agent that sends one chunk, waits
   until all 200 conversations are open, then sends a few more slowly. Reported per
   conversation: the tracemalloc peak above the baseline, and the VmRSS peak (sampled
   from /proc/self/status) above the baseline, each divided by 200. For reference, the
   same tracemalloc figure for 200 bare websockets connections.

The server runs in its own process (multiprocessing, port passed back through a Queue),
so every figure, CPU and memory alike, is the client's alone. Expect the wall-clock rounds
to wander on a busy machine; the medians and the per-frame column are the steady figures.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import multiprocessing
import platform
import queue
import statistics
import time
import tracemalloc
import uuid
from collections.abc import Callable
from dataclasses import dataclass

import websockets
from websockets.asyncio.client import connect

from convowidget import ConvoClient, Reply, serve
from convowidget.protocol import ChunkEvent, build_interact, encode_event, parse_frame
from convowidget.reply import ReplyBuilder

AGENT_ID = "bench"
BULK = "bulk"  # the prompt that asks the bench agent for the long reply
HOLD_WORDS = ("slow ", "and ", "steady")


# ---------------------------------------------------------------------- the server process

_open_by_run: dict[str, int] = {}  # server process only: conversations opened per memory run


async def bench_agent(request):
    """``bulk N``: N chunks at once. ``hold RUN N``: one chunk, wait for N open, a few more."""
    words = request.prompt.split()
    if words[0] == BULK:
        for i in range(int(words[1])):
            yield f"word{i} "
        return
    _, run, wanted = words
    _open_by_run[run] = _open_by_run.get(run, 0) + 1
    yield "first "
    deadline = time.monotonic() + 30
    while _open_by_run[run] < int(wanted) and time.monotonic() < deadline:
        await asyncio.sleep(0.01)
    for word in HOLD_WORDS:
        await asyncio.sleep(0.05)
        yield word


def _serve_until_stopped(ports, stop) -> None:  # a multiprocessing Queue and Event
    with serve(bench_agent, chunk_delay=0) as server:
        ports.put(server.port)
        stop.wait()


class ServerProcess:
    """The embedded server in a child process: ``with ServerProcess() as url:``."""

    def __enter__(self) -> str:
        context = multiprocessing.get_context("spawn")
        ports, self._stop = context.Queue(), context.Event()
        self._process = context.Process(target=_serve_until_stopped, args=(ports, self._stop), daemon=True)
        self._process.start()
        try:
            port = ports.get(timeout=60)
        except queue.Empty:
            self.__exit__()
            raise SystemExit("the server process did not report its port within 60 s") from None
        return f"ws://127.0.0.1:{port}/interact"

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._process.join(10)
        if self._process.is_alive():
            self._process.terminate()
            self._process.join(5)


# ---------------------------------------------------------------------- 1. throughput


@dataclass
class Timing:
    wall: float
    cpu: float


def timed(receive: Callable[[], str], expected: str) -> Timing:
    wall, cpu = time.perf_counter(), time.process_time()
    text = receive()
    timing = Timing(time.perf_counter() - wall, time.process_time() - cpu)
    if text != expected:
        raise SystemExit(f"wrong reply: {len(text)} chars, expected {len(expected)}")
    return timing


def via_ask(client: ConvoClient, prompt: str) -> str:
    reply = client.ask(prompt)
    if reply.status != "complete":
        raise SystemExit(f"client.ask() ended {reply.status}: {reply.error}")
    return reply.text


async def bare_receive(url: str, request: str) -> str:
    """The floor: connect, send, json.loads every frame, join the chunks until the close."""
    parts = []
    async with connect(url, max_size=None) as ws:
        await ws.send(request)
        async for frame in ws:  # ends quietly on a normal close
            event = json.loads(frame)
            if event["type"] == "chunk":
                parts.append(event["chunk"])
    return "".join(parts)


def via_bare(url: str, prompt: str) -> str:
    request = build_interact(agent_id=AGENT_ID, convo_id=str(uuid.uuid4()), prompt=prompt)
    return asyncio.run(bare_receive(url, json.dumps(request, ensure_ascii=False)))


def throughput(url: str, chunks: int, rounds: int) -> dict[str, list[Timing]]:
    client = ConvoClient(url=url, agent_id=AGENT_ID, idle_timeout=60)
    prompt = f"{BULK} {chunks}"
    expected = "".join(f"word{i} " for i in range(chunks))
    runs: dict[str, Callable[[], str]] = {
        "ask": lambda: via_ask(client, prompt),
        "bare": lambda: via_bare(url, prompt),
    }
    for receive in runs.values():  # warm-up
        timed(receive, expected)
    timings: dict[str, list[Timing]] = {name: [] for name in runs}
    for _ in range(rounds):
        for name, receive in runs.items():
            timings[name].append(timed(receive, expected))
    return timings


def per_frame_cost(chunks: int, repeat: int = 5) -> dict[str, float]:
    """Best-of-``repeat`` seconds per frame to fold the reply's frames, already in memory, into text."""
    frames = [encode_event(ChunkEvent(f"word{i} ", i)) for i in range(chunks)]

    def client_way() -> str:  # what ConvoClient does with each frame
        builder = ReplyBuilder()
        for frame in frames:
            builder.feed(parse_frame(frame))
        return builder.finish().text

    def bare_way() -> str:
        return "".join(event["chunk"] for event in map(json.loads, frames) if event["type"] == "chunk")

    costs = {}
    for name, fold in (("ask", client_way), ("bare", bare_way)):
        best = float("inf")
        for _ in range(repeat):
            start = time.perf_counter()
            fold()
            best = min(best, time.perf_counter() - start)
        costs[name] = best / chunks
    return costs


# ---------------------------------------------------------------------- 2. memory


def rss_bytes() -> int | None:
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None


async def hold_open(client: ConvoClient, n: int, run: str) -> list[Reply]:
    replies = await asyncio.gather(*(client.ask_async(f"hold {run} {n}") for _ in range(n)))
    bad = [r for r in replies if r.status != "complete" or r.text != "first " + "".join(HOLD_WORDS)]
    if bad:
        raise SystemExit(f"{len(bad)} of {n} held replies went wrong, e.g. {bad[0]!r}")
    return replies


async def peak_rss_while(work: asyncio.Future) -> int:
    """Sample VmRSS every 2 ms until ``work`` is done; the highest value seen."""
    peak = 0
    while not work.done():
        peak = max(peak, rss_bytes() or 0)
        await asyncio.sleep(0.002)
    await work
    return peak


def rss_per_conversation(client: ConvoClient, n: int) -> tuple[int, int] | None:
    if rss_bytes() is None:
        return None
    gc.collect()
    baseline = rss_bytes() or 0

    async def measure() -> int:
        return await peak_rss_while(asyncio.ensure_future(hold_open(client, n, "rss")))

    return baseline, asyncio.run(measure())


async def bare_hold_open(url: str, n: int, run: str) -> list[str]:
    """The reference: the same n conversations over bare websockets connections."""

    def request() -> str:
        data = build_interact(agent_id=AGENT_ID, convo_id=str(uuid.uuid4()), prompt=f"hold {run} {n}")
        return json.dumps(data, ensure_ascii=False)

    return await asyncio.gather(*(bare_receive(url, request()) for _ in range(n)))


def traced(hold: Callable[[], object]) -> tuple[int, int, int]:
    """(baseline, peak, retained once the results are dropped) around ``hold()``, by tracemalloc."""
    gc.collect()
    tracemalloc.start()
    try:
        baseline = tracemalloc.get_traced_memory()[0]
        tracemalloc.reset_peak()
        results = hold()
        peak = tracemalloc.get_traced_memory()[1]
        del results
        time.sleep(0.2)  # let the IO thread finish closing the sockets
        gc.collect()
        retained = tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()
    return baseline, peak, retained


def memory(url: str, n: int) -> dict[str, tuple[int, ...] | None]:
    client = ConvoClient(url=url, agent_id=AGENT_ID, idle_timeout=60, open_timeout=30)
    asyncio.run(hold_open(client, 10, "warm-up"))  # start the IO thread, import lazily loaded modules
    return {
        "rss": rss_per_conversation(client, n),  # first: tracemalloc itself would add to RSS
        "traced": traced(lambda: asyncio.run(hold_open(client, n, "traced"))),
        "bare": traced(lambda: asyncio.run(bare_hold_open(url, n, "bare"))),
    }


# ---------------------------------------------------------------------- report


def kib(n: float) -> str:
    return f"{n / 1024:,.1f} KiB"


def mib(n: float) -> str:
    return f"{n / 2**20:,.1f} MiB"


def report(timings: dict[str, list[Timing]], frame_cost: dict[str, float], mem: dict, args) -> None:
    chunks, n = args.chunks, args.concurrent
    med = {
        name: Timing(statistics.median(t.wall for t in ts), statistics.median(t.cpu for t in ts))
        for name, ts in timings.items()
    }
    wall_ratio = med["ask"].wall / med["bare"].wall
    verdict = "met" if wall_ratio <= 1.3 else "NOT met"
    print(
        f"convowidget client benchmark: Python {platform.python_version()}, websockets {websockets.__version__}, "
        f"{platform.system()} {platform.machine()}"
    )
    print("The embedded server runs in a separate process: every figure below is the client process's alone.")
    print()
    print(f"1. Throughput: one reply of {chunks:,} chunks, chunk_delay=0, {args.rounds} rounds after a warm-up")
    print(f"   {'':28}{'median wall':>14}{'median CPU':>14}{'chunks/s':>12}{'per frame':>12}")
    for label, name in (("(a) client.ask()", "ask"), ("(b) bare websockets loop", "bare")):
        m = med[name]
        per_frame = f"{frame_cost[name] * 1e6:.1f} us"
        print(f"   {label:28}{m.wall:>12.3f} s{m.cpu:>12.3f} s{chunks / m.wall:>12,.0f}{per_frame:>12}")
    print(
        f"   {'ratio a / b':28}{wall_ratio:>13.2f}x{med['ask'].cpu / med['bare'].cpu:>13.2f}x{'':12}"
        f"{frame_cost['ask'] / frame_cost['bare']:>11.2f}x"
    )
    print(f"   target: ratio of wall-clock medians <= 1.3x: {verdict}")
    for name, ts in timings.items():
        print(f"   {name} rounds (wall s): " + " ".join(f"{t.wall:.3f}" for t in ts))
    print("   'per frame': best of 5, folding the frames already in memory into text (no network, no server):")
    print("   the client's own cost per chunk.")
    if med["ask"].cpu < 0.8 * med["ask"].wall:
        print("   The client's CPU was well under the wall clock: it waited on the server, so the wall-clock ratio")
        print("   says how much ask() slows a reply from this server, not how fast ask() could go.")
    print()
    print(f"2. Memory per open conversation: {n} concurrent calls, all {n} open at once")
    base, peak, retained = mem["traced"]
    print(f"   tracemalloc, ask_async(): peak - baseline = {mib(peak - base)} -> {kib((peak - base) / n)} each")
    print(f"                still allocated once the replies were dropped: {kib(retained - base)}")
    if mem["rss"] is None:
        print("   VmRSS: not available (no /proc/self/status)")
    else:
        base, peak = mem["rss"]
        print(
            f"   VmRSS, ask_async():       peak - baseline = {mib(peak - base)} -> {kib((peak - base) / n)} each "
            f"(baseline {mib(base)}, peak {mib(peak)})"
        )
    base, peak, _ = mem["bare"]
    print(f"   reference, bare websockets: tracemalloc peak - baseline -> {kib((peak - base) / n)} each")
    print("   Both clients negotiate permessage-deflate (websockets' default): its zlib state is part of every")
    print(f"   figure. Replies held: {n} Reply objects are included; kernel socket buffers are not.")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--chunks", type=int, default=20_000)
    parser.add_argument("--concurrent", type=int, default=200)
    args = parser.parse_args()
    with ServerProcess() as url:
        mem = memory(url, args.concurrent)  # first, on a fresh heap: the long replies would leave it grown
        timings = throughput(url, args.chunks, args.rounds)
    report(timings, per_frame_cost(args.chunks), mem, args)


if __name__ == "__main__":
    main()
