"""The rows under a header, as a frame of text named by canonical columns.

Every row under the header ends up in the frame or in an input issue: blank lines, a header
repeated (exports pasted together, also in another column order), cells beyond the named
columns. Every test is a column operation: a national export has a million rows, and only the
few rows that need an issue are visited one by one.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa

from ..config.catalogue import KindSpec
from ..model.frames import TEXT, longer_than
from ..model.issues import InputIssue
from ..model.text import french_number, plural
from .csv_file import CONTROL_CHARACTERS
from .grid import MAX_CELL_CHARS, Grid
from .header import map_headers, missing_columns, present_columns


@dataclass
class _Segment:
    """Rows read with one header: the file's, or a header repeated in another column order below it."""

    start: int  # first row position in the body (the repeated header's own row excluded)
    header: list[str]
    mapping: dict[str, int]


@dataclass
class _Scan:
    """What each row of the body is, found column by column."""

    blank: np.ndarray  # no cell filled
    repeated: np.ndarray  # the header again, in its own order
    header_like: np.ndarray  # how many cells hold a known header name
    filled: dict[int, np.ndarray]  # by column position: which cells are filled


def data_rows(path: Path, grid: Grid, header_index: int, spec: KindSpec):
    """The rows under the header as a frame of text; blank, repeated-header and odd rows reported.

    Two exports pasted together may repeat the header in another column order: the rows under
    it are read with its own mapping. Returns the frame, the issues and each column's header as
    written.
    """
    file = str(path)
    header = grid.head[header_index]
    mapping, issues = map_headers(path, header, grid.head_lines[header_index], spec)
    body = grid.read_body(header_index)
    cells, lines = body.cells, body.lines
    scan = _scan(cells, header, mapping, spec)
    for line in lines[scan.repeated]:
        issues.append(InputIssue(file, int(line), None, "en-tête répété (fichiers mis bout à bout) : ligne ignorée",
                                 "info", dropped_rows=1))
    drop = scan.repeated | scan.blank
    segments = _segments(path, cells, lines, spec, _Segment(0, header, mapping), scan, drop, issues)
    ends = [segment.start for segment in segments[1:]] + [len(cells)]
    _report_stray_cells(file, cells, lines, segments, ends, scan, drop, issues)
    blank_lines = lines[scan.blank] if len(scan.blank) else []
    if len(blank_lines):
        shown = ", ".join(map(str, blank_lines[:10])) + ("…" if len(blank_lines) > 10 else "")
        ignored = plural(len(blank_lines), "ligne vide ignorée", "lignes vides ignorées")
        issues.append(InputIssue(file, int(blank_lines[0]), None, f"{ignored} : {shown}", "info",
                                 dropped_rows=len(blank_lines)))
    labels = {}
    for segment in reversed(segments):  # the file's own header names a column first
        labels.update({name: segment.header[position] for name, position in segment.mapping.items()})
    frame = _assemble(cells, segments, ends, drop, labels)
    kept_lines = lines[~drop] if len(cells) else lines
    _clean_cells(file, frame, labels, kept_lines, body.controls, issues)
    if frame.empty:
        issues.append(InputIssue(file, None, None, "aucune ligne de données sous l'en-tête", "warning"))
    # One name for every row: a category (a national file's path repeated a million times took 60 MB).
    frame["source_file"] = pd.Categorical.from_codes(np.zeros(len(frame), dtype=np.int8), categories=[file])
    frame["source_line"] = kept_lines
    return frame, issues, labels


def _scan(cells: pd.DataFrame, header: list[str], mapping: dict[str, int], spec: KindSpec) -> _Scan:
    """Blank rows, rows repeating the header, and cells holding a header's name, each column stripped once."""
    known_forms = {*(cell.strip() for cell in header), *(n for c in spec.columns.values() for n in (c.label, *c.names))}
    known_forms |= {form.lower() for form in known_forms} | {form.upper() for form in known_forms}
    used = sorted(mapping.values())
    blank = pd.Series(True, index=cells.index)
    # A row repeats the header when every named column holds its header's text again.
    repeated = pd.Series(bool(used) and all(p in cells for p in used), index=cells.index)
    header_like = np.zeros(len(cells), dtype=np.int64)
    filled = {}
    for position in cells.columns:
        text = cells[position].str.strip().fillna("")
        filled[position] = text.ne("").to_numpy()
        blank &= ~filled[position]
        if position in mapping.values():
            repeated &= text.eq(header[position].strip())
        header_like += text.isin(known_forms).to_numpy()
    repeated &= ~blank
    return _Scan(blank.to_numpy(), repeated.to_numpy(), header_like, filled)


