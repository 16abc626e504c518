"""A long table's rows are built by auditor/render/xlsx_rows.py: the same cells as XlsxWriter writes.

The same hostile table goes both ways (row by row through XlsxWriter, and column by column in
Arrow past WRAP_MAX_ROWS); openpyxl, python-calamine and LibreOffice read them back.
"""

import datetime as dt
import subprocess

import pytest
from openpyxl import load_workbook
from python_calamine import CalamineWorkbook

from auditor.render import xlsx_sheet
from auditor.render.xlsx_sheet import Book
from tests.test_rendering import SOFFICE

TEXTS = ["=1+1", "+33 6 12", "-", "@SOMME(A1)", "\tTAB", "#N/A", "a\x01b\x1fc", "<b>Tom & Jerry</b>",
         "  entouré  ", "   ", "", None, "Élodie ✔ « VT PH »", "deux\nlignes", "ordinaire", "é" * 300]
ROWS = 32  # every text twice


def _table():
    numbers = [n if n % 5 else None for n in range(ROWS)]
    dates = [dt.date(2026, 1 + n % 12, 1 + n % 28) if n % 4 else None for n in range(ROWS)]
    decimals = [n / 2 if n % 7 else None for n in range(ROWS)]
    flags = [bool(n % 2) if n % 3 else None for n in range(ROWS)]
    severities = [("error", "warning", "info", "unknown")[n % 4] for n in range(ROWS)]
    labels = [s.upper() for s in severities]
    return [labels, [TEXTS[n % len(TEXTS)] for n in range(ROWS)], numbers, dates, decimals, flags], severities


def _write(path, bulk: bool, monkeypatch):
    monkeypatch.setattr(xlsx_sheet, "WRAP_MAX_ROWS", 0 if bulk else 10_000)
    book = Book()
    sheet = xlsx_sheet.Sheet(book, "Table", [(name, 12) for name in ("Sévérité", "Texte", "Nombre", "Date",
                                                                      "Décimal", "Oui/non")],
                             scope="Région & co", as_of="01/11/2026", intro=["Titre"], rows=ROWS, write_in=[5])
    columns, severities = _table()
    sheet.append_table(columns, severity_column=0, severities=severities)
    sheet.left_out(7, "lignes")
    sheet.close()
    book.save(path)
    return path


def _cells(path):
    sheet = load_workbook(path)["Table"]
    return [[(c.value, c.data_type, c.fill.fgColor.rgb if c.fill.fill_type else None, c.quotePrefix,
              c.number_format, c.border.left.style) for c in row] for row in sheet.iter_rows()]


def test_a_long_table_reads_back_as_the_cells_written_row_by_row(tmp_path, monkeypatch):
    reference = _cells(_write(tmp_path / "lignes.xlsx", False, monkeypatch))
    path = _write(tmp_path / "bloc.xlsx", True, monkeypatch)
    written = _cells(path)
    assert len(written) == 3 + ROWS + 1  # title, blank line, header, the rows, the note
    # Texts compared as a spreadsheet shows them: openpyxl leaves Excel's escape of a carriage return
    # (_x000D_, in XlsxWriter's shared strings) as it is.
    assert [[cell[1:] for cell in row] for row in written] == [[cell[1:] for cell in row] for row in reference]
    assert [[cell[0] for cell in row] for row in written[3:]] == [[cell[0] for cell in row] for row in reference[3:]]
    # What the comparison covers: formulas kept as text with the quote prefix, fills, dates, frames.
    formula = next(row[1] for row in written if row[1][0] == "=1+1")
    assert formula[1:4] == ("s", None, True)
    assert {row[0][2] for row in written[3:-1]} == {"FFFFC7CE", "FFFFEB9C", "FFDDEBF7", None}
    assert any(row[3][4] == "DD/MM/YYYY" and isinstance(row[3][0], dt.datetime) for row in written)
    assert {row[5][5] for row in written[3:-1]} == {"thin"}  # the column to fill in is framed on every row
    assert written[-1][0][0].startswith("… et 7 lignes de plus")
    # A reader that sizes a sheet by its <dimension> (openpyxl read-only) reads every row.
    assert load_workbook(path, read_only=True)["Table"].max_row == len(written)


