"""Attachments: each professional attached to every establishment where they work.

Guide, part 01: "Vérifier que chaque professionnel est bien rattaché à chaque
établissement dans lequel il exerce."
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ...inputs.identities import display_name
from ...model.frames import TEXT, is_in, join_within, row_codes
from ...model.text import fold_series
from ..context import AuditContext
from .registry import account_hits, check, hits, lookup_text


@check("staff_without_account", needs=("staff",))
def staff_without_account(ctx: AuditContext) -> pd.DataFrame:
    """People the staff file (or the RPPS directory) places in an establishment where no account of theirs
    is attached.

    An account there is theirs when it is the same person (see AuditContext.person), or of the same
    name unless the two carry different RPPS (see AuditContext.staff_links).
    """
    staff = ctx.placed_staff
    # Nobody is to be attached to a closed establishment: ETB-01 alone asks to archive there.
    open_here = ~is_in(staff["finess"], ctx.closed_finess)
    missing = staff[open_here & ~staff.index.isin(ctx.staff_links["left"])]
    missing = missing.assign(person_id=missing["rpps"].fillna(missing["email"]).fillna(missing["name_key"]),
                             person=ctx.staff_person[missing.index])
    # One finding per person and establishment, and per key (two staff rows of one name alone are one).
    missing = missing.drop_duplicates(["finess", "person"]).drop_duplicates(["finess", "person_id"])

    # Where the person has an account elsewhere, the fix is to attach it here, not to create one.
    person = ctx.person.to_numpy()
    theirs = np.isin(person, missing["person"].to_numpy())  # only their accounts are copied, not a region's
    attachments = ctx.attachments.loc[theirs, ["account_id", "finess", "display_name"]].assign(person=person[theirs])
    elsewhere = missing[["person"]].rename_axis("left").reset_index().merge(attachments, on="person")
    elsewhere = elsewhere.drop_duplicates(["left", "account_id", "finess"]).sort_values(["account_id", "finess"])
    elsewhere = elsewhere.assign(text=elsewhere["account_id"] + " (rattaché à " + elsewhere["finess"] + ")")
    evidence = join_within(elsewhere, "left", "text", ", ")
    first_account = elsewhere.drop_duplicates("left").set_index("left")
    probable = _probable_accounts(missing[~missing.index.isin(elsewhere["left"])], ctx)

    rows = missing.index.to_series()
    source = pd.Series("selon le fichier du personnel", index=missing.index, dtype=TEXT)
    if "from_directory" in missing:
        source = source.mask(missing["from_directory"].fillna(False).astype(bool), "selon l'annuaire RPPS")
    message = ("exerce dans l'établissement " + source + ", sans compte rattaché ; "
               + ("compte existant : " + lookup_text(rows, evidence)).fillna(lookup_text(rows, probable["text"]))
               .fillna("aucun compte trouvé"))
    # The staff file may give only an e-mail or an RPPS: the account, when found, has the name.
    fallback = lookup_text(rows, first_account["display_name"]).fillna(missing["email"]).fillna(missing["rpps"])
    subject = display_name(missing["last_name"], missing["first_name"], fallback)
    account = lookup_text(rows, first_account["account_id"]).fillna(lookup_text(rows, probable["account_id"]))
    return hits(missing["finess"], message, subject=subject, account=account, subject_id=missing["person_id"])


def _probable_accounts(missing: pd.DataFrame, ctx: AuditContext) -> pd.DataFrame:
    """For staff rows with no account of theirs anywhere: accounts elsewhere with the same name, but never
    an account whose holder has another RPPS (another professional).

    One account of that name is "compte probable" (attach it rather than create a duplicate);
    several are "homonymes" (check which one). Indexed by staff row: text, account_id (when one).
    """
    names = missing["name_key"].dropna()
    # Only the accounts bearing one of these few names are looked at (not a region's every account).
    bearing = is_in(ctx.attachments["name_key"], names.unique())
    candidates = ctx.attachments.loc[bearing, ["account_id", "finess", "name_key"]]
    candidates = candidates.assign(rpps=ctx.person[candidates.index].map(ctx.person_rpps).astype(TEXT))
    name_and_account = pd.Series(row_codes(candidates["name_key"], ctx.account_numbers[bearing]))
    candidates = candidates[~name_and_account.duplicated().to_numpy()]  # one row per account: its first attachment
    staff_rpps = missing.loc[names.index, "rpps"].astype(TEXT)
    pairs = pd.DataFrame({"name_key": names, "staff_rpps": staff_rpps}).rename_axis("left").reset_index()
    pairs = pairs.merge(candidates, on="name_key")
    other = pairs["staff_rpps"].notna() & pairs["rpps"].notna() & pairs["staff_rpps"].ne(pairs["rpps"])
    pairs = pairs[~other.fillna(False).to_numpy(dtype=bool)]
    count = pairs.groupby("left").size()
    single = pairs.drop_duplicates("left").set_index("left")
    single = single[count[single.index].eq(1).to_numpy()]
    text = pd.concat([
        "compte probable (même nom) : " + single["account_id"] + " (rattaché à " + single["finess"] + ")",
        count[count.gt(1)].astype(TEXT) + " homonymes dans l'export : vérifier lequel est le sien avant de créer "
        "un compte",
    ])
    rows = missing.index.to_series()
    return pd.DataFrame({"text": lookup_text(rows, text), "account_id": lookup_text(rows, single["account_id"])},
                        index=missing.index)


@check("staff_leaver", needs=("staff",))
def staff_leaver(ctx: AuditContext) -> pd.DataFrame:
    """Accounts (not archived) attached to an establishment whose staff list does not name their holder.

    Only establishments the staff file lists are judged: elsewhere nobody knows who works there.
    """
    found = ctx.attachments[ctx.probable_leavers.to_numpy()]
    message = pd.Series("absent de la liste du personnel de l'établissement : a probablement quitté "
                        "l'établissement ou n'y utilise plus VT", index=found.index)
    return account_hits(found, message)


@check("staff_unit_missing", needs=("staff.unit",))
def staff_unit_missing(ctx: AuditContext) -> pd.DataFrame:
    """Accounts whose holder the staff file places in a unit of the establishment the account lacks."""
    staff = ctx.placed_staff
    open_here = ~is_in(staff["finess"], ctx.closed_finess)  # no unit to add in a closed establishment
    staff = staff.loc[staff["unit"].notna() & open_here, ["unit"]]  # one column copied, not the whole file
    pairs = ctx.staff_links[ctx.staff_links["left"].isin(staff.index)]
    units = ctx.attachment_units
    # Units compare folded: each table's few distinct units are folded and numbered together, and
    # (attachment, unit) pairs compare as integers. Neither table has a missing unit (no code -1).
    held_codes, held_units = pd.factorize(units["unit"])
    staff_codes, staff_units = pd.factorize(staff["unit"])
    unit = row_codes(fold_series(pd.Series([*held_units, *staff_units], dtype=TEXT)))
    held_unit = unit[held_codes]
    staff_unit = pd.Series(unit[len(held_units) + staff_codes], index=staff.index)
    width = int(unit.max(initial=0)) + 1
    held = units["attachment"].to_numpy() * width + held_unit
    has = np.isin(pairs["right"].to_numpy() * width + staff_unit[pairs["left"]].to_numpy(), held)
    lacking = pairs[~has]
    lacking = lacking.assign(unit=fold_series(staff.loc[lacking["left"], "unit"]).to_numpy(),
                             unit_text=staff.loc[lacking["left"], "unit"].to_numpy())
    lacking = lacking.drop_duplicates(["right", "unit"]).sort_values(["right", "unit"])
    listed = join_within(lacking, "right", "unit_text", " », « ")
    found = ctx.attachments.loc[listed.index]
    units = pd.Series("l'unité « ", index=listed.index).where(~listed.str.contains(" », « ", regex=False),
                                                             "les unités « ")
    message = "exerce dans " + units + listed + " » selon le fichier du personnel, sans y être rattaché"
    return account_hits(found, message)


@check("attachment_without_unit", needs=("accounts.unit",))
def attachment_without_unit(ctx: AuditContext) -> pd.DataFrame:
    """Non-archived accounts attached to an establishment without any of its units."""
    attachments = ctx.attachments
    with_unit = attachments.index.isin(ctx.attachment_units["attachment"])
    found = attachments[~with_unit & attachments["state"].ne("archived")]
    message = pd.Series("rattaché à l'établissement sans aucune unité", index=found.index)
    return account_hits(found, message)


@check("attachment_without_role")
def attachment_without_role(ctx: AuditContext) -> pd.DataFrame:
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
