"""The history database's schema, as named migrations applied in order.

Each migration runs in its own transaction and is recorded in `migrations`;
`PRAGMA user_version` is the number of migrations applied, so a file written
by a newer vt-audit (a higher number) is refused instead of being misread.
Add a migration at the end of MIGRATIONS; never edit one that has shipped.
"""

from __future__ import annotations

import secrets
import sqlite3

# "VTAU": marks the file as a vt-audit history (SQLite's application_id header field).
APPLICATION_ID = 0x56544155


def _initial(db: sqlite3.Connection) -> None:
    _statements(db, """
        CREATE TABLE runs (
            id INTEGER PRIMARY KEY,
            as_of TEXT NOT NULL UNIQUE,          -- audit date (ISO), one run per audit date
            ran_at TEXT NOT NULL,                -- when the run was recorded (local time, ISO)
            origin TEXT NOT NULL,                -- "audit", or "import" of an earlier findings.json
            tool_version TEXT NOT NULL,
            rulebook_fingerprint TEXT NOT NULL,  -- SHA-256 of the rules as evaluated (code, check, severity, params)
            params TEXT NOT NULL,                -- JSON: each rule's parameters
            rows INTEGER,                        -- account rows read (unknown for imports)
            accounts INTEGER NOT NULL,           -- attachments (account × establishment)
            establishments INTEGER NOT NULL,     -- audited establishments
            establishments_with_accounts INTEGER NOT NULL,
            error INTEGER NOT NULL, warning INTEGER NOT NULL, info INTEGER NOT NULL, waived INTEGER NOT NULL,
            region_score REAL
        );
        CREATE TABLE run_files (
            run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
            path TEXT NOT NULL, kind TEXT NOT NULL, sha256 TEXT, rows INTEGER
        );
        CREATE INDEX run_files_run ON run_files(run_id);
        CREATE TABLE coverage (
            run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
            finess TEXT NOT NULL, name TEXT NOT NULL, accounts INTEGER NOT NULL,
            error INTEGER NOT NULL, warning INTEGER NOT NULL, info INTEGER NOT NULL, score INTEGER NOT NULL,
            PRIMARY KEY (run_id, finess)
        ) WITHOUT ROWID;
        CREATE TABLE findings (
            run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
            key TEXT NOT NULL, rule TEXT NOT NULL, severity TEXT NOT NULL, finess TEXT NOT NULL,
            account TEXT, subject TEXT NOT NULL, message TEXT NOT NULL, waived INTEGER NOT NULL,
            first_seen TEXT NOT NULL             -- audit date the finding's current streak began
        );
        CREATE INDEX findings_run ON findings(run_id);
        CREATE INDEX findings_key ON findings(key);
    """)


def _statements(db: sqlite3.Connection, script: str) -> None:
    # Not executescript(): it commits first, and a migration must be one transaction.
    for statement in script.split(";"):
        if statement.strip():
            db.execute(statement)


def _campaign(db: sqlite3.Connection) -> None:
    """The monthly campaign: whom to write to, what was sent, what came back."""
    _statements(db, """
        CREATE TABLE recipients (
            run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
            finess TEXT NOT NULL, email TEXT NOT NULL, role TEXT NOT NULL   -- référent, direction
        );
        CREATE INDEX recipients_run ON recipients(run_id, finess);
        CREATE TABLE deliveries (                -- the send journal: one row per attempt
            as_of TEXT NOT NULL, finess TEXT NOT NULL, recipients TEXT NOT NULL,
            status TEXT NOT NULL,                -- sent, failed
            answer TEXT NOT NULL,                -- the SMTP server's answer, or why it failed
            deadline TEXT, attempted_at TEXT NOT NULL
        );
        CREATE INDEX deliveries_month ON deliveries(as_of, finess);
        CREATE TABLE answers (                   -- one row per returned workbook recorded
            id INTEGER PRIMARY KEY,
            as_of TEXT NOT NULL, finess TEXT NOT NULL, file TEXT NOT NULL, sha256 TEXT NOT NULL,
            answered_by TEXT, accounts INTEGER NOT NULL, recorded_at TEXT NOT NULL
        );
        CREATE INDEX answers_month ON answers(as_of, finess);
        CREATE TABLE decisions (
            answer_id INTEGER NOT NULL REFERENCES answers(id) ON DELETE CASCADE,
            account TEXT NOT NULL, decision TEXT NOT NULL, comment TEXT
        );
        CREATE INDEX decisions_answer ON decisions(answer_id)
    """)


def _unverified(db: sqlite3.Connection) -> None:
    """The findings a run could not verify (their establishment missing from its export, their rule not
    evaluated), carried with it: the next run finds them persisting, with their first-seen date."""
    _statements(db, """
        CREATE TABLE unverified (
            run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
            key TEXT NOT NULL, rule TEXT NOT NULL, severity TEXT NOT NULL, finess TEXT NOT NULL,
            account TEXT, subject TEXT NOT NULL, message TEXT NOT NULL, waived INTEGER NOT NULL,
            first_seen TEXT NOT NULL
        );
        CREATE INDEX unverified_run ON unverified(run_id, key)
    """)


