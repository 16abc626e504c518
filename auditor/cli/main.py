"""The `vt-audit` command: a thin French layer over `auditor.api`."""

from __future__ import annotations

import argparse
import datetime as dt
import logging
import shlex
import sys
import textwrap
from contextlib import ExitStack
from pathlib import Path

import pandas as pd

from .. import __version__
from ..api import audit, load_rulebook, rules_folder, write_reports
from ..campaign.answers import record_answers
from ..campaign.config import load_config
from ..campaign.mailer import SendReport, send_all
from ..campaign.outbox import compose, read_contacts, write_eml
from ..config.settings import load_settings
from ..config.waivers import load_waivers
from ..engine.access_review import MAX_REVIEW_ROWS
from ..engine.checks import describe_params
from ..engine.evaluate import ReportContext
from ..history.backfill import import_reports
from ..history.follow_up import score_change
from ..history.recording import record
from ..history.store import open_history
from ..inputs.cells import PLAUSIBLE_DATES, parse_typed_date
from ..inputs.load import load_inputs
from ..model.findings import SEVERITIES, SEVERITY_LABELS
from ..model.issues import AuditError
from ..model.progress import terminal_progress
from ..model.text import plural
from ..render import DEFAULT_FORMATS, FORMATS
from ..render.json_report import read_report
from .french_args import FrenchParser
from .launch import end_process

# The one table of exit codes: README and `--help` are built from it.
EXIT_CODES = {
    0: "aucun constat au niveau de --fail-on ou au-dessus",
    1: "au moins un constat au niveau de --fail-on ou au-dessus",
    2: "entrée, règles ou commande inutilisables (une ligne « Erreur : … »)",
    3: "erreur interne de vt-audit (à signaler)",
}
# --fail-on: the French names first, the English ones still accepted (scripts written before).
FAIL_ON_NAMES = {"erreur": "error", "avertissement": "warning", "information": "info", "jamais": "never",
                 **{name: name for name in (*SEVERITIES, "never")}}

def _date(text: str) -> dt.date:
    try:
        date = parse_typed_date(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"date invalide « {text} » (AAAA-MM-JJ ou JJ/MM/AAAA)") from None
    low, high = PLAUSIBLE_DATES
    if not low.date() <= date <= high.date():
        raise argparse.ArgumentTypeError(f"date « {text} » hors des limites plausibles ({low:%Y} à {high:%Y})")
    return date


def _fail_on(text: str) -> str:
    try:
        return FAIL_ON_NAMES[text.strip().lower()]
    except KeyError:
        raise argparse.ArgumentTypeError(
            f"niveau inconnu « {text} » (erreur, avertissement, information ou jamais)") from None


def _positive_int(text: str) -> int:
    if not text.isdigit() or not 0 < int(text) <= 1200:
        raise argparse.ArgumentTypeError(f"nombre de mois invalide « {text} » (entier de 1 à 1200)")
    return int(text)


def _formats(text: str) -> tuple[str, ...]:
    chosen = tuple(part.strip() for part in text.split(",") if part.strip())
    unknown = [f for f in chosen if f not in FORMATS]
    if unknown or not chosen:
        raise argparse.ArgumentTypeError(f"format inconnu {unknown} (formats : {', '.join(FORMATS)})")
    return chosen


def exit_code_table() -> str:
    return "\n".join(f"  {code}  {text}" for code, text in EXIT_CODES.items())


