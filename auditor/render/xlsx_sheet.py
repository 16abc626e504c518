"""One sheet of a report workbook: streamed (openpyxl write-only), safe, readable and printable.

- Text that a spreadsheet would take for a formula (=, +, -, @, tab, carriage
  return first) is stored as text, never as a formula.
- A header row that wraps, stays frozen, filters, and repeats on each printed page.
- A4 landscape, one page wide, with the report's scope, the audit date and
  "page n / N" in the page header and footer.
- Long columns (wide ones) wrap; dates are real dates.
- openpyxl writes the title, the header and the sheet's settings; the rows are
  formatted by xlsx_rows.py (a short table row by row, a long one column by
  column), the same cells without openpyxl's cost per cell.
"""

from __future__ import annotations

import datetime as dt
import io
import math
from copy import copy
from dataclasses import dataclass
from itertools import repeat
from pathlib import Path
from typing import BinaryIO, Iterable, Sequence
from zipfile import ZIP_STORED, ZipFile

import numpy as np
import pandas as pd
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.styles.cell_style import StyleArray
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.hyperlink import Hyperlink
from openpyxl.writer.excel import ExcelWriter

from ..model.text import french_number
from . import xlsx_rows
from .xlsx_rows import formula_like

SEVERITY_FILLS = {
    "error": PatternFill("solid", fgColor="FFC7CE"),
    "warning": PatternFill("solid", fgColor="FFEB9C"),
    "info": PatternFill("solid", fgColor="DDEBF7"),
}
HEADER_FONT = Font(bold=True)
TITLE_FONT = Font(bold=True, size=13)
HEADER_FILL = PatternFill("solid", fgColor="D9D9D9")
LINK_FONT = Font(color="0563C1", underline="single")  # Excel's own hyperlink style
WRAP = Alignment(wrap_text=True, vertical="top")
# The cells a reader fills in (a director's decision and comment): framed, so that paper shows where.
WRITE_HERE = Border(*(Side(style="thin", color="808080"),) * 4)
TOP = Alignment(vertical="top")
HEADER_ALIGNMENT = Alignment(wrap_text=True, vertical="center")
VERTICAL_HEADER = Alignment(text_rotation=90, horizontal="center", vertical="bottom", wrap_text=True)
# A header written upwards wraps past this height: a long right's name on one line took 40 % of a
# printed page, pushing a director's review of eleven accounts onto a second page.
VERTICAL_MAX_POINTS = 110
LONG_COLUMN = 30  # columns at least this wide hold long texts: wrapped
# Past this many rows a sheet is for filtering, not printing (the region's review, a national
# findings sheet): its cells are not wrapped, since a styled cell costs several times a plain one.
WRAP_MAX_ROWS = 2_000
# On paper a sheet is fitted to one A4 page wide (landscape): wider than this many characters of
# columns, its 11 pt text would print under 8 pt (measured with LibreOffice: 355 characters of
# columns print at 3.4 pt). Only the leading columns within it print; the others stay on screen.
PRINT_WIDTH = 150
DATE_FORMAT = "DD/MM/YYYY"
ROW_POINTS = 15  # the height of one line of 11-point text
MAX_ROW_POINTS = 409  # Excel's limit
EXCEL_MAX_ROWS = 1_048_576  # a sheet's last row: rows written past it make a workbook Excel cannot open


