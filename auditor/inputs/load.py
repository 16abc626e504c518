"""Exports to typed tables: every file read (read.py), its tables located (header.py), their rows
taken (rows.py) and parsed (parse.py), the RPPS directory added last.

Every row of every file ends up either in a table or in an input issue that
says which file, line and column, and why. A required column that is missing
stops the run (AuditError) with the names the column may have.
"""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from ..config.catalogue import Catalogue, KindSpec
from ..model.frames import TEXT
from ..model.issues import AuditError, InputIssue
from ..model.progress import Progress, silent
from ..model.text import plural
from . import cells, rpps_directory
from .header import locate_tables
from .parse import parse_table
from .read import read_grids
from .rows import data_rows

log = logging.getLogger(__name__)

INPUT_SUFFIXES = {".csv", ".txt", ".tsv", ".xlsx", ".xlsm"}



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
    finess_extract: bool = False  # the establishments are the national FINESS extract's (ETB-02's wording)

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
    frames: dict[str, list[pd.DataFrame]] = {kind: [] for kind in catalogue.kinds}
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
                inputs.finess_extract |= kind == "establishments" and grid.finess_extract
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


def _load_file(path: Path, catalogue: Catalogue, as_of, forced_kind: str | None):
    """Every table of one file: (kind, frame, grid) each, and the file's input issues."""
    known = frozenset(h for spec in catalogue.kinds.values() for h in spec.header_lookup())
    grids = read_grids(path, known)
    tables, issues = locate_tables(path, grids, catalogue, forced_kind)
    loaded = []
    for table in tables:
        grid, header_index, spec = table.grid, table.header_index, catalogue.kinds[table.kind]
        issues.extend(grid.issues)
        raw, row_issues, labels = data_rows(path, grid, header_index, spec)
        issues.extend(row_issues)
        frame, cell_issues = parse_table(table.kind, raw, catalogue, as_of, str(path), labels)
        issues.extend(cell_issues)
        frame.attrs["present"] = set(labels)
        loaded.append((table.kind, frame, grid))
    return loaded, issues


READERS = 2  # files read at once (see load_inputs)
def _drop_duplicate_establishments(frame: pd.DataFrame, issues: list[InputIssue]) -> pd.DataFrame:
    repeated = frame["finess"].duplicated(keep="first") & frame["finess"].notna()
    for file, line, finess in frame.loc[repeated, ["source_file", "source_line", "finess"]].itertuples(index=False):
        issues.append(InputIssue(file, int(line), None, "établissement en double dans le référentiel : "
                                 "seule la première ligne est lue", "warning", None, finess, dropped_rows=1))
    return frame[~repeated].reset_index(drop=True)
