"""audit.html: one self-contained French page (no network), autoescaped, printable."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined, Template, select_autoescape

from .. import __version__
from ..access_review import MAX_REVIEW_ROWS, too_large_note
from ..engine import AuditResult
from ..findings import SEVERITY_LABELS, SEVERITY_RANK
from ..resources import templates_dir
from . import atomic_path


@lru_cache(maxsize=1)
def _template() -> Template:
    """The page template, compiled once per process (bundles render it a thousand times)."""
    return _environment().get_template("audit.html.j2")


def _environment() -> Environment:
    return Environment(
        loader=FileSystemLoader(templates_dir()),
        autoescape=select_autoescape(["html", "j2"], default=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def rule_sections(result: AuditResult) -> list[dict]:
    """Rules with findings, most severe first, each with its findings: the to-do list."""
    by_rule: dict[str, list] = {}
    for finding in result.findings:
        by_rule.setdefault(finding.rule, []).append(finding)
    sections = [
        {"rule": rule, "findings": by_rule[rule.code]}
        for rule in result.rules if rule.code in by_rule
    ]
    return sorted(sections, key=lambda s: (-SEVERITY_RANK[s["rule"].severity], s["rule"].code))


def write_html(result: AuditResult, target: Path, establishment: dict | None = None) -> Path:
    """The regional page, or with `establishment` ({finess, name}) a director's page."""
    template = _template()
    counts = result.severity_counts()
    review = result.access_review
    page = template.render(
        result=result,
        establishment=establishment,
        sections=rule_sections(result),
        counts=counts,
        severity_labels=SEVERITY_LABELS,
        as_of=result.as_of.strftime("%d/%m/%Y"),
        version=__version__,
        establishments=result.establishments.to_dict("records"),
        skipped=[o for o in result.outcomes.values() if not o.evaluated],
        access_review=review.to_dict("records") if review is not None and len(review) <= MAX_REVIEW_ROWS else None,
        review_note=too_large_note(len(review)) if review is not None and len(review) > MAX_REVIEW_ROWS else None,
    )
    with atomic_path(target) as temporary:
        temporary.write_text(page, encoding="utf-8")
    return target
