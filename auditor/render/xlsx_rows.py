"""A long table's rows as SpreadsheetML, built column by column in Arrow.

XlsxWriter, as any writer, makes an object per cell and writes it, a few
microseconds each: a national findings sheet is 400,000 rows of 13 cells. Here
each column becomes an array of `<c>` elements in a few vectorised passes
(escaping, whitespace, styles), joined into `<row>` elements, and the rows are
spliced into the sheet XlsxWriter wrote (its title and header), `splice`. The
cells are the ones xlsx_sheet.Sheet.append writes for the same values (inline
strings instead of shared ones, numbers, date serials), which
tests/test_xlsx_rows.py checks by reading both.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Callable, Sequence
from zipfile import ZIP_DEFLATED, ZipFile

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from xlsxwriter.utility import xl_col_to_name

from ..inputs.cells import EXCEL_EPOCH

# zlib's fastest level: a national findings sheet is 600 MB of XML, deflated in 2 s instead of 4 s
# at the default level, for a file a third larger.
COMPRESSION = 1
CHUNK_ROWS = 50_000  # rows built at once: bounds the memory of the intermediate arrays
# Text a spreadsheet would take for a formula: stored as text, with the quote prefix.
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
FORMULA_START = "^[" + re.escape("".join(FORMULA_TRIGGERS)) + "]"  # the same, as a pattern
# Excel's error codes: a text equal to one is kept as text, quote prefixed.
ERROR_CODES = ("#NULL!", "#DIV/0!", "#VALUE!", "#REF!", "#NAME?", "#NUM!", "#N/A")
# Characters XML 1.0 cannot hold (control characters but tab, line feed and carriage return): dropped.
ILLEGAL_CHARACTERS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f]")
DIMENSION = re.compile(rb'<dimension ref="[^"]*"/>')
NULL = pa.scalar(None, pa.large_string())


def formula_like(text: str) -> bool:
    """Text a spreadsheet would take for a formula or an error code (#N/A): kept as text, quote prefixed."""
    return text.startswith(FORMULA_TRIGGERS) or text in ERROR_CODES


def clean_text(text: str) -> str:
    """`text` without the characters XML cannot hold."""
    return ILLEGAL_CHARACTERS.sub("", text)


def typed_column(values: Sequence) -> pd.Series:
    """A column for `Rows`, typed as xlsx_sheet.Sheet.append writes its values: numbers, dates, or text."""
    column = pd.Series(values, dtype=object)
    kind = pd.api.types.infer_dtype(column, skipna=True)
    if kind == "integer":
        return column.astype("Int64")
    if kind in ("floating", "mixed-integer-float"):
        return column.astype(float)
    if kind in ("date", "datetime"):
        return pd.to_datetime(column)
    if kind == "boolean":
        return column.astype("boolean")
    return column.map(lambda value: value if value is None or isinstance(value, str) else str(value)) \
        if kind not in ("string", "empty") else column


@dataclass
class Rows:
    """A table's rows, numbered from `first_row`: columns typed as typed_column makes them.

    Column kinds follow the dtypes: numbers (NaN/NA: empty), datetimes (dates with
    `date_style`), anything else text (None/NA: empty), with `text_style` (quote prefix)
    on texts a spreadsheet would take for a formula or an error code. `styles` maps a
    column position to a style id per row (0: none), such as a severity's fill.
    """

    frame: pd.DataFrame
    first_row: int
    styles: dict[int, np.ndarray]
    text_style: int
    date_style: int

    def write(self, out: BinaryIO) -> None:
        """The rows as `<row>` elements, built and written a chunk at a time."""
        for start in range(0, len(self.frame), CHUNK_ROWS):
            chunk = self.frame.iloc[start:start + CHUNK_ROWS]
            first = self.first_row + start
            numbers = pa.array(np.arange(first, first + len(chunk))).cast(pa.large_string())
            cells = []
            for position, (_, values) in enumerate(chunk.items()):
                style = self.styles.get(position)
                cells.append(_cells(values, xl_col_to_name(position), numbers,
                                    None if style is None else style[start:start + len(chunk)], self.text_style,
                                    self.date_style))
            _write_text(out, pc.binary_join_element_wise(_s('<row r="'), numbers, _s('">'), *cells, _s("</row>"),
                                                         _s("")))


def splice(source: BinaryIO, target: Path, rows: dict[str, Callable[[BinaryIO], None]],
           dimensions: dict[str, str], linked: set[str]) -> None:
    """Copy the workbook `source` to `target`, each sheet named in `rows` (its path in the package)
    with the rows its function writes added after the ones it has (a title, a header) and its
    extent set to `dimensions`' (readers size a sheet by it). In the relationships `linked` names,
    a relative path takes slashes: XlsxWriter writes Windows' backslashes, which Excel for Windows
    alone follows."""
    with ZipFile(source) as written, ZipFile(target, "w", ZIP_DEFLATED, allowZip64=True,
                                             compresslevel=COMPRESSION) as spliced:
        for info in written.infolist():
            data = written.read(info)
            if info.filename in linked:
                data = data.replace(b"\\", b"/")  # our links' paths hold no backslash of their own
            if info.filename not in rows:
                spliced.writestr(info.filename, data)
                continue
            head, end, tail = data.partition(b"</sheetData>")
            if not end:
                raise ValueError(f"{info.filename} : pas de lignes où ajouter celles du tableau")
            head = DIMENSION.sub(f'<dimension ref="{dimensions[info.filename]}"/>'.encode(), head, count=1)
            with spliced.open(info.filename, "w", force_zip64=True) as entry:
                entry.write(head)
                rows[info.filename](entry)
                entry.write(end + tail)


def _cells(values: pd.Series, letter: str, numbers: pa.Array, style: np.ndarray | None, text_style: int,
           date_style: int) -> pa.Array:
    """One column's `<c>` elements; an empty text where the cell is empty and unstyled."""
    if pd.api.types.is_bool_dtype(values.dtype):
        values = values.map({True: "oui", False: "non"})  # as xlsx_sheet.Sheet.append writes booleans
    if pd.api.types.is_datetime64_any_dtype(values.dtype):
        days = values.to_numpy(dtype="datetime64[D]") - np.datetime64(EXCEL_EPOCH.date(), "D")
        serials = days.astype("int64")
        content = pa.array(serials, mask=values.isna().to_numpy()).cast(pa.large_string())
        body = pc.binary_join_element_wise(_s("><v>"), content, _s("</v></c>"), _s(""))
        own_style = np.where(values.isna().to_numpy(), 0, date_style)
    elif pd.api.types.is_numeric_dtype(values.dtype):
        content = pa.array(values, from_pandas=True)
        if pa.types.is_floating(content.type):  # a whole float as Excel writes it: 3.0 as "3"
            whole = pc.equal(content, pc.trunc(content))
            content = pc.if_else(whole, pc.cast(content, pa.int64(), safe=False).cast(pa.large_string()),
                                 content.cast(pa.large_string()))
        body = pc.binary_join_element_wise(_s(' t="n"><v>'), content.cast(pa.large_string()), _s("</v></c>"),
                                           _s(""))
        own_style = np.zeros(len(values), dtype=np.int64)
    else:  # text: prepared once per distinct value (a rule's long texts repeat on every row)
        encoded = pc.dictionary_encode(pa.array(values.astype(object), type=pa.large_string(), from_pandas=True))
        bodies, quoted = _text_bodies(encoded.dictionary)
        body = bodies.take(encoded.indices)
        own_style = np.where(quoted.take(encoded.indices).fill_null(False).to_numpy(zero_copy_only=False),
                             text_style, 0)
    chosen = own_style if style is None else np.where(style > 0, style, own_style)
    style_attribute = pc.if_else(pa.array(chosen > 0), pc.binary_join_element_wise(
        _s(' s="'), pa.array(chosen).cast(pa.large_string()), _s('"'), _s("")), _s(""))
    styled_empty = pc.if_else(pa.array(chosen > 0), _s("/>"), NULL)
    cell = pc.binary_join_element_wise(_s(f'<c r="{letter}'), numbers, _s('"'), style_attribute,
                                       pc.coalesce(body, styled_empty), _s(""))
    return cell.fill_null("")


def _text_bodies(text: pa.Array) -> tuple[pa.Array, pa.Array]:
    """For each text, what follows `<c r="..."`, and whether it needs the quote prefix."""
    text = pc.replace_substring_regex(text, ILLEGAL_CHARACTERS.pattern, "")  # not allowed in XML
    quoted = pc.or_(pc.match_substring_regex(text, FORMULA_START),
                    pc.is_in(text, value_set=pa.array(ERROR_CODES, pa.large_string())))
    trimmed = pc.utf8_trim_whitespace(text)
    padded = pc.and_(pc.not_equal(text, trimmed), pc.not_equal(trimmed, _s("")))  # kept as they are
    escaped = text
    for character, entity in (("&", "&amp;"), ("<", "&lt;"), (">", "&gt;")):  # "&" first
        escaped = pc.replace_substring(escaped, character, entity)
    opening = pc.if_else(padded, _s(' t="inlineStr"><is><t xml:space="preserve">'), _s(' t="inlineStr"><is><t>'))
    body = pc.binary_join_element_wise(opening, escaped, _s("</t></is></c>"), _s(""))
    return pc.if_else(pc.equal(text, _s("")), NULL, body), quoted  # an empty text is an empty cell


def _s(text: str) -> pa.Scalar:
    """A text scalar of the arrays' type (Arrow functions do not mix string and large_string)."""
    return pa.scalar(text, pa.large_string())


def _write_text(out: BinaryIO, text: pa.Array) -> None:
    """The UTF-8 bytes of a string array's values, one after the other, as Arrow holds them."""
    offsets = np.frombuffer(text.buffers()[1], dtype=np.int64)[text.offset:text.offset + len(text) + 1]
    out.write(memoryview(text.buffers()[2])[offsets[0]:offsets[-1]])
