"""audit.xlsx: the auditors' workbook, streamed with openpyxl's write-only mode.

Each sheet has a frozen header row, filters and set widths; severities are
coloured. Text that a spreadsheet would take for a formula (=, +, -, @, tab,
carriage return first) is stored as text, never as a formula.
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterable

import pandas as pd
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE, Cell
from openpyxl.chart import LineChart, Reference
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation

from ..access_review import DECISIONS, MAX_REVIEW_ROWS, too_large_note
from ..checks import describe_params
from ..engine import AuditResult
from ..findings import SEVERITIES, SEVERITY_LABELS
from ..history.follow_up import RESOLVED, UNVERIFIED
from . import atomic_path

FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
SEVERITY_FILLS = {
    "error": PatternFill("solid", fgColor="FFC7CE"),
    "warning": PatternFill("solid", fgColor="FFEB9C"),
    "info": PatternFill("solid", fgColor="DDEBF7"),
}
TREND_COLOURS = {"error": "C00000", "warning": "B38600", "info": "3A78C3"}  # as in the HTML curve
HEADER_FONT = Font(bold=True)
HEADER_FILL = PatternFill("solid", fgColor="D9D9D9")
WRAP = Alignment(wrap_text=True, vertical="top")


class _Sheet:
    """A write-only sheet with a header row, filters and widths."""

    def __init__(self, workbook: Workbook, title: str, columns: list[tuple[str, int]]):
        self.sheet = workbook.create_sheet(title)
        self.sheet.freeze_panes = "A2"
        for index, (_, width) in enumerate(columns, start=1):
            self.sheet.column_dimensions[get_column_letter(index)].width = width
        self.width = len(columns)
        self.rows = 1
        header = []
        for name, _ in columns:
            cell = WriteOnlyCell(self.sheet, value=name)
            cell.font, cell.fill = HEADER_FONT, HEADER_FILL
            header.append(cell)
        self.sheet.append(header)

    def append(self, values: Iterable, severity_column: int | None = None, severity: str | None = None,
               wrap: bool = False):
        # Plain values where they are safe: a styled cell costs several times a plain one,
        # and the big sheets have hundreds of thousands of them.
        if wrap:  # the small sheets of long texts only
            row = [safe_cell(self.sheet, value) for value in values]
            for cell in row:
                cell.alignment = WRAP
        else:
            row = [safe_value(self.sheet, value) for value in values]
        if severity_column is not None and severity in SEVERITY_FILLS:
            if not isinstance(row[severity_column], Cell):
                row[severity_column] = safe_cell(self.sheet, row[severity_column])
            row[severity_column].fill = SEVERITY_FILLS[severity]
        self.sheet.append(row)
        self.rows += 1

    def close(self):
        self.sheet.auto_filter.ref = f"A1:{get_column_letter(self.width)}{max(self.rows, 2)}"


def safe_value(sheet, value):
    """`value` ready for a write-only row: a plain value, or a text cell where a plain one would be a formula."""
    if value is None or isinstance(value, (int, float)) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and not value.startswith(FORMULA_TRIGGERS) and not ILLEGAL_CHARACTERS_RE.search(value):
        return value
    return safe_cell(sheet, value)


def safe_cell(sheet, value) -> WriteOnlyCell:
    """A cell that shows `value` as it is: text stays text, whatever it starts with."""
    if value is None:
        return WriteOnlyCell(sheet, value=None)
    if isinstance(value, bool):
        return WriteOnlyCell(sheet, value="oui" if value else "non")
    if isinstance(value, (int, float)):
        return WriteOnlyCell(sheet, value=value)
    text = ILLEGAL_CHARACTERS_RE.sub("", str(value))
    cell = WriteOnlyCell(sheet, value=text)
    if text.startswith(FORMULA_TRIGGERS):
        cell.data_type = "s"  # openpyxl took it for a formula: store the text itself
        cell.quotePrefix = True  # and Excel keeps it as text when the cell is edited
    return cell


def _access_review_sheet(workbook: Workbook, result: AuditResult) -> None:
    """One row per active account and establishment, with a decision list for the director."""
    review = result.access_review
    sheet = _Sheet(workbook, "Revue des accès", [
        ("FINESS", 12), ("Établissement", 30), ("Compte", 16), ("Personne", 26), ("Fonction", 24),
        ("Catégorie", 20), ("Unités", 22), ("Rôles", 45), ("Droits", 60), ("Constats", 14),
        (f"Décision ({' / '.join(DECISIONS)})", 22), ("Commentaire", 40),
    ])
    if len(review) > MAX_REVIEW_ROWS:
        sheet.append([None, too_large_note(len(review))])
        sheet.close()
        return
    for row in review.itertuples(index=False):
        sheet.append([row.finess, row.establishment, row.account, row.name, row.function, row.category,
                      row.units, row.roles, row.rights, row.findings, None, None])
    if len(review):
        decision = DataValidation(type="list", formula1=f'"{",".join(DECISIONS)}"', allow_blank=True,
                                  errorTitle="Décision", error=f"Choisir : {', '.join(DECISIONS)}")
        decision.add(f"K2:K{len(review) + 1}")
        sheet.sheet.data_validations.append(decision)  # write-only sheets have no add_data_validation()
    sheet.close()


def _summary_sheet(workbook: Workbook, result: AuditResult) -> None:
    summary = _Sheet(workbook, "Synthèse", [
        ("FINESS", 12), ("Établissement", 40), ("Dans le référentiel", 12), ("Fermé", 8),
        ("Comptes rattachés", 12), ("Erreurs", 10), ("Avertissements", 14), ("Informations", 13),
    ])
    for row in result.establishments.itertuples(index=False):
        summary.append([row.finess, row.name, bool(row.in_referential), bool(row.closed), int(row.accounts),
                        int(row.error), int(row.warning), int(row.info)])
    summary.close()


def _findings_sheet(workbook: Workbook, result: AuditResult) -> None:
    rules = {rule.code: rule for rule in result.rules}
    followed = result.follow_up is not None
    follow_columns = [("Statut", 12), ("Depuis le", 12), ("Âge (mois)", 9), ("À relancer", 10)] if followed else []
    findings = _Sheet(workbook, "Constats", [
        ("Sévérité", 14), ("Règle", 9), ("Intitulé", 45), ("FINESS", 12), ("Établissement", 35),
        ("Compte", 18), ("Personne", 28), ("Constat", 70), *follow_columns, ("Dérogation", 40),
        ("Comment corriger", 60), ("Pourquoi", 60), ("Clé", 30),
    ])
    for f in result.findings:
        rule = rules[f.rule]
        follow = [f.status, _date_text(f.first_seen), f.age_months, "oui" if f.overdue else None] if followed else []
        findings.append([SEVERITY_LABELS[f.severity], f.rule, rule.title, f.finess, f.establishment, f.account,
                         f.subject, f.message, *follow, f.waiver, rule.fix, rule.why, f.key],
                        severity_column=0, severity=f.severity)
    findings.close()


def _date_text(iso: str | None) -> str | None:
    return None if iso is None else f"{iso[8:10]}/{iso[5:7]}/{iso[:4]}"


def _ranking_sheet(workbook: Workbook, result: AuditResult) -> None:
    """Every establishment, worst score first, with its change and findings to chase."""
    if result.follow_up is None:
        return
    follow_up = result.follow_up
    sheet = _Sheet(workbook, "Suivi", [
        ("Rang", 7), ("FINESS", 12), ("Établissement", 40), ("Comptes rattachés", 12), ("Score", 8),
        ("Score précédent", 10), ("Évolution", 10), ("Erreurs", 9), ("Avertissements", 14), ("Informations", 13),
        (f"À relancer ({follow_up.stale_months} mois ou plus)", 16),
    ])
    for rank, row in enumerate(follow_up.scores.itertuples(index=False), start=1):
        previous = None if pd.isna(row.previous_score) else int(row.previous_score)
        change = None if pd.isna(row.change) else int(row.change)
        sheet.append([rank, row.finess, row.name, int(row.accounts), int(row.score), previous, change,
                      int(row.error), int(row.warning), int(row.info), int(row.overdue)])
    sheet.close()


def _gone_sheet(workbook: Workbook, result: AuditResult) -> None:
    """The previous audit's findings that are gone: resolved, or unverified for lack of data."""
    if result.follow_up is None:
        return
    sheet = _Sheet(workbook, "Résolus", [
        ("Statut", 12), ("Règle", 9), ("FINESS", 12), ("Établissement", 35), ("Compte", 18), ("Personne", 28),
        ("Constat du dernier audit", 70), ("Ouvert depuis le", 14),
    ])
    for status, frame in ((RESOLVED, result.follow_up.resolved), (UNVERIFIED, result.follow_up.unverified)):
        for row in frame.itertuples(index=False):
            sheet.append([status, row.rule, row.finess, row.establishment, row.account, row.subject, row.message,
                          _date_text(row.first_seen)])
    sheet.close()