class Book:
    """A write-only workbook: openpyxl writes its sheets' frames, xlsx_rows their rows (see save)."""

    def __init__(self):
        self.workbook = Workbook(write_only=True)
        self.sheets: list[Sheet] = []
        self._styles: dict[tuple, StyleArray] = {}
        self._style_ids: dict[tuple, int] = {}

    def style(self, cell: WriteOnlyCell, *, font: Font | None = None, fill: PatternFill | None = None,
              alignment: Alignment | None = None, border: Border | None = None) -> WriteOnlyCell:
        """`cell` with these styles, numbered once per workbook.

        openpyxl looks a style object up by its hash each time one is set: a quarter of the time of
        a director's workbook went there. The styles are told apart by identity: only this module's
        constants (WRAP, HEADER_FONT, SEVERITY_FILLS…), never one made for the call.
        """
        key = (id(font), id(fill), id(alignment), id(border), tuple(cell._style or ()))
        numbers = self._styles.get(key)
        if numbers is None:
            for name, value in (("font", font), ("fill", fill), ("alignment", alignment), ("border", border)):
                if value is not None:
                    setattr(cell, name, value)
            self._styles[key] = copy(cell._style)
        else:
            cell._style = copy(numbers)  # the numbers openpyxl gave the same styles on an earlier cell
        return cell

    def style_id(self, *, font: Font | None = None, fill: PatternFill | None = None,
                 alignment: Alignment | None = None, border: Border | None = None, needs: str = "") -> int:
        """The number of a cell style in the workbook's stylesheet (0: none), which openpyxl writes
        when the book is saved. `needs`: "text" (the quote prefix) or "date" (see xlsx_rows.cell_body)."""
        key = (id(font), id(fill), id(alignment), id(border), needs)
        number = self._style_ids.get(key)
        if number is None:
            cell = self.style(WriteOnlyCell(self.workbook.worksheets[0]), font=font, fill=fill, alignment=alignment,
                              border=border)
            if needs == "text":
                cell.quotePrefix = True
            elif needs == "date":
                cell.number_format = DATE_FORMAT
            number = self._style_ids[key] = cell.style_id
        return number

    def save(self, path: Path) -> None:
        # openpyxl's package, every sheet without the rows of its table, stays in memory uncompressed:
        # each part is compressed once, when the rows are spliced in.
        written = io.BytesIO()
        ExcelWriter(self.workbook, ZipFile(written, "w", ZIP_STORED, allowZip64=True)).save()
        # A sheet's path in the package (xl/worksheets/sheetN.xml) is numbered by openpyxl's save.
        xlsx_rows.splice(written, path, {sheet.sheet.path.lstrip("/"): sheet.write_rows
                                         for sheet in self.sheets if sheet.rows_written})


