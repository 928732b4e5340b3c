"""How close a reply is to a text, from 0 to 1, without an LLM and in bounded time.

``similarity`` is rapidfuzz's normalised Indel similarity (``fuzz.ratio`` / 100: the
share of characters the two texts have in common, in order), after folding case (unless
asked not to) and collapsing runs of whitespace. Its cost grows with the product of the
two lengths: 100,000 characters against 100,000 took a second. So two long texts are
compared word by word instead of character by character, and past ``MOST_WORDS`` words
only the first ``MOST_WORDS`` of each count (the score then never exceeds what the two
word counts allow, so a reply twice as long is not "the same"): a comparison stays under a
tenth of a second whatever the reply's size. ``similar_to`` and snapshots (``expect: {snapshot: 0.85}``)
both use it; ``mask`` puts a placeholder where a suite's volatile patterns match, on both
sides, before a snapshot is compared.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from rapidfuzz import fuzz

from ._patterns import replace_all

__all__ = ["DEFAULT_MIN_SIMILARITY", "MOST_CHARACTER_PAIRS", "MOST_WORDS", "PLACEHOLDER", "mask", "similarity"]

DEFAULT_MIN_SIMILARITY = 0.8
MOST_CHARACTER_PAIRS = 400_000_000  # 20,000 x 20,000 characters: about 40 ms
MOST_WORDS = 20_000  # per side once compared word by word: about 40 ms more
PLACEHOLDER = "<volatile>"
_SPACES = re.compile(r"\s+")


def _normal(text: str, case_sensitive: bool) -> str:
    text = _SPACES.sub(" ", text).strip()
    return text if case_sensitive else text.casefold()


def similarity(text: str, other: str, *, case_sensitive: bool = False, least: float = 0.0) -> float:
    """How similar ``text`` is to ``other``: 1.0 the same, 0.0 nothing in common.

    ``least`` lets rapidfuzz stop early (returning 0.0) once the score cannot reach it,
    as when one text is a thousand times longer than the other.
    """
    a, b = _normal(text, case_sensitive), _normal(other, case_sensitive)
    if a == b:
        return 1.0
    cutoff = max(0.0, min(100.0, least * 100))
    if len(a) * len(b) <= MOST_CHARACTER_PAIRS:
        return float(fuzz.ratio(a, b, score_cutoff=cutoff)) / 100
    words: Sequence[str] = a.split(" ")
    others: Sequence[str] = b.split(" ")
    most = 2 * min(len(words), len(others)) / (len(words) + len(others))  # the best the lengths allow
    if most < least:
        return 0.0
    score = float(fuzz.ratio(words[:MOST_WORDS], others[:MOST_WORDS], score_cutoff=cutoff)) / 100
    return min(score, most)


def mask(text: str, patterns: Sequence[str]) -> str:
    """``text`` with every match of each volatile pattern replaced by ``PLACEHOLDER``.

    Raises ``PatternTooSlow`` when a pattern takes longer than its time limit.
    """
    for pattern in patterns:
        text = replace_all(pattern, PLACEHOLDER, text)
    return text
