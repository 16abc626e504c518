"""Exports to typed tables: find the header, recognise the kind of file, parse the cells.

Every row of every file ends up either in a table or in an input issue that
says which file, line and column, and why. A required column that is missing
stops the run (AuditError) with the names the column may have.
"""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa

from ..config.catalogue import Catalogue, KindSpec
from ..model import records
from ..model.frames import TEXT, longer_than
from ..model.issues import AuditError, InputIssue
from ..model.progress import Progress, silent
from ..model.text import fold, plural
from . import cells, rpps_directory
from .csv_file import CONTROL_CHARACTERS
from .grid import HEAD_ROWS, MAX_CELL_CHARS, Grid
from .read import read_grids

log = logging.getLogger(__name__)

KINDS = ("accounts", "establishments", "staff")
INPUT_SUFFIXES = {".csv", ".txt", ".tsv", ".xlsx", ".xlsm"}
SOURCE_COLUMNS = ["source_file", "source_line"]



@dataclass
class SourceFile:
    path: str
    kind: str
    label: str  # the kind, in French
    description: str
    rows: int


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
    # The RPPS directory's activities kept (see rpps_directory.py): professions and places of work.
    directory: pd.DataFrame | None = None
    issues: list[InputIssue] = field(default_factory=list)
    sources: list[SourceFile] = field(default_factory=list)
    columns_present: dict[str, set[str]] = field(default_factory=dict)

    def has_column(self, kind: str, column: str) -> bool:
        return column in self.columns_present.get(kind, set())


def expand_paths(paths: list[Path]) -> tuple[list[Path], list[InputIssue]]:
    """Files named, and the export files found in folders named (sorted, not recursive).

    A link in a folder that leads nowhere (broken, or looping) is reported, not skipped in silence.
    """
    files, issues = [], []
    for path in map(Path, paths):
        if path.is_dir():
            try:
                entries = sorted(path.iterdir())
            except OSError as exc:
                raise AuditError(f"{path} : lecture impossible du dossier ({exc.strerror})") from None
            candidates = [p for p in entries
                          if p.suffix.lower() in INPUT_SUFFIXES and not p.name.startswith(("~$", "."))]
            for link in (p for p in candidates if p.is_symlink() and not p.exists()):
                issues.append(InputIssue(str(link), None, None, "lien symbolique cassé ou en boucle : fichier ignoré",
                                         "warning"))
            found = [p for p in candidates if p.is_file()]
            if not found:
                raise AuditError(f"{path} : aucun fichier CSV ou XLSX dans ce dossier")
            files.extend(found)
        elif path.is_file():
            files.append(path)
        else:
            raise AuditError(f"{path} : fichier ou dossier introuvable")
    return files, issues


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
    files, inputs.issues = expand_paths([*paths, *forced_kinds])
    # The RPPS directory is read last: only the rows of what the other files name are kept.
    directories = [path for path in files if path not in forced_kinds and rpps_directory.recognise(path)]
    readable = [path for path in files if path not in directories]
    # Two files at a time: Arrow parses and computes without holding the interpreter, so the staff
    # file is read while the accounts are (nationally 7.5 s -> 5.7 s). Results come in the files' order.
    pool = ThreadPoolExecutor(max_workers=READERS)
    try:
        loaded = pool.map(lambda path: _load_file(path, catalogue, as_of, forced_kinds.get(path)), readable)
        for path, (tables, issues) in zip(readable, progress(loaded, len(readable), "lecture")):
            inputs.issues.extend(issues)
            for kind, frame, grid in tables:
                # The format only: a sheet's name may be a person's, and logs hold no names.
                log.info("%s : %s, %s, %s", path.name, catalogue.kinds[kind].label, grid.description,
                         plural(len(frame), "ligne"))
                frames[kind].append(frame)
                inputs.sources.append(SourceFile(str(path), kind, catalogue.kinds[kind].label, grid.label,
                                                 len(frame)))
                inputs.columns_present.setdefault(kind, set()).update(frame.attrs["present"])
    finally:  # a file that cannot be read stops the run at once: the files not started are not read
        pool.shutdown(cancel_futures=True)
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


