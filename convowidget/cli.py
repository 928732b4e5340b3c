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
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ._files import check_writable
from ._options import whole
from ._terminal import json_visible, visible
from ._terminal_reply import reply_lines
from ._terminal_summary import multi_summary, summary_lines
from ._urls import safe_url
from .client import ConvoClient
from .errors import ConfigurationError, ConvoError, StreamError
from .protocol import REGIONS, InvalidEvent, encode_event
from .reply import Reply, ReplyBuilder

if TYPE_CHECKING:
    from .results import MultiResult, SuiteResult
    from .suite import Suite

_EPILOG = """examples:
  convowidget demo                      JupyterLab on the demo notebooks, local demo agent
  convowidget serve --port 8765         the embedded server, for your own notebooks and scripts
  convowidget ask "How do I install it?"            ask the local demo agent
  convowidget ask --agent-id ID --region na "Hi"    ask a real Convocore agent
    (owner id and token come from CONVOCORE_OWNER_ID and CONVOCORE_TOKEN)
  convowidget test agent-tests.yaml --agent-id ID --junit results.xml   test an agent (CI)
  convowidget test agent-tests.yaml --demo --record session.jsonl       record a session
  convowidget test agent-tests.yaml --replay session.jsonl              test offline, from it
  convowidget test agent-tests.yaml --demo --repeat 10 --json-file run.json   pass rates, kept
  convowidget test agent-tests.yaml --demo --rerun-failed run.json      only what failed there
  convowidget test agent-tests.yaml --demo --compare-url ws://127.0.0.1:9000/interact --html cmp.html
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
    test.add_argument("--json-file", type=Path, metavar="FILE", help="write the whole result as JSON to FILE")
    test.add_argument(
        "--rerun-failed",
        type=Path,
        metavar="RESULTS",
        help="run only the scenarios that failed in RESULTS (a --json or --json-file result of an earlier run)",
    )
    test.add_argument(
        "--compare-url",
        metavar="URL",
        help="also run the suite against the agent at URL (same agent id and settings) and compare the two",
    )
    test.add_argument(
        "--record",
        type=Path,
        metavar="FILE",
        help="record every exchange to this cassette, replacing the ones recorded again",
    )
    test.add_argument(
        "--update-snapshots", action="store_true", help="store each reply beside the suite (SUITE.snapshots.json)"
    )
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


def _rerun_only(suite: Suite, previous: SuiteResult, path: Path) -> Suite | None:
    """The scenarios of ``suite`` that failed in ``previous``; None (said why) when there are none."""
    failed = [scenario.name for scenario in previous.scenarios if scenario.status == "failed"]
    names = {scenario.name for scenario in suite.scenarios}
    gone = [name for name in failed if name not in names]
    if gone:
        listed = ", ".join(repr(name) for name in gone)
        print(visible(f"note: no longer in the suite, so not run: {listed}"), file=sys.stderr)
    kept = [name for name in failed if name in names]
    if not kept:
        why = "still in the suite" if failed else "failed there"
        print(visible(f"--rerun-failed: no scenario that {why} ({path.name}); nothing to run"), file=sys.stderr)
        return None
    print(
        visible(f"re-running {len(kept)} of {len(names)} scenarios: those that failed in {path.name}"), file=sys.stderr
    )
    return suite.only(kept)


def _labels(args: argparse.Namespace, first: ConvoClient, second: ConvoClient) -> tuple[str, str]:
    """Names for the two agents of ``--compare-url``: what the first is, and the second's address."""
    if args.demo:
        name = "demo"
    elif args.replay:
        name = f"replay of {args.replay.name}"
    else:
        name = safe_url(first.url)
    other = safe_url(second.url)
    return name, other if other != name else f"{other} (2)"


def _test(args: argparse.Namespace) -> int:
    from ._snapshots import store_snapshots
    from .cassette import Recorder
    from .runner import run_suite
    from .suite import Suite, load_suite

    suite = load_suite(args.suite, update_snapshots=args.update_snapshots)  # a bad suite stops here (exit 2)
    if visible(suite.name) != suite.name:  # the progress bar shows it on the terminal
        suite = Suite(suite.scenarios, visible(suite.name), suite.volatile, suite.min_pass_rate)
    if args.compare_url and args.record:
        raise ConfigurationError("--record records one agent: drop --record or --compare-url")
    if args.compare_url and args.update_snapshots:
        raise ConfigurationError("--update-snapshots stores one agent's replies: drop it or --compare-url")
    if args.rerun_failed:
        chosen = _rerun_only(suite, args.previous, args.rerun_failed)
        if chosen is None:
            return 0
        suite = chosen
    options: dict[str, Any] = {
        "concurrency": args.concurrency,
        "repeat": args.repeat,
        "stop_on_failure": args.stop_on_failure,
        "progress": sys.stderr.isatty(),
    }
    recorder = Recorder(args.record) if args.record else None  # an existing cassette is read first
    with _test_target(args) as target:
        client = ConvoClient(idle_timeout=args.idle_timeout, record=recorder, **target)
        result: SuiteResult | MultiResult
        if args.compare_url:
            same: dict[str, Any] = {key: target.get(key) for key in ("agent_id", "region")}
            other = ConvoClient(url=args.compare_url, idle_timeout=args.idle_timeout, **same)
            first, second = _labels(args, client, other)
            result = run_suite(suite, clients={first: client, second: other}, **options)
        else:
            result = run_suite(client, suite, **options)
    notes = []  # printed above the summary
    if recorder is not None:  # re-recorded exchanges replace the old ones: the cassette is refreshed, not grown
        notes.append(f"cassette {recorder.path.name}: {recorder.refresh()}")
    if args.update_snapshots and not isinstance(result, Mapping) and not result.interrupted:
        notes.append(f"snapshots: stored in {store_snapshots(args.suite, suite.name, result.runs).name}")
    return _report(args, result, notes)


def _report(args: argparse.Namespace, result: SuiteResult | MultiResult, notes: list[str]) -> int:
    """Write the files asked for, print the notes and the summary, and give the exit status (0, 1 or 130)."""
    if args.junit:
        result.to_junit(args.junit)
    if args.html:
        result.to_html(args.html)
    if args.json_file:
        result.to_json(args.json_file)
    if args.json:
        print(json_visible(result.to_json()))
    lines = multi_summary(result) if isinstance(result, Mapping) else summary_lines(result)
    print(visible("\n".join([*notes, *lines])), file=sys.stderr if args.json else sys.stdout, flush=True)
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
    """What can be checked before any work: the port, each output file can be written, and
    ``--rerun-failed`` names a result (read here, kept as ``args.previous``).

    The other input files (a suite, a cassette) are read first thing by the command itself.
    """
    if getattr(args, "port", None) is not None:
        whole("--port", args.port, least=0, most=65535, wanted="a port from 0 to 65535 (0 picks a free one)")
    outputs = (("junit", "the JUnit file"), ("html", "the HTML page"), ("record", "the cassette"))
    for option, what in (*outputs, ("json_file", "the JSON result")):
        path = getattr(args, option, None)
        if path is not None:
            try:
                check_writable(path)
            except ConfigurationError as exc:
                flag = "--" + option.replace("_", "-")
                raise ConfigurationError(f"{flag}: cannot write {what} {path}: {exc}") from None
    if getattr(args, "rerun_failed", None) is not None:
        from .results import SuiteResult

        try:
            args.previous = SuiteResult.load(args.rerun_failed)
        except ConfigurationError as exc:
            raise ConfigurationError(f"--rerun-failed: {exc}") from None


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
