"""E-mail addresses a report goes to: one address per cell, checked once, where recipients are gathered.

A cell that holds two addresses (« , » or « ; »), a display name, a line feed (a header injected
into the message) or a malformed address is refused with a French reason, and only that recipient
is left out. Domains in Unicode are written in IDNA (ASCII), which every server takes; an address
whose local part is not ASCII needs a server that offers SMTPUTF8 (see campaign/mailer.py).

Most addresses are plain ASCII: they are checked at once by one regular expression over the
column; only the others go through email-validator (the checks of RFC 5321/5322 and IDNA,
which are not to be written by hand).
"""

from __future__ import annotations

import re

import pandas as pd
from email_validator import EmailNotValidError, validate_email

from .frames import TEXT

_ATOM = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
PLAIN = rf"{_ATOM}(?:\.{_ATOM})*@{_LABEL}(?:\.{_LABEL})+"


def needs_smtputf8(address: str) -> bool:
    """An address (as `checked_addresses` writes it) whose local part is not ASCII."""
    return not address.isascii()


def checked_addresses(cells: pd.Series) -> tuple[pd.Series, pd.Series]:
    """(address, problem) for each cell, same index: the address to write to (surrounding spaces
    dropped, domain in lower case and IDNA), or the French reason it cannot be used. Both NA for an
    empty cell."""
    text = cells.astype(TEXT).str.strip()
    plain = text.str.fullmatch(PLAIN).fillna(False).astype(bool)
    address = pd.Series(pd.NA, index=cells.index, dtype=TEXT)
    problem = pd.Series(pd.NA, index=cells.index, dtype=TEXT)
    if plain.any():
        parts = text[plain].str.rpartition("@")
        address[plain] = parts[0] + "@" + parts[2].str.lower()
    others = text[~plain & text.notna() & text.ne("")]
    for index, cell in others.items():  # the few addresses that are not plain ASCII, or are wrong
        address[index], problem[index] = _check_one(cell)
    return address, problem


def _check_one(cell: str) -> tuple[str | None, str | None]:
    if re.search(r"[\x00-\x1f\x7f]", cell):
        return None, "caractère de contrôle (saut de ligne…) dans l'adresse : une adresse seule est attendue"
    if re.search(r"[,;]", cell):
        return None, "plusieurs adresses dans la même cellule (« , » ou « ; ») : une adresse seule est attendue"
    if re.search(r'[<>"]', cell):
        return None, "nom affiché, chevrons ou guillemets : seule l'adresse est attendue (nom@domaine.fr)"
    try:
        checked = validate_email(cell, check_deliverability=False, test_environment=True)
    except EmailNotValidError:
        return None, "adresse e-mail mal formée (nom@domaine.fr attendu)"
    return f"{checked.local_part}@{checked.ascii_domain}", None
