"""Bytes to grids of text: the first, format-level step of loading an export.

A grid is a list of rows of cell texts with the line number each row has in
the file, whatever the format (CSV in any common encoding and separator, or
XLSX sheets). Recognising headers and parsing values is `load`'s job.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import io
import re
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from .errors import AuditError, InputIssue
from .text import fold

SEPARATORS = (";", ",", "|", "\t")
SEPARATOR_NAMES = {";": "point-virgule", ",": "virgule", "|": "barre verticale", "\t": "tabulation"}
# Bounds that keep a hostile file from exhausting memory (see README, "Entrées refusées").
MAX_CELL_CHARS = 100_000  # longer cells are cut (and reported) by the loader
MAX_CSV_FIELD_CHARS = 16 * 1024 * 1024  # past this a CSV is refused as unreadable
MAX_XLSX_UNCOMPRESSED = 2 * 1024**3
MAX_XLSX_RATIO = 200

_UTF8_MULTIBYTE = re.compile(rb"[\xc2-\xf4][\x80-\xbf]+")
_OLE2_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"


@dataclass
class Grid:
    """One table of text cells as found in a file or a sheet."""

    path: Path
    rows: list[list[str]]
    line_numbers: list[int]
    description: str  # "UTF-8, séparateur point-virgule" / "feuille « Comptes »"
    issues: list[InputIssue] = field(default_factory=list)


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
    if not data.strip():
        raise AuditError(f"{path} : le fichier est vide")
    if data.startswith(b"PK\x03\x04"):
        return _read_xlsx(path)
    if data.startswith(_OLE2_MAGIC):
        raise AuditError(
            f"{path} : classeur Excel ancien format (.xls) ou protégé par mot de passe ; "
            "enregistrez-le sans mot de passe au format .xlsx ou CSV"
        )
    text, encoding, issues = _decode(path, data)
    return [_read_csv(path, text, encoding, issues, known_headers)]


def _decode(path: Path, data: bytes) -> tuple[str, str, list[InputIssue]]:
    for bom, codec in ((codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16")):
        if data.startswith(bom):
            return data.decode(codec), "UTF-16", []
    if b"\x00" in data[:8192]:
        raise AuditError(f"{path} : fichier binaire, ni CSV ni XLSX")
    try:
        return data.decode("utf-8-sig"), "UTF-8", []
    except UnicodeDecodeError:
        pass
    if not _UTF8_MULTIBYTE.search(data):
        try:
            return data.decode("cp1252"), "Windows-1252", []
        except UnicodeDecodeError as exc:
            raise AuditError(
                f"{path} : encodage non reconnu (octet {data[exc.start]:#04x} à la position "
                f"{exc.start}) ; enregistrez le fichier en UTF-8 ou Windows-1252"
            ) from None
    # Both UTF-8 and cp1252 bytes: a file assembled from several exports. Each
    # line is decoded on its own, and the cp1252 ones are reported.
    lines, issues = [], []
    for number, raw in enumerate(data.splitlines(keepends=True), start=1):
        try:
            lines.append(raw.decode("utf-8-sig" if number == 1 else "utf-8"))
        except UnicodeDecodeError:
            lines.append(raw.decode("cp1252", errors="replace"))
            issues.append(
                InputIssue(str(path), number, None, "ligne en Windows-1252 dans un fichier UTF-8 : "
                           "accents relus en Windows-1252, à vérifier", "warning")
            )
    return "".join(lines), "UTF-8 et Windows-1252 mélangés", issues


def count_known(cells: list[str], known_headers: frozenset[str]) -> int:
    return sum(1 for cell in cells if fold(cell) in known_headers)


def _sniff_separator(text: str, known: frozenset[str]) -> tuple[str, int]:
    """Separator that splits the first lines into the most recognised headers.

    Returns the separator and how many leading lines to skip (Excel's "sep=;").
    """
    first_line = text.lstrip("\ufeff").split("\n", 1)[0].strip()
    if first_line.lower().startswith("sep=") and len(first_line) == 5:
        return first_line[4], 1
    head = text.splitlines()[:20]
    best = (-1, 0, ";")
    for sep in SEPARATORS:
        rows = list(csv.reader(head, delimiter=sep))
        score = max((count_known(row, known) for row in rows), default=0)
        width = max((len(row) for row in rows), default=0)
        best = max(best, (score, width, sep))
    return best[2], 0


def _read_csv(
    path: Path, text: str, encoding: str, issues: list[InputIssue], known: frozenset[str]
) -> Grid:
    separator, skip = _sniff_separator(text, known)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=separator)
    rows, line_numbers = [], []
    start = 1
    csv.field_size_limit(MAX_CSV_FIELD_CHARS)
    try:
        for record in reader:
            if reader.line_num > skip:
                rows.append(record)
                line_numbers.append(start)
            start = reader.line_num + 1
    except csv.Error as exc:
        raise AuditError(f"{path}, ligne {start} : CSV illisible ({exc})") from None
    description = f"CSV {encoding}, séparateur {SEPARATOR_NAMES[separator]}"
    return Grid(path, rows, line_numbers, description, issues)


def _cell_text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time() else value.isoformat(sep=" ")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _check_zip(path: Path) -> None:
    try:
        with zipfile.ZipFile(path) as archive:
            members = archive.infolist()
    except zipfile.BadZipFile:
        raise AuditError(f"{path} : fichier XLSX corrompu (archive illisible)") from None
    total = sum(m.file_size for m in members)
    inflated = [m for m in members if m.compress_size and m.file_size / m.compress_size > MAX_XLSX_RATIO
                and m.file_size > 50 * 1024**2]
    if total > MAX_XLSX_UNCOMPRESSED or inflated:
        raise AuditError(
            f"{path} : classeur refusé : son contenu décompressé est anormalement grand "
            "(archive piégée ?)"
        )


def _read_xlsx(path: Path) -> list[Grid]:
    import openpyxl  # imported here: CSV-only runs don't pay for it

    _check_zip(path)
    # A handle, not the path: openpyxl refuses a workbook whose name does not end in .xlsx.
    handle = open(path, "rb")  # noqa: SIM115 - closed below, after the read-only sheets are read
    try:
        workbook = openpyxl.load_workbook(handle, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many types for a broken file
        handle.close()
        raise AuditError(f"{path} : fichier XLSX illisible ({type(exc).__name__})") from None
    grids = []
    try:
        for sheet in workbook.worksheets:
            rows, line_numbers = [], []
            for number, values in enumerate(sheet.iter_rows(values_only=True), start=1):
                cells = [_cell_text(v) for v in values]
                while cells and cells[-1] == "":
                    cells.pop()
                rows.append(cells)
                line_numbers.append(number)
            grids.append(Grid(path, rows, line_numbers, f"XLSX, feuille « {sheet.title} »"))
    except Exception as exc:
        raise AuditError(f"{path} : fichier XLSX illisible ({type(exc).__name__})") from None
    finally:
        workbook.close()
        handle.close()
    if not grids:
        raise AuditError(f"{path} : le classeur ne contient aucune feuille")
    return grids
