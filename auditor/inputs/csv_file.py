"""CSV files to grids: encoding, separator, the rows under the header (Arrow's reader, or the csv
module for irregular files), and the checks a CSV alone needs (swallowed lines, control characters).
"""

from __future__ import annotations

import codecs
import csv
import io
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from ..model.frames import TEXT, longer_than
from ..model.issues import AuditError, InputIssue
from .grid import HEAD_ROWS, SCAN_BLOCK, Body, Grid, body_from_rows, count_known

SEPARATORS = (";", ",", "|", "\t")
SEPARATOR_NAMES = {";": "point-virgule", ",": "virgule", "|": "barre verticale", "\t": "tabulation",
                   ":": "deux-points"}
HEAD_CHARS = 1 << 20  # where the first rows are read from first
MAX_CSV_FIELD_CHARS = 16 * 1024 * 1024  # past this a CSV is refused as unreadable (see README)
UTF8 = "UTF-8"
_UTF8_MULTIBYTE = re.compile(rb"[\xc2-\xf4][\x80-\xbf]+")


def decode(path: Path, data: bytes) -> tuple[str, str, list[InputIssue]]:
    for bom in (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE):
        if data.startswith(bom):
            return _utf16(path, data, "utf-16", "UTF-16")
    if b"\x00" in data[:8192]:
        # UTF-16 without a BOM: text whose every other byte is zero (ASCII letters), not a binary file.
        sample = data[:8192]
        for encoding, zeros in (("utf-16-le", sample[1::2]), ("utf-16-be", sample[0::2])):
            if zeros.count(0) > 0.6 * len(zeros):
                return _utf16(path, data, encoding, "UTF-16 sans BOM")
        raise AuditError(f"{path} : fichier binaire, ni CSV ni XLSX")
    try:
        # The first bytes first: a failed decode of the whole file still costs its size (0.1 s nationally).
        codecs.getincrementaldecoder("utf-8-sig")().decode(data[:UTF8_PROBE_BYTES], final=False)
        return data.decode("utf-8-sig"), UTF8, []
    except UnicodeDecodeError:
        pass
    if not _holds_utf8_sequence(data):
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


def _utf16(path: Path, data: bytes, encoding: str, label: str) -> tuple[str, str, list[InputIssue]]:
    """UTF-16 text; a file cut in the middle of a character, or holding half of a surrogate pair, is read
    all the same: each character that cannot be is replaced by « \ufffd » and its line reported."""
    try:
        return data.decode(encoding), label, []
    except UnicodeDecodeError:
        pass
    text = data.decode(encoding, errors="replace")
    lines = sorted({text.count("\n", 0, match.start()) + 1 for match in re.finditer("\ufffd", text)})
    return text, label, [InputIssue(str(path), line, None, "caractère UTF-16 illisible (fichier coupé au milieu "
                                    "d'un caractère, ou moitié de paire de substitution) remplacé par « \ufffd » : "
                                    "ligne à vérifier", "warning") for line in lines]


UTF8_PROBE_BYTES = 1 << 16


def _holds_utf8_sequence(data: bytes, block: int = SCAN_BLOCK) -> bool:
    """Whether some bytes read as a UTF-8 character of several bytes (_UTF8_MULTIBYTE): a lead byte
    0xC2-0xF4 before a continuation byte 0x80-0xBF.

    numpy finds the continuation bytes, then looks at the byte before each: 0.07 s on a national
    export whatever its text, without holding the interpreter (the other file read meanwhile goes
    on). The pattern searched through every byte took 0.6 s, which a Windows-1252 export full of
    ’ « » ° (all continuation bytes) paid.
    """
    codes = np.frombuffer(data, dtype=np.uint8)
    for start in range(0, len(codes), block):
        part = codes[start:start + block + 1]  # one byte more: a character across two blocks
        follows = np.flatnonzero((part[1:] & 0xC0) == 0x80)  # positions in `part` of the byte before
        if ((part[follows] - np.uint8(0xC2)) <= 0xF4 - 0xC2).any():
            return True
    return False


def _sniff_separator(text: str, known: frozenset[str]) -> tuple[str, int]:
    """Separator that splits the first lines into the most recognised headers.

    Returns the separator and how many leading lines to skip (Excel's "sep=;").
    """
    end = text.find("\n")
    first_line = (text if end < 0 else text[:end]).strip()  # not text.split(): it copies the whole text
    if first_line.lower().startswith("sep=") and len(first_line) == 5:
        if first_line[4] not in SEPARATOR_NAMES:
            raise AuditError(f"ligne 1 « {first_line} » : séparateur non pris en charge (séparateurs : "
                             f"{', '.join(SEPARATOR_NAMES.values())})")
        return first_line[4], 1
    head = _first_lines(text, HEAD_ROWS)
    best = (-1, 0, ";")
    for sep in SEPARATORS:
        rows = list(csv.reader(head, delimiter=sep))
        score = max((count_known(row, known) for row in rows), default=0)
        width = max((len(row) for row in rows), default=0)
        best = max(best, (score, width, sep))
    return best[2], 0


