"""The `vt-audit` command line: its commands, options and French help (argparse, see french_args.py)."""

from __future__ import annotations

import argparse
import datetime as dt
from pathlib import Path

from .. import __version__
from ..inputs.cells import PLAUSIBLE_DATES, parse_typed_date
from ..model.findings import SEVERITIES
from ..render import DEFAULT_FORMATS, FORMATS
from .french_args import FrenchParser

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
    for add_command in (_add_run, _add_validate, _add_history, _add_send, _add_answers, _add_serve, _add_rules):
        add_command(commands)
    return parser


def _add_run(commands) -> None:
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
                     "région (PACA) ou son code INSEE précédé de R (R93). Par défaut : tout le fichier des "
                     "établissements de la région ; pour l'extrait FINESS national, les régions des comptes")
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


def _add_validate(commands) -> None:
    validate = commands.add_parser(
        "validate", help="vérifier les exports sans auditer",
        description="Lit les exports comme « run » (types de fichier, colonnes, encodages, dates, "
        "identifiants, rôles) et affiche les problèmes de lecture, sans appliquer les règles.",
        epilog="Codes de sortie :\n  0  entrée utilisable (les problèmes affichés n'empêchent pas l'audit)\n"
        "  2  entrée inutilisable (une ligne « Erreur : … »)",
    )
    _add_input_arguments(validate)


def _add_history(commands) -> None:
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


def _add_send(commands) -> None:
    send = commands.add_parser(
        "send", help="envoyer à chaque établissement son rapport par e-mail",
        description="Envoie à chaque établissement audité le classeur de son rapport (dossier produit par "
        "« vt-audit run --per-establishment --history ») avec un court message : quoi faire, avant quand, "
        "à qui répondre. Destinataires : les référents actifs de l'export, l'e-mail de direction du "
        "référentiel, et le fichier de contacts du fichier de campagne. Un journal des envois dans "
        "l'historique évite tout double envoi et permet de reprendre après une interruption.",
        epilog="Codes de sortie :\n  0  tous les rapports sont envoyés (ou l'étaient déjà)\n"
        "  1  quelqu'un n'a pas été joint (sans destinataire, adresse inutilisable, refus temporaire ou "
        "définitif du serveur, envoi incertain)\n"
        "  2  campagne impossible ou interrompue (fichier de campagne, serveur injoignable, connexion perdue "
        "deux fois) : relancer la même commande reprendra là où elle s'est arrêtée",
    )
    send.add_argument("reports", type=Path, metavar="RAPPORTS", help="dossier des rapports du mois")
    send.add_argument("--config", type=Path, required=True, metavar="FICHIER", help="fichier de campagne (YAML)")
    send.add_argument("--history", type=Path, required=True, metavar="FICHIER", help="historique des audits")
    send.add_argument("--dry-run", type=Path, metavar="DOSSIER",
                      help="écrire un .eml par établissement dans DOSSIER, pour relecture, sans rien envoyer")
    send.add_argument("--renvoyer-incertains", action="store_true", dest="resend_uncertain",
                      help="renvoyer aussi aux destinataires dont l'envoi est incertain (le serveur n'a pas "
                      "répondu à la fin du message : il l'a peut-être reçu)")
    send.add_argument("-q", "--quiet", action="store_true", help="pas de barre de progression")
    send.add_argument("-v", "--verbose", action="count", default=0, help="journal plus détaillé")


def _add_answers(commands) -> None:
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


def _add_serve(commands) -> None:
    serve = commands.add_parser(
        "serve", help="servir le portail où les directions remplissent leur revue des accès en ligne",
        description="Sert, derrière un lien signé propre à chaque établissement (envoyé par « vt-audit send » "
        "quand le fichier de campagne a un bloc « portail »), la page de revue des accès de l'établissement : "
        "ses constats avec les étapes du guide, un choix Conserver / Modifier / Archiver par compte, un "
        "brouillon, l'envoi et son reçu. Les réponses sont enregistrées dans l'historique comme celles "
        "de « vt-audit answers ». Serveur WSGI de production (waitress) ; le TLS est l'affaire du "
        "serveur mandataire (reverse proxy) placé devant.",
        epilog="Codes de sortie :\n  0  portail arrêté (Ctrl-C, SIGTERM)\n"
        "  2  historique, fichier de campagne ou adresse d'écoute inutilisable",
    )
    serve.add_argument("--history", type=Path, required=True, metavar="FICHIER", help="historique des audits")
    serve.add_argument("--config", type=Path, required=True, metavar="FICHIER",
                       help="fichier de campagne (YAML) avec son bloc « portail »")
    serve.add_argument("--host", default="127.0.0.1", metavar="ADRESSE", help="adresse d'écoute (défaut : 127.0.0.1)")
    serve.add_argument("--port", type=int, default=8080, metavar="PORT", help="port d'écoute (défaut : 8080)")
    serve.add_argument("--trust-proxy", metavar="ADRESSE",
                       help="adresse du serveur mandataire dont on croit les en-têtes X-Forwarded-For et "
                       "X-Forwarded-Proto (adresse réelle du client, https)")
    serve.add_argument("--threads", type=int, default=8, metavar="N", help="requêtes traitées à la fois (défaut : 8)")
    serve.add_argument("-v", "--verbose", action="count", default=0, help="journal plus détaillé")


def _add_rules(commands) -> None:
    rules = commands.add_parser(
        "rules", help="lister les règles, ou détailler l'une d'elles",
        description="Sans CODE : la liste des règles (code, sévérité, intitulé). Avec CODE : pourquoi, "
        "comment corriger, paramètres et exemples de la règle.",
    )
    rules.add_argument("code", nargs="?", metavar="CODE", help="code d'une règle, ex. REF-01")
    rules.add_argument("--rules", type=Path, metavar="DOSSIER", help="dossier de règles (défaut : règles intégrées)")
