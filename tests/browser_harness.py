"""A real JupyterLab (or Notebook 7) server and Debian's Chromium, driven by Playwright.

The recipe that works on these machines: Chromium from /usr/bin/chromium with the flags
below, a server started on 127.0.0.1 with a token, notebooks with kernelspec metadata,
and cells run through the Run menu once the kernel says Idle.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def write_notebook(path: Path, cells: list[str]) -> None:
    """A notebook of code cells (a cell starting with '#md' is markdown), with kernelspec."""

    def cell(source: str) -> dict:
        if source.startswith("#md"):
            return {"cell_type": "markdown", "metadata": {}, "source": source[3:].strip()}
        return {"cell_type": "code", "metadata": {}, "source": source, "outputs": [], "execution_count": None}

    notebook = {
        "cells": [cell(source) for source in cells],
        "metadata": {
            "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"},
            "language_info": {"name": "python"},
        },
        "nbformat": 4,
        "nbformat_minor": 5,
    }
    path.write_text(json.dumps(notebook, indent=1))


class JupyterServer:
    """``jupyter lab`` or ``jupyter notebook`` on a free loopback port, in its own folders."""

    def __init__(self, root: Path, app: str = "lab") -> None:
        self.root = root
        self.app = app
        self.port = free_port()
        self.token = secrets.token_hex(16)
        self.process: subprocess.Popen[bytes] | None = None
        self.log = root / f"jupyter-{app}.log"

    def start(self, timeout: float = 90) -> JupyterServer:
        home = self.root / "home"
        notification = home / "settings" / "@jupyterlab" / "apputils-extension"
        notification.mkdir(parents=True, exist_ok=True)
        (notification / "notification.jupyterlab-settings").write_text(
            '{"fetchNews": "false", "checkForUpdates": false}'
        )
        (self.root / "work").mkdir(exist_ok=True)
        env = {k: v for k, v in os.environ.items() if not k.startswith("CONVOCORE_")}
        env.update(
            JUPYTER_CONFIG_DIR=str(home / "config"),
            JUPYTERLAB_SETTINGS_DIR=str(home / "settings"),
            JUPYTERLAB_WORKSPACES_DIR=str(home / "workspaces"),
            JUPYTER_RUNTIME_DIR=str(home / "runtime"),
            PYTHONUNBUFFERED="1",
        )
        command = [
            sys.executable, "-m", "jupyterlab" if self.app == "lab" else "notebook",
            "--no-browser", "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={self.port}",
            f"--ServerApp.token={self.token}", "--ServerApp.port_retries=0", "--allow-root",
            f"--ServerApp.root_dir={self.root / 'work'}", "--ServerApp.disable_check_xsrf=False",
        ]  # fmt: skip
        with open(self.log, "wb") as log:
            self.process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env)
        deadline = time.monotonic() + timeout
        url = f"http://127.0.0.1:{self.port}/api/status?token={self.token}"
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"jupyter {self.app} exited:\n{self.log.read_text()[-3000:]}")
            try:
                with urllib.request.urlopen(url, timeout=2):
                    return self
            except OSError:
                time.sleep(0.3)
        raise RuntimeError(f"jupyter {self.app} did not start in {timeout} s:\n{self.log.read_text()[-3000:]}")

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()
            self.process = None

    def notebook_url(self, name: str) -> str:
        """The notebook alone on the page: in JupyterLab a fresh workspace of its own."""
        if self.app == "lab":
            workspace = Path(name).stem
            return f"http://127.0.0.1:{self.port}/lab/workspaces/{workspace}/tree/{name}?reset&token={self.token}"
        return f"http://127.0.0.1:{self.port}/notebooks/{name}?token={self.token}"


@contextmanager
def chromium() -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            yield browser
        finally:
            browser.close()


def wait_for_kernel(page, server: JupyterServer) -> None:
    """Wait until the opened notebook's kernel is idle (Notebook 7 may still ask which kernel)."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    if server.app == "lab":
        page.locator(".jp-StatusBar-TextItem", has_text="Idle").first.wait_for()
        return
    page.locator(".jp-NotebookPanel").first.wait_for()
    picker = page.locator(".jp-Dialog").get_by_role("button", name="Select")
    try:
        picker.wait_for(timeout=5000)
        picker.click()
    except PlaywrightTimeout:
        pass
    page.locator(".jp-Notebook-ExecutionIndicator[data-status='idle']").first.wait_for()


def menu(page, top: str, item: str) -> None:
    """Click a JupyterLab menu item, e.g. menu(page, "Run", "Run All Cells")."""
    page.locator(".lm-MenuBar-itemLabel", has_text=re.compile(f"^{top}$")).click()
    page.locator(".lm-Menu-itemLabel", has_text=re.compile(f"^{item}$")).click()


