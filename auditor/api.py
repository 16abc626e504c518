"""The library: one function per command. The CLI (and the web page) only call these.

    run = audit(AuditOptions(paths=(Path("exports"),), as_of=dt.date(2026, 11, 1)))
    write_reports(run, ReportOptions(Path("rapports")))

Each function takes its options as one frozen dataclass and returns values: nothing it returns
is changed afterwards (see run.py).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
from collections.abc import Mapping
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from .campaign.answers import ReturnedReview
from .campaign.answers import record_answers as _record_answers
from .campaign.config import load_config
from .campaign.mailer import SendReport, send_all
from .campaign.outbox import compose, read_contacts, write_eml
from .config.catalogue import Catalogue, load_catalogue
from .config.resources import rules_dir
from .config.settings import FollowUpSettings, load_settings
from .config.waivers import apply_waivers, load_waivers
from .engine import evaluate as engine
from .engine.rulebook import Rule, apply_overrides, load_rules, rule_files
from .files import output_folder, replace_reports
from .history.backfill import import_reports
from .history.campaign import last_campaign
from .history.recording import follow, record
from .history.store import History, RunSummary, open_history
from .inputs.load import Inputs, load_inputs
from .model.findings_file import read_report
from .model.issues import AuditError
from .model.progress import Progress, silent
from .model.text import plural
from .render import DEFAULT_FORMATS
from .render.bundles import BUNDLE_DIR, bundle_links, write_bundles
from .render.html_report import write_html
from .render.json_report import write_json
from .render.junit_report import write_junit
from .render.review_page import review_pages
from .render.xlsx_report import write_xlsx
from .run import ReportContext, Run

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class AuditOptions:
    """What an audit reads and how it judges: the exports, the audit date, the rules and their settings."""

    paths: tuple[Path, ...] = ()
    as_of: dt.date | str | None = None  # the audit date; today by default (the CLI's)
    forced_kinds: Mapping[Path, str] = field(default_factory=dict)  # files named by --accounts, --staff…
    rules: Path | None = None  # a rules folder instead of the built-in one
    params: tuple[str, ...] = ()  # NAME=VALUE overrides of rule parameters
    waivers: Path | None = None
    departments: str | None = None  # --departements
    access_review: bool = True  # build the review (the machine outputs don't show it)
    review_limit: int | None = None  # past it, only the review's size is kept (see build_access_review)

    def audit_date(self) -> pd.Timestamp:
        return pd.Timestamp(self.as_of or dt.date.today()).normalize()


@dataclass(frozen=True)
class ReportOptions:
    """Where and what `write_reports` writes."""

    out: Path
    formats: tuple[str, ...] = DEFAULT_FORMATS
    per_establishment: bool = False
    fail_on: str = "error"  # junit.xml's failures
    fail_on_new: bool = False
    context: ReportContext = field(default_factory=ReportContext)


@dataclass(frozen=True)
class Month:
    """A month's audit once its reports are written and, with a history, recorded."""

    run: Run
    written: list[Path]
    replaced: bool = False  # the history held an audit of the same date, which this one replaced
    purged: list[str] = field(default_factory=list)  # audit dates the retention removed from the history


def rules_folder(rules_path: Path | None = None) -> Path:
    return Path(rules_path) if rules_path else rules_dir()


def load_rulebook(rules_path: Path | None = None, params: tuple[str, ...] = ()) -> tuple[Catalogue, list[Rule]]:
    """Catalogue and rules from a rules folder (the built-in one by default)."""
    folder = rules_folder(rules_path)
    catalogue = load_catalogue(folder)
    rules = apply_overrides(load_rules(rule_files(folder), catalogue), list(params))
    return catalogue, rules


