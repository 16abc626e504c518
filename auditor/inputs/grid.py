"""A grid: a table of text cells with the line number each row has in its file, whatever the format.

Every reader (CSV, XLSX, the national FINESS extract) returns grids. Its first rows (`head`)
are available at once, so that `load` can find the header; the rows under the header (`body`)
are read only then. Recognising headers and parsing values is `load`'s job.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd

from ..model.frames import TEXT
from ..model.issues import InputIssue
from ..model.text import fold

HEAD_ROWS = 20  # the header is looked for in the first rows
MAX_CELL_CHARS = 100_000  # longer cells are cut (and reported) by the loader
SCAN_BLOCK = 1 << 24  # bytes looked at together by the whole-file scans (numpy's temporary arrays stay small)


@dataclass
class Body:
    """The rows under the header: text cells by position (0, 1, …; NA where a row is short)."""

    cells: pd.DataFrame
    lines: np.ndarray  # line number of each row in the file
    # False when the whole file was found free of control characters: no cell needs looking at.
    controls: bool = True
    # When the reader counted them: the line breaks of each cell, by position of the columns holding some.
    line_breaks: dict[int, np.ndarray] | None = None


@dataclass
class Grid:
    """One table of text cells as found in a file or a sheet."""

    path: Path
    head: list[list[str]]  # the first rows, to find the header in
    head_lines: list[int]
    description: str  # the format: "CSV UTF-8, séparateur point-virgule", "XLSX"
    read_body: Callable[[int], Body]  # rows under the header at this index of `head`
    issues: list[InputIssue] = field(default_factory=list)
    sheet: str | None = None  # a workbook's sheet name: may hold a person's name, kept out of logs
    hidden: bool = False
    finess_extract: bool = False  # the national FINESS extract as published (see finess_extract.py)

    @property
    def label(self) -> str:
        """The description with the sheet, for people: "XLSX, feuille « Comptes »"."""
        return f"{self.description}, feuille « {self.sheet} »" if self.sheet is not None else self.description


def count_known(cells: list[str], known_headers: frozenset[str]) -> int:
    return sum(1 for cell in cells if fold(cell) in known_headers)


def body_from_rows(rows: list[list], lines: list[int]) -> Body:
    width = max(map(len, rows), default=0)
    padded = [row + [None] * (width - len(row)) if len(row) < width else row for row in rows]
    cells = pd.DataFrame(padded, columns=range(width), dtype=object)
    return Body(cells.astype(TEXT) if len(cells.columns) else cells, np.asarray(lines, dtype=np.int64))
