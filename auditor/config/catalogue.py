"""The catalogues under rules/catalogue/: header synonyms, roles and their rights, statuses.

They are data an auditor edits; this module reads and checks them once and
offers fast look-ups keyed by folded text (see `text.fold`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

from ..model.issues import AuditError
from ..model.text import fold
from .schema import Problems
from .yamlfile import LineDict, read_yaml

ROLE_SYSTEMS = ("ror", "iam", "legacy")
ACCOUNT_STATES = ("active", "archived", "blocked", "pending")


# How a column's cells are read (`parser:` in headers.yaml; inputs/parse.py has a function for each).
COLUMN_PARSERS = ("text", "finess", "rpps", "email", "date", "future_date", "roles", "status")


@dataclass(frozen=True)
class ColumnSpec:
    name: str
    label: str
    required: bool
    names: tuple[str, ...]
    parser: str = "text"  # see COLUMN_PARSERS


@dataclass(frozen=True)
class KindSpec:
    """One kind of input file (accounts, establishments, staff) and its columns."""

    kind: str
    label: str
    columns: dict[str, ColumnSpec]
    any_of: tuple[tuple[str, ...], ...] = ()
    absent: str = ""  # how a report names a missing file of this kind

    def header_lookup(self) -> dict[str, str]:
        """Folded header -> canonical column name."""
        return {fold(name): col.name for col in self.columns.values() for name in (col.name, *col.names)}


@dataclass(frozen=True)
class Role:
    name: str
    system: str
    rights: tuple[str, ...]
    referent: str | None = None
    iam_equivalent: tuple[str, ...] = ()


@dataclass(frozen=True)
class FunctionCategory:
    name: str
    label: str
    medical_access: str  # "yes", "no" or "borderline"


@dataclass(frozen=True)
class Catalogue:
    kinds: dict[str, KindSpec]
    roles: dict[str, Role]
    rights: dict[str, str]
    function_categories: dict[str, FunctionCategory] = field(default_factory=dict)
    _role_lookup: dict[str, str] = field(repr=False, default_factory=dict)
    _state_lookup: dict[str, str] = field(repr=False, default_factory=dict)
    _function_lookup: dict[str, str] = field(repr=False, default_factory=dict)
    role_name_commas: int = 0  # the most commas in one role name or alias (two legacy names have two)
    esms_categories: dict[str, str] = field(default_factory=dict)  # FINESS category code -> label (esms.yaml)
    regions: dict[str, tuple[str, ...]] = field(default_factory=dict)  # folded name or "r<code>" -> departments
    professions: dict[str, str] = field(default_factory=dict)  # folded RPPS profession -> function category
    _profession_lookup: dict[str, str] = field(repr=False, default_factory=dict)  # folded function -> profession
    _medical_words: frozenset[str] = field(repr=False, default_factory=frozenset)

    def function_category(self, text: str) -> str | None:
        """Category of a function as typed: whole match first, then its longest known first words.

        A medical word anywhere wins over a management title or an unknown function
        ("Directeur médical", "Médecin directeur" are medical): see `medical_words`.
        """
        words = fold(text).split()
        category = None
        for end in range(min(len(words), self._longest_function), 0, -1):  # linear in long cells
            category = self._function_lookup.get(" ".join(words[:end]))
            if category is not None:
                break
        if category in (None, "management") and self._medical_words.intersection(words):
            return "medical"
        return category

    def role_named(self, text: str) -> str | None:
        """Canonical role name for a name or alias as typed, or None."""
        return self._role_lookup.get(fold(text))

    def state_named(self, text: str) -> str | None:
        return self._state_lookup.get(fold(text))

    @cached_property
    def _longest_function(self) -> int:
        """Words in the longest known function name: no lookup needs more first words than that."""
        return max((len(name.split()) for name in (*self._function_lookup, *self._profession_lookup)), default=1)

    def profession_of_function(self, text: str) -> str | None:
        """The RPPS profession (folded) a function as typed belongs to, if it is a health profession's."""
        words = fold(text).split()
        for end in range(min(len(words), self._longest_function), 0, -1):
            profession = self._profession_lookup.get(" ".join(words[:end]))
            if profession is not None:
                return profession
        return None

    def departments(self, text: str) -> frozenset[str]:
        """--departements: "04,05,13", a region by name ("PACA") or by INSEE code ("R93")."""
        departments: set[str] = set()
        for part in text.split(","):
            token = part.strip()
            region = self.regions.get(fold(token)) or self.regions.get(fold(token).replace(" ", ""))
            if region is not None:
                departments.update(region)
            elif re.fullmatch(r"\d{2}|2[ABab]|97\d", token):
                departments.add(token.upper())
            else:
                raise AuditError(f"--departements : « {token} » n'est ni un département (04, 2A, 974…) ni une "
                                 "région (nom, ou code INSEE précédé de R : R93)")
        return frozenset(departments)

    def regions_of(self, departments) -> frozenset[str]:
        """Every department of the regions these departments belong to (a department of no known region
        stays alone): the national FINESS extract is audited region by region."""
        widened = set(departments)
        for region in set(self.regions.values()):
            if widened.intersection(region):
                widened.update(region)
        return frozenset(widened)

    def roles_where(self, **attributes) -> frozenset[str]:
        return frozenset(
            role.name
            for role in self.roles.values()
            if all(getattr(role, key) == value for key, value in attributes.items())
        )


