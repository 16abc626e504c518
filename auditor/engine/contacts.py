"""Whom each establishment's report goes to, as the export tells: its active referents and its director.

Computed with the findings (the history records it with the run, and `vt-audit send` reads it
back from there), apart from the checks' context, which only the rules read.
"""

from __future__ import annotations

import pandas as pd

from ..model.enums import ContactRole
from ..model.frames import TEXT
from .context import AuditContext


def report_contacts(ctx: AuditContext) -> pd.DataFrame:
    """finess, email, role (ContactRole): the active accounts holding a referent role (ROR or VT) there,
    and the director's e-mail of the referential when it has that column."""
    catalogue = ctx.catalogue
    referent_roles = catalogue.roles_where(referent="ror") | catalogue.roles_where(referent="vt")
    attachments = ctx.attachments
    mask = ctx.holds_any(referent_roles) & attachments["state"].eq("active") & attachments["email"].notna()
    referents = attachments.loc[mask, ["finess", "email"]].assign(role=ContactRole.REFERENT.value)
    referential = ctx.inputs.establishments
    tables = [referents]
    if referential is not None and "director_email" in referential:
        directors = referential.loc[referential["director_email"].notna(), ["finess", "director_email"]]
        tables.append(directors.rename(columns={"director_email": "email"}).assign(role=ContactRole.DIRECTOR.value))
    return pd.concat(tables, ignore_index=True).drop_duplicates(["finess", "email"]).astype(TEXT)
