"""How people read findings: grouped, so that one problem reads once.

findings.json keeps one finding per rule and account (the history follows each
one), but a person reads:
- a rule marked `group: establishment` (ETB-01: a closed establishment's
  accounts) as one entry per establishment listing the accounts;
- the director's to-do as one block per person, with all their findings and
  the guide's steps for each, most severe first.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..engine.rulebook import Rule
from ..model.findings import SEVERITY_RANK, Finding
from ..model.text import plural


@dataclass
class Entry:
    """One line a person reads: a finding, or a rule's findings in one establishment merged."""

    rule: Rule
    severity: str
    finess: str
    establishment: str
    subject: str
    account: str | None
    message: str
    findings: list[Finding]

    @property
    def waiver(self) -> str | None:
        waivers = {f.waiver for f in self.findings}
        return waivers.pop() if len(waivers) == 1 else None

    @property
    def first(self) -> Finding:
        return self.findings[0]


def rule_entries(rule: Rule, findings: list[Finding]) -> list[Entry]:
    """A rule's findings as people read them (already in report order)."""
    if rule.group != "establishment":
        return [Entry(rule, f.severity, f.finess, f.establishment, f.subject, f.account, f.message, [f])
                for f in findings]
    by_place: dict[str, list[Finding]] = {}
    for finding in findings:
        by_place.setdefault(finding.finess, []).append(finding)
    entries = []
    for finess, found in by_place.items():
        accounts = ", ".join(f"{f.subject} ({f.account})" if f.account else f.subject for f in found)
        severity = max((f.severity for f in found), key=SEVERITY_RANK.get)
        message = f"{found[0].message} : {plural(len(found), 'compte')} : {accounts}"
        entries.append(Entry(rule, severity, finess, found[0].establishment, found[0].establishment, None, message,
                             found))
    return entries


@dataclass
class TodoBlock:
    """Everything to do about one person (or about the establishment itself), with the guide's steps."""

    subject: str
    account: str | None
    entries: list[Entry] = field(default_factory=list)

    @property
    def severity(self) -> str:
        return max((e.severity for e in self.entries), key=SEVERITY_RANK.get)

    @property
    def steps(self) -> list[tuple[str, str]]:
        """(rule title, the guide's steps), once per rule, most severe first."""
        seen, steps = set(), []
        for entry in self.entries:
            if entry.rule.code not in seen:
                seen.add(entry.rule.code)
                steps.append((entry.rule.title, entry.rule.fix))
        return steps


def todo_blocks(findings: list[Finding], rules: list[Rule]) -> list[TodoBlock]:
    """The director's to-do: one block per person, the establishment's own block first, most severe first."""
    by_code = {rule.code: rule for rule in rules}
    by_rule: dict[str, list[Finding]] = {}
    for finding in findings:
        by_rule.setdefault(finding.rule, []).append(finding)
    blocks: dict[tuple, TodoBlock] = {}
    for code, found in by_rule.items():
        for entry in rule_entries(by_code[code], found):
            who = (entry.account is None, entry.account or entry.subject)
            blocks.setdefault(who, TodoBlock(entry.subject, entry.account)).entries.append(entry)
    for block in blocks.values():
        block.entries.sort(key=lambda e: (-SEVERITY_RANK[e.severity], e.rule.code))
    # The establishment's own findings (no account) first: they concern every referent.
    return sorted(blocks.values(), key=lambda b: (b.account is not None, -SEVERITY_RANK[b.severity], b.subject))
