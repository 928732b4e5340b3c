"""The panel's answers as data: transcript entries, their versions and feedback, dataframe rows.

``answer_entry`` makes a reply's transcript entry (js/README.md's trait contract), with
every string made safe for a trait (``valid``). A turn is a prompt entry and the answer
entry after it (``prompt_id``). Asked again (Regenerate) or with its prompt edited
(Edit), the pair leaves the transcript and the new answer carries ``versions``: the
earlier answers of that turn, oldest first, each the old answer entry (its own ``id``
kept, without ``versions``) plus the ``prompt`` it answered. The entry holds them, so a
page reload, saved widget state and the exports keep them too. Feedback (Helpful / Not
helpful and a note) is kept the same way, in the answer's entry or in the version it
was given to.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from .protocol import fix_surrogates, has_lone_surrogate
from .reply import Reply, ReplyBuilder
from .reply_view import reply_view
from .turns import turn_blocks

__all__ = [
    "MAX_NOTE_CHARS",
    "answer_entry",
    "asked_again",
    "changed_answer",
    "earlier_versions",
    "edited",
    "failed_reply",
    "feedback_fields",
    "find_answer",
    "reply_row",
    "turn",
    "valid",
    "with_feedback",
]

Entry = dict[str, Any]
MAX_NOTE_CHARS = 2_000
_FEEDBACK = ("up", "down")


def valid(value: Any) -> Any:
    """``value`` with every string made encodable as UTF-8 (a lone surrogate becomes U+FFFD).

    Whatever a reply carries, nothing that can fail to encode reaches a trait, so a comm
    message, the kernel's JSON packer or a saved notebook never chokes on it.
    """
    if isinstance(value, str):
        return fix_surrogates(value) if has_lone_surrogate(value) else value
    if isinstance(value, dict):
        return {valid(k): valid(v) for k, v in value.items()}
    if isinstance(value, list):
        return [valid(v) for v in value]
    return value


def answer_entry(answer_id: str, prompt_id: str | None, reply: Reply, extra: Entry) -> Entry:
    """The reply's transcript entry; ``extra`` adds ``versions`` or ``greeting``."""
    return {
        "id": answer_id,
        "role": "assistant",
        "text": valid(reply.text),
        "status": reply.status,
        "error": valid(reply.error),
        "sources": valid([str(s) for s in reply.sources]),
        "handoff": bool(reply.handoff),
        "blocks": valid(turn_blocks(reply.ui_turn)) if reply.ui_turn is not None else [],
        "prompt_id": prompt_id,
        **valid(reply_view(reply)),  # tool calls, actions, usage, titled sources, blocks_first
        **extra,
    }


def reply_row(r: Reply) -> Entry:
    """One row of ``ChatWidget.to_dataframe()``."""
    return {
        "prompt": r.prompt,
        "text": r.text,
        "status": r.status,
        "error": r.error,
        "sources": list(r.sources),
        "handoff": r.handoff,
        "time_to_first_chunk": r.time_to_first_chunk,
        "elapsed": r.elapsed,
        "input_tokens": r.input_tokens,
        "output_tokens": r.output_tokens,
        "llm_used": r.metadata.get("llmUsed"),
        "model": r.model,
        "tool_calls": [dataclasses.asdict(call) for call in r.tool_calls],
        "convo_id": r.convo_id,
        "feedback": r.feedback,
        "feedback_note": r.feedback_note,
    }


def turn(entries: list[Entry], answer_id: str) -> tuple[Entry, Entry] | None:
    """The (prompt entry, answer entry) of the answer ``answer_id``; None when it has no prompt entry."""
    answer = next((e for e in entries if e.get("id") == answer_id and e.get("role") == "assistant"), None)
    if answer is None:
        return None
    prompt = next((e for e in entries if e.get("id") == answer.get("prompt_id") and e.get("role") == "user"), None)
    return (prompt, answer) if prompt is not None else None


