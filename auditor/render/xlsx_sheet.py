"""One sheet of a report workbook: written by XlsxWriter, safe, readable and printable.

- Text that a spreadsheet would take for a formula (=, +, -, @, tab, carriage
  return first) is stored as text with the quote prefix, never as a formula.
- A header row that wraps, stays frozen, filters, and repeats on each printed page.
- A4 landscape, one page wide, with the report's scope, the audit date and
  "page n / N" in the page header and footer.
- Long columns (wide ones) wrap; dates are real dates.

XlsxWriter writes a workbook in a fraction of openpyxl's time (a director's
workbook: 22 ms with openpyxl, of which a third went to its fixed cost per
workbook and sheet). Its cells cost a few microseconds each, which is nothing for
a director's tables but seconds for a national findings sheet: a long table
(past WRAP_MAX_ROWS rows) is built column by column in Arrow by xlsx_rows.py and
spliced into the sheet XlsxWriter wrote.
"""

from __future__ import annotations

import datetime as dt
import io
import math
import numbers
from dataclasses import dataclass
from itertools import repeat
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np
import pandas as pd
import xlsxwriter
from xlsxwriter.format import Format
from xlsxwriter.utility import xl_col_to_name

from ..model.text import french_number
from . import xlsx_rows
from .xlsx_rows import clean_text, formula_like

# Cell styles, as XlsxWriter's format properties; a cell's format is the union of its styles (Book.format).
SEVERITY_FILLS = {
    "error": {"pattern": 1, "bg_color": "#FFC7CE"},
    "warning": {"pattern": 1, "bg_color": "#FFEB9C"},
    "info": {"pattern": 1, "bg_color": "#DDEBF7"},
}
HEADER_FONT = {"bold": True}
TITLE_FONT = {"bold": True, "font_size": 13}
HEADER_FILL = {"pattern": 1, "bg_color": "#D9D9D9"}
LINK_FONT = {"font_color": "#0563C1", "underline": 1}  # Excel's own hyperlink style
WRAP = {"text_wrap": True, "valign": "top"}
# The cells a reader fills in (a director's decision and comment): framed, so that paper shows where.
WRITE_HERE = {"border": 1, "border_color": "#808080"}
TOP = {"valign": "top"}
HEADER_ALIGNMENT = {"text_wrap": True, "valign": "vcenter"}
VERTICAL_HEADER = {"rotation": 90, "align": "center", "valign": "bottom", "text_wrap": True}
TEXT = {"quote_prefix": True}  # a formula-like text: Excel keeps it as text when the cell is edited
DATE_FORMAT = "DD/MM/YYYY"
DATE = {"num_format": DATE_FORMAT}
# A header written upwards wraps past this height: a long right's name on one line took 40 % of a
# printed page, pushing a director's review of eleven accounts onto a second page.
VERTICAL_MAX_POINTS = 110
LONG_COLUMN = 30  # columns at least this wide hold long texts: wrapped
# Past this many rows a sheet is for filtering, not printing (the region's review, a national
# findings sheet): its cells are not wrapped, and it is built in Arrow (xlsx_rows).
WRAP_MAX_ROWS = 2_000
# On paper a sheet is fitted to one A4 page wide (landscape): wider than this many characters of
# columns, its 11 pt text would print under 8 pt (measured with LibreOffice: 355 characters of
# columns print at 3.4 pt). Only the leading columns within it print; the others stay on screen.
PRINT_WIDTH = 150
HEADER_SCOPE_CHARS = 150  # a page header holds 255 characters at most: a longer one is left out by XlsxWriter
ROW_POINTS = 15  # the height of one line of 11-point text
MAX_ROW_POINTS = 409  # Excel's limit
EXCEL_MAX_ROWS = 1_048_576  # a sheet's last row: rows written past it make a workbook Excel cannot open


