"""The region month after month: findings fixed, a new one, one that comes back, a leaver archived
and an establishment missing from an export, each with the status the history must give it."""

from __future__ import annotations

import copy
import datetime as dt

from ..model.enums import Status
from .region import AS_OF, Person, Region

NEW, PERSISTING, RETURNING, RESOLVED, UNVERIFIED = Status.values()


def monthly_exports(region: Region, months: int) -> list[tuple[dt.date, Region]]:
    """The region's exports over `months` consecutive months from AS_OF, with the changes planted.

    Month 2: the blocked professional is helped (ACC-03 résolu), a backup e-mail is fixed
    (DAT-02 résolu), the inactive professional left and their account is archived (ACC-01
    résolu), a professional of a clean establishment stops logging in (ACC-01 nouveau), and
    the establishment with a legacy role is missing from every export (its findings: non
    vérifié, and still in month 3). Month 3: the professional is blocked again (ACC-03 réapparu). Each month's
    `expected` gives every finding with its status, and `gone` the previous month's findings
    that are resolved or unverified.
    """
    current = copy.deepcopy(region)
    for entry in current.expected:
        entry["status"] = NEW
    snapshots = [(AS_OF, current)]
    for month in range(1, months):
        # A finding not verified stays so while its establishment stays missing (it is, from month 2 on).
        still_unverified = [dict(e) for e in current.gone if e["status"] == UNVERIFIED]
        current = copy.deepcopy(current)
        current.expected = [dict(e, status=PERSISTING) for e in current.expected]
        current.gone = still_unverified
        _MONTHLY_CHANGES.get(month, lambda region: None)(current)
        shift = AS_OF.month - 1 + month
        snapshots.append((dt.date(AS_OF.year + shift // 12, shift % 12 + 1, 1), current))
    return snapshots


def _set(region: Region, person: Person, **columns) -> None:
    for row in region.rows_by_login[person.login]:
        row.update(columns)


def _settle(region: Region, rule: str, finess: str, subject: str, status: str) -> None:
    """Move an expected finding to the gone list, as resolved or unverified."""
    entry = next(e for e in region.expected if (e["rule"], e["finess"], e["subject"]) == (rule, finess, subject))
    region.expected.remove(entry)
    region.gone.append(dict(entry, status=status))


def _second_month(region: Region) -> None:
    finess, person = region.planted["blocked"]
    _set(region, person, Statut="Actif")
    _settle(region, "ACC-03", finess, person.display, RESOLVED)
    finess, person = region.planted["backup_same"]
    _set(region, person, **{"E-mail de secours": f"{person.login}.secours@exemple.fr"})
    _settle(region, "DAT-02", finess, person.display, RESOLVED)
    finess, leaver = region.planted["inactive_account"]
    _set(region, leaver, Statut="Archivé")
    leaver_name = (leaver.last_name.upper(), leaver.first_name.lower())
    region.staff = [row for row in region.staff if row["E-mail"].lower() != leaver.email
                    and (row["Nom"].upper(), row["Prénom"].lower()) != leaver_name
                    and not (leaver.rpps and row["RPPS"] == leaver.rpps)]
    _settle(region, "ACC-01", finess, leaver.display, RESOLVED)
    finess, person = region.clean_people[-1]
    _set(region, person, **{"Dernière connexion": (AS_OF - dt.timedelta(days=300)).strftime("%d/%m/%Y")})
    region.expected.append({"rule": "ACC-01", "finess": finess, "subject": person.display, "status": NEW})
    missing, _ = region.planted["legacy_role"]
    region.accounts = [row for row in region.accounts if row["N° FINESS"].replace(" ", "") != missing]
    region.staff = [row for row in region.staff if row["FINESS d'exercice"] != missing]
    region.establishments = [e for e in region.establishments if e["finess"] != missing]
    for entry in [e for e in region.expected if e["finess"] == missing]:
        _settle(region, entry["rule"], missing, entry["subject"], UNVERIFIED)


def _third_month(region: Region) -> None:
    finess, person = region.planted["blocked"]
    _set(region, person, Statut="Bloqué")
    region.expected.append({"rule": "ACC-03", "finess": finess, "subject": person.display, "status": RETURNING})


_MONTHLY_CHANGES = {1: _second_month, 2: _third_month}
