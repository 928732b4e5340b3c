"""The Convocore *interact* protocol as pure data: no sockets, threads or asyncio.

``build_interact`` makes and checks the one JSON object a client sends; ``parse_frame``
turns each frame the server sends into a typed event. Both are shared by the client and
the embedded server, so the two cannot drift apart. ``loads`` is the one JSON reader for
anything that came off the wire: it bounds nesting and refuses NaN, so hostile input is
a readable ``ValueError``, never a ``RecursionError``; ``dumps`` is the one writer of
frames. ``Close`` and the close codes by name (``CloseCode``, ``NO_RECORDING``) say how
a connection ended, for the transport, the server and cassettes alike.

It runs past 450 lines on purpose: it is the whole wire format in one place, which the
client and the server must read alike; split, the halves could drift apart.
"""

from __future__ import annotations

import json
import math
import re
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar, NamedTuple
from urllib.parse import urlsplit

from websockets.frames import CloseCode as CloseCode  # the close codes by name, for every module

from .errors import ConfigurationError


class Region(NamedTuple):
    url: str
    bucket: str


REGIONS: dict[str, Region] = {
    "eu": Region("wss://eu-gcp-api.vg-stuff.com/interact", "voiceglow-eu"),
    "na": Region("wss://na-gcp-api.vg-stuff.com/interact", "(default)"),
}
# The origins the web docs list. Not a closed set: the service takes any non-empty
# string (the reference client also sends "whatsapp" and "sms"), and so do we.
ORIGINS = ("web-chat", "discord", "messenger", "instagram", "gb-chat")

# Optional fields the reference client sends, with the JSON type each must have
# (``object``: any JSON value; ``replyTo`` is a message reference object there).
OPTIONAL_FIELDS: dict[str, type | tuple[type, ...]] = {
    "sessionId": str,
    "disableUiEngine": bool,
    "disableRecordHistory": bool,
    "turnsHistory": list,
    "messageType": str,
    "actionMetadata": dict,
    "replyTo": object,
    "isTest": bool,
    "agentProfileId": str,
    "formSubmissionMetadata": dict,
    "visualPayload": dict,
    "workspaceData": dict,
    "variablesOverrides": dict,
    "initNodesOptions": dict,
    "toolTest": dict,
    "v2": bool,
}
_CORE_FIELDS = ("agentId", "convoId", "bucket", "prompt", "agentData")
# lightConvoData keys that build_interact's own arguments set.
_LIGHT_ARGUMENTS = {"origin": "origin", "userName": "user_name", "userEmail": "user_email", "userPhone": "user_phone"}

# ---------------------------------------------------------------------------- JSON and text

MAX_DEPTH = 64
"""How deeply JSON arrays and objects may nest in anything read off the wire."""

_SURROGATE = re.compile("[\ud800-\udfff]")
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")
# A JSON string (an unterminated one runs to the end, so a scan never backtracks) or a bracket.


class _NotFinite(ValueError):
    """NaN, Infinity, or a number too large for a float: JSON has no such values."""


def _refuse_constant(name: str) -> Any:
    raise _NotFinite(f"JSON holding {name}, which standard JSON does not allow")


def _finite_float(text: str) -> float:
    value = float(text)
    if math.isinf(value):
        raise _NotFinite(f"JSON holding a number too large for a float ({text[:20]}{'…' if len(text) > 20 else ''})")
    return value


_DECODER = json.JSONDecoder(parse_constant=_refuse_constant, parse_float=_finite_float)


def _nested_deeper_than(value: Any, limit: int) -> bool:
    """True when parsed JSON ``value`` nests arrays and objects deeper than ``limit``.

    Walks the parsed value without recursion, so its cost is the number of containers
    and items, not the length of the text: a long history of long strings is cheap.
    """
    if not isinstance(value, (dict, list, tuple)):
        return False
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        children = node.values() if isinstance(node, dict) else node
        for child in children:
            if isinstance(child, (dict, list, tuple)):
                if depth + 1 > limit:
                    return True
                stack.append((child, depth + 1))
    return False


