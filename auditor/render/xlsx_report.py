"""The workbooks: the auditors' audit.xlsx, and each director's bundle workbook.

The region's workbook opens on the overview and the establishments worst
first, then holds every finding, the access review and the rules. A
director's opens on "À faire" (one block per person, with the guide's steps,
the deadline and whom to answer), then the access review to fill in; it has
no technical column. Every sheet prints on A4 landscape, one page wide (see
xlsx_sheet.py).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd

from ..engine.checks import describe_params
from ..files import atomic_path
from ..model.enums import Status
from ..model.findings import SEVERITIES, SEVERITY_LABELS
from ..model.text import french_number, plural
from ..run import Run
from .blocks import todo_blocks
from .overview import establishment_table, key_figures, rules_by_department
from .review_workbook import about_sheet, access_review_sheet
from .trend_chart import COLOURS, severity_counts
from .xlsx_sheet import Book, Scope

CHART_PIXELS = (605, 302)  # 16 cm by 8 cm at 96 dots per inch: fits an A4 page under the table


def _iso_date(iso: str | None) -> dt.date | None:
    return None if iso is None else dt.date.fromisoformat(iso)


# -- the region --------------------------------------------------------------------------------------

def _overview_sheet(book: Book, result: Run, scope: Scope) -> None:
    figures = key_figures(result, scope.overview)
    intro = [
        f"Audit des comptes ViaTrajectoire Handicap / ROR au {scope.as_of}",
        f"{plural(figures['establishments'], 'établissement audité')}, dont {plural(figures['compliant'], 'conforme')} "
        f"à la fiche pratique ({figures['compliant_share']}\u00a0%, hors suivi de la campagne) et "
        f"{plural(figures['without_accounts'], 'sans aucun compte', 'sans aucun compte')}",
        f"{plural(figures['error'], 'erreur')}, {plural(figures['warning'], 'avertissement')}, "
        f"{plural(figures['info'], 'information')} ({french_number(figures['waived'])} sous dérogation) ; "
        f"{plural(figures['input_issues'], 'problème de lecture', 'problèmes de lecture')}",
    ]
    if result.follow_up is not None and result.follow_up.region_score is not None:
        intro.append(f"Score régional : {result.follow_up.region_score:.0f}/100 ; "
                     + ", ".join(result.follow_up.status_texts(result.findings)))
    by_department = rules_by_department(result)
    departments = [c for c in by_department.columns if c != "Total"]
    titles = {rule.code: rule.title for rule in result.rules}
    sheet = scope.sheet(book, "Vue d'ensemble",
                        [("Règle", 9), ("Intitulé", 50), *((f"Dép. {d}", 8) for d in departments), ("Total", 8)],
                        intro=intro, rows=len(by_department))
    for code, counts in by_department.iterrows():
        sheet.append([code, titles[code], *(int(v) for v in counts)])
    sheet.close()


def _summary_sheet(book: Book, result: Run, scope: Scope) -> None:
    """Every establishment, worst first, with what is left to do and a link to its bundle."""
    table = scope.overview
    followed = result.follow_up is not None
    follow_columns = [("Score", 8), ("Évolution", 10), ("À relancer", 10)] if followed else []
    sheet = scope.sheet(book, "Synthèse", [
        ("FINESS", 12), ("Établissement", 40), ("Dép.", 6), ("Dans le référentiel", 11), ("Fermé", 8),
        ("Comptes rattachés", 10), ("Erreurs", 9), ("Avertissements", 14), ("Informations", 13),
        ("Conforme", 10), *follow_columns, ("Rapport de l'établissement", 30),
    ], rows=len(table), freeze_columns=2)
    follow = []
    if followed:
        overdue = result.follow_up.scores.set_index("finess")["overdue"]
        follow = [[_int(v) for v in table["score"]], [_int(v) for v in table["change"]],
                  table["finess"].map(overdue).fillna(0).astype(int).tolist()]
    links = [None if pd.isna(bundle) else bundle.replace(".html", ".xlsx") for bundle in table["bundle"]]
    sheet.append_table([
        table["finess"].tolist(), table["name"].tolist(), table["department"].tolist(),
        table["in_referential"].astype(bool).tolist(), table["closed"].astype(bool).tolist(),
        *(table[column].astype(int).tolist() for column in ("accounts", "error", "warning", "info")),
        table["compliant"].astype(bool).tolist(), *follow, [None if link is None else "ouvrir" for link in links],
    ], link_column=sheet.width - 1, links=links)  # the last column
    sheet.close()


def _int(value):
    return None if pd.isna(value) else int(value)


def _findings_sheet(book: Book, result: Run, scope: Scope) -> None:
    """Every finding, with its rule's fix and why (the region's; a director reads "À faire")."""
    rules = {rule.code: rule for rule in result.rules}
    followed = result.follow_up is not None
    follow_columns = [("Statut", 12), ("Depuis le", 11), ("Âge (mois)", 8), ("À relancer", 9)] if followed else []
    sheet = scope.sheet(book, "Constats", [
        ("Sévérité", 13), ("Règle", 8), ("Intitulé", 34), ("FINESS", 12), ("Établissement", 30), ("Compte", 16),
        ("Personne", 24), ("Constat", 50), *follow_columns, ("Dérogation", 30), ("Comment corriger", 60),
        ("Pourquoi", 50), ("Clé", 28),
    ], rows=len(result.findings), freeze_columns=3)
    shown = result.findings[:sheet.room()]
    severities = [f.severity for f in shown]
    codes = [f.rule for f in shown]
    follow = [[f.status for f in shown], [_iso_date(f.first_seen) for f in shown], [f.age_months for f in shown],
              ["oui" if f.overdue else None for f in shown]] if followed else []
    sheet.append_table([
        [SEVERITY_LABELS[s] for s in severities], codes, [rules[c].title for c in codes],
        [f.finess for f in shown], [f.establishment for f in shown], [f.account for f in shown],
        [f.subject for f in shown], [f.message for f in shown], *follow, [f.waiver for f in shown],
        [rules[c].fix for c in codes], [rules[c].why for c in codes], [f.key for f in shown],
    ], severity_column=0, severities=severities)
    sheet.left_out(len(result.findings) - len(shown), "constats")
    sheet.close()


def _rules_sheet(book: Book, result: Run, scope: Scope) -> None:
    sheet = scope.sheet(book, "Règles", [
        ("Code", 8), ("Sévérité", 13), ("Intitulé", 36), ("Paramètres", 30), ("Évaluée", 14),
        ("Constats", 9), ("Pourquoi", 50), ("Comment corriger", 55), ("Source", 40),
    ], rows=len(result.rules))
    for rule in result.rules:
        outcome = result.outcomes[rule.code]
        evaluated = "oui" if outcome.evaluated else f"non : {outcome.skipped_because}"
        sheet.append([rule.code, SEVERITY_LABELS[rule.severity], rule.title,
                      " ; ".join(describe_params(rule.check, outcome.params)), evaluated, outcome.findings,
                      rule.why, rule.fix, rule.source], severity_column=1, severity=rule.severity)
    sheet.close()


def _issues_sheet(book: Book, result: Run, scope: Scope) -> None:
    if scope.director and not result.input_issues:
        return
    sheet = scope.sheet(book, "Problèmes de lecture", [
        ("Fichier", 30), ("Ligne", 7), ("Colonne", 18), ("Gravité", 13), ("Problème", 50), ("Valeur", 24),
        ("FINESS", 12),
    ], rows=len(result.input_issues))
    shown = result.input_issues[:sheet.room()]
    severities = [issue.severity for issue in shown]
    sheet.append_table([[issue.file for issue in shown], [issue.line for issue in shown],
                        [issue.column for issue in shown], [SEVERITY_LABELS.get(s, s) for s in severities],
                        [issue.reason for issue in shown], [issue.value for issue in shown],
                        [issue.finess for issue in shown]], severity_column=3, severities=severities)
    sheet.left_out(len(result.input_issues) - len(shown), "problèmes de lecture")
    sheet.close()


def _waivers_sheet(book: Book, result: Run, scope: Scope) -> None:
    if result.waivers is None or scope.director and not result.waivers.by_state():
        return
    states = result.waivers.by_state()
    sheet = scope.sheet(book, "Dérogations", [
        ("État", 18), ("Règle", 8), ("FINESS", 12), ("Compte", 16), ("Motif", 40), ("Approuvée par", 25),
        ("Expire le", 11), ("Fichier", 24), ("Ligne", 7),
    ], rows=len(states))
    for state, w in states:
        sheet.append([state, w.rule, w.finess, w.account, w.reason, w.approved_by, w.expires, w.file, w.line])
    sheet.close()


# -- the follow-up (with a history) ------------------------------------------------------------------

def _gone_sheet(book: Book, result: Run, scope: Scope) -> None:
    """The previous audit's findings that are gone: resolved, or unverified for lack of data."""
    follow_up = result.follow_up
    if follow_up is None or (follow_up.resolved.empty and follow_up.unverified.empty):
        return  # an empty sheet would print an empty page
    sheet = scope.sheet(book, "Résolus", [
        ("Statut", 12), ("Règle", 8), ("FINESS", 12), ("Établissement", 30), ("Compte", 16), ("Personne", 24),
        ("Constat du dernier audit", 55), ("Ouvert depuis le", 12), ("Établissement absent de l'export depuis", 14),
    ], rows=len(follow_up.resolved) + len(follow_up.unverified))
    for status, frame in ((Status.RESOLVED.value, follow_up.resolved), (Status.UNVERIFIED.value, follow_up.unverified)):
        missing = frame["missing_since"] if "missing_since" in frame else pd.Series(None, index=frame.index)
        for row, since in zip(frame.itertuples(index=False), missing.astype(object).where(missing.notna(), None)):
            sheet.append([status, row.rule, row.finess, row.establishment, row.account, row.subject, row.message,
                          _iso_date(row.first_seen), _iso_date(since)])
    sheet.close()


