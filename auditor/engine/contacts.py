"""Whom each establishment's report goes to, as the export tells: its active referents and its director.

Computed with the findings (the history records it with the run, and `vt-audit send` reads it
back from there), apart from the checks' context, which only the rules read. The report lists
the establishment's staff: a referent who is no longer there (blocked, archived, a probable
leaver, a closed establishment) must not receive it, and the auditor is told who was left out.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..model.enums import ContactRole
from ..model.frames import TEXT, is_in
from .context import AuditContext

LEFT_OUT_COLUMNS = ["finess", "account", "reason"]
CLOSED = "établissement fermé à la date d'audit"
LEAVER = "absent de la liste du personnel de l'établissement : départ probable (ATT-04)"


def report_contacts(ctx: AuditContext) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(contacts, left_out).

    contacts: finess, email, role (ContactRole): one address per person holding a referent role (ROR or
    VT) on an active account there, and the director's e-mail of the referential when it has that
    column; an address once per establishment, whatever its case.
    left_out: finess, account, reason: referents with an e-mail who receive nothing, and why.
    """
    catalogue = ctx.catalogue
    attachments = ctx.attachments
    referent_roles = catalogue.roles_where(referent="ror") | catalogue.roles_where(referent="vt")
    referents = ctx.holds_any(referent_roles).to_numpy() & attachments["email"].notna().to_numpy()
    closed = is_in(attachments["finess"], ctx.closed_finess)
    inactive = attachments["state"].ne("active").fillna(True).to_numpy()
    status = "compte « " + attachments["status"].astype(TEXT).fillna("sans statut") + " »"
    reason = pd.Series(np.select([closed, inactive, ctx.probable_leavers.to_numpy()],
                                 [CLOSED, status.to_numpy(dtype=object), LEAVER], default=""), index=attachments.index)
    kept = referents & reason.eq("").to_numpy()
    # One address per person: a person with two accounts there is reached once.
    people = pd.DataFrame({"finess": attachments["finess"], "person": ctx.person,
                           "email": attachments["email"]})[kept].drop_duplicates(["finess", "person"])
    tables = [people[["finess", "email"]].assign(role=ContactRole.REFERENT.value)]
    referential = ctx.inputs.establishments
    if referential is not None and "director_email" in referential:
        directors = referential.loc[referential["director_email"].notna(), ["finess", "director_email"]]
        tables.append(directors.rename(columns={"director_email": "email"}).assign(role=ContactRole.DIRECTOR.value))
    contacts = pd.concat(tables, ignore_index=True).astype(TEXT)
    address = contacts["email"].str.strip().str.lower()
    contacts = contacts[~pd.DataFrame({"finess": contacts["finess"], "address": address}).duplicated().to_numpy()]
    left_out = attachments.loc[referents & ~kept, ["finess", "account_id"]].assign(reason=reason[referents & ~kept])
    left_out = left_out.rename(columns={"account_id": "account"}).drop_duplicates(["finess", "account"])
    return contacts.reset_index(drop=True), left_out[LEFT_OUT_COLUMNS].astype(TEXT).reset_index(drop=True)
