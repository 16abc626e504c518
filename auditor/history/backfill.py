"""`vt-audit history import`: earlier findings.json reports into the history, oldest first.

A region that adopts the history starts with its past months: each report is
compared with the run before it, exactly as a live run would be, and recorded.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from ..config.settings import FollowUpSettings
from ..model.findings import RECORDED_FIELDS
from ..model.findings_file import ESTABLISHMENT_FIELDS, read_report
from ..model.issues import AuditError
from .recording import compare_with_history, file_sha256, run_row, unverified_rows
from .report_schema import check_report_file
from .store import History

# Control characters (an escape sequence in a name) are not text anyone reads: the reports that show
# what was imported must never carry them, as the loader keeps them out of an export's cells.
_CONTROLS = r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]"


def _without_controls(frame: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    return frame.assign(**{c: frame[c].where(frame[c].isna(), frame[c].astype(str).str.replace(_CONTROLS, "",
                                                                                                 regex=True))
                           for c in columns})


def import_reports(history: History, paths: list[Path], settings: FollowUpSettings,
                   retention_months: int) -> list[tuple[Path, pd.Timestamp, bool]]:
    """Record each report (all are checked before any is recorded); returns (file, audit date, replaced)."""
    for path in paths:
        check_report_file(path)
    reports = sorted(((Path(p), read_report(p)) for p in paths), key=lambda item: item[1]["as_of"])
    dates = [report["as_of"] for _, report in reports]
    if len(set(dates)) < len(dates):
        twice = sorted({d for d in dates if dates.count(d) > 1})
        raise AuditError("deux rapports ont la même date d'audit : " + ", ".join(f"{d:%d/%m/%Y}" for d in twice))
    done = []
    for path, report in reports:
        as_of = report["as_of"]
        findings = _without_controls(pd.DataFrame(report["findings"], columns=list(RECORDED_FIELDS)).astype(
            {"waived": bool}), ["subject", "message", "account"])
        establishments = _without_controls(pd.DataFrame(report["establishments"], columns=list(ESTABLISHMENT_FIELDS)),
                                           ["name"])
        evaluated = frozenset(r.get("code") for r in report["rules"] if r.get("evaluated", True))
        follow_up, _ = compare_with_history(history, findings, establishments, as_of, settings, evaluated)
        findings["first_seen"] = follow_up.marks["first_seen"].to_numpy()
        rules = [{"code": r.get("code"), "check": None, "severity": r.get("severity"), "params": r.get("params", {})}
                 for r in report["rules"]]
        files = [(s.get("path"), s.get("kind"), None, s.get("rows")) for s in report.get("sources") or []]
        files.append((str(path), "findings.json", file_sha256(path), len(findings)))
        run = run_row(as_of, "import", rules, None, establishments, findings["severity"].value_counts(),
                      findings["waived"].sum(), follow_up.region_score)
        coverage = establishments.assign(score=establishments["finess"].map(
            follow_up.scores.set_index("finess")["score"]))
        rows = findings[["key", "rule", "severity", "finess", "account", "subject", "message", "waived",
                         "first_seen"]].astype(object).where(findings.notna(), None)
        replaced, _ = history.record(run, files, coverage, rows.itertuples(index=False, name=None), retention_months,
                                     unverified=unverified_rows(follow_up.unverified))
        done.append((path, as_of, replaced))
    return done
