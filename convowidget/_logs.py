"""The loggers handed to websockets' connections, held quiet so they never print secrets.

websockets logs handshake headers (the token) and frames (owner id, e-mail) at DEBUG.
Its connections, the client's and the server's, get a logger from ``wire_logger``: held at
INFO, and filtering out DEBUG records, whatever the root logger's level is.
"""

from __future__ import annotations

import logging

__all__ = ["wire_logger"]


def _above_debug(record: logging.LogRecord) -> bool:
    return record.levelno > logging.DEBUG


def wire_logger(name: str) -> logging.Logger:
    """The logger ``name``, set never to pass on websockets' DEBUG records."""
    logger = logging.getLogger(name)
    logger.setLevel(logging.INFO)
    if _above_debug not in logger.filters:
        logger.addFilter(_above_debug)
    return logger