def _names(add, entry: LineDict, key: str) -> tuple[str, ...]:
    names = entry.get(key, [])
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        add(entry.line_of(key), f"« {key} » doit être une liste de textes")
        return ()
    return tuple(names)


def _read_kinds(path: Path, problems: Problems) -> dict[str, KindSpec]:
    data, add = read_yaml(path), problems.at(path)
    kinds = {}
    for kind in ("accounts", "establishments", "staff"):
        entry = data.get(kind) if isinstance(data, dict) else None
        if not isinstance(entry, dict) or not isinstance(entry.get("columns"), dict):
            add(None, f"la section « {kind} » et ses « columns » sont obligatoires")
            continue
        columns = {}
        for name, spec in entry["columns"].items():
            if not isinstance(spec, dict):
                add(entry["columns"].line_of(name), f"colonne « {name} » mal décrite")
                continue
            parser = spec.get("parser", "text")
            if parser not in COLUMN_PARSERS:
                add(spec.line_of("parser"), f"lecture « {parser} » inconnue pour la colonne « {name} » ; "
                    f"valeurs valides : {', '.join(COLUMN_PARSERS)}")
            columns[name] = ColumnSpec(
                name=name,
                label=str(spec.get("label", name)),
                required=bool(spec.get("required", False)),
                names=_names(add, spec, "names"),
                parser=parser,
            )
        any_of = tuple(tuple(group) for group in entry.get("any_of", []))
        for group in any_of:
            unknown = [c for c in group if c not in columns]
            if unknown:
                add(entry.line_of("any_of"), f"colonnes inconnues dans any_of : {unknown}")
        kinds[kind] = KindSpec(kind, str(entry.get("label", kind)), columns, any_of, str(entry.get("absent", "")))
    return kinds


def _read_roles(path: Path, problems: Problems) -> tuple[dict[str, Role], dict[str, str], dict[str, str]]:
    data, add = read_yaml(path), problems.at(path)
    if not isinstance(data, dict) or not isinstance(data.get("rights"), dict):
        add(None, "les sections « rights » et « roles » sont obligatoires")
        return {}, {}, {}
    rights = {str(k): str(v) for k, v in data["rights"].items()}
    roles: dict[str, Role] = {}
    lookup: dict[str, str] = {}
    for entry in data.get("roles") or []:
        name = entry.get("name")
        if not isinstance(name, str):
            add(entry.line, "chaque rôle a un « name »")
            continue
        system = entry.get("system")
        if system not in ROLE_SYSTEMS:
            add(entry.line_of("system"), f"« system » doit valoir {', '.join(ROLE_SYSTEMS)}")
        role_rights = _names(add, entry, "rights")
        unknown = [r for r in role_rights if r not in rights]
        if unknown:
            add(entry.line_of("rights"), f"droits inconnus {unknown} ; connus : {sorted(rights)}")
        roles[name] = Role(
            name=name,
            system=system,
            rights=role_rights,
            referent=entry.get("referent"),
            iam_equivalent=_names(add, entry, "iam_equivalent"),
        )
        for alias in (name, *_names(add, entry, "aliases")):
            lookup[fold(alias)] = name
    return roles, rights, lookup


def _most_commas(path: Path) -> int:
    data = read_yaml(path)
    return max((alias.count(",") for entry in data.get("roles") or []
                for alias in (entry.get("name", ""), *entry.get("aliases", []))), default=0)


