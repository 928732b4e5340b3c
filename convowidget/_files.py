"""Files named by people: read only regular ones, up to a size; check outputs before the work.

``/dev/zero`` as a suite read until memory ran out, and a FIFO blocked forever; an output
path that could not be written was found only after a whole run. ``read_text`` opens
without blocking and refuses anything but a regular file (or one over ``most_bytes``);
``check_writable`` opens an output for appending at once, and leaves no file behind.
Both raise ``ConfigurationError`` holding the reason alone: the caller says which file.
"""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

from .errors import ConfigurationError

__all__ = ["check_writable", "read_text"]

_KINDS = (
    (stat.S_ISDIR, "a folder"),
    (stat.S_ISFIFO, "a FIFO (named pipe)"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
)
_NONBLOCK = getattr(os, "O_NONBLOCK", 0)  # opening a FIFO must not wait for a writer


def _kind(mode: int) -> str:
    return next((name for test, name in _KINDS if test(mode)), "something other than a regular file")


def _size(size: int) -> str:
    return f"{size / 2**20:g} MiB" if size >= 2**20 else f"{size:,} bytes"


def read_text(path: str | os.PathLike[str], *, most_bytes: int | None = None, what: str = "the file") -> str:
    """The UTF-8 text of a regular file of at most ``most_bytes`` (``what`` names it in the error).

    ``FileNotFoundError``, ``UnicodeDecodeError`` and other ``OSError`` come through as
    reading raises them; a folder, device, FIFO or socket, or a file over the limit,
    raises ``ConfigurationError``.
    """
    descriptor = os.open(path, os.O_RDONLY | _NONBLOCK)
    with open(descriptor, "rb") as file:
        mode = os.fstat(descriptor).st_mode
        if not stat.S_ISREG(mode):
            raise ConfigurationError(f"the file is {_kind(mode)}; give the path of a regular file")
        data = file.read() if most_bytes is None else file.read(most_bytes + 1)
    if most_bytes is not None and len(data) > most_bytes:
        raise ConfigurationError(f"the file is larger than {_size(most_bytes)}, the most {what} may hold")
    return data.decode("utf-8")


def check_writable(path: str | os.PathLike[str]) -> None:
    """Raise ``ConfigurationError`` unless ``path`` can be written (opened for appending) now.

    A file that did not exist is created to find out, then removed; an existing one is
    left as it was. A FIFO with no reader is refused rather than waited on.
    """
    target = Path(path)
    existed = os.path.lexists(target)
    try:
        descriptor = os.open(target, os.O_WRONLY | os.O_APPEND | os.O_CREAT | _NONBLOCK, 0o666)
    except OSError as exc:
        reason = "it is a FIFO (named pipe) that nothing reads" if exc.errno == errno.ENXIO else exc.strerror
        raise ConfigurationError(reason or str(exc)) from None
    os.close(descriptor)
    if not existed:
        target.unlink(missing_ok=True)