def _first_lines(text: str, count: int) -> list[str]:
    """The first `count` lines, however long, without splitting (or copying) the whole text."""
    lines, start = [], 0
    while len(lines) < count and start < len(text):
        end = text.find("\n", start)
        end = len(text) if end < 0 else end
        lines.extend(text[start:end].splitlines() or [""])  # a file of bare \r line ends is one chunk
        start = end + 1
    return lines[:count]


def read_csv(path: Path, text: str, encoding: str, issues: list[InputIssue], known: frozenset[str],
              utf8: bytes | None) -> Grid:
    """The CSV's grid; `utf8`: the file's bytes when they are `text` in UTF-8."""
    separator, skip = _sniff_separator(text, known)
    csv.field_size_limit(MAX_CSV_FIELD_CHARS)
    # The first rows from the file's first megabyte (a StringIO of the whole text copies it: a
    # second on a national export); the whole text only if they do not fit in it.
    long_text = len(text) > HEAD_CHARS
    try:
        head, head_lines = _head(path, text[:HEAD_CHARS] if long_text else text, separator, skip)
    except AuditError:
        if not long_text:
            raise
        head = []  # a quoted field cut at the end of the first megabyte: read from the whole text
    if len(head) <= HEAD_ROWS + 1 and long_text:
        head, head_lines = _head(path, text, separator, skip)
    head, head_lines = head[:HEAD_ROWS + 1], head_lines[:HEAD_ROWS + 1]  # the last one read may be cut

    def read_body(header_index: int) -> Body:
        after = header_index + 1
        if after >= len(head):  # nothing under the header
            return Body(pd.DataFrame(), np.array([], dtype=np.int64))
        fast = _arrow_body(text, utf8, separator, skip + after, len(head[header_index]), head_lines[after])
        body = fast if fast is not None else _python_body(path, text, separator, skip, after)
        _check_swallowed_lines(path, body, separator, len(head[header_index]), head[header_index])
        return body

    description = f"CSV {encoding}, séparateur {SEPARATOR_NAMES[separator]}"
    return Grid(path, head[:HEAD_ROWS], head_lines[:HEAD_ROWS], description, read_body, issues)


def _head(path: Path, text: str, separator: str, skip: int) -> tuple[list[list[str]], list[int]]:
    """Up to HEAD_ROWS + 2 records after the `skip` lines, with the line each starts on."""
    head, head_lines = [], []
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=separator)
    start = 1
    try:
        for record in reader:
            if reader.line_num > skip:
                head.append(record)
                head_lines.append(start)
            start = reader.line_num + 1
            if len(head) > HEAD_ROWS + 1:
                break
    except csv.Error as exc:
        raise AuditError(f"{path}, ligne {start} : CSV illisible ({exc})") from None
    return head, head_lines


def _check_swallowed_lines(path: Path, body: Body, separator: str, width: int, header: list[str]) -> None:
    """A quote opening a field and never closing it swallows the lines after it into one cell.

    A cell holding line breaks is legitimate (roles one per line); one whose later lines each look
    like a whole row (as many separators as the header, nearly) is the lines of other accounts:
    the file is refused with the line to correct, rather than audited without them.
    """
    enough = max(2, width - 2)
    counted = body.line_breaks
    for position in body.cells.columns if counted is None else counted:
        column = body.cells[position]
        if counted is None:
            breaks = column.str.contains("\n", regex=False).fillna(False).to_numpy(dtype=bool)
        else:
            breaks = counted[position]
        broken = column.iloc[np.flatnonzero(breaks)]
        # Only a cell holding as many separators as a row, at least, can hold a row: counted in the cells
        # with a line break only (roles one per line: a third of a national export's).
        separators = pc.count_substring(pa.array(broken, type=pa.large_string(), from_pandas=True), separator)
        multiline = broken[separators.to_numpy(zero_copy_only=False) >= enough]
        if multiline.empty:
            continue
        # Each cell's lines after its first, counted in Arrow (a national export has 300,000 such cells).
        cells = pa.chunked_array([pa.array(multiline, type=pa.large_string(), from_pandas=True)]).combine_chunks()
        lines = pc.split_pattern(cells, "\n")  # one array: a big file's column comes in chunks
        offsets = lines.offsets.to_numpy()
        later = np.ones(offsets[-1], dtype=bool)
        later[offsets[:-1][np.diff(offsets) > 0]] = False
        whole_rows = (pc.count_substring(pc.list_flatten(lines), separator).to_numpy() >= enough) & later
        rows_inside = np.bincount(pc.list_parent_indices(lines).to_numpy()[whole_rows], minlength=len(multiline))
        if rows_inside.any():
            first = int(np.flatnonzero(rows_inside)[0])
            name = header[position] if position < len(header) else f"n° {position + 1}"
            line = int(body.lines[body.cells.index.get_loc(multiline.index[first])])
            raise AuditError(
                f"{path}, ligne {line}, colonne « {name} » : guillemet ouvrant jamais fermé ; les "
                f"{rows_inside[first]} lignes suivantes seraient lues comme une seule cellule : retirer ou "
                "doubler ce guillemet, puis relancer")


