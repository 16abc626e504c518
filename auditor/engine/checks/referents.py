"""Referents: at least two per establishment, each with both referent roles.

Guide, part 01: "Avoir au moins 2 Référents établissement dans chaque ESMS"
and "Vérifier que les rôles Référent Établissement dans le ROR et VT PH -
Référent ESMS dans VT sont ajoutés sur la même personne".
"""

from __future__ import annotations

import pandas as pd

from ...config.schema import Field
from ...model.frames import TEXT, join_within
from ..context import AuditContext
from .registry import DAYS_MAX, account_hits, check, format_dates, hits, lookup_text


@check("min_referents",
       params={"min_referents": Field(int, minimum=1, description="nombre minimal de référents actifs"),
               "inactivity_days": Field(int, minimum=1, maximum=DAYS_MAX,
                                        description="jours sans connexion au-delà desquels un référent n'est plus "
                                        "compté")})
def min_referents(ctx: AuditContext, *, min_referents: int, inactivity_days: int) -> pd.DataFrame:
    """Open establishments with fewer than `min_referents` people working as ROR referents.

    A referent is a person (two accounts of one person count once, see AuditContext.person; a name
    alone never makes one person) with an active account holding
    the ROR referent role there, who logged in within `inactivity_days`: one who never logged in,
    or not for that long, cannot stand in for an absent colleague, and is named as left out.
    """
    attachments = ctx.attachments
    holders = attachments[ctx.holds_any(ctx.catalogue.roles_where(referent="ror"))
                          & attachments["state"].eq("active")].copy()
    holders["person"] = ctx.person[holders.index]
    idle_days = (ctx.as_of - holders["last_login"]).dt.days
    holders["left_out"] = (holders["display_name"] + " (" + (
        "dernière connexion le " + format_dates(holders["last_login"])).fillna("jamais connecté") + ")").where(
        holders["last_login"].isna() | (idle_days > inactivity_days))
    working = holders[holders["left_out"].isna()].sort_values("display_name").drop_duplicates(["finess", "person"])
    count = working.groupby("finess").size()
    names = join_within(working, "finess", "display_name", ", ")
    idle = holders[holders["left_out"].notna()].sort_values("display_name")
    left_out = join_within(idle, "finess", "left_out", ", ")
    establishments = ctx.establishments[~ctx.establishments["closed"]]
    found = establishments["finess"].map(count).fillna(0).astype("int64")
    short = establishments[found < min_referents]
    found = found[short.index]
    no_account = short["accounts"].eq(0)
    message = (
        found.astype(TEXT) + " référent actif sur " + str(min_referents) + " requis"
        + (" : " + lookup_text(short["finess"], names)).fillna("")
        + (" ; non comptés : " + lookup_text(short["finess"], left_out)).fillna("")
        + no_account.map({True: " (aucun compte rattaché à l'établissement)", False: ""})
    )
    return hits(short["finess"], message, subject=short["name"])


@check("referent_roles_paired")
def referent_roles_paired(ctx: AuditContext) -> pd.DataFrame:
    """People holding one referent role (ROR or VT) in an establishment without the other there.

    The two roles may sit on two accounts of the same person (see AuditContext.person): they are paired.
    """
    roles = ctx.catalogue
    ror_roles, vt_roles = roles.roles_where(referent="ror"), roles.roles_where(referent="vt")
    attachments = ctx.attachments
    ror, vt = ctx.holds_any(ror_roles), ctx.holds_any(vt_roles)
    # Only a holder of one of the roles can lack the other: the rest are left out before any key is built.
    holding = (ror | vt) & attachments["state"].ne("archived")
    holders = attachments.loc[holding, ["finess", "rpps", "email", "account_id"]]
    table = pd.DataFrame({"finess": holders["finess"], "person": ctx.person[holders.index],
                          "ror": ror[holders.index], "vt": vt[holders.index]})
    person = table.groupby(["finess", "person"])[["ror", "vt"]].transform("any")
    unpaired = person["ror"] != person["vt"]
    ror_name, vt_name = min(ror_roles), min(vt_roles)
    message = person.loc[unpaired, "ror"].map({
        True: f"a le rôle ROR « {ror_name} » sans le rôle VT « {vt_name} »",
        False: f"a le rôle VT « {vt_name} » sans le rôle ROR « {ror_name} »",
    })
    found = attachments.loc[unpaired[unpaired].index]
    return account_hits(found, message)