def _add_input_arguments(command: argparse.ArgumentParser) -> None:
    command.add_argument("paths", nargs="*", type=Path, metavar="CHEMIN",
                         help="fichiers CSV/XLSX ou dossiers ; le type de chaque fichier est reconnu à ses en-têtes")
    command.add_argument("--accounts", action="append", type=Path, default=[], metavar="FICHIER",
                         help="fichier de comptes utilisateurs (type imposé au lieu d'être reconnu)")
    command.add_argument("--establishments", action="append", type=Path, default=[], metavar="FICHIER",
                         help="référentiel des établissements")
    command.add_argument("--staff", action="append", type=Path, default=[], metavar="FICHIER",
                         help="fichier du personnel (où exerce chaque professionnel)")
    command.add_argument("--as-of", type=_date, metavar="DATE",
                         help="date d'audit (AAAA-MM-JJ ; par défaut : aujourd'hui)")
    command.add_argument("--rules", type=Path, metavar="DOSSIER",
                         help="dossier de règles à utiliser à la place des règles intégrées")
    command.add_argument("--waivers", type=Path, metavar="FICHIER",
                         help="fichier YAML des dérogations (voir samples/derogations.yaml)")
    command.add_argument("-v", "--verbose", action="count", default=0,
                         help="journal plus détaillé sur la sortie d'erreur (sans nom ni e-mail)")
    command.add_argument("-q", "--quiet", action="store_true",
                         help="pas de barre de progression (elle ne s'affiche déjà que dans un terminal)")