def audit(options: AuditOptions, history: History | None = None, settings: FollowUpSettings | None = None,
          progress: Progress = silent) -> Run:
    """Read, evaluate, apply waivers; with a `history`, compare with the previous audit in it."""
    catalogue, rules = load_rulebook(options.rules, options.params)
    if history is not None and settings is None:
        settings = load_settings(rules_folder(options.rules))
    waivers = load_waivers(options.waivers, {r.code for r in rules}) if options.waivers else None
    as_of = options.audit_date()
    scope = catalogue.departments(options.departments) if options.departments else None  # checked before reading
    inputs = load_inputs(list(options.paths), catalogue, as_of, dict(options.forced_kinds), progress)
    log.info("%d lignes de comptes, %d problèmes de lecture", len(inputs.accounts), len(inputs.issues))
    campaign = last_campaign(history, as_of) if history is not None else None
    evaluation = engine.run(rules, inputs, catalogue, as_of, scope=scope,
                            history=campaign.engine_tables() if campaign is not None else None,
                            access_review=options.access_review, review_limit=options.review_limit, progress=progress)
    run = Run(evaluation, evaluation.input_issues, campaign=campaign)
    if waivers is not None:
        records, status = apply_waivers(run.findings, waivers, as_of)
        run = dataclasses.replace(run, records=records, waivers=status)
    if history is not None:
        follow_up, records = follow(evaluation, run.findings, history, settings)
        run = dataclasses.replace(run, records=records, follow_up=follow_up,
                                  input_issues=follow_up.coverage_issues + run.input_issues)
    log.info("%d constats", run.finding_count())
    return run


def write_reports(run: Run, options: ReportOptions, progress: Progress = silent) -> list[Path]:
    """Every report asked for into `options.out` (locked meanwhile); the previous run's reports this one
    does not write again are removed once the new ones are complete."""
    context = options.context
    if options.per_establishment:  # the regional reports link to them
        context = dataclasses.replace(context, bundles=bundle_links(run.establishments))
    run = dataclasses.replace(run, report=context)
    with output_folder(Path(options.out), (BUNDLE_DIR,)) as out:
        written = []

        def regional_reports() -> None:
            if "json" in options.formats:
                written.append(write_json(run, out / "findings.json"))
            if "junit" in options.formats:
                failing = {id(f) for f in run.failing(options.fail_on, options.fail_on_new)}
                written.append(write_junit(run, out / "junit.xml", lambda f: id(f) in failing))
            if "xlsx" in options.formats:
                written.append(write_xlsx(run, out / "audit.xlsx"))
            if "html" in options.formats:
                written.append(write_html(run, out / "audit.html"))

        if options.per_establishment:  # the regional reports are written while the workers write the bundles
            written.extend(write_bundles(run, out, options.formats, progress, meanwhile=regional_reports))
        else:
            regional_reports()
        removed = replace_reports(out, written)
    log.info("%s dans %s, %s", plural(len(written), "rapport écrit", "rapports écrits"), out,
             plural(len(removed), "rapport d'une exécution précédente retiré", "rapports d'une exécution précédente "
                    "retirés"))
    return written


def run_month(options: AuditOptions, reports: ReportOptions, history_path: Path | None = None,
              retention_months: int | None = None, progress: Progress = silent) -> Month:
    """`vt-audit run`: audit, write the reports and, with a history, record the audit once they are complete."""
    if reports.fail_on_new and history_path is None:
        raise AuditError("--fail-on-new compare avec l'audit précédent : donnez aussi --history FICHIER")
    deadline = reports.context.deadline
    if deadline is not None and deadline <= options.audit_date().date():
        raise AuditError(f"--deadline : le {deadline:%d/%m/%Y} n'est pas après la date d'audit "
                         f"({options.audit_date():%d/%m/%Y}) : les directions n'auraient pas le temps de répondre")
    with ExitStack() as stack:
        history = stack.enter_context(open_history(history_path)) if history_path else None
        settings = load_settings(rules_folder(options.rules)) if history else None
        run = audit(options, history, settings, progress)
        if history is not None:
            reports = dataclasses.replace(reports, context=dataclasses.replace(reports.context,
                                                                               review_key=history.review_key))
        written = write_reports(run, reports, progress)
        if history is None:
            return Month(run, written)
        # The review portal's pages, for a campaign (per establishment): read back by vt-audit serve.
        pages = review_pages(dataclasses.replace(run, report=reports.context), Path(reports.out)) \
            if reports.per_establishment else ()
        replaced, purged = record(history, run.evaluation, run.findings, run.follow_up,
                                  retention_months or settings.retention_months, reports.context.deadline, pages)
    return Month(run, written, replaced, purged)


def validate_inputs(options: AuditOptions) -> Inputs:
    """`vt-audit validate`: the rules and waivers checked, the exports read; no rule evaluated."""
    catalogue, rules = load_rulebook(options.rules)
    if options.waivers:
        load_waivers(options.waivers, {r.code for r in rules})
    return load_inputs(list(options.paths), catalogue, options.audit_date(), dict(options.forced_kinds))