def asked_again(entries: list[Entry], answer_id: str, *, last_only: bool) -> tuple[Entry, Entry, list[Entry]] | None:
    """Retry or Regenerate of answer ``answer_id``: (its prompt, itself, the new answer's versions).

    None when there is no such turn (or, ``last_only``, it is not the last message). A
    failed answer is not kept as a version.
    """
    found = turn(entries, answer_id)
    if found is None or (last_only and entries[-1].get("id") != answer_id):
        return None
    prompt, answer = found
    return prompt, answer, earlier_versions(prompt, answer, keep_answer=answer.get("status") != "failed")


def edited(entries: list[Entry], prompt_id: str) -> tuple[Entry, Entry, list[Entry]] | None:
    """Edit of prompt ``prompt_id``: (it, its answer, the new answer's versions); None unless it is
    the latest turn's prompt, typed (a submitted form is sent again whole, never edited as text)."""
    found = turn(entries, entries[-1]["id"]) if entries else None
    if found is None or found[0]["id"] != prompt_id or found[0].get("form"):
        return None
    prompt, answer = found
    return prompt, answer, earlier_versions(prompt, answer)


def earlier_versions(prompt: Entry, answer: Entry, *, keep_answer: bool = True) -> list[Entry]:
    """The versions a new answer to this turn carries: the answer's own, then (``keep_answer``) itself."""
    older = [dict(version) for version in answer.get("versions") or []]
    if keep_answer:
        older.append({**{k: v for k, v in answer.items() if k != "versions"}, "prompt": prompt.get("text", "")})
    return older


def find_answer(entries: list[Entry], answer_id: str) -> tuple[int, int | None] | None:
    """Where the answer ``answer_id`` is: (its entry's position, its index in that entry's versions or None)."""
    for position, entry in enumerate(entries):
        if entry.get("role") != "assistant":
            continue
        if entry.get("id") == answer_id:
            return position, None
        for index, version in enumerate(entry.get("versions") or []):
            if version.get("id") == answer_id:
                return position, index
    return None


def changed_answer(entry: Entry, version: int | None, changes: Entry) -> Entry:
    """A copy of ``entry`` with ``changes`` made to it, or (``version``) to that version of it."""
    if version is None:
        return {**entry, **changes}
    versions = list(entry["versions"])
    versions[version] = {**versions[version], **changes}
    return {**entry, "versions": versions}


def with_feedback(entries: list[Entry], answer_id: str, value: Any, note: Any) -> tuple[int, Entry, Entry] | None:
    """Feedback on answer ``answer_id`` (or a version of it): (the entry's position, the entry
    changed, the feedback fields); None when there is no such answer or it is not feedback."""
    fields = feedback_fields(value, note)
    where = find_answer(entries, answer_id)
    if fields is None or where is None:
        return None
    position, version = where
    fields = valid(fields)
    return position, changed_answer(entries[position], version, fields), fields


def feedback_fields(value: Any, note: Any) -> Entry | None:
    """``{"feedback", "feedback_note"}`` from what the panel sent; None when it is not feedback.

    ``value`` is "up", "down" or None (taken back, and the note with it); a note is text,
    kept stripped and at most ``MAX_NOTE_CHARS`` long ('' is no note).
    """
    if value is not None and value not in _FEEDBACK:
        return None
    if note is not None and not isinstance(note, str):
        return None
    kept = (note or "").strip()[:MAX_NOTE_CHARS] or None
    return {"feedback": value, "feedback_note": kept if value is not None else None}


def failed_reply(request: dict[str, Any], builder: ReplyBuilder | None, exc: BaseException) -> Reply:
    """A failed Reply for an exchange that raised, with the text received so far (if any)."""
    error = f"the reply ended on an unexpected {type(exc).__name__}; the text so far is kept"
    if builder is None:
        return Reply(prompt=request["prompt"], convo_id=request["convoId"], status="failed", error=error)
    return builder.finish("failed", error)
