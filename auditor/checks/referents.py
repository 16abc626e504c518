"""Referents: at least two per establishment, each with both referent roles.

Guide, part 01: "Avoir au moins 2 Référents établissement dans chaque ESMS"
and "Vérifier que les rôles Référent Établissement dans le ROR et VT PH -
Référent ESMS dans VT sont ajoutés sur la même personne".
"""

from __future__ import annotations

import pandas as pd

from ..frames import TEXT, join_within
from . import Param, account_hits, check, hits, lookup_text


@check("min_referents",
       params={"min_referents": Param(int, minimum=1, description="nombre minimal de référents actifs")})
def min_referents(ctx, *, min_referents: int) -> pd.DataFrame:
    """Open establishments with fewer than `min_referents` active ROR referents."""
    attachments = ctx.attachments
    is_referent = ctx.holds_any(ctx.catalogue.roles_where(referent="ror")) & attachments["state"].eq("active")
    referents = attachments[is_referent].sort_values("display_name")
    count = referents.groupby("finess").size()
    names = join_within(referents, "finess", "display_name", ", ")

    establishments = ctx.establishments[~ctx.establishments["closed"]]
    found = establishments["finess"].map(count).fillna(0).astype("int64")
    short = establishments[found < min_referents]
    found = found[short.index]
    evidence = lookup_text(short["finess"], names)
    no_account = short["accounts"].eq(0)
    message = (
        found.astype(TEXT) + " référent actif sur " + str(min_referents) + " requis"
        + (" : " + evidence).fillna("")
        + no_account.map({True: " (aucun compte rattaché à l'établissement)", False: ""})
    )
    return hits(short["finess"], message, subject=short["name"])


@check("referent_roles_paired")
def referent_roles_paired(ctx) -> pd.DataFrame:
    """Accounts holding one referent role (ROR or VT) without the other in the same establishment."""
    roles = ctx.catalogue
    ror_roles, vt_roles = roles.roles_where(referent="ror"), roles.roles_where(referent="vt")
    ror, vt = ctx.holds_any(ror_roles), ctx.holds_any(vt_roles)
    attachments = ctx.attachments
    unpaired = (ror != vt) & attachments["state"].ne("archived")
    ror_name, vt_name = min(ror_roles), min(vt_roles)
    message = ror[unpaired].map({
        True: f"a le rôle ROR « {ror_name} » sans le rôle VT « {vt_name} »",
        False: f"a le rôle VT « {vt_name} » sans le rôle ROR « {ror_name} »",
    })
    found = attachments[unpaired]
    return account_hits(found, message)