def _left_out(db: sqlite3.Connection) -> None:
    """The referents a run's report must not go to (blocked, archived, probable leavers, closed
    establishment), with why: `vt-audit send` says who was left out."""
    _statements(db, """
        CREATE TABLE left_out (
            run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
            finess TEXT NOT NULL, account TEXT NOT NULL, reason TEXT NOT NULL
        );
        CREATE INDEX left_out_run ON left_out(run_id, finess)
    """)


def _recipient_journal(db: sqlite3.Connection) -> None:
    """The send journal per recipient (deliveries stays per establishment, for the campaign's dates): a
    temporary refusal is tried again, a permanent one or an uncertain delivery is not."""
    _statements(db, """
        CREATE TABLE recipient_deliveries (
            as_of TEXT NOT NULL, finess TEXT NOT NULL, email TEXT NOT NULL,
            status TEXT NOT NULL,                -- sent, deferred (4xx, lost), refused (5xx), uncertain
            answer TEXT NOT NULL, attempted_at TEXT NOT NULL
        );
        CREATE INDEX recipient_deliveries_month ON recipient_deliveries(as_of, finess);
        -- A report sent before this journal existed went to all of its recipients: « * ».
        INSERT INTO recipient_deliveries SELECT as_of, finess, '*', 'sent', answer, attempted_at
            FROM deliveries WHERE status = 'sent'
    """)


def _reviews(db: sqlite3.Connection) -> None:
    """The review each establishment was sent (its accounts), and the secret that keys each review row's
    fingerprint: created with the history, kept in it and nowhere else (never in a report or a log), so
    that a returned workbook's rows cannot be forged by someone who read the code."""
    _statements(db, """
        CREATE TABLE secrets (name TEXT PRIMARY KEY, value BLOB NOT NULL);
        CREATE TABLE reviewed (
            run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
            finess TEXT NOT NULL, account TEXT NOT NULL
        );
        CREATE INDEX reviewed_run ON reviewed(run_id, finess);
        -- The deadline the directors' workbooks carry (run --deadline): `send` gives the same one.
        ALTER TABLE runs ADD COLUMN deadline TEXT
    """)
    db.execute("INSERT INTO secrets VALUES ('review_key', ?)", (secrets.token_bytes(32),))


def _portal(db: sqlite3.Connection) -> None:
    """What the review portal (vt-audit serve) shows and records: each establishment's page as the
    workbook shows it, with the workbook itself (kept for the runs a link can still name), the
    directors' drafts, and every view and submission (when, which establishment, client address)."""
    _statements(db, """
        CREATE TABLE review_pages (
            run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
            finess TEXT NOT NULL, page TEXT NOT NULL, workbook BLOB, workbook_name TEXT,
            PRIMARY KEY (run_id, finess)
        );
        CREATE TABLE drafts (
            as_of TEXT NOT NULL, finess TEXT NOT NULL, decisions TEXT NOT NULL, saved_at TEXT NOT NULL,
            PRIMARY KEY (as_of, finess)
        );
        CREATE TABLE portal_events (
            at TEXT NOT NULL, as_of TEXT NOT NULL, finess TEXT NOT NULL,
            kind TEXT NOT NULL,                  -- vue, brouillon, envoi, refus
            client TEXT
        );
        CREATE INDEX portal_events_month ON portal_events(as_of, finess)
    """)


MIGRATIONS = [("0001_initial", _initial), ("0002_campaign", _campaign), ("0003_unverified", _unverified),
              ("0004_left_out", _left_out), ("0005_recipient_journal", _recipient_journal), ("0006_reviews", _reviews),
              ("0007_portal", _portal)]
LATEST = len(MIGRATIONS)
# The tables each migration creates: a file that claims a version but lacks them is refused untouched.
TABLES = [("migrations", "runs", "run_files", "coverage", "findings"), ("recipients", "deliveries", "answers",
          "decisions"), ("unverified",), ("left_out",), ("recipient_deliveries",), ("secrets", "reviewed"),
          ("review_pages", "drafts", "portal_events")]


def migrate(db: sqlite3.Connection, applied_at: str) -> list[str]:
    """Apply the pending migrations, each in one transaction; returns their names."""
    version = db.execute("PRAGMA user_version").fetchone()[0]
    done = []
    for number, (name, step) in enumerate(MIGRATIONS[version:], start=version + 1):
        db.execute("BEGIN IMMEDIATE")
        try:
            if number == 1:
                db.execute(f"PRAGMA application_id = {APPLICATION_ID}")
                db.execute("CREATE TABLE migrations (name TEXT PRIMARY KEY, applied_at TEXT NOT NULL)")
            step(db)
            db.execute("INSERT INTO migrations VALUES (?, ?)", (name, applied_at))
            db.execute(f"PRAGMA user_version = {number}")
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
        done.append(name)
    return done
