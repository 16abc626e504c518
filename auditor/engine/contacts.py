"""Whom each establishment's report goes to, as the export tells: its active referents and its director.

Computed with the findings (the history records it with the run, and `vt-audit send` reads it
back from there), apart from the checks' context, which only the rules read. The report lists
the establishment's staff: a referent who is no longer there (blocked, archived, a probable
leaver, a closed establishment) must not receive it, and the auditor is told who was left out.
Every address is checked here, once (model/addresses.py): a bad one is an input issue naming
its file and line, and only that recipient is left out.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..model.addresses import checked_addresses
from ..model.enums import ContactRole
from ..model.frames import TEXT, is_in
from ..model.issues import InputIssue
from .context import AuditContext

LEFT_OUT_COLUMNS = ["finess", "account", "reason"]
CLOSED = "établissement fermé à la date d'audit"
LEAVER = "absent de la liste du personnel de l'établissement : départ probable (ATT-04)"
BAD_ADDRESS = "adresse e-mail inutilisable (voir les problèmes de lecture)"


@dataclass(frozen=True)
class Contacts:
    """recipients: finess, email, role (ContactRole); left_out: finess, account, reason; issues: the
    addresses that cannot be written to, with their file and line."""

    recipients: pd.DataFrame
    left_out: pd.DataFrame
    issues: list[InputIssue]


def report_contacts(ctx: AuditContext) -> Contacts:
    """One address per person holding a referent role (ROR or VT) on an active account there, and the
    director's e-mail of the referential when it has that column; an address once per establishment,
    whatever its case. The referents with an e-mail who receive nothing are in `left_out`, with why."""
    catalogue = ctx.catalogue
    attachments = ctx.attachments
    referent_roles = catalogue.roles_where(referent="ror") | catalogue.roles_where(referent="vt")
    referents = ctx.holds_any(referent_roles).to_numpy() & attachments["email"].notna().to_numpy()
    rows = ctx.attachment_rows
    address, problem = checked_addresses(attachments["email"].where(referents))
    issues = _address_issues(rows, problem, "e-mail")
    closed = is_in(attachments["finess"], ctx.closed_finess)
    inactive = attachments["state"].ne("active").fillna(True).to_numpy()
    status = "compte « " + attachments["status"].astype(TEXT).fillna("sans statut") + " »"
    reason = pd.Series(np.select([closed, inactive, ctx.probable_leavers.to_numpy(), problem.notna().to_numpy()],
                                 [CLOSED, status.to_numpy(dtype=object), LEAVER, BAD_ADDRESS], default=""),
                       index=attachments.index)
    kept = referents & reason.eq("").to_numpy()
    # One address per person: a person with two accounts there is reached once.
    people = pd.DataFrame({"finess": attachments["finess"], "person": ctx.person,
                           "email": address})[kept].drop_duplicates(["finess", "person"])
    tables = [people[["finess", "email"]].assign(role=ContactRole.REFERENT.value)]
    referential = ctx.inputs.establishments
    if referential is not None and "director_email" in referential:
        director, problem = checked_addresses(referential["director_email"])
        issues += _address_issues(referential, problem, "e-mail du directeur")
        directors = pd.DataFrame({"finess": referential["finess"], "email": director}).dropna()
        tables.append(directors.assign(role=ContactRole.DIRECTOR.value))
    recipients = pd.concat(tables, ignore_index=True).astype(TEXT)
    same = pd.DataFrame({"finess": recipients["finess"], "address": recipients["email"].str.lower()}).duplicated()
    left_out = attachments.loc[referents & ~kept, ["finess", "account_id"]].assign(reason=reason[referents & ~kept])
    left_out = left_out.rename(columns={"account_id": "account"}).drop_duplicates(["finess", "account"])
    return Contacts(recipients[~same.to_numpy()].reset_index(drop=True),
                    left_out[LEFT_OUT_COLUMNS].astype(TEXT).reset_index(drop=True), issues)


def _address_issues(rows: pd.DataFrame, problem: pd.Series, column: str) -> list[InputIssue]:
    """An input issue per address that cannot be used (`problem`, same order as `rows`)."""
    bad = problem.notna().to_numpy()
    return [InputIssue(file, int(line), column, f"adresse non retenue comme destinataire : {reason}",
                       finess=finess)
            for file, line, finess, reason in zip(rows["source_file"].to_numpy()[bad],
                                                  rows["source_line"].to_numpy()[bad],
                                                  rows["finess"].to_numpy()[bad], problem.to_numpy()[bad])]
