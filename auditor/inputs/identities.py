"""Who is who across files: the same person by RPPS, else e-mail, else name.

Exports rarely share an identifier: the staff file may give an RPPS where the
accounts give only an e-mail. A link is made on the strongest identifier both
sides hold; a stronger identifier present on both sides and different vetoes
a link on a weaker one (two "MARTIN Julie" with different RPPS are two people).
"""

from __future__ import annotations

import pandas as pd

from ..model.frames import is_in

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


def display_name(last_name: pd.Series, first_name: pd.Series, fallback: pd.Series) -> pd.Series:
    """"DUPONT Marie" as the reports show a person, else the fallback (login, e-mail)."""
    name = (last_name.str.upper().fillna("") + " " + first_name.fillna("")).str.strip()
    return name.mask(name == "", fallback).fillna("")
