"""What the review portal (vt-audit serve) shows each establishment, as data kept in the history.

The same content as the director's workbook, which the page also offers to download: the to-do
(one block per person, with the guide's steps) and the access review (one row per account). The
portal reads it back from the history, so it needs no reports folder; a director's page holds
only that establishment's rows, and nothing of how the audit was run (no option, no file path).
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path
from typing import Iterator

from ..run import Run
from .blocks import todo_blocks
from .bundles import BUNDLE_DIR, bundle_stems, review_positions

REVIEW_FIELDS = ("account", "name", "function", "category", "units", "roles", "findings")


def review_pages(run: Run, out: Path) -> Iterator[tuple[str, dict, bytes | None, str | None]]:
    """(finess, page, workbook bytes, workbook name) of every open establishment audited."""
    findings = defaultdict(list)
    for finding in run.findings:
        findings[finding.finess].append(finding)
    review = run.access_review
    positions = review_positions(review)
    rights = list(review.attrs.get("rights", ())) if review is not None else []
    # Each review row as the page keeps it, made once for the region: cutting the review's frame for
    # each of a thousand establishments cost more than the rest of the pages.
    columns = [] if review is None else [review[column].tolist() for column in (*REVIEW_FIELDS, "rights")]
    review_rows = [_review_row(values, rights) for values in zip(*columns)]
    establishments = run.establishments.sort_values("finess")
    stems = bundle_stems(establishments)
    report = run.report
    for row in establishments.itertuples(index=False):
        if row.closed:  # nothing is sent to a closed establishment
            continue
        workbook = Path(out) / BUNDLE_DIR / f"{stems[row.finess]}.xlsx"
        page = {
            "finess": row.finess, "name": row.name, "as_of": run.as_of.date().isoformat(),
            "deadline": report.deadline.isoformat() if report.deadline else None, "contact": report.contact,
            "todo": [{"subject": block.subject, "account": block.account, "severity": block.severity,
                      "entries": [{"rule": e.rule.code, "severity": e.severity, "message": e.message}
                                  for e in block.entries],
                      "steps": [list(step) for step in block.steps]}
                     for block in todo_blocks(findings[row.finess], run.evaluation.rules)],
            "rights": rights,
            "review": [review_rows[position] for position in positions.get(row.finess, ())],
        }
        yield (row.finess, page, workbook.read_bytes() if workbook.is_file() else None,
               workbook.name if workbook.is_file() else None)


def _review_row(values: tuple, rights: list[str]) -> dict:
    """One account of the review as the page shows it: its fields, and the rights it holds in the
    review's order (`values`: REVIEW_FIELDS, then the rights joined with " | ")."""
    held = set(values[-1].split(" | ")) if isinstance(values[-1], str) else set()
    return {**{field: str(value) for field, value in zip(REVIEW_FIELDS, values[:-1])},
            "rights": [right for right in rights if right in held]}
