"""The review portal's tables of the history: each establishment's page and workbook, the directors'
drafts, and the portal's own journal of views and submissions.

A mixin of History (store.py). The pages are kept only for the runs a link can still name (the
latest two): a region's pages and workbooks weigh tens of megabytes a month.
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from contextlib import AbstractContextManager
from typing import Callable

import orjson

from .campaign_tables import iso_day

PAGES_KEPT = 2  # runs: this month's links, and last month's until the next campaign is sent


class PortalTables:
    db: sqlite3.Connection
    transaction: Callable[[], AbstractContextManager[None]]  # see History.transaction

    def store_pages(self, run_id: int, pages) -> None:
        """`pages`: (finess, page as a dict, workbook bytes or None, workbook file name or None); inside the
        run's transaction. The pages of older runs are dropped."""
        self.db.executemany("INSERT INTO review_pages VALUES (?, ?, ?, ?, ?)",
                            ((run_id, finess, orjson.dumps(page).decode("utf-8"), workbook, name)
                             for finess, page, workbook, name in pages))
        self.db.execute(f"DELETE FROM review_pages WHERE run_id NOT IN (SELECT id FROM runs ORDER BY as_of DESC "
                        f"LIMIT {PAGES_KEPT})")

    def review_page(self, as_of: dt.date, finess: str) -> tuple[dict, bytes | None, str | None] | None:
        """The page of `finess` for the audit `as_of`, its workbook and the workbook's name; None if not kept."""
        row = self.db.execute(
            "SELECT p.page, p.workbook, p.workbook_name FROM review_pages p JOIN runs r ON r.id = p.run_id "
            "WHERE r.as_of = ? AND p.finess = ?", (iso_day(as_of), finess)).fetchone()
        return None if row is None else (json.loads(row[0]), row[1], row[2])

    def later_campaign_sent(self, as_of: dt.date) -> bool:
        """Whether a later month's reports were sent: that month's links then replace this one's."""
        return self.db.execute("SELECT 1 FROM deliveries WHERE as_of > ? AND status = 'sent' LIMIT 1",
                               (iso_day(as_of),)).fetchone() is not None

    def draft(self, as_of: dt.date, finess: str) -> dict[str, dict] | None:
        row = self.db.execute("SELECT decisions FROM drafts WHERE as_of = ? AND finess = ?",
                              (iso_day(as_of), finess)).fetchone()
        return None if row is None else json.loads(row[0])

    def save_draft(self, as_of: dt.date, finess: str, decisions: dict[str, dict], client: str | None) -> None:
        at = dt.datetime.now().isoformat(timespec="seconds")
        with self.transaction():
            self.db.execute("INSERT OR REPLACE INTO drafts VALUES (?, ?, ?, ?)",
                            (iso_day(as_of), finess, json.dumps(decisions, ensure_ascii=False), at))
            self.db.execute("INSERT INTO portal_events VALUES (?, ?, ?, 'brouillon', ?)",
                            (at, iso_day(as_of), finess, client))

    def portal_event(self, as_of: dt.date, finess: str, kind: str, client: str | None) -> None:
        """A view or a refused submission, in the portal's journal (a submission: see record_answer)."""
        with self.transaction():
            self.db.execute("INSERT INTO portal_events VALUES (?, ?, ?, ?, ?)",
                            (dt.datetime.now().isoformat(timespec="seconds"), iso_day(as_of), finess, kind, client))
