"""Establishments: accounts on closed establishments, FINESS numbers that are wrong.

Guide, part 01: "Archiver les comptes des professionnels n'utilisant plus VT
au sein de votre établissement" (a closed establishment has none), and the
attachment of each professional to the right establishment.
"""

from __future__ import annotations

import pandas as pd

from ..cells import luhn_valid
from ..frames import TEXT
from . import account_hits, check, format_dates, hits

_FINESS = r"(?:\d{2}|2[AB])\d{7}"


@check("closed_establishment", needs=("establishments",))
def closed_establishment(ctx) -> pd.DataFrame:
    """Active accounts attached to an establishment closed at the audit date."""
    establishments = ctx.establishments
    closed = establishments.loc[establishments["closed"], ["finess", "closed_on"]]
    attachments = ctx.attachments
    found = attachments[attachments["state"].eq("active")].merge(closed, on="finess")
    message = "compte actif rattaché à un établissement fermé le " + format_dates(found["closed_on"])
    return account_hits(found, message)


@check("finess_validity")
def finess_validity(ctx) -> pd.DataFrame:
    """FINESS numbers malformed, failing their check key, or absent from the referential."""
    establishments = ctx.establishments
    finess = establishments["finess"]
    well_formed = finess.str.fullmatch(_FINESS).fillna(False)
    corsica = finess.str.match(r"2[AB]").fillna(False)  # no published key rule for 2A/2B: not checked
    key_ok = luhn_valid(finess.where(~corsica)) | corsica
    referential_given = ctx.inputs.establishments is not None
    reason = pd.Series(pd.NA, index=establishments.index, dtype=TEXT)
    if referential_given:
        reason = reason.mask(~establishments["in_referential"], "absent du référentiel des établissements")
    reason = reason.mask(well_formed & ~key_ok, "clé de contrôle FINESS invalide (erreur de saisie probable)")
    reason = reason.mask(~well_formed, "numéro FINESS mal formé (9 caractères attendus)")
    found = establishments[reason.notna()]
    message = "FINESS « " + found["finess"] + " » : " + reason[found.index]
    return hits(found["finess"], message, subject=found["name"])
