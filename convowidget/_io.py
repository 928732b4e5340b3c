"""The package's private IO thread: one daemon thread running one asyncio event loop.

Blocking calls submit coroutines here and wait on the future, so they work inside a
notebook whose own loop is already running (no nest_asyncio). Every WebSocket call and
every widget trait write happens on this one thread.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable, Coroutine
from concurrent.futures import Future
from typing import Any, TypeVar

T = TypeVar("T")

log = logging.getLogger("convowidget.io")

_lock = threading.Lock()
_loop: asyncio.AbstractEventLoop | None = None
_thread: threading.Thread | None = None


def io_loop() -> asyncio.AbstractEventLoop:
    """The IO thread's loop, starting the thread on first use."""
    global _loop, _thread
    with _lock:
        if _loop is None or _thread is None or not _thread.is_alive():
            loop = asyncio.new_event_loop()
            ready = threading.Event()

            def run() -> None:
                asyncio.set_event_loop(loop)
                loop.call_soon(ready.set)
                _run_until_stopped(loop)

            thread = threading.Thread(target=run, name="convowidget-io", daemon=True)
            thread.start()
            ready.wait()
            _loop, _thread = loop, thread
        return _loop


def _run_until_stopped(loop: asyncio.AbstractEventLoop) -> None:
    """Run the loop for good: SystemExit or KeyboardInterrupt from a callback (user code
    run on this thread) would otherwise end the thread and hang every later call."""
    while True:
        try:
            loop.run_forever()
            return  # stopped on purpose
        except BaseException as exc:  # this thread must outlive any callback
            log.warning("a callback on convowidget's IO thread raised %s; the thread goes on", type(exc).__name__)


def on_io_thread() -> bool:
    """True when called from the IO thread itself (where blocking would deadlock)."""
    return _thread is not None and threading.current_thread() is _thread


def submit(coro: Coroutine[Any, Any, T]) -> Future[T]:
    """Schedule a coroutine on the IO thread; returns a thread-safe future."""
    return asyncio.run_coroutine_threadsafe(coro, io_loop())


def call_soon(callback: Any, *args: Any) -> None:
    """Run a plain callback on the IO thread."""
    io_loop().call_soon_threadsafe(callback, *args)


def wait(future: Future[T], stop: Callable[[], None]) -> T:
    """Block for a reply; a KeyboardInterrupt (the kernel's stop) stops it and still returns it."""
    try:
        return future.result()
    except KeyboardInterrupt:
        stop()
        return future.result()


async def wait_async(future: Future[T], stop: Callable[[], None]) -> T:
    """Await a reply from any loop; cancelling the caller stops the reply too."""
    try:
        return await asyncio.wrap_future(future)
    except asyncio.CancelledError:
        stop()
        raise
