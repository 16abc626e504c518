"""One month's audit as the reports read it: the engine's evaluation and what the api adds to it.

`api.audit` assembles a `Run` once, from values each stage returns: the engine's `Evaluation`,
the waivers' marks, the follow-up against the history, last month's campaign. Nothing sets a
field afterwards; a report that needs another view (an establishment's part, the bundles' links)
makes a new `Run` with `dataclasses.replace`.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from functools import cached_property

import pandas as pd

from .config.waivers import WaiverStatus
from .engine.evaluate import Evaluation
from .engine.rulebook import Rule
from .history.campaign import CampaignStatus
from .history.follow_up import FollowUp
from .inputs.load import SourceFile
from .model.enums import Status
from .model.findings import SEVERITY_RANK, Finding, RuleOutcome
from .model.issues import InputIssue


@dataclass(frozen=True)
class ReportContext:
    """What the reports say besides the findings: how the run was made and, for the directors,
    by when and to whom to answer; where each establishment's bundle is, once written."""

    command: str | None = None
    deadline: dt.date | None = None
    contact: str | None = None
    bundles: Mapping[str, str] = field(default_factory=dict)  # FINESS -> bundle path relative to the reports
    # The history's secret that keys each review row's fingerprint (render/review_workbook.py); None
    # without a history. Never written into a report.
    review_key: bytes | None = field(default=None, repr=False)


@dataclass(frozen=True)
class Run:
    evaluation: Evaluation
    # The run's input issues: the evaluation's, after the history's coverage guard's (see history.recording).
    input_issues: list[InputIssue]
    # The findings as records once waivers or the follow-up marked them, or an establishment's part;
    # None: made from the evaluation's columns on first use (a findings.json alone never needs them).
    records: list[Finding] | None = None
    waivers: WaiverStatus | None = None
    follow_up: FollowUp | None = None  # with a history: what changed since the previous audit
    campaign: CampaignStatus | None = None  # with a history: last month's campaign
    report: ReportContext = field(default_factory=ReportContext)

    # What the evaluation says, under the names the reports read.
    @property
    def as_of(self) -> pd.Timestamp:
        return self.evaluation.as_of

    @property
    def rules(self) -> list[Rule]:
        return self.evaluation.rules

    @property
    def outcomes(self) -> dict[str, RuleOutcome]:
        return self.evaluation.outcomes

    @property
    def establishments(self) -> pd.DataFrame:
        return self.evaluation.establishments

    @property
    def sources(self) -> list[SourceFile]:
        return self.evaluation.sources

    @property
    def access_review(self) -> pd.DataFrame | None:
        return self.evaluation.access_review

    @property
    def contacts(self) -> pd.DataFrame | None:
        return self.evaluation.contacts

    @property
    def finding_table(self) -> pd.DataFrame | None:
        return self.evaluation.finding_table

    @cached_property
    def findings(self) -> list[Finding]:
        """The findings as records: the marked ones, else made once from the evaluation's columns."""
        return self.records if self.records is not None else self.evaluation.findings

    @property
    def records_made(self) -> bool:
        """Whether the records exist: until then no waiver or follow-up mark can have been set."""
        return self.records is not None or "findings" in self.evaluation.__dict__

    def finding_count(self) -> int:
        """How many findings, without making the records."""
        return len(self.findings) if self.records_made else len(self.finding_table)

    def severity_counts(self) -> dict[str, int]:
        """Findings per severity, waived ones included."""
        if self.records_made:
            counts = Counter(f.severity for f in self.findings)
        else:
            counts = self.finding_table["severity"].value_counts()
        return {severity: int(counts.get(severity, 0)) for severity in SEVERITY_RANK}

    def waived_count(self) -> int:
        """Findings under a waiver: none before the records are made, as waivers are set on them."""
        return sum(f.waived for f in self.findings) if self.records_made else 0

    def failing(self, fail_on: str, new_only: bool = False) -> list[Finding]:
        """Findings that fail the run: at or above `fail_on` ("never": none), and not waived.

        `new_only`: only those absent from the previous audit of the history (a baseline).
        """
        return list(self._failing(fail_on, new_only))

    def fails(self, fail_on: str, new_only: bool = False) -> bool:
        """Whether some finding fails the run (see failing): the first one found answers."""
        if not self.records_made:  # no waiver, no mark yet: severities decide
            return bool(self.finding_table["severity"].isin(_failing_severities(fail_on)).any())
        return next(self._failing(fail_on, new_only), None) is not None

    def _failing(self, fail_on: str, new_only: bool) -> Iterator[Finding]:
        severities = _failing_severities(fail_on)
        return (f for f in self.findings if f.severity in severities and not f.waived
                and not (new_only and f.status == Status.PERSISTING))


def _failing_severities(fail_on: str) -> list[str]:
    """The severities at or above `fail_on` ("never": none)."""
    if fail_on == "never":
        return []
    return [severity for severity, rank in SEVERITY_RANK.items() if rank >= SEVERITY_RANK[fail_on]]