def _decode(frame: str | bytes) -> str:
    if isinstance(frame, str):
        return frame
    if isinstance(frame, (bytes, bytearray, memoryview)):
        try:
            return bytes(frame).decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ValueError(f"not JSON: the bytes are not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    raise ValueError(f"not JSON: expected text or bytes, got {type(frame).__name__}")


def loads(frame: str | bytes) -> Any:
    """``json.loads`` for untrusted input: raises ``ValueError`` with a readable reason.

    Refused: text that is not JSON, bytes that are not UTF-8, arrays and objects nested
    deeper than ``MAX_DEPTH``, NaN and Infinity (and numbers that overflow a float), and
    integers longer than Python reads. Never raises ``RecursionError``. The reason reads
    after "the frame is": ``not JSON (...)``, ``JSON nested deeper than 64 levels ...``.
    """
    text = frame if isinstance(frame, str) else _decode(frame)
    too_deep = f"JSON nested deeper than {MAX_DEPTH} levels of arrays and objects"
    try:
        value = _DECODER.decode(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"not JSON ({exc.msg} at line {exc.lineno}, column {exc.colno})") from None
    except _NotFinite as exc:
        raise ValueError(str(exc)) from None
    except ValueError as exc:
        if "digits" not in str(exc):
            raise ValueError(f"not JSON ({exc})") from None
        limit = getattr(sys, "get_int_max_str_digits", lambda: 4300)()  # Python's limit on an int's digits
        raise ValueError(f"JSON holding a number with more than {limit} digits") from None
    except RecursionError:  # deeper than Python's own recursion limit
        raise ValueError(too_deep) from None
    many_brackets = text.count("[") + text.count("{") > MAX_DEPTH  # the common case: too few to nest that deep
    if many_brackets and _nested_deeper_than(value, MAX_DEPTH):
        raise ValueError(too_deep)
    return value


def dumps(data: Any) -> str:
    """The JSON frame for ``data``: text unescaped unless it holds a lone surrogate.

    Then the frame escapes it (``\\ud83d``), as a JavaScript server would, so the frame is
    still valid UTF-8.
    """
    frame = json.dumps(data, ensure_ascii=False)
    return json.dumps(data) if has_lone_surrogate(frame) else frame


def has_lone_surrogate(text: str) -> bool:
    """True when ``text`` holds a surrogate code point (half of a UTF-16 pair): not encodable as UTF-8."""
    return not text.isascii() and _SURROGATE.search(text) is not None


def may_hold_surrogates(text: str) -> bool:
    """True when JSON ``text`` holds a surrogate, as a character or as a ``\\uD800``-``\\uDFFF`` escape.

    Cheap: one substring test for ASCII text without escapes, the common case.
    """
    return ("\\u" in text and _SURROGATE_ESCAPE.search(text) is not None) or has_lone_surrogate(text)


def fix_surrogates(text: str) -> str:
    """Join each high+low surrogate pair into one character; each lone half becomes U+FFFD."""
    return text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")


def scrub(value: Any) -> tuple[Any, int]:
    """``value`` (parsed JSON) with every string, keys included, fixed by ``fix_surrogates``.

    Returns the clean value and how many lone surrogates became U+FFFD. Containers are
    rebuilt; the input is not changed. Meant for ``loads`` output, which nests at most
    ``MAX_DEPTH`` deep; anything deeper is cut off (``None``) rather than recursed into.
    """
    replaced = [0]

    def text(s: str) -> str:
        if not has_lone_surrogate(s):
            return s
        fixed = fix_surrogates(s)
        replaced[0] += fixed.count("\ufffd") - s.count("\ufffd")
        return fixed

    def walk(item: Any, depth: int) -> Any:
        if isinstance(item, str):
            return text(item)
        if isinstance(item, (dict, list)) and depth >= MAX_DEPTH:
            return None
        if isinstance(item, dict):
            return {(text(k) if isinstance(k, str) else k): walk(v, depth + 1) for k, v in item.items()}
        if isinstance(item, list):
            return [walk(v, depth + 1) for v in item]
        return item

    clean = walk(value, 0)
    return clean, replaced[0]


# ---------------------------------------------------------------------------- requests


def region_info(region: str) -> Region:
    """The endpoint and bucket of a region name (``eu`` or ``na``)."""
    try:
        return REGIONS[region]
    except (KeyError, TypeError):
        raise ConfigurationError(f"region: unknown region {region!r}; use one of {', '.join(REGIONS)}") from None


def _surrogate_error(name: str, text: str) -> ConfigurationError:
    match = _SURROGATE.search(text)
    where = match.start() if match else 0
    return ConfigurationError(
        f"{name}: contains an unpaired surrogate (half of a UTF-16 character pair) at character {where}, "
        "which cannot be sent as UTF-8; remove it or pass the whole character"
    )


def _require_text(name: str, value: object, *, blank_ok: bool = False) -> str:
    """``value`` as a string to send: a surrogate pair becomes its one character; a lone half is an error."""
    if not isinstance(value, str):
        raise ConfigurationError(f"{name}: expected a string, got {type(value).__name__}")
    if not blank_ok and not value.strip():
        raise ConfigurationError(f"{name}: must not be empty or blank")
    if has_lone_surrogate(value):
        try:
            return value.encode("utf-16-le", "surrogatepass").decode("utf-16-le")
        except UnicodeDecodeError:
            raise _surrogate_error(name, value) from None
    return value


def _require_json(name: str, value: object, depth_limit: int) -> None:
    """Raise ``ConfigurationError`` naming ``name`` unless ``value`` is JSON the server will read."""
    try:
        encoded = json.dumps(value, allow_nan=False, ensure_ascii=False)
    except TypeError as exc:
        raise ConfigurationError(f"{name}: not JSON-serialisable ({exc})") from None
    except ValueError as exc:
        reason = "refers to itself" if "ircular" in str(exc) else "holds NaN or Infinity, which JSON does not allow"
        raise ConfigurationError(f"{name}: {reason}") from None
    except RecursionError:
        raise ConfigurationError(f"{name}: nested too deeply to send") from None
    if has_lone_surrogate(encoded):
        raise _surrogate_error(name, encoded)
    if _nested_deeper_than(value, depth_limit):
        raise ConfigurationError(f"{name}: nested deeper than {depth_limit} levels; the server would refuse it")


def _field_name(key: object) -> str:
    return fix_surrogates(key) if isinstance(key, str) else repr(key)


MAX_URL_LENGTH = 8192


def https_address(text: object) -> tuple[str, str] | None:
    """``(url, host)`` when ``text`` is a plain https URL that a browser loads as written; else None.

    Refused: other schemes, no host, user info (``https://a@b``), whitespace and control
    characters, backslashes and percent-escapes in the host: browsers rewrite those, so
    the host a reader is shown would not be the host loaded. Used for iFrame addresses
    and images sent with a prompt.
    """
    if not isinstance(text, str) or not 0 < len(text) <= MAX_URL_LENGTH:
        return None
    if not text.isprintable() or " " in text or "\\" in text:  # also refuses lone surrogates
        return None
    try:
        parts = urlsplit(text)
        host = parts.hostname
        parts.port  # noqa: B018 (raises ValueError for a port that is not a number in range)
    except ValueError:
        return None
    if parts.scheme != "https" or not host or "@" in parts.netloc or "%" in parts.netloc:
        return None
    return text, host


def _visual_fields(prompt: str, images: object) -> dict[str, Any]:
    """``messageType`` and ``visualPayload`` for a prompt sent with images; {} for no images.

    The wire shape is the reference client's ``InteractVisualPayload`` (``types.ts``):
    ``{images, image, imageCount, message}``; the service's own documentation says nothing.
    """
    if isinstance(images, (str, bytes)) or not isinstance(images, Sequence):
        raise ConfigurationError(f"images: expected a list of https image URLs, got {type(images).__name__}")
    for position, image in enumerate(images):
        if not isinstance(image, str):
            raise ConfigurationError(f"images[{position}]: expected an https URL string, got {type(image).__name__}")
        if https_address(image) is None:
            raise ConfigurationError(
                f"images[{position}]: not an https URL; only https image addresses (with a host, "
                "and no spaces or user name in them) can be sent"
            )
    if not images:
        return {}
    urls = list(images)
    payload = {"images": urls, "image": urls[0], "imageCount": len(urls), "message": prompt}
    return {"messageType": "visual", "visualPayload": payload}


def visual_images(request: dict[str, Any]) -> list[str]:
    """The image addresses a received request carries: ``visualPayload.images``, else its
    ``image``, when ``messageType`` is ``"visual"``; [] otherwise. Strings only, as sent."""
    payload = request.get("visualPayload")
    if request.get("messageType") != "visual" or not isinstance(payload, dict):
        return []
    images = payload.get("images")
    if not isinstance(images, list) or not images:
        images = [payload.get("image")]
    return [image for image in images if isinstance(image, str) and image]


def build_interact(
    *,
    agent_id: str | None,
    convo_id: str,
    prompt: str,
    region: str = "eu",
    owner_id: str | None = None,
    user_id: str | None = None,
    user_name: str | None = None,
    user_email: str | None = None,
    user_phone: str | None = None,
    origin: str = "web-chat",
    extra: dict[str, Any] | None = None,
    images: Sequence[str] | None = None,
) -> dict[str, Any]:
    """Build and validate the interact object; raise ``ConfigurationError`` naming the field.

    ``extra`` holds optional protocol fields by their wire names (``sessionId``,
    ``isTest``...); known ones are type-checked, unknown ones pass through untouched, and
    every one must be JSON (no NaN, no lone surrogates). ``extra={"lightConvoData":
    {...}}`` adds keys (``userImage``, ``capturedVariables``...) to ``lightConvoData``.
    ``origin`` is any non-empty string; ``ORIGINS`` lists the documented ones.
    ``images`` (https URLs) sends the prompt as a visual message: ``messageType: "visual"``
    and ``visualPayload: {images, image, imageCount, message}``, the shape of the
    reference client's types (the service documents none).
    """
    if agent_id is None or (isinstance(agent_id, str) and not agent_id.strip()):
        raise ConfigurationError("agent_id: no agent id given; pass agent_id=... or set CONVOCORE_AGENT_ID")
    request: dict[str, Any] = {
        "agentId": _require_text("agent_id", agent_id),
        "convoId": _require_text("convo_id", convo_id),
        "bucket": region_info(region).bucket,
        "prompt": _require_text("prompt", prompt),
    }
    light: dict[str, Any] = {"origin": _require_text("origin", origin)}
    if owner_id is not None or user_id is not None:
        owner = _require_text("owner_id" if owner_id is not None else "user_id", owner_id or user_id)
        user = _require_text("user_id" if user_id is not None else "owner_id", user_id or owner_id)
        request["agentData"] = {"ownerID": owner, "userID": user}
    for name, key, value in (
        ("user_name", "userName", user_name),
        ("user_email", "userEmail", user_email),
        ("user_phone", "userPhone", user_phone),
    ):
        if value is not None:
            light[key] = _require_text(name, value, blank_ok=True)
    request["lightConvoData"] = light
    if extra is not None and not isinstance(extra, dict):
        raise ConfigurationError(f"extra: expected a dict of wire field names, got {type(extra).__name__}")
    for key, value in (extra or {}).items():
        if not isinstance(key, str) or has_lone_surrogate(key):
            raise ConfigurationError(f"extra: field name {_field_name(key)!r} is not a plain string")
        if key in _CORE_FIELDS:
            raise ConfigurationError(f"{key}: set through its own argument, not as an extra field")
        if key == "lightConvoData":
            _merge_light(light, value)
            continue
        expected = OPTIONAL_FIELDS.get(key)
        if expected is not None and not _is_type(value, expected):
            raise ConfigurationError(f"{key}: expected {_type_name(expected)}, got {type(value).__name__}")
        _require_json(key, value, MAX_DEPTH - 1)
        request[key] = value
    if images is not None:
        visual = _visual_fields(request["prompt"], images)
        for key in visual:
            if key in request:
                raise ConfigurationError(f"{key}: set by the images= argument; pass images= or {key}, not both")
        request.update(visual)
    return request


def _merge_light(light: dict[str, Any], extra_light: object) -> None:
    if not isinstance(extra_light, dict):
        raise ConfigurationError(f"lightConvoData: expected an object, got {type(extra_light).__name__}")
    for key, value in extra_light.items():
        if not isinstance(key, str) or has_lone_surrogate(key):
            raise ConfigurationError(f"lightConvoData: field name {_field_name(key)!r} is not a plain string")
        if key in light:
            argument = _LIGHT_ARGUMENTS.get(key, key)
            raise ConfigurationError(
                f"lightConvoData.{key}: already set by the {argument}= argument; set it there, not in extra"
            )
        _require_json(f"lightConvoData.{key}", value, MAX_DEPTH - 2)
        light[key] = value


def _is_type(value: object, expected: type | tuple[type, ...]) -> bool:
    # JSON has no bool/int distinction to lean on: True is not a number here.
    numeric = expected in (int, float) or (isinstance(expected, tuple) and (int in expected or float in expected))
    return isinstance(value, expected) and not (numeric and isinstance(value, bool))


def _type_name(expected: type | tuple[type, ...]) -> str:
    names = {str: "a string", bool: "true or false", list: "a list", dict: "an object", object: "any JSON value"}
    return names.get(expected, str(expected)) if isinstance(expected, type) else str(expected)


def validate_request(request: object) -> dict[str, Any]:
    """Check an interact object received by a server; raise ``ConfigurationError`` if bad.

    As lenient as the service: any ``origin`` string, any ``replyTo``, extra
    ``lightConvoData`` keys and unknown fields pass. ``agentId``, ``convoId`` and
    ``prompt`` must be strings that UTF-8 can carry.
    """
    if not isinstance(request, dict):
        raise ConfigurationError("the interact object must be a JSON object")
    for key in ("agentId", "convoId", "prompt"):
        if key not in request:
            raise ConfigurationError(f"{key}: missing")
        if not isinstance(request[key], str):
            raise ConfigurationError(f"{key}: expected a string, got {_json_type(request[key])}")
        if has_lone_surrogate(request[key]):
            raise _surrogate_error(key, request[key])
    if not request["agentId"].strip():
        raise ConfigurationError("agentId: must not be empty")
    if not request["prompt"].strip():
        raise ConfigurationError("prompt: must not be empty or blank")
    for key in ("agentData", "lightConvoData"):
        if key in request and not isinstance(request[key], dict):
            raise ConfigurationError(f"{key}: expected an object, got {_json_type(request[key])}")
    return request


def _json_type(value: object) -> str:
    return {dict: "an object", list: "a list", str: "a string", bool: "a boolean"}.get(
        type(value), "a number" if isinstance(value, (int, float)) else "null"
    )


# ---------------------------------------------------------------------------- events


@dataclass(slots=True)
class ChunkEvent:
    """A piece of the reply; with ``ui_engine`` true, a JSON snapshot of the whole turn.

    ``index`` is ``chunkIndex`` when it is a whole number; any other ``chunkIndex`` (a
    string, a float...) is kept as sent in ``raw_index`` and costs no text. ``is_v2`` is
    the chunk's ``isV2`` flag (meaning unpublished; kept so ``--json`` shows it). From
    ``parse_frame``, ``text`` may hold half of a surrogate pair: ``ReplyBuilder.feed``
    repairs it and returns the event as assembled.
    """

    type: ClassVar[str] = "chunk"
    text: str
    index: int | None = None
    ui_engine: bool = False
    raw_index: Any = None
    is_v2: bool = False


@dataclass(slots=True)
class MetadataEvent:
    """Facts about the reply: ``sources``, token counts, model used, and unknown keys."""

    type: ClassVar[str] = "metadata"
    metadata: dict[str, Any]


@dataclass(slots=True)
class SyncChatHistoryEvent:
    """The conversation's turns so far."""

    type: ClassVar[str] = "sync_chat_history"
    turns: list[Any]


@dataclass(slots=True)
class ActionEvent:
    """The agent asks for something: ``request_handoff`` (a human), ``tool_call``, others."""

    type: ClassVar[str] = "action"
    action: dict[str, Any]

    @property
    def action_type(self) -> str | None:
        kind = self.action.get("type")
        return kind if isinstance(kind, str) else None


@dataclass(slots=True)
class DebugEvent:
    """Diagnostics; the payload is unpublished, so the whole frame is kept raw."""

    type: ClassVar[str] = "debug"
    raw: dict[str, Any]


@dataclass(slots=True)
class UnknownEvent:
    """A well-formed event of a type this client does not know (``turn_patch``...)."""

    type: str
    raw: dict[str, Any]


@dataclass(slots=True)
class InvalidEvent:
    """A frame that is not a usable event: kept as a warning, never raised."""

    type: ClassVar[str] = "invalid"
    reason: str
    raw: str = field(repr=False)


Event = ChunkEvent | MetadataEvent | SyncChatHistoryEvent | ActionEvent | DebugEvent | UnknownEvent | InvalidEvent


def _preview(frame: object) -> str:
    """The start of a frame as clean text, for warnings."""
    if isinstance(frame, (bytes, bytearray, memoryview)):
        text = bytes(frame[:800]).decode("utf-8", "replace")
    elif isinstance(frame, str):
        text = frame[:201]
    else:
        text = f"<{type(frame).__name__}>"
    text = text if len(text) <= 200 else text[:200] + "…"
    return fix_surrogates(text) if has_lone_surrogate(text) else text


def _js_truthy(value: object) -> bool:
    """Truthiness as the (JavaScript) service sees it: ``[]`` and ``{}`` are true, ``0`` and ``""`` false."""
    if value is None or value is False:
        return False
    if isinstance(value, (int, float, str)):
        return bool(value)
    return True


def parse_frame(frame: str | bytes) -> Event:
    """Turn one WebSocket frame into an event. Never raises: bad frames become ``InvalidEvent``.

    Every string in the event is valid text (lone surrogates become U+FFFD), except a
    chunk's ``text``, whose split surrogate pairs ``ReplyBuilder.feed`` rejoins.
    """
    try:
        text = frame if isinstance(frame, str) else _decode(frame)
        data = loads(text)
    except ValueError as exc:
        return InvalidEvent(f"frame is {exc}", _preview(frame))
    except Exception as exc:  # a last guard: parsing must never take a reply down
        return InvalidEvent(f"could not read the frame ({type(exc).__name__})", _preview(frame))
    try:
        if type(data) is dict and data.get("type") == "chunk":  # the hot path: kept inline and cheap
            chunk, index, ui = data.get("chunk"), data.get("chunkIndex"), data.get("ui_engine")
            if type(chunk) is not str:
                return InvalidEvent(f"chunk event whose 'chunk' is {_json_type(chunk)}", _preview(frame))
            ui_engine = ui is True or (ui is not None and ui is not False and _js_truthy(ui))
            v2 = data.get("isV2")
            is_v2 = v2 is True or (v2 is not None and v2 is not False and _js_truthy(v2))
            if index is None or type(index) is int:
                return ChunkEvent(chunk, index, ui_engine, None, is_v2)
            return ChunkEvent(chunk, None, ui_engine, scrub(index)[0], is_v2)
        return _other_event(data, text, frame)
    except Exception as exc:
        return InvalidEvent(f"could not read the frame ({type(exc).__name__})", _preview(frame))


def _other_event(data: Any, text: str, frame: str | bytes) -> Event:
    if not isinstance(data, dict):
        return InvalidEvent(f"frame is JSON but not an object ({_json_type(data)})", _preview(frame))
    if may_hold_surrogates(text):
        data = scrub(data)[0]
    kind = data.get("type")
    if not isinstance(kind, str):
        return InvalidEvent("event has no string 'type'", _preview(frame))
    if kind == "metadata":
        metadata = data.get("metadata")
        if not isinstance(metadata, dict):
            return InvalidEvent(f"metadata event whose 'metadata' is {_json_type(metadata)}", _preview(frame))
        return MetadataEvent(metadata)
    if kind == "sync_chat_history":
        turns = data.get("turns")
        if not isinstance(turns, list):
            return InvalidEvent(f"sync_chat_history event whose 'turns' is {_json_type(turns)}", _preview(frame))
        return SyncChatHistoryEvent(turns)
    if kind == "action":
        action = data.get("action")
        if not isinstance(action, dict):
            return InvalidEvent(f"action event whose 'action' is {_json_type(action)}", _preview(frame))
        return ActionEvent(action)
    if kind == "debug":
        return DebugEvent(data)
    return UnknownEvent(kind, data)


def encode_event(event: Event) -> str:
    """The JSON frame for an event (see ``dumps``); the embedded server's side of ``parse_frame``."""
    if isinstance(event, ChunkEvent):
        data: dict[str, Any] = {"type": "chunk", "chunk": event.text}
        if event.index is not None:
            data["chunkIndex"] = event.index
        elif event.raw_index is not None:
            data["chunkIndex"] = event.raw_index
        if event.ui_engine:
            data["ui_engine"] = True
        if event.is_v2:
            data["isV2"] = True
    elif isinstance(event, MetadataEvent):
        data = {"type": "metadata", "metadata": event.metadata}
    elif isinstance(event, SyncChatHistoryEvent):
        data = {"type": "sync_chat_history", "turns": event.turns}
    elif isinstance(event, ActionEvent):
        data = {"type": "action", "action": event.action}
    elif isinstance(event, (DebugEvent, UnknownEvent)):
        data = event.raw
    else:
        return event.raw
    return dumps(data)


# ---------------------------------------------------------------------------- closing

NO_RECORDING = 4404
"""Private-use close code: a replaying server has no recorded reply to the prompt."""

# What a close frame may carry (RFC 6455, 7.4): every registered code but the three that
# only say no frame came (1005, 1006, 1015), and the codes 3000-4999.
_SENDABLE = frozenset(CloseCode) - {CloseCode.NO_STATUS_RCVD, CloseCode.ABNORMAL_CLOSURE, CloseCode.TLS_HANDSHAKE}


@dataclass(frozen=True)
class Close:
    """How the server ended an exchange: its close code and reason.

    The codes have names in ``CloseCode`` (websockets' ``NORMAL_CLOSURE`` = 1000,
    ``ABNORMAL_CLOSURE`` = 1006 for a dropped connection...) and ``NO_RECORDING``.
    """

    code: int
    reason: str = ""

    @property
    def sendable(self) -> bool:
        """False for codes a close frame cannot carry (1005, 1006, 1015...): replay drops the connection."""
        return self.code in _SENDABLE or 3000 <= self.code <= 4999