def shot(target, name: str) -> Path:
    """A screenshot of a page or locator into test-artifacts/, with no hover state in it."""
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / name
    getattr(target, "page", target).mouse.move(0, 0)
    target.screenshot(path=str(path))
    return path


def open_and_run(page, server: JupyterServer, name: str, cells: list[str]) -> None:
    """Write the notebook, open it, wait for the kernel, then Run -> Run All Cells."""
    write_notebook(server.root / "work" / name, cells)
    page.goto(server.notebook_url(name))
    wait_for_kernel(page, server)
    menu(page, "Run", "Run All Cells")
    page.get_by_role("log").first.wait_for()


def shut_down_kernels(server: JupyterServer) -> None:
    """What the Kernel menu's "Shut Down All Kernels" does, through the REST API."""
    headers = {"Authorization": f"token {server.token}"}
    base = f"http://127.0.0.1:{server.port}/api/kernels"
    with urllib.request.urlopen(urllib.request.Request(base, headers=headers)) as response:
        kernels = json.load(response)
    for kernel in kernels:
        request = urllib.request.Request(f"{base}/{kernel['id']}", headers=headers, method="DELETE")
        urllib.request.urlopen(request).close()


def wait_for_saved_copy(page, text: str) -> None:
    """Wait until the copy under a panel (its pages, hidden while collapsed) holds ``text``."""
    page.wait_for_function(
        "text => [...document.querySelectorAll('[class^=cw-copy-]')].some(page => page.textContent.includes(text))",
        arg=text,
    )


def save_notebook(page, path: Path, timeout: float = 30.0) -> dict:
    """Save the open notebook with Ctrl+S and wait until the file on disk is rewritten; return it parsed.

    Focus the notebook first (a cell's prompt): the shortcut is JupyterLab's.
    """
    before = path.stat().st_mtime_ns
    page.keyboard.press("Control+s")
    deadline = time.monotonic() + timeout
    while path.stat().st_mtime_ns == before:
        assert time.monotonic() < deadline, f"{path.name} was not saved within {timeout:g} s"
        time.sleep(0.1)
    while True:  # the server may still be writing the file it has just truncated
        try:
            return json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError:
            assert time.monotonic() < deadline, f"{path.name} was not whole JSON within {timeout:g} s"
            time.sleep(0.1)


@contextmanager
def marimo_server(app: Path) -> Iterator[str]:
    """``marimo run`` on the app file ``app`` on a free loopback port; yields its URL.

    marimo's own config and state stay in the app's folder (its HOME).
    """
    port, token = free_port(), secrets.token_hex(8)
    env = {k: v for k, v in os.environ.items() if not k.startswith("CONVOCORE_")}
    env["HOME"] = str(app.parent)
    command = [sys.executable, "-m", "marimo", "run", str(app), "--headless", "--host", "127.0.0.1",
               "--port", str(port), "--token-password", token]  # fmt: skip
    log_path = app.parent / "marimo.log"
    with open(log_path, "wb") as log:
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env, cwd=app.parent)
        try:
            deadline = time.monotonic() + 60
            while True:
                assert process.poll() is None, log_path.read_text()
                try:
                    with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2):
                        break
                except OSError:
                    assert time.monotonic() < deadline, "marimo did not start"
                    time.sleep(0.3)
            yield f"http://127.0.0.1:{port}/?access_token={token}"
        finally:
            process.terminate()
            try:
                process.wait(15)
            except subprocess.TimeoutExpired:
                process.kill()


@contextmanager
def main_thread_tasks(page) -> Iterator[list[tuple[float, float]]]:
    """Chromium's trace of the page's main thread while the block runs: on exit the list
    holds, for each task, its wall time and its thread (CPU) time in ms.

    The PerformanceObserver's long tasks are wall time, which on a busy machine includes
    time the renderer waited for a CPU; the thread time is the work itself.
    """
    cdp = page.context.new_cdp_session(page)
    events: list[dict] = []
    done: list[bool] = []
    cdp.on("Tracing.dataCollected", lambda params: events.extend(params["value"]))
    cdp.on("Tracing.tracingComplete", lambda params: done.append(True))
    categories = "devtools.timeline,disabled-by-default-devtools.timeline"
    cdp.send("Tracing.start", {"categories": categories, "transferMode": "ReportEvents"})
    tasks: list[tuple[float, float]] = []
    try:
        yield tasks
    finally:
        cdp.send("Tracing.end")
        while not done:
            page.wait_for_timeout(50)
        cdp.detach()
    frames = [e["tid"] for e in events if e.get("name") == "FireAnimationFrame"]
    main = max(set(frames), key=frames.count) if frames else None
    tasks += [
        (e["dur"] / 1000, e.get("tdur", e["dur"]) / 1000)
        for e in events
        if e.get("name") == "RunTask" and e.get("ph") == "X" and e.get("tid") == main
    ]