def test_links_to_the_bundles_are_relative_paths_with_slashes(tmp_path, monkeypatch):
    monkeypatch.setattr(xlsx_sheet, "WRAP_MAX_ROWS", 0)  # a long table with links is still written row by row
    book = Book()
    sheet = xlsx_sheet.Sheet(book, "Table", [("FINESS", 12), ("Lien", 12)], scope="Région", as_of="01/11/2026",
                             rows=3)
    links = ["etablissements/130000001_A.xlsx", None, "etablissements/130000003_C-D.xlsx"]
    sheet.append_table([["1", "2", "3"], [link and "ouvrir" for link in links]], link_column=1, links=links)
    sheet.close()
    book.save(tmp_path / "liens.xlsx")
    table = load_workbook(tmp_path / "liens.xlsx")["Table"]
    targets = {cell.coordinate: (cell.value, cell.hyperlink.target) for row in table.iter_rows() for cell in row
               if cell.hyperlink}
    assert targets == {"B2": ("ouvrir", links[0]), "B4": ("ouvrir", links[2])}
    assert table["B2"].font.underline == "single" and table["B3"].value is None


def test_a_short_table_wraps_long_texts_and_sizes_their_rows(tmp_path):
    book = Book()
    sheet = xlsx_sheet.Sheet(book, "Table", [("Nom", 12), ("Texte", 40)], scope="Région", as_of="01/11/2026",
                             rows=3)
    for values in (("a", "x" * 100), ("b", None), (None, "court")):
        sheet.append(values)
    sheet.close()
    book.save(tmp_path / "t.xlsx")
    table = load_workbook(tmp_path / "t.xlsx")["Table"]
    assert table.row_dimensions[2].height == 45  # 100 characters in a column 40 wide: three lines
    assert (table["A2"].alignment.vertical, table["B2"].alignment.wrap_text) == ("top", True)
    assert table.row_dimensions[3].height is None and table["A3"].alignment.vertical is None
    assert table["B3"].value is None and table["B3"].alignment.wrap_text  # what is typed there wraps
    assert table["A4"].value is None and table["B4"].value == "court"


def test_calamine_reads_the_bulk_table(tmp_path, monkeypatch):
    path = _write(tmp_path / "bloc.xlsx", True, monkeypatch)
    rows = CalamineWorkbook.from_path(str(path)).get_sheet_by_name("Table").to_python()
    body = rows[3:3 + ROWS]
    columns, _ = _table()
    # Characters XML cannot hold are dropped, and a blank text is an empty cell.
    assert [row[1] for row in body] == [
        "" if text is None or not text.strip() else text.replace("\x01", "").replace("\x1f", "")
        for text in columns[1]]
    assert [row[3] for row in body] == ["" if d is None else d for d in columns[3]]


@pytest.mark.skipif(not SOFFICE, reason="LibreOffice absent (apt-get install libreoffice-calc-nogui)")
def test_libreoffice_opens_the_bulk_table_with_its_texts_and_dates(tmp_path, monkeypatch):
    path = _write(tmp_path / "bloc.xlsx", True, monkeypatch)
    subprocess.run([SOFFICE, f"-env:UserInstallation=file://{tmp_path / 'profile'}", "--headless", "--convert-to",
                    "csv:Text - txt - csv (StarCalc):59,34,76", "--outdir", str(tmp_path), str(path)],
                   capture_output=True, timeout=300, check=True)
    text = (tmp_path / "bloc.csv").read_text(encoding="utf-8")
    assert "<b>Tom & Jerry</b>" in text and "=1+1" in text and "Élodie ✔ « VT PH »" in text
    assert "02/02/2026" in text  # row 1's date (2026-02-02) shown in the column's date format
    assert text.count("\n") >= 3 + ROWS


def test_a_very_long_establishment_name_is_cut_in_the_page_header_not_dropped(tmp_path):
    # A page header holds 255 characters: past them XlsxWriter would leave the whole header out.
    name = "Établissement & associés " * 20
    book = Book()
    sheet = xlsx_sheet.Sheet(book, "Table", [("Nom", 12)], scope=name, as_of="01/11/2026", rows=0)
    sheet.close()
    book.save(tmp_path / "t.xlsx")
    header = load_workbook(tmp_path / "t.xlsx")["Table"].oddHeader
    assert header.left.text.startswith("Établissement && associés") and header.left.text.endswith("…")
    assert header.right.text == "Situation au 01/11/2026"
