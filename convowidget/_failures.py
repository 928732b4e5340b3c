"""Failures in words: what went wrong with a connection, said so that a person can act on it.

Each message names the cause first (no internet, nothing listening, an untrusted
certificate, a refused token, a server error) with what to do about it, and ends with the
technical detail in parentheses for whoever needs it. Library texts can quote the address,
secrets included, so the client passes every message through ``redact`` last.
"""

from __future__ import annotations

import asyncio
import errno
import http
import re
import socket
import ssl
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

from websockets.exceptions import (
    ConnectionClosed,
    InvalidHandshake,
    InvalidMessage,
    InvalidProxy,
    InvalidProxyStatus,
    InvalidStatus,
    ProxyError,
)

from ._retry import RETRY_STATUSES, retry_after_seconds
from ._urls import is_loopback, safe_url
from .protocol import NO_RECORDING, CloseCode

__all__ = [
    "KEPT",
    "OpenFailure",
    "amount",
    "callback_failure",
    "close_failure",
    "describe",
    "open_failure",
    "unexpected_failure",
]

KEPT = "the text so far is kept"
_DETAIL_LIMIT = 300  # characters of a library's text worth showing
_UNREACHABLE = {errno.ENETUNREACH, errno.EHOSTUNREACH, errno.ENETDOWN, errno.EHOSTDOWN}
_NOT_TLS = {"WRONG_VERSION_NUMBER", "HTTP_REQUEST", "RECORD_LAYER_FAILURE", "PACKET_LENGTH_TOO_LONG"}
_CERTIFICATE_PROBLEMS = {  # OpenSSL's verify codes
    9: "the server's certificate is not valid yet (is this machine's clock right?)",
    10: "the server's certificate has expired",
    18: "the server's certificate is self-signed, so it is not trusted",
    19: "the server's certificate chain is self-signed, so it is not trusted",
    20: "the server's certificate is not trusted (its issuer is unknown on this machine)",
    62: "the server's certificate is for another name",
    64: "the server's certificate is for another address",
}
# What a close code means, and what to do about it (RFC 6455 section 7.4.1, IANA registry).
_CLOSE_MEANINGS = {
    CloseCode.GOING_AWAY: (
        "the server went away before the reply finished (it is shutting down or restarting)",
        "Try again",
    ),
    CloseCode.PROTOCOL_ERROR: (
        "the server ended the reply over a WebSocket protocol error",
        "Report this to the server's owner",
    ),
    CloseCode.UNSUPPORTED_DATA: (
        "the server could not accept the kind of data it was sent",
        "Check the request's fields",
    ),
    CloseCode.INVALID_DATA: ("the server could not read the request", "Check the prompt and the extra fields"),
    CloseCode.POLICY_VIOLATION: (
        "the server rejected the request",
        "Check the agent id, the token and the request's fields",
    ),
    CloseCode.MESSAGE_TOO_BIG: (
        "the server rejected the request as too big",
        "Send a shorter prompt or fewer extra fields",
    ),
    CloseCode.INTERNAL_ERROR: ("the server had an internal error and ended the reply", "Try again later"),
    CloseCode.SERVICE_RESTART: ("the server is restarting", "Try again in a moment"),
    CloseCode.TRY_AGAIN_LATER: ("the server is overloaded", "Try again later"),
    CloseCode.BAD_GATEWAY: ("a gateway in front of the server got a bad answer from it", "Try again later"),
    # convowidget's replay server sends it for a prompt its cassette lacks.
    NO_RECORDING: (
        "the server has no reply to this prompt",
        "A replay knows only what its cassette recorded: record this conversation first",
    ),
}


@dataclass(frozen=True)
class OpenFailure:
    """Why a connection could not be opened, and whether trying again soon may help."""

    message: str
    retryable: bool = False  # the request surely never left, and the same attempt may work later
    retry_after: str | None = None  # the server's Retry-After header, when it sent one