@dataclass
class _Table:
    """A table found in a file: a CSV, or one sheet of a workbook, with its header row and kind."""

    grid: Grid
    header_index: int
    kind: str
    score: tuple
    missing: list[str]


def _load_file(path: Path, catalogue: Catalogue, as_of, forced_kind: str | None):
    """Every table of one file: (kind, frame, grid) each, and the file's input issues."""
    known = frozenset(h for spec in catalogue.kinds.values() for h in spec.header_lookup())
    grids = read_grids(path, known)
    tables, issues = _locate_tables(path, grids, catalogue, forced_kind)
    loaded = []
    for table in tables:
        grid, header_index, spec = table.grid, table.header_index, catalogue.kinds[table.kind]
        issues.extend(grid.issues)
        raw, row_issues, labels = _data_rows(path, grid, header_index, spec)
        issues.extend(row_issues)
        frame, cell_issues = parse_table(table.kind, raw, catalogue, as_of, str(path), labels)
        issues.extend(cell_issues)
        frame.attrs["present"] = set(labels)
        loaded.append((table.kind, frame, grid))
    return loaded, issues


def _locate_tables(path: Path, grids: list[Grid], catalogue: Catalogue, forced_kind: str | None):
    """The tables to read: the CSV's, or every sheet with a complete header (visible sheets
    preferred to hidden ones of the same kind). The sheets left out are reported."""
    found = [(grid, _best_header(grid, catalogue, forced_kind)) for grid in grids]
    complete = [table for _, table in found if table is not None and not table.missing]
    if not complete:
        candidates = [table for _, table in found if table is not None]
        if not candidates:
            expected = forced_kind or "comptes, établissements ou personnels"
            raise AuditError(
                f"{path} : aucune ligne d'en-tête reconnue dans les {HEAD_ROWS} premières lignes "
                f"(fichier attendu : {expected}) ; vérifiez le séparateur et les noms de colonnes"
            )
        best = max(candidates, key=lambda table: table.score)
        line = best.grid.head_lines[best.header_index]
        where = f"{path}, {best.grid.label}" if best.grid.sheet is not None else str(path)
        raise AuditError(f"{where}, ligne {line} (en-têtes, fichier de {catalogue.kinds[best.kind].label}) : "
                         + " ; ".join(best.missing))
    visible_kinds = {table.kind for table in complete if not table.grid.hidden}
    chosen, issues = [], []
    for grid, table in found:
        if table is None:
            issues.append(InputIssue(str(path), None, None, f"{grid.label} : aucun en-tête reconnu, feuille ignorée",
                                     "info"))
        elif table.missing:
            issues.append(InputIssue(str(path), grid.head_lines[table.header_index], None,
                                     f"{grid.label} ignorée : " + " ; ".join(table.missing), "warning"))
        elif grid.hidden and table.kind in visible_kinds:
            issues.append(InputIssue(str(path), None, None, f"{grid.label} masquée ignorée : une feuille visible "
                                     f"de {catalogue.kinds[table.kind].label} est lue", "warning"))
        else:
            chosen.append(table)
    return chosen, issues


def _best_header(grid: Grid, catalogue: Catalogue, forced_kind: str | None) -> _Table | None:
    """The header row and kind that best match the catalogue's headers in this grid.

    Kinds share many headers (Nom, FINESS, E-mail): a row is first judged by
    the headers only one kind knows (Rôles, Statut: accounts; Raison sociale:
    establishments), then by completeness, then by the number of headers.
    """
    lookups = {kind: frozenset(spec.header_lookup()) for kind, spec in catalogue.kinds.items()}
    best = None
    for row_index, row in enumerate(grid.head):
        folded = [fold(cell) for cell in row if cell.strip()]
        for kind in [forced_kind] if forced_kind else KINDS:
            matches = sum(1 for cell in folded if cell in lookups[kind])
            if matches < 2:
                continue
            others = [lookups[k] for k in KINDS if k != kind]
            specific = sum(1 for cell in folded if cell in lookups[kind] and not any(cell in o for o in others))
            missing = _missing_columns(catalogue.kinds[kind], _present(row, catalogue.kinds[kind]))
            score = (specific, not missing, matches, -row_index, -KINDS.index(kind))
            if best is None or score > best.score:
                best = _Table(grid, row_index, kind, score, missing)
    return best


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


