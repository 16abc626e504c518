"""What changed since the previous audit: statuses, age, scores, trends. Pure: no file, no clock.

The history store reads the previous run (the one just before this audit date)
and hands it here as tables; this module only compares two sets of findings:

- a finding of this run is `nouveau`, `persistant` (with the date it was first
  seen in its current streak) or `réapparu` (absent from the previous run but
  seen in an earlier one);
- a finding of the previous run that is gone is `résolu` only where this
  export has data for its establishment; elsewhere it is `non vérifié`, since
  no data is not compliance.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd

from ..config.settings import FollowUpSettings
from ..model.enums import Status
from ..model.findings import RECORDED_FIELDS, SEVERITIES, SEVERITY_LABELS, severity_counts
from ..model.frames import is_in
from ..model.issues import InputIssue
from ..model.text import french_number

FINDING_COLUMNS = [*RECORDED_FIELDS, "first_seen"]  # a finding as the history keeps it


@dataclass
class PreviousRun:
    """The run just before this audit date, as the store hands it over."""

    as_of: pd.Timestamp
    findings: pd.DataFrame  # key, finess, first_seen (ISO date text); may have more of FINDING_COLUMNS
    coverage: pd.DataFrame  # finess, accounts, score
    accounts: int  # attachments (account × establishment) in that export
    establishments: int  # establishments that had accounts in that export
    region_score: float | None
    run_id: int | None = None  # in the store, to read the details of the findings gone


@dataclass
class FollowUp:
    """The comparison of one run with the previous one, for the reports and the history."""

    as_of: pd.Timestamp
    previous_as_of: pd.Timestamp | None
    # Per finding of the run, in the run's order: status, first_seen (ISO date), age_months and
    # overdue ("à relancer": open for stale_months or more, not waived). None in a bundle's part:
    # the findings themselves carry these marks (see `mark_findings`).
    marks: pd.DataFrame | None
    resolved: pd.DataFrame  # the previous run's findings now gone (FINDING_COLUMNS once the store added details)
    unverified: pd.DataFrame  # same, in establishments this export has no data for
    scores: pd.DataFrame  # finess, name, accounts, score, previous_score, change, error, warning, info, overdue
    region_score: float | None
    previous_region_score: float | None
    trend: pd.DataFrame  # as_of, finess, error, warning, info: the last runs, this one included
    stale_months: int
    score_weights: dict[str, int]
    coverage_issues: list[InputIssue] = field(default_factory=list)  # the coverage guard's, also in input issues
    curve: pd.DataFrame | None = None  # region_trend() computed ahead (an establishment's part)

    def status_counts(self, findings) -> dict[str, int]:
        counts = Counter(f.status for f in findings)
        counts.update({Status.RESOLVED.value: len(self.resolved), Status.UNVERIFIED.value: len(self.unverified)})
        return {status.value: counts[status.value] for status in Status}

    def status_texts(self, findings, skip_zero: bool = False) -> list[str]:
        """["3 nouveaux", "1 réapparu", …]: the counts as people read them."""
        return [f"{french_number(n)} {Status(status).labels[n > 1]}"
                for status, n in self.status_counts(findings).items() if n or not skip_zero]

    def score_formula(self) -> str:
        """The score's rule in words, from the weights of rules/catalogue/suivi.yaml."""
        points = ", ".join(f"{weight} par {SEVERITY_LABELS[severity]}"
                           for severity, weight in self.score_weights.items())
        return f"100 moins les points des constats non couverts par une dérogation ({points}), au moins 0"

    def region_trend(self) -> pd.DataFrame:
        """Findings by severity per audit date, the region's curve (or the establishment's, in its part)."""
        if self.curve is not None:
            return self.curve
        return self.trend.groupby("as_of", sort=True)[list(SEVERITIES)].sum().reset_index()

    def to_call_first(self, limit: int | None = None) -> pd.DataFrame:
        """Establishments with findings to chase, most overdue first."""
        chase = self.scores[self.scores["overdue"] > 0].sort_values(["overdue", "score"], ascending=[False, True])
        return chase if limit is None else chase.head(limit)

    def by_establishment(self) -> Callable[[str], FollowUp]:
        """A function giving an establishment's follow-up, for its director's bundle.

        Each table is grouped once, here; an establishment's rows are taken when its part is
        asked for, in the process that writes its bundle (taken for a thousand establishments
        up front, they held the bundle workers back by a second).
        """
        curves = self.trend.groupby(["finess", "as_of"], sort=True)[list(SEVERITIES)].sum().reset_index()
        tables = {"resolved": self.resolved, "unverified": self.unverified, "scores": self.scores,
                  "trend": self.trend, "curve": curves}
        positions = {name: table.groupby("finess").indices for name, table in tables.items()}
        tables["curve"] = curves.drop(columns="finess")
        empty = {name: table.iloc[:0] for name, table in tables.items()}  # most establishments resolved nothing

        def part(finess: str) -> FollowUp:
            return replace(self, marks=None, **{
                name: table.take(positions[name][finess]) if finess in positions[name] else empty[name]
                for name, table in tables.items()})
        return part


def score_change(change: float) -> str:
    """+3, −2 or « stable », as a change of score reads (whole points)."""
    points = round(change)
    return "stable" if points == 0 else f"{points:+d}".replace("-", "−")


def months_between(first: pd.Series, as_of: pd.Timestamp) -> np.ndarray:
    """Whole calendar months from each date to the audit date (audits are monthly)."""
    dates = pd.to_datetime(first)
    return ((as_of.year - dates.dt.year) * 12 + (as_of.month - dates.dt.month)).to_numpy(dtype="int64")


