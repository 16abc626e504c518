"""The library entry points: run an audit, write its reports. The CLI only calls these."""

from __future__ import annotations

import logging
from pathlib import Path

import pandas as pd

from .campaign.status import last_campaign
from .config.catalogue import Catalogue, load_catalogue
from .config.resources import rules_dir
from .config.settings import FollowUpSettings, load_settings
from .config.waivers import apply_waivers, load_waivers
from .engine import evaluate as engine
from .engine.evaluate import AuditResult
from .engine.rulebook import Rule, apply_overrides, load_rules, rule_files
from .files import output_folder, replace_reports
from .history.recording import follow
from .history.store import History
from .inputs.load import load_inputs
from .model.progress import Progress, silent
from .render import DEFAULT_FORMATS
from .render.bundles import BUNDLE_DIR, bundle_links, write_bundles
from .render.html_report import write_html
from .render.json_report import write_json
from .render.junit_report import write_junit
from .render.xlsx_report import write_xlsx

log = logging.getLogger(__name__)


def rules_folder(rules_path: Path | None = None) -> Path:
    return Path(rules_path) if rules_path else rules_dir()


def load_rulebook(rules_path: Path | None = None, params: list[str] = ()) -> tuple[Catalogue, list[Rule]]:
    """Catalogue and rules from a rules folder (the built-in one by default)."""
    folder = rules_folder(rules_path)
    catalogue = load_catalogue(folder)
    rules = apply_overrides(load_rules(rule_files(folder), catalogue), list(params))
    return catalogue, rules


def audit(
    paths: list[Path],
    as_of,
    *,
    rules_path: Path | None = None,
    params: list[str] = (),
    forced_kinds: dict[Path, str] | None = None,
    waivers_path: Path | None = None,
    progress: Progress = silent,
    access_review: bool = True,
    review_limit: int | None = None,
    history: History | None = None,
    settings: FollowUpSettings | None = None,
    departments: str | None = None,
) -> AuditResult:
    """Read, evaluate, apply waivers; with a `history`, compare with the previous audit in it."""
    catalogue, rules = load_rulebook(rules_path, params)
    if history is not None and settings is None:
        settings = load_settings(rules_folder(rules_path))
    waivers = load_waivers(waivers_path, {r.code for r in rules}) if waivers_path else None
    as_of = pd.Timestamp(as_of).normalize()
    scope = catalogue.departments(departments) if departments else None  # checked before reading anything
    inputs = load_inputs(paths, catalogue, as_of, forced_kinds, progress)
    inputs.scope = scope
    log.info("%d lignes de comptes, %d problèmes de lecture", len(inputs.accounts), len(inputs.issues))
    campaign = last_campaign(history, as_of) if history is not None else None
    if campaign is not None:  # last month's answers, for REV-01 and REV-02
        inputs.decisions, inputs.campaign = campaign.engine_tables()
    result = engine.run(rules, inputs, catalogue, as_of, progress, access_review, review_limit)
    result.campaign = campaign
    if waivers is not None:
        result.findings, result.waivers = apply_waivers(result.findings, waivers, as_of)
    if history is not None:
        follow(result, history, settings)
    log.info("%d constats", result.finding_count())
    return result


def write_reports(
    result: AuditResult,
    out: Path,
    formats: tuple[str, ...] = DEFAULT_FORMATS,
    per_establishment: bool = False,
    fail_on: str = "error",
    progress: Progress = silent,
    fail_on_new: bool = False,
) -> list[Path]:
    """Every report asked for into `out` (locked meanwhile); the previous run's reports this one does
    not write again are removed once the new ones are complete."""
    with output_folder(Path(out), (BUNDLE_DIR,)) as out:
        if per_establishment:  # the regional reports link to them
            result.report.bundles = bundle_links(result.establishments)
        written = []
        if "json" in formats:
            written.append(write_json(result, out / "findings.json"))
        if "junit" in formats:
            failing = {id(f) for f in result.failing(fail_on, fail_on_new)}
            written.append(write_junit(result, out / "junit.xml", lambda f: id(f) in failing))
        if "xlsx" in formats:
            written.append(write_xlsx(result, out / "audit.xlsx"))
        if "html" in formats:
            written.append(write_html(result, out / "audit.html"))
        if per_establishment:
            written.extend(write_bundles(result, out, formats, progress))
        removed = replace_reports(out, written)
    log.info("%d rapports écrits dans %s, %d rapports d'une exécution précédente retirés", len(written), out,
             len(removed))
    return written
