"""Vectorised parsing of cell values: identifiers, e-mails, dates, roles, statuses.

Each parser takes a column of text and returns the parsed column and a
`Problems` table (row label -> reason) for the values it could not use as
they were. Nothing here knows about files: `load` turns problems into
input issues with file, line and column.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa

from ..config.catalogue import Catalogue
from ..model.frames import TEXT, as_text, mostly_distinct
from ..model.text import fold_series

# Corsica's departments make FINESS numbers start with 2A / 2B.
_FINESS = re.compile(r"^(?:\d{2}|2[AB])\d{7}$")
_SCIENTIFIC = re.compile(r"^\d+(?:[.,]\d+)?[eE]\+?\d+$")
# Whitespace as a character class written with the characters themselves (what Python's \s matches
# in a cell): pandas hands a pattern holding \s or \u escapes to Python's re, row by row, instead
# of Arrow's RE2 (seconds on a national export's e-mail column).
SPACES = " \t\n\r\f\v\x1c-\x1f\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
_EMAIL = re.compile("^[^@" + SPACES + "]+@[^@" + SPACES + "]+\\.[^@" + SPACES + "]+$")
_ROLE_SEPARATORS = re.compile(r"[|;\r\n]+")
EXCEL_EPOCH = pd.Timestamp("1899-12-30")  # day 0 of Excel's date serials (1900 system), read and written
_DATE_FORMATS = ("%d/%m/%Y", "%Y-%m-%d", "%d/%m/%Y %H:%M", "%d/%m/%Y %H:%M:%S", "%d/%m/%Y %H:%M:%S.%f",
                 "%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M:%S.%f", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M:%S.%f",
                 "%d-%m-%Y", "%d.%m.%Y", "%d/%m/%y")
# Dates of accounts, logins and closings fall in this window; beyond it a value is a typing error
# (31/12/9999, 01/01/0001) and would not even fit pandas' nanosecond timestamps.
PLAUSIBLE_DATES = (pd.Timestamp("1900-01-01"), pd.Timestamp("2199-12-31"))


@dataclass
class Problems:
    """Rows whose value was not usable as written: the reason, and whether it was kept."""

    reasons: pd.Series  # index: row labels; values: French reason
    severity: str = "warning"

    @staticmethod
    def where(mask: pd.Series, reason: str | pd.Series, severity: str = "warning") -> Problems:
        reasons = reason[mask] if isinstance(reason, pd.Series) else pd.Series(reason, index=mask.index[mask])
        return Problems(reasons.astype(TEXT), severity)


def blank_to_na(values: pd.Series) -> pd.Series:
    text = values.astype(TEXT).str.strip()
    return text.mask(text == "")


def luhn_valid(digits: pd.Series) -> pd.Series:
    """Luhn check of equal-length digit strings, vectorised over the column."""
    valid = pd.Series(False, index=digits.index)
    usable = digits.notna() & digits.str.fullmatch(r"\d+").fillna(False)
    if not usable.any():
        return valid
    for length, group in digits[usable].groupby(digits[usable].str.len()):
        matrix = _digit_bytes(group).reshape(-1, length).astype(np.int64) - ord("0")
        doubled = matrix[:, ::-1].copy()
        doubled[:, 1::2] *= 2
        doubled[doubled > 9] -= 9
        valid.loc[group.index] = doubled.sum(axis=1) % 10 == 0
    return valid


def _digit_bytes(values: pd.Series) -> np.ndarray:
    """The characters of a column of ASCII text (no NA), end to end, as bytes: Arrow's character data as
    it is (joining the values in Python took 0.1 s for 200,000 RPPS)."""
    array = pa.array(values.array, type=pa.large_string())
    if isinstance(array, pa.ChunkedArray):  # a column of several chunks: one array, one data buffer
        array = array.combine_chunks()
    offsets = np.frombuffer(array.buffers()[1], dtype=np.int64)[array.offset:array.offset + len(array) + 1]
    return np.frombuffer(array.buffers()[2], dtype=np.uint8)[offsets[0]:offsets[-1]]


def ascii_digits(text: pd.Series) -> pd.Series:
    """Digits typed in another script (full-width １３, Arabic-Indic ١٣) as ASCII digits; other text as is."""
    foreign = text.str.contains(r"[^\x00-\x7f]", regex=True).fillna(False)
    if not foreign.any():
        return text
    converted = text[foreign].map(lambda value: "".join(
        str(unicodedata.digit(ch)) if not ch.isascii() and unicodedata.category(ch) == "Nd" else ch
        for ch in unicodedata.normalize("NFKC", value)))
    return text.where(~foreign, converted.astype(TEXT))


def finess_department(finess: pd.Series) -> pd.Series:
    """The department a FINESS begins with: two characters (2A, 2B in Corsica), three overseas (971…)."""
    text = finess.astype(TEXT)
    return text.str[:3].where(text.str.startswith("97"), text.str[:2])


def finess_problem(finess: pd.Series) -> pd.Series:
    """Per FINESS, why it cannot be an establishment's number (NA when it can).

    Corsican numbers (2A/2B) have no published key rule: their key is not checked.
    """
    well_formed = finess.str.fullmatch(_FINESS.pattern).fillna(False)
    corsica = finess.str.match(r"2[AB]").fillna(False)
    key_ok = luhn_valid(finess.where(~corsica)) | corsica
    reason = pd.Series(pd.NA, index=finess.index, dtype=TEXT)
    reason = reason.mask(well_formed & ~key_ok, "clé de contrôle FINESS invalide (erreur de saisie probable)")
    return reason.mask(~well_formed, "numéro FINESS mal formé (9 caractères attendus)")


def parse_typed_date(text: str) -> dt.date:
    """A date a person typed in an option or a YAML file: AAAA-MM-JJ or JJ/MM/AAAA (ValueError otherwise)."""
    for fmt in ("%Y-%m-%d", "%d/%m/%Y"):
        try:
            return dt.datetime.strptime(text.strip(), fmt).date()
        except ValueError:
            continue
    raise ValueError(text)


def parse_finess(values: pd.Series) -> tuple[pd.Series, list[Problems]]:
    """FINESS as 9 characters of text; fixes what spreadsheets do to them, and says so."""
    raw = ascii_digits(blank_to_na(values))
    # Spreadsheets turn a FINESS into 130000011.0 or 1.30000011E+08: undone before spaces and dots go.
    decimal = raw.str.fullmatch(r"\d{8,9}[.,]0+").fillna(False)
    raw = raw.where(~decimal, raw.str.replace(r"[.,]0+$", "", regex=True))
    scientific = raw.str.strip().str.fullmatch(_SCIENTIFIC.pattern).fillna(False)
    text = raw.str.replace("[." + SPACES + "]", "", regex=True).str.upper()
    spaced = raw.str.contains("[." + SPACES + "]", regex=True).fillna(False) & ~scientific & ~decimal
    if scientific.any():
        as_number = pd.to_numeric(raw[scientific].str.strip().str.replace(",", "."), errors="coerce")
        as_number = as_number.where(as_number.between(1e6, 1e10))  # 1E+400 is no FINESS: left malformed
        converted = as_number.round().astype("Int64").astype(TEXT)
        text = text.where(~scientific, converted.reindex(text.index).fillna(raw[scientific]))
        scientific &= converted.reindex(text.index).notna()
    lost_zero = text.str.fullmatch(r"\d{8}").fillna(False)
    text = text.where(~lost_zero, "0" + text)
    malformed = text.notna() & ~text.str.fullmatch(_FINESS.pattern).fillna(False)
    problems = [
        Problems.where(spaced, "FINESS écrit avec des espaces ou des points : nettoyé", "info"),
        Problems.where(scientific, "FINESS en notation scientifique (format Excel) : converti en texte"),
        Problems.where(decimal, "FINESS écrit comme un nombre décimal (format Excel) : « ,0 » retiré"),
        Problems.where(lost_zero, "FINESS à 8 chiffres : zéro initial rétabli (perdu par Excel)"),
        Problems.where(malformed, "FINESS mal formé (9 caractères attendus)"),
        Problems.where(raw.isna(), "FINESS absent : ligne non rattachée à un établissement", "error"),
    ]
    return text, problems


def parse_rpps(values: pd.Series) -> tuple[pd.Series, list[Problems]]:
    text = ascii_digits(blank_to_na(values)).str.replace("[" + SPACES + "]", "", regex=True)
    text = text.str.replace(r"\.0$", "", regex=True)
    bad = text.notna() & ~(text.str.fullmatch(r"\d{11}").fillna(False) & luhn_valid(text))
    return text.mask(bad), [Problems.where(bad, "RPPS invalide (11 chiffres, clé de contrôle) : ignoré")]


def parse_email(values: pd.Series) -> tuple[pd.Series, list[Problems]]:
    """E-mails compared without case: stored stripped and lower-cased."""
    # Spaces typed inside an address are dropped; other blanks make it malformed, and reported.
    text = blank_to_na(values).str.replace(" ", "", regex=False).str.lower()
    bad = text.notna() & ~text.str.fullmatch(_EMAIL.pattern).fillna(False)
    return text, [Problems.where(bad, "adresse e-mail mal formée")]


def parse_text(values: pd.Series) -> tuple[pd.Series, list[Problems]]:
    """Free text with its spaces tidied; never a problem."""
    return blank_to_na(values).str.replace("[" + SPACES + "]+", " ", regex=True), []


def parse_filled(values: pd.Series) -> tuple[pd.Series, list[Problems]]:
    """Whether each cell holds something besides blanks; never a problem."""
    return blank_to_na(values).notna(), []


def on_distinct(values: pd.Series, parse, *args) -> tuple[pd.Series, list[Problems]]:
    """`parse(values, *args)` computed once per distinct value, then spread back to every row.

    A national export repeats the same function, unit, role list or date
    thousands of times: parsing the distinct values only divides the work.
    A column of mostly distinct values (logins, e-mails) is parsed as it is:
    numbering its values would cost more than it saves.
    """
    if mostly_distinct(values):
        return parse(values, *args)
    codes, uniques = pd.factorize(values, use_na_sentinel=False)
    distinct = pd.Series(uniques, dtype=values.dtype)
    parsed, problems = parse(distinct, *args)
    # A column the parser left as it was (names, functions, units written tidily) is kept as it is:
    # spreading the distinct values back copies a million cells.
    spread = values if parsed.equals(distinct) else parsed.iloc[codes].set_axis(values.index)
    row_problems = []
    for problem in problems:
        rows = np.isin(codes, problem.reasons.index.to_numpy())
        reasons = problem.reasons.reindex(codes[rows]).to_numpy()
        row_problems.append(Problems(pd.Series(reasons, index=values.index[rows], dtype=TEXT), problem.severity))
    return spread, row_problems


def parse_dates(values: pd.Series, as_of: pd.Timestamp | None = None) -> tuple[pd.Series, list[Problems]]:
    """Dates written JJ/MM/AAAA, ISO, or as Excel serial numbers; day precision."""
    text = blank_to_na(values)
    # Microseconds, not nanoseconds: 9999-12-31 parses, and is then refused as implausible.
    parsed = pd.Series(pd.NaT, index=text.index, dtype="datetime64[us]")
    for fmt in _DATE_FORMATS:
        todo = parsed.isna() & text.notna()
        if not todo.any():
            break
        parsed[todo] = pd.to_datetime(text[todo], format=fmt, errors="coerce").astype("datetime64[us]")
    todo = parsed.isna() & text.notna()
    if todo.any():
        serial = pd.to_numeric(text[todo].str.replace(",", "."), errors="coerce")
        serial = serial[(serial >= 1) & (serial < 2958466)]
        # The whole part is the day; the fraction, the time (rounding would move afternoons to the next day).
        parsed[serial.index] = EXCEL_EPOCH + pd.to_timedelta(np.floor(serial), unit="D")
    implausible = parsed.notna() & ~parsed.between(*PLAUSIBLE_DATES)
    parsed = parsed.mask(implausible).dt.normalize().astype("datetime64[ns]")
    bad = text.notna() & parsed.isna() & ~implausible
    problems = [Problems.where(bad, "date illisible ou impossible : valeur ignorée"),
                Problems.where(implausible, "date hors des limites plausibles (1900 à 2199) : valeur ignorée")]
    if as_of is not None:
        future = parsed > as_of
        problems.append(Problems.where(future, "date postérieure à la date d'audit"))
    return parsed, problems


def parse_roles(values: pd.Series, catalogue: Catalogue) -> tuple[pd.Series, list[Problems]]:
    """Role cells to tuples of catalogue names, and the parts no role matches (give it distinct cells)."""
    cells = values.astype(TEXT).fillna("")
    found = np.empty(len(cells), dtype=object)  # tuples, kept whole (not spread into a 2-D array)
    unknown = np.empty(len(cells), dtype=object)
    for position, cell in enumerate(cells):  # callers pass distinct cells (see on_distinct)
        found[position], parts = split_roles(cell, catalogue)
        unknown[position] = " ; ".join(parts)
    roles = pd.Series(found, index=values.index, dtype=object)
    unknown_text = pd.Series(unknown, index=values.index).astype(TEXT)
    has_unknown = unknown_text != ""
    reasons = "rôle non reconnu (absent du catalogue des rôles), ignoré : « " + unknown_text + " »"
    return roles, [Problems.where(has_unknown, reasons)]


def split_roles(cell: str, catalogue: Catalogue) -> tuple[tuple[str, ...], list[str]]:
    """Roles of one cell, and the parts that match no role.

    Parts are separated by "|", ";" or line breaks. A part that is no known
    role may be several roles joined by commas; it is cut at the commas into
    the longest known names (two legacy names contain commas themselves), and
    what matches nothing is returned as unknown: a known role beside an
    unknown one is kept.
    """
    found: list[str] = []
    unknown: list[str] = []
    for part in _ROLE_SEPARATORS.split(cell):
        part = part.strip()
        if not part:
            continue
        role = catalogue.role_named(part)
        if role is not None:
            found.append(role)
            continue
        roles, rest = _split_on_commas(part, catalogue)
        found.extend(roles)
        unknown.extend(rest)
    return tuple(dict.fromkeys(found)), unknown


def _split_on_commas(part: str, catalogue: Catalogue) -> tuple[list[str], list[str]]:
    """Longest known names from the left; runs of pieces matching nothing are one unknown part each.

    A name has at most `role_name_commas` commas, so each position tries a few joins only:
    the cost stays linear in the length of the cell.
    """
    tokens = part.split(",")
    found, unknown, pending, start = [], [], [], 0
    widest = catalogue.role_name_commas + 1
    while start < len(tokens):
        for end in range(min(len(tokens), start + widest), start, -1):
            role = catalogue.role_named(",".join(tokens[start:end]))
            if role is not None:
                found.append(role)
                if pending:
                    unknown.append(",".join(pending).strip())
                    pending = []
                start = end
                break
        else:
            pending.append(tokens[start])
            start += 1
    if pending:
        unknown.append(",".join(pending).strip())
    return found, [u for u in unknown if u]


def parse_states(values: pd.Series, catalogue: Catalogue) -> tuple[pd.Series, list[Problems]]:
    text = blank_to_na(values)  # distinct statuses (see on_distinct): a handful
    states = as_text([None if pd.isna(v) else catalogue.state_named(v) for v in text]).set_axis(text.index)
    unknown = states.isna()
    states = states.fillna("unknown")
    reasons = pd.Series("statut absent : compte traité comme ni actif ni archivé", index=text.index)
    reasons = reasons.where(text.isna(), "statut inconnu : compte traité comme ni actif ni archivé")
    return states, [Problems.where(unknown, reasons)]


def person_name_key(last_name: pd.Series, first_name: pd.Series) -> pd.Series:
    """NOM|prénom folded, or NA when the name is missing: case, accents and ligatures aside, and without
    what people write or leave out (apostrophes, hyphens, spaces), so that « O'Neil » meets « ONEIL »,
    « De la Tour » « DELATOUR », « Martin-Durand » « MARTIN DURAND » and « Œillet » « OEILLET »."""
    last = fold_series(last_name).str.replace(" ", "", regex=False)
    first = fold_series(first_name).str.replace(" ", "", regex=False)
    key = last + "|" + first
    return key.mask(last.isna() | (last == "") | first.isna() | (first == ""))

