"""The ``convowidget`` command: serve the embedded agent, ask a question, test an agent, run the demo."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import os
import shutil
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ._files import check_writable
from ._options import whole
from ._terminal import json_visible, visible
from ._terminal_reply import reply_lines
from .client import ConvoClient
from .errors import ConfigurationError, ConvoError, StreamError
from .protocol import REGIONS, InvalidEvent, encode_event
from .reply import Reply, ReplyBuilder

if TYPE_CHECKING:
    from .results import SuiteResult

_EPILOG = """examples:
  convowidget demo                      JupyterLab on the demo notebooks, local demo agent
  convowidget serve --port 8765         the embedded server, for your own notebooks and scripts
  convowidget ask "How do I install it?"            ask the local demo agent
  convowidget ask --agent-id ID --region na "Hi"    ask a real Convocore agent
    (owner id and token come from CONVOCORE_OWNER_ID and CONVOCORE_TOKEN)
  convowidget test agent-tests.yaml --agent-id ID --junit results.xml   test an agent (CI)
  convowidget test agent-tests.yaml --demo --record session.jsonl       record a session
  convowidget test agent-tests.yaml --replay session.jsonl              test offline, from it
  convowidget serve --replay session.jsonl                              serve a recorded session
"""


def _positive(text: str) -> int:
    """argparse type: a whole number of at least 1 (a bad one exits 2 with argparse's message)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number of at least 1, got {value}")
    return value


def _pace(text: str) -> float:
    """argparse type: a replay's pace, a number of at least 0."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not 0 <= value < float("inf"):
        raise argparse.ArgumentTypeError(f"expected a number of at least 0, got {text}")
    return value


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="convowidget",
        description="Chat with a Convocore AI agent from Jupyter notebooks and the terminal.",
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    _serve_options(
        commands.add_parser(
            "serve", help="run the embedded Convocore-compatible server: the demo agent, or a recorded session"
        )
    )
    _test_options(
        commands.add_parser(
            "test",
            help="run an agent test suite (YAML or JSON); exit 0 all passed, 1 failures, 2 bad suite",
            description="Run each scenario of the suite as one conversation with the agent and check every reply. "
            "Exit status: 0 all passed, 1 some failed, 2 the suite or the options are wrong, 130 interrupted.",
        )
    )
    _ask_options(
        commands.add_parser(
            "ask",
            help="send one prompt and stream the reply to the terminal",
            description="Send one prompt and stream the reply. With no agent configured (no --agent-id, "
            "--url or CONVOCORE_* variables) the local demo agent answers.",
        )
    )
    _demo_options(commands.add_parser("demo", help="start JupyterLab on the demo notebooks with the local demo agent"))
    return parser


def _serve_options(serve: argparse.ArgumentParser) -> None:
    serve.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1: this machine only)")
    serve.add_argument("--port", type=int, default=8765, help="port (default 8765; 0 picks a free one)")
    serve.add_argument("--chunk-delay", type=float, default=0.02, help="seconds between streamed chunks (default 0.02)")
    serve.add_argument(
        "--replay", type=Path, metavar="CASSETTE", help="answer from a cassette recorded with --record or record=..."
    )
    serve.add_argument(
        "--pace", type=_pace, default=1.0, help="with --replay: 1 as recorded (default), 0.5 twice as fast, 0 at once"
    )


def _test_options(test: argparse.ArgumentParser) -> None:
    test.add_argument("suite", type=Path, help="the suite file (.yaml, .yml or .json)")
    test.add_argument("--url", help="WebSocket address (or CONVOCORE_URL)")
    test.add_argument("--agent-id", help="Convocore agent id (or CONVOCORE_AGENT_ID)")
    test.add_argument("--region", choices=sorted(REGIONS), help="eu or na (or CONVOCORE_REGION; default eu)")
    test.add_argument("--concurrency", type=_positive, default=8, help="conversations at once (default 8)")
    test.add_argument("--repeat", type=_positive, default=1, help="run each scenario N times; report the pass rate")
    test.add_argument(
        "--stop-on-failure", action="store_true", help="skip the rest of a scenario's turns after a failed one"
    )
    test.add_argument("--junit", type=Path, metavar="FILE", help="write JUnit XML (one testcase per scenario)")
    test.add_argument("--html", type=Path, metavar="FILE", help="write the results view as a standalone HTML page")
    test.add_argument("--json", action="store_true", help="print the whole result as JSON (the summary goes to stderr)")
    test.add_argument("--record", type=Path, metavar="FILE", help="append every exchange to this cassette")
    test.add_argument("--replay", type=Path, metavar="CASSETTE", help="test against a recorded session, offline")
    test.add_argument("--pace", type=_pace, default=0.0, help="with --replay: 0 at once (default), 1 as recorded")
    test.add_argument("--demo", action="store_true", help="test the local demo agent")
    test.add_argument("--idle-timeout", type=float, default=60.0, help="seconds of silence before a reply fails")


def _ask_options(ask: argparse.ArgumentParser) -> None:
    ask.add_argument("prompt", help="what to say to the agent")
    ask.add_argument("--agent-id", help="Convocore agent id (or CONVOCORE_AGENT_ID)")
    ask.add_argument("--region", choices=sorted(REGIONS), help="eu or na (or CONVOCORE_REGION; default eu)")
    ask.add_argument("--url", help="WebSocket address, e.g. ws://127.0.0.1:8765/interact (or CONVOCORE_URL)")
    ask.add_argument("--convo-id", help="continue this conversation")
    ask.add_argument("--idle-timeout", type=float, default=60.0, help="seconds of silence before giving up")
    ask.add_argument("--json", action="store_true", help="print every event as a JSON line instead of text")


def _demo_options(demo: argparse.ArgumentParser) -> None:
    demo.add_argument("--no-browser", action="store_true", help="do not open a browser; print the URL")
    demo.add_argument("--port", type=int, default=8888, help="JupyterLab's port (default 8888)")
    demo.add_argument(
        "--dir",
        type=Path,
        default=None,
        help="folder for the demo notebooks, kept between runs (default: ~/.local/share/convowidget/demo-notebooks)",
    )


def _configured(args: argparse.Namespace) -> bool:
    return bool(args.agent_id or args.url or os.environ.get("CONVOCORE_AGENT_ID") or os.environ.get("CONVOCORE_URL"))


async def _stream(client: ConvoClient, args: argparse.Namespace) -> int:
    builder = ReplyBuilder(args.prompt)
    failure = None
    try:
        async for event in client.stream(args.prompt, args.convo_id):
            builder.feed(event)
            if args.json:
                line = {"type": "invalid", "reason": event.reason} if isinstance(event, InvalidEvent) else None
                print(json_visible(json.dumps(line) if line else encode_event(event)), flush=True)
            elif event.type == "chunk" and not getattr(event, "ui_engine", False):
                print(visible(getattr(event, "text", "")), end="", flush=True)
    except StreamError as exc:
        failure = exc
    if not args.json:  # what the reply carried besides its text, even when it failed part way
        _print_rest(builder.finish("failed" if failure else "complete", str(failure) if failure else None))
    if failure is not None:
        print(f"\nconvowidget: the reply failed: {visible(str(failure))}", file=sys.stderr)
        return 1
    return 0


def _print_rest(reply: Reply) -> None:
    """After the streamed text: the reply's blocks, tool calls, sources and usage line; then its warnings."""
    streamed = bool(reply.chunks)
    if streamed:
        print()  # ends the streamed text's last line
    lines = reply_lines(reply)
    if lines:
        print("\n".join(["", *lines] if streamed else lines), flush=True)
    for warning in reply.warnings:
        print(f"warning: {visible(warning)}", file=sys.stderr)


def _ask(args: argparse.Namespace) -> int:
    if _configured(args):
        options: dict[str, Any] = {"agent_id": args.agent_id, "region": args.region, "url": args.url}
        client = ConvoClient(idle_timeout=args.idle_timeout, **options)
        return asyncio.run(_stream(client, args))
    from .server import serve

    print("(no agent configured: the local demo agent answers)", file=sys.stderr)
    with serve() as server:
        client = ConvoClient(url=server.url, agent_id="demo", idle_timeout=args.idle_timeout)
        return asyncio.run(_stream(client, args))


@contextlib.contextmanager
def _test_target(args: argparse.Namespace) -> Iterator[dict[str, Any]]:
    """Client options for ``convowidget test``: the agent given, or a local server (demo or replay)."""
    if args.replay or args.demo:
        if args.replay and args.demo:
            raise ConfigurationError("pass --demo or --replay CASSETTE, not both")
        if args.agent_id or args.url:
            raise ConfigurationError("--demo and --replay test a local server: drop --url and --agent-id")
        from .server import serve

        options: dict[str, Any] = {"replay": args.replay, "pace": args.pace} if args.replay else {}
        with serve(**options) as server:
            print(f"testing against: {visible(server.label)}", file=sys.stderr, flush=True)
            yield {"url": server.url, "agent_id": "demo"}
        return
    if not _configured(args):
        raise ConfigurationError(
            "no agent to test: pass --agent-id (or set CONVOCORE_AGENT_ID), --url, --demo or --replay CASSETTE"
        )
    yield {"agent_id": args.agent_id, "region": args.region, "url": args.url}


def _summary(result: SuiteResult) -> list[str]:
    """The failures, the latency, and last a plain line such as ``3 passed, 1 failed in 2.1 s``."""
    lines = []
    for scenario in result.scenarios:
        if scenario.status != "passed":
            lines.append(f"{scenario.status.upper()}: {scenario.name}")
            lines.extend(f"    {failure}" for failure in scenario.failures)
    latency = result.latency()
    if latency["first_chunk_p50"] is not None:
        lines.append(
            f"first chunk p50 {latency['first_chunk_p50']:.2f} s, p95 {latency['first_chunk_p95']:.2f} s; "
            f"whole reply p50 {latency['reply_p50']:.2f} s, p95 {latency['reply_p95']:.2f} s"
        )
    counts = f"{result.passed} passed, {result.failed} failed"
    if result.not_run:
        counts += f", {result.not_run} not run"
    if result.repeat > 1:
        counts += f" ({result.pass_rate:.0%} of {len(result.runs)} runs passed)"
    if result.interrupted:
        counts += ", interrupted"
    lines.append(f"{counts} in {result.elapsed:.1f} s")
    return lines


def _test(args: argparse.Namespace) -> int:
    from .runner import run_suite
    from .suite import Suite, load_suite

    suite = load_suite(args.suite)  # a bad suite stops here, before anything is sent (exit 2)
    if visible(suite.name) != suite.name:  # the progress bar shows it on the terminal
        suite = Suite(suite.scenarios, visible(suite.name))
    with _test_target(args) as options:
        client = ConvoClient(idle_timeout=args.idle_timeout, record=args.record, **options)
        result = run_suite(
            client,
            suite,
            concurrency=args.concurrency,
            repeat=args.repeat,
            stop_on_failure=args.stop_on_failure,
            progress=sys.stderr.isatty(),
        )
    if args.junit:
        result.to_junit(args.junit)
    if args.html:
        result.to_html(args.html)
    if args.json:
        print(json_visible(result.to_json()))
    print(visible("\n".join(_summary(result))), file=sys.stderr if args.json else sys.stdout, flush=True)
    if result.interrupted:
        return 130
    return 0 if result.ok else 1


def _check_chunk_delay(seconds: float) -> float:
    """``--chunk-delay``: NaN, infinity (``1e400`` too) or a negative delay would stall every reply."""
    if not (math.isfinite(seconds) and seconds >= 0):
        raise ConfigurationError(f"--chunk-delay: expected a number of seconds of at least 0, got {seconds:g}")
    return seconds


def _serve(args: argparse.Namespace) -> int:
    from .server import serve

    _check_chunk_delay(args.chunk_delay)
    replay = {"replay": args.replay, "pace": args.pace} if args.replay else {}
    server = serve(host=args.host, port=args.port, chunk_delay=args.chunk_delay, **replay)

    async def run() -> None:
        async with server:
            what = f"replay of {args.replay.name}" if args.replay else "demo agent"
            print(visible(f"convowidget embedded server ({what}) on {server.url}"), flush=True)
            print("Press Ctrl+C to stop.", flush=True)
            await asyncio.Future()

    try:
        asyncio.run(run())
    except KeyboardInterrupt:
        print("stopped")
    return 0


def _notebooks() -> list[Path]:
    """The demo notebooks: the repository's own, or the copies inside an installed wheel."""
    here = Path(__file__).resolve().parent
    for folder in (here.parent / "notebooks", here / "_notebooks"):
        found = sorted(folder.glob("*.ipynb"))
        if any(path.name == "quickstart.ipynb" for path in found):
            return found
    raise ConvoError("the demo notebooks are missing from this installation; reinstall convowidget")


def _demo_folder() -> Path:
    """Where ``convowidget demo`` keeps its notebooks between runs, so edits survive."""
    data = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(data) / "convowidget" / "demo-notebooks"


def _copy_notebooks(folder: Path) -> list[str]:
    """Copy each demo notebook that is not in ``folder`` yet; never overwrite an edited one."""
    folder.mkdir(parents=True, exist_ok=True)
    added = []
    for source in _notebooks():
        target = folder / source.name
        if not target.exists():
            shutil.copyfile(source, target)
            added.append(source.name)
    return added


def _free_port(preferred: int) -> int:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", preferred))
        except OSError:
            sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _demo(args: argparse.Namespace) -> int:
    from .server import serve

    folder = args.dir or _demo_folder()
    added = _copy_notebooks(folder)
    with serve() as server:
        env = {**os.environ, "CONVOWIDGET_DEMO_URL": server.url}
        port = _free_port(args.port)
        command = [
            sys.executable, "-m", "jupyterlab", f"--port={port}", "--ServerApp.ip=127.0.0.1",
            f"--ServerApp.root_dir={folder}", "--LabApp.default_url=/lab/tree/quickstart.ipynb",
        ]  # fmt: skip
        if args.no_browser:
            command.append("--no-browser")
        if hasattr(os, "geteuid") and os.geteuid() == 0:
            command.append("--allow-root")  # containers and CI machines often run as root
        print(f"convowidget demo: demo agent on {server.url}; notebooks in {folder}", flush=True)
        kept = "new copies of the demo notebooks" if added else "your copies, edits kept"
        print(f"({kept}; delete the folder to start over with fresh ones)", flush=True)
        print("JupyterLab prints its address below (with its token). Press Ctrl+C to stop.", flush=True)
        process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        previous = signal.signal(signal.SIGTERM, _stop_on_sigterm)
        try:
            _relay(process)
            return process.wait()
        except KeyboardInterrupt:
            return 0
        finally:  # never leave JupyterLab running behind us, however we were stopped
            signal.signal(signal.SIGTERM, previous)
            _stop(process)


def _stop_on_sigterm(signum: int, frame: object) -> None:
    """A process manager's SIGTERM stops the demo as Ctrl+C does, JupyterLab included."""
    raise KeyboardInterrupt


def _stop(process: subprocess.Popen[str]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _relay(process: subprocess.Popen[str]) -> None:
    """Pass JupyterLab's output through, less one known, harmless start-up failure.

    JupyterLab asks its bundled yarn for the npm registry at start-up; with Node.js 20
    that prints a page of minified JavaScript, though nothing needs it to serve.
    """
    assert process.stdout is not None
    skipping = False
    for line in process.stdout:
        if "Fail to get yarn configuration" in line:
            skipping = True
            print("(JupyterLab could not read its yarn configuration; harmless, details hidden)", flush=True)
        elif skipping and line.startswith("["):
            skipping = False
        if not skipping:
            print(line, end="", flush=True)


def _check_inputs(args: argparse.Namespace) -> None:
    """What can be checked before any work: the port, and that each output file can be written.

    Input files (a suite, a cassette) are read first thing by the command itself.
    """
    if getattr(args, "port", None) is not None:
        whole("--port", args.port, least=0, most=65535, wanted="a port from 0 to 65535 (0 picks a free one)")
    for option, what in (("junit", "the JUnit file"), ("html", "the HTML page"), ("record", "the cassette")):
        path = getattr(args, option, None)
        if path is not None:
            try:
                check_writable(path)
            except ConfigurationError as exc:
                raise ConfigurationError(f"--{option}: cannot write {what} {path}: {exc}") from None


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    try:
        _check_inputs(args)
        return {"serve": _serve, "ask": _ask, "test": _test, "demo": _demo}[args.command](args)
    except ConvoError as exc:
        print(f"convowidget: {visible(str(exc))}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("convowidget: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