def build_parser() -> argparse.ArgumentParser:
    parser = FrenchParser(
        prog="vt-audit",
        description="Audit des comptes utilisateurs ViaTrajectoire Handicap / ROR des ESMS, "
        "d'après la fiche pratique « gestion des comptes » du Portail de santé PACA.",
        epilog="Aide d'une commande : vt-audit COMMANDE --help",
    )
    parser.add_argument("--version", action="version", version=f"vt-audit {__version__}",
                        help="afficher la version et quitter")
    commands = parser.add_subparsers(dest="command", title="commandes", metavar="COMMANDE", help="la commande à lancer",
                                     parser_class=FrenchParser)
    commands.required = True

    run = commands.add_parser(
        "run", help="auditer des exports et écrire les rapports",
        description="Lit les exports (comptes, et en option référentiel des établissements et fichier "
        "du personnel), applique les règles et écrit les rapports dans --out.",
        epilog="Codes de sortie :\n" + exit_code_table(),
    )
    _add_input_arguments(run)
    run.add_argument("--out", required=True, type=Path, metavar="DOSSIER", help="dossier des rapports")
    run.add_argument("--param", action="append", default=[], metavar="NOM=VALEUR",
                     help="modifier un paramètre de règle (ex. inactivity_days=90 ou ACC-01.inactivity_days=90)")
    run.add_argument("--fail-on", type=_fail_on, default="error", metavar="NIVEAU",
                     help="sévérité à partir de laquelle le code de sortie vaut 1 : erreur, avertissement, "
                     "information ou jamais (défaut : erreur) ; un constat sous dérogation ne compte pas")
    run.add_argument("--format", type=_formats, default=DEFAULT_FORMATS, metavar="FORMATS",
                     help=f"formats séparés par des virgules parmi {', '.join(FORMATS)} "
                     f"(défaut : {','.join(DEFAULT_FORMATS)})")
    run.add_argument("--per-establishment", action="store_true",
                     help="écrire aussi un classeur et une page par établissement, pour sa direction")
    run.add_argument("--departements", metavar="LISTE",
                     help="départements dont les établissements sans compte sont audités : 04,05,06 ; un nom de "
                     "région (PACA) ou son code INSEE précédé de R (R93). Par défaut : ceux des comptes")
    run.add_argument("--deadline", type=_date, metavar="DATE",
                     help="date limite donnée aux directions dans leurs rapports (AAAA-MM-JJ)")
    run.add_argument("--contact", metavar="TEXTE",
                     help="à qui les directions répondent, écrit dans leurs rapports "
                     "(ex. « ARS PACA, audit-vt@ars.example »)")
    run.add_argument("--history", type=Path, metavar="FICHIER",
                     help="historique des audits (SQLite, créé s'il n'existe pas) : comparer avec l'audit précédent "
                     "(nouveaux, persistants, résolus, scores, tendances) puis enregistrer celui-ci")
    run.add_argument("--retention-months", type=_positive_int, metavar="N",
                     help="avec --history : effacer les audits de plus de N mois avant le plus récent "
                     "(défaut : retention_months de rules/catalogue/suivi.yaml, 24)")
    run.add_argument("--fail-on-new", action="store_true",
                     help="avec --history : le code de sortie ne vaut 1 que pour les constats absents de l'audit "
                     "précédent (une région peut adopter l'audit automatique sans partir de zéro)")

    validate = commands.add_parser(
        "validate", help="vérifier les exports sans auditer",
        description="Lit les exports comme « run » (types de fichier, colonnes, encodages, dates, "
        "identifiants, rôles) et affiche les problèmes de lecture, sans appliquer les règles.",
        epilog="Codes de sortie :\n  0  entrée utilisable (les problèmes affichés n'empêchent pas l'audit)\n"
        "  2  entrée inutilisable (une ligne « Erreur : … »)",
    )
    _add_input_arguments(validate)

    history = commands.add_parser(
        "history", help="lister les audits de l'historique, ou y importer d'anciens findings.json",
        description="Sans argument : les audits enregistrés (date, constats par sévérité, établissements, "
        "fichiers). « import FICHIERS… » : ajoute d'anciens findings.json à l'historique, du plus ancien au "
        "plus récent, comparés chacun à l'audit qui le précède.",
        epilog="Exemples :\n  vt-audit history --history suivi.sqlite\n"
        "  vt-audit history import 2026-09/findings.json 2026-10/findings.json --history suivi.sqlite",
    )
    history.add_argument("action", nargs="?", choices=("import",), metavar="import",
                         help="importer les FICHIERS findings.json")
    history.add_argument("files", nargs="*", type=Path, metavar="FICHIERS", help="findings.json à importer")
    history.add_argument("--history", type=Path, required=True, metavar="FICHIER", help="historique des audits")
    history.add_argument("--retention-months", type=_positive_int, metavar="N",
                         help="effacer les audits de plus de N mois avant le plus récent (défaut : 24)")
    history.add_argument("--rules", type=Path, metavar="DOSSIER", help="dossier de règles (défaut : règles intégrées)")

    send = commands.add_parser(
        "send", help="envoyer à chaque établissement son rapport par e-mail",
        description="Envoie à chaque établissement audité le classeur de son rapport (dossier produit par "
        "« vt-audit run --per-establishment --history ») avec un court message : quoi faire, avant quand, "
        "à qui répondre. Destinataires : les référents actifs de l'export, l'e-mail de direction du "
        "référentiel, et le fichier de contacts du fichier de campagne. Un journal des envois dans "
        "l'historique évite tout double envoi et permet de reprendre après une interruption.",
        epilog="Codes de sortie :\n  0  tous les rapports sont envoyés (ou l'étaient déjà)\n"
        "  1  des établissements n'ont pas été joints (sans destinataire, destinataires refusés)\n"
        "  2  campagne impossible ou interrompue (fichier de campagne, serveur injoignable) : relancer "
        "la même commande reprendra là où elle s'est arrêtée",
    )
    send.add_argument("reports", type=Path, metavar="RAPPORTS", help="dossier des rapports du mois")
    send.add_argument("--config", type=Path, required=True, metavar="FICHIER", help="fichier de campagne (YAML)")
    send.add_argument("--history", type=Path, required=True, metavar="FICHIER", help="historique des audits")
    send.add_argument("--dry-run", type=Path, metavar="DOSSIER",
                      help="écrire un .eml par établissement dans DOSSIER, pour relecture, sans rien envoyer")
    send.add_argument("-v", "--verbose", action="count", default=0, help="journal plus détaillé")

    answers = commands.add_parser(
        "answers", help="enregistrer les revues des accès renvoyées par les établissements",
        description="Lit les classeurs renvoyés par les directions (renommés, ré-enregistrés par Excel ou "
        "LibreOffice : ils sont reconnus à leur contenu), vérifie chaque ligne de la revue des accès et "
        "enregistre les décisions (Conserver, Modifier, Archiver) dans l'historique. Un classeur qui pose "
        "problème est refusé en entier, avec la liste de ses problèmes ; une nouvelle réponse du même "
        "établissement remplace la précédente (les deux sont gardées).",
        epilog="Codes de sortie :\n  0  toutes les réponses sont enregistrées\n"
        "  2  au moins un classeur refusé (rien n'en est enregistré), ou historique inutilisable",
    )
    answers.add_argument("files", nargs="+", type=Path, metavar="FICHIERS", help="classeurs renvoyés (.xlsx)")
    answers.add_argument("--history", type=Path, required=True, metavar="FICHIER", help="historique des audits")
    answers.add_argument("-v", "--verbose", action="count", default=0, help="journal plus détaillé")

    rules = commands.add_parser(
        "rules", help="lister les règles, ou détailler l'une d'elles",
        description="Sans CODE : la liste des règles (code, sévérité, intitulé). Avec CODE : pourquoi, "
        "comment corriger, paramètres et exemples de la règle.",
    )
    rules.add_argument("code", nargs="?", metavar="CODE", help="code d'une règle, ex. REF-01")
    rules.add_argument("--rules", type=Path, metavar="DOSSIER", help="dossier de règles (défaut : règles intégrées)")
    return parser


