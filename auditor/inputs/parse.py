"""Text to typed tables: each column parsed as headers.yaml says (`parser:`), every problem an issue."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pandas as pd

from ..config.catalogue import Catalogue
from ..model import records
from ..model.frames import TEXT
from ..model.issues import InputIssue
from . import cells

SOURCE_COLUMNS = ["source_file", "source_line"]


def _jobs(column: str, parser: str, catalogue: Catalogue, as_of: pd.Timestamp | None) -> dict[str, tuple]:
    """The output columns a column's `parser` makes: (its input column, the cell parser, its arguments)."""
    return {
        "text": {column: (column, cells.parse_text)},
        "finess": {column: (column, cells.parse_finess)},
        "rpps": {column: (column, cells.parse_rpps)},
        "email": {column: (column, cells.parse_email)},
        "date": {column: (column, cells.parse_dates, as_of)},
        "future_date": {column: (column, cells.parse_dates, None)},
        # The roles as a list, and whether the cell was filled: unknown roles are still roles.
        "roles": {column: (column, cells.parse_roles, catalogue), "roles_given": (column, cells.parse_filled)},
        # The status as written, and its state (active, archived…) from statuses.yaml.
        "status": {column: (column, cells.parse_text), "state": (column, cells.parse_states, catalogue)},
    }[parser]


PARALLEL_COLUMNS = 2  # columns of one file parsed at once (see parse_table)


def parse_table(
    kind: str,
    raw: pd.DataFrame,
    catalogue: Catalogue,
    as_of: pd.Timestamp | None,
    file_label: str,
    headers: dict[str, str] | None = None,
) -> tuple[pd.DataFrame, list[InputIssue]]:
    """Typed table of one kind from a frame of text with canonical column names.

    Columns the file lacks are added empty, so that rules see one shape. Used by
    the loader and by the rules' examples (which are written as such frames).
    """
    spec = catalogue.kinds[kind]
    headers = headers or {}
    frame = pd.DataFrame(index=raw.index)
    jobs = {}  # output column -> (input column, parser, its arguments); each distinct cell is parsed once
    for column, column_spec in spec.columns.items():
        jobs.update(_jobs(column, column_spec.parser, catalogue, as_of))

    absent = pd.Series(pd.NA, index=raw.index, dtype=TEXT)
    columns = {column: raw[column] if column in raw else absent for column, *_ in jobs.values()}
    # Columns are parsed two at a time: Arrow's kernels run without holding the interpreter, and the
    # accounts of a national export are still being parsed when the other files are done.
    with ThreadPoolExecutor(max_workers=PARALLEL_COLUMNS) as pool:
        parsed = dict(zip(jobs, pool.map(lambda job: cells.on_distinct(columns[job[0]], *job[1:]), jobs.values())))
    problems: dict[str, list[cells.Problems]] = {}  # by input column: "status" gives "status" and "state"
    for name, (column, *_) in jobs.items():
        frame[name], column_problems = parsed[name]
        problems.setdefault(column, []).extend(column_problems)
    if "last_name" in frame and "first_name" in frame:
        frame["name_key"] = cells.person_name_key(frame["last_name"], frame["first_name"])
    for column in SOURCE_COLUMNS:
        frame[column] = raw[column] if column in raw else pd.NA

    issues = []
    unusable = pd.Series(False, index=frame.index)
    for column, column_problems in problems.items():
        if column not in raw:
            continue  # an absent optional column is not a problem of each row
        for problem in column_problems:
            rows = problem.reasons.index
            if problem.severity == "error":
                unusable.loc[rows] = True
            issues.extend(_issues_for(frame, raw, rows, column, headers.get(column, column),
                                      problem.reasons, problem.severity, file_label))
    if kind == "accounts":
        no_id = frame["account_id"].isna() & ~unusable
        issues.extend(_issues_for(frame, raw, frame.index[no_id], "account_id",
                                  headers.get("account_id", "account_id"),
                                  pd.Series("identifiant absent : ligne ignorée", index=frame.index), "error",
                                  file_label))
        unusable |= no_id
    return (frame[~unusable] if unusable.any() else frame), issues


def _issues_for(frame, raw, rows, column, header, reasons, severity, file_label) -> list[InputIssue]:
    """One issue per row; an "error" issue is a row left out of the table."""
    if len(rows) == 0:
        return []
    dropped = 1 if severity == "error" else 0

    def values_of(table, name):  # plain Python values, None for NA: an Arrow column iterates slowly
        if name not in table:
            return [None] * len(rows)
        return table.loc[rows, name].astype(object).to_numpy(dtype=object, na_value=None).tolist()

    return records.from_columns(InputIssue, {
        "line": values_of(frame, "source_line"),
        "reason": reasons.loc[rows].astype(object).tolist(),
        "value": values_of(raw, column),
        "finess": values_of(frame, "finess"),
    }, file=file_label, column=header, severity=severity, dropped_rows=dropped)


