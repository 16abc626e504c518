"""Attachments: each professional attached to every establishment where they work.

Guide, part 01: "Vérifier que chaque professionnel est bien rattaché à chaque
établissement dans lequel il exerce."
"""

from __future__ import annotations

import pandas as pd

from ..frames import join_within
from ..identities import STRONG_IDENTIFIERS, display_name, link_people
from . import account_hits, check, hits, lookup_text


@check("staff_without_account", needs=("staff",))
def staff_without_account(ctx) -> pd.DataFrame:
    """People the staff file places in an establishment where no account of theirs is attached."""
    staff = ctx.inputs.staff
    staff = staff[staff["finess"].notna()]
    attachments = ctx.attachments
    attached = link_people(staff, attachments, within=("finess",))
    missing = staff[~staff.index.isin(attached["left"])]
    person_id = missing["rpps"].fillna(missing["email"]).fillna(missing["name_key"])
    missing = missing.assign(person_id=person_id).drop_duplicates(["finess", "person_id"])

    # Where the person has an account elsewhere, the fix is to attach it here.
    elsewhere = link_people(missing, attachments, identifiers=STRONG_IDENTIFIERS).merge(
        attachments[["account_id", "finess", "display_name"]], left_on="right", right_index=True
    )
    elsewhere = elsewhere.drop_duplicates(["left", "account_id", "finess"]).sort_values(["account_id", "finess"])
    elsewhere = elsewhere.assign(text=elsewhere["account_id"] + " (rattaché à " + elsewhere["finess"] + ")")
    evidence = join_within(elsewhere, "left", "text", ", ")
    first_account = elsewhere.drop_duplicates("left").set_index("left")

    known_account = lookup_text(missing.index.to_series(), evidence)
    message = ("exerce dans l'établissement selon le fichier du personnel, sans compte rattaché ; "
               + ("compte existant : " + known_account).fillna("aucun compte trouvé"))
    rows = missing.index.to_series()
    # The staff file may give only an e-mail or an RPPS: the account, when found, has the name.
    fallback = lookup_text(rows, first_account["display_name"]).fillna(missing["email"]).fillna(missing["rpps"])
    subject = display_name(missing["last_name"], missing["first_name"], fallback)
    return hits(
        missing["finess"], message, subject=subject,
        account=lookup_text(rows, first_account["account_id"]), subject_id=missing["person_id"],
    )


@check("attachment_without_unit", needs=("accounts.unit",))
def attachment_without_unit(ctx) -> pd.DataFrame:
    """Non-archived accounts attached to an establishment without any of its units."""
    attachments = ctx.attachments
    with_unit = attachments.index.isin(ctx.attachment_units["attachment"])
    found = attachments[~with_unit & attachments["state"].ne("archived")]
    message = pd.Series("rattaché à l'établissement sans aucune unité", index=found.index)
    return account_hits(found, message)


@check("attachment_without_role")
def attachment_without_role(ctx) -> pd.DataFrame:
    """Active or not yet activated accounts attached to an establishment where they hold no role at all.

    A role cell holding only names the catalogue does not know is not "no role": it is reported
    with the input issues ("rôle non reconnu"), since the account may well hold a role.
    """
    attachments = ctx.attachments
    with_role = attachments.index.isin(ctx.attachment_roles["attachment"]) | ctx.role_cell_filled
    found = attachments[~with_role & attachments["state"].isin(["active", "pending"])]
    message = found["state"].map({"active": "compte actif rattaché à l'établissement sans aucun rôle",
                                  "pending": "compte en cours de création (pas encore activé) sans aucun rôle"})
    return account_hits(found, message)
