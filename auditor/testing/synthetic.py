"""Deterministic synthetic exports: a fictitious region with known problems (region.py), month after
month (months.py), and the national files that list it (national_files.py).

Used for `samples/` (and by the benchmarks at any size). Every establishment
is either clean or carries exactly one planted problem, and the generator
writes the findings it expects (`attendu.json`), so that the end-to-end tests
compare the audit with what was planted, not with what the engine computed.

With `--dirt`, a share of the other professionals carry a problem of their own
too (an old login, a legacy role, a missing e-mail...), as in real exports,
where an establishment has about ten findings: the benchmarks measure on such
data, and those findings are in `attendu.json` as well.

    python -m auditor.testing.synthetic --establishments 36 --seed 7 --out samples
    python -m auditor.testing.synthetic --establishments 40000 --staff 12 24 --dirt 0.4 --out national   # ~1M rows
"""

from __future__ import annotations

import sys
from pathlib import Path

from ..cli.french_args import FrenchParser
from ..model.issues import AuditError
from .exports import write_region
from .months import monthly_exports
from .national_files import (
    DIRECTORY_HEADER,
    DIRECTORY_NAME,
    EXTRACT_NAME,
    directory_rows,
    finess_extract_rows,
    write_finess_extract,
    write_rpps_directory,
)
from .region import AS_OF, Region, generate, luhn_key

__all__ = ["AS_OF", "DIRECTORY_HEADER", "DIRECTORY_NAME", "EXTRACT_NAME", "Region", "directory_rows",
           "finess_extract_rows", "generate", "luhn_key", "monthly_exports", "write_finess_extract",
           "write_region", "write_rpps_directory"]


def main(argv: list[str] | None = None) -> None:
    parser = FrenchParser(prog="python -m auditor.testing.synthetic",
                          description="Génère des exports synthétiques (région fictive) et la liste des "
                          "constats qui y sont plantés (attendu.json).")
    parser.add_argument("--establishments", type=int, default=30, metavar="N", help="nombre d'établissements")
    parser.add_argument("--seed", type=int, default=7, metavar="GRAINE", help="graine du générateur")
    parser.add_argument("--out", type=Path, required=True, metavar="DOSSIER", help="dossier de sortie")
    parser.add_argument("--staff", type=int, nargs=2, default=(4, 9), metavar=("MIN", "MAX"),
                        help="professionnels par établissement, en plus des 2 référents (défaut : 4 9)")
    parser.add_argument("--dirt", type=float, default=0.0, metavar="PART",
                        help="part des autres professionnels qui ont aussi un problème, comme dans les exports "
                        "réels (défaut : 0, un problème au plus par établissement)")
    parser.add_argument("--accounts-xlsx", action="store_true", help="écrire les comptes en XLSX plutôt qu'en CSV")
    parser.add_argument("--months", type=int, default=1, metavar="N",
                        help="N exports mensuels successifs (un dossier AAAA-MM-JJ par mois) avec des constats "
                        "résolus, nouveaux, réapparus et un établissement absent (défaut : 1, un seul export)")
    try:
        args = parser.parse_args(argv)
    except AuditError as exc:
        print(f"Erreur : {exc}", file=sys.stderr)
        raise SystemExit(2) from None
    region = generate(args.establishments, args.seed, tuple(args.staff), args.dirt)
    if args.months <= 1:
        written = write_region(region, args.out, args.accounts_xlsx)
    else:
        written = [path for as_of, month in monthly_exports(region, args.months)
                   for path in write_region(month, args.out / as_of.isoformat(), args.accounts_xlsx, as_of, True)]
    for path in written:
        print(path)


if __name__ == "__main__":
    main()
