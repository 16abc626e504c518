"""The region as the national files list it: the FINESS extract and the RPPS directory, as published."""

from __future__ import annotations

import csv
from pathlib import Path

from ..inputs.finess_extract import FIELDS as _EXTRACT_FIELDS
from .region import AS_OF, Region, luhn_key, problem_of

EXTRACT_NAME = "etalab-cs1100507-stock-20261101-0400.csv"
# Establishments of the FINESS file that are not ESMS for disabled people, and one out of the region.
_PARIS = ("183", "IME de Paris", "75")
_OTHER_ESTABLISHMENTS = (("500", "EHPAD Les Mimosas", "13"), ("355", "Centre hospitalier de Digne", "04"),
                         ("620", "Pharmacie du Port", "83"), _PARIS)


def _finess_of(other: int) -> str:
    """The FINESS of the `other`-th establishment out of the region."""
    digits = f"{_OTHER_ESTABLISHMENTS[other][2]}{9000 + other:06d}"
    return digits + luhn_key(digits)


def finess_extract_rows(region: Region) -> list[list[str]]:
    """The region as the national FINESS extract lists it: open establishments only (31 fields each),
    plus establishments of other categories and one of another department."""
    rows = []
    others = [{"finess": _finess_of(n), "name": name, "category": category, "department": dep, "closed_on": None}
              for n, (category, name, dep) in enumerate(_OTHER_ESTABLISHMENTS)]
    for e in [*region.establishments, *others]:
        if e["closed_on"] is not None and e["closed_on"] <= AS_OF:
            continue  # the extract lists open establishments
        digits = e["finess"][:8]
        finess = digits + luhn_key(digits)
        fields = {"nofinesset": finess, "nofinessej": e.get("finess_ej", ""), "rs": e["name"][:38].upper(),
                  "rslongue": e["name"], "commune": "MARSEILLE", "departement": e["department"],
                  "libdepartement": "", "categetab": e["category"], "libcategetab": "",
                  "dateouv": "2001-09-01", "datemaj": "2026-10-15"}
        rows.append([fields.get(name, "") for name in _EXTRACT_FIELDS])
    return rows


def write_finess_extract(region: Region, path: Path, form: str = "stock") -> Path:
    """The extract in one of its two published forms: "stock" (etalab, no header, geolocation rows
    after the establishments) or "header" (a header line, no geolocation)."""
    rows = finess_extract_rows(region)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="latin-1", newline="") as handle:
        writer = csv.writer(handle, delimiter=";", lineterminator="\r\n")
        if form == "stock":
            writer.writerow(["finess", "etalab", len(rows), "2026-11-01"])
            writer.writerows(["structureet", *row] for row in rows)
            writer.writerows(["geolocalisation", row[0], "893000.1", "6247000.2", "1,ATLASANTE,100,IGN,BD_ADRESSE",
                              "2026-10-15"] for row in rows)
        else:
            writer.writerow(_EXTRACT_FIELDS)
            writer.writerows(rows)
    return path


DIRECTORY_NAME = "PS_LibreAcces_Personne_activite_202611010400.txt"
DIRECTORY_HEADER = (
    "Type d'identifiant PP|Identifiant PP|Identification nationale PP|Code civilité d'exercice|"
    "Libellé civilité d'exercice|Code civilité|Libellé civilité|Nom d'exercice|Prénom d'exercice|Code profession|"
    "Libellé profession|Code catégorie professionnelle|Libellé catégorie professionnelle|Code type savoir-faire|"
    "Libellé type savoir-faire|Code savoir-faire|Libellé savoir-faire|Code mode exercice|Libellé mode exercice|"
    "Numéro SIRET site|Numéro SIREN site|Numéro FINESS site|Numéro FINESS établissement juridique|"
    "Identifiant technique de la structure|Raison sociale site|Enseigne commerciale site|"
    "Code postal (coord. structure)|Code commune (coord. structure)|Libellé commune (coord. structure)|"
    "Code Département (structure)|Libellé Département (structure)|Code secteur d'activité|"
    "Libellé secteur d'activité|Code rôle|Libellé rôle|").split("|")
_PROFESSIONS = {"Infirmière": ("60", "Infirmier"), "Psychologue": ("93", "Psychologue"),
                "Orthophoniste": ("91", "Orthophoniste")}


def directory_rows(region: Region, plant: bool = True) -> tuple[list[dict], list[dict]]:
    """The RPPS directory's activities of the region's health professionals, and what it plants.

    Planted (with `plant`): a professional also working in a clean establishment where they have no
    account (ATT-01) and in an IME of Paris (outside the audit: no finding), one whose RPPS is a
    masseur-kinésithérapeute's while the account says "Infirmière" (DRT-04), and one RPPS left out of
    the directory (DAT-04).
    """
    people = {}
    for row in region.accounts:
        if row["N° RPPS"] and row["Statut"] != "Archivé":
            people.setdefault(row["N° RPPS"], (row, row["N° FINESS"].replace(" ", "")))
    activities, expected = [], []
    clean = [e["finess"] for i, e in enumerate(region.establishments)
             if problem_of(i) is None and e["closed_on"] is None]
    order = sorted(people)
    unknown = order[0] if plant else None
    nurse = next((r for r in order[1:] if people[r][0]["Fonction"] == "Infirmière"), None) if plant else None
    travelling = next((r for r in order[1:] if r != nurse), None) if plant and clean else None
    for rpps in order:
        row, finess = people[rpps]
        code, label = _PROFESSIONS.get(row["Fonction"], ("60", "Infirmier"))
        display = f"{row['Nom'].upper()} {row['Prénom']}"
        if rpps == unknown:
            expected.append({"rule": "DAT-04", "finess": finess, "subject": display})
            continue
        if rpps == nurse:
            code, label = "70", "Masseur-Kinésithérapeute"
            expected.append({"rule": "DRT-04", "finess": finess, "subject": display})
        places = [finess]
        if rpps == travelling:
            places.append(next(f for f in clean if f != finess))
            expected.append({"rule": "ATT-01", "finess": places[1], "subject": display})
            places.append(_finess_of(_OTHER_ESTABLISHMENTS.index(_PARIS)))
        for place in places:
            activities.append({"Type d'identifiant PP": "8", "Identifiant PP": rpps,
                               "Identification nationale PP": "8" + rpps, "Nom d'exercice": row["Nom"],
                               "Prénom d'exercice": row["Prénom"], "Code profession": code,
                               "Libellé profession": label, "Numéro FINESS site": place,
                               "Code mode exercice": "S", "Libellé mode exercice": "Salarié"})
    return activities, expected


def write_rpps_directory(activities: list[dict], path: Path) -> Path:
    """The directory as published: UTF-8, "|", a header, a trailing "|" on each line."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8", newline="") as handle:
        handle.write("|".join(DIRECTORY_HEADER) + "\n")
        for activity in activities:
            handle.write("|".join(activity.get(name, "") for name in DIRECTORY_HEADER) + "\n")
    return path
