"""`vt-audit history import`: earlier findings.json reports into the history, oldest first.

A region that adopts the history starts with its past months: each report is
compared with the run before it, exactly as a live run would be, and recorded.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from ..errors import AuditError
from ..findings import SEVERITIES
from .recording import compare_with_history, file_sha256, run_row
from .settings import FollowUpSettings
from .store import History

_FINDING_FIELDS = ("key", "rule", "severity", "finess", "establishment", "account", "subject", "message", "waived")
_ESTABLISHMENT_FIELDS = ("finess", "name", "accounts", *SEVERITIES)


def read_report(path: Path) -> dict:
    """A findings.json, checked for what the history needs; every problem names the file."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise AuditError(f"{path} : lecture impossible ({exc.strerror})") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise AuditError(f"{path} : ce n'est pas un findings.json de vt-audit (JSON invalide : {exc})") from None
    if not isinstance(data, dict) or not {"as_of", "findings", "establishments", "rules"} <= set(data):
        raise AuditError(f"{path} : ce n'est pas un findings.json de vt-audit (as_of, findings, establishments "
                         "et rules attendus)")
    try:
        data["as_of"] = pd.Timestamp(data["as_of"]).normalize()
    except (TypeError, ValueError):
        raise AuditError(f"{path} : date d'audit « {data['as_of']} » illisible") from None
    for section, fields in (("findings", _FINDING_FIELDS), ("establishments", _ESTABLISHMENT_FIELDS)):
        entries = data[section]
        if not isinstance(entries, list):
            raise AuditError(f"{path} : « {section} » doit être une liste")
        for number, entry in enumerate(entries, start=1):
            missing = [f for f in fields if not isinstance(entry, dict) or f not in entry]
            if missing:
                fields_text = "champs absents" if len(missing) > 1 else "champ absent"
                raise AuditError(f"{path} : {section}, élément {number} : {fields_text} {', '.join(missing)}")
    return data


def import_reports(history: History, paths: list[Path], settings: FollowUpSettings,
                   retention_months: int) -> list[tuple[Path, pd.Timestamp, bool]]:
    """Record each report (all are checked before any is recorded); returns (file, audit date, replaced)."""
    reports = sorted(((Path(p), read_report(p)) for p in paths), key=lambda item: item[1]["as_of"])
    dates = [report["as_of"] for _, report in reports]
    if len(set(dates)) < len(dates):
        twice = sorted({d for d in dates if dates.count(d) > 1})
        raise AuditError("deux rapports ont la même date d'audit : " + ", ".join(f"{d:%d/%m/%Y}" for d in twice))
    done = []
    for path, report in reports:
        as_of = report["as_of"]
        findings = pd.DataFrame(report["findings"], columns=list(_FINDING_FIELDS)).astype({"waived": bool})
        establishments = pd.DataFrame(report["establishments"], columns=list(_ESTABLISHMENT_FIELDS))
        follow_up, _ = compare_with_history(history, findings, establishments, as_of, settings)
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
        replaced, _ = history.record(run, files, coverage, rows.itertuples(index=False, name=None), retention_months)
        done.append((path, as_of, replaced))
    return done
