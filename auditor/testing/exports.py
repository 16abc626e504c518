"""The region's exports written as a back office writes them (and the findings planted in them)."""

from __future__ import annotations

import csv
import datetime as dt
import json
from pathlib import Path

from openpyxl import Workbook

from .national_files import DIRECTORY_NAME, EXTRACT_NAME, directory_rows, write_finess_extract, write_rpps_directory
from .region import AS_OF, Region


def _write_csv(path: Path, rows: list[dict], encoding: str, separator: str) -> Path:
    with open(path, "w", encoding=encoding, newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]), delimiter=separator)
        writer.writeheader()
        writer.writerows(rows)
    return path


def write_region(region: Region, out: Path, accounts_xlsx: bool = False, as_of: dt.date = AS_OF,
                 gone: bool = False) -> list[Path]:
    """The exports as a back office writes them: accounts CSV cp1252 ';' (or XLSX), referential XLSX,
    staff CSV UTF-8 ','."""
    out.mkdir(parents=True, exist_ok=True)
    if accounts_xlsx:
        accounts = out / "comptes.xlsx"
        book = Workbook(write_only=True)
        sheet = book.create_sheet("Comptes")
        sheet.append(list(region.accounts[0]))
        for row in region.accounts:
            sheet.append(list(row.values()))
        book.save(accounts)
    else:
        accounts = _write_csv(out / "comptes.csv", region.accounts, "cp1252", ";")

    referential = out / "etablissements.xlsx"
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "Référentiel"
    sheet.append(["N° FINESS ET", "Raison sociale", "FINESS EJ", "Catégorie", "Département", "Date de fermeture",
                  "E-mail du directeur"])
    for e in region.establishments:
        sheet.append([e["finess"], e["name"], e["finess_ej"], e["category"], e["department"], e["closed_on"],
                      e["director_email"]])
    for row in sheet.iter_rows(min_row=2, min_col=6, max_col=6):
        row[0].number_format = "DD/MM/YYYY"
    workbook.save(referential)

    staff = _write_csv(out / "personnels.csv", region.staff, "utf-8-sig", ",")

    write_finess_extract(region, out / "referentiels" / EXTRACT_NAME)
    activities, planted = directory_rows(region)
    write_rpps_directory(activities, out / "referentiels" / DIRECTORY_NAME)
    (out / "referentiels" / "attendu-annuaire.json").write_text(
        json.dumps({"findings": planted}, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    expected = out / "attendu.json"
    planted = {"as_of": as_of.isoformat(), "findings": region.expected}
    if gone:
        planted["gone"] = region.gone
    expected.write_text(json.dumps(planted, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    return [accounts, referential, staff, expected]