def _configure_logging(verbosity: int) -> None:
    level = logging.WARNING if verbosity == 0 else logging.INFO if verbosity == 1 else logging.DEBUG
    logging.basicConfig(level=level, format="%(levelname)s %(name)s : %(message)s", stream=sys.stderr)


def _forced_kinds(args) -> dict[Path, str]:
    forced = {p: "accounts" for p in args.accounts}
    forced.update({p: "establishments" for p in args.establishments})
    forced.update({p: "staff" for p in args.staff})
    if not args.paths and not forced:
        raise AuditError("aucun fichier à lire : donnez au moins un CHEMIN ou --accounts FICHIER")
    return forced


def _run(args) -> int:
    as_of = args.as_of or dt.date.today()
    if args.fail_on_new and not args.history:
        raise AuditError("--fail-on-new compare avec l'audit précédent : donnez aussi --history FICHIER")
    progress = terminal_progress(args.quiet)
    with ExitStack() as stack:
        history = stack.enter_context(open_history(args.history)) if args.history else None
        settings = load_settings(rules_folder(args.rules)) if history else None
        result = audit(args.paths, as_of, rules_path=args.rules, params=args.param,
                       forced_kinds=_forced_kinds(args), waivers_path=args.waivers, progress=progress,
                       access_review=bool({"xlsx", "html"} & set(args.format)),
                       # Without bundles, a review past the limit is only a note in audit.xlsx: not built.
                       review_limit=None if args.per_establishment else MAX_REVIEW_ROWS,
                       history=history, settings=settings, departments=args.departements)
        result.report = ReportContext(shlex.join(["vt-audit", *args.argv]), args.deadline, args.contact)
        write_reports(result, args.out, args.format, args.per_establishment, args.fail_on, progress,
                      args.fail_on_new)
        if history is not None:
            replaced, purged = record(history, result, args.retention_months or settings.retention_months)
    _print_summary(result, as_of, args.out)
    if args.history:
        _print_follow_up(result, args.history, replaced, purged)
    code = 1 if result.fails(args.fail_on, args.fail_on_new) else 0
    if args.owns_process:  # the `vt-audit` command: everything is written, nothing needs freeing
        end_process(code)
    return code


def _print_summary(result, as_of, out) -> None:
    counts = result.severity_counts()
    waived = result.waived_count()
    print(
        f"{plural(len(result.establishments), 'établissement audité')} au {as_of:%d/%m/%Y} : "
        f"{plural(counts['error'], 'erreur')}, {plural(counts['warning'], 'avertissement')}, "
        f"{plural(counts['info'], 'information')}"
        + (f" (dont {plural(waived, 'constat')} sous dérogation)" if waived else "")
        + f", {plural(len(result.input_issues), 'problème de lecture', 'problèmes de lecture')}. "
        f"Rapports dans {out}"
    )
    if result.waivers is not None:
        for waiver in result.waivers.expired:
            print(f"Dérogation expirée le {waiver.expires:%d/%m/%Y} : {waiver.rule} {waiver.finess} "
                  f"({waiver.file}, ligne {waiver.line})")