def history_runs(history_path: Path, imports: list[Path] = (), rules_path: Path | None = None,
                 retention_months: int | None = None) -> tuple[list[tuple[Path, pd.Timestamp, bool]], list[RunSummary]]:
    """`vt-audit history [import]`: earlier findings.json recorded (oldest first), then the audits recorded."""
    settings = load_settings(rules_folder(rules_path))
    importing = bool(imports)
    with open_history(history_path, create=importing, exclusive=importing) as history:
        imported = import_reports(history, list(imports), settings, retention_months or settings.retention_months) \
            if importing else []
        return imported, history.runs()


@dataclass(frozen=True)
class Campaign:
    """What `send_campaign` did: messages written (a dry run) or the send report."""

    as_of: pd.Timestamp
    report: SendReport
    written: list[Path] | None = None  # the .eml files of a dry run
    left_out: pd.DataFrame | None = None  # finess, account, reason: referents the reports did not go to
    contact_problems: list[str] = field(default_factory=list)  # the contacts file's rows left out, with their line


def send_campaign(reports: Path, config_path: Path, history_path: Path, dry_run: Path | None = None, *,
                  resend_uncertain: bool = False, progress: Progress = silent) -> Campaign:
    """`vt-audit send`: each establishment's workbook to its recipients, journaled in the history."""
    config = load_config(config_path)
    if dry_run is not None and dry_run.exists() and not dry_run.is_dir():
        raise AuditError(f"--dry-run {dry_run} : est un fichier ; donner un dossier où écrire les messages")
    with open_history(history_path, create=False) as history:
        as_of = read_report(Path(reports) / "findings.json")["as_of"]
        config = dataclasses.replace(config, deadline=campaign_deadline(config.deadline, history.run_deadline(as_of),
                                                                        as_of, dt.date.today()))
        recipients = history.run_recipients(as_of)
        if recipients is None:
            raise AuditError(f"{history_path} : aucun audit du {as_of:%d/%m/%Y} dans l'historique ; "
                             "lancer « vt-audit run --per-establishment --history » d'abord")
        contact_problems = []
        if config.contacts is not None:
            contacts, contact_problems = read_contacts(config.contacts)
            recipients = pd.concat([recipients, contacts], ignore_index=True)
        left_out = history.run_left_out(as_of)
        as_of, outgoing = compose(Path(reports), config, recipients)
        if dry_run is not None:
            written = write_eml(outgoing, dry_run)
            return Campaign(as_of, SendReport(without_message=[o for o in outgoing if o.message is None]), written,
                            left_out, contact_problems)
        report = send_all(outgoing, config, history, as_of, resend_uncertain=resend_uncertain, progress=progress)
        return Campaign(as_of, report, left_out=left_out,
                        contact_problems=contact_problems)


def campaign_deadline(in_file: dt.date | None, in_workbooks: dt.date | None, as_of: pd.Timestamp,
                      today: dt.date) -> dt.date:
    """The one deadline of a campaign: the workbooks' (run --deadline), which the campaign file may repeat
    but not contradict; never before the audit or the sending day (last month's file reused)."""
    if in_file is not None and in_workbooks is not None and in_file != in_workbooks:
        raise AuditError(f"date limite du fichier de campagne ({in_file:%d/%m/%Y}) différente de celle des classeurs "
                         f"(vt-audit run --deadline : {in_workbooks:%d/%m/%Y}) : une seule date limite, retirer "
                         "« deadline » du fichier de campagne ou la corriger")
    deadline = in_workbooks or in_file
    if deadline is None:
        raise AuditError("aucune date limite : la donner à « vt-audit run --deadline AAAA-MM-JJ » (les classeurs la "
                         "portent) ou dans le fichier de campagne (« deadline »)")
    if deadline <= as_of.date() or deadline < today:
        raise AuditError(f"date limite du {deadline:%d/%m/%Y} déjà passée (audit du {as_of:%d/%m/%Y}, envoi le "
                         f"{today:%d/%m/%Y}) : fichier de campagne d'un mois précédent ? donner la date de ce mois")
    return deadline


def record_answers(files: list[Path], history_path: Path) -> tuple[list[ReturnedReview], list[ReturnedReview]]:
    """`vt-audit answers`: the returned workbooks' decisions into the history; returns (recorded, refused)."""
    with open_history(history_path, create=False) as history:
        return _record_answers(files, history)