def _read_states(path: Path, problems: Problems) -> dict[str, str]:
    data, add = read_yaml(path), problems.at(path)
    lookup = {}
    for state in ACCOUNT_STATES:
        entry = data.get(state) if isinstance(data, dict) else None
        if not isinstance(entry, dict):
            add(None, f"l'état « {state} » est obligatoire")
            continue
        for name in _names(add, entry, "names"):
            lookup[fold(name)] = state
    return lookup


MEDICAL_ACCESS = ("yes", "no", "borderline")


def _read_functions(path: Path, problems: Problems) -> tuple[dict[str, FunctionCategory], dict[str, str],
                                                              frozenset[str]]:
    data, add = read_yaml(path), problems.at(path)
    if not isinstance(data, dict) or not isinstance(data.get("categories"), dict):
        add(None, "les sections « categories » et « functions » sont obligatoires")
        return {}, {}, frozenset()
    categories = {}
    for name, entry in data["categories"].items():
        access = entry.get("medical_access") if isinstance(entry, dict) else None
        if access not in MEDICAL_ACCESS:
            add(data["categories"].line_of(name),
                f"« medical_access » de « {name} » doit valoir {', '.join(MEDICAL_ACCESS)}")
            continue
        categories[name] = FunctionCategory(name, str(entry.get("label", name)), access)
    lookup = {}
    functions = data.get("functions") or {}
    for category in functions:
        if category not in categories:
            add(functions.line_of(category),
                f"catégorie inconnue « {category} » ; catégories : {', '.join(categories)}")
            continue
        for name in _names(add, functions, category):
            lookup[fold(name)] = category
    medical_words = frozenset(fold(word) for word in _names(add, data, "medical_words"))
    return categories, lookup, medical_words


def _read_esms(path: Path, problems: Problems) -> tuple[dict[str, str], dict[str, tuple[str, ...]]]:
    data, add = read_yaml(path), problems.at(path)
    if not isinstance(data, dict) or not isinstance(data.get("categories"), dict):
        add(None, "la section « categories » (code FINESS : libellé) est obligatoire")
        return {}, {}
    categories = {str(code): str(label) for code, label in data["categories"].items()}
    regions: dict[str, tuple[str, ...]] = {}
    for code, entry in (data.get("regions") or {}).items():
        if not isinstance(entry, dict) or not isinstance(entry.get("departments"), list):
            add(data["regions"].line_of(code), f"région « {code} » : « departments » attendu")
            continue
        departments = tuple(str(d) for d in entry["departments"])
        for name in (f"r{code}", entry.get("name", ""), *entry.get("aliases", [])):
            regions[fold(str(name))] = departments
    return categories, regions


def _read_professions(path: Path, categories, problems: Problems) -> tuple[dict[str, str], dict[str, str]]:
    data, add = read_yaml(path), problems.at(path)
    entries = data.get("professions") if isinstance(data, dict) else None
    if not isinstance(entries, dict):
        add(None, "la section « professions » est obligatoire")
        return {}, {}
    professions, lookup = {}, {}
    for label, entry in entries.items():
        if not isinstance(entry, dict) or entry.get("category") not in categories:
            add(entries.line_of(label), f"profession « {label} » : « category » parmi {', '.join(categories)}")
            continue
        professions[fold(label)] = entry["category"]
        for name in _names(add, entry, "functions"):
            lookup[fold(name)] = fold(label)
    return professions, lookup


def load_catalogue(rules_dir: Path) -> Catalogue:
    folder = Path(rules_dir) / "catalogue"
    problems = Problems(folder, "le catalogue")  # every file of it read, every problem said at once
    kinds = _read_kinds(folder / "headers.yaml", problems)
    roles, rights, role_lookup = _read_roles(folder / "roles.yaml", problems)
    state_lookup = _read_states(folder / "statuses.yaml", problems)
    categories, function_lookup, medical_words = _read_functions(folder / "functions.yaml", problems)
    esms_categories, regions = _read_esms(folder / "esms.yaml", problems)
    professions, profession_lookup = _read_professions(folder / "professions.yaml", categories, problems)
    problems.raise_if_any()
    return Catalogue(kinds, roles, rights, categories, role_lookup, state_lookup, function_lookup,
                     _most_commas(folder / "roles.yaml"), esms_categories, regions, professions, profession_lookup,
                     medical_words)
