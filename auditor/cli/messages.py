"""What `vt-audit` shows on the terminal, in French: summaries, follow-up, rule texts, progress bars.

Each function formats what an api call returned; none decides anything.
"""

from __future__ import annotations

import datetime as dt
import os
import sys
import textwrap
from collections import Counter
from collections.abc import Iterable
from pathlib import Path
from typing import TypeVar

import pandas as pd

from ..api import Campaign, Month
from ..campaign.answers import ReturnedReview
from ..campaign.mailer import STATE_LABELS
from ..engine.checks import describe_params
from ..engine.rulebook import Rule
from ..history.follow_up import score_change
from ..history.store import RunSummary
from ..inputs.load import Inputs
from ..model.findings import SEVERITY_LABELS
from ..model.progress import Progress, silent
from ..model.text import plural

T = TypeVar("T")


def terminal_progress(quiet: bool = False) -> Progress:
    """A tqdm bar on stderr when a person watches: a terminal, not CI, not --quiet."""
    if quiet or os.environ.get("CI") or not sys.stderr.isatty():
        return silent
    from tqdm import tqdm

    def bar(iterable: Iterable[T], total: int, label: str) -> Iterable[T]:
        return tqdm(iterable, total=total, desc=label, unit="", leave=False, file=sys.stderr,
                    dynamic_ncols=True)

    return bar


def print_summary(month: Month, out: Path) -> None:
    run = month.run
    counts = run.severity_counts()
    waived = run.waived_count()
    print(
        f"{plural(len(run.establishments), 'établissement audité')} au {run.as_of:%d/%m/%Y} : "
        f"{plural(counts['error'], 'erreur')}, {plural(counts['warning'], 'avertissement')}, "
        f"{plural(counts['info'], 'information')}"
        + (f" (dont {plural(waived, 'constat')} sous dérogation)" if waived else "")
        + f", {plural(len(run.input_issues), 'problème de lecture', 'problèmes de lecture')}. "
        f"Rapports dans {out}"
    )
    if run.waivers is not None:
        for waiver in run.waivers.expired:
            print(f"Dérogation expirée le {waiver.expires:%d/%m/%Y} : {waiver.rule} {waiver.finess} "
                  f"({waiver.file}, ligne {waiver.line})")


def print_follow_up(month: Month, history_path: Path) -> None:
    run, follow_up = month.run, month.run.follow_up
    for issue in follow_up.coverage_issues:
        print(f"Attention : {issue.reason}", file=sys.stderr)
    since = (f"depuis l'audit du {follow_up.previous_as_of:%d/%m/%Y}" if follow_up.previous_as_of is not None
             else "premier audit de l'historique")
    score = ""
    if follow_up.region_score is not None:
        score = f" ; score régional {follow_up.region_score:.0f}/100"
        if follow_up.previous_region_score is not None:
            score += f" ({score_change(follow_up.region_score - follow_up.previous_region_score)})"
    print(f"Suivi ({since}) : " + ", ".join(follow_up.status_texts(run.findings)) + score)
    overdue = sum(1 for f in run.findings if f.overdue)
    if overdue:
        print(f"{plural(overdue, 'constat ouvert', 'constats ouverts')} depuis {follow_up.stale_months} mois "
              "ou plus : à relancer")
    if month.replaced:
        print(f"L'audit du {run.as_of:%d/%m/%Y} était déjà dans l'historique : il a été remplacé.")
    if month.purged:
        print(f"Audits effacés de l'historique (conservation) : {', '.join(month.purged)}")
    print(f"Historique : {history_path}")


def print_history(history_path: Path, imported: list[tuple[Path, pd.Timestamp, bool]],
                  runs: list[RunSummary]) -> None:
    for path, as_of, replaced in imported:
        print(f"{path} : audit du {as_of:%d/%m/%Y} importé" + (" (remplace l'audit de même date)"
                                                               if replaced else ""))
    if not runs:
        print(f"{history_path} : aucun audit enregistré")
    for run in runs:
        score = f", score {run.region_score:.0f}/100" if run.region_score is not None else ""
        print(f"{dt.date.fromisoformat(run.as_of):%d/%m/%Y} ({'importé' if run.origin == 'import' else 'audit'}, "
              f"enregistré le {dt.datetime.fromisoformat(run.ran_at):%d/%m/%Y à %H:%M}) : "
              f"{plural(run.establishments, 'établissement')}, "
              f"{plural(run.error, 'erreur')}, {plural(run.warning, 'avertissement')}, "
              f"{plural(run.info, 'information')}"
              + (f" (dont {plural(run.waived, 'constat')} sous dérogation)" if run.waived else "") + score
              + (f" ; fichiers : {', '.join(run.files)}" if run.files else ""))


