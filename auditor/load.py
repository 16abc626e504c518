"""Exports to typed tables: find the header, recognise the kind of file, parse the cells.

Every row of every file ends up either in a table or in an input issue that
says which file, line and column, and why. A required column that is missing
stops the run (AuditError) with the names the column may have.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from . import cells, rpps_directory
from .catalogue import Catalogue, KindSpec
from .errors import AuditError, InputIssue
from .frames import TEXT
from .progress import Progress, silent
from .read import HEAD_ROWS, MAX_CELL_CHARS, Grid, read_grids
from .text import fold, plural

log = logging.getLogger(__name__)

KINDS = ("accounts", "establishments", "staff")
INPUT_SUFFIXES = {".csv", ".txt", ".tsv", ".xlsx", ".xlsm"}
SOURCE_COLUMNS = ["source_file", "source_line"]


_CONTROL_CHARACTERS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")  # tab and line breaks stay


@dataclass
class SourceFile:
    path: str
    kind: str
    label: str  # the kind, in French
    description: str
    rows: int


# Tables that come from the history, not from an export: last month's campaign (see auditor/campaign).
HISTORY_TABLES = {
    "decisions": ("finess", "account_id", "decision", "answered_on"),  # the directors' latest answers
    "campaign": ("finess", "sent_on", "deadline", "answered"),  # each report sent, and whether it came back
}
_DATES = ("answered_on", "sent_on", "deadline")


def history_table(kind: str, rows) -> pd.DataFrame:
    """A table of HISTORY_TABLES from rows (dicts or tuples in its column order), typed."""
    columns = list(HISTORY_TABLES[kind])
    frame = pd.DataFrame(list(rows), columns=columns)
    for column in columns:
        if column in _DATES:
            frame[column] = pd.to_datetime(frame[column]).dt.normalize()
        elif column == "answered":
            frame[column] = frame[column].astype(str).str.lower().isin(("true", "1", "oui"))
        else:
            frame[column] = frame[column].astype(TEXT)
    return frame


def directory_table(rows: list[dict]) -> pd.DataFrame:
    """A directory table from rows with the names of rpps_directory.COLUMNS (the rule examples)."""
    frame = pd.DataFrame(rows, columns=list(rpps_directory.COLUMNS.values())).astype(TEXT)
    frame["name_key"] = cells.person_name_key(frame["last_name"], frame["first_name"])
    return frame


@dataclass
class Inputs:
    """The typed tables read from the exports, with what could not be used."""

    accounts: pd.DataFrame
    establishments: pd.DataFrame | None = None
    staff: pd.DataFrame | None = None
    decisions: pd.DataFrame | None = None  # from the history: see HISTORY_TABLES
    campaign: pd.DataFrame | None = None
    # Departments whose establishments without any account are audited (--departements); by default
    # the departments of the accounts' establishments.
    scope: frozenset[str] | None = None
    # The RPPS directory's activities kept (see rpps_directory.py): professions and places of work.
    directory: pd.DataFrame | None = None
    issues: list[InputIssue] = field(default_factory=list)
    sources: list[SourceFile] = field(default_factory=list)
    columns_present: dict[str, set[str]] = field(default_factory=dict)

    def has_column(self, kind: str, column: str) -> bool:
        return column in self.columns_present.get(kind, set())


def expand_paths(paths: list[Path]) -> list[Path]:
    """Files named, and the export files found in folders named (sorted, not recursive)."""
    files = []
    for path in map(Path, paths):
        if path.is_dir():
            found = sorted(
                p for p in path.iterdir()
                if p.is_file() and p.suffix.lower() in INPUT_SUFFIXES and not p.name.startswith(("~$", "."))
            )
            if not found:
                raise AuditError(f"{path} : aucun fichier CSV ou XLSX dans ce dossier")
            files.extend(found)
        elif path.is_file():
            files.append(path)
        else:
            raise AuditError(f"{path} : fichier ou dossier introuvable")
    return files


def load_inputs(
    paths: list[Path],
    catalogue: Catalogue,
    as_of: pd.Timestamp | None = None,
    forced_kinds: dict[Path, str] | None = None,
    progress: Progress = silent,
) -> Inputs:
    """Read every file; `forced_kinds` names the kind of files given by option."""
    forced_kinds = {Path(p): k for p, k in (forced_kinds or {}).items()}
    frames: dict[str, list[pd.DataFrame]] = {kind: [] for kind in KINDS}
    inputs = Inputs(accounts=pd.DataFrame())
    files = expand_paths([*paths, *forced_kinds])
    directories = []
    for path in progress(files, len(files), "lecture"):
        if path not in forced_kinds and rpps_directory.recognise(path):
            directories.append(path)  # read last: only the rows of what the other files name are kept
            continue
        kind, frame, issues, description = _load_file(path, catalogue, as_of, forced_kinds.get(path))
        log.info("%s : %s, %s, %d lignes", path.name, catalogue.kinds[kind].label, description, len(frame))
        frames[kind].append(frame)
        inputs.issues.extend(issues)
        inputs.sources.append(SourceFile(str(path), kind, catalogue.kinds[kind].label, description, len(frame)))
        inputs.columns_present.setdefault(kind, set()).update(frame.attrs["present"])
    if not frames["accounts"]:
        raise AuditError(
            "aucun fichier de comptes utilisateurs parmi les fichiers donnés "
            f"({', '.join(s.path for s in inputs.sources) or 'aucun'})"
        )
    inputs.accounts = _concat(frames["accounts"])
    if frames["establishments"]:
        inputs.establishments = _drop_duplicate_establishments(_concat(frames["establishments"]), inputs.issues)
    if frames["staff"]:
        inputs.staff = _concat(frames["staff"]).assign(from_directory=False)
    if directories:
        _add_directory(inputs, directories, catalogue.kinds["staff"])
    return inputs


def _add_directory(inputs: Inputs, paths: list[Path], staff_spec: KindSpec) -> None:
    """The RPPS directory: professions of the accounts' RPPS, and health professionals' places of work.

    Its activities in audited establishments join the staff table as a second source (they place
    people for ATT-01; being no complete list, they make nobody a leaver: see ATT-04).
    """
    places = set(inputs.accounts["finess"].dropna())
    for table in (inputs.establishments, inputs.staff):
        if table is not None:
            places |= set(table["finess"].dropna())
    rpps = set(inputs.accounts["rpps"].dropna())
    frames = []
    for path in paths:
        frame, rows = rpps_directory.read_directory(path, places, rpps)
        frames.append(frame)
        inputs.sources.append(SourceFile(str(path), "directory", rpps_directory.LABEL, rpps_directory.DESCRIPTION,
                                         rows))
        log.info("%s : %s, %d activités lues, %d gardées", path.name, rpps_directory.LABEL, rows, len(frame))
    inputs.directory = _concat(frames)
    here = inputs.directory[inputs.directory["finess"].isin(places)]
    staff = pd.DataFrame({column: pd.Series(pd.NA, index=here.index, dtype=TEXT) for column in staff_spec.columns})
    staff = staff.assign(finess=here["finess"], rpps=here["rpps"], last_name=here["last_name"],
                         first_name=here["first_name"], function=here["profession"], name_key=here["name_key"],
                         from_directory=True)
    inputs.staff = staff.reset_index(drop=True) if inputs.staff is None else pd.concat(
        [inputs.staff, staff], ignore_index=True)
    inputs.columns_present.setdefault("staff", set()).update({"finess", "rpps", "last_name", "first_name"})
    inputs.columns_present["directory"] = set(rpps_directory.COLUMNS.values())


def _concat(frames: list[pd.DataFrame]) -> pd.DataFrame:
    return pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0].reset_index(drop=True)


def _load_file(path: Path, catalogue: Catalogue, as_of, forced_kind: str | None):
    known = frozenset(h for spec in catalogue.kinds.values() for h in spec.header_lookup())
    grids = read_grids(path, known)
    grid, header_index, kind = _locate_table(path, grids, catalogue, forced_kind)
    spec = catalogue.kinds[kind]
    issues = list(grid.issues)
    if len(grids) > 1:
        issues.append(InputIssue(str(path), None, None, f"{grid.description} retenue "
                                 f"(le classeur a {len(grids)} feuilles)", "info"))
    header = grid.head[header_index]
    mapping, header_issues = _map_headers(path, grid, header_index, spec)
    issues.extend(header_issues)
    raw, skipped = _data_rows(path, grid, header_index, header, mapping)
    issues.extend(skipped)
    frame, cell_issues = parse_table(kind, raw, catalogue, as_of, str(path), {c: header[i] for c, i in mapping.items()})
    issues.extend(cell_issues)
    frame.attrs["present"] = set(mapping)
    return kind, frame, issues, grid.description


def _locate_table(path: Path, grids: list[Grid], catalogue: Catalogue, forced_kind: str | None):
    """The grid, header row and kind that best match the catalogue's headers.

    Kinds share many headers (Nom, FINESS, E-mail): a row is first judged by
    the headers only one kind knows (Rôles, Statut: accounts; Raison sociale:
    establishments), then by completeness, then by the number of headers.
    """
    lookups = {kind: frozenset(spec.header_lookup()) for kind, spec in catalogue.kinds.items()}
    kinds = [forced_kind] if forced_kind else list(KINDS)
    best = None
    for grid_order, grid in enumerate(grids):
        for row_index, row in enumerate(grid.head):
            folded = [fold(cell) for cell in row if cell.strip()]
            for kind in kinds:
                matches = sum(1 for cell in folded if cell in lookups[kind])
                if matches < 2:
                    continue
                others = [lookups[k] for k in KINDS if k != kind]
                specific = sum(1 for cell in folded if cell in lookups[kind] and not any(cell in o for o in others))
                complete = not _missing_columns(catalogue.kinds[kind], _present(row, catalogue.kinds[kind]))
                score = (specific, complete, matches, -grid_order, -row_index, -KINDS.index(kind))
                if best is None or score > best[0]:
                    best = (score, grid, row_index, kind)
    if best is None:
        expected = forced_kind or "comptes, établissements ou personnels"
        raise AuditError(
            f"{path} : aucune ligne d'en-tête reconnue dans les {HEAD_ROWS} premières lignes "
            f"(fichier attendu : {expected}) ; vérifiez le séparateur et les noms de colonnes"
        )
    _, grid, row_index, kind = best
    spec = catalogue.kinds[kind]
    missing = _missing_columns(spec, _present(grid.head[row_index], spec))
    if missing:
        line = grid.head_lines[row_index]
        raise AuditError(f"{path}, ligne {line} (en-têtes, fichier de {spec.label}) : " + " ; ".join(missing))
    return grid, row_index, kind


def _present(header: list[str], spec: KindSpec) -> set[str]:
    lookup = spec.header_lookup()
    return {lookup[f] for f in map(fold, header) if f in lookup}


def _missing_columns(spec: KindSpec, present: set[str]) -> list[str]:
    missing = []
    for column in spec.columns.values():
        if column.required and column.name not in present:
            missing.append(f"colonne obligatoire absente : « {column.label} » "
                           f"(noms acceptés : {', '.join(column.names)})")
    for group in spec.any_of:
        if not present.intersection(group):
            labels = " ou ".join(f"« {spec.columns[c].label} »" for c in group)
            missing.append(f"il faut au moins une colonne {labels}")
    return missing


def _map_headers(path: Path, grid: Grid, header_index: int, spec: KindSpec):
    """Canonical column -> position in the row; unknown or repeated headers are reported."""
    lookup = spec.header_lookup()
    line = grid.head_lines[header_index]
    mapping: dict[str, int] = {}
    issues = []
    for position, name in enumerate(grid.head[header_index]):
        canonical = lookup.get(fold(name))
        if not name.strip():
            continue  # a blank header; its cells are checked in _data_rows
        if canonical is None:
            issues.append(InputIssue(str(path), line, name, "colonne non reconnue : ignorée", "info"))
        elif canonical in mapping:
            first = grid.head[header_index][mapping[canonical]]
            issues.append(InputIssue(str(path), line, name, f"colonne en double avec « {first} » : "
                                     "seule la première est lue", "warning"))
        else:
            mapping[canonical] = position
    return mapping, issues


def _data_rows(path: Path, grid: Grid, header_index: int, header: list[str], mapping: dict[str, int]):
    """The rows under the header as a frame of text; blank, repeated-header and odd rows reported.

    Every test is a column operation: a national export has a million rows,
    and only the few rows that need an issue are visited one by one.
    """
    body = grid.read_body(header_index)
    cells, lines = body.cells, body.lines
    file = str(path)
    issues = []
    width = len(header)
    present = list(cells.columns)
    used = sorted(mapping.values())

    stray = [p for p in present if p >= width or not header[p].strip()]
    blank = pd.Series(True, index=cells.index)
    # A row repeats the header when every named column holds its header's text again.
    repeated = pd.Series(bool(used) and all(p in cells for p in used), index=cells.index)
    overflow = pd.Series(0, index=cells.index) if stray else None
    for position in present:  # each column stripped once
        text = cells[position].str.strip().fillna("")
        blank &= text.eq("")
        if position in mapping.values():
            repeated &= text.eq(header[position].strip())
        if position in stray:
            overflow += text.ne("").astype(int)
    repeated &= ~blank

    for line in lines[repeated.to_numpy()]:
        issues.append(InputIssue(file, int(line), None, "en-tête répété (fichiers mis bout à bout) : ligne ignorée",
                                 "info", dropped_rows=1))
    if overflow is not None:
        for line, count in zip(lines[(overflow > 0).to_numpy()], overflow[overflow > 0]):
            cells_text = plural(int(count), "cellule hors des colonnes nommées", "cellules hors des colonnes nommées")
            issues.append(InputIssue(file, int(line), None, f"{cells_text} : {'ignorées' if count > 1 else 'ignorée'}",
                                     "warning"))
    blank_lines = lines[blank.to_numpy()] if len(blank) else []
    if len(blank_lines):
        shown = ", ".join(map(str, blank_lines[:10])) + ("…" if len(blank_lines) > 10 else "")
        ignored = plural(len(blank_lines), "ligne vide ignorée", "lignes vides ignorées")
        issues.append(InputIssue(file, int(blank_lines[0]), None, f"{ignored} : {shown}", "info",
                                 dropped_rows=len(blank_lines)))

    keep = ~(blank | repeated).to_numpy() if len(cells) else np.array([], dtype=bool)
    frame = pd.DataFrame(index=pd.RangeIndex(int(keep.sum())))
    for name, position in sorted(mapping.items(), key=lambda item: item[1]):
        column = cells[position][keep] if position in cells else pd.Series(pd.NA, index=cells.index[keep])
        frame[name] = column.astype(TEXT).fillna("").reset_index(drop=True)  # stays Arrow: no copy to objects
    kept_lines = lines[keep]
    for name, position in mapping.items():
        too_long = frame[name].str.len().gt(MAX_CELL_CHARS).fillna(False)
        for index in frame.index[too_long]:  # only the rare long cells are visited
            issues.append(InputIssue(file, int(kept_lines[index]), header[position],
                                     f"cellule très longue ({len(frame.at[index, name])} caractères) : "
                                     f"tronquée à {MAX_CELL_CHARS}", "warning"))
        if too_long.any():
            frame.loc[too_long, name] = frame.loc[too_long, name].str.slice(0, MAX_CELL_CHARS)
        # Control characters (NUL, ESC…) would reach the reports raw: XML refuses them, a terminal obeys them.
        controlled = frame[name].str.contains(_CONTROL_CHARACTERS.pattern, regex=True).fillna(False)
        if controlled.any():
            frame.loc[controlled, name] = frame.loc[controlled, name].str.replace(
                _CONTROL_CHARACTERS.pattern, "", regex=True)
            for index in frame.index[controlled]:
                issues.append(InputIssue(file, int(kept_lines[index]), header[position],
                                         "caractère de contrôle (invisible) retiré", "warning",
                                         frame.at[index, name]))
    if frame.empty:
        issues.append(InputIssue(file, None, None, "aucune ligne de données sous l'en-tête", "warning"))
    frame["source_file"] = file
    frame["source_line"] = kept_lines
    return frame, issues


# Which parser each canonical column goes through.
_TEXT = ("civility", "last_name", "first_name", "function", "establishment_name", "unit", "name",
         "category", "department", "account_id", "finess_ej")


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
    problems: dict[str, list[cells.Problems]] = {}
    on_distinct = cells.on_distinct  # each distinct cell is parsed once: columns repeat a lot
    for column in spec.columns:
        values = raw[column] if column in raw else pd.Series(pd.NA, index=raw.index, dtype=TEXT)
        if column == "finess":
            frame[column], problems[column] = on_distinct(values, cells.parse_finess)
        elif column == "rpps":
            frame[column], problems[column] = on_distinct(values, cells.parse_rpps)
        elif column in ("email", "backup_email", "director_email"):
            frame[column], problems[column] = on_distinct(values, cells.parse_email)
        elif column in ("created_on", "last_login", "closed_on"):
            future_is_suspect = as_of if column != "closed_on" else None
            frame[column], problems[column] = on_distinct(values, cells.parse_dates, future_is_suspect)
        elif column == "roles":
            frame[column], problems[column] = on_distinct(values, cells.parse_roles, catalogue)
            frame["roles_given"] = cells.blank_to_na(values).notna().to_numpy()  # unknown roles are still roles
        elif column == "status":
            frame["status"], _ = on_distinct(values, cells.parse_text)
            frame["state"], problems[column] = on_distinct(values, cells.parse_states, catalogue)
        else:
            frame[column], _ = on_distinct(values, cells.parse_text)
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
    return frame[~unusable], issues


def _issues_for(frame, raw, rows, column, header, reasons, severity, file_label) -> list[InputIssue]:
    """One issue per row; an "error" issue is a row left out of the table."""
    if len(rows) == 0:
        return []
    dropped = 1 if severity == "error" else 0
    lines = frame.loc[rows, "source_line"]
    values = raw.loc[rows, column] if column in raw else pd.Series(pd.NA, index=rows)
    finess = frame.loc[rows, "finess"] if "finess" in frame else pd.Series(pd.NA, index=rows)
    return [
        InputIssue(file_label, None if pd.isna(line) else int(line), header, str(reason), severity,
                   None if pd.isna(value) else str(value), None if pd.isna(fin) else str(fin), dropped)
        for line, reason, value, fin in zip(lines, reasons.loc[rows], values, finess)
    ]


def _drop_duplicate_establishments(frame: pd.DataFrame, issues: list[InputIssue]) -> pd.DataFrame:
    repeated = frame["finess"].duplicated(keep="first") & frame["finess"].notna()
    for file, line, finess in frame.loc[repeated, ["source_file", "source_line", "finess"]].itertuples(index=False):
        issues.append(InputIssue(file, int(line), None, "établissement en double dans le référentiel : "
                                 "seule la première ligne est lue", "warning", None, finess, dropped_rows=1))
    return frame[~repeated].reset_index(drop=True)
