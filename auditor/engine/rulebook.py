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
from ..config.yamlfile import LineDict, read_yaml, yaml_date
from ..inputs import rpps_directory
from ..model.findings import SEVERITIES
from ..model.issues import AuditError
from ..model.text import plural
from .checks import REGISTRY, TYPE_NAMES
from .history_tables import HISTORY_TABLES

RULE_KEYS = ("code", "check", "severity", "title", "params", "why", "fix", "source", "group", "examples")
# `group: establishment`: people read the rule's findings as one entry per establishment listing
# the accounts (a closed establishment's), while findings.json keeps one finding per account.
GROUPS = ("establishment",)
REQUIRED_KEYS = ("code", "check", "severity", "title", "why", "fix")
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


class _Errors:
    """Collects every problem of the rulebooks before failing, so one edit fixes them all."""

    def __init__(self):
        self.messages: list[str] = []

    def add(self, file, line, code, message):
        where = f"{file}, ligne {line}" + (f", règle {code}" if code else "")
        self.messages.append(f"{where} : {message}")

    def raise_if_any(self):
        if self.messages:
            count = len(self.messages)
            raise AuditError(f"{plural(count, 'problème')} dans les règles :\n  - " + "\n  - ".join(self.messages))


def rule_files(rules_dir: Path) -> list[Path]:
    files = sorted(Path(rules_dir).glob("*.yaml"))
    if not files:  # an audit with no rule would find nothing and look compliant
        raise AuditError(f"{rules_dir} : aucun fichier de règles (*.yaml) dans ce dossier")
    return files


def load_rules(files: list[Path], catalogue: Catalogue) -> list[Rule]:
    errors = _Errors()
    rules: list[Rule] = []
    seen: dict[str, str] = {}
    for path in files:
        data = read_yaml(path)
        entries = data.get("rules") if isinstance(data, dict) else None
        if not isinstance(entries, list):
            errors.add(path, getattr(data, "line", 1), None, "une liste « rules: » est attendue")
            continue
        for entry in entries:
            rule = _read_rule(path, entry, catalogue, errors)
            if rule is None:
                continue
            if rule.code in seen:
                errors.add(path, rule.line, rule.code, f"code déjà utilisé ({seen[rule.code]})")
                continue
            seen[rule.code] = f"{path}, ligne {rule.line}"
            rules.append(rule)
    errors.raise_if_any()
    return sorted(rules, key=lambda r: r.code)


def _read_rule(path: Path, entry, catalogue: Catalogue, errors: _Errors) -> Rule | None:
    if not isinstance(entry, LineDict):
        errors.add(path, getattr(entry, "line", "?"), None, "chaque règle est un dictionnaire (clé: valeur)")
        return None
    code = entry.get("code")
    before = len(errors.messages)
    if not isinstance(code, str) or not CODE_PATTERN.match(code):
        errors.add(path, entry.line_of("code"), code, "« code » doit avoir la forme ABC-01")
    for key in entry:
        if key not in RULE_KEYS:
            errors.add(path, entry.line_of(key), code,
                       f"clé inconnue « {key} » ; clés valides : {', '.join(RULE_KEYS)}")
    for key in REQUIRED_KEYS:
        if key not in entry:
            errors.add(path, entry.line, code, f"clé obligatoire absente : « {key} »")
        elif key != "code" and not (isinstance(entry[key], str) and entry[key].strip()):
            errors.add(path, entry.line_of(key), code, f"« {key} » doit être un texte non vide")
    if entry.get("severity") not in SEVERITIES and "severity" in entry:
        errors.add(path, entry.line_of("severity"), code,
                   f"sévérité « {entry['severity']} » inconnue ; valeurs valides : {', '.join(SEVERITIES)}")
    kind = REGISTRY.get(entry.get("check"))
    if kind is None and "check" in entry:
        errors.add(path, entry.line_of("check"), code,
                   f"type de contrôle « {entry['check']} » inconnu ; types valides : {', '.join(sorted(REGISTRY))}")
    if "group" in entry and entry["group"] not in GROUPS:
        errors.add(path, entry.line_of("group"), code,
                   f"regroupement « {entry['group']} » inconnu ; valeurs valides : {', '.join(GROUPS)}")
    params = entry.get("params") or {}
    if not isinstance(params, dict):
        errors.add(path, entry.line_of("params"), code, "« params » doit être un dictionnaire")
        params = {}
    if kind is not None:
        _check_params(path, entry, code, kind, params, errors)
    examples = _read_examples(path, entry, code, catalogue, errors)
    if len(errors.messages) > before:
        return None
    return Rule(code=code, check=entry["check"], severity=entry["severity"], title=entry["title"].strip(),
                why=entry["why"].strip(), fix=entry["fix"].strip(), params=dict(params),
                source=str(entry.get("source", "")).strip(), examples=examples, group=entry.get("group"),
                file=str(path), line=entry.line)


