"""Account records: complete, with a distinct backup e-mail, and one account per person.

Guide, part 03: "Impérativement s'assurer que la fiche n'est pas déjà créée
dans le ROR", "Compléter TOUS les champs obligatoires avec un astérisque
rouge", and part 01: "Définir un email de secours différent".
"""

from __future__ import annotations

import hashlib

import numpy as np
import pandas as pd

from ...config.schema import Field
from ...model.frames import TEXT, is_in, join_within, row_codes
from ...model.text import french_number, french_numbers
from ..context import AuditContext
from .registry import account_hits, check, hits

FIELD_LABELS = {
    "civility": "civilité",
    "last_name": "nom",
    "first_name": "prénom",
    "email": "e-mail",
    "backup_email": "e-mail de secours",
    "function": "fonction",
}


@check("missing_fields", params={"fields": Field(list, description="champs obligatoires vérifiés",
                                                 choices=tuple(FIELD_LABELS), labels=FIELD_LABELS)})
def missing_fields(ctx: AuditContext, *, fields: list) -> pd.DataFrame:
    """Accounts (per establishment) with mandatory fields empty; one finding naming them all.

    A column absent from the export is not checked: that is the export's gap,
    reported with the input issues, not each account's.
    """
    attachments = ctx.attachments
    checked = [f for f in fields if ctx.inputs.has_column("accounts", f)]
    # Which fields are empty, as bits of one number per row: the few combinations met are written once
    # (writing the text of every row, field after field, took 0.2 s nationally).
    empty = np.zeros(len(attachments), dtype=np.int64)
    for bit, field in enumerate(checked):
        empty |= attachments[field].isna().to_numpy() << bit
    reported = attachments["state"].ne("archived").to_numpy() & (empty > 0)
    found, empty = attachments[reported], empty[reported]
    combinations = {combination: "champs obligatoires vides : " + ", ".join(
        FIELD_LABELS[field] for bit, field in enumerate(checked) if combination >> bit & 1)
        for combination in np.unique(empty)}
    message = pd.Series(empty, index=found.index).map(combinations).astype(TEXT)
    return account_hits(found, message)


@check("backup_email", needs=("accounts.backup_email",))
def backup_email(ctx: AuditContext) -> pd.DataFrame:
    """Accounts without a backup e-mail, or with one equal to the main e-mail (case ignored)."""
    attachments = ctx.attachments
    live = attachments["state"].ne("archived")
    absent = attachments["backup_email"].isna()
    same = attachments["backup_email"].eq(attachments["email"]).fillna(False)
    found = attachments[live & (absent | same)]
    message = absent[found.index].map({True: "pas d'e-mail de secours",
                                       False: "e-mail de secours identique à l'e-mail principal"})
    return account_hits(found, message)


SAMPLE_MEMBERS = 10  # a group of 10,000 accounts on one placeholder e-mail is one finding naming a sample
KEY_MEMBERS = 20  # up to this many members, the key lists them (stable month to month); past it, a digest


