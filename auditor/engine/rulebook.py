"""Rules from YAML: read, validate (every error at once, with file, line and code), override.

A rule is data: a stable code, the check kind it uses (see `checks.REGISTRY`),
a severity, parameters, the French texts a user reads (title, why, fix), and
examples that the tests run. Nothing in a rulebook is executed as Python.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from pathlib import Path

from ..config.catalogue import Catalogue
from ..config.schema import Field, Problems
from ..config.yamlfile import LineDict, read_yaml, yaml_date
from ..inputs import rpps_directory
from ..model.findings import SEVERITIES
from ..model.issues import AuditError
from .checks import REGISTRY, CheckKind
from .history_tables import HISTORY_TABLES

# A rule's keys; its check, severity, group and examples are checked against their choices below.
RULE_FIELDS = {"code": Field(str, required=True), "check": Field(str, required=True),
               "severity": Field(str, required=True), "title": Field(str, required=True), "params": Field(dict),
               "why": Field(str, required=True), "fix": Field(str, required=True), "source": Field(str),
               "group": Field(str), "examples": Field(object)}
# `group: establishment`: people read the rule's findings as one entry per establishment listing
# the accounts (a closed establishment's), while findings.json keeps one finding per account.
GROUPS = ("establishment",)
# An example's keys besides its tables: one per export kind of the catalogue, and the _OTHER_TABLES.
EXAMPLE_KEYS = ("description", "findings", "flagged", "severity", "message", "as_of")
# Example tables that are no export kind: the history's, and the RPPS directory's.
_OTHER_TABLES = {**HISTORY_TABLES, "directory": tuple(rpps_directory.COLUMNS.values())}
CODE_PATTERN = re.compile(r"^[A-Z]{3}-\d{2}$")


@dataclass(frozen=True)
class Example:
    expected: str  # "fail" (findings expected) or "pass" (none)
    description: str
    tables: dict[str, list[dict]]
    findings: int | None = None  # exact count expected, for a "fail" example
    as_of: str | None = None
    # What a "fail" example's findings must be, when given: the accounts (or FINESS, for an
    # establishment's finding) flagged, the severity of each, a text every message holds.
    flagged: tuple[str, ...] | None = None
    severity: str | None = None
    message: str | None = None


@dataclass(frozen=True)
class Rule:
    code: str
    check: str
    severity: str
    title: str
    why: str
    fix: str
    params: dict = field(default_factory=dict)
    source: str = ""
    examples: tuple[Example, ...] = ()
    group: str | None = None  # see GROUPS
    file: str = ""
    line: int = 0


def rule_files(rules_dir: Path) -> list[Path]:
    files = sorted(Path(rules_dir).glob("*.yaml"))
    if not files:  # an audit with no rule would find nothing and look compliant
        raise AuditError(f"{rules_dir} : aucun fichier de règles (*.yaml) dans ce dossier")
    return files


def load_rules(files: list[Path], catalogue: Catalogue) -> list[Rule]:
    errors = Problems(files[0].parent if files else "", "les règles")
    rules: list[Rule] = []
    seen: dict[str, str] = {}
    for path in files:
        data = read_yaml(path)
        entries = data.get("rules") if isinstance(data, dict) else None
        if not isinstance(entries, list):
            errors.add(getattr(data, "line", 1), "une liste « rules: » est attendue", path=path)
            continue
        for entry in entries:
            rule = _read_rule(path, entry, catalogue, errors)
            if rule is None:
                continue
            if rule.code in seen:
                errors.add(rule.line, f"code déjà utilisé ({seen[rule.code]})", code=rule.code, path=path)
                continue
            seen[rule.code] = f"{path}, ligne {rule.line}"
            rules.append(rule)
    errors.raise_if_any()
    return sorted(rules, key=lambda r: r.code)


def _read_rule(path: Path, entry, catalogue: Catalogue, errors: Problems) -> Rule | None:
    if not isinstance(entry, LineDict):
        errors.add(getattr(entry, "line", "?"), "chaque règle est un dictionnaire (clé: valeur)", path=path)
        return None
    code = entry.get("code")
    add = errors.at(path, code)
    before = len(errors)
    if not isinstance(code, str) or not CODE_PATTERN.match(code):
        add(entry.line_of("code"), "« code » doit avoir la forme ABC-01")
    errors.check_keys(entry, RULE_FIELDS, code=code, path=path)
    choices = [("severity", SEVERITIES, "sévérité « {} » inconnue ; valeurs valides : {}"),
               ("check", sorted(REGISTRY), "type de contrôle « {} » inconnu ; types valides : {}"),
               ("group", GROUPS, "regroupement « {} » inconnu ; valeurs valides : {}")]
    for key, valid, message in choices:
        if key in entry and entry[key] not in valid:
            add(entry.line_of(key), message.format(entry[key], ", ".join(valid)))
    kind = REGISTRY.get(entry.get("check"))
    params = entry.get("params") or {}
    if not isinstance(params, dict):  # said by check_keys
        params = {}
    if kind is not None:
        _check_params(add, entry, kind, params)
    examples = _read_examples(add, entry, catalogue)
    if len(errors) > before:
        return None
    return Rule(code=code, check=entry["check"], severity=entry["severity"], title=entry["title"].strip(),
                why=entry["why"].strip(), fix=entry["fix"].strip(), params=dict(params),
                source=str(entry.get("source", "")).strip(), examples=examples, group=entry.get("group"),
                file=str(path), line=entry.line)


def _check_params(add, entry: LineDict, kind: CheckKind, params: LineDict) -> None:
    accepted = ", ".join(kind.params) or "aucun"
    for name, value in params.items():
        spec = kind.params.get(name)
        if spec is None:
            add(params.line_of(name), f"paramètre inconnu « {name} » ; paramètres acceptés : {accepted}")
        elif (reason := spec.validate(value)) is not None:
            add(params.line_of(name), f"paramètre « {name} » {reason}")
    for name in kind.params:
        if name not in params:
            add(entry.line, f"paramètre « {name} » sans valeur par défaut dans « params »")


def _read_examples(add, entry: LineDict, catalogue: Catalogue) -> tuple[Example, ...]:
    block = entry.get("examples")
    if block is None:
        return ()
    if not isinstance(block, dict) or set(block) - {"pass", "fail"}:
        add(entry.line_of("examples"), "« examples » a deux listes : « fail » et « pass »")
        return ()
    examples = []
    for expected in ("fail", "pass"):
        for item in block.get(expected) or []:
            if not isinstance(item, LineDict):
                add(block.line_of(expected), "un exemple est un dictionnaire")
                continue
            examples.append(_read_example(add, item, expected, catalogue))
    return tuple(examples)


def _read_example(add, item: LineDict, expected: str, catalogue: Catalogue) -> Example:
    valid = (*EXAMPLE_KEYS, *catalogue.kinds, *_OTHER_TABLES)
    for key in item:
        if key not in valid:
            add(item.line_of(key), f"clé d'exemple inconnue « {key} » ; clés valides : {', '.join(valid)}")
    as_of = yaml_date(item["as_of"]) if "as_of" in item else None
    if "as_of" in item and as_of is None:
        add(item.line_of("as_of"), f"date d'audit invalide « {item['as_of']} » (AAAA-MM-JJ)")
    findings = item.get("findings")
    if expected == "fail" and not (isinstance(findings, int) and findings > 0):
        add(item.line, "un exemple « fail » donne « findings » : le nombre de constats attendus")
    flagged = item.get("flagged")
    if flagged is not None and not (isinstance(flagged, list) and all(isinstance(f, str) for f in flagged)):
        add(item.line_of("flagged"), "« flagged » est une liste de comptes ou de FINESS (entre guillemets)")
        flagged = None
    severity = item.get("severity")
    if severity is not None and severity not in SEVERITIES:
        add(item.line_of("severity"), f"sévérité « {severity} » inconnue ; valeurs valides : {', '.join(SEVERITIES)}")
    return Example(expected, str(item.get("description", "")), _example_tables(add, item, catalogue),
                   findings if expected == "fail" else 0, as_of.isoformat() if as_of else None,
                   tuple(sorted(flagged)) if flagged is not None else None, severity,
                   str(item["message"]) if "message" in item else None)


def _example_tables(add, item: LineDict, catalogue: Catalogue) -> dict[str, list[dict]]:
    """An example's tables (exports, history, directory), each row's columns known to its kind."""
    tables = {}
    for kind in (*catalogue.kinds, *_OTHER_TABLES):
        rows = item.get(kind) or []
        known = set(_OTHER_TABLES[kind]) if kind in _OTHER_TABLES else set(catalogue.kinds[kind].columns)
        if not isinstance(rows, list) or not all(isinstance(r, LineDict) for r in rows):
            add(item.line_of(kind), f"« {kind} » est une liste de lignes (clé: valeur)")
            continue
        for row in rows:
            for column in row:
                if column not in known:
                    add(row.line_of(column), f"colonne inconnue « {column} » dans « {kind} » ; "
                        f"colonnes valides : {', '.join(sorted(known))}")
        tables[kind] = [dict(row) for row in rows]
    return tables


def apply_overrides(rules: list[Rule], overrides: list[str]) -> list[Rule]:
    """`name=value` sets a parameter on every rule that has it; `CODE.name=value` on one rule."""
    rules = list(rules)
    for text in overrides:
        target, sep, raw_value = text.partition("=")
        if not sep:
            raise AuditError(f"--param « {text} » : forme attendue nom=valeur ou CODE.nom=valeur")
        code, _, name = target.rpartition(".")
        matched = False
        for index, rule in enumerate(rules):
            if (code and rule.code != code) or name not in rule.params:
                continue
            spec = REGISTRY[rule.check].params[name]
            try:
                value = spec.parse(raw_value)
            except ValueError:
                raise AuditError(f"--param {text} : « {raw_value} » n'est pas "
                                 f"{spec.type_name}") from None
            if (reason := spec.validate(value)) is not None:
                raise AuditError(f"--param {text} : « {name} » {reason}")
            rules[index] = replace(rule, params={**rule.params, name: value})
            matched = True
        if not matched:
            valid = sorted({p for r in rules for p in r.params})
            raise AuditError(f"--param {text} : aucun paramètre de ce nom ; paramètres valides : {', '.join(valid)}")
    return rules
