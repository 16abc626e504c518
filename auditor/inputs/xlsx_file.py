"""XLSX workbooks to grids, read with calamine once the guards let them through."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from ..model.issues import AuditError
from .grid import HEAD_ROWS, Body, Grid, body_from_rows, count_known
from .guards import check_extent, check_zip


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


def _calamine_sheets(path: Path):
    """Each sheet of a workbook in turn, as (metadata, rows of values), read with calamine (Rust):
    15x openpyxl's speed on a 40,000-row sheet, no XML entities. The archive is checked before it
    is expanded, and only one sheet is held at a time."""
    from python_calamine import CalamineWorkbook

    check_zip(path)
    check_extent(path)
    try:
        workbook = CalamineWorkbook.from_path(str(path))
        if not workbook.sheets_metadata:
            raise AuditError(f"{path} : le classeur ne contient aucune feuille")
        for metadata in workbook.sheets_metadata:
            yield metadata, workbook.get_sheet_by_name(metadata.name).to_python(skip_empty_area=False)
    except AuditError:
        raise
    except Exception as exc:  # calamine raises its own types for each kind of broken file
        if type(exc).__name__ == "WorksheetNotFound":
            raise AuditError(f"{path} : le classeur ne contient aucune feuille lisible") from None
        raise AuditError(f"{path} : fichier XLSX illisible ({type(exc).__name__})") from None


def _text_rows(values) -> list[list[str]]:
    # Most cells are text already: they are taken as they are, without a call each.
    return [[v if type(v) is str else _cell_text(v) for v in row] for row in values]


def xlsx_sheets(path: Path) -> list[tuple[str, list[list[str]]]]:
    """Each sheet of a (small) workbook as rows of text cells, by name."""
    return [(metadata.name, _text_rows(values)) for metadata, values in _calamine_sheets(path)]


def read_xlsx(path: Path, known_headers: frozenset[str]) -> list[Grid]:
    """A grid per sheet. The cells of a sheet without any known header in its first rows are not
    kept (twelve junk sheets cost their heads, not their contents)."""
    from python_calamine import SheetVisibleEnum

    grids = []
    for metadata, values in _calamine_sheets(path):
        rows = _text_rows(values[:HEAD_ROWS])
        if any(count_known(row, known_headers) >= 2 for row in rows):
            rows += _text_rows(values[HEAD_ROWS:])
        del values
        numbers = list(range(1, len(rows) + 1))

        def read_body(header_index: int, rows=rows, numbers=numbers) -> Body:
            return body_from_rows(rows[header_index + 1:], numbers[header_index + 1:])

        grids.append(Grid(path, rows[:HEAD_ROWS], numbers[:HEAD_ROWS], "XLSX", read_body,
                          sheet=metadata.name, hidden=metadata.visible != SheetVisibleEnum.Visible))
    return grids
