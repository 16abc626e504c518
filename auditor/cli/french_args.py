"""argparse in French: usage, section titles, help and the error messages a user can meet.

Every command of the project (vt-audit, the sample generator) uses this parser.
"""

from __future__ import annotations

import argparse
import re

from ..model.issues import AuditError

# argparse speaks English; these are the messages a user can meet.
_ARGPARSE_FRENCH = [
    (r"the following arguments are required: (.*)", r"arguments obligatoires manquants : \1"),
    (r"argument (\S+): invalid choice: (.*) \(choose from (.*)\)",
     r"argument \1 : choix invalide \2 (choix possibles : \3)"),
    (r"argument (\S+): expected one argument", r"l'argument \1 attend une valeur"),
    (r"unrecognized arguments: (.*)", r"arguments non reconnus : \1"),
    (r"argument (\S+): invalid (\S+) value: (.*)", r"argument \1 : valeur invalide \3"),
    (r"invalid choice: (.*) \(choose from (.*)\)", r"commande inconnue \1 (commandes : \2)"),
    (r"^argument (\S+): ", r"argument \1 : "),  # an option's own French message (ArgumentTypeError)
]


class _FrenchFormatter(argparse.RawDescriptionHelpFormatter):
    def add_usage(self, usage, actions, groups, prefix=None):
        super().add_usage(usage, actions, groups, "Utilisation : " if prefix is None else prefix)


class FrenchParser(argparse.ArgumentParser):
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
