"""The `vt-audit` commands: each one api call, its French messages, its exit code."""

from __future__ import annotations

import argparse
import datetime as dt
import logging
import shlex
import sys

from ..api import (
    AuditOptions,
    ReportOptions,
    history_runs,
    load_rulebook,
    record_answers,
    run_month,
    send_campaign,
    validate_inputs,
)
from ..engine.access_review import MAX_REVIEW_ROWS
from ..model.issues import AuditError
from ..model.text import plural
from ..run import ReportContext
from . import messages
from .parser import build_parser


def _configure_logging(verbosity: int) -> None:
    level = logging.WARNING if verbosity == 0 else logging.INFO if verbosity == 1 else logging.DEBUG
    logging.basicConfig(level=level, format="%(levelname)s %(name)s : %(message)s", stream=sys.stderr)


def _audit_options(args: argparse.Namespace, **more) -> AuditOptions:
    forced = {p: "accounts" for p in args.accounts}
    forced.update({p: "establishments" for p in args.establishments})
    forced.update({p: "staff" for p in args.staff})
    if not args.paths and not forced:
        raise AuditError("aucun fichier à lire : donnez au moins un CHEMIN ou --accounts FICHIER")
    return AuditOptions(tuple(args.paths), args.as_of or dt.date.today(), forced, args.rules,
                        waivers=args.waivers, **more)


def _run(args: argparse.Namespace) -> int:
    options = _audit_options(
        args, params=tuple(args.param), departments=args.departements,
        access_review=bool({"xlsx", "html"} & set(args.format)),
        # Without bundles, a review past the limit is only a note in audit.xlsx: not built.
        review_limit=None if args.per_establishment else MAX_REVIEW_ROWS)
    reports = ReportOptions(args.out, args.format, args.per_establishment, args.fail_on, args.fail_on_new,
                            ReportContext(shlex.join(["vt-audit", *args.argv]), args.deadline, args.contact))
    month = run_month(options, reports, args.history, args.retention_months, messages.terminal_progress(args.quiet))
    messages.print_summary(month, args.out)
    if args.history:
        messages.print_follow_up(month, args.history)
    return 1 if month.run.fails(args.fail_on, args.fail_on_new) else 0


def _validate(args: argparse.Namespace) -> int:
    messages.print_inputs(validate_inputs(_audit_options(args)))
    return 0


def _history(args: argparse.Namespace) -> int:
    if args.action is None and args.files:
        raise AuditError("fichiers donnés sans « import » : vt-audit history import FICHIERS… --history FICHIER")
    if args.action == "import" and not args.files:
        raise AuditError("« import » attend au moins un findings.json")
    imported, runs = history_runs(args.history, args.files, args.rules, args.retention_months)
    messages.print_history(args.history, imported, runs)
    return 0


def _send(args: argparse.Namespace) -> int:
    campaign = send_campaign(args.reports, args.config, args.history, args.dry_run,
                             resend_uncertain=args.resend_uncertain, progress=messages.terminal_progress(args.quiet))
    messages.print_campaign(campaign, args.dry_run)
    report = campaign.report
    if report.stopped:
        raise AuditError(f"{report.stopped} ; campagne interrompue après "
                         f"{plural(len(report.sent), 'rapport envoyé', 'rapports envoyés')} : relancer la même "
                         "commande reprendra là où elle s'est arrêtée")
    unsent = [item for item in report.without_message if not item.closed]
    return 1 if report.failed or report.uncertain_kept or unsent or campaign.contact_problems else 0


def _answers(args: argparse.Namespace) -> int:
    recorded, refused = record_answers(args.files, args.history)
    messages.print_answers(recorded, refused)
    if refused:
        raise AuditError(f"{plural(len(refused), 'classeur refusé', 'classeurs refusés')} : rien n'en a été "
                         "enregistré ; corriger et renvoyer")
    return 0


def _rules(args: argparse.Namespace) -> int:
    _, rules = load_rulebook(args.rules)
    if args.code is None:
        messages.print_rule_list(rules)
        return 0
    rule = next((r for r in rules if r.code == args.code.upper()), None)
    if rule is None:
        raise AuditError(f"règle « {args.code} » inconnue ; règles : {', '.join(r.code for r in rules)}")
    print(messages.describe_rule(rule))
    return 0


def _serve(args: argparse.Namespace) -> int:
    from ..web.server import serve  # Flask and waitress only for this command

    requests = logging.getLogger("auditor.portail")  # one line per request, on stderr, whatever -v says
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(message)s", "%Y-%m-%d %H:%M:%S"))
    requests.addHandler(handler)
    requests.setLevel(logging.INFO)
    requests.propagate = False
    return serve(args.history, args.config, args.host, args.port, args.trust_proxy, args.threads)


COMMANDS = {"run": _run, "validate": _validate, "history": _history, "send": _send, "answers": _answers,
            "serve": _serve, "rules": _rules}


def main(argv: list[str] | None = None) -> int:
    """Run a command: its exit code (see parser.EXIT_CODES), one French line on any error."""
    try:
        argv = sys.argv[1:] if argv is None else argv
        args = build_parser().parse_args(argv)
        args.argv = argv
        _configure_logging(getattr(args, "verbose", 0))
        return COMMANDS[args.command](args)
    except AuditError as exc:
        print(f"Erreur : {exc}", file=sys.stderr)
        return 2
    except Exception as exc:  # a bug: one line for the user, no traceback
        logging.getLogger(__name__).debug("erreur interne", exc_info=True)
        print(f"Erreur interne de vt-audit ({type(exc).__name__}) : merci de la signaler "
              "(relancer avec -vv pour le détail)", file=sys.stderr)
        return 3