def _trend_sheet(book: Book, result: Run, scope: Scope) -> None:
    """Findings by severity over the last audits, with a native Excel line chart under the table."""
    if result.follow_up is None:
        return
    trend = result.follow_up.region_trend()
    sheet = scope.sheet(book, "Tendances", [("Audit du", 12), *((f"{SEVERITY_LABELS[s]}s".capitalize(), 16)
                                                                    for s in SEVERITIES)], rows=len(trend))
    counts = severity_counts(trend)
    for as_of, row in zip(trend["as_of"].tolist(), counts.tolist()):
        sheet.append([_iso_date(as_of), *row])
    sheet.close()
    header, last = sheet.header_row - 1, sheet.header_row - 1 + len(trend)  # rows counted from 0
    chart = book.workbook.add_chart({"type": "line"})
    chart.set_title({"name": "Constats par sévérité, audit après audit"})
    # Whole numbers only: a count axis of 0, 0.2 … 1.2 says nothing.
    highest = int(counts.max(initial=0))
    chart.set_y_axis({"name": "Constats", "num_format": "0", "min": 0, "major_unit": max(1, -(-highest // 5))})
    chart.set_x_axis({"name": "Audit du", "num_format": "mm/yyyy"})
    for column, severity in enumerate(SEVERITIES, start=1):
        chart.add_series({
            "name": [sheet.sheet.name, header, column], "categories": [sheet.sheet.name, header + 1, 0, last, 0],
            "values": [sheet.sheet.name, header + 1, column, last, column],
            # As in the pages; counts between two audits are not a curve.
            "line": {"color": COLOURS[severity], "width": 2.25}, "marker": {"type": "none"}, "smooth": False})
    chart.set_size({"width": CHART_PIXELS[0], "height": CHART_PIXELS[1]})
    sheet.sheet.insert_chart(last + 2, 0, chart)


def _establishment_trend_sheet(book: Book, result: Run, scope: Scope) -> None:
    """Each establishment's findings (all severities) at each of the last audits, worst score first."""
    if result.follow_up is None:
        return
    follow_up = result.follow_up
    trend = follow_up.trend.assign(total=follow_up.trend[list(SEVERITIES)].sum(axis=1))
    wide = trend.pivot_table(index="finess", columns="as_of", values="total", aggfunc="sum")
    dates = list(wide.columns)
    sheet = scope.sheet(book, "Tendances par établissement", [
        ("FINESS", 12), ("Établissement", 40), ("Score", 8),
        *((f"{d[8:10]}/{d[5:7]}/{d[:4]}", 11) for d in dates)], rows=len(follow_up.scores), freeze_columns=2)
    wide = wide.reindex(follow_up.scores["finess"])
    for row, counts in zip(follow_up.scores.itertuples(index=False), wide.itertuples(index=False)):
        sheet.append([row.finess, row.name, int(row.score), *(_int(c) for c in counts)])
    sheet.close()


def _campaign_sheet(book: Book, result: Run, scope: Scope) -> None:
    """Last month's campaign: each establishment written to, whether and when it answered, who is late."""
    campaign = result.campaign
    if campaign is None:
        return
    summary = campaign.summary()
    intro = [f"Campagne de l'audit du {campaign.as_of:%d/%m/%Y}",
             f"{campaign.answered_text()} ; {plural(summary['late'], 'en retard', 'en retard')}",
             f"{plural(summary['decided'], 'décision')} pour {plural(summary['accounts'], 'compte')} : "
             + ", ".join(f"{kind} {french_number(n)}" for kind, n in summary["by_decision"].items())]
    names = dict(zip(result.establishments["finess"], result.establishments["name"]))
    late = set(campaign.late["finess"])
    table = campaign.establishments
    sheet = scope.sheet(book, "Campagne", [
        ("FINESS", 12), ("Établissement", 36), ("Envoyé le", 11), ("Date limite", 11), ("Répondu le", 11),
        ("Répondu par", 24), ("Comptes", 9), ("Décisions", 9), ("En retard", 9),
    ], intro=intro, rows=len(table), freeze_columns=2)
    for row in table.sort_values(["answered_at", "finess"], na_position="first").itertuples(index=False):
        sheet.append([row.finess, names.get(row.finess, ""), _iso_date(row.sent_at[:10]), _iso_date(row.deadline),
                      _iso_date(row.answered_at[:10]) if isinstance(row.answered_at, str) else None,
                      row.answered_by if isinstance(row.answered_by, str) else None,
                      _int(row.accounts), _int(row.decisions), "oui" if row.finess in late else None])
    sheet.close()


# -- the director ------------------------------------------------------------------------------------

def _todo_sheet(book: Book, result: Run, scope: Scope) -> None:
    """One block per person (the establishment's own first) with all their findings and the guide's steps."""
    blocks = todo_blocks(result.findings, result.rules)
    report = result.report
    intro = [f"À faire : {scope.establishment['name']} (FINESS {scope.establishment['finess']})",
             f"Situation des comptes ViaTrajectoire Handicap / ROR au {scope.as_of}"]
    if report.deadline:
        intro.append(f"À traiter avant le {report.deadline:%d/%m/%Y}, puis renvoyer ce classeur avec la "
                     "feuille « Revue des accès » complétée (colonne Décision).")
    if report.contact:
        intro.append(f"Réponses et questions : {report.contact}")
    if not blocks:
        intro.append("Aucun constat : il reste à compléter la revue des accès.")
    sheet = scope.sheet(book, "À faire", [
        # On paper, who, what was found, the guide's steps and when it was done: 150 characters wide (see
        # xlsx_sheet.PRINT_WIDTH); the comment column is for the screen.
        ("Personne / compte", 22), ("Sévérité", 10), ("Constats", 52), ("Que faire (fiche pratique)", 56),
        ("Fait le", 10), ("Commentaire", 30),
    ], intro=intro, rows=len(blocks), freeze_columns=1, write_in=[4])  # « Fait le »: framed, to be filled in
    for block in blocks:
        who = f"{block.subject} ({block.account})" if block.account else f"{block.subject} (l'établissement)"
        found = "\n".join(f"• {SEVERITY_LABELS[e.severity]} {e.rule.code} · {e.rule.title} : {e.message}"
                          + (f" [sous dérogation : {e.waiver}]" if e.waiver else "") for e in block.entries)
        steps = "\n".join(f"{title} : {fix}" for title, fix in block.steps)
        sheet.append([who, SEVERITY_LABELS[block.severity], found, steps, None, None],
                     severity_column=1, severity=block.severity)
    sheet.close()


REGIONAL_SHEETS = (_overview_sheet, _summary_sheet, _findings_sheet, _gone_sheet, _trend_sheet,
                   _establishment_trend_sheet, _campaign_sheet, access_review_sheet, _rules_sheet, _issues_sheet,
                   _waivers_sheet, about_sheet)
# The director's "À faire" holds every finding with its steps: no separate findings sheet to print twice.
# No « Problèmes de lecture »: the files, their lines and the reader's notes are the auditor's.
DIRECTOR_SHEETS = (_todo_sheet, access_review_sheet, _gone_sheet, _trend_sheet, _waivers_sheet, about_sheet)


def write_xlsx(result: Run, target: Path, establishment: dict | None = None) -> Path:
    """The region's workbook, or with `establishment` ({finess, name}) its director's."""
    scope = Scope(result.as_of.strftime("%d/%m/%Y"), establishment,
                  None if establishment else establishment_table(result))
    with atomic_path(target) as temporary:  # first: a folder that cannot be written stops before any work
        book = Book()
        for write_sheet in DIRECTOR_SHEETS if scope.director else REGIONAL_SHEETS:
            write_sheet(book, result, scope)
        book.save(temporary)
    return target