def _trend_sheet(workbook: Workbook, result: AuditResult) -> None:
    """Findings by severity over the last audits, with a native Excel line chart."""
    if result.follow_up is None:
        return
    trend = result.follow_up.region_trend()
    sheet = _Sheet(workbook, "Tendances", [("Audit du", 12), *((f"{SEVERITY_LABELS[s]}s".capitalize(), 16)
                                                              for s in SEVERITIES)])
    for row in trend.itertuples(index=False):
        sheet.append([_date_text(row.as_of), *(int(getattr(row, s)) for s in SEVERITIES)])
    sheet.close()
    chart = LineChart()
    chart.title = "Constats par sévérité, audit après audit"
    chart.y_axis.title = "Constats"
    chart.x_axis.title = "Audit du"
    chart.height, chart.width = 8, 16  # cm: fits an A4 page under the table
    chart.add_data(Reference(sheet.sheet, min_col=2, max_col=1 + len(SEVERITIES), min_row=1, max_row=len(trend) + 1),
                   titles_from_data=True)
    chart.set_categories(Reference(sheet.sheet, min_col=1, min_row=2, max_row=len(trend) + 1))
    for series, severity in zip(chart.series, SEVERITIES):
        series.graphicalProperties.line.solidFill = TREND_COLOURS[severity]
        series.graphicalProperties.line.width = 28575  # 2.25 pt
        series.smooth = False  # counts between two audits are not a curve
    sheet.sheet.add_chart(chart, f"A{len(trend) + 3}")


