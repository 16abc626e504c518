"""The tables the engine reads from the history rather than from an export: last month's campaign.

REV-01 and REV-02 check what the directors answered (see history/campaign.py, which makes these
tables, and the rule examples, which write them by hand).
"""

from __future__ import annotations

import pandas as pd

from ..model.frames import TEXT

HISTORY_TABLES = {
    "decisions": ("finess", "account_id", "decision", "answered_on"),  # the directors' latest answers
    # Each report sent (and the audit it reported on), whether it came back, and how many accounts its
    # latest answer left undecided.
    "campaign": ("finess", "sent_on", "deadline", "answered", "undecided", "audit_on"),
}
_DATES = ("answered_on", "sent_on", "deadline", "audit_on")


def history_table(kind: str, rows) -> pd.DataFrame:
    """A table of HISTORY_TABLES from rows (dicts or tuples in its column order), typed."""
    columns = list(HISTORY_TABLES[kind])
    frame = pd.DataFrame(list(rows), columns=columns)
    for column in columns:
        if column in _DATES:
            frame[column] = pd.to_datetime(frame[column]).dt.normalize()
        elif column == "answered":
            frame[column] = frame[column].astype(str).str.lower().isin(("true", "1", "oui"))
        elif column == "undecided":
            frame[column] = pd.to_numeric(frame[column], errors="coerce").fillna(0).astype("int64")
        else:
            frame[column] = frame[column].astype(TEXT)
    return frame


