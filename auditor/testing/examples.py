"""Running a rule's examples: the small tables of its YAML entry, through the real engine.

Example rows are written with canonical column names and only the columns
that matter; the others get the values of a clean, active account, so that a
"pass" example only passes because of what it shows.
"""

from __future__ import annotations

import pandas as pd

from ..config.catalogue import Catalogue
from ..engine import evaluate as engine
from ..engine.history_tables import HISTORY_TABLES, history_table
from ..engine.rulebook import Example, Rule
from ..inputs.load import Inputs, directory_table
from ..inputs.parse import parse_table
from ..model.findings import Finding
from ..model.frames import TEXT

EXAMPLE_AS_OF = "2026-11-01"
EXAMPLE_FINESS = "130000011"

_ACCOUNT_DEFAULTS = {
    "civility": "Mme",
    "first_name": "Claire",
    "function": "Éducatrice spécialisée",
    "finess": EXAMPLE_FINESS,
    "establishment_name": "IME Les Calanques",
    "unit": "Internat",
    "status": "Actif",
    "created_on": "01/01/2026",
    "last_login": "15/10/2026",
    "roles": "IAM - MSPH - ESMS - Gestion des notif. (Nominatif) (IAM)",
}


def _account_row(row: dict) -> dict:
    account_id = str(row.get("account_id", "compte"))
    defaults = {
        **_ACCOUNT_DEFAULTS,
        "account_id": account_id,
        "last_name": account_id.upper(),
        "email": f"{account_id}@exemple.fr",
        "backup_email": f"{account_id}.secours@exemple.fr",
    }
    return {**defaults, **{k: "" if v is None else str(v) for k, v in row.items()}}


def _table(kind: str, rows: list[dict], catalogue: Catalogue, as_of) -> pd.DataFrame:
    if kind == "accounts":
        rows = [_account_row(row) for row in rows]
    records = [{k: "" if v is None else str(v) for k, v in row.items()} for row in rows]
    raw = pd.DataFrame(records, dtype=TEXT)
    raw["source_file"] = f"exemple:{kind}"
    raw["source_line"] = pd.Series(range(2, len(records) + 2), dtype="int64")
    frame, _ = parse_table(kind, raw, catalogue, as_of, f"exemple:{kind}")
    frame.attrs["present"] = set(catalogue.kinds[kind].columns)
    return frame


def run_example(rule: Rule, example: Example, catalogue: Catalogue) -> list[Finding]:
    as_of = pd.Timestamp(example.as_of or EXAMPLE_AS_OF)
    tables = {k: _table(k, rows, catalogue, as_of) for k, rows in example.tables.items()
              if (rows or k == "accounts") and k in catalogue.kinds}
    inputs = Inputs(
        accounts=tables["accounts"],
        establishments=tables.get("establishments"),
        staff=tables.get("staff"),
        columns_present={k: set(catalogue.kinds[k].columns) for k in tables},
        directory=directory_table(example.tables["directory"]) if example.tables.get("directory") else None,
    )
    history = {k: history_table(k, rows) for k, rows in example.tables.items() if k in HISTORY_TABLES and rows}
    return engine.run([rule], inputs, catalogue, as_of, history=history).findings
