"""WebSocket addresses: which ones the client accepts, and how they are shown.

A URL's user info, query string and fragment may hold secrets (a password, an API key),
so messages and reprs show ``safe_url(url)``, and every message built from a library's
text passes through ``redact`` before anyone sees it.
"""

from __future__ import annotations

import ipaddress
import re
import unicodedata
from urllib.parse import unquote, urlsplit

from websockets.exceptions import InvalidURI
from websockets.uri import parse_uri

from .errors import ConfigurationError, InsecureURLError

__all__ = ["check_url", "is_loopback", "redact", "safe_url"]


def is_loopback(host: str | None) -> bool:
    """True for localhost, 127.0.0.0/8 and ::1."""
    if not host:
        return False
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def safe_url(url: str) -> str:
    """The URL without user info, query or fragment, fit for messages and reprs; never raises."""
    try:
        parts = urlsplit(url)
        port = f":{parts.port}" if parts.port else ""
    except (ValueError, TypeError):
        return "(an address that is not valid)"
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    return f"{parts.scheme}://{host}{port}{parts.path}"


_DELIMITERS = re.compile(r"[:/@?#&=;,+\s]+")


def _secret_parts(url: str) -> set[str]:
    """Every piece of ``url`` that may be secret (user info, query, fragment), however it is split.

    A password holding ``/``, ``?`` or ``#`` is split differently by different parsers, so
    the pieces of each reading are all collected, whole and word by word, raw and decoded.
    """
    rest = url.partition("://")[2] or url
    pieces: set[str] = set()
    if "@" in rest:
        pieces.add(rest.rpartition("@")[0])  # everything before the last '@' may be user info
    authority = re.split(r"[/?#]", rest, maxsplit=1)[0]
    if "@" in authority:
        pieces.add(authority.rpartition("@")[0])
    for mark in "?#":
        if mark in rest:
            pieces.add(rest.partition(mark)[2])
    try:
        parts = urlsplit(url)
        pieces.update(p for p in (parts.username, parts.password, parts.query, parts.fragment) if p)
    except ValueError:
        pass
    found: set[str] = set()
    for piece in pieces:
        for form in (piece, unquote(piece)):
            found.add(form)
            found.update(_DELIMITERS.split(form))
    return {piece for piece in found if len(piece) >= 2}


def redact(text: str, url: str) -> str:
    """``text`` without ``url`` or any secret part of it (user info, query string, fragment).

    Library messages quote the address they were given (websockets' ``InvalidURI``,
    urllib's port errors), so every error the client builds passes through here.
    """
    if not text or not isinstance(url, str) or not url:
        return text
    safe = safe_url(url)
    text = text.replace(url, safe)
    keep = set(_DELIMITERS.split(safe))
    for piece in sorted(_secret_parts(url) - keep, key=len, reverse=True):
        if len(piece) >= 4:
            text = text.replace(piece, "***")
        else:  # a short piece only as a word of its own, so other words keep their letters
            text = re.sub(rf"(?<![0-9A-Za-z]){re.escape(piece)}(?![0-9A-Za-z])", "***", text)
    return text


_ENCODE_HINT = "; a user name or password holding / ? # or @ must percent-encode them (%2F %3F %23 %40)"


def check_url(url: object, *, allow_insecure: bool = False) -> str:
    """Refuse anything but ``wss://``, or ``ws://`` to this machine, and any address that
    parsers could read in two ways. Messages never quote the address's secret parts."""
    if not isinstance(url, str):
        raise ConfigurationError(f"url: expected a string, got {type(url).__name__}")
    try:
        return _check_url(url, allow_insecure)
    except ConfigurationError as exc:
        raise type(exc)(redact(str(exc), url)) from None


def _check_url(url: str, allow_insecure: bool) -> str:
    for position, char in enumerate(url):
        if char.isspace() or unicodedata.category(char).startswith("C"):
            raise ConfigurationError(
                f"url: holds a space or control character at position {position}; "
                "remove it (or percent-encode a space as %20)"
            )
    scheme, _, rest = url.partition("://")
    if scheme.lower() not in ("ws", "wss") or not rest:
        raise ConfigurationError(
            "url: not a WebSocket address; it must start with wss:// (or ws:// for a server on this machine)"
        )
    hint = _ENCODE_HINT if "@" in url else ""
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises on a bad port
    except ValueError:
        raise ConfigurationError(f"url: not a valid address: the port is not a number from 0 to 65535{hint}") from None
    if not parts.hostname:
        raise ConfigurationError(f"url: not a valid address: no host name{hint}")
    if "@" in url[len(parts.scheme) + 3 + len(parts.netloc) :]:
        raise ConfigurationError(f"url: '@' after the host name is ambiguous{_ENCODE_HINT}")
    if "#" in url:
        raise ConfigurationError("url: a WebSocket address has no #fragment; remove it")
    try:
        parse_uri(url)
    except InvalidURI as exc:
        raise ConfigurationError(f"url: not a valid WebSocket address: {exc.msg}") from None
    except ValueError:  # user info that is not valid percent-encoded UTF-8
        raise ConfigurationError(f"url: not a valid WebSocket address{hint}") from None
    if parts.scheme == "ws" and not allow_insecure and not is_loopback(parts.hostname):
        raise InsecureURLError(
            f"url: plain ws:// to {parts.hostname} would send your conversation unencrypted; "
            "use wss://, or pass allow_insecure=True if you really mean it"
        )
    return url