def _print_follow_up(result, history_path: Path, replaced: bool, purged: list[str]) -> None:
    follow_up = result.follow_up
    for issue in follow_up.coverage_issues:
        print(f"Attention : {issue.reason}", file=sys.stderr)
    since = (f"depuis l'audit du {follow_up.previous_as_of:%d/%m/%Y}" if follow_up.previous_as_of is not None
             else "premier audit de l'historique")
    score = ""
    if follow_up.region_score is not None:
        score = f" ; score régional {follow_up.region_score:.0f}/100"
        if follow_up.previous_region_score is not None:
            score += f" ({score_change(follow_up.region_score - follow_up.previous_region_score)})"
    print(f"Suivi ({since}) : " + ", ".join(follow_up.status_texts(result.findings)) + score)
    overdue = sum(1 for f in result.findings if f.overdue)
    if overdue:
        print(f"{plural(overdue, 'constat ouvert', 'constats ouverts')} depuis {follow_up.stale_months} mois "
              "ou plus : à relancer")
    if replaced:
        print(f"L'audit du {result.as_of:%d/%m/%Y} était déjà dans l'historique : il a été remplacé.")
    if purged:
        print(f"Audits effacés de l'historique (conservation) : {', '.join(purged)}")
    print(f"Historique : {history_path}")


def _history(args) -> int:
    if args.action is None and args.files:
        raise AuditError("fichiers donnés sans « import » : vt-audit history import FICHIERS… --history FICHIER")
    if args.action == "import" and not args.files:
        raise AuditError("« import » attend au moins un findings.json")
    settings = load_settings(rules_folder(args.rules))
    with open_history(args.history, create=args.action == "import", exclusive=args.action == "import") as history:
        if args.action == "import":
            for path, as_of, replaced in import_reports(history, args.files, settings,
                                                        args.retention_months or settings.retention_months):
                print(f"{path} : audit du {as_of:%d/%m/%Y} importé" + (" (remplace l'audit de même date)"
                                                                       if replaced else ""))
        runs = history.runs()
    if not runs:
        print(f"{args.history} : aucun audit enregistré")
    for run in runs:
        score = f", score {run.region_score:.0f}/100" if run.region_score is not None else ""
        print(f"{dt.date.fromisoformat(run.as_of):%d/%m/%Y} ({'importé' if run.origin == 'import' else 'audit'}, "
              f"enregistré le {run.ran_at.replace('T', ' à ')}) : {plural(run.establishments, 'établissement')}, "
              f"{plural(run.error, 'erreur')}, {plural(run.warning, 'avertissement')}, "
              f"{plural(run.info, 'information')}"
              + (f" (dont {plural(run.waived, 'constat')} sous dérogation)" if run.waived else "") + score
              + (f" ; fichiers : {', '.join(run.files)}" if run.files else ""))
    return 0


def _validate(args) -> int:
    catalogue, rules = load_rulebook(args.rules)
    if args.waivers:
        load_waivers(args.waivers, {r.code for r in rules})
    as_of = pd.Timestamp(args.as_of or dt.date.today())
    inputs = load_inputs(args.paths, catalogue, as_of, _forced_kinds(args))
    for source in inputs.sources:
        print(f"{source.path} : {source.label}, {source.description}, {plural(source.rows, 'ligne lue')}")
    for issue in inputs.issues:
        print(f"{issue.where()} : {issue.reason} [{SEVERITY_LABELS.get(issue.severity, issue.severity)}]")
    print(f"Entrée utilisable : {plural(len(inputs.accounts), 'ligne de comptes', 'lignes de comptes')}, "
          f"{plural(len(inputs.issues), 'problème de lecture', 'problèmes de lecture')}.")
    return 0


