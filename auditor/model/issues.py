"""The errors that stop a run, and the input issues that don't."""

from __future__ import annotations

from dataclasses import dataclass


class AuditError(Exception):
    """Unusable input, rules or usage: the CLI prints it as one French line, exit 2.

    The message is the user's: it names the file (and line, column, rule code)
    so that the person who edits the file can find the problem.
    """


@dataclass(frozen=True)
class InputIssue:
    """A cell, row or file that could not be used as it is.

    `line` is the line in the file as a spreadsheet or a text editor shows it
    (1-based, header included); `column` is the header as written in the file.
    """

    file: str
    line: int | None
    column: str | None
    reason: str
    severity: str = "warning"  # "error": the row or value was not used at all
    value: str | None = None
    finess: str | None = None
    # Rows of the file this issue kept out of the tables (a dropped row, a run
    # of blank lines): rows used + the sum of these = the rows under the header.
    dropped_rows: int = 0

    def where(self) -> str:
        parts = [self.file]
        if self.line is not None:
            parts.append(f"ligne {self.line}")
        if self.column:
            parts.append(f"colonne « {self.column} »")
        return ", ".join(parts)
