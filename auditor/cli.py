"""The `vt-audit` command: a thin French layer over `auditor.audit`."""

from __future__ import annotations

import argparse
import datetime as dt
import logging
import multiprocessing
import os
import re
import signal
import sys
import textwrap
from pathlib import Path

import pandas as pd

from . import __version__
from .audit import audit, load_rulebook, write_reports
from .cells import parse_typed_date
from .errors import AuditError
from .findings import SEVERITIES, SEVERITY_LABELS
from .load import load_inputs
from .progress import terminal_progress
from .render import DEFAULT_FORMATS, FORMATS, discard_pending
from .waivers import load_waivers

# The one table of exit codes: README and `--help` are built from it.
EXIT_CODES = {
    0: "aucun constat au niveau de --fail-on ou au-dessus",
    1: "au moins un constat au niveau de --fail-on ou au-dessus",
    2: "entrée, règles ou commande inutilisables (une ligne « Erreur : … »)",
    3: "erreur interne de vt-audit (à signaler)",
}
FAIL_ON_CHOICES = (*SEVERITIES, "never")

# argparse speaks English; these are the messages a user can meet.
_ARGPARSE_FRENCH = [
    (r"the following arguments are required: (.*)", r"arguments obligatoires manquants : \1"),
    (r"argument (\S+): invalid choice: (.*) \(choose from (.*)\)",
     r"argument \1 : choix invalide \2 (choix possibles : \3)"),
    (r"argument (\S+): expected one argument", r"l'argument \1 attend une valeur"),
    (r"unrecognized arguments: (.*)", r"arguments non reconnus : \1"),
    (r"argument (\S+): invalid (\S+) value: (.*)", r"argument \1 : valeur invalide \3"),
    (r"invalid choice: (.*) \(choose from (.*)\)", r"commande inconnue \1 (commandes : \2)"),
]


class _FrenchFormatter(argparse.RawDescriptionHelpFormatter):
    def add_usage(self, usage, actions, groups, prefix=None):
        super().add_usage(usage, actions, groups, "Utilisation : " if prefix is None else prefix)


class _Parser(argparse.ArgumentParser):
    def __init__(self, *args, **kwargs):
        kwargs.setdefault("formatter_class", _FrenchFormatter)
        kwargs.setdefault("add_help", False)
        super().__init__(*args, **kwargs)
        self._positionals.title = "arguments"
        self._optionals.title = "options"
        self.add_argument("-h", "--help", action="help", help="afficher cette aide et quitter")

    def error(self, message):
        for pattern, french in _ARGPARSE_FRENCH:
            message = re.sub(pattern, french, message)
        raise AuditError(f"{message} (voir « {self.prog} --help »)")


def _date(text: str) -> dt.date:
    try:
        return parse_typed_date(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"date invalide « {text} » (AAAA-MM-JJ ou JJ/MM/AAAA)") from None


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
    parser = _Parser(
        prog="vt-audit",
        description="Audit des comptes utilisateurs ViaTrajectoire Handicap / ROR des ESMS, "
        "d'après la fiche pratique « gestion des comptes » du Portail de santé PACA.",
        epilog="Aide d'une commande : vt-audit COMMANDE --help",
    )
    parser.add_argument("--version", action="version", version=f"vt-audit {__version__}",
                        help="afficher la version et quitter")
    commands = parser.add_subparsers(dest="command", title="commandes", metavar="COMMANDE", help="la commande à lancer",
                                     parser_class=_Parser)
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
    run.add_argument("--fail-on", choices=FAIL_ON_CHOICES, default="error", metavar="NIVEAU",
                     help="sévérité à partir de laquelle le code de sortie vaut 1 : "
                     "error, warning, info ou never (défaut : error) ; un constat sous dérogation ne compte pas")
    run.add_argument("--format", type=_formats, default=DEFAULT_FORMATS, metavar="FORMATS",
                     help=f"formats séparés par des virgules parmi {', '.join(FORMATS)} "
                     f"(défaut : {','.join(DEFAULT_FORMATS)})")
    run.add_argument("--per-establishment", action="store_true",
                     help="écrire aussi un classeur et une page par établissement, pour sa direction")

    validate = commands.add_parser(
        "validate", help="vérifier les exports sans auditer",
        description="Lit les exports comme « run » (types de fichier, colonnes, encodages, dates, "
        "identifiants, rôles) et affiche les problèmes de lecture, sans appliquer les règles.",
        epilog="Codes de sortie :\n  0  entrée utilisable (les problèmes affichés n'empêchent pas l'audit)\n"
        "  2  entrée inutilisable (une ligne « Erreur : … »)",
    )
    _add_input_arguments(validate)

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
    progress = terminal_progress(args.quiet)
    result = audit(args.paths, as_of, rules_path=args.rules, params=args.param,
                   forced_kinds=_forced_kinds(args), waivers_path=args.waivers, progress=progress,
                   access_review=bool({"xlsx", "html"} & set(args.format)))
    write_reports(result, args.out, args.format, args.per_establishment, args.fail_on, progress)
    counts = result.severity_counts()
    waived = sum(1 for f in result.findings if f.waived)
    print(
        f"{len(result.establishments)} établissement(s) audité(s) au {as_of:%d/%m/%Y} : "
        f"{counts['error']} erreur(s), {counts['warning']} avertissement(s), {counts['info']} information(s)"
        + (f" dont {waived} sous dérogation" if waived else "")
        + f", {len(result.input_issues)} problème(s) de lecture. Rapports dans {args.out}"
    )
    if result.waivers is not None:
        for waiver in result.waivers.expired:
            print(f"Dérogation expirée le {waiver.expires:%d/%m/%Y} : {waiver.rule} {waiver.finess} "
                  f"({waiver.file}, ligne {waiver.line})")
    return 1 if result.failing(args.fail_on) else 0