def _send(args) -> int:
    config = load_config(args.config)
    with open_history(args.history, create=False) as history:
        report = read_report(args.reports / "findings.json")
        recipients = history.run_recipients(report["as_of"])
        if recipients is None:
            raise AuditError(f"{args.history} : aucun audit du {report['as_of']:%d/%m/%Y} dans l'historique ; "
                             "lancer « vt-audit run --per-establishment --history » d'abord")
        if config.contacts is not None:
            recipients = pd.concat([recipients, read_contacts(config.contacts)], ignore_index=True)
        as_of, outgoing = compose(args.reports, config, recipients)
        if args.dry_run:
            written = write_eml(outgoing, args.dry_run)
            print(f"{plural(len(written), 'message écrit', 'messages écrits')} dans {args.dry_run} "
                  "(rien n'a été envoyé)")
            result = SendReport(without_message=[o for o in outgoing if o.message is None])
        else:
            result = send_all(outgoing, config, history, as_of)
            print(f"Campagne du {as_of:%d/%m/%Y} : {plural(len(result.sent), 'rapport envoyé', 'rapports envoyés')}, "
                  f"{plural(len(result.already_sent), 'déjà envoyé', 'déjà envoyés')}, "
                  f"{plural(len(result.failed), 'échec')}")
    for finess, why in result.failed:
        print(f"Échec {finess} : {why}")
    for item in result.without_message:
        print(f"Non envoyé {item.finess} {item.name} : {' ; '.join(item.problems)}")
    if result.stopped:
        raise AuditError(f"{result.stopped} ; campagne interrompue : relancer la même commande reprendra là où "
                         "elle s'est arrêtée")
    return 1 if result.failed or result.without_message else 0


def _answers(args) -> int:
    with open_history(args.history, create=False) as history:
        recorded, refused = record_answers(args.files, history)
    for answer in recorded:
        state = ("déjà enregistré" if answer.already else
                 f"{plural(len(answer.decisions), 'décision')} pour {plural(answer.accounts, 'compte')}")
        replaces = f" ; remplace la réponse enregistrée le {answer.replaces[:10]}" if answer.replaces else ""
        print(f"{answer.path} : {answer.finess}, audit du {answer.as_of:%d/%m/%Y} : {state}{replaces}")
    for answer in refused:
        for problem in answer.problems:
            print(f"{answer.path} : {problem}")
    if refused:
        raise AuditError(f"{plural(len(refused), 'classeur refusé', 'classeurs refusés')} : rien n'en a été "
                         "enregistré ; corriger et renvoyer")
    return 0


def _rules(args) -> int:
    _, rules = load_rulebook(args.rules)
    if args.code is None:
        for rule in rules:
            print(f"{rule.code}  {SEVERITY_LABELS[rule.severity]:<14} {rule.title}")
        return 0
    rule = next((r for r in rules if r.code == args.code.upper()), None)
    if rule is None:
        raise AuditError(f"règle « {args.code} » inconnue ; règles : {', '.join(r.code for r in rules)}")
    print(describe_rule(rule))
    return 0


def describe_rule(rule) -> str:
    wrap = lambda text: textwrap.fill(text, width=88, initial_indent="  ", subsequent_indent="  ")  # noqa: E731
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


def main(argv: list[str] | None = None, owns_process: bool = False) -> int:
    """Run a command; `owns_process` (the `vt-audit` command, not a caller in Python) lets `run` end the
    process once its reports are written (see launch.end_process)."""
    try:
        argv = sys.argv[1:] if argv is None else argv
        args = build_parser().parse_args(argv)
        args.argv = argv
        args.owns_process = owns_process
        _configure_logging(getattr(args, "verbose", 0))
        commands = {"run": _run, "validate": _validate, "history": _history, "send": _send, "answers": _answers,
                    "rules": _rules}
        return commands[args.command](args)
    except AuditError as exc:
        print(f"Erreur : {exc}", file=sys.stderr)
        return 2
    except Exception as exc:  # a bug: one line for the user, no traceback
        logging.getLogger(__name__).debug("erreur interne", exc_info=True)
        print(f"Erreur interne de vt-audit ({type(exc).__name__}) : merci de la signaler "
              "(relancer avec -vv pour le détail)", file=sys.stderr)
        return 3