def _arrow_body(text: str, utf8: bytes | None, separator: str, skip_records: int, width: int,
                first_line: int) -> Body | None:
    """The rows under the header with Arrow's CSV reader (ten times the csv module's speed).

    Only for regular files: any row whose number of cells differs from the
    header's (blank lines, trailing separators) sends the file to the exact
    path, which reports each such row.

    A UTF-8 file is read from its own bytes (`utf8`): making them again from its text held the
    interpreter (0.2 to 0.6 s for a national export), while the other file read waited.
    """
    irregular = []

    def on_irregular(row):
        irregular.append(row)
        return "skip"

    names = [str(i) for i in range(width)]
    # Arrow need not check the UTF-8 again: Python decoded it, or made it.
    source = utf8 if utf8 is not None else text.encode("utf-8")
    try:
        table = pacsv.read_csv(
            pa.BufferReader(source),
            read_options=pacsv.ReadOptions(column_names=names, skip_rows=skip_records, block_size=1 << 24),
            parse_options=pacsv.ParseOptions(delimiter=separator, newlines_in_values=True, ignore_empty_lines=False,
                                              invalid_row_handler=on_irregular),
            convert_options=pacsv.ConvertOptions(column_types={n: pa.string() for n in names}, check_utf8=False,
                                                 strings_can_be_null=False, quoted_strings_can_be_null=False),
        )
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return None
    if irregular or any(longer_than(column, MAX_CSV_FIELD_CHARS) for column in table.columns):
        return None
    # A quoted line break makes a row span several lines of the file.
    breaks = np.zeros(table.num_rows, dtype=np.int64)
    line_breaks = {}
    for position, column in enumerate(table.columns):
        if not _holds_line_break(column):
            continue
        column_breaks = pc.count_substring(column, "\n").to_numpy(zero_copy_only=False)
        if column_breaks.any():
            breaks += column_breaks
            line_breaks[position] = column_breaks
    lines = first_line + np.arange(table.num_rows) + np.concatenate(([0], np.cumsum(breaks)[:-1]))
    cells = table.to_pandas(types_mapper={pa.string(): TEXT}.get)
    cells.columns = range(width)
    return Body(cells, lines.astype(np.int64), _holds_controls(source, text), line_breaks)


def _holds_line_break(column: pa.ChunkedArray) -> bool:
    """Whether a line break may be in some cell: the column's character data is searched in one
    pass by numpy (no copy, nor the interpreter held), not cell by cell. A chunk's data may go past
    its cells: then this says "may"."""
    return any((np.frombuffer(chunk.buffers()[2], dtype=np.uint8) == ord("\n")).any()
               for chunk in column.chunks if chunk.buffers()[2] is not None)


# The control characters the loader removes from cells: tab and \n (roles one per line) stay; the line
# separators other than \n that some readers break rows on (NEL, U+2028, U+2029) go.
_ONE_BYTE_CONTROLS = r"\x00-\x08\x0b\x0c\x0e-\x1f\x7f"  # escapes, read by the pattern engines
_WIDE_CONTROLS = "\x85\u2028\u2029"
CONTROL_CHARACTERS = re.compile(f"[{_ONE_BYTE_CONTROLS}{_WIDE_CONTROLS}]")
# Every byte but the one-byte controls: deleted, to see whether any of those is left.
_OTHER_BYTES = bytes(b for b in range(256) if b > 0x7F or not CONTROL_CHARACTERS.match(chr(b)))


def _holds_controls(encoded: bytes, text: str) -> bool:
    """Whether a control character is anywhere in the file: one pass over its bytes (0.1 s for
    a national export, where a pattern searched in each column took 1.2 s)."""
    return bool(encoded.translate(None, _OTHER_BYTES)) or any(c in text for c in _WIDE_CONTROLS)


def _python_body(path: Path, text: str, separator: str, skip: int, after: int) -> Body:
    """The rows under the header with the csv module: slower, exact for any shape of row."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=separator)
    rows, lines, start, record = [], [], 1, 0
    try:
        for cells in reader:
            if reader.line_num > skip:
                if record >= after:
                    rows.append(cells)
                    lines.append(start)
                record += 1
            start = reader.line_num + 1
    except csv.Error as exc:
        raise AuditError(f"{path}, ligne {start} : CSV illisible ({exc})") from None
    return body_from_rows(rows, lines)
