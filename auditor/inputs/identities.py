"""Who is who: people, not logins, across accounts, staff rows and directory rows (README, "Who is who").

Strong links make one person of several rows, transitively: the same account, the same valid
RPPS, the same e-mail (the parser lower-cased it and took its spaces out). Two different valid
RPPS are two people, always: an e-mail that rows of different RPPS share (a management mailbox)
links none of them. A name is a probable link only (see `link_people`): said « probable », it
never clears an error nor counts a referent, and never links two different RPPS.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..model.frames import is_in, row_codes

IDENTIFIERS = ("rpps", "email", "name_key")
STRONG_IDENTIFIERS = ("rpps", "email")
RPPS_ONLY = ("rpps",)  # vetoes inside one establishment
SMALL_SIDE = 20  # a left side this many times smaller than the right filters it before joining


def link_people(left: pd.DataFrame, right: pd.DataFrame, within: tuple[str, ...] = (),
                identifiers: tuple[str, ...] = IDENTIFIERS, vetoes: tuple[str, ...] = IDENTIFIERS) -> pd.DataFrame:
    """Pairs (left, right) of row labels that designate the same person.

    `within` adds columns that must be equal too (e.g. ("finess",) to link
    only inside one establishment). Across a region, a name alone says little
    (a thousand "MARTIN Julie"): pass identifiers=STRONG_IDENTIFIERS there.
    `vetoes`: the stronger identifiers that, present on both sides and different,
    forbid a link on a weaker one. Inside one establishment only a different RPPS
    proves two people: staff files often give a personal or HR e-mail.
    """
    pairs = []
    for identifier in identifiers:
        if identifier not in left or identifier not in right:
            continue
        stronger = [s for s in IDENTIFIERS[:IDENTIFIERS.index(identifier)] if s in left and s in right
                    and s in vetoes]
        columns = [*within, identifier, *stronger]
        lhs = left.loc[left[identifier].notna(), columns]
        rhs = right.loc[right[identifier].notna(), columns]
        # A few rows against many (the staff without an account against a region's accounts): only the
        # many that hold one of the few identifiers can link, and only they are hashed by the join.
        if len(lhs) * SMALL_SIDE < len(rhs):
            rhs = rhs[is_in(rhs[identifier], lhs[identifier].unique())]
        linked = lhs.rename_axis("left").reset_index().merge(rhs.rename_axis("right").reset_index(),
                                                             on=[*within, identifier], suffixes=("_l", "_r"))
        for other in stronger:
            a, b = linked[f"{other}_l"], linked[f"{other}_r"]
            linked = linked[~(a.notna() & b.notna() & (a != b)).fillna(False)]
        pairs.append(linked[["left", "right"]])
    if not pairs:
        return pd.DataFrame({"left": pd.Series(dtype="int64"), "right": pd.Series(dtype="int64")})
    return pd.concat(pairs, ignore_index=True).drop_duplicates()


def people(account: pd.Series | np.ndarray, rpps: pd.Series, email: pd.Series) -> np.ndarray:
    """One number per row, shared by the rows of one person (strong links only, transitive; see above).

    `account`: the login, or its number (-1 or NA for rows that are no account's: staff, directory;
    numbers spare hashing a national export's logins again). Components of the graph whose
    edges join rows with the same account, RPPS or e-mail, found by label propagation over the codes
    of each: a few passes of numpy, whatever the number of rows (a national run's 1.5 million).
    """
    account_code = account if isinstance(account, np.ndarray) else row_codes(account)  # numbers are codes already
    codes = [account_code, row_codes(rpps), row_codes(email)]
    rpps_code, email_code = codes[1], codes[2]
    # A mailbox shared by different RPPS links none of them: their e-mail is set aside.
    both = (rpps_code >= 0) & (email_code >= 0)
    pairs = np.unique(email_code[both] * (rpps_code.max(initial=0) + 1) + rpps_code[both])  # (e-mail, RPPS) once
    mailboxes, holders = np.unique(pairs // (rpps_code.max(initial=0) + 1), return_counts=True)
    shared = mailboxes[holders > 1]
    email_code = np.where((rpps_code >= 0) & np.isin(email_code, shared), -1, email_code)
    # Each link's groups, as positions sorted by code and where each group starts: sorted once, then every
    # pass takes each group's smallest label with one reduceat (np.minimum.at took seconds nationally).
    groups = []
    for code in (codes[0], rpps_code, email_code):
        linked = np.flatnonzero(code >= 0)
        order = linked[np.argsort(code[linked])]  # any order within a group
        starts = np.flatnonzero(np.diff(code[order], prepend=-1))
        groups.append((order, starts, np.diff(np.append(starts, len(order)))))
    label = np.arange(len(rpps_code))
    while True:
        before = label.copy()
        for order, starts, sizes in groups:  # every row takes the smallest label of its group
            if len(order):
                label[order] = np.repeat(np.minimum.reduceat(label[order], starts), sizes)
        label = label[label]  # a row takes its label's label: chains shorten at each pass
        if np.array_equal(label, before):
            return pd.factorize(label)[0]


def display_name(last_name: pd.Series, first_name: pd.Series, fallback: pd.Series) -> pd.Series:
    """"DUPONT Marie" as the reports show a person, else the fallback (login, e-mail)."""
    name = (last_name.str.upper().fillna("") + " " + first_name.fillna("")).str.strip()
    return name.mask(name == "", fallback).fillna("")
