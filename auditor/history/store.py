"""The history of audits: one embedded SQLite file (no server), created readable by its owner only.

Opening checks the file before writing anything: a file that is not a
vt-audit history, is corrupt or was written by a newer version stops the run
(exit 2) and is left as it was. A lock held for the whole run keeps two runs
from interleaving on one history; every write is one transaction, so a crash
or Ctrl-C leaves the history as it was before the run.
"""

from __future__ import annotations

import datetime as dt
import os
import sqlite3
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from ..model.issues import AuditError
from .campaign_tables import CampaignTables, iso_day
from .follow_up import FINDING_COLUMNS, PreviousRun
from .portal_tables import PortalTables
from .schema import APPLICATION_ID, LATEST, TABLES, migrate

try:
    import fcntl
except ImportError:  # not on Windows: there SQLite's own locking is the only guard
    fcntl = None

SQLITE_HEADER = b"SQLite format 3\x00"


@dataclass(frozen=True)
class RunSummary:
    """One line of `vt-audit history`."""

    as_of: str
    ran_at: str
    origin: str
    establishments: int
    accounts: int
    error: int
    warning: int
    info: int
    waived: int
    region_score: float | None
    files: list[str]


class History(CampaignTables, PortalTables):
    """An open history file; use `open_history` (a context manager that also takes the lock)."""

    def __init__(self, path: Path, db: sqlite3.Connection):
        self.path = path
        self.db = db

    # -- reading ------------------------------------------------------------------------------

    def previous(self, as_of: pd.Timestamp) -> PreviousRun | None:
        """The run just before `as_of` by audit date (not by when it was recorded)."""
        row = self.db.execute(
            "SELECT id, as_of, accounts, establishments_with_accounts, region_score FROM runs "
            "WHERE as_of < ? ORDER BY as_of DESC LIMIT 1", (_iso(as_of),)).fetchone()
        if row is None:
            return None
        run_id, previous_as_of, accounts, establishments, region_score = row
        # Only what the comparison needs: the details of the few findings gone are read afterwards.
        # With the findings it could not verify, which stay open (never resolved for want of data).
        findings = pd.DataFrame(
            self.db.execute("SELECT key, finess, first_seen FROM findings WHERE run_id = ? UNION ALL "
                            "SELECT key, finess, first_seen FROM unverified WHERE run_id = ?",
                            (run_id, run_id)).fetchall(),
            columns=["key", "finess", "first_seen"])
        coverage = pd.read_sql_query("SELECT finess, accounts, score FROM coverage WHERE run_id = ?",
                                     self.db, params=(run_id,))
        return PreviousRun(pd.Timestamp(previous_as_of), findings, coverage, accounts, establishments, region_score,
                           run_id)

    def finding_details(self, run_id: int, keys) -> pd.DataFrame:
        """FINDING_COLUMNS of the findings of run `run_id` with these keys."""
        self._candidates(keys)
        details = pd.concat([pd.read_sql_query(
            "SELECT f.key, f.rule, f.severity, f.finess, c.name AS establishment, f.account, f.subject, "
            # CROSS JOIN: SQLite then looks each key up in the key index, instead of scanning the run.
            f"f.message, f.waived, f.first_seen FROM candidate_keys k CROSS JOIN {table} f ON f.key = k.key "
            "LEFT JOIN coverage c ON c.run_id = f.run_id AND c.finess = f.finess WHERE f.run_id = ?",
            self.db, params=(run_id,)) for table in ("findings", "unverified")], ignore_index=True)
        return details.astype({"waived": bool}).fillna({"establishment": ""})[FINDING_COLUMNS]

    def missing_since(self, finess: pd.Series, as_of: pd.Timestamp) -> pd.Series:
        """For each of `finess` (missing from this export), the audit date since which it is missing: the
        first run after the last one in which it had accounts (`as_of` itself if that was the run before)."""
        self._candidates(finess.drop_duplicates())
        since = dict(self.db.execute(
            "WITH last AS (SELECT c.finess, max(r.as_of) AS seen FROM candidate_keys k CROSS JOIN coverage c "
            "ON c.finess = k.key JOIN runs r ON r.id = c.run_id WHERE c.accounts > 0 AND r.as_of < ?1 "
            "GROUP BY c.finess) "
            "SELECT finess, coalesce((SELECT min(as_of) FROM runs WHERE as_of > last.seen AND as_of < ?1), ?1) "
            "FROM last", (_iso(as_of),)).fetchall())
        return finess.map(since)

    def previous_date(self, as_of) -> str | None:
        """The audit date of the run just before `as_of`."""
        return self.db.execute("SELECT max(as_of) FROM runs WHERE as_of < ?", (_iso(as_of),)).fetchone()[0]

    def seen_before(self, keys, as_of: pd.Timestamp) -> set[str]:
        """Those of `keys` found in any run before `as_of`."""
        self._candidates(keys)
        # One look-up in the key index per candidate (a join would scan every earlier run instead).
        rows = self.db.execute(
            "SELECT c.key FROM candidate_keys c WHERE EXISTS (SELECT 1 FROM findings f "
            "JOIN runs r ON r.id = f.run_id WHERE f.key = c.key AND r.as_of < ?)", (_iso(as_of),)).fetchall()
        return {key for (key,) in rows}

    def _candidates(self, keys) -> None:
        """Fill the temporary table of keys that the next query joins on."""
        self.db.execute("CREATE TEMP TABLE IF NOT EXISTS candidate_keys (key TEXT PRIMARY KEY)")
        self.db.execute("DELETE FROM candidate_keys")
        self.db.executemany("INSERT OR IGNORE INTO candidate_keys VALUES (?)", ((k,) for k in keys))

    def trend(self, as_of: pd.Timestamp, runs: int) -> pd.DataFrame:
        """Findings by severity per establishment in the `runs` runs before `as_of`."""
        return pd.read_sql_query(
            "SELECT r.as_of, c.finess, c.error, c.warning, c.info FROM coverage c JOIN runs r ON r.id = c.run_id "
            "WHERE r.id IN (SELECT id FROM runs WHERE as_of < ? ORDER BY as_of DESC LIMIT ?) "
            "ORDER BY r.as_of, c.finess", self.db, params=(_iso(as_of), runs))

    def runs(self) -> list[RunSummary]:
        files: dict[int, list[str]] = {}
        for run_id, path in self.db.execute("SELECT run_id, path FROM run_files ORDER BY rowid"):
            files.setdefault(run_id, []).append(path)
        return [
            RunSummary(as_of, ran_at, origin, establishments, accounts, error, warning, info, waived, score,
                       files.get(run_id, []))
            for run_id, as_of, ran_at, origin, establishments, accounts, error, warning, info, waived, score
            in self.db.execute("SELECT id, as_of, ran_at, origin, establishments, accounts, error, warning, info, "
                               "waived, region_score FROM runs ORDER BY as_of")
        ]

    # -- writing ------------------------------------------------------------------------------

    def record(self, run: dict, files: list[tuple], coverage: pd.DataFrame, findings,
               retention_months: int, recipients=(), unverified=(), left_out=(), reviewed=(), pages=()
               ) -> tuple[bool, list[str]]:
        """Store one run in one transaction, replacing a run of the same audit date.

        `run`: the columns of `runs`; `files`: (path, kind, sha256, rows);
        `coverage`: finess, name, accounts, error, warning, info, score;
        `findings`: tuples (key, rule, severity, finess, account, subject, message, waived, first_seen);
        `recipients`: tuples (finess, email, role), whom each establishment's report goes to;
        `unverified`: tuples as `findings`, the previous run's findings this one could not verify;
        `left_out`: tuples (finess, account, reason), the referents the report must not go to;
        `reviewed`: tuples (finess, account), the accounts of each establishment's access review;
        `pages`: what the review portal shows of each establishment (see PortalTables.store_pages).
        Returns whether a run of that date was replaced, and the audit dates purged.
        """
        with self.transaction():
            replaced = self.db.execute("DELETE FROM runs WHERE as_of = ?", (run["as_of"],)).rowcount > 0
            columns = ", ".join(run)
            cursor = self.db.execute(f"INSERT INTO runs ({columns}) VALUES ({', '.join('?' * len(run))})",
                                     tuple(run.values()))
            run_id = cursor.lastrowid
            self.db.executemany("INSERT INTO run_files VALUES (?, ?, ?, ?, ?)", ((run_id, *f) for f in files))
            self.db.executemany(
                "INSERT INTO coverage VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                ((run_id, *row) for row in coverage[["finess", "name", "accounts", "error", "warning", "info",
                                                      "score"]].itertuples(index=False, name=None)))
            self.db.executemany("INSERT INTO findings VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                                ((run_id, *row) for row in findings))
            self.db.executemany("INSERT INTO recipients VALUES (?, ?, ?, ?)",
                                ((run_id, *row) for row in recipients))
            self.db.executemany("INSERT INTO unverified VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                                ((run_id, *row) for row in unverified))
            self.db.executemany("INSERT INTO left_out VALUES (?, ?, ?, ?)", ((run_id, *row) for row in left_out))
            self.db.executemany("INSERT INTO reviewed VALUES (?, ?, ?)", ((run_id, *row) for row in reviewed))
            self.store_pages(run_id, pages)
            purged = self._purge(retention_months)
        return replaced, purged

    def _purge(self, retention_months: int) -> list[str]:
        """Remove runs older than `retention_months` before the latest one (personal data is kept no longer)."""
        latest = self.db.execute("SELECT max(as_of) FROM runs").fetchone()[0]
        if latest is None:
            return []
        limit = (pd.Timestamp(latest) - pd.DateOffset(months=retention_months)).date().isoformat()
        old = [d for (d,) in self.db.execute("SELECT as_of FROM runs WHERE as_of < ? ORDER BY as_of", (limit,))]
        # The campaign's traces go with their month: journal, answers (their decisions cascade), drafts and
        # the portal's journal hold names, addresses and client addresses.
        for table in ("runs", "deliveries", "recipient_deliveries", "answers", "drafts", "portal_events"):
            self.db.execute(f"DELETE FROM {table} WHERE as_of < ?", (limit,))
        return old

    @contextmanager
    def transaction(self):
        self.db.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            if self.db.in_transaction:  # SQLite may have rolled it back itself (a full disk)
                self.db.execute("ROLLBACK")
            raise
        self.db.execute("COMMIT")


@contextmanager
def open_history(path: Path, *, create: bool = True, exclusive: bool = True):
    """The history at `path`, checked, migrated and locked for the duration of the block.

    Any SQLite failure inside the block (a corrupt page met late, a full disk)
    becomes an AuditError naming the file, so the user gets one French line.
    """
    path = Path(path)
    existed = path.exists()
    if not existed and not create:
        raise AuditError(f"{path} : historique introuvable")
    if existed and not path.is_file():
        raise AuditError(f"{path} : n'est pas un fichier d'historique")
    if existed:
        _check_header(path)
    else:
        _create_private(path)
    lock = _lock(path, exclusive)
    db = None
    try:
        db = sqlite3.connect(path, isolation_level=None, timeout=30)
        _check_identity(db, path)
        migrate(db, dt.datetime.now().isoformat(timespec="seconds"))
        db.execute("PRAGMA journal_mode = WAL")
        db.execute("PRAGMA synchronous = NORMAL")
        db.execute("PRAGMA foreign_keys = ON")
        # 256 MB of page cache (the default is 2 MB): inserting 400,000 findings updates an index of
        # keys in random order, which otherwise rereads its pages from disk (3 s instead of 1 s).
        db.execute("PRAGMA cache_size = -262144")
        yield History(path, db)
    except sqlite3.OperationalError as exc:  # locked, disk full, read-only folder
        raise AuditError(f"{path} : historique inaccessible ({exc})") from None
    except sqlite3.DatabaseError as exc:  # not a database, malformed pages
        raise AuditError(f"{path} : historique illisible ou corrompu ({exc})") from None
    finally:
        if db is not None:
            db.close()
        os.close(lock)


def check_for_portal(path: Path) -> None:
    """The history checked as `open_history` checks it, once, before the review portal serves it."""
    path = Path(path)
    if not path.is_file():
        raise AuditError(f"{path} : historique introuvable")
    _check_header(path)
    history = connect_for_portal(path)
    try:
        _check_identity(history.db, path)
        if history.db.execute("PRAGMA user_version").fetchone()[0] < LATEST:
            raise AuditError(f"{path} : historique d'une version précédente de vt-audit ; lancer d'abord "
                             "« vt-audit run … --history » avec cette version")
    except sqlite3.DatabaseError as exc:
        raise AuditError(f"{path} : historique illisible ou corrompu ({exc})") from None
    finally:
        history.db.close()


def connect_for_portal(path: Path) -> History:
    """A connection for one of the review portal's worker threads, without the run lock (a month's
    `run` must not wait for the portal to stop): each write is one short transaction, SQLite's own
    locking keeps writers apart. Nothing else in the portal's process opens the file: closing any
    other descriptor of it would drop the SQLite locks of every thread (POSIX record locks are the
    process's), and another process could then reset the write-ahead log under them."""
    db = sqlite3.connect(path, isolation_level=None, timeout=30, check_same_thread=False)
    db.execute("PRAGMA synchronous = NORMAL")  # as open_history: the log is synced at checkpoints
    db.execute("PRAGMA foreign_keys = ON")
    return History(Path(path), db)


def _create_private(path: Path) -> None:
    """An empty file only its owner can read (it holds names and e-mails), whatever the umask."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
    except FileExistsError:
        pass  # another run created it meanwhile: the lock and the checks below decide
    except OSError as exc:
        raise AuditError(f"{path} : impossible de créer l'historique ({exc.strerror})") from None


def _check_header(path: Path) -> None:
    try:
        with open(path, "rb") as handle:
            header = handle.read(len(SQLITE_HEADER))
    except OSError as exc:
        raise AuditError(f"{path} : lecture de l'historique impossible ({exc.strerror})") from None
    if header and header != SQLITE_HEADER:
        raise AuditError(f"{path} : ce fichier n'est pas un historique vt-audit (ni une base SQLite) ; "
                         "il n'a pas été modifié")


def _check_identity(db: sqlite3.Connection, path: Path) -> None:
    application_id = db.execute("PRAGMA application_id").fetchone()[0]
    version = db.execute("PRAGMA user_version").fetchone()[0]
    tables = db.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]
    if application_id != APPLICATION_ID and (tables or version):
        raise AuditError(f"{path} : cette base SQLite n'est pas un historique vt-audit ; elle n'a pas été modifiée")
    if version > LATEST:
        raise AuditError(f"{path} : historique écrit par une version plus récente de vt-audit (schéma {version}, "
                         f"cette version connaît le schéma {LATEST}) ; mettez vt-audit à jour")
    present = {name for (name,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    missing = [table for tables in TABLES[:version] for table in tables if table not in present]
    if missing:
        raise AuditError(f"{path} : se dit historique vt-audit (schéma {version}) mais il lui manque des tables "
                         f"({', '.join(missing)}) : fichier abîmé ou d'une autre origine ; il n'a pas été modifié")


def _lock(path: Path, exclusive: bool) -> int:
    """A lock on the history for the whole run: a second run stops at once with a clear message."""
    try:
        handle = os.open(path, os.O_RDONLY)
    except OSError as exc:
        raise AuditError(f"{path} : ouverture de l'historique impossible ({exc.strerror})") from None
    if fcntl is not None:
        try:
            fcntl.flock(handle, (fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH) | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(handle)
            raise AuditError(f"{path} : historique utilisé par une autre exécution de vt-audit ; "
                             "relancez quand elle sera terminée") from None
    return handle


_iso = iso_day
