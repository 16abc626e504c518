"""Attachments: each professional attached to every establishment where they work.

Guide, part 01: "Vérifier que chaque professionnel est bien rattaché à chaque
établissement dans lequel il exerce."
"""

from __future__ import annotations

import pandas as pd

from ..identities import display_name, link_people
from . import check, hits, lookup_text


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
    elsewhere = link_people(missing, attachments).merge(
        attachments[["account_id", "finess", "display_name"]], left_on="right", right_index=True
    )
    elsewhere = elsewhere.drop_duplicates(["left", "account_id", "finess"]).sort_values(["account_id", "finess"])
    evidence = (elsewhere["account_id"] + " (rattaché à " + elsewhere["finess"] + ")").groupby(elsewhere["left"]).agg(", ".join)
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