class Book:
    """A workbook in memory, written to its file by save (with the long tables' rows spliced in)."""

    def __init__(self):
        self.buffer = io.BytesIO()
        # Every cell is written by type (write_string, write_number…): nothing is taken for a formula or a URL.
        self.workbook = xlsxwriter.Workbook(self.buffer, {"in_memory": True, "strings_to_formulas": False,
                                                          "strings_to_urls": False, "strings_to_numbers": False})
        self.sheets: list[Sheet] = []
        self._formats: dict[tuple, Format] = {}

    def format(self, *styles: dict | None) -> Format | None:
        """The format of a cell with these styles (None for none), made once per workbook.

        Formats are keyed by the styles' identity: only this module's constants (WRAP,
        HEADER_FONT, SEVERITY_FILLS…), never a dictionary made for the call.
        """
        key = tuple(id(style) for style in styles if style)
        if not key:
            return None
        made = self._formats.get(key)
        if made is None:
            properties = {}
            for style in styles:
                properties.update(style or {})
            made = self._formats[key] = self.workbook.add_format(properties)
        return made

    def style_id(self, *styles: dict | None) -> int:
        """The number of a cell format in the workbook's stylesheet (0: none), for the rows xlsx_rows
        writes itself. XlsxWriter numbers a format when a cell it writes uses it; here, before: its
        `_get_xf_index` (not public) gives the number it keeps for every later use."""
        made = self.format(*styles)
        return 0 if made is None else made._get_xf_index()

    def save(self, path: Path) -> None:
        self.workbook.close()
        # A sheet's part in the package is numbered by its position (xl/worksheets/sheetN.xml).
        parts = {f"xl/worksheets/sheet{number}.xml": sheet for number, sheet in enumerate(self.sheets, start=1)}
        long_tables = {part: sheet for part, sheet in parts.items() if sheet.spliced}
        links = {f"xl/worksheets/_rels/{part.rsplit('/', 1)[1]}.rels" for part, sheet in parts.items()
                 if sheet.linked}
        if not long_tables and not links:
            path.write_bytes(self.buffer.getbuffer())
            return
        xlsx_rows.splice(self.buffer, path, {part: sheet.write_rows for part, sheet in long_tables.items()},
                         {part: sheet.dimension for part, sheet in long_tables.items()}, links)