def _segments(path: Path, cells: pd.DataFrame, lines: np.ndarray, spec: KindSpec, first: _Segment, scan: _Scan,
              drop: np.ndarray, issues: list[InputIssue]) -> list[_Segment]:
    """The file's header, then each header repeated below it in another column order (its own row
    dropped; a repeated header that lacks a required column drops its rows too, reported)."""
    file = str(path)
    headers = []  # rows that hold the header again, in another column order: (row, cells)
    for row in np.flatnonzero((scan.header_like >= 2) & ~drop):
        row_cells = ["" if pd.isna(value) else str(value) for value in cells.iloc[row]]
        if len(present_columns(row_cells, spec)) >= max(2, len(first.mapping) // 2):
            headers.append((row, row_cells))
    segments = [first]
    for number, (row, row_cells) in enumerate(headers):
        line = int(lines[row])
        new_mapping, mapping_issues = map_headers(path, row_cells, line, spec)
        missing = missing_columns(spec, set(new_mapping))
        if missing:  # its rows cannot be mapped: reported, never read with another header's columns
            end = headers[number + 1][0] if number + 1 < len(headers) else len(cells)
            kept_below = int((~drop[row + 1:end]).sum())
            drop[row:end] = True
            issues.append(InputIssue(file, line, None, "en-tête répété incomplet (" + " ; ".join(missing) + ") : "
                                     f"{plural(kept_below, 'ligne suivante ignorée', 'lignes suivantes ignorées')}",
                                     "error", dropped_rows=kept_below + 1))
            continue
        drop[row] = True
        issues.extend(mapping_issues)
        issues.append(InputIssue(file, line, None, "en-tête répété dans un autre ordre de colonnes (fichiers mis "
                                 "bout à bout) : les lignes suivantes sont lues selon cet en-tête", "info",
                                 dropped_rows=1))
        segments.append(_Segment(row + 1, row_cells, new_mapping))
    return segments


def _report_stray_cells(file: str, cells: pd.DataFrame, lines: np.ndarray, segments: list[_Segment],
                        ends: list[int], scan: _Scan, drop: np.ndarray, issues: list[InputIssue]) -> None:
    """Cells filled beyond a segment's named columns (or under a blank header): ignored, reported per row."""
    for segment, end in zip(segments, ends):
        width = len(segment.header)
        stray = [p for p in cells.columns if p >= width or not segment.header[p].strip()]
        if not stray:
            continue
        overflow = sum(scan.filled[p][segment.start:end].astype(np.int64) for p in stray)
        kept = (overflow > 0) & ~drop[segment.start:end]
        for line, count in zip(lines[segment.start:end][kept], overflow[kept]):
            cells_text = plural(int(count), "cellule hors des colonnes nommées", "cellules hors des colonnes nommées")
            issues.append(InputIssue(file, int(line), None, f"{cells_text} : {'ignorées' if count > 1 else 'ignorée'}",
                                     "warning"))


def _assemble(cells: pd.DataFrame, segments: list[_Segment], ends: list[int], drop: np.ndarray,
              labels: dict[str, str]) -> pd.DataFrame:
    """The kept rows of every segment, under the canonical names (a column a segment lacks is empty)."""
    parts = []
    for segment, end in zip(segments, ends):
        keep = ~drop[segment.start:end]
        part = pd.DataFrame(index=pd.RangeIndex(int(keep.sum())))
        for name in labels:
            position = segment.mapping.get(name)
            if position is None or position not in cells:
                part[name] = pd.Series("", index=part.index, dtype=TEXT)
                continue
            column = cells[position].iloc[segment.start:end]
            column = column if keep.all() else column[keep]  # a filter copies every string: only when needed
            column = column.astype(TEXT)  # stays Arrow: no copy to objects
            part[name] = (column.fillna("") if column.hasnans else column).reset_index(drop=True)
        parts.append(part)
    return pd.concat(parts, ignore_index=True) if len(parts) > 1 else parts[0].reset_index(drop=True)


def _clean_cells(file: str, frame: pd.DataFrame, labels: dict[str, str], kept_lines: np.ndarray,
                 controls: bool, issues: list[InputIssue]) -> None:
    """Cut the very long cells and remove control characters, each reported with its line and column."""
    for name in labels:
        if len(frame) and longer_than(pa.array(frame[name].array), MAX_CELL_CHARS):
            too_long = frame[name].str.len().gt(MAX_CELL_CHARS).fillna(False)
            for index in frame.index[too_long]:  # only the rare long cells are visited
                length = french_number(len(frame.at[index, name]))
                issues.append(InputIssue(file, int(kept_lines[index]), labels[name],
                                         f"cellule très longue ({length} caractères) : "
                                         f"tronquée à {french_number(MAX_CELL_CHARS)}", "warning"))
            frame.loc[too_long, name] = frame.loc[too_long, name].str.slice(0, MAX_CELL_CHARS)
        if not controls:  # the reader found none in the whole file
            continue
        # Control characters (NUL, ESC…) would reach the reports raw: XML refuses them, a terminal obeys them.
        controlled = frame[name].str.contains(CONTROL_CHARACTERS.pattern, regex=True).fillna(False)
        if controlled.any():
            frame.loc[controlled, name] = frame.loc[controlled, name].str.replace(
                CONTROL_CHARACTERS.pattern, "", regex=True)
            for index in frame.index[controlled]:
                issues.append(InputIssue(file, int(kept_lines[index]), labels[name],
                                         "caractère de contrôle (invisible) retiré", "warning",
                                         frame.at[index, name]))
