"""audit.html: one self-contained French page (no network), autoescaped, printable."""

from __future__ import annotations

import datetime as dt
from functools import lru_cache
from pathlib import Path

import pandas as pd
from jinja2 import Environment, FileSystemLoader, StrictUndefined, Template, select_autoescape

from .. import __version__
from ..config.resources import templates_dir
from ..engine.access_review import MAX_REVIEW_ROWS
from ..engine.checks import describe_params
from ..files import atomic_path
from ..history.follow_up import score_change
from ..model.findings import SEVERITY_LABELS, SEVERITY_RANK
from ..model.frames import records
from ..model.text import french_number, plural
from ..run import Run
from .blocks import rule_entries, todo_blocks
from .overview import establishment_table, key_figures, rules_by_department
from .trend_chart import trend_svg


@lru_cache(maxsize=1)
def html_template() -> Template:
    """The page template, compiled once (bundles render it a thousand times): before the bundle
    workers are forked, so that they inherit it (see bundles.write_bundles)."""
    return _environment().get_template("audit.html.j2")


def _environment() -> Environment:
    environment = Environment(
        loader=FileSystemLoader(templates_dir()),
        autoescape=select_autoescape(["html", "j2"], default=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    environment.filters["plural"] = plural
    environment.filters["number"] = french_number
    return environment


RULE_ROWS = 10  # per rule on the region's page; every finding is in the workbook and the bundles
ISSUE_ROWS = 50


def rule_sections(result: Run, limit: int | None) -> list[dict]:
    """Rules with findings, most severe first, each with its entries (grouped as people read them)."""
    by_rule: dict[str, list] = {}
    for finding in result.findings:
        by_rule.setdefault(finding.rule, []).append(finding)
    sections = []
    for rule in result.rules:
        if rule.code in by_rule:
            entries = rule_entries(rule, by_rule[rule.code])
            shown = entries if limit is None else entries[:limit]
            sections.append({"rule": rule, "entries": shown, "total": len(by_rule[rule.code]),
                             "hidden": len(entries) - len(shown)})
    return sorted(sections, key=lambda s: (-SEVERITY_RANK[s["rule"].severity], s["rule"].code))


RANKING_ROWS = 30  # the page shows the worst establishments; the workbook ranks them all
GONE_ROWS = 100


def follow_up_view(result: Run, establishment: dict | None) -> dict | None:
    """What the page shows of the follow-up (None without a history)."""
    follow_up = result.follow_up
    if follow_up is None:
        return None
    scores = follow_up.scores
    own = scores.iloc[0] if establishment is not None and len(scores) else None
    score, previous_score = ((own["score"], own["previous_score"]) if own is not None
                             else (follow_up.region_score, follow_up.previous_region_score))
    title = ("Constats de l'établissement par sévérité, audit après audit" if establishment is not None
             else "Constats de la région par sévérité, audit après audit")
    view = {
        "previous": follow_up.previous_as_of.strftime("%d/%m/%Y") if follow_up.previous_as_of is not None else None,
        "statuses": follow_up.status_texts(result.findings, skip_zero=establishment is not None),
        "formula": follow_up.score_formula(),
        "resolved_count": len(follow_up.resolved),
        "score": None if score is None or pd.isna(score) else round(score),
        "change": None if previous_score is None or pd.isna(previous_score) else score_change(score - previous_score),
        "chart": trend_svg(follow_up.region_trend(), title),
        "resolved": _records(follow_up.resolved, GONE_ROWS),
        "unverified": [{**row, "missing_since": french_day(row.get("missing_since"))}
                       for row in _records(follow_up.unverified, GONE_ROWS)],
        "stale_months": follow_up.stale_months,
        "outside_trend": 0, "to_call": [], "changes": {},
    }
    if establishment is None:  # what only the region's page shows
        view.update({
            # The curve counts the audited establishments' findings; those on a FINESS that is none (ETB-02)
            # are in the badges, not in the curve: the difference is said.
            "outside_trend": int((~pd.Series([f.finess for f in result.findings], dtype=object)
                                  .isin(result.establishments["finess"])).sum()),
            "to_call": follow_up.to_call_first(RANKING_ROWS).to_dict("records"),
            "changes": {row.finess: score_change(row.change) for row in scores.itertuples() if not pd.isna(row.change)},
        })
    return view


def _records(frame: pd.DataFrame, limit: int) -> list[dict]:
    """The first `limit` rows as records, without the cost of cutting the empty tables most bundles have."""
    return records(frame.head(limit)) if len(frame) else []


def french_day(iso) -> str | None:
    """An ISO date of the history as a French sentence writes it (« 01/10/2026 »)."""
    return None if iso is None or pd.isna(iso) else dt.date.fromisoformat(iso).strftime("%d/%m/%Y")


def campaign_view(result: Run) -> dict:
    campaign = result.campaign
    names = dict(zip(result.establishments["finess"], result.establishments["name"]))
    late = campaign.late.assign(name=campaign.late["finess"].map(names).fillna(""))
    return {"as_of": campaign.as_of.strftime("%d/%m/%Y"), **campaign.summary(),
            "answered_text": campaign.answered_text(), "late_rows": late.head(RANKING_ROWS).to_dict("records")}


def write_html(result: Run, target: Path, establishment: dict | None = None) -> Path:
    """The regional page, or with `establishment` ({finess, name}) a director's page."""
    template = html_template()
    director = establishment is not None
    review = result.access_review if director else None  # the region's review is in the workbook
    table = None if director else establishment_table(result)  # the region's overview only
    page = template.render(
        result=result,
        establishment=establishment,
        report=result.report,
        sections=rule_sections(result, None if director else RULE_ROWS),
        todo=todo_blocks(result.findings, result.rules) if director else None,
        figures=None if director else key_figures(result, table),
        waived=sum(1 for f in result.findings if f.waived),
        establishments=None if director else table.to_dict("records"),
        by_department=None if director else rules_by_department(result),
        rule_titles={rule.code: rule.title for rule in result.rules},
        counts=result.severity_counts(),
        severity_labels=SEVERITY_LABELS,
        as_of=result.as_of.strftime("%d/%m/%Y"),
        version=__version__,
        skipped=[o for o in result.outcomes.values() if not o.evaluated],
        access_review=records(review) if review is not None and len(review) <= MAX_REVIEW_ROWS else None,
        issues=result.input_issues[:ISSUE_ROWS],
        follow=follow_up_view(result, establishment),
        campaign=None if director or result.campaign is None else campaign_view(result),
        describe_params=describe_params,
    )
    with atomic_path(target) as temporary:
        temporary.write_text(page, encoding="utf-8")
    return target
