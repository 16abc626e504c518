"""Account activity: accounts nobody uses any more should be archived.

Guide, part 01: "Archiver les comptes des professionnels n'utilisant plus VT
au sein de votre établissement" - "Limiter l'accès à un outil contenant des
données personnelles d'usagers".
"""

from __future__ import annotations

import pandas as pd

from ...config.schema import Field
from ...model.text import french_numbers
from ..context import AuditContext
from .registry import DAYS_MAX, account_hits, check, format_dates


@check(
    "inactive_accounts",
    params={"inactivity_days": Field(int, minimum=1, maximum=DAYS_MAX, description="jours sans connexion tolérés")},
    needs=("accounts.last_login",),
)
def inactive_accounts(ctx: AuditContext, *, inactivity_days: int) -> pd.DataFrame:
    """Non-archived accounts with no login for `inactivity_days`, or never used since creation."""
    attachments = ctx.attachments
    limit = ctx.as_of - pd.Timedelta(days=inactivity_days)
    live = attachments["state"].ne("archived")
    last_login, created_on = attachments["last_login"], attachments["created_on"]
    stale = live & last_login.lt(limit).fillna(False)
    never_used = live & last_login.isna() & created_on.lt(limit).fillna(False)
    found = attachments[stale | never_used]
    since = found["last_login"].fillna(found["created_on"])
    days = french_numbers((ctx.as_of - since).dt.days)
    message = (
        stale[found.index].map({True: "dernière connexion le ", False: "jamais connecté, compte créé le "})
        + format_dates(since) + ", il y a " + days + f" jours (seuil : {inactivity_days} jours)"
    )
    return account_hits(found, message)


@check(
    "never_activated",
    params={"activation_days": Field(int, minimum=1, maximum=DAYS_MAX,
                                     description="jours laissés pour la première connexion")},
    needs=("accounts.last_login", "accounts.created_on"),
)
def never_activated(ctx: AuditContext, *, activation_days: int) -> pd.DataFrame:
    """Non-archived accounts never logged in to, created more than `activation_days` ago."""
    attachments = ctx.attachments
    limit = ctx.as_of - pd.Timedelta(days=activation_days)
    found = attachments[
        attachments["state"].ne("archived")
        & attachments["last_login"].isna()
        & attachments["created_on"].lt(limit).fillna(False)
    ]
    days = french_numbers((ctx.as_of - found["created_on"]).dt.days)
    message = ("aucune première connexion ; compte créé le " + format_dates(found["created_on"])
               + ", il y a " + days + " jours")
    return account_hits(found, message)


@check("blocked_accounts")
def blocked_accounts(ctx: AuditContext) -> pd.DataFrame:
    """Accounts whose status is blocked: a professional who cannot log in."""
    attachments = ctx.attachments
    found = attachments[attachments["state"].eq("blocked")]
    message = ("compte bloqué (statut « " + found["status"].fillna("bloqué")
               + " ») : le professionnel ne peut plus se connecter")
    return account_hits(found, message)
