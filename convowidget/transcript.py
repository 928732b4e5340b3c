"""The transcript as markdown: what a saved notebook shows where widgets cannot render."""

from __future__ import annotations

from typing import Any


def _quote(text: str) -> str:
    return "\n".join(f"> {line}" if line else ">" for line in text.splitlines()) or ">"


def transcript_markdown(label: str, entries: list[dict[str, Any]]) -> str:
    """One section per message: the user's prompts quoted, the agent's replies as markdown."""
    lines = [f"**{label}**"]
    if not entries:
        lines.append("*No messages yet.*")
    for entry in entries:
        if entry.get("role") == "user":
            lines.append(f"**You:**\n\n{_quote(str(entry.get('text', '')))}")
            continue
        text = str(entry.get("text") or "") or "*(no text)*"
        lines.append(f"**Agent:**\n\n{text}")
        sources = entry.get("sources") or []
        if sources:
            lines.append("Sources: " + ", ".join(str(s) for s in sources))
        if entry.get("handoff"):
            lines.append("*The agent asked for a human to take over.*")
        if entry.get("status") != "complete":
            lines.append(f"*Reply {entry.get('status')}: {entry.get('error') or 'no reason given'}*")
    return "\n\n".join(lines)
