"""The panel's forms and inputs, kernel side: which block a submission is for, and what it sends.

The panel (or ``ChatWidget.submit``) names a form by its reply's transcript entry id and
the block's index. The block is read from the widget's own transcript, never from what
the browser sent, and the values are checked with ``forms.form_submission``. A form is
sent once. What a sent form's request carried is kept in memory only (it may hold a
password), so that Retry and Regenerate send it again whole.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .errors import FormError
from .forms import Submission, form_submission, submitted_block

if TYPE_CHECKING:
    from .reply import Reply

__all__ = ["PanelForms"]

_FORM_KINDS = ("form", "input")
_REQUEST_FIELDS = ("formSubmissionMetadata", "actionMetadata")


class PanelForms:
    """What one panel knows about its forms: which were sent, and the Reply behind each entry."""

    def __init__(self) -> None:
        self._answers: dict[str, Reply] = {}  # assistant entry id -> its Reply
        self._sent: set[tuple[str, int]] = set()  # (entry id, block index) of each form sent
        self._requests: dict[str, dict[str, Any]] = {}  # prompt entry id -> a sent form's request fields

    def answered(self, entry_id: str, reply: Reply) -> None:
        self._answers[entry_id] = reply

    def reply_of(self, entry_id: str) -> Reply | None:
        """The Reply behind an answer entry still in the panel (or one of its versions)."""
        return self._answers.get(entry_id)

    def forget_answers(self) -> None:
        """The panel was emptied: no entry is there to submit to any more."""
        self._answers.clear()

    def asked(self, prompt_id: str, request: dict[str, Any]) -> None:
        """Keep a submission's request fields for the prompt entry it shows as."""
        fields = {key: request[key] for key in _REQUEST_FIELDS if key in request}
        if fields:
            self._requests[prompt_id] = fields

    def request_fields(self, prompt_id: Any) -> dict[str, Any]:
        """What to send again with a prompt asked again ({} for a typed prompt)."""
        return dict(self._requests.get(prompt_id, {}))

    def open_form(self, entries: list[dict[str, Any]], reply: Reply | None) -> tuple[str, int]:
        """(entry id, block index) of the first form or input not yet sent in the latest reply (or ``reply``)."""
        answers = [entry for entry in entries if entry.get("role") == "assistant"]
        if reply is not None:
            wanted = next((key for key, known in self._answers.items() if known is reply), None)
            answers = [entry for entry in answers if entry.get("id") == wanted]
        if not answers:
            where = "that reply is no longer in the panel" if reply is not None else "the panel has no reply yet"
            raise FormError(f"nothing to submit: {where}")
        entry = answers[-1]
        for index, block in enumerate(entry.get("blocks") or []):
            if (
                block.get("kind") in _FORM_KINDS
                and not block.get("submitted")
                and (entry["id"], index) not in self._sent
            ):
                return entry["id"], index
        which = "that reply" if reply is not None else "the latest reply"
        raise FormError(f"{which} has no form or input waiting to be submitted; ask the agent for one first")

    def check(
        self, entries: list[dict[str, Any]], entry_id: str, index: int, values: dict[str, Any]
    ) -> tuple[Submission, dict[str, Any]]:
        """What to send for these values, and the block as it shows once sent; ``FormError`` if nothing can be."""
        entry = next((e for e in entries if e.get("id") == entry_id and e.get("role") == "assistant"), {})
        blocks = entry.get("blocks") or []
        block = blocks[index] if 0 <= index < len(blocks) else {}
        if block.get("kind") not in _FORM_KINDS:
            raise FormError("there is no form or input there to submit")
        if (entry_id, index) in self._sent:
            raise FormError("this form was already submitted; the agent shows it filled in")
        submission = form_submission(block, values)
        return submission, submitted_block(block, submission)

    def sent(self, entry_id: str, index: int) -> None:
        self._sent.add((entry_id, index))

    @staticmethod
    def with_block(entry: dict[str, Any], index: int, block: dict[str, Any]) -> dict[str, Any]:
        """A copy of ``entry`` with block ``index`` replaced."""
        blocks = list(entry["blocks"])
        blocks[index] = block
        return {**entry, "blocks": blocks}
