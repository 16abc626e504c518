"""The public RPPS directory (Annuaire Santé), read as it is published.

`PS_LibreAcces_Personne_activite_*.txt`: UTF-8, "|"-separated, a header line,
a trailing "|" on each line, one row per activity of a health professional
(about two million nationally, hundreds of MB). Recognised from its header.
Only the needed columns are read (pyarrow), and only the rows of the audited
establishments and of the RPPS found in the accounts are kept.

It says where health professionals work (a second source of the staff file,
never a complete one: it makes nobody a leaver) and what each RPPS's
profession is (DRT-01 and DRT-04).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pv

from ..model.frames import TEXT
from ..model.issues import AuditError
from .cells import person_name_key

COLUMNS = {"Identifiant PP": "rpps", "Nom d'exercice": "last_name", "Prénom d'exercice": "first_name",
           "Code profession": "profession_code", "Libellé profession": "profession", "Numéro FINESS site": "finess"}
DESCRIPTION = "annuaire santé (RPPS), activités des professionnels"
LABEL = "annuaire santé (RPPS)"


def recognise(path: Path) -> bool:
    """The directory, from its first line (whatever the file is named)."""
    try:
        with open(path, "rb") as handle:
            first = handle.readline(64 * 1024).decode("utf-8-sig", errors="replace")
    except OSError:
        return False
    return first.startswith("Type d'identifiant PP|") and "|Numéro FINESS site|" in first


def read_directory(path: Path, establishments: set[str], rpps: set[str]) -> tuple[pd.DataFrame, int]:
    """Activities of the audited establishments and of the accounts' RPPS, and the rows read.

    Columns: rpps, last_name, first_name, profession_code, profession, finess, name_key.
    """
    try:
        table = pv.read_csv(
            path,
            read_options=pv.ReadOptions(block_size=1 << 24),
            parse_options=pv.ParseOptions(delimiter="|", quote_char=False),
            convert_options=pv.ConvertOptions(include_columns=list(COLUMNS),
                                              column_types={name: pa.string() for name in COLUMNS}),
        )
    except (pa.ArrowInvalid, KeyError) as exc:
        raise AuditError(f"{path} : annuaire santé illisible ({str(exc).splitlines()[0]})") from None
    rows = table.num_rows
    keep = pc.or_(pc.is_in(table["Numéro FINESS site"], value_set=pa.array(sorted(establishments), pa.string())),
                  pc.is_in(table["Identifiant PP"], value_set=pa.array(sorted(rpps), pa.string())))
    frame = table.filter(keep).to_pandas(types_mapper=lambda _: pd.StringDtype("pyarrow"))
    frame = frame.rename(columns=COLUMNS).astype(TEXT)
    for column in frame:
        frame[column] = frame[column].str.strip().replace("", pd.NA)
    frame["name_key"] = person_name_key(frame["last_name"], frame["first_name"])
    return frame.reset_index(drop=True), rows
