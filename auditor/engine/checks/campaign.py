"""The access review campaign: what the directors answered last month, and whether it was done.

Guide, part 01: "Archiver les comptes des professionnels n'utilisant plus VT au sein de votre
établissement" and "Vérifier l'attribution des bons droits et habilitations de chaque
professionnel". The decisions come from the history (`vt-audit answers`), not from an export.
"""

from __future__ import annotations

import pandas as pd

from ...config.schema import Field
from ...model.enums import Decision
from ...model.frames import TEXT
from ..context import AuditContext
from .registry import DAYS_MAX, account_hits, check, format_dates, hits


@check("archive_decision_not_applied",
       params={"grace_days": Field(int, minimum=0, maximum=DAYS_MAX,
                                   description="jours laissés pour archiver après la réponse")},
       needs=("decisions",))
def archive_decision_not_applied(ctx: AuditContext, *, grace_days: int) -> pd.DataFrame:
    """Accounts the director marked « Archiver » that are still not archived `grace_days` after the answer."""
    decisions = ctx.history["decisions"]
    archive = decisions["decision"].eq(Decision.ARCHIVE.value)
    to_archive = decisions.loc[archive, ["finess", "account_id", "answered_on"]]
    attachments = ctx.attachments
    found = attachments[attachments["state"].ne("archived")].merge(to_archive, on=["finess", "account_id"])
    days = (ctx.as_of - found["answered_on"]).dt.days
    found, days = found[days > grace_days], days[days > grace_days]
    message = ("marqué « Archiver » par l'établissement le " + format_dates(found["answered_on"])
               + " : toujours pas archivé " + days.astype(TEXT) + " jours après")
    return account_hits(found, message)


@check("review_not_returned", needs=("campaign",))
def review_not_returned(ctx: AuditContext) -> pd.DataFrame:
    """Establishments that did not return their access review by the deadline, or returned it with
    accounts left undecided (a partial answer: the rest is still asked for)."""
    campaign = ctx.history["campaign"]
    late = campaign[(~campaign["answered"] | campaign["undecided"].gt(0)) & campaign["deadline"].lt(ctx.as_of)]
    names = ctx.establishment_names()
    # The month whose review is missing, as the director's workbook of that month names it.
    audit = (" de l'audit du " + format_dates(late["audit_on"])).fillna("")
    sent = "revue des accès" + audit + " envoyée le " + format_dates(late["sent_on"])
    deadline = " à la date limite du " + format_dates(late["deadline"])
    message = (sent + ", non renvoyée" + deadline).where(
        ~late["answered"], sent + ", renvoyée incomplète : " + late["undecided"].astype(TEXT)
        + " compte(s) sans décision" + deadline)
    return hits(late["finess"], message, subject=late["finess"].map(names).astype(TEXT).fillna(late["finess"]))