class Sheet:
    """A sheet with optional lines above its table, then a header row and rows."""

    def __init__(self, book: Book, title: str, columns: list[tuple[str, int]], *, scope: str, as_of: str,
                 intro: Iterable[str] = (), rows: int = 0, freeze_columns: int = 0, vertical_headers: int = 0,
                 hidden_columns: int = 0, write_in: Iterable[int] = ()):
        """`columns`: (header, width); `intro`: lines of text above the table; `rows`: how many will
        follow (long texts are wrapped below WRAP_MAX_ROWS); `freeze_columns`: name columns kept in
        view; `vertical_headers`: the last columns' headers written upwards (narrow tick columns);
        `hidden_columns`: the last columns hidden (checks for the tool, not for people); `write_in`: the
        columns a reader fills in, framed (WRITE_HERE)."""
        self.write_in = set(write_in)
        self.sheet = book.workbook.add_worksheet(title)
        self.book = book
        book.sheets.append(self)
        self.width = len(columns)
        self.widths = [width for _, width in columns]
        self.wrapped = {i for i, width in enumerate(self.widths) if width >= LONG_COLUMN} if rows <= WRAP_MAX_ROWS \
            else set()
        intro = list(intro)
        self.header_row = len(intro) + 1 + bool(intro)  # counted from 1, as a reader does
        for index, width in enumerate(self.widths):
            self.sheet.set_column(index, index, width, None, {"hidden": index >= self.width - hidden_columns})
        self.sheet.freeze_panes(self.header_row, freeze_columns)
        self._print_setup(scope, as_of, rows, hidden_columns)
        for number, line in enumerate(intro):
            line = clean_text(line)
            self.sheet.write_string(number, 0, line, book.format(TITLE_FONT if number == 0 else HEADER_FONT,
                                                                 TEXT if formula_like(line) else None))
        vertical_from = self.width - vertical_headers
        for index, (name, _) in enumerate(columns):
            self.sheet.write_string(self.header_row - 1, index, name, book.format(
                HEADER_FONT, HEADER_FILL, VERTICAL_HEADER if index >= vertical_from else HEADER_ALIGNMENT))
        vertical = [len(name) for name, _ in columns[vertical_from:]]
        self.sheet.set_row(self.header_row - 1, min(max(
            [_lines(name, width) * ROW_POINTS for name, width in columns]
            + [min(length * 6 + 10, VERTICAL_MAX_POINTS) for length in vertical]), MAX_ROW_POINTS))
        self.rows = self.header_row
        self._long: list[xlsx_rows.Rows] = []  # long tables' rows, spliced in when the book is saved
        self.linked = False  # whether a cell links to a file (see xlsx_rows.splice)

    def _print_setup(self, scope: str, as_of: str, rows: int, hidden_columns: int) -> None:
        sheet = self.sheet
        shown = self.widths[:self.width - hidden_columns]
        printed = next((n for n in range(1, len(shown) + 1) if sum(shown[:n + 1]) > PRINT_WIDTH), len(shown))
        if printed < len(shown):  # the leading columns, readable, rather than all of them too small to read
            sheet.print_area(0, 0, self.header_row + max(rows, 1) + 1, printed - 1)
        sheet.set_landscape()
        sheet.set_paper(9)  # A4
        sheet.fit_to_pages(1, 0)  # as many pages as needed down, one across
        sheet.repeat_rows(self.header_row - 1)
        sheet.set_margins(left=0.4, right=0.4)
        if len(scope) > HEADER_SCOPE_CHARS:
            scope = scope[:HEADER_SCOPE_CHARS - 1] + "…"
        # "&" starts a code in page headers and footers: a name's own is doubled.
        sheet.set_header(f"&L{scope.replace('&', '&&')}&RSituation au {as_of}")
        sheet.set_footer("&L&A&RPage &P / &N")

    def append_table(self, columns: Sequence[Sequence], severity_column: int | None = None,
                     severities: Sequence[str] | None = None, link_column: int | None = None,
                     links: Sequence[str | None] | None = None) -> None:
        """Rows given as columns (sequences of equal length): the severity of each row fills
        `severity_column`, and `links` (a target or None per row) make `link_column` a hyperlink.

        A long table (no wrapping, no link) is built column by column in Arrow; any other row by row.
        """
        count = len(columns[0]) if columns else 0
        if self.wrapped or count <= WRAP_MAX_ROWS or links is not None:
            for values, severity, link in zip(zip(*columns), repeat(None) if severities is None else severities,
                                              repeat(None) if links is None else links):
                self.append(values, severity_column, severity, link_column=link_column, link=link)
            return
        frame = pd.DataFrame({number: xlsx_rows.typed_column(values) for number, values in enumerate(columns)})
        styles = {}
        if severity_column is not None and severities is not None:
            fills = {severity: self.book.style_id(fill) for severity, fill in SEVERITY_FILLS.items()}
            styles[severity_column] = pd.Series(severities, dtype=object).map(fills).fillna(0).to_numpy(int)
        for column in self.write_in:
            styles[column] = np.full(count, self.book.style_id(WRITE_HERE))
        # Formats are numbered now, before XlsxWriter writes the stylesheet; the rows when the book is saved.
        self._long.append(xlsx_rows.Rows(frame, self.rows + 1, styles, text_style=self.book.style_id(TEXT),
                                         date_style=self.book.style_id(DATE)))
        self.rows += count

    def append(self, values: Iterable, severity_column: int | None = None, severity: str | None = None,
               link_column: int | None = None, link: str | None = None) -> None:
        """One row; with a `link` (a path relative to the workbook), `link_column` links to it."""
        if self._long:
            raise ValueError("une ligne après un tableau long : elle serait écrite avant lui")
        values = list(values)
        row = self.rows  # counted from 0 by XlsxWriter: the row after the last one
        lines = 1
        if self.wrapped:  # spreadsheets do not size rows to wrapped text on opening: give each its height
            lines = max((_lines(values[i], self.widths[i]) for i in self.wrapped if i < len(values)), default=1)
        fill = SEVERITY_FILLS.get(severity)
        format_of = self.book.format
        for index, value in enumerate(values):
            value = _cell_value(value)
            # A wrapped column wraps even empty (what is typed there wraps); in a tall row every value
            # reads from the top, level with the wrapped texts.
            alignment = WRAP if index in self.wrapped else TOP if lines > 1 and value is not None else None
            own = TEXT if isinstance(value, str) and formula_like(value) else \
                DATE if isinstance(value, dt.date) else None
            cell_format = format_of(alignment, own, fill if index == severity_column else None,
                                    WRITE_HERE if index in self.write_in else None)
            if index == link_column and link is not None and value is not None:
                # XlsxWriter writes a relative path with backslashes: xlsx_rows.splice puts slashes back.
                self.sheet.write_url(row, index, f"external:{link}", format_of(alignment, LINK_FONT), value)
                self.linked = True
            elif value is None:
                if cell_format is not None:
                    self.sheet.write_blank(row, index, None, cell_format)
            elif isinstance(value, str):
                self.sheet.write_string(row, index, value, cell_format)
            elif isinstance(value, dt.date):
                self.sheet.write_datetime(row, index, value, cell_format)
            else:
                self.sheet.write_number(row, index, value, cell_format)
            # A text past Excel's 32,767 characters is cut by XlsxWriter (a cell of an export is cut at
            # 100,000 characters, with an input issue, by the loader).
        if lines > 1:
            self.sheet.set_row(row, min(lines * ROW_POINTS, MAX_ROW_POINTS))
        self.rows += 1

    @property
    def spliced(self) -> bool:
        return bool(self._long)

    def write_rows(self, out) -> None:
        """The long tables' rows, in order (see xlsx_rows.splice)."""
        for rows in self._long:
            rows.write(out)

    @property
    def dimension(self) -> str:
        """The sheet's extent, as its <dimension> element says it once the long tables are in."""
        return f"A1:{xl_col_to_name(self.width - 1)}{self.rows}"

    def choice_list(self, column: int, count: int, choices: list[str], title: str, prompt: str) -> None:
        """The `count` rows under the header, in `column`, take only one of `choices` (a drop-down list)."""
        first = self.header_row  # counted from 0: the row under the header
        self.sheet.data_validation(first, column, first + count - 1, column, {
            "validate": "list", "source": choices, "ignore_blank": True, "error_type": "stop", "error_title": title,
            "error_message": f"Choisir dans la liste : {', '.join(choices)}", "input_title": title,
            "input_message": prompt})

    def room(self) -> int:
        """How many more rows fit, the last one kept for a note on what did not (see left_out)."""
        return max(EXCEL_MAX_ROWS - self.rows - 1, 0)

    def left_out(self, count: int, what: str) -> None:
        """The note under a table cut at Excel's last row: how many `what` (plural) are not shown."""
        if count:
            note = (f"… et {french_number(count)} {what} de plus, au-delà de la dernière ligne qu'une feuille "
                    f"Excel peut contenir ({french_number(EXCEL_MAX_ROWS)}) : la liste complète est dans "
                    "findings.json")
            if self._long:  # after a long table, the note is one more of its rows
                self._long.append(xlsx_rows.Rows(pd.DataFrame({0: [note]}), self.rows + 1, {}, 0, 0))
                self.rows += 1
            else:
                self.append([note])

    def close(self):
        self.sheet.autofilter(self.header_row - 1, 0, max(self.rows, self.header_row + 1) - 1, self.width - 1)


def _cell_value(value):
    """What a cell holds for `value`: None (empty), a number, a date, or a text (booleans: oui / non)."""
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, (bool, np.bool_)):
        return "oui" if value else "non"
    if isinstance(value, numbers.Real):  # numpy's numbers too
        return value if math.isfinite(value) else None
    if isinstance(value, dt.date):
        return value
    return clean_text(str(value)) or None  # an empty text is an empty cell


def _lines(value, width: int) -> int:
    """Lines a text takes in a column `width` characters wide, wrapped."""
    if not isinstance(value, str) or not value:
        return 1
    per_line = max(width * 1.1, 1)  # a column of width w holds a little more than w average characters
    return sum(max(1, math.ceil(len(line) / per_line)) for line in value.split("\n"))


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
