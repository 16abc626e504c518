"""findings.json: the machine-readable report (schema: reports/findings.schema.json)."""

from __future__ import annotations

from pathlib import Path

import orjson
import pandas as pd

from .. import __version__
from ..files import atomic_path
from ..model.findings import SEVERITIES
from ..run import Run
from .json_findings import finding_rows

SCHEMA_VERSION = 1


def report_data(result: Run) -> dict:
    establishments = result.establishments
    return {
        "schema_version": SCHEMA_VERSION,
        "tool": {"name": "vt-audit", "version": __version__},
        "as_of": result.as_of.date().isoformat(),
        "summary": {
            "establishments": int(len(establishments)),
            "establishments_without_accounts": int((establishments["accounts"] == 0).sum()),
            "findings": result.severity_counts(),
            "waived": result.waived_count(),
            "input_issues": len(result.input_issues),
        },
        "rules": [
            {
                "code": rule.code,
                "title": rule.title,
                "severity": rule.severity,
                "params": result.outcomes[rule.code].params,
                "evaluated": result.outcomes[rule.code].evaluated,
                "skipped_because": result.outcomes[rule.code].skipped_because,
                "findings": result.outcomes[rule.code].findings,
            }
            for rule in result.rules
        ],
        "establishments": establishment_records(establishments),
        # The records themselves, which orjson writes (see to_json); or, while no record is made, a
        # marker write_json puts them in place of, written from their columns.
        "findings": result.findings if result.records_made else _FINDINGS_FROM_COLUMNS,
        "input_issues": result.input_issues,
        "sources": result.sources,
        "waivers": waiver_data(result),
        "follow_up": follow_up_data(result),
    }


def establishment_records(establishments: pd.DataFrame) -> list[dict]:
    """One dict per establishment, of plain Python values taken column by column (40,000 rows'
    itertuples took 0.3 s)."""
    types = {"finess": object, "name": object, "in_referential": bool, "closed": bool, "accounts": "int64",
             **{severity: "int64" for severity in SEVERITIES}}
    columns = {name: establishments[name].astype(kind).tolist() for name, kind in types.items()}  # NA: null
    return [dict(zip(columns, values)) for values in zip(*columns.values())]


def follow_up_data(result: Run) -> dict | None:
    follow_up = result.follow_up
    if follow_up is None:
        return None

    def gone(frame):
        return frame.astype({"waived": bool}).astype(object).where(frame.notna(), None).to_dict("records")

    def optional_int(value):
        return None if pd.isna(value) else int(value)

    return {
        "previous_as_of": follow_up.previous_as_of.date().isoformat() if follow_up.previous_as_of is not None else None,
        "statuses": follow_up.status_counts(result.findings),
        "region_score": follow_up.region_score,
        "previous_region_score": follow_up.previous_region_score,
        "stale_months": follow_up.stale_months,
        "resolved": gone(follow_up.resolved),
        "unverified": gone(follow_up.unverified),
        "scores": [{"finess": row.finess, "name": row.name, "score": int(row.score),
                    "previous_score": optional_int(row.previous_score), "change": optional_int(row.change),
                    "overdue": int(row.overdue)} for row in follow_up.scores.itertuples(index=False)],
        "trend": follow_up.region_trend().to_dict("records"),
    }


def waiver_data(result: Run) -> dict | None:
    status = result.waivers
    if status is None:
        return None

    def entries(waivers):
        return [{"rule": w.rule, "finess": w.finess, "account": w.account, "reason": w.reason,
                 "approved_by": w.approved_by, "expires": w.expires.isoformat(), "file": w.file, "line": w.line}
                for w in waivers]

    return {"applied": entries(status.applied), "unused": entries(status.unused),
            "expired": entries(status.expired), "expiring_soon": entries(status.expiring_soon)}


# Raw control characters: no JSON text orjson writes holds any (it escapes them in strings).
_MARKER = b'"\x00findings\x00"'
_FINDINGS_FROM_COLUMNS = orjson.Fragment(_MARKER)


def write_json(result: Run, target: Path) -> Path:
    document = to_json(report_data(result))
    with atomic_path(target) as temporary, open(temporary, "wb") as file:
        if result.records_made:
            file.write(document)
        else:
            before, after = document.split(_MARKER)
            file.write(before + b"[")
            for rows in finding_rows(result.finding_table):  # Arrow's buffers as they are: no copy
                file.write(rows)
            file.write(b"]" + after)
    return target


def to_json(data) -> bytes:
    """orjson, not json: 0.2 s instead of 1.7 s for a national run's 400,000 findings (UTF-8, compact).

    Findings, issues and sources stay objects in `data`, which orjson writes itself (dataclasses): a
    dict of 400,000 findings' dicts held at once took 300 MB more, and making each as orjson reached
    it took 0.5 s of Python calls.
    """
    return orjson.dumps(data, default=_plain)


def _plain(value):
    if value is pd.NA or value is pd.NaT:
        return None
    if hasattr(value, "item"):
        return value.item()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")
