"""The tables the checks work on, derived once from the loaded inputs.

Exports have one row per account × establishment × unit; most of the guide's
tasks are about an account *in an establishment* (its "attachment"): its
roles there, its units there. The context builds that table, and the list of
audited establishments, so that each check stays a few vectorised lines.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..config.catalogue import Catalogue
from ..inputs.cells import finess_department, finess_problem
from ..inputs.identities import RPPS_ONLY, display_name, link_people, people
from ..inputs.load import Inputs
from ..model.frames import TEXT, is_in, lookup, row_codes
from ..model.text import fold_series

# Account-row columns the attachments table leaves out: in long tables (roles, units), or read from the
# rows themselves (the establishment's name as written, whether a role cell was filled, where a row is).
NOT_PER_ATTACHMENT = ["roles", "unit", "establishment_name", "roles_given", "source_file", "source_line"]


class computed_once:
    """`functools.cached_property` computed once even when two rule threads (see engine.RULE_THREADS) ask for
    it at the same time: Python 3.12 took the lock out of cached_property, and a second computation of a
    table would cost its time and its memory again.

    One lock per table, held while it is computed: a table waits only for the tables it is made from,
    which never wait for it, so no two threads wait for each other.
    """

    def __init__(self, compute):
        self.compute = compute
        self.lock = threading.Lock()
        self.__doc__ = compute.__doc__

    def __set_name__(self, owner, name: str) -> None:
        self.name = name

    def __get__(self, ctx, owner=None):
        if ctx is None:
            return self
        with self.lock:  # once stored, the instance's own attribute is found first: no lock taken
            if self.name not in ctx.__dict__:
                ctx.__dict__[self.name] = self.compute(ctx)
        return ctx.__dict__[self.name]


@dataclass
class AuditContext:
    inputs: Inputs
    catalogue: Catalogue
    as_of: pd.Timestamp
    # Departments whose establishments without any account are audited (--departements); by default
    # a region's own establishments file is audited whole, the national FINESS extract by region (see scope).
    chosen_scope: frozenset[str] | None = None
    # Tables of the history (see history_tables.HISTORY_TABLES), by name: only those the run has.
    history: Mapping[str, pd.DataFrame] = field(default_factory=dict)

    @computed_once
    def _account_of_row(self) -> np.ndarray:
        """Account number of each account row, numbered in order of first appearance."""
        return row_codes(self.inputs.accounts["account_id"])  # never -1: the loader drops rows without one

    @computed_once
    def _attachment_of_row(self) -> np.ndarray:
        """Attachment number of each account row, numbered in order of first appearance."""
        return row_codes(self._account_of_row, self.inputs.accounts["finess"])  # the loader drops rows without one

    @computed_once
    def _first_row_of_attachment(self) -> np.ndarray:
        return pd.Series(self._attachment_of_row).drop_duplicates().index.to_numpy()  # k first appears before k + 1

    @property
    def attachment_rows(self) -> pd.DataFrame:
        """Each attachment's first account row, in the attachments' order: its file and line."""
        return self.inputs.accounts.take(self._first_row_of_attachment)

    @computed_once
    def account_numbers(self) -> np.ndarray:
        """Per attachment, the number of its account: grouping attachments by account on these costs
        milliseconds, where hashing a national export's 800,000 logins again costs a tenth of a second."""
        return self._account_of_row[self._first_row_of_attachment]

    @computed_once
    def attachments(self) -> pd.DataFrame:
        """One row per account × establishment (row label = attachment number).

        Identity, state and dates are the account's, repeated on each of its
        rows: the first row gives them. Units and roles are in long tables.
        """
        first_rows = self._first_row_of_attachment
        # Only the columns the checks read: each check's filter copies every column of its rows.
        attachments = self.inputs.accounts.drop(columns=NOT_PER_ATTACHMENT).take(first_rows).reset_index(drop=True)
        attachments["display_name"] = display_name(
            attachments["last_name"], attachments["first_name"], attachments["account_id"]
        )
        functions = attachments["function"].dropna().unique()
        categories = {text: self.catalogue.function_category(text) for text in functions}
        attachments["function_category"] = lookup(attachments["function"], categories).astype(TEXT)
        return attachments

    def _long(self, column: str, name: str) -> pd.DataFrame:
        """(attachment, value) pairs of a per-row column (a value or a tuple of them), without repeats,
        in the order of the rows and of each tuple.

        A national export has a million rows but a dozen distinct role lists and units: the
        distinct cells are split, and the rows take their items by number (explode and
        drop_duplicates on the rows took a second).
        """
        cell, distinct = pd.factorize(self.inputs.accounts[column])  # -1: an empty cell
        parts = pd.Series(list(distinct), dtype=object).explode().dropna()  # label: the distinct cell
        item, items = pd.factorize(parts.to_numpy())
        cell_of_part = parts.index.to_numpy()
        first_part = np.searchsorted(cell_of_part, np.arange(len(distinct)))  # the parts are in cell order
        count = np.append(np.bincount(cell_of_part, minlength=len(distinct)), 0)[cell]  # -1 reads the 0
        row = np.repeat(np.arange(len(cell)), count)
        within = np.arange(len(row)) - np.repeat(np.cumsum(count) - count, count)
        # Each (attachment, item) pair as one integer, de-duplicated in order of first appearance.
        width = max(len(items), 1)
        pairs = pd.unique(self._attachment_of_row[row] * width + item[first_part[cell[row]] + within])
        attachment, item_of_pair = np.divmod(pairs, width)
        return pd.DataFrame({"attachment": attachment, name: pd.array(items, dtype=TEXT).take(item_of_pair)})

    @computed_once
    def role_cell_filled(self) -> np.ndarray:
        """Per attachment: some row of it has a role cell that is not blank (known roles or not)."""
        filled = self.inputs.accounts["roles_given"].to_numpy(dtype=bool)
        per_attachment = np.zeros(len(self.attachments), dtype=bool)
        np.logical_or.at(per_attachment, self._attachment_of_row, filled)
        return per_attachment

    @computed_once
    def attachment_roles(self) -> pd.DataFrame:
        """(attachment, role): the roles each account holds in each establishment."""
        return self._long("roles", "role")

    @computed_once
    def attachment_units(self) -> pd.DataFrame:
        """(attachment, unit): the units each account is attached to in each establishment."""
        return self._long("unit", "unit")

    @computed_once
    def attachment_rights(self) -> pd.DataFrame:
        """(attachment, right, role): each right an account has in an establishment, and the role giving it.

        Role and right are categories (names sorted): nationally this table has 3.6 million rows,
        300 MB as text and 30 MB so.
        """
        pairs = [(role.name, right) for role in self.catalogue.roles.values() for right in role.rights]
        roles = pd.CategoricalDtype(sorted({role for role, _ in pairs}))
        grants = pd.DataFrame(pairs, columns=["role", "right"]).astype(
            {"role": roles, "right": pd.CategoricalDtype(sorted({right for _, right in pairs}))})
        held = self.attachment_roles
        # The few distinct roles are looked up among the categories, not each of 1.8 million cells.
        code, names = pd.factorize(held["role"])  # never -1: the long table has no missing role
        category = roles.categories.get_indexer(names)  # -1: a role giving no right
        held = held.assign(role=pd.Categorical.from_codes(category[code], dtype=roles))
        return held.merge(grants, on="role")

    def has_right(self, rights: set[str]) -> pd.Series:
        """Mask over attachments: at least one of these rights through the roles held there."""
        return self._holders(self.attachment_rights, "right", rights)

    def holds_any(self, role_names: frozenset[str]) -> pd.Series:
        """Mask over attachments: holds at least one of these roles in that establishment."""
        return self._holders(self.attachment_roles, "role", role_names)

    def _holders(self, long: pd.DataFrame, column: str, values) -> pd.Series:
        held = np.zeros(len(self.attachments), dtype=bool)  # attachment numbers are positions: marked, not hashed
        held[long["attachment"].to_numpy()[long[column].isin(values).to_numpy()]] = True
        return pd.Series(held, index=self.attachments.index)

    @computed_once
    def _accounts_per_finess(self) -> pd.Series:
        # An attachment is one account in one establishment: counting them counts the accounts.
        return self.attachments["finess"].value_counts(sort=False).sort_index().rename("accounts")

    @computed_once
    def _names_seen(self) -> pd.Series:
        """The name most rows give each FINESS (exports disagree now and then)."""
        return (
            self.inputs.accounts.groupby(["finess", "establishment_name"]).size()
            .sort_values(ascending=False, kind="stable").reset_index()
            .drop_duplicates("finess").set_index("finess")["establishment_name"]
        )

    @computed_once
    def _seen_problems(self) -> pd.Series:
        """Why each FINESS seen in the accounts cannot be an establishment's (NA when it can)."""
        seen = self._accounts_per_finess.index.to_series().astype(TEXT)
        problem = finess_problem(seen)
        referential = self.inputs.establishments
        if referential is not None and "finess_ej" in referential:
            # The legal entity's number (the FINESS extract gives it) names no establishment.
            entity = is_in(seen, referential["finess_ej"].dropna().unique()) & ~is_in(seen, referential["finess"])
            problem = problem.mask(entity & problem.isna().to_numpy(),
                                   "numéro d'entité juridique (FINESS EJ), pas d'un établissement")
        return problem

    @computed_once
    def _staff_finess(self) -> pd.Index:
        """Valid FINESS where the staff file places people: establishments even without any account. The RPPS
        directory's places are not: it lists the whole country's health professionals."""
        staff = self.inputs.staff
        if staff is None:
            return pd.Index([], dtype=TEXT)
        if "from_directory" in staff:
            staff = staff[~staff["from_directory"].fillna(False).astype(bool).to_numpy()]
        places = staff["finess"].dropna().drop_duplicates().astype(TEXT)
        return pd.Index(places[finess_problem(places).isna().to_numpy()])

    @computed_once
    def establishments(self) -> pd.DataFrame:
        """Audited establishments: the referential when given, plus any valid FINESS seen in the accounts
        or in the staff file (people work there: an establishment without any account has 0 referents).

        A malformed FINESS, or one failing its check key, is a typing error on the rows that
        carry it (ETB-02, see `invalid_finess`), not an establishment of its own.
        Columns: finess, name, in_referential, closed, accounts (attached accounts).
        """
        seen = self._accounts_per_finess
        valid_seen = self._seen_problems.index[self._seen_problems.isna().to_numpy()].union(self._staff_finess)
        referential = self.inputs.establishments
        if referential is not None:
            table = referential.loc[self._in_scope(referential) | is_in(referential["finess"], seen.index),
                                    ["finess", "name", "closed_on"]].copy()
            table["in_referential"] = True
            extra = valid_seen.difference(referential["finess"])
            table = pd.concat([table, pd.DataFrame({"finess": extra, "in_referential": False})],
                              ignore_index=True)
        else:
            table = pd.DataFrame({"finess": valid_seen, "name": pd.NA, "closed_on": pd.NaT,
                                  "in_referential": False})
        seen_name = lookup(table["finess"], self._names_seen).astype(TEXT)
        table["name"] = table["name"].astype(TEXT).fillna(seen_name).fillna("")
        table["closed"] = pd.to_datetime(table["closed_on"]).le(self.as_of).fillna(False)
        table["accounts"] = table["finess"].map(seen).fillna(0).astype("int64")
        return table.sort_values("finess", ignore_index=True)

    @property
    def closed_finess(self) -> pd.Series:
        """The audited establishments closed at the audit date."""
        establishments = self.establishments
        return establishments.loc[establishments["closed"], "finess"]

    @property
    def scope(self) -> frozenset[str] | None:
        """Departments whose establishments without any account are audited; None: every one.

        --departements when given. Else a region's own establishments file is audited whole: an ESMS
        in a department where nobody has an account is exactly the one nobody looks after. The national
        FINESS extract lists the whole country: it is audited in the regions of the accounts'
        establishments, all their departments.
        """
        if self.chosen_scope is not None:
            return self.chosen_scope
        if not self.inputs.finess_extract:
            return None
        valid = self._seen_problems.index[self._seen_problems.isna().to_numpy()].to_series()
        return self.catalogue.regions_of(finess_department(valid.astype(TEXT)).dropna().unique())

    def _in_scope(self, referential: pd.DataFrame) -> pd.Series:
        """Referential rows to audit even without accounts: an ESMS for disabled people (by FINESS category,
        esms.yaml; a category written otherwise than as a code is trusted) in a department in scope."""
        category = referential["category"]
        esms = ~category.str.fullmatch(r"\d{3}").fillna(False) | category.isin(self.catalogue.esms_categories)
        if self.scope is None:
            return esms
        department = referential["department"].fillna(finess_department(referential["finess"]))
        return department.isin(self.scope) & esms

    @computed_once
    def invalid_finess(self) -> pd.DataFrame:
        """FINESS of account rows that cannot be an establishment's and are not in the referential.

        Columns: finess, name (as the rows give it), accounts, reason.
        """
        problems = self._seen_problems.dropna()
        referential = self.inputs.establishments
        if referential is not None:
            problems = problems[~is_in(problems.index.to_series(), referential["finess"])]
        finess = problems.index.to_series().astype(TEXT)
        return pd.DataFrame({
            "finess": finess.to_numpy(),
            "name": finess.map(self._names_seen).astype(TEXT).fillna("").to_numpy(),
            "accounts": finess.map(self._accounts_per_finess).astype("int64").to_numpy(),
            "reason": problems.to_numpy(),
        })

    def establishment_names(self) -> pd.Series:
        return self.establishments.set_index("finess")["name"]

    @computed_once
    def placed_staff(self) -> pd.DataFrame:
        """The staff rows that name an establishment (ATT-01, 04, 05 work on these); the RPPS directory's
        only in an audited establishment (its rows elsewhere are other regions' business)."""
        staff = self.inputs.staff
        placed = staff["finess"].notna()
        if "from_directory" in staff:
            audited = is_in(staff["finess"], self.establishments["finess"])
            placed &= ~staff["from_directory"].fillna(False).astype(bool) | audited
        return staff if placed.all() else staff[placed]  # a filter copies every column: only when needed

    @computed_once
    def _people(self) -> np.ndarray:
        """The person of each attachment, then of each placed staff row (see identities.people)."""
        attachments, staff = self.attachments, self.inputs.staff
        account = self.account_numbers
        rpps, email = attachments["rpps"], attachments["email"]
        if staff is not None:
            staff = self.placed_staff
            account = np.concatenate([account, np.full(len(staff), -1)])
            rpps = pd.concat([rpps, staff["rpps"].astype(TEXT)], ignore_index=True)
            email = pd.concat([email, staff["email"].astype(TEXT)], ignore_index=True)
        return people(account, rpps, email)

    @property
    def person(self) -> pd.Series:
        """The person of each attachment (same index): two accounts of one person have the same."""
        return pd.Series(self._people[:len(self.attachments)], index=self.attachments.index)

    @property
    def staff_person(self) -> pd.Series:
        """The person of each placed staff row (same index), in the same numbering as `person`."""
        return pd.Series(self._people[len(self.attachments):], index=self.placed_staff.index)

    @computed_once
    def person_rpps(self) -> pd.Series:
        """Each person's RPPS, where some row of theirs gives it (one at most: two RPPS are two people)."""
        rpps = [self.attachments["rpps"]]
        if self.inputs.staff is not None:
            rpps.append(self.placed_staff["rpps"].astype(TEXT))
        rows = pd.DataFrame({"person": self._people, "rpps": pd.concat(rpps, ignore_index=True)}).dropna()
        return rows.drop_duplicates("person").set_index("person")["rpps"]

    @computed_once
    def staff_links(self) -> pd.DataFrame:
        """(left: staff row, right: attachment) pairs of one person in one establishment (ATT-01, 04, 05).

        The same person (see `person`), or, in one establishment, the same name (a probable link)
        unless the two people have each an RPPS (on any row of theirs) and they differ: staff files
        often give a personal or HR e-mail, never another professional's RPPS.
        """
        staff_person, person = self.staff_person, self.person
        left = pd.DataFrame({"finess": self.placed_staff["finess"], "person": staff_person,
                             "name_key": self.placed_staff["name_key"],
                             "rpps": staff_person.map(self.person_rpps).astype(TEXT)})
        right = pd.DataFrame({"finess": self.attachments["finess"], "person": person,
                              "name_key": self.attachments["name_key"],
                              "rpps": person.map(self.person_rpps).astype(TEXT)})
        strong = left.rename_axis("left").reset_index().merge(
            right.rename_axis("right").reset_index(), on=["finess", "person"])[["left", "right"]]
        named = link_people(left, right, within=("finess",), identifiers=("name_key",), vetoes=RPPS_ONLY)
        return pd.concat([strong, named], ignore_index=True).drop_duplicates(ignore_index=True)

    @computed_once
    def probable_leavers(self) -> pd.Series:
        """Whether each attachment (not archived) is in an establishment whose staff list does not name its
        holder (ATT-04; they receive nothing of the establishment). Only establishments the staff file
        lists are judged, and on the staff file alone: the RPPS directory is no complete list."""
        attachments = self.attachments
        if self.inputs.staff is None:
            return pd.Series(False, index=attachments.index)
        staff = self.placed_staff
        listed = staff.loc[~staff["from_directory"], "finess"] if "from_directory" in staff else staff["finess"]
        judged = attachments["state"].ne("archived") & is_in(attachments["finess"], listed.dropna().unique())
        return judged & ~attachments.index.isin(self.staff_links["right"])

    @computed_once
    def rpps_professions(self) -> pd.Series:
        """Folded RPPS profession of each RPPS in the directory (empty without one)."""
        directory = self.inputs.directory
        if directory is None:
            return pd.Series(dtype=TEXT)
        known = directory.dropna(subset=["rpps", "profession"]).drop_duplicates("rpps")
        return pd.Series(fold_series(known["profession"]).to_numpy(), index=known["rpps"].to_numpy(), dtype=TEXT)