def _check_params(path, entry, code, kind, params, errors):
    accepted = ", ".join(kind.params) or "aucun"
    for name, value in params.items():
        spec = kind.params.get(name)
        if spec is None:
            errors.add(path, params.line_of(name), code,
                       f"paramètre inconnu « {name} » ; paramètres acceptés : {accepted}")
        elif (reason := spec.validate(value)) is not None:
            errors.add(path, params.line_of(name), code, f"paramètre « {name} » {reason}")
    for name in kind.params:
        if name not in params:
            errors.add(path, entry.line, code, f"paramètre « {name} » sans valeur par défaut dans « params »")


def _read_examples(path, entry, code, catalogue: Catalogue, errors) -> tuple[Example, ...]:
    block = entry.get("examples")
    if block is None:
        return ()
    if not isinstance(block, dict) or set(block) - {"pass", "fail"}:
        errors.add(path, entry.line_of("examples"), code, "« examples » a deux listes : « fail » et « pass »")
        return ()
    examples = []
    for expected in ("fail", "pass"):
        for item in block.get(expected) or []:
            if not isinstance(item, LineDict):
                errors.add(path, block.line_of(expected), code, "un exemple est un dictionnaire")
                continue
            valid = (*EXAMPLE_KEYS, *catalogue.kinds, *_OTHER_TABLES)
            for key in item:
                if key not in valid:
                    errors.add(path, item.line_of(key), code,
                               f"clé d'exemple inconnue « {key} » ; clés valides : {', '.join(valid)}")
            tables = {}
            for kind in (*catalogue.kinds, *_OTHER_TABLES):
                rows = item.get(kind) or []
                known = set(_OTHER_TABLES[kind]) if kind in _OTHER_TABLES else set(catalogue.kinds[kind].columns)
                if not isinstance(rows, list) or not all(isinstance(r, LineDict) for r in rows):
                    errors.add(path, item.line_of(kind), code, f"« {kind} » est une liste de lignes (clé: valeur)")
                    continue
                for row in rows:
                    for column in row:
                        if column not in known:
                            errors.add(path, row.line_of(column), code,
                                       f"colonne inconnue « {column} » dans « {kind} » ; "
                                       f"colonnes valides : {', '.join(sorted(known))}")
                tables[kind] = [dict(row) for row in rows]
            as_of = yaml_date(item["as_of"]) if "as_of" in item else None
            if "as_of" in item and as_of is None:
                errors.add(path, item.line_of("as_of"), code, f"date d'audit invalide « {item['as_of']} » (AAAA-MM-JJ)")
            findings = item.get("findings")
            if expected == "fail" and not (isinstance(findings, int) and findings > 0):
                errors.add(path, item.line, code,
                           "un exemple « fail » donne « findings » : le nombre de constats attendus")
            flagged = item.get("flagged")
            if flagged is not None and not (isinstance(flagged, list) and all(isinstance(f, str) for f in flagged)):
                errors.add(path, item.line_of("flagged"), code, "« flagged » est une liste de comptes ou de FINESS "
                           "(entre guillemets)")
                flagged = None
            severity = item.get("severity")
            if severity is not None and severity not in SEVERITIES:
                errors.add(path, item.line_of("severity"), code, f"sévérité « {severity} » inconnue ; valeurs "
                           f"valides : {', '.join(SEVERITIES)}")
            examples.append(Example(expected, str(item.get("description", "")), tables,
                                    findings if expected == "fail" else 0,
                                    as_of.isoformat() if as_of else None,
                                    tuple(sorted(flagged)) if flagged is not None else None, severity,
                                    str(item["message"]) if "message" in item else None))
    return tuple(examples)


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
                                 f"{TYPE_NAMES.get(spec.type, spec.type.__name__)}") from None
            if (reason := spec.validate(value)) is not None:
                raise AuditError(f"--param {text} : « {name} » {reason}")
            rules[index] = replace(rule, params={**rule.params, name: value})
            matched = True
        if not matched:
            valid = sorted({p for r in rules for p in r.params})
            raise AuditError(f"--param {text} : aucun paramètre de ce nom ; paramètres valides : {', '.join(valid)}")
    return rules