class Sheet:
    """A write-only sheet with optional lines above its table, then a header row and rows."""

    def __init__(self, book: Book, title: str, columns: list[tuple[str, int]], *, scope: str, as_of: str,
                 intro: Iterable[str] = (), rows: int = 0, freeze_columns: int = 0, vertical_headers: int = 0,
                 hidden_columns: int = 0, write_in: Iterable[int] = ()):
        """`columns`: (header, width); `intro`: lines of text above the table; `rows`: how many will
        follow (long texts are wrapped below WRAP_MAX_ROWS); `freeze_columns`: name columns kept in
        view; `vertical_headers`: the last columns' headers written upwards (narrow tick columns);
        `hidden_columns`: the last columns hidden (checks for the tool, not for people); `write_in`: the
        columns a reader fills in, framed (WRITE_HERE)."""
        self.write_in = set(write_in)
        self.sheet = book.workbook.create_sheet(title)
        self.book = book
        book.sheets.append(self)
        self.width = len(columns)
        self.widths = [width for _, width in columns]
        self.wrapped = {i for i, width in enumerate(self.widths) if width >= LONG_COLUMN} if rows <= WRAP_MAX_ROWS \
            else set()
        intro = list(intro)
        self.header_row = len(intro) + 1 + bool(intro)
        # A write-only sheet writes its views, properties and columns with its first row: all set before.
        for index, width in enumerate(self.widths, start=1):
            self.sheet.column_dimensions[get_column_letter(index)].width = width
            self.sheet.column_dimensions[get_column_letter(index)].hidden = index > self.width - hidden_columns
        self.sheet.freeze_panes = f"{get_column_letter(freeze_columns + 1)}{self.header_row + 1}"
        self._print_setup(scope, as_of, rows, hidden_columns)
        for number, line in enumerate(intro):
            font = TITLE_FONT if number == 0 else HEADER_FONT
            self.sheet.append([book.style(safe_cell(self.sheet, line), font=font)])
        if intro:
            self.sheet.append([])
        header = []
        vertical_from = self.width - vertical_headers
        for index, (name, _) in enumerate(columns):
            header.append(book.style(WriteOnlyCell(self.sheet, value=name), font=HEADER_FONT, fill=HEADER_FILL,
                                     alignment=VERTICAL_HEADER if index >= vertical_from else HEADER_ALIGNMENT))
        vertical = [len(name) for name, _ in columns[vertical_from:]]
        self._set_height(self.header_row, max([_lines(name, width) * ROW_POINTS for name, width in columns]
                                              + [min(length * 6 + 10, VERTICAL_MAX_POINTS) for length in vertical]))
        self.sheet.append(header)
        self.rows = self.header_row
        self._rows: list[str | xlsx_rows.Rows] = []  # the table's rows, written when the book is saved

    def _print_setup(self, scope: str, as_of: str, rows: int, hidden_columns: int) -> None:
        sheet = self.sheet
        shown = self.widths[:self.width - hidden_columns]
        printed = next((n for n in range(1, len(shown) + 1) if sum(shown[:n + 1]) > PRINT_WIDTH), len(shown))
        if printed < len(shown):  # the leading columns, readable, rather than all of them too small to read
            sheet.print_area = f"A1:{get_column_letter(printed)}{self.header_row + max(rows, 1) + 2}"
        sheet.page_setup.orientation = "landscape"
        sheet.page_setup.paperSize = "9"  # A4 (openpyxl.worksheet.worksheet.Worksheet.PAPERSIZE_A4)
        sheet.page_setup.fitToWidth = 1
        sheet.page_setup.fitToHeight = 0  # as many pages as needed down, one across
        sheet.sheet_properties.pageSetUpPr.fitToPage = True
        sheet.print_title_rows = f"{self.header_row}:{self.header_row}"
        sheet.page_margins.left = sheet.page_margins.right = 0.4
        # "&" starts a code in page headers and footers: a name's own is doubled.
        sheet.oddHeader.left.text = scope.replace("&", "&&")
        sheet.oddHeader.right.text = f"Situation au {as_of}"
        sheet.oddFooter.left.text = "&A"
        sheet.oddFooter.right.text = "Page &P / &N"

    def append_table(self, columns: Sequence[Sequence], severity_column: int | None = None,
                     severities: Sequence[str] | None = None, link_column: int | None = None,
                     links: Sequence[str | None] | None = None) -> None:
        """Rows given as columns (sequences of equal length): the severity of each row fills
        `severity_column`, and `links` (a target or None per row) make `link_column` a hyperlink.

        A long table (no wrapping) is built column by column; a short one row by row, wrapped and sized.
        """
        count = len(columns[0]) if columns else 0
        first_row = self.rows + 1
        if self.wrapped or count <= WRAP_MAX_ROWS:
            for values, severity, link in zip(zip(*columns), repeat(None) if severities is None else severities,
                                              repeat(None) if links is None else links):
                self.append(values, severity_column, severity, link_column=link_column if link else None)
        else:
            frame = pd.DataFrame({number: xlsx_rows.typed_column(values) for number, values in enumerate(columns)})
            styles = {}
            if severity_column is not None and severities is not None:
                fills = {severity: self.book.style_id(fill=fill) for severity, fill in SEVERITY_FILLS.items()}
                styles[severity_column] = pd.Series(severities, dtype=object).map(fills).fillna(0).to_numpy(int)
            if links is not None:
                styles[link_column] = np.where(pd.Series(links, dtype=object).notna(),
                                               self.book.style_id(font=LINK_FONT), 0)
            for column in self.write_in:
                styles[column] = np.full(count, self.book.style_id(border=WRITE_HERE))
            # Styles are numbered now, before openpyxl writes the stylesheet; the rows when the book is saved.
            self._rows.append(xlsx_rows.Rows(frame, first_row, styles, text_style=self.book.style_id(needs="text"),
                                             date_style=self.book.style_id(needs="date")))
            self.rows += count
        if links is not None:
            letter = get_column_letter(link_column + 1)
            # openpyxl writes a write-only sheet's hyperlinks from this list when it closes the sheet.
            self.sheet._hyperlinks.extend(Hyperlink(ref=f"{letter}{first_row + number}", target=target)
                                          for number, target in enumerate(links) if target is not None)

    def append(self, values: Iterable, severity_column: int | None = None, severity: str | None = None,
               link_column: int | None = None) -> None:
        """One row; `link_column` is shown as a link (its target: see append_table)."""
        values = list(values)
        number = self.rows + 1
        lines = 1
        if self.wrapped:  # spreadsheets do not size rows to wrapped text on opening: give each its height
            lines = max((_lines(values[i], self.widths[i]) for i in self.wrapped if i < len(values)), default=1)
        fill = SEVERITY_FILLS.get(severity)
        cells = []
        for index, value in enumerate(values):
            body, needs = xlsx_rows.cell_body(value)
            # A wrapped column wraps even empty (what is typed there wraps); in a tall row every value
            # reads from the top, level with the wrapped texts.
            alignment = WRAP if index in self.wrapped else TOP if lines > 1 and body is not None else None
            styled = alignment or needs or index in (severity_column, link_column) or index in self.write_in
            style = self.book.style_id(alignment=alignment, needs=needs,
                                       fill=fill if index == severity_column else None,
                                       font=LINK_FONT if index == link_column else None,
                                       border=WRITE_HERE if index in self.write_in else None) if styled else 0
            cells.append(xlsx_rows.cell_xml(f"{get_column_letter(index + 1)}{number}", style, body))
        self._rows.append(xlsx_rows.row_xml(number, cells, min(lines * ROW_POINTS, MAX_ROW_POINTS)
                                            if lines > 1 else None))
        self.rows += 1

    @property
    def rows_written(self) -> bool:
        return bool(self._rows)

    def write_rows(self, out: BinaryIO) -> None:
        """The table's rows, in order: rows formatted one by one, and long tables built in Arrow."""
        texts = []
        for rows in self._rows:
            if isinstance(rows, str):
                texts.append(rows)
                continue
            out.write("".join(texts).encode("utf-8"))
            texts = []
            rows.write(out)
        out.write("".join(texts).encode("utf-8"))

    def room(self) -> int:
        """How many more rows fit, the last one kept for a note on what did not (see left_out)."""
        return max(EXCEL_MAX_ROWS - self.rows - 1, 0)

    def left_out(self, count: int, what: str) -> None:
        """The note under a table cut at Excel's last row: how many `what` (plural) are not shown."""
        if count:
            self.append([f"… et {french_number(count)} {what} de plus, au-delà de la dernière ligne qu'une feuille "
                         f"Excel peut contenir ({french_number(EXCEL_MAX_ROWS)}) : la liste complète est dans "
                         "findings.json"])

    def _set_height(self, row: int, points: float) -> None:
        self.sheet.row_dimensions[row].height = min(points, MAX_ROW_POINTS)

    def close(self):
        last = get_column_letter(self.width)
        self.sheet.auto_filter.ref = f"A{self.header_row}:{last}{max(self.rows, self.header_row + 1)}"


