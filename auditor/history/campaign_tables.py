"""The campaign's tables of the history: whom each report goes to, the send journal, the review each
establishment was sent and the answers that came back.

A mixin of History (store.py), which holds the connection and the transactions.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
from contextlib import AbstractContextManager
from typing import Callable

import pandas as pd


def iso_day(as_of) -> str:
    return pd.Timestamp(as_of).date().isoformat()


class CampaignTables:
    db: sqlite3.Connection
    transaction: Callable[[], AbstractContextManager[None]]  # see History.transaction

    def _run_id(self, as_of) -> int | None:
        row = self.db.execute("SELECT id FROM runs WHERE as_of = ?", (iso_day(as_of),)).fetchone()
        return None if row is None else row[0]

    def run_recipients(self, as_of) -> pd.DataFrame | None:
        """finess, email, role recorded with the run of `as_of` (None when there is no such run)."""
        run = self._run_id(as_of)
        if run is None:
            return None
        return pd.DataFrame(self.db.execute("SELECT finess, email, role FROM recipients WHERE run_id = ?",
                                            (run,)).fetchall(), columns=["finess", "email", "role"])

    def run_left_out(self, as_of) -> pd.DataFrame:
        """finess, account, reason: the referents the report of `as_of` must not go to."""
        return pd.DataFrame(self.db.execute(
            "SELECT l.finess, l.account, l.reason FROM left_out l JOIN runs r ON r.id = l.run_id WHERE r.as_of = ? "
            "ORDER BY l.finess, l.account", (iso_day(as_of),)).fetchall(), columns=["finess", "account", "reason"])

    def run_deadline(self, as_of) -> dt.date | None:
        """The deadline the run of `as_of` gave its directors' workbooks (run --deadline), if any."""
        row = self.db.execute("SELECT deadline FROM runs WHERE as_of = ?", (iso_day(as_of),)).fetchone()
        return dt.date.fromisoformat(row[0]) if row and row[0] else None

    @property
    def review_key(self) -> bytes:
        """The secret that keys the review rows' fingerprints (see schema._reviews)."""
        return self.db.execute("SELECT value FROM secrets WHERE name = 'review_key'").fetchone()[0]

    def reviewed(self, as_of, finess: str) -> set[str] | None:
        """The accounts of the review sent to `finess` for the audit `as_of` (None: not stored, an
        audit recorded before reviews were)."""
        run = self._run_id(as_of)
        if run is None or self.db.execute("SELECT 1 FROM reviewed WHERE run_id = ? LIMIT 1", (run,)).fetchone() is None:
            return None
        return {a for (a,) in self.db.execute("SELECT account FROM reviewed WHERE run_id = ? AND finess = ?",
                                              (run, finess))}

    def audited(self, as_of) -> set[str] | None:
        """The establishments audited in the run of `as_of` (None when there is no such run)."""
        run = self._run_id(as_of)
        if run is None:
            return None
        return {f for (f,) in self.db.execute("SELECT finess FROM coverage WHERE run_id = ?", (run,))}

    def recipient_states(self, as_of) -> pd.DataFrame:
        """finess, email, status, answer: each recipient's latest attempt for the report of `as_of`."""
        return pd.DataFrame(self.db.execute(
            "SELECT finess, email, status, answer FROM recipient_deliveries r WHERE as_of = ?1 AND rowid = "
            "(SELECT max(rowid) FROM recipient_deliveries x WHERE x.as_of = ?1 AND x.finess = r.finess "
            "AND lower(x.email) = lower(r.email))", (iso_day(as_of),)).fetchall(),
            columns=["finess", "email", "status", "answer"])

    def campaign(self, as_of) -> tuple[pd.DataFrame, pd.DataFrame]:
        """The campaign of the audit `as_of`: per establishment, when its report was sent and by when
        to answer, whether and when it answered, how many accounts its answer covered; and the
        decisions of its latest answer (a later answer replaces an earlier one)."""
        day = iso_day(as_of)
        status = pd.read_sql_query(
            "SELECT d.finess, min(d.attempted_at) AS sent_at, max(d.deadline) AS deadline, "
            "a.recorded_at AS answered_at, a.accounts AS accounts, a.answered_by AS answered_by, "
            "(SELECT count(*) FROM decisions x WHERE x.answer_id = a.id) AS decisions "
            "FROM deliveries d LEFT JOIN answers a ON a.id = (SELECT id FROM answers WHERE as_of = d.as_of "
            "AND finess = d.finess ORDER BY recorded_at DESC, id DESC LIMIT 1) "
            "WHERE d.as_of = ? AND d.status = 'sent' GROUP BY d.finess", self.db, params=(day,))
        decisions = pd.read_sql_query(
            "SELECT a.finess, x.account, x.decision, x.comment, a.recorded_at AS answered_at FROM decisions x "
            "JOIN answers a ON a.id = x.answer_id WHERE a.as_of = ? AND a.id = (SELECT id FROM answers b "
            "WHERE b.as_of = a.as_of AND b.finess = a.finess ORDER BY recorded_at DESC, id DESC LIMIT 1)",
            self.db, params=(day,))
        return status, decisions

    def _latest_answer_row(self, as_of, finess: str) -> tuple[int, str, str] | None:
        """id, recorded_at, sha256 of the latest answer of `finess` for `as_of` (a later one replaces it)."""
        return self.db.execute("SELECT id, recorded_at, sha256 FROM answers WHERE as_of = ? AND finess = ? "
                               "ORDER BY recorded_at DESC, id DESC LIMIT 1", (iso_day(as_of), finess)).fetchone()

    def is_latest_answer(self, as_of, finess: str, sha256: str) -> bool:
        """Whether this answer (a file's, or the portal's choices') is the one that counts now: sent again,
        it is not recorded twice; sent back after another answer, it is, and counts again."""
        row = self._latest_answer_row(as_of, finess)
        return row is not None and row[2] == sha256

    def latest_answer(self, as_of, finess: str) -> tuple[str, list[tuple[str, str, str | None]]] | None:
        """When the latest answer of `finess` for `as_of` was recorded, and its decisions (account,
        decision, comment); None before any answer."""
        row = self._latest_answer_row(as_of, finess)
        if row is None:
            return None
        decisions = self.db.execute("SELECT account, decision, comment FROM decisions WHERE answer_id = ?",
                                    (row[0],)).fetchall()
        return row[1], decisions

    # -- writing ------------------------------------------------------------------------------

    def record_delivery(self, as_of, finess: str, outcomes: dict[str, tuple[str, str]], deadline) -> None:
        """One attempt of the send journal, committed at once: a crash never loses what was sent.

        `outcomes`: per recipient, (status, the server's answer); see schema._recipient_journal. The
        establishment's row is « sent » when anyone received the report.
        """
        at = dt.datetime.now().isoformat(timespec="seconds")
        status = "sent" if any(state == "sent" for state, _ in outcomes.values()) else "failed"
        with self.transaction():
            self.db.execute("INSERT INTO deliveries VALUES (?, ?, ?, ?, ?, ?, ?)",
                            (iso_day(as_of), finess, ", ".join(outcomes), status,
                             " ; ".join(f"{email} : {answer}" for email, (_, answer) in outcomes.items()),
                             None if deadline is None else iso_day(deadline), at))
            self.db.executemany("INSERT INTO recipient_deliveries VALUES (?, ?, ?, ?, ?, ?)",
                                ((iso_day(as_of), finess, email, state, answer, at)
                                 for email, (state, answer) in outcomes.items()))

    def record_answer(self, as_of, finess: str, file: str, sha256: str, answered_by: str | None, accounts: int,
                      decisions: list[tuple[str, str, str | None]]) -> None:
        """A returned workbook's decisions (account, decision, comment), in one transaction."""
        with self.transaction():
            cursor = self.db.execute(
                "INSERT INTO answers (as_of, finess, file, sha256, answered_by, accounts, recorded_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                (iso_day(as_of), finess, file, sha256, answered_by, accounts,
                 dt.datetime.now().isoformat(timespec="microseconds")))
            self.db.executemany("INSERT INTO decisions VALUES (?, ?, ?, ?)",
                                ((cursor.lastrowid, *decision) for decision in decisions))
