"""One way to check every file a person edits: rulebooks, waivers, settings, the campaign file, the
catalogue, a returned workbook.

A file's keys are described by `Field`s (type, bounds, choices, required); `Problems` gathers every
problem of the file before failing, each with its line, key and the valid choices, so that one edit
fixes them all (as pandera's lazy error handler and Cloud Custodian's schemas do). Every message
has one form:

    2 problèmes dans le fichier de campagne :
      - campagne.yaml, ligne 11 : clé inconnue « rate_per_mintue » ; clés valides : smtp, from, …
      - campagne.yaml, ligne 4 : « smtp.port » doit être au plus 65535
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from ..model.issues import AuditError
from ..model.text import plural
from .yamlfile import LineDict

TYPE_NAMES = {int: "un nombre entier", float: "un nombre", str: "un texte", list: "une liste", dict: "un dictionnaire",
              bool: "oui ou non (true, false)"}


@dataclass(frozen=True)
class Field:
    """A key of an edited file (or a rule's parameter): its type, bounds and choices."""

    type: type
    minimum: float | None = None
    description: str = ""
    maximum: float | None = None
    choices: tuple = ()
    labels: dict = field(default_factory=dict)  # how people read a value ("warning" -> "avertissement")
    required: bool = False

    @property
    def type_name(self) -> str:
        return TYPE_NAMES.get(self.type, self.type.__name__)

    def validate(self, value) -> str | None:
        """A French reason why `value` is unfit, or None."""
        fits = isinstance(value, self.type) and (self.type in (bool, object) or not isinstance(value, bool)) or (
            self.type is float and isinstance(value, int) and not isinstance(value, bool))
        if not fits:
            return f"doit être {self.type_name}"
        if self.required and self.type is str and not value.strip():
            return "doit être un texte non vide"
        if self.minimum is not None and value < self.minimum:
            return f"doit être au moins {self.minimum}"
        if self.maximum is not None and value > self.maximum:
            return f"doit être au plus {self.maximum}"
        values = value if isinstance(value, list) else [value]
        if self.choices and any(v not in self.choices for v in values):
            return f"doit valoir {', '.join(map(str, self.choices))}"
        return None

    def display(self, value) -> str:
        """The value as a person reads it."""
        values = value if isinstance(value, list) else [value]
        return ", ".join(str(self.labels.get(v, v)) for v in values)

    def parse(self, text: str):
        """Value given as text on the command line ("a,b" for a list)."""
        if self.type is list:
            return [part.strip() for part in text.split(",") if part.strip()]
        return self.type(text)


class Problems:
    """Every problem of one edited file, gathered before failing (see the module's docstring)."""

    def __init__(self, path: Path | str, what: str):
        self.path = str(path)
        self.what = what  # "le fichier de campagne", "les règles": what the first line says is wrong
        self.messages: list[str] = []

    def __len__(self) -> int:
        return len(self.messages)

    def add(self, line: int | None, message: str, code: str | None = None, path: Path | str | None = None) -> None:
        """A problem at `line` of the file (None: of the file as a whole); `code`: the rule it is about."""
        where = str(path or self.path) + (f", ligne {line}" if line is not None else "")
        self.messages.append(f"{where}{f', règle {code}' if code else ''} : {message}")

    def at(self, path: Path | str, code: str | None = None) -> Callable[[int | None, str], None]:
        """`add` for one file and rule of many (the rulebooks): add(line, message)."""
        return functools.partial(self.add, code=code, path=path)

    def check_keys(self, data: LineDict, fields: Mapping[str, Field], prefix: str = "", code: str | None = None,
                   path: Path | str | None = None) -> None:
        """Unknown keys (with the valid ones), required keys missing, and each value against its field."""
        for key in data:
            if key not in fields:
                self.add(data.line_of(key), f"clé inconnue « {prefix}{key} » ; clés valides : "
                         + ", ".join(prefix + name for name in fields), code, path)
        for name, spec in fields.items():
            if name not in data or data[name] in (None, ""):
                if spec.required:
                    self.add(data.line if name not in data else data.line_of(name),
                             f"clé obligatoire absente : « {prefix}{name} »", code, path)
            elif (reason := spec.validate(data[name])) is not None:
                self.add(data.line_of(name), f"« {prefix}{name} » {reason}", code, path)

    def raise_if_any(self) -> None:
        if self.messages:
            raise AuditError(f"{plural(len(self.messages), 'problème')} dans {self.what} :\n  - "
                             + "\n  - ".join(self.messages))
