"""An audit result and the history: compare it with the previous audit, then record it.

Called by the library layer (auditor.api) around the pure engine: the
history is read before the reports are written (they show the statuses) and
written after they are complete.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections import Counter
from pathlib import Path

import pandas as pd

from .. import __version__
from ..config.settings import FollowUpSettings
from ..engine.evaluate import Evaluation
from ..model.findings import SEVERITIES, Finding
from ..model.frames import is_in
from .follow_up import FollowUp, PreviousRun, compare, coverage_issues, mark_findings
from .store import History


def findings_frame(findings) -> pd.DataFrame:
    """What the comparison needs of each finding, as columns."""
    return pd.DataFrame({"key": [f.key for f in findings], "finess": [f.finess for f in findings],
                         "severity": [f.severity for f in findings],
                         "waived": pd.array([f.waived for f in findings], dtype=bool)})


def compare_with_history(history: History, findings: pd.DataFrame, establishments: pd.DataFrame, as_of,
                         settings: FollowUpSettings, evaluated: frozenset[str] | None = None
                         ) -> tuple[FollowUp, PreviousRun | None]:
    """Compare a run's findings (see `findings_frame`) with the run before it in the history."""
    previous = history.previous(as_of)
    keys = findings["key"]
    new_keys = keys if previous is None else keys[~is_in(keys, previous.findings["key"])]
    returning = history.seen_before(new_keys, as_of) if len(new_keys) else set()
    trend = history.trend(as_of, settings.trend_runs - 1)
    follow_up = compare(findings, establishments, as_of, previous, returning, trend, settings, evaluated)
    if previous is not None:  # what the reports say of the findings gone
        gone = pd.concat([follow_up.resolved["key"], follow_up.unverified["key"]])
        details = history.finding_details(previous.run_id, gone).drop_duplicates("key").set_index("key")
        follow_up.resolved = details.loc[follow_up.resolved["key"]].reset_index()
        unverified = details.loc[follow_up.unverified["key"]].reset_index()
        # A finding is unverified because its establishment left the export (since when?) or its rule was
        # not evaluated (its establishment still has accounts: no date).
        accounts_now = unverified["finess"].map(establishments.set_index("finess")["accounts"]).fillna(0)
        missing = history.missing_since(unverified["finess"], as_of)
        unverified["missing_since"] = missing.where(accounts_now.to_numpy() == 0, None)
        follow_up.unverified = unverified
    return follow_up, previous


def follow(evaluation: Evaluation, findings: list[Finding], history: History,
           settings: FollowUpSettings) -> tuple[FollowUp, list[Finding]]:
    """The follow-up of a run against the history (with the coverage guard's issues), and its findings
    marked with their statuses."""
    evaluated = frozenset(code for code, outcome in evaluation.outcomes.items() if outcome.evaluated)
    follow_up, previous = compare_with_history(history, findings_frame(findings), evaluation.establishments,
                                               evaluation.as_of, settings, evaluated)
    accounts_file = next((s.path for s in evaluation.sources if s.kind == "accounts"), "export des comptes")
    follow_up.coverage_issues = coverage_issues(*attachment_counts(evaluation.establishments), previous, settings,
                                                accounts_file)
    return follow_up, mark_findings(findings, follow_up.marks)


def attachment_counts(establishments: pd.DataFrame) -> tuple[int, int]:
    """Attachments (account × establishment) and establishments that have accounts: the coverage."""
    return int(establishments["accounts"].sum()), int((establishments["accounts"] > 0).sum())


def rulebook_fingerprint(rules: list[dict]) -> str:
    """SHA-256 of the rules as evaluated: the same fingerprint means the same rulebook and parameters."""
    text = json.dumps([[r["code"], r.get("check"), r["severity"], r["params"]] for r in rules],
                      sort_keys=True, default=str, ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def file_sha256(path: Path) -> str | None:
    digest = hashlib.sha256()
    try:
        with open(path, "rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
    except OSError:
        return None
    return digest.hexdigest()


def run_row(as_of, origin: str, rules: list[dict], rows, establishments: pd.DataFrame, counts: dict[str, int],
            waived: int, region_score, deadline: dt.date | None = None) -> dict:
    """The `runs` row; `rules`: code, check (unknown for imports), severity, params of each rule."""
    accounts, with_accounts = attachment_counts(establishments)
    return {
        "as_of": pd.Timestamp(as_of).date().isoformat(),
        "ran_at": dt.datetime.now().isoformat(timespec="seconds"),
        "origin": origin,
        "tool_version": __version__,
        "rulebook_fingerprint": rulebook_fingerprint(rules),
        "params": json.dumps({r["code"]: r["params"] for r in rules}, ensure_ascii=False, sort_keys=True, default=str),
        "rows": rows,
        "accounts": accounts,
        "establishments": len(establishments),
        "establishments_with_accounts": with_accounts,
        **{severity: int(counts.get(severity, 0)) for severity in SEVERITIES},
        "waived": int(waived),
        "region_score": region_score,
        "deadline": None if deadline is None else deadline.isoformat(),
    }


def record(history: History, evaluation: Evaluation, findings: list[Finding], follow_up: FollowUp,
           retention_months: int, deadline: dt.date | None = None, pages=()) -> tuple[bool, list[str]]:
    """Store a run (its `findings` as `follow` marked them); see History.record for the return."""
    rows = ((f.key, f.rule, f.severity, f.finess, f.account, f.subject, f.message, f.waived, f.first_seen)
            for f in findings)
    rules = [{"code": r.code, "check": r.check, "severity": r.severity, "params": evaluation.outcomes[r.code].params}
             for r in evaluation.rules]
    account_rows = sum(s.rows for s in evaluation.sources if s.kind == "accounts")
    files = [(s.path, s.kind, file_sha256(Path(s.path)), s.rows) for s in evaluation.sources]
    counts = Counter(f.severity for f in findings)
    run = run_row(evaluation.as_of, "audit", rules, account_rows, evaluation.establishments, counts,
                  sum(f.waived for f in findings), follow_up.region_score, deadline)
    contacts = evaluation.contacts
    recipients = [] if contacts is None else contacts.itertuples(index=False, name=None)
    left_out = [] if evaluation.left_out is None else evaluation.left_out.itertuples(index=False, name=None)
    review = evaluation.access_review
    reviewed = [] if review is None else review[["finess", "account"]].itertuples(index=False, name=None)
    return history.record(run, files, _coverage(evaluation.establishments, follow_up), rows, retention_months,
                          recipients, unverified_rows(follow_up.unverified), left_out, reviewed, pages)


def unverified_rows(unverified: pd.DataFrame):
    """The findings a run could not verify, as the history keeps them (see History.record)."""
    columns = ["key", "rule", "severity", "finess", "account", "subject", "message", "waived", "first_seen"]
    return unverified[columns].astype(object).where(unverified[columns].notna(), None).itertuples(index=False,
                                                                                               name=None)


def _coverage(establishments: pd.DataFrame, follow_up: FollowUp) -> pd.DataFrame:
    table = establishments[["finess", "name", "accounts", *SEVERITIES]].copy()
    table["score"] = table["finess"].map(follow_up.scores.set_index("finess")["score"]).astype("int64")
    return table