def _lines(value, width: int) -> int:
    """Lines a text takes in a column `width` characters wide, wrapped."""
    if not isinstance(value, str) or not value:
        return 1
    per_line = max(width * 1.1, 1)  # a column of width w holds a little more than w average characters
    return sum(max(1, math.ceil(len(line) / per_line)) for line in value.split("\n"))


def safe_cell(sheet, value) -> WriteOnlyCell:
    """A cell that shows `value` as it is: text stays text, whatever it starts with; dates are dates."""
    if value is None:
        return WriteOnlyCell(sheet, value=None)
    if isinstance(value, bool):
        return WriteOnlyCell(sheet, value="oui" if value else "non")
    if isinstance(value, (int, float)):
        return WriteOnlyCell(sheet, value=value)
    if isinstance(value, dt.date):
        cell = WriteOnlyCell(sheet, value=value)
        cell.number_format = DATE_FORMAT
        return cell
    text = ILLEGAL_CHARACTERS_RE.sub("", str(value))
    cell = WriteOnlyCell(sheet, value=text)
    if formula_like(text):
        cell.data_type = "s"  # openpyxl took it for a formula or an error ("#N/A"): store the text itself
        cell.quotePrefix = True  # and Excel keeps it as text when the cell is edited
    return cell


@dataclass(frozen=True)
class Scope:
    """Whom the workbook is for: the region (establishment None) or one establishment's director."""

    as_of: str
    establishment: dict | None = None  # {"finess", "name"}
    overview: pd.DataFrame | None = None  # the region's: overview.establishment_table, computed once

    @property
    def label(self) -> str:
        if self.establishment is None:
            return "Audit régional des comptes VT Handicap / ROR"
        return f"{self.establishment['name']} (FINESS {self.establishment['finess']})"

    @property
    def director(self) -> bool:
        return self.establishment is not None

    def sheet(self, book, title, columns, **options) -> Sheet:
        return Sheet(book, title, columns, scope=self.label, as_of=self.as_of, **options)
