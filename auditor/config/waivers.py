"""Waivers: an auditor's approved, dated exception to a rule for one establishment (or account).

A waived finding stays in every report, marked with the waiver's reason, and
no longer fails the run. A waiver past its expiry date no longer applies and
is listed as expired, so that an exception is never forgotten.

File format (YAML):

    waivers:
      - rule: REF-01
        finess: "130000011"
        account: jdupont            # optional: without it, the whole establishment
        reason: Second référent en cours de recrutement
        approved_by: ARS PACA, M. Durand
        expires: 2027-01-31
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from ..model.findings import Finding, finding_key
from ..model.issues import AuditError
from .schema import Field, Problems
from .yamlfile import LineDict, read_yaml, yaml_date

# A waiver's keys; the FINESS may be read by YAML as a number (refused below with how to write it),
# the expiry as a date or a text (checked below).
WAIVER_FIELDS = {"rule": Field(str, required=True), "finess": Field(object, required=True), "account": Field(object),
                 "reason": Field(str, required=True), "approved_by": Field(str, required=True),
                 "expires": Field(object, required=True)}
EXPIRING_SOON_DAYS = 30


@dataclass(frozen=True)
class Waiver:
    rule: str
    finess: str
    account: str | None
    reason: str
    approved_by: str
    expires: dt.date
    file: str
    line: int

    @property
    def key(self) -> str:
        return finding_key(self.rule, self.finess, self.account)

    def covers(self, finding: Finding) -> bool:
        if self.account is None:
            return finding.rule == self.rule and finding.finess == self.finess
        return finding.key == self.key or (
            finding.rule == self.rule and finding.finess == self.finess and finding.account == self.account)

    def describe(self) -> str:
        return f"{self.reason} (approuvée par {self.approved_by}, jusqu'au {self.expires:%d/%m/%Y})"


@dataclass
class WaiverStatus:
    """What became of each waiver in a run."""

    applied: list[Waiver]
    unused: list[Waiver]  # in force but matching no finding: perhaps the problem is fixed
    expired: list[Waiver]
    expiring_soon: list[Waiver]
    as_of: dt.date

    def by_state(self) -> list[tuple[str, Waiver]]:
        """(French state, waiver), in the order an auditor acts on them."""
        soon = set(map(id, self.expiring_soon))
        rows = [("expirée", w) for w in self.expired]
        rows += [(self._expires_in(w), w) for w in self.expiring_soon]
        rows += [("appliquée", w) for w in self.applied if id(w) not in soon]
        rows += [("sans constat couvert", w) for w in self.unused if id(w) not in soon]
        return rows

    def _expires_in(self, waiver: Waiver) -> str:
        days = (waiver.expires - self.as_of).days
        return "expire aujourd'hui" if days == 0 else "expire demain" if days == 1 else f"expire dans {days} jours"

    def restricted_to(self, finess: str) -> WaiverStatus:
        def keep(waivers):
            return [w for w in waivers if w.finess == finess]

        return WaiverStatus(keep(self.applied), keep(self.unused), keep(self.expired), keep(self.expiring_soon),
                            self.as_of)


def load_waivers(path: Path, rule_codes: set[str]) -> list[Waiver]:
    data = read_yaml(path)
    entries = data.get("waivers") if isinstance(data, dict) else None
    if not isinstance(entries, list):
        raise AuditError(f"{path} : une liste « waivers: » est attendue")
    problems, waivers = Problems(path, "les dérogations"), []
    for entry in entries:
        if not isinstance(entry, LineDict):
            problems.add(None, "chaque dérogation est un dictionnaire (clé: valeur)")
            continue
        before = len(problems)
        add = problems.at(path)
        problems.check_keys(entry, WAIVER_FIELDS)
        if isinstance(entry.get("finess"), int):  # 040000010 unquoted: YAML reads an octal number
            add(entry.line_of("finess"), f"FINESS « {entry['finess']} » lu comme un nombre : l'écrire entre "
                "guillemets (finess: \"040000010\")")
        rule = str(entry.get("rule", ""))
        if rule and rule not in rule_codes:
            add(entry.line_of("rule"), f"règle « {rule} » inconnue ; règles : {', '.join(sorted(rule_codes))}")
        expires = yaml_date(entry.get("expires"))
        if entry.get("expires") not in (None, "") and expires is None:
            add(entry.line_of("expires"), f"date d'expiration invalide « {entry.get('expires')} » "
                "(AAAA-MM-JJ ou JJ/MM/AAAA)")
        if len(problems) > before:
            continue
        account = entry.get("account")
        waivers.append(Waiver(rule, str(entry["finess"]).replace(" ", ""),
                              None if account in (None, "") else str(account), str(entry["reason"]),
                              str(entry["approved_by"]), expires, str(path), entry.line))
    problems.raise_if_any()
    return waivers


def apply_waivers(findings: list[Finding], waivers: list[Waiver], as_of: pd.Timestamp):
    """Findings with `waiver` set where a waiver in force covers them, and each waiver's fate."""
    today = pd.Timestamp(as_of).date()
    in_force = [w for w in waivers if w.expires >= today]
    by_place: dict[tuple[str, str], list[Waiver]] = defaultdict(list)
    for waiver in in_force:
        by_place[waiver.rule, waiver.finess].append(waiver)
    used: set[int] = set()
    result = []
    for finding in findings:
        candidates = by_place.get((finding.rule, finding.finess), ())
        waiver = next((w for w in candidates if w.covers(finding)), None)
        if waiver is not None:
            used.add(id(waiver))
            finding = dataclasses.replace(finding, waiver=waiver.describe())
        result.append(finding)
    soon = today + dt.timedelta(days=EXPIRING_SOON_DAYS)
    status = WaiverStatus(
        applied=[w for w in in_force if id(w) in used],
        unused=[w for w in in_force if id(w) not in used],
        expired=[w for w in waivers if w.expires < today],
        expiring_soon=[w for w in in_force if w.expires <= soon],
        as_of=today,
    )
    return result, status
