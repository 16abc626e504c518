"""Guards a workbook passes before it is expanded: archive sizes and ratios (zip bombs), and the
extent of each sheet (a single cell far away makes a grid of billions of cells)."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc

from ..model.issues import AuditError
from .grid import SCAN_BLOCK

# Bounds that keep a hostile file from exhausting memory (see README).
MAX_XLSX_UNCOMPRESSED = 2 * 1024**3
MAX_XLSX_RATIO = 200
MIN_INFLATED = 50 * 1024**2  # below this, any compression ratio is harmless


def check_zip(path: Path) -> None:
    try:
        with zipfile.ZipFile(path) as archive:
            members = archive.infolist()
    except zipfile.BadZipFile:
        raise AuditError(f"{path} : fichier XLSX corrompu (archive illisible)") from None
    total, packed = sum(m.file_size for m in members), sum(m.compress_size for m in members)

    def inflated(size: int, compressed: int) -> bool:
        return size > MIN_INFLATED and size > MAX_XLSX_RATIO * max(compressed, 1)

    # The ratio is judged per member and for the whole workbook: twelve 45 MB sheets, each under
    # the member's threshold, are still 300 times their 1.7 MB archive.
    if (total > MAX_XLSX_UNCOMPRESSED or inflated(total, packed)
            or any(inflated(m.file_size, m.compress_size) for m in members if m.compress_size)):
        raise AuditError(
            f"{path} : classeur refusé : son contenu décompressé est anormalement grand "
            "(archive piégée ?)"
        )


MAX_XLSX_CELLS = 30_000_000  # a sheet's extent (rows × columns) calamine would hold in memory at once
# A cell's reference (<c r="AB12"…, namespaced or not): the attribute, the element before it, the value.
_REFERENCE_ATTRIBUTE = ' r="'
_CELL_ELEMENT = r"<(?:\w+:)?c$"
_REFERENCE = r'^(?P<letters>[A-Z]{1,3})(?P<digits>[0-9]{1,7})"'


def check_extent(path: Path) -> None:
    """Refuse a sheet whose cells reach far (one value at XFD1048576 makes a dense grid of billions
    of cells) before calamine materialises it: the extent is read from the cells' references."""
    with zipfile.ZipFile(path) as archive:
        for member in archive.infolist():
            if not (member.filename.startswith("xl/worksheets/") and member.filename.endswith(".xml")):
                continue
            rows = columns = 0
            with archive.open(member) as stream:
                tail = b""
                for chunk in iter(lambda: stream.read(SCAN_BLOCK), b""):
                    block = tail + chunk
                    block_rows, block_columns = _extent(block)
                    rows, columns = max(rows, block_rows), max(columns, block_columns)
                    tail = block[-64:]  # a reference cut at the block's end is read whole with the next
            if rows * columns > MAX_XLSX_CELLS:
                raise AuditError(f"{path} : classeur refusé : une feuille s'étend sur {rows} lignes et {columns} "
                                 "colonnes (une cellule remplie très loin, par exemple en bas à droite) ; supprimer "
                                 "les cellules au-delà du tableau et enregistrer de nouveau")


def _extent(xml: bytes) -> tuple[int, int]:
    """The highest row and column the cell references of this piece of sheet XML name (0 without any).

    Arrow's patterns, which hold neither the interpreter nor a Python object per cell: the
    accounts file read meanwhile goes on (a 40,000-row sheet's 280,000 references took 0.16 s
    of Python before).
    """
    pieces = pc.list_flatten(pc.split_pattern(pa.array([xml], pa.large_binary()), _REFERENCE_ATTRIBUTE))
    references = pc.extract_regex(pieces[1:], _REFERENCE)  # null where the attribute holds no reference
    of_cells = pc.match_substring_regex(pieces[:-1], _CELL_ELEMENT)  # the attribute is a cell's
    valid = references.filter(pc.and_(references.is_valid(), of_cells))
    if not len(valid):
        return 0, 0
    digits = pc.struct_field(valid, "digits").cast(pa.large_string()).cast(pa.int64())
    letters = pc.unique(pc.struct_field(valid, "letters")).to_pylist()
    return pc.max(digits).as_py(), max(map(_column_number, letters))


def _column_number(letters: bytes) -> int:
    number = 0
    for letter in letters:
        number = number * 26 + letter - 64
    return number
