"""Safe YAML reading that remembers line numbers and refuses aliases.

Rulebooks and catalogues are edited by hand: an error must say on which line
it is. Aliases are refused outright: nothing in a rulebook needs them, and
they are the way to build a "billion laughs" document.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import yaml

from ..model.issues import AuditError


class LineDict(dict):
    """A mapping read from YAML, with the line of the mapping and of each key."""

    line: int = 0
    key_lines: dict[str, int]

    def line_of(self, key: str) -> int:
        return self.key_lines.get(key, self.line)


# libyaml's parser where PyYAML was built with it (the wheels are): the rulebook is read 7 times faster
# (0.074 -> 0.011 s, on every run). Its constructor is PyYAML's own, in Python, as below.
_SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _LineLoader(_SAFE_LOADER):
    """A class of its own: the constructors added below must not change PyYAML's loader for everyone."""


def _refuse_aliases(text: str) -> None:
    """Aliases are looked for in the parser's events, before any node is made of them."""
    for event in yaml.parse(text, Loader=_SAFE_LOADER):
        if isinstance(event, yaml.AliasEvent):
            raise yaml.MarkedYAMLError(problem="les alias YAML (*nom) ne sont pas acceptés",
                                       problem_mark=event.start_mark)


def _construct_mapping(loader: _LineLoader, node: yaml.MappingNode) -> LineDict:
    loader.flatten_mapping(node)
    result = LineDict()
    result.line = node.start_mark.line + 1
    result.key_lines = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        if key in result:
            raise yaml.MarkedYAMLError(
                problem=f"clé « {key} » en double", problem_mark=key_node.start_mark
            )
        result[key] = loader.construct_object(value_node, deep=True)
        result.key_lines[str(key)] = key_node.start_mark.line + 1
    return result


def _construct_timestamp(loader: _LineLoader, node: yaml.ScalarNode):
    try:
        return yaml.SafeLoader.construct_yaml_timestamp(loader, node)
    except ValueError:  # 2026-02-30 has a date's shape but no day: kept as text, refused with its line
        return loader.construct_scalar(node)


_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)
_LineLoader.add_constructor("tag:yaml.org,2002:timestamp", _construct_timestamp)


def read_yaml(path: Path) -> Any:
    """Parse a YAML file; any syntax error becomes an AuditError with file and line."""
    try:
        text = Path(path).read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise AuditError(f"{path} : le fichier YAML n'est pas en UTF-8 ({exc.reason})") from None
    except OSError as exc:
        raise AuditError(f"{path} : lecture impossible ({exc.strerror})") from None
    try:
        _refuse_aliases(text)
        return yaml.load(text, Loader=_LineLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f", ligne {mark.line + 1}, colonne {mark.column + 1}" if mark else ""
        problem = exc.problem or exc.context or "syntaxe invalide"
        raise AuditError(f"{path}{where} : YAML invalide : {problem}") from None
    except yaml.YAMLError as exc:
        raise AuditError(f"{path} : YAML invalide : {exc}") from None


def yaml_date(value) -> dt.date | None:
    """A date as a person writes it in YAML (2026-12-15, unquoted or quoted, or 15/12/2026), else None."""
    if isinstance(value, dt.datetime):
        return None  # a time too: not the day a person meant to write
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        for fmt in ("%Y-%m-%d", "%d/%m/%Y"):
            try:
                return dt.datetime.strptime(value.strip(), fmt).date()
            except ValueError:
                continue
    return None

