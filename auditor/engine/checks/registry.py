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

from ...config.schema import Field
from ...model.frames import TEXT, as_text

HIT_COLUMNS = ["finess", "account", "subject", "subject_id", "message", "severity"]


DAYS_MAX = 36_500  # day counts beyond a century are typing errors (and overflow date arithmetic)


@dataclass(frozen=True)
class CheckKind:
    name: str
    function: Callable[..., pd.DataFrame]
    params: dict[str, Field] = field(default_factory=dict)
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


def check(name: str, *, params: dict[str, Field] | None = None, needs: tuple[str, ...] = ()):
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


