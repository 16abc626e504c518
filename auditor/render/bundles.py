"""One bundle per establishment for its director: only that establishment's rows."""

from __future__ import annotations

import dataclasses
from collections import Counter, defaultdict
from pathlib import Path

from ..engine import AuditResult
from ..text import fold
from .html_report import write_html
from .xlsx_report import write_xlsx

BUNDLE_DIR = "etablissements"
MAX_NAME_CHARS = 60


def bundle_stem(finess: str, name: str) -> str:
    """A file name safe everywhere: FINESS and folded name, no path characters."""
    safe_finess = "".join(ch for ch in str(finess) if ch.isalnum())[:12] or "sans-finess"
    slug = fold(name).replace(" ", "-")[:MAX_NAME_CHARS].strip("-")
    return f"{safe_finess}_{slug}" if slug else safe_finess


def split_by_establishment(result: AuditResult) -> dict[str, AuditResult]:
    """A result per audited establishment, holding only its findings, issues and coverage row."""
    findings, issues = defaultdict(list), defaultdict(list)
    for finding in result.findings:
        findings[finding.finess].append(finding)
    for issue in result.input_issues:
        if issue.finess is not None:
            issues[issue.finess].append(issue)
    review = result.access_review
    reviews = dict(tuple(review.groupby("finess"))) if review is not None else {}
    no_review = review.iloc[0:0] if review is not None else None
    parts = {}
    for finess, rows in result.establishments.groupby("finess", sort=True):
        per_rule = Counter(f.rule for f in findings.get(finess, []))
        parts[finess] = dataclasses.replace(
            result,
            findings=findings.get(finess, []),
            input_issues=issues.get(finess, []),
            establishments=rows.reset_index(drop=True),
            waivers=result.waivers.restricted_to(finess) if result.waivers is not None else None,
            access_review=reviews.get(finess, no_review),
            outcomes={code: dataclasses.replace(outcome, findings=per_rule[code])
                      for code, outcome in result.outcomes.items()},
        )
    return parts


def write_bundles(result: AuditResult, out: Path, formats: tuple[str, ...]) -> list[Path]:
    folder = out / BUNDLE_DIR
    written, used = [], set()
    for finess, part in split_by_establishment(result).items():
        name = part.establishments["name"].iat[0]
        stem = bundle_stem(finess, name)
        while stem.lower() in used:  # two malformed FINESS may fold to the same name
            stem += "_bis"
        used.add(stem.lower())
        if "xlsx" in formats:
            written.append(write_xlsx(part, folder / f"{stem}.xlsx"))
        if "html" in formats:
            written.append(write_html(part, folder / f"{stem}.html", {"finess": finess, "name": name}))
    return written
