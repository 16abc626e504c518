"""Establishments: accounts on closed establishments, FINESS numbers that are wrong.

Guide, part 01: "Archiver les comptes des professionnels n'utilisant plus VT
au sein de votre établissement" (a closed establishment has none), and the
attachment of each professional to the right establishment.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ...inputs.cells import finess_problem
from ...model.frames import TEXT, is_in, lookup
from ...model.text import french_numbers
from ..context import AuditContext
from .registry import account_hits, check, format_dates, hits


@check("closed_establishment", needs=("establishments",))
def closed_establishment(ctx: AuditContext) -> pd.DataFrame:
    """Accounts not archived (active, blocked, not yet activated) attached to an establishment closed at
    the audit date."""
    establishments = ctx.establishments
    closed = establishments.loc[establishments["closed"], ["finess", "closed_on"]]
    attachments = ctx.attachments
    # Filtered before anything is copied: the live attachments are nearly all of them.
    found = attachments[is_in(attachments["finess"], closed["finess"]) & attachments["state"].ne("archived")]
    closed_on = lookup(found["finess"], closed.set_index("finess")["closed_on"])
    message = "compte non archivé rattaché à un établissement fermé le " + format_dates(closed_on)
    return account_hits(found, message)


@check("finess_validity")
def finess_validity(ctx: AuditContext) -> pd.DataFrame:
    """FINESS numbers malformed, failing their check key, or absent from the referential."""
    establishments = ctx.establishments
    reason = finess_problem(establishments["finess"])
    if ctx.inputs.establishments is not None:
        absent = ("absent du fichier FINESS : établissement fermé ou inconnu du FINESS"
                  if ctx.inputs.finess_extract else "absent du référentiel des établissements")
        reason = reason.fillna(establishments["in_referential"].map({False: absent, True: pd.NA}).astype(TEXT))
    found = establishments[reason.notna()]
    listed = hits(found["finess"], "FINESS « " + found["finess"] + " » : " + reason[found.index],
                  subject=found["name"])
    # Account rows carrying a number that is no establishment's: a typing error to correct on them.
    typo = ctx.invalid_finess
    accounts = french_numbers(typo["accounts"]) + np.where(typo["accounts"] > 1, " comptes rattachés",
                                                           " compte rattaché")
    message = ("FINESS « " + typo["finess"] + " » : " + typo["reason"] + " ; " + accounts
               + " à ce numéro, à rattacher au bon établissement")
    return pd.concat([listed, hits(typo["finess"], message, subject=typo["name"])], ignore_index=True)