def amount(size: int) -> str:
    """A byte count as people write it: ``16 MiB``, ``512 KiB``, ``1000 bytes``."""
    for unit, scale in (("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if size % scale == 0:
            return f"{size // scale} {unit}"
    return f"{size} bytes"


def describe(exc: BaseException) -> str:
    """``Type: detail`` for any exception (even one whose ``__str__`` raises), kept short."""
    try:
        detail = exc.strerror if isinstance(exc, OSError) and isinstance(exc.strerror, str) else str(exc)
    except Exception:
        detail = ""
    detail = re.sub(r" \(_ssl\.c:\d+\)", "", detail).strip()
    if len(detail) > _DETAIL_LIMIT:
        detail = detail[: _DETAIL_LIMIT - 1] + "…"
    return f"{type(exc).__name__}: {detail}" if detail else type(exc).__name__


def callback_failure(name: str, exc: BaseException) -> str:
    """A user callback raised: name it and its exception, which is what its author needs."""
    return f"your {name} callback raised {describe(exc)}; the reply ended there and {KEPT}"


def unexpected_failure(exc: BaseException, *, receiving: bool) -> str:
    """A failure no other sentence covers: a bug here or in a library, worth reporting."""
    where = "while receiving the reply" if receiving else "in convowidget"
    return f"something unexpected went wrong {where}; {KEPT}. ({describe(exc)})"


# ---------------------------------------------------------------------------- opening


def open_failure(exc: BaseException, url: str, *, open_timeout: float, proxy: str | None = None) -> OpenFailure:
    """Why ``url`` could not be opened, as the user should read it.

    ``proxy`` is the proxy the connection went through, if any: failures to reach it are
    reported as the proxy's, not the server's.
    """
    where = safe_url(url)
    if isinstance(exc, InvalidStatus):
        return _refused_with_status(exc, url)
    if isinstance(exc, (TimeoutError, asyncio.TimeoutError)):
        through = f" (through the proxy {safe_url(proxy)})" if proxy else ""
        return OpenFailure(
            f"no answer from {where}{through} within open_timeout={open_timeout:g} s: "
            "the server is slow or unreachable; raise open_timeout or check the network",
            retryable=True,
        )
    if isinstance(exc, (ProxyError, InvalidProxy)):
        return OpenFailure(_proxy_failure(exc, where))
    if isinstance(exc, ssl.SSLError):
        return OpenFailure(_tls_failure(exc, url))
    refused = _is_refused(exc)
    if proxy and isinstance(exc, OSError):
        return OpenFailure(_proxy_unreachable(exc, proxy, refused), retryable=refused)
    return _network_failure(exc, url, where, refused)


def _network_failure(exc: BaseException, url: str, where: str, refused: bool) -> OpenFailure:
    """Why the server itself could not be reached: no DNS, nothing listening, no route, not WebSocket."""
    host = urlsplit(url).hostname or where
    detail = describe(exc)
    if isinstance(exc, socket.gaierror):
        return OpenFailure(
            f"could not find the server {host}: this machine has no internet connection or the name "
            f"does not resolve (DNS). Check your network, or the url. ({detail})"
        )
    if refused:
        return OpenFailure(
            f"{where} refused the connection: nothing is listening there. "
            f"Is the server running, and is the port right? ({detail})",
            retryable=True,
        )
    if isinstance(exc, OSError) and exc.errno in _UNREACHABLE:
        return OpenFailure(
            f"could not reach {host}: there is no route to it from this machine (no network, "
            f"or a firewall or VPN in the way). Check your network. ({detail})"
        )
    if isinstance(exc, (ConnectionError, EOFError)):
        if urlsplit(url).scheme == "wss" and not isinstance(exc, EOFError) and exc.errno is None:
            return OpenFailure(
                f"the secure connection (TLS) to {where} failed: the server closed the connection during "
                f"the TLS handshake; it may not speak TLS on that port. Check the url's port. ({detail})"
            )
        return OpenFailure(
            f"{where} closed the connection during the handshake: it may not be a WebSocket server, "
            f"or the network cut it. Check the url's host and port. ({detail})"
        )
    if isinstance(exc, InvalidMessage):
        cause = exc.__cause__
        what = "closed the connection without answering" if isinstance(cause, EOFError) else "did not answer in HTTP"
        because = f"; {describe(cause)}" if cause is not None else ""
        return OpenFailure(
            f"{where} is not a WebSocket server: it {what}. Check the url's host and port. ({detail}{because})"
        )
    if isinstance(exc, InvalidHandshake):
        return OpenFailure(
            f"{where} answered the WebSocket handshake in a way convowidget cannot use. Check the url. ({detail})"
        )
    if isinstance(exc, OSError):
        return OpenFailure(
            f"could not connect to {where}: the network failed. Check your network and the url. ({detail})"
        )
    return OpenFailure(f"could not connect to {where}: something unexpected went wrong. ({detail})")


def _is_refused(exc: BaseException) -> bool:
    """Connection refused, also when asyncio tried several addresses and merged their errors."""
    if isinstance(exc, ConnectionRefusedError):
        return True
    if not isinstance(exc, OSError) or exc.errno is not None:
        return False
    codes = re.findall(r"\[Errno (\d+)\]", str(exc))
    return bool(codes) and all(int(code) == errno.ECONNREFUSED for code in codes)


def _http_status(code: int) -> str:
    try:
        return f"HTTP {code} {http.HTTPStatus(code).phrase}"
    except ValueError:
        return f"HTTP {code}"


def _refused_with_status(exc: InvalidStatus, url: str) -> OpenFailure:
    """The server answered the handshake with an HTTP status instead of 101."""
    where = safe_url(url)
    code = exc.response.status_code
    status = _http_status(code)
    if 300 <= code < 400:
        location = exc.response.headers.get("Location")
        try:
            target = safe_url(urljoin(url, location)) if location else "nowhere (no Location header)"
        except ValueError:
            target = "an address that is not valid"
        return OpenFailure(
            f"{where} answered with an HTTP {code} redirect to {target}; "
            "convowidget does not follow redirects: use the final address as url="
        )
    retry_after = exc.response.headers.get("Retry-After") if code in RETRY_STATUSES else None
    detail = status + (f", Retry-After: {retry_after[:40]}" if retry_after else "")
    seconds = retry_after_seconds(retry_after)
    wait = f" (the server asks to wait {round(seconds, 1):g} s)" if seconds is not None else ""
    if code in (401, 403):
        message = (
            f"{where} did not accept the credentials: the token or the agent id is wrong, or has no "
            f"access to this agent. Check token= (CONVOCORE_TOKEN) and agent_id=. ({detail})"
        )
    elif code == 404:
        message = (
            f"{where} has no agent service there: the url's path or the agent id is wrong. "
            f"Check the url (the usual path is /interact) and agent_id=. ({detail})"
        )
    elif code == 429:
        message = f"{where} is rate limiting: too many requests in a short time. Retry later{wait}. ({detail})"
    elif code >= 500:
        message = f"the service at {where} has a problem on its side: try again later{wait}. ({detail})"
    elif code < 300:
        message = (
            f"{where} is not a WebSocket server: it answered like a web page. Check the url. "
            f"({detail} instead of 101 Switching Protocols)"
        )
    else:
        message = f"{where} turned the connection down: check the url and agent_id=. ({detail})"
    return OpenFailure(message, retryable=code in RETRY_STATUSES, retry_after=retry_after)


def _tls_failure(exc: ssl.SSLError, url: str) -> str:
    where = safe_url(url)
    if isinstance(exc, ssl.SSLCertVerificationError):
        reason = _CERTIFICATE_PROBLEMS.get(exc.verify_code, "the server's certificate is not trusted")
        advice = (
            "On a company network that inspects traffic, point SSL_CERT_FILE at its certificate; "
            "otherwise check the url"
        )
    elif exc.reason in _NOT_TLS:
        reason = "the server does not speak TLS on that port"
        plain = ", or use ws:// for a plain server on this machine" if is_loopback(urlsplit(url).hostname) else ""
        advice = f"Check the url's port{plain}"
    elif isinstance(exc, ssl.SSLEOFError):
        reason = "the server closed the connection during the TLS handshake"
        advice = "It may not speak TLS on that port; check the url's port"
    else:
        words = (exc.reason or "handshake failure").replace("_", " ").lower()
        reason = f"the TLS handshake failed ({words})"
        advice = "Check the url, and this machine's clock and certificates"
    return f"the secure connection (TLS) to {where} failed: {reason}. {advice}. ({describe(exc)})"


def _proxy_failure(exc: ProxyError | InvalidProxy, where: str) -> str:
    if isinstance(exc, InvalidProxy):  # its text quotes the proxy's address, credentials included
        return f"the proxy set in the environment (https_proxy) is not usable: {exc.msg}. Fix or unset https_proxy."
    if isinstance(exc, InvalidProxyStatus):
        detail = f"the proxy answered {_http_status(exc.response.status_code)}"
    else:
        detail = describe(exc)
    return (
        f"could not connect to {where} through the proxy set in the environment (https_proxy): the proxy "
        f"turned the connection down. Check the proxy's settings, or add the host to no_proxy. ({detail})"
    )


def _proxy_unreachable(exc: OSError, proxy: str, refused: bool) -> str:
    if isinstance(exc, socket.gaierror):
        cause = "its name does not resolve (DNS)"
    elif refused:
        cause = "nothing is listening there"
    else:
        cause = "the network failed"
    return (
        f"could not reach the proxy {safe_url(proxy)} set in the environment (https_proxy): {cause}. "
        f"Check the proxy settings, or unset https_proxy. ({describe(exc)})"
    )


# ---------------------------------------------------------------------------- closing


def close_failure(exc: ConnectionClosed, *, max_size: int) -> str:
    """Why a reply's connection closed before the server closed it with 1000, in words."""
    ours = exc.sent is not None and (exc.rcvd is None or exc.rcvd_then_sent is False)
    if ours and exc.sent is not None:
        if exc.sent.code == CloseCode.MESSAGE_TOO_BIG:
            return (
                f"a message from the server was bigger than max_size={amount(max_size)}: "
                "raise ConvoClient(max_size=...) to accept it. (close code 1009)"
            )
        reason = f": {exc.sent.reason}" if exc.sent.reason else ""
        return (
            f"the server broke the WebSocket protocol, so convowidget closed the connection{reason}. "
            f"(close code {exc.sent.code})"
        )
    if exc.rcvd is None:
        return (
            "the connection dropped before the reply finished: the network or the server failed. "
            "Try again. (close code 1006, no close frame)"
        )
    code, reason = exc.rcvd.code, exc.rcvd.reason
    said = f': "{reason}"' if reason else ""
    meaning, advice = _CLOSE_MEANINGS.get(code, ("the server closed the connection before the reply finished", ""))
    advice = f" {advice}." if advice else ""
    return f"{meaning}{said}.{advice} (close code {code})"
