"""Which tables a file holds: for each grid, the header row and the kind of file it is (catalogue)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..config.catalogue import Catalogue, KindSpec
from ..model.issues import AuditError, InputIssue
from ..model.text import fold
from .grid import HEAD_ROWS, Grid


@dataclass
class Table:
    """A table found in a file: a CSV, or one sheet of a workbook, with its header row and kind."""

    grid: Grid
    header_index: int
    kind: str
    score: tuple
    missing: list[str]


def locate_tables(path: Path, grids: list[Grid], catalogue: Catalogue, forced_kind: str | None):
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


def _best_header(grid: Grid, catalogue: Catalogue, forced_kind: str | None) -> Table | None:
    """The header row and kind that best match the catalogue's headers in this grid.

    Kinds share many headers (Nom, FINESS, E-mail): a row is first judged by
    the headers only one kind knows (Rôles, Statut: accounts; Raison sociale:
    establishments), then by completeness, then by the number of headers.
    """
    lookups = {kind: frozenset(spec.header_lookup()) for kind, spec in catalogue.kinds.items()}
    kinds = list(catalogue.kinds)  # in the catalogue's order: the first wins a tie
    best = None
    for row_index, row in enumerate(grid.head):
        folded = [fold(cell) for cell in row if cell.strip()]
        for kind in [forced_kind] if forced_kind else kinds:
            matches = sum(1 for cell in folded if cell in lookups[kind])
            if matches < 2:
                continue
            others = [lookups[k] for k in kinds if k != kind]
            specific = sum(1 for cell in folded if cell in lookups[kind] and not any(cell in o for o in others))
            missing = missing_columns(catalogue.kinds[kind], present_columns(row, catalogue.kinds[kind]))
            score = (specific, not missing, matches, -row_index, -kinds.index(kind))
            if best is None or score > best.score:
                best = Table(grid, row_index, kind, score, missing)
    return best


def present_columns(header: list[str], spec: KindSpec) -> set[str]:
    lookup = spec.header_lookup()
    return {lookup[f] for f in map(fold, header) if f in lookup}


def missing_columns(spec: KindSpec, present: set[str]) -> list[str]:
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


def map_headers(path: Path, header: list[str], line: int, spec: KindSpec):
    """Canonical column -> position in the row; unknown or repeated headers are reported."""
    lookup = spec.header_lookup()
    mapping: dict[str, int] = {}
    issues = []
    for position, name in enumerate(header):
        canonical = lookup.get(fold(name))
        if not name.strip():
            continue  # a blank header; its cells are checked in rows.py
        if canonical is None:
            issues.append(InputIssue(str(path), line, name, "colonne non reconnue : ignorée", "info"))
        elif canonical in mapping:
            first = header[mapping[canonical]]
            issues.append(InputIssue(str(path), line, name, f"colonne en double avec « {first} » : "
                                     "seule la première est lue", "warning"))
        else:
            mapping[canonical] = position
    return mapping, issues


