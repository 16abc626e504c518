"""The registry of check kinds: a name used in the rulebooks -> a vectorised function.

A check receives the AuditContext and its parameters (validated against the
declared types when the rules are loaded) and returns a "hits" frame: one row
per finding with the columns of `HIT_COLUMNS`. The engine turns hits into
findings (rule code, severity, establishment name, stable key).

Adding a kind of check: write the function in the module of its family,
decorate it with @check, give it a rule in rules/*.yaml with examples.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import pandas as pd

HIT_COLUMNS = ["finess", "account", "subject", "subject_id", "message"]


@dataclass(frozen=True)
class Param:
    """A parameter a check accepts, with its type and bounds."""

    type: type
    minimum: float | None = None
    description: str = ""

    def validate(self, value) -> str | None:
        """A French reason why `value` is unfit, or None."""
        fits = isinstance(value, self.type) and not isinstance(value, bool) or (
            self.type is float and isinstance(value, int) and not isinstance(value, bool))
        if not fits:
            return f"doit être {_TYPE_NAMES.get(self.type, self.type.__name__)}"
        if self.minimum is not None and value < self.minimum:
            return f"doit être au moins {self.minimum}"
        return None

    def parse(self, text: str):
        """Value given as text on the command line."""
        return self.type(text)


_TYPE_NAMES = {int: "un nombre entier", float: "un nombre", str: "un texte"}


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
) -> pd.DataFrame:
    """The frame a check returns; `subject_id` defaults to the account id."""
    frame = pd.DataFrame({"finess": finess.astype("string")})
    frame["account"] = account.astype("string") if account is not None else pd.NA
    frame["subject"] = subject
    frame["subject_id"] = subject_id.astype("string") if subject_id is not None else frame["account"]
    frame["message"] = message
    return frame[HIT_COLUMNS].reset_index(drop=True)


def lookup_text(keys: pd.Series, table: pd.Series) -> pd.Series:
    """`keys.map(table)` as text, NA where absent (a plain map of no match gives floats)."""
    return keys.map(table).astype("string")


def format_dates(dates: pd.Series) -> pd.Series:
    """JJ/MM/AAAA, as French users write dates."""
    return dates.dt.strftime("%d/%m/%Y")


# Importing the families registers their checks.
from . import activity, attachments, referents  # noqa: E402,F401