@check("duplicate_accounts")
def duplicate_accounts(ctx: AuditContext) -> pd.DataFrame:
    """Several accounts for one person (see AuditContext.person: the same RPPS or e-mail, transitively), or,
    probably, the same name in one establishment unless their holders' RPPS differ.

    Groups are kept as (group, account) rows, never as strings to split (a login may hold "+"),
    and a group's text names a sample of its members: the cost stays linear in the accounts.
    """
    columns = ["account_id", "finess", "display_name", "rpps", "email", "name_key"]  # a narrow copy is cheap
    live = ctx.attachments["state"].ne("archived").to_numpy()
    attachments, account = ctx.attachments.loc[live, columns], ctx.account_numbers[live]
    person = ctx.person.to_numpy()[live]
    first_of_account = ~pd.Series(account).duplicated().to_numpy()  # an account's identity: its first row's
    # One person, several accounts: across the region, each account once.
    positions = _shared_by_several(person, account, first_of_account)
    shared = attachments.iloc[positions]
    group = "0\x1f" + pd.Series(person[positions], index=shared.index).astype(str).astype(TEXT)
    memberships = [pd.DataFrame({"group": group.to_numpy(), "account_id": shared["account_id"].to_numpy(),
                                 "reason": _strong_reason(shared, group).to_numpy(), "rank": 0})]
    # The same name in one establishment: probably one person, unless their RPPS say two.
    key = row_codes(attachments["name_key"], attachments["finess"])
    positions = _shared_by_several(key, account, key >= 0)
    shared = attachments.iloc[positions].assign(person_rpps=pd.Series(person[positions]).map(ctx.person_rpps)
                                                .astype(TEXT).to_numpy())
    group = "1\x1f" + shared["name_key"] + "\x1f" + shared["finess"]
    two_rpps = shared.groupby(group.to_numpy())["person_rpps"].nunique()
    kept = (group.map(two_rpps) <= 1).to_numpy()
    memberships.append(pd.DataFrame({"group": group[kept].to_numpy(), "account_id": shared.loc[kept, "account_id"]
                                     .to_numpy(), "reason": "mêmes nom et prénom", "rank": 1}))
    members = pd.concat(memberships, ignore_index=True).sort_values(["group", "account_id"])
    if members.empty:
        return hits(pd.Series(dtype=TEXT), pd.Series(dtype=TEXT))
    # A group found by e-mail and by name (the same accounts) is one finding, with the strongest reason.
    signature = join_within(members, "group", "account_id", "\x1f")
    groups = members.drop_duplicates("group").set_index("group")[["reason", "rank"]]
    groups = groups.assign(signature=signature, count=members.groupby("group").size())
    groups = groups.sort_values(["rank", "signature"]).drop_duplicates("signature")
    members = members[members["group"].isin(groups.index)]
    sample = join_within(members.groupby("group").head(SAMPLE_MEMBERS), "group", "account_id", ", ")
    beyond = (groups["count"] - SAMPLE_MEMBERS).clip(lower=0)
    listed = sample[groups.index] + beyond.map(lambda n: f" et {french_number(n)} autres" if n else "")
    key = groups["signature"].map(lambda text: text.replace("\x1f", "+") if text.count("\x1f") < KEY_MEMBERS
                                  else "groupe-" + hashlib.sha1(text.encode("utf-8")).hexdigest()[:16])
    placed = attachments.loc[is_in(attachments["account_id"], members["account_id"].unique()),
                             ["account_id", "finess", "display_name"]]
    placed = members.merge(placed, on="account_id")
    placed = placed.sort_values(["group", "finess", "account_id"]).drop_duplicates(["group", "finess"])
    group = placed["group"]
    # A name alone may be two homonyms: the message says "probable" and the fix asks to check.
    same = group.map(groups["reason"]).eq("mêmes nom et prénom").map(
        {True: " comptes probablement pour une même personne (", False: " comptes pour une même personne ("})
    message = (group.map(french_numbers(groups["count"])) + same + group.map(groups["reason"]) + ") : "
               + group.map(listed))
    return hits(placed["finess"], message, subject=placed["display_name"], account=placed["account_id"],
                subject_id=group.map(key))


def _strong_reason(shared: pd.DataFrame, group: pd.Series) -> pd.Series:
    """Why the accounts of a group are one person: the RPPS they all give, else the e-mail they all give,
    else both (some linked by RPPS, others by e-mail)."""
    def all_same(column: str) -> pd.Series:
        values = shared[column].groupby(group.to_numpy())
        return (values.count() == values.size()) & (values.nunique() == 1)

    reason = all_same("rpps").map({True: "même RPPS", False: pd.NA})
    reason = reason.fillna(all_same("email").map({True: "même e-mail", False: "même RPPS ou même e-mail"}))
    return group.map(reason)


def _shared_by_several(key: np.ndarray, account: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """Positions of `rows` whose key other accounts share: one position per (key, account)."""
    positions = np.flatnonzero(rows)
    _, first = np.unique(key[positions] * (account.max(initial=0) + 1) + account[positions], return_index=True)
    positions = positions[first]
    accounts_per_key = np.bincount(key[positions])
    return np.sort(positions[accounts_per_key[key[positions]] > 1])