def scores(counts: pd.DataFrame, weights: dict[str, int]) -> pd.Series:
    """0 to 100: 100 minus the weighted unwaived findings, never below 0 (rules/catalogue/suivi.yaml)."""
    penalty = sum(counts[severity] * weight for severity, weight in weights.items())
    return (100 - penalty).clip(lower=0).astype("int64")


def compare(current: pd.DataFrame, coverage: pd.DataFrame, as_of: pd.Timestamp, previous: PreviousRun | None,
            returning: set[str], earlier_trend: pd.DataFrame, settings: FollowUpSettings,
            evaluated: frozenset[str] | None = None) -> FollowUp:
    """`current`: key, finess, severity, waived of this run's findings; `coverage`: finess, name, accounts.

    `returning`: keys of this run seen in a run before the previous one;
    `earlier_trend`: counts per establishment of the runs before this one;
    `evaluated`: the rules this run evaluated (None: all of the previous run's).
    """
    as_of = pd.Timestamp(as_of).normalize()
    today = as_of.date().isoformat()
    keys = current["key"]
    if previous is None:
        previous_keys = pd.Series(dtype=object)
        first_seen_before = pd.Series(dtype=object)
    else:
        previous_keys = previous.findings["key"]
        first_seen_before = previous.findings.set_index("key")["first_seen"]
    persisting = is_in(keys, previous_keys)
    status = np.where(persisting, Status.PERSISTING.value,
                      np.where(is_in(keys, returning), Status.RETURNING.value, Status.NEW.value))
    first_seen = np.where(persisting, keys.map(first_seen_before).to_numpy(dtype=object), today)
    age = months_between(pd.Series(first_seen), as_of)
    overdue = persisting & (age >= settings.stale_months) & ~current["waived"].to_numpy(dtype=bool)

    resolved, unverified = _gone(current, coverage, previous, evaluated)
    table = _score_table(current, coverage, overdue, previous, settings)
    present = table["accounts"] > 0
    region_score = float(table.loc[present, "score"].mean()) if present.any() else None
    trend = pd.concat([earlier_trend, table.assign(as_of=today)[["as_of", "finess", *SEVERITIES]]],
                      ignore_index=True)
    marks = pd.DataFrame({"status": status, "first_seen": first_seen, "age_months": age, "overdue": overdue})
    return FollowUp(as_of, previous.as_of if previous else None, marks, resolved, unverified, table, region_score,
                    previous.region_score if previous else None, trend, settings.stale_months, settings.score_weights)


def _gone(current: pd.DataFrame, coverage: pd.DataFrame, previous: PreviousRun | None,
          evaluated: frozenset[str] | None):
    """The previous run's findings absent now: resolved where there is data and their rule was evaluated,
    unverified elsewhere (a rule removed from the rulebook, or skipped for a missing file or column,
    checked nothing: its findings are not resolved)."""
    if previous is None:
        empty = pd.DataFrame(columns=FINDING_COLUMNS)
        return empty, empty
    gone = previous.findings[~is_in(previous.findings["key"], current["key"])]
    accounts_now = gone["finess"].map(coverage.set_index("finess")["accounts"])
    accounts_before = gone["finess"].map(previous.coverage.set_index("finess")["accounts"]).fillna(0)
    # Data for an establishment: accounts in this export, or none then and none now (REF-01 "aucun compte").
    has_data = accounts_now.notna() & ((accounts_now > 0) | (accounts_before == 0))
    if evaluated is not None:  # the rule is the key's first part (see model.findings.finding_key)
        has_data &= gone["key"].astype(str).str.split(":").str[0].isin(evaluated).to_numpy()
    return gone[has_data.to_numpy()].reset_index(drop=True), gone[~has_data.to_numpy()].reset_index(drop=True)


def _score_table(current, coverage, overdue, previous, settings) -> pd.DataFrame:
    table = coverage[["finess", "name", "accounts"]].copy()
    table = table.assign(**severity_counts(table["finess"], current, waived_included=False))
    table["overdue"] = table["finess"].map(current.loc[overdue, "finess"].value_counts()).fillna(0).astype("int64")
    table["score"] = scores(table, settings.score_weights)
    before = previous.coverage.set_index("finess")["score"] if previous is not None else pd.Series(dtype=float)
    table["previous_score"] = table["finess"].map(before)
    table["change"] = table["score"] - table["previous_score"]
    return table.sort_values(["score", "error", "warning", "finess"], ascending=[True, False, False, True],
                             ignore_index=True)


def coverage_issues(accounts: int, establishments: int, previous: PreviousRun | None,
                    settings: FollowUpSettings, file: str) -> list[InputIssue]:
    """An error-level input issue when this export covers far less than the previous one."""
    if previous is None:
        return []
    issues = []
    for label, now, before in (("comptes rattachés", accounts, previous.accounts),
                               ("établissements ayant des comptes", establishments, previous.establishments)):
        if before and (before - now) * 100 > settings.coverage_drop_percent * before:
            drop = round((before - now) * 100 / before)
            issues.append(InputIssue(
                file, None, None,
                f"couverture en forte baisse : {french_number(now)} {label} contre {french_number(before)} à "
                f"l'audit du {previous.as_of:%d/%m/%Y} (−{drop}\u00a0%, "
                f"seuil {settings.coverage_drop_percent}\u00a0%) ; "
                "un export incomplet ferait passer des constats pour résolus : vérifier l'export",
                severity="error"))
    return issues


def mark_findings(findings: list, marks: pd.DataFrame) -> list:
    """The findings with their follow-up marks set (status, first seen, age, overdue)."""
    return [
        f.with_follow_up(status, first_seen, age, overdue)
        for f, status, first_seen, age, overdue in zip(
            findings, marks["status"].tolist(), marks["first_seen"].tolist(), marks["age_months"].tolist(),
            marks["overdue"].tolist())
    ]
