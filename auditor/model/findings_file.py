"""Reading a findings.json back: `vt-audit history import` and `vt-audit send` start from one."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from .findings import RECORDED_FIELDS, SEVERITIES
from .issues import AuditError

# What reading a findings.json back needs of each establishment (and of each finding: RECORDED_FIELDS).
ESTABLISHMENT_FIELDS = ("finess", "name", "accounts", *SEVERITIES)


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
    for section, fields in (("findings", RECORDED_FIELDS), ("establishments", ESTABLISHMENT_FIELDS)):
        entries = data[section]
        if not isinstance(entries, list):
            raise AuditError(f"{path} : « {section} » doit être une liste")
        for number, entry in enumerate(entries, start=1):
            missing = [f for f in fields if not isinstance(entry, dict) or f not in entry]
            if missing:
                fields_text = "champs absents" if len(missing) > 1 else "champ absent"
                raise AuditError(f"{path} : {section}, élément {number} : {fields_text} {', '.join(missing)}")
    return data
