"""Findings: what the rules found, as small frozen records that renderers only format."""

from __future__ import annotations

from dataclasses import MISSING, dataclass, field, fields

import pandas as pd

from . import records
from .enums import Severity

# Plain values, in the order reports list them (see enums.Severity).
SEVERITIES = Severity.values()
SEVERITY_LABELS = {severity.value: severity.label for severity in Severity}
SEVERITY_RANK = {severity.value: severity.rank for severity in Severity}


@dataclass(frozen=True)
class Finding:
    rule: str
    severity: str
    finess: str
    establishment: str
    account: str | None  # the account id, or None when the finding is about the establishment
    subject: str  # display name of the account or person, or of the establishment
    message: str  # French, with the evidence
    key: str  # rule + establishment + subject: the same problem keeps its key month after month
    waiver: str | None = None  # the waiver in force that covers it: reason, approver, expiry
    # With a history (see auditor/history): against the previous audit, "nouveau", "persistant"
    # or "réapparu"; the audit date its current streak began; its age in months; "à relancer".
    status: str | None = None
    first_seen: str | None = None
    age_months: int | None = None
    overdue: bool = False
    # Whether a waiver covers it: kept as a field (set from `waiver`, never given) so that orjson writes
    # findings itself, without a Python call for each (0.5 s for a national run's).
    waived: bool = field(init=False, default=False)

    def __post_init__(self):
        object.__setattr__(self, "waived", self.waiver is not None)

    def with_follow_up(self, status: str, first_seen: str, age_months: int, overdue: bool) -> Finding:
        """A copy with its follow-up marks. Neither dataclasses.replace() nor copy.copy(): a national
        run marks 400,000 findings, and they cost ten times this plain copy of the fields."""
        marked = object.__new__(Finding)
        marked.__dict__.update(self.__dict__, status=status, first_seen=first_seen, age_months=age_months,
                               overdue=overdue)
        return marked

    @classmethod
    def from_columns(cls, columns: dict[str, list]) -> list[Finding]:
        """One finding per row of `columns` (a list per field but `waiver`; the others take their defaults),
        made as records.from_columns makes them: a national run's 400,000 findings in a fraction of the time."""
        if "waiver" in columns or "waived" in columns:
            raise ValueError("from_columns makes findings before any waiver")  # `waived` is not computed here
        return records.from_columns(cls, columns)


# The finding's own fields (the rest are marks set later): the columns the engine makes, in this order.
FINDING_COLUMNS = tuple(spec.name for spec in fields(Finding) if spec.init and spec.default is MISSING)
# What findings.json gives back of each finding and the history keeps (with `first_seen` there).
RECORDED_FIELDS = ("key", *(name for name in FINDING_COLUMNS if name != "key"), "waived")


def finding_key(rule: str, finess: str, subject_id: str | None) -> str:
    """rule:FINESS:subject, or rule:FINESS for a finding about the establishment: the same problem keeps
    its key month after month (waivers and the history match on it)."""
    return f"{rule}:{finess}:{subject_id}" if subject_id else f"{rule}:{finess}"


def finding_keys(rule: str, finess: pd.Series, subject_id: pd.Series) -> pd.Series:
    """`finding_key` over columns (text, NA or "" for no subject): a rule's findings at once, in the engine."""
    prefix = rule + ":" + finess
    return (prefix + ":" + subject_id.mask(subject_id.eq(""))).fillna(prefix)


@dataclass
class RuleOutcome:
    """What happened to one rule in a run: evaluated, or skipped and why."""

    code: str
    evaluated: bool
    findings: int = 0
    skipped_because: str | None = None
    params: dict = field(default_factory=dict)


def severity_counts(finess: pd.Series, findings: pd.DataFrame, *, waived_included: bool) -> dict[str, pd.Series]:
    """For each establishment of `finess`, how many `findings` (columns finess, severity, and waived unless
    `waived_included`) it has of each severity: the one count every table of establishments shows.

    The engine's coverage counts them all (no waiver is applied yet); scores and the overview count
    only the findings no waiver covers.
    """
    if not waived_included:
        findings = findings.loc[~findings["waived"].to_numpy(dtype=bool)]
    counts = findings.groupby(["finess", "severity"]).size().unstack(fill_value=0)
    return {severity: finess.map(counts[severity] if severity in counts else pd.Series(dtype="int64"))
            .fillna(0).astype("int64") for severity in SEVERITIES}