def print_inputs(inputs: Inputs) -> None:
    for source in inputs.sources:
        print(f"{source.path} : {source.label}, {source.description}, {plural(source.rows, 'ligne lue')}")
    for issue in inputs.issues:
        print(f"{issue.where()} : {issue.reason} [{SEVERITY_LABELS.get(issue.severity, issue.severity)}]")
    print(f"Entrée utilisable : {plural(len(inputs.accounts), 'ligne de comptes', 'lignes de comptes')}, "
          f"{plural(len(inputs.issues), 'problème de lecture', 'problèmes de lecture')}.")


def print_campaign(campaign: Campaign, dry_run: Path | None) -> None:
    report = campaign.report
    if campaign.written is not None:
        print(f"{plural(len(campaign.written), 'message écrit', 'messages écrits')} dans {dry_run} "
              "(rien n'a été envoyé)")
    else:
        states = Counter(state for _, _, state, _ in report.not_reached)
        print(f"Campagne du {campaign.as_of:%d/%m/%Y} : "
              f"{plural(len(report.sent), 'rapport envoyé', 'rapports envoyés')} "
              f"({plural(report.reached, 'destinataire')}), "
              f"{plural(len(report.already_sent), 'déjà envoyé', 'déjà envoyés')} ; destinataires non joints : "
              f"{plural(states['deferred'], 'à réessayer', 'à réessayer')} (refus temporaire), "
              f"{plural(states['refused'], 'refusé')} (refus définitif), {plural(states['uncertain'], 'incertain')}")
    for finess, address, state, answer in report.not_reached:
        print(f"{STATE_LABELS[state].capitalize()} {finess} {address} : {answer}")
    for finess, address in report.uncertain_kept:
        print(f"Incertain {finess} {address} : non renvoyé (le serveur a peut-être reçu le message ; "
              "--renvoyer-incertains pour le renvoyer)")
    for item in report.without_message:
        print(f"Non envoyé {item.finess} {item.name} : {' ; '.join(item.problems)}")
    for problem in campaign.contact_problems:
        print(problem)
    left_out = campaign.left_out
    if left_out is not None and len(left_out):
        print(f"Écartés des destinataires (le rapport liste le personnel de l'établissement) : "
              f"{plural(len(left_out), 'compte référent', 'comptes référents')}")
        for row in left_out.itertuples(index=False):
            print(f"  {row.finess} {row.account} : {row.reason}")


def print_answers(recorded: list[ReturnedReview], refused: list[ReturnedReview]) -> None:
    for answer in recorded:
        state = ("déjà enregistré" if answer.already else
                 f"{plural(len(answer.decisions), 'décision')} pour {plural(answer.reviewed, 'compte')}")
        if answer.undecided and not answer.already:
            state += (f" (réponse partielle : {plural(answer.undecided, 'compte')} sans décision, "
                      "redemandés le mois prochain)")
        replaces = f" ; remplace la réponse enregistrée le {answer.replaces[:10]}" if answer.replaces else ""
        if answer.replaces and answer.replaces_decisions > len(answer.decisions):
            replaces += (f", plus complète ({plural(answer.replaces_decisions, 'décision')}) : c'est désormais "
                         "celle-ci qui compte ; renvoyer la plus complète si c'est une erreur")
        print(f"{answer.path} : {answer.finess}, audit du {answer.as_of:%d/%m/%Y} : {state}{replaces}")
    for answer in refused:
        for problem in answer.problems.messages:
            print(problem)


def print_rule_list(rules: list[Rule]) -> None:
    for rule in rules:
        print(f"{rule.code}  {SEVERITY_LABELS[rule.severity]:<14} {rule.title}")


def describe_rule(rule: Rule) -> str:
    def wrap(text: str) -> str:
        return textwrap.fill(text, width=88, initial_indent="  ", subsequent_indent="  ")

    lines = [f"{rule.code} · {rule.title}", f"Sévérité : {SEVERITY_LABELS[rule.severity]}"]
    if rule.params:
        lines.append("Paramètres (--param NOM=VALEUR) :")
        lines += [f"  - {text} ({name})" for text, name in zip(describe_params(rule.check, rule.params), rule.params)]
    if rule.source:
        lines += ["Source :", wrap(rule.source)]
    lines += ["Pourquoi :", wrap(rule.why), "Comment corriger :", wrap(rule.fix), "Exemples :"]
    for example in rule.examples:
        outcome = plural(example.findings, "constat") if example.expected == "fail" else "aucun constat"
        lines.append(f"  - {example.description} : {outcome}")
    return "\n".join(lines)