def _validate(args) -> int:
    catalogue, rules = load_rulebook(args.rules)
    if args.waivers:
        load_waivers(args.waivers, {r.code for r in rules})
    as_of = pd.Timestamp(args.as_of or dt.date.today())
    inputs = load_inputs(args.paths, catalogue, as_of, _forced_kinds(args))
    for source in inputs.sources:
        print(f"{source.path} : {source.label}, {source.description}, {source.rows} ligne(s) lue(s)")
    for issue in inputs.issues:
        print(f"{issue.where()} : {issue.reason} [{SEVERITY_LABELS.get(issue.severity, issue.severity)}]")
    print(f"Entrée utilisable : {len(inputs.accounts)} ligne(s) de comptes, "
          f"{len(inputs.issues)} problème(s) de lecture.")
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
    lines = [f"{rule.code} · {rule.title}", f"Sévérité : {SEVERITY_LABELS[rule.severity]}",
             f"Contrôle : {rule.check}"]
    if rule.params:
        lines.append("Paramètres : " + ", ".join(f"{k} = {v}" for k, v in rule.params.items()))
    if rule.source:
        lines += ["Source :", wrap(rule.source)]
    lines += ["Pourquoi :", wrap(rule.why), "Comment corriger :", wrap(rule.fix), "Exemples :"]
    for example in rule.examples:
        outcome = f"{example.findings} constat(s)" if example.expected == "fail" else "aucun constat"
        lines.append(f"  - {example.description} : {outcome}")
    return "\n".join(lines)


def _interrupt(signum, frame):
    # Ctrl-C or SIGTERM (a stopped job, a CI timeout). Libraries that catch
    # every exception would turn a KeyboardInterrupt into another error, so
    # the handler itself removes the report being written and ends the process
    # (and the bundle workers, which inherited this handler, do the same).
    for worker in multiprocessing.active_children():
        worker.terminate()
    discard_pending()
    if multiprocessing.parent_process() is None:
        print("Erreur : interrompu ; aucun rapport partiel n'a été laissé", file=sys.stderr, flush=True)
    os._exit(2)


def entry_point() -> None:
    """The `vt-audit` command (main() without the process-wide signal handlers, for tests)."""
    signal.signal(signal.SIGTERM, _interrupt)
    signal.signal(signal.SIGINT, _interrupt)
    sys.exit(main())


def main(argv: list[str] | None = None) -> int:
    try:
        args = build_parser().parse_args(argv)
        _configure_logging(getattr(args, "verbose", 0))
        return {"run": _run, "validate": _validate, "rules": _rules}[args.command](args)
    except AuditError as exc:
        print(f"Erreur : {exc}", file=sys.stderr)
        return 2
    except Exception as exc:  # a bug: one line for the user, no traceback
        logging.getLogger(__name__).debug("erreur interne", exc_info=True)
        print(f"Erreur interne de vt-audit ({type(exc).__name__}) : merci de la signaler "
              "(relancer avec -vv pour le détail)", file=sys.stderr)
        return 3
