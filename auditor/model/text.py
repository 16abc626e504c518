"""Text folding, so that "Référent  Établissement" and "referent etablissement" match.

Used for headers, role names, statuses, person names: anything people type
with or without accents, capitals, hyphens or double spaces.
"""

from __future__ import annotations

import re
import unicodedata

import pandas as pd

from .frames import TEXT

_NON_ALNUM = re.compile(r"[^0-9a-z]+")
# Letters Unicode does not decompose into ASCII ones: written out, as people type them without the ligature.
_LIGATURES = str.maketrans({"œ": "oe", "Œ": "OE", "æ": "ae", "Æ": "AE", "ß": "ss"})


def fold(text: str) -> str:
    """Lower-case ASCII words separated by single spaces ("N° FINESS" -> "n finess", "Œillet" -> "oeillet")."""
    decomposed = unicodedata.normalize("NFKD", str(text).translate(_LIGATURES))
    ascii_only = decomposed.encode("ascii", "ignore").decode("ascii").lower()
    return _NON_ALNUM.sub(" ", ascii_only).strip()


def fold_series(values: pd.Series) -> pd.Series:
    """`fold` over a column, computed once per distinct value (columns repeat a lot) and spread back
    by position (a `map` over a million Arrow strings costs ten times more)."""
    codes, distinct = pd.factorize(values.astype(TEXT))
    folded = pd.Series([fold(value) for value in distinct], dtype=TEXT)
    return pd.Series(folded.array.take(codes, allow_fill=True), index=values.index, dtype=TEXT)


def french_number(value: int) -> str:
    """12 030 -> "12 030" with a narrow no-break space, as French typography writes thousands."""
    return f"{value:,}".replace(",", "\u202f")


def french_numbers(values: pd.Series) -> pd.Series:
    """`french_number` over a column of whole numbers, once per distinct value (as `fold_series`)."""
    codes, distinct = pd.factorize(values)
    written = pd.Series([french_number(int(value)) for value in distinct], dtype=TEXT)
    return pd.Series(written.array.take(codes, allow_fill=True), index=values.index, dtype=TEXT)


def of(name: str) -> str:
    """« de » before a name, elided before a vowel or a mute h: « d'ESAT Les Pins », « de MAS L'Estérel »."""
    return f"d'{name}" if fold(name[:1]) in tuple("aeiouyh") and name[:1].isalpha() else f"de {name}"


def plural(count: int, singular: str, plural_form: str | None = None) -> str:
    """"0 erreur", "1 erreur", "3 erreurs": French counts (0 and 1 take the singular)."""
    word = singular if count <= 1 else plural_form or " ".join(w + "s" for w in singular.split(" "))
    return f"{french_number(count)} {word}"
