"""The registry of check kinds: a name used in the rulebooks -> a vectorised function.

A check receives the AuditContext and its parameters (validated against the
declared types when the rules are loaded) and returns a "hits" frame: one row
per finding with the columns of `HIT_COLUMNS`. The engine turns hits into
findings (rule code, severity, establishment name, stable key). A hit's
`severity` is normally empty (the rule's); a check may lower it for some
cases (DRT-01's borderline functions) through a parameter.

Two checks run at once (engine.RULE_THREADS) over the same context: a check
reads the context's tables and never changes them; it copies what it adds
columns to.

Adding a kind of check: write the function in the module of its family,
decorate it with @check, give it a rule in rules/*.yaml with examples.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import pandas as pd

from ...model.frames import TEXT, as_text

HIT_COLUMNS = ["finess", "account", "subject", "subject_id", "message", "severity"]


@dataclass(frozen=True)
class Param:
    """A parameter a check accepts, with its type and bounds."""

    type: type
    minimum: float | None = None
    description: str = ""
    maximum: float | None = None
    choices: tuple = ()
    labels: dict = field(default_factory=dict)  # how people read a value ("warning" -> "avertissement")

    def validate(self, value) -> str | None:
        """A French reason why `value` is unfit, or None."""
        fits = isinstance(value, self.type) and not isinstance(value, bool) or (
            self.type is float and isinstance(value, int) and not isinstance(value, bool))
        if not fits:
            return f"doit être {TYPE_NAMES.get(self.type, self.type.__name__)}"
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


TYPE_NAMES = {int: "un nombre entier", float: "un nombre", str: "un texte", list: "une liste"}
DAYS_MAX = 36_500  # day counts beyond a century are typing errors (and overflow date arithmetic)


@dataclass(frozen=True)
class CheckKind:
    name: str
    function: Callable[..., pd.DataFrame]
    params: dict[str, Param] = field(default_factory=dict)
    # Inputs the check cannot do without: "staff", "establishments" (optional
    # files) or "accounts.<column>" (optional columns). When one is missing
    # the rule is reported as not evaluated instead of finding nothing.
    needs: tuple[str, ...] = ()


REGISTRY: dict[str, CheckKind] = {}


def describe_params(check_name: str, params: dict) -> list[str]:
    """["nombre minimal de référents actifs : 2", …]: a rule's parameters in French, for people."""
    declared = REGISTRY[check_name].params
    return [f"{declared[name].description or name} : {declared[name].display(value)}" if name in declared
            else f"{name} : {value}" for name, value in params.items()]


def check(name: str, *, params: dict[str, Param] | None = None, needs: tuple[str, ...] = ()):
    def register(function):
        if name in REGISTRY:
            raise ValueError(f"check kind registered twice: {name}")
        REGISTRY[name] = CheckKind(name, function, params or {}, needs)
        return function

    return register


def hits(
    finess: pd.Series,
    message: pd.Series | str,
    subject: pd.Series | str = "",
    account: pd.Series | None = None,
    subject_id: pd.Series | None = None,
    severity: pd.Series | None = None,
) -> pd.DataFrame:
    """The frame a check returns; `subject_id` defaults to the account id."""
    frame = pd.DataFrame({"finess": finess.astype(TEXT)})
    frame["account"] = account.astype(TEXT) if account is not None else pd.NA
    frame["subject"] = subject
    frame["subject_id"] = subject_id.astype(TEXT) if subject_id is not None else frame["account"]
    frame["message"] = message
    frame["severity"] = severity.astype(TEXT) if severity is not None else pd.NA
    return frame[HIT_COLUMNS].reset_index(drop=True)


def account_hits(found: pd.DataFrame, message: pd.Series | str, **extra) -> pd.DataFrame:
    """The hits of a check whose findings are attachments (rows of `ctx.attachments`)."""
    return hits(found["finess"], message, subject=found["display_name"], account=found["account_id"], **extra)


def lookup_text(keys: pd.Series, table: pd.Series) -> pd.Series:
    """`keys.map(table)` as text, NA where absent (a plain map of no match gives floats)."""
    return as_text(keys.map(table))


def format_dates(dates: pd.Series) -> pd.Series:
    """JJ/MM/AAAA, as French users write dates; NA where there is no date.

    Each distinct date is written once (a national run's 100,000 dates are a thousand days):
    strftime goes value by value.
    """
    codes, days = pd.factorize(dates)
    written = pd.array(pd.DatetimeIndex(days).strftime("%d/%m/%Y"), dtype=TEXT)
    return pd.Series(written.take(codes, allow_fill=True), index=dates.index, dtype=TEXT)


