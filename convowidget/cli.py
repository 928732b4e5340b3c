"""The ``convowidget`` command: serve the embedded agent, ask a question, run the demo."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

from .client import ConvoClient
from .errors import ConvoError, StreamError
from .protocol import REGIONS, InvalidEvent, encode_event
from .reply import ReplyBuilder

_EPILOG = """examples:
  convowidget demo                      JupyterLab on the demo notebooks, local demo agent
  convowidget serve --port 8765         the embedded server, for your own notebooks and scripts
  convowidget ask "How do I install it?"            ask the local demo agent
  convowidget ask --agent-id ID --region na "Hi"    ask a real Convocore agent
    (owner id and token come from CONVOCORE_OWNER_ID and CONVOCORE_TOKEN)
"""


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="convowidget",
        description="Chat with a Convocore AI agent from Jupyter notebooks and the terminal.",
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    serve = commands.add_parser("serve", help="run the embedded Convocore-compatible server with its demo agent")
    serve.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1: this machine only)")
    serve.add_argument("--port", type=int, default=8765, help="port (default 8765; 0 picks a free one)")
    serve.add_argument("--chunk-delay", type=float, default=0.02, help="seconds between streamed chunks (default 0.02)")

    ask = commands.add_parser(
        "ask",
        help="send one prompt and stream the reply to the terminal",
        description="Send one prompt and stream the reply. With no agent configured (no --agent-id, "
        "--url or CONVOCORE_* variables) the local demo agent answers.",
    )
    ask.add_argument("prompt", help="what to say to the agent")
    ask.add_argument("--agent-id", help="Convocore agent id (or CONVOCORE_AGENT_ID)")
    ask.add_argument("--region", choices=sorted(REGIONS), help="eu or na (or CONVOCORE_REGION; default eu)")
    ask.add_argument("--url", help="WebSocket address, e.g. ws://127.0.0.1:8765/interact (or CONVOCORE_URL)")
    ask.add_argument("--convo-id", help="continue this conversation")
    ask.add_argument("--idle-timeout", type=float, default=60.0, help="seconds of silence before giving up")
    ask.add_argument("--json", action="store_true", help="print every event as a JSON line instead of text")

    demo = commands.add_parser("demo", help="start JupyterLab on the demo notebooks with the local demo agent")
    demo.add_argument("--no-browser", action="store_true", help="do not open a browser; print the URL")
    demo.add_argument("--port", type=int, default=8888, help="JupyterLab's port (default 8888)")
    demo.add_argument(
        "--dir",
        type=Path,
        default=None,
        help="folder for the demo notebooks, kept between runs (default: ~/.local/share/convowidget/demo-notebooks)",
    )
    return parser


def _configured(args: argparse.Namespace) -> bool:
    return bool(args.agent_id or args.url or os.environ.get("CONVOCORE_AGENT_ID") or os.environ.get("CONVOCORE_URL"))


async def _stream(client: ConvoClient, args: argparse.Namespace) -> int:
    builder = ReplyBuilder(args.prompt)
    try:
        async for event in client.stream(args.prompt, args.convo_id):
            builder.feed(event)
            if args.json:
                line = {"type": "invalid", "reason": event.reason} if isinstance(event, InvalidEvent) else None
                print(json.dumps(line) if line else encode_event(event), flush=True)
            elif event.type == "chunk" and not getattr(event, "ui_engine", False):
                print(getattr(event, "text", ""), end="", flush=True)
    except StreamError as exc:
        print(f"\nconvowidget: the reply failed: {exc}", file=sys.stderr)
        return 1
    reply = builder.finish()
    if not args.json:
        if reply.ui_turn is not None:
            print(reply.text, end="")
        print()
        if reply.sources:
            print("\nSources: " + ", ".join(reply.sources))
        if reply.handoff:
            print("\n(The agent asked for a human to take over.)")
        for warning in reply.warnings:
            print(f"warning: {warning}", file=sys.stderr)
    return 0


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


def _serve(args: argparse.Namespace) -> int:
    from .server import serve

    server = serve(host=args.host, port=args.port, chunk_delay=args.chunk_delay)

    async def run() -> None:
        async with server:
            print(f"convowidget embedded server (demo agent) on {server.url}", flush=True)
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
        try:
            _relay(process)
            return process.wait()
        except KeyboardInterrupt:
            process.terminate()
            process.wait(20)
            return 0


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


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    try:
        return {"serve": _serve, "ask": _ask, "demo": _demo}[args.command](args)
    except ConvoError as exc:
        print(f"convowidget: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
