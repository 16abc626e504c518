"""The national FINESS extract of establishments, read as it is published (no editing in Excel first).

Two published forms of the same data are recognised from their content:
- the etalab stock file (`etalab-cs1100507-stock-AAAAMMJJ-HHMM.csv`): ISO-8859-1, ";", no header;
  a first line `finess;etalab;<n>;<date>`, one `structureet` row per open establishment (31
  fields), and `geolocalisation` rows (coordinates), which are counted and left out;
- the newer form with a header line `nofinesset;nofinessej;rs;…`.

Only the columns the audit needs are kept, under the names the header catalogue knows
(headers.yaml), so that the rest of the loading is the referential's as usual.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

import numpy as np
import pandas as pd

from ..model.issues import InputIssue
from .grid import Body, Grid

FIELDS = ("nofinesset", "nofinessej", "rs", "rslongue", "complrs", "compldistrib", "numvoie", "typvoie", "voie",
          "compvoie", "lieuditbp", "commune", "departement", "libdepartement", "ligneacheminement", "telephone",
          "telecopie", "categetab", "libcategetab", "categagretab", "libcategagretab", "siret", "codeape", "codemft",
          "libmft", "codesph", "libsph", "dateouv", "dateautor", "datemaj", "numuai")
KEPT = ("nofinesset", "nofinessej", "rslongue", "categetab", "departement")
DESCRIPTION = "extrait FINESS des établissements"


def recognise(text: str) -> str | None:
    """"stock" (etalab, no header) or "header" (nofinesset;…) when `text` is a FINESS extract."""
    first = text[:4096].lstrip("\ufeff").split("\n", 1)[0].strip().lower()  # not a copy of the whole text
    if first.startswith("finess;etalab"):
        return "stock"
    if first.startswith("nofinesset;nofinessej;rs"):
        return "header"
    return None


def read_extract(path: Path, text: str, encoding: str, form: str, issues: list[InputIssue]):
    """The extract as a grid of the kept columns (see grid.Grid), with what was left out counted."""
    rows, lines, geolocation, odd = [], [], 0, []
    reader = csv.reader(io.StringIO(text.lstrip("\ufeff"), newline=""), delimiter=";")
    header = None
    for record in reader:
        line = reader.line_num
        kind = record[0].strip().lower() if record else ""
        if form == "header" and header is None:
            header = {name.strip().lower(): i for i, name in enumerate(record)}
            continue
        if form == "stock" and line == 1:
            continue  # finess;etalab;<n>;<date>: the file's own description
        if not any(cell.strip() for cell in record):
            continue
        if kind == "geolocalisation":
            geolocation += 1
            continue
        if form == "stock":
            if kind != "structureet":
                odd.append(line)
                continue
            fields = dict(zip(FIELDS, (cell.strip() for cell in record[1:])))
        else:
            fields = {name: record[i].strip() for name, i in header.items() if i < len(record)}
        fields["rslongue"] = fields.get("rslongue") or fields.get("rs", "")
        rows.append([fields.get(name, "") for name in KEPT])
        lines.append(line)
    if geolocation:
        issues.append(InputIssue(str(path), None, None, f"extrait FINESS : {geolocation} lignes de géolocalisation "
                                 "(coordonnées) laissées de côté", "info", dropped_rows=geolocation))
    for line in odd:
        issues.append(InputIssue(str(path), line, None, "extrait FINESS : ligne d'un type inconnu (ni "
                                 "« structureet » ni « geolocalisation ») : ignorée", "warning", dropped_rows=1))
    cells = pd.DataFrame(rows, columns=range(len(KEPT)), dtype="string")
    body = Body(cells, np.array(lines, dtype=np.int64))
    return Grid(path, [list(KEPT)], [1], f"{DESCRIPTION} ({encoding})", lambda header_index: body, issues,
                finess_extract=True)