def _map_headers(path: Path, header: list[str], line: int, spec: KindSpec):
    """Canonical column -> position in the row; unknown or repeated headers are reported."""
    lookup = spec.header_lookup()
    mapping: dict[str, int] = {}
    issues = []
    for position, name in enumerate(header):
        canonical = lookup.get(fold(name))
        if not name.strip():
            continue  # a blank header; its cells are checked in _data_rows
        if canonical is None:
            issues.append(InputIssue(str(path), line, name, "colonne non reconnue : ignorée", "info"))
        elif canonical in mapping:
            first = header[mapping[canonical]]
            issues.append(InputIssue(str(path), line, name, f"colonne en double avec « {first} » : "
                                     "seule la première est lue", "warning"))
        else:
            mapping[canonical] = position
    return mapping, issues


@dataclass
class _Segment:
    """Rows read with one header: the file's, or a header repeated in another column order below it."""

    start: int  # first row position in the body (the repeated header's own row excluded)
    header: list[str]
    mapping: dict[str, int]


def _data_rows(path: Path, grid: Grid, header_index: int, spec: KindSpec):
    """The rows under the header as a frame of text; blank, repeated-header and odd rows reported.

    Two exports pasted together may repeat the header in another column order: the rows under
    it are read with its own mapping. Every test is a column operation: a national export has
    a million rows, and only the few rows that need an issue are visited one by one.
    Returns the frame, the issues and each column's header as written.
    """
    file = str(path)
    header = grid.head[header_index]
    mapping, issues = _map_headers(path, header, grid.head_lines[header_index], spec)
    body = grid.read_body(header_index)
    cells, lines = body.cells, body.lines
    present = list(cells.columns)
    used = sorted(mapping.values())
    known_forms = {*(cell.strip() for cell in header), *(n for c in spec.columns.values() for n in (c.label, *c.names))}
    known_forms |= {form.lower() for form in known_forms} | {form.upper() for form in known_forms}

    blank = pd.Series(True, index=cells.index)
    # A row repeats the header when every named column holds its header's text again.
    repeated = pd.Series(bool(used) and all(p in cells for p in used), index=cells.index)
    header_like = np.zeros(len(cells), dtype=np.int64)
    filled = {}
    for position in present:  # each column stripped once
        text = cells[position].str.strip().fillna("")
        filled[position] = text.ne("").to_numpy()
        blank &= ~filled[position]
        if position in mapping.values():
            repeated &= text.eq(header[position].strip())
        header_like += text.isin(known_forms).to_numpy()
    repeated &= ~blank
    for line in lines[repeated.to_numpy()]:
        issues.append(InputIssue(file, int(line), None, "en-tête répété (fichiers mis bout à bout) : ligne ignorée",
                                 "info", dropped_rows=1))

    drop = repeated.to_numpy() | blank.to_numpy()
    headers = []  # rows that hold the header again, in another column order: (row, cells)
    for row in np.flatnonzero((header_like >= 2) & ~drop):
        row_cells = ["" if pd.isna(value) else str(value) for value in cells.iloc[row]]
        if len(_present(row_cells, spec)) >= max(2, len(mapping) // 2):
            headers.append((row, row_cells))
    segments = [_Segment(0, header, mapping)]
    for number, (row, row_cells) in enumerate(headers):
        line = int(lines[row])
        new_mapping, mapping_issues = _map_headers(path, row_cells, line, spec)
        missing = _missing_columns(spec, set(new_mapping))
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

    ends = [segment.start for segment in segments[1:]] + [len(cells)]
    for segment, end in zip(segments, ends):
        width = len(segment.header)
        stray = [p for p in present if p >= width or not segment.header[p].strip()]
        if not stray:
            continue
        overflow = sum(filled[p][segment.start:end].astype(np.int64) for p in stray)
        for line, count in zip(lines[segment.start:end][(overflow > 0) & ~drop[segment.start:end]],
                               overflow[(overflow > 0) & ~drop[segment.start:end]]):
            cells_text = plural(int(count), "cellule hors des colonnes nommées", "cellules hors des colonnes nommées")
            issues.append(InputIssue(file, int(line), None, f"{cells_text} : {'ignorées' if count > 1 else 'ignorée'}",
                                     "warning"))
    blank_lines = lines[blank.to_numpy()] if len(blank) else []
    if len(blank_lines):
        shown = ", ".join(map(str, blank_lines[:10])) + ("…" if len(blank_lines) > 10 else "")
        ignored = plural(len(blank_lines), "ligne vide ignorée", "lignes vides ignorées")
        issues.append(InputIssue(file, int(blank_lines[0]), None, f"{ignored} : {shown}", "info",
                                 dropped_rows=len(blank_lines)))

    labels = {}
    for segment in reversed(segments):  # the file's own header names a column first
        labels.update({name: segment.header[position] for name, position in segment.mapping.items()})
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
    frame = _concat(parts)
    kept_lines = lines[~drop] if len(cells) else lines
    for name in labels:
        if len(frame) and longer_than(pa.array(frame[name].array), MAX_CELL_CHARS):
            too_long = frame[name].str.len().gt(MAX_CELL_CHARS).fillna(False)
            for index in frame.index[too_long]:  # only the rare long cells are visited
                issues.append(InputIssue(file, int(kept_lines[index]), labels[name],
                                         f"cellule très longue ({len(frame.at[index, name])} caractères) : "
                                         f"tronquée à {MAX_CELL_CHARS}", "warning"))
            frame.loc[too_long, name] = frame.loc[too_long, name].str.slice(0, MAX_CELL_CHARS)
        if not body.controls:
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
    if frame.empty:
        issues.append(InputIssue(file, None, None, "aucune ligne de données sous l'en-tête", "warning"))
    # One name for every row: a category (a national file's path repeated a million times took 60 MB).
    frame["source_file"] = pd.Categorical.from_codes(np.zeros(len(frame), dtype=np.int8), categories=[file])
    frame["source_line"] = kept_lines
    return frame, issues, labels


READERS = 2  # files read at once (see load_inputs)
PARSERS = 2  # columns of one file parsed at once (see parse_table)


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
    for column in spec.columns:
        if column == "finess":
            jobs[column] = (column, cells.parse_finess)
        elif column == "rpps":
            jobs[column] = (column, cells.parse_rpps)
        elif column in ("email", "backup_email", "director_email"):
            jobs[column] = (column, cells.parse_email)
        elif column in ("created_on", "last_login", "closed_on"):
            jobs[column] = (column, cells.parse_dates, as_of if column != "closed_on" else None)
        elif column == "roles":
            jobs[column] = (column, cells.parse_roles, catalogue)
            jobs["roles_given"] = (column, cells.parse_filled)  # unknown roles are still roles
        elif column == "status":
            jobs["status"] = (column, cells.parse_text)
            jobs["state"] = (column, cells.parse_states, catalogue)
        else:
            jobs[column] = (column, cells.parse_text)

    absent = pd.Series(pd.NA, index=raw.index, dtype=TEXT)
    columns = {column: raw[column] if column in raw else absent for column, *_ in jobs.values()}
    # Columns are parsed two at a time: Arrow's kernels run without holding the interpreter, and the
    # accounts of a national export are still being parsed when the other files are done.
    with ThreadPoolExecutor(max_workers=PARSERS) as pool:
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


def _drop_duplicate_establishments(frame: pd.DataFrame, issues: list[InputIssue]) -> pd.DataFrame:
    repeated = frame["finess"].duplicated(keep="first") & frame["finess"].notna()
    for file, line, finess in frame.loc[repeated, ["source_file", "source_line", "finess"]].itertuples(index=False):
        issues.append(InputIssue(file, int(line), None, "établissement en double dans le référentiel : "
                                 "seule la première ligne est lue", "warning", None, finess, dropped_rows=1))
    return frame[~repeated].reset_index(drop=True)
