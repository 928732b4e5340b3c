"""The Convocore *interact* protocol as pure data: no sockets, threads or asyncio.

``build_interact`` makes and checks the one JSON object a client sends; ``parse_frame``
turns each frame the server sends into a typed event. Both are shared by the client and
the embedded server, so the two cannot drift apart.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, ClassVar, NamedTuple

from .errors import ConfigurationError


class Region(NamedTuple):
    url: str
    bucket: str


REGIONS: dict[str, Region] = {
    "eu": Region("wss://eu-gcp-api.vg-stuff.com/interact", "voiceglow-eu"),
    "na": Region("wss://na-gcp-api.vg-stuff.com/interact", "(default)"),
}
ORIGINS = ("web-chat", "discord", "messenger", "instagram", "gb-chat")

# Optional fields the reference client sends, with the JSON type each must have.
OPTIONAL_FIELDS: dict[str, type | tuple[type, ...]] = {
    "sessionId": str,
    "disableUiEngine": bool,
    "disableRecordHistory": bool,
    "turnsHistory": list,
    "messageType": str,
    "actionMetadata": dict,
    "replyTo": str,
    "isTest": bool,
    "agentProfileId": str,
}
_CORE_FIELDS = ("agentId", "convoId", "bucket", "prompt", "agentData", "lightConvoData")


def region_info(region: str) -> Region:
    """The endpoint and bucket of a region name (``eu`` or ``na``)."""
    try:
        return REGIONS[region]
    except (KeyError, TypeError):
        raise ConfigurationError(f"region: unknown region {region!r}; use one of {', '.join(REGIONS)}") from None


def _require_text(name: str, value: object, *, blank_ok: bool = False) -> str:
    if not isinstance(value, str):
        raise ConfigurationError(f"{name}: expected a string, got {type(value).__name__}")
    if not blank_ok and not value.strip():
        raise ConfigurationError(f"{name}: must not be empty or blank")
    return value


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
) -> dict[str, Any]:
    """Build and validate the interact object; raise ``ConfigurationError`` naming the field.

    ``extra`` holds optional protocol fields by their wire names (``sessionId``,
    ``isTest``...); known ones are type-checked, unknown ones pass through untouched.
    """
    if agent_id is None or (isinstance(agent_id, str) and not agent_id.strip()):
        raise ConfigurationError("agent_id: no agent id given; pass agent_id=... or set CONVOCORE_AGENT_ID")
    _require_text("agent_id", agent_id)
    _require_text("convo_id", convo_id)
    _require_text("prompt", prompt)
    bucket = region_info(region).bucket
    if origin not in ORIGINS:
        raise ConfigurationError(f"origin: unknown origin {origin!r}; use one of {', '.join(ORIGINS)}")
    request: dict[str, Any] = {
        "agentId": agent_id,
        "convoId": convo_id,
        "bucket": bucket,
        "prompt": prompt,
    }
    if owner_id is not None or user_id is not None:
        owner = _require_text("owner_id", owner_id if owner_id is not None else user_id)
        user = _require_text("user_id", user_id if user_id is not None else owner_id)
        request["agentData"] = {"ownerID": owner, "userID": user}
    light: dict[str, str] = {"origin": origin}
    for name, key, value in (
        ("user_name", "userName", user_name),
        ("user_email", "userEmail", user_email),
        ("user_phone", "userPhone", user_phone),
    ):
        if value is not None:
            light[key] = _require_text(name, value, blank_ok=True)
    request["lightConvoData"] = light
    for key, value in (extra or {}).items():
        if key in _CORE_FIELDS:
            raise ConfigurationError(f"{key}: set through its own argument, not as an extra field")
        expected = OPTIONAL_FIELDS.get(key)
        if expected is not None and (
            not isinstance(value, expected) or (expected is not bool and isinstance(value, bool))
        ):
            raise ConfigurationError(f"{key}: expected {_type_name(expected)}, got {type(value).__name__}")
        request[key] = value
    return request


def _type_name(expected: type | tuple[type, ...]) -> str:
    names = {str: "a string", bool: "true or false", list: "a list", dict: "an object"}
    return names.get(expected, str(expected)) if isinstance(expected, type) else str(expected)


def validate_request(request: object) -> dict[str, Any]:
    """Check an interact object received by a server; raise ``ConfigurationError`` if bad."""
    if not isinstance(request, dict):
        raise ConfigurationError("the interact object must be a JSON object")
    for key in ("agentId", "convoId", "prompt"):
        if key not in request:
            raise ConfigurationError(f"{key}: missing")
        if not isinstance(request[key], str):
            raise ConfigurationError(f"{key}: expected a string, got {_json_type(request[key])}")
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
    """A piece of the reply; with ``ui_engine`` true, a JSON snapshot of the whole turn."""

    type: ClassVar[str] = "chunk"
    text: str
    index: int | None = None
    ui_engine: bool = False


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


def _preview(frame: str | bytes) -> str:
    text = frame if isinstance(frame, str) else frame.decode("utf-8", "replace")
    return text if len(text) <= 200 else text[:200] + "…"


def parse_frame(frame: str | bytes) -> Event:
    """Turn one WebSocket frame into an event. Never raises: bad frames become ``InvalidEvent``."""
    try:
        data = json.loads(frame)
    except (ValueError, UnicodeDecodeError):
        return InvalidEvent("frame is not JSON", _preview(frame))
    if not isinstance(data, dict):
        return InvalidEvent(f"frame is JSON but not an object ({_json_type(data)})", _preview(frame))
    kind = data.get("type")
    if not isinstance(kind, str):
        return InvalidEvent("event has no string 'type'", _preview(frame))
    if kind == "chunk":
        text, index, ui = data.get("chunk"), data.get("chunkIndex"), data.get("ui_engine")
        if not isinstance(text, str):
            return InvalidEvent(f"chunk event whose 'chunk' is {_json_type(text)}", _preview(frame))
        if index is not None and (not isinstance(index, int) or isinstance(index, bool)):
            return InvalidEvent(f"chunk event whose 'chunkIndex' is {_json_type(index)}", _preview(frame))
        if ui is not None and not isinstance(ui, bool):
            return InvalidEvent(f"chunk event whose 'ui_engine' is {_json_type(ui)}", _preview(frame))
        return ChunkEvent(text, index, bool(ui))
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
    """The JSON frame for an event; the embedded server's side of ``parse_frame``."""
    if isinstance(event, ChunkEvent):
        data: dict[str, Any] = {"type": "chunk", "chunk": event.text}
        if event.index is not None:
            data["chunkIndex"] = event.index
        if event.ui_engine:
            data["ui_engine"] = True
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
    return json.dumps(data, ensure_ascii=False)
