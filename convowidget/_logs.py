"""The loggers handed to websockets' connections: quiet per ask, and never printing secrets.

websockets logs handshake headers (the token) and frames (owner id, e-mail) at DEBUG.
Its connections, the client's and the server's, get a logger from ``wire_logger``: held at
INFO, so websockets never builds those records, and filtering out any DEBUG record.

websockets also logs "connection open" and "connection closed" at INFO for each
connection, so three asks under ``logging.basicConfig(level=logging.INFO)`` printed nine
lines. Those, and a server's "closing" and "closed", go to DEBUG on a logger of their own
(``convowidget.server.connections`` beside ``convowidget.server.websockets``). What remains
(a server listening, a refused handshake, a handler that failed) obeys the level the
application set for the logger's parent, not the INFO it is held at.
"""

from __future__ import annotations

import logging

__all__ = ["wire_logger"]

# Said for every connection, and at the end of every ``with serve()`` block.
_ROUTINE = frozenset({"connection open", "connection closed", "server closing", "server closed"})


class _WireFilter(logging.Filter):
    """Drops DEBUG records, sends routine lines to DEBUG elsewhere, honours the parent's level."""

    def __init__(self, logger: logging.Logger, routine: logging.Logger) -> None:
        super().__init__()
        self._logger = logger  # its parent is looked up each time: a logger made later can become it
        self._routine = routine

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno <= logging.DEBUG:
            return False
        if record.levelno == logging.INFO and record.msg in _ROUTINE:
            self._routine.debug("%s", record.msg)
            return False
        parent = self._logger.parent or logging.getLogger()
        return record.levelno >= parent.getEffectiveLevel()


def wire_logger(name: str) -> logging.Logger:
    """The logger ``name`` (``a.b.websockets``), filtered as above; its routine lines go to ``a.b.connections``."""
    logger = logging.getLogger(name)
    logger.setLevel(logging.INFO)
    if not any(isinstance(existing, _WireFilter) for existing in logger.filters):
        routine = logging.getLogger(f"{name.rpartition('.')[0]}.connections")
        logger.addFilter(_WireFilter(logger, routine))
    return logger
