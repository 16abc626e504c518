"""Bytes to grids: the first, format-level step of loading an export (see grid.py).

A file is recognised from its bytes: a workbook (XLSX, whatever its name), an old or protected
Excel file (refused), the national FINESS extract as published, else a CSV.
"""

from __future__ import annotations

from pathlib import Path

from ..model.issues import AuditError
from . import finess_extract
from .csv_file import UTF8, decode, read_csv
from .grid import Grid
from .xlsx_file import read_xlsx

_OLE2_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"


def read_grids(path: Path, known_headers: frozenset[str]) -> list[Grid]:
    """Every table the file holds: one for a CSV, one per sheet for an XLSX.

    `known_headers` (folded) lets the CSV reader pick the separator that
    splits the header line into recognisable names.
    """
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise AuditError(f"{path} : lecture impossible ({exc.strerror})") from None
    if not data or data.isspace():  # not data.strip(): it copies the whole file
        raise AuditError(f"{path} : le fichier est vide")
    if data.startswith(b"PK\x03\x04"):
        return read_xlsx(path, known_headers)
    if data.startswith(_OLE2_MAGIC):
        raise AuditError(
            f"{path} : classeur Excel ancien format (.xls) ou protégé par mot de passe ; "
            "enregistrez-le sans mot de passe au format .xlsx ou CSV"
        )
    text, encoding, issues = decode(path, data)
    extract_form = finess_extract.recognise(text)
    if extract_form is not None:  # the national FINESS file as published: recognised from its content
        return [finess_extract.read_extract(path, text, encoding, extract_form, issues)]
    # A UTF-8 file's bytes are what Arrow reads its rows from (see _arrow_body); the others' are let go.
    return [read_csv(path, text, encoding, issues, known_headers, data if encoding == UTF8 else None)]