def _establishment_trend_sheet(workbook: Workbook, result: AuditResult) -> None:
    """Each establishment's findings (all severities) at each of the last audits, worst score first."""
    if result.follow_up is None:
        return
    follow_up = result.follow_up
    trend = follow_up.trend.assign(total=follow_up.trend[list(SEVERITIES)].sum(axis=1))
    wide = trend.pivot_table(index="finess", columns="as_of", values="total", aggfunc="sum")
    dates = list(wide.columns)
    sheet = _Sheet(workbook, "Tendances par établissement", [
        ("FINESS", 12), ("Établissement", 40), ("Score", 8), *((_date_text(d), 11) for d in dates)])
    wide = wide.reindex(follow_up.scores["finess"])
    for row, counts in zip(follow_up.scores.itertuples(index=False), wide.itertuples(index=False)):
        sheet.append([row.finess, row.name, int(row.score), *(None if pd.isna(c) else int(c) for c in counts)])
    sheet.close()


def _rules_sheet(workbook: Workbook, result: AuditResult) -> None:
    rule_sheet = _Sheet(workbook, "Règles", [
        ("Code", 9), ("Sévérité", 14), ("Intitulé", 45), ("Paramètres", 22), ("Évaluée", 30),
        ("Constats", 10), ("Pourquoi", 70), ("Comment corriger", 70), ("Source", 50),
    ])
    for rule in result.rules:
        outcome = result.outcomes[rule.code]
        evaluated = "oui" if outcome.evaluated else f"non : {outcome.skipped_because}"
        params = " ; ".join(describe_params(rule.check, outcome.params))
        rule_sheet.append([rule.code, SEVERITY_LABELS[rule.severity], rule.title, params, evaluated,
                           outcome.findings, rule.why, rule.fix, rule.source],
                          severity_column=1, severity=rule.severity, wrap=True)
    rule_sheet.close()


def _issues_sheet(workbook: Workbook, result: AuditResult) -> None:
    issues = _Sheet(workbook, "Problèmes de lecture", [
        ("Fichier", 30), ("Ligne", 8), ("Colonne", 20), ("Gravité", 14), ("Problème", 60), ("Valeur", 30),
        ("FINESS", 12),
    ])
    for issue in result.input_issues:
        issues.append([issue.file, issue.line, issue.column, SEVERITY_LABELS.get(issue.severity, issue.severity),
                       issue.reason, issue.value, issue.finess], severity_column=3, severity=issue.severity)
    issues.close()


def _waivers_sheet(workbook: Workbook, result: AuditResult) -> None:
    if result.waivers is None:
        return
    waivers = _Sheet(workbook, "Dérogations", [
        ("État", 22), ("Règle", 9), ("FINESS", 12), ("Compte", 18), ("Motif", 50), ("Approuvée par", 25),
        ("Expire le", 12), ("Fichier", 30), ("Ligne", 8),
    ])
    for state, w in result.waivers.by_state():
        waivers.append([state, w.rule, w.finess, w.account, w.reason, w.approved_by,
                        w.expires.strftime("%d/%m/%Y"), w.file, w.line])
    waivers.close()


def _about_sheet(workbook: Workbook, result: AuditResult) -> None:
    about = _Sheet(workbook, "À propos", [("Élément", 30), ("Valeur", 80)])
    about.append(["Date d'audit", result.as_of.strftime("%d/%m/%Y")])
    for source in result.sources:
        about.append([f"Fichier lu ({source.label})", f"{source.path} : {source.description}, {source.rows} lignes"])
    about.close()


# The auditors' workbook has every sheet; a director's leaves out the region-wide ones
# (each sheet costs a few milliseconds, and a region writes a thousand workbooks).
REGIONAL_SHEETS = (_summary_sheet, _ranking_sheet, _findings_sheet, _gone_sheet, _trend_sheet,
                   _establishment_trend_sheet, _access_review_sheet, _rules_sheet, _issues_sheet, _waivers_sheet,
                   _about_sheet)
DIRECTOR_SHEETS = (_findings_sheet, _gone_sheet, _trend_sheet, _access_review_sheet, _issues_sheet, _waivers_sheet,
                   _about_sheet)


def write_xlsx(result: AuditResult, target: Path, sheets=REGIONAL_SHEETS) -> Path:
    workbook = Workbook(write_only=True)
    for write_sheet in sheets:
        write_sheet(workbook, result)
    with atomic_path(target) as temporary:
        workbook.save(temporary)
    return target
