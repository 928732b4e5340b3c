"""pandas, which is optional: the one place that imports it and says how to get it."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .errors import ConvoError

__all__ = ["to_dataframe"]


def to_dataframe(rows: list[dict[str, Any]], columns: Sequence[str] | None = None) -> Any:
    """``pandas.DataFrame(rows, columns=columns)``; ``ConvoError`` saying how to install pandas without it."""
    try:
        import pandas as pd
    except ImportError:
        raise ConvoError("to_dataframe() needs pandas: pip install 'convowidget[pandas]'") from None
    return pd.DataFrame(rows, columns=columns)
