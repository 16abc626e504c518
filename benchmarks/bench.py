"""Benchmark: generate synthetic exports at several sizes, audit them stage by stage, print a table.

    python benchmarks/bench.py                      # every size (about 10 minutes, 4 GB of disk)
    python benchmarks/bench.py --sizes 10k,region   # some sizes

Each size runs in a fresh process, so that its peak memory is its own. A size that writes
every bundle (region) also times its second month as an auditor runs it: `vt-audit run` with
every report, the bundles and --history, against the same openpyxl floor. The
exports are generated once into --data (deterministic: same seed, same files)
in the formats of real exports: accounts as a Windows-1252 ";" CSV,
establishments as XLSX, staff as a UTF-8 "," CSV; and as dirty as real ones,
about ten findings per establishment (`dirt`, see auditor/testing/synthetic.py).
"""

from __future__ import annotations

import argparse
import compileall
import csv
import dataclasses
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

# name: (establishments, professionals per establishment (min, max), write every bundle)
SIZES = {
    "10k": (500, (12, 24), False),
    "region": (1_000, (12, 24), True),
    "100k": (5_000, (12, 24), False),
    "national": (40_000, (12, 24), False),
}
DIRT = 0.55  # the share of professionals with a problem of their own: about ten findings per establishment
BUNDLE_SAMPLE = 1_000  # sizes that don't write every bundle time this many
AS_OF = "2026-11-01"
HISTORY_FIRST_MONTH = "2026-10-01"  # the month recorded before the timed one (sizes that write every bundle)


def ensure_data(name: str, folder: Path) -> Path:
    from auditor.testing.synthetic import generate, write_region

    establishments, staff, _ = SIZES[name]
    target = folder / f"{name}-{establishments}-{staff[0]}-{staff[1]}-{DIRT}"  # other data, other folder
    if not (target / "comptes.csv").exists():
        write_region(generate(establishments, seed=11, staff=staff, dirt=DIRT), target)
    return target


def _arrow_read(path: Path):
    """pandas.read_csv(engine="pyarrow") as the issue measured it, with quoted line breaks allowed
    (roles one per line: pandas' pyarrow engine cannot be told so): every column as text."""
    import pandas as pd
    import pyarrow as pa
    import pyarrow.csv as pacsv

    with open(path, encoding="cp1252") as handle:
        names = next(csv.reader(handle, delimiter=";"))
    table = pacsv.read_csv(path, read_options=pacsv.ReadOptions(encoding="cp1252", block_size=1 << 24),
                           parse_options=pacsv.ParseOptions(delimiter=";", newlines_in_values=True),
                           convert_options=pacsv.ConvertOptions(column_types={n: pa.string() for n in names}))
    return table.to_pandas(types_mapper=pd.ArrowDtype)


def _command(data: Path, out: Path) -> None:
    """The national use as one command: read, every rule, findings.json (its own process)."""
    subprocess.run([sys.executable, "-m", "auditor", "run", str(data), "--out", str(out), "--format", "json",
                    "--quiet", "--as-of", AS_OF], check=False, capture_output=True)


def _history_month(data: Path, out: Path) -> float:
    """A region's second month as an auditor runs it (every report, the bundles, --history): the
    first month is recorded untimed, then the second is timed, each its own process."""
    history = out / "suivi.sqlite"

    def month(as_of: str) -> float:
        started = time.perf_counter()
        subprocess.run([sys.executable, "-m", "auditor", "run", str(data), "--out", str(out / as_of), "--as-of",
                        as_of, "--per-establishment", "--history", str(history), "--quiet", "--fail-on", "jamais"],
                       check=True, capture_output=True)
        return time.perf_counter() - started

    month(HISTORY_FIRST_MONTH)
    return month(AS_OF)


def _openpyxl_floor(count: int, folder: Path) -> None:
    """What openpyxl alone takes to write `count` small three-sheet workbooks (15 rows of 10 cells):
    the floor the bundles are compared with."""
    from openpyxl import Workbook

    folder.mkdir(parents=True, exist_ok=True)
    row = [f"cellule {n}" for n in range(10)]
    for number in range(count):
        workbook = Workbook(write_only=True)
        for title in ("À faire", "Revue des accès", "À propos"):
            sheet = workbook.create_sheet(title)
            for _ in range(15):
                sheet.append(row)
        workbook.save(folder / f"{number}.xlsx")


def measure(name: str, folder: Path) -> dict:
    """All stages of one size, in this process."""
    import pandas as pd

    from auditor.api import load_rulebook
    from auditor.engine import evaluate as engine
    from auditor.engine.access_review import build_access_review
    from auditor.engine.context import AuditContext
    from auditor.inputs.load import load_inputs
    from auditor.render.bundles import write_bundles
    from auditor.render.html_report import write_html
    from auditor.render.json_report import write_json
    from auditor.render.xlsx_report import write_xlsx
    from auditor.run import Run

    data = ensure_data(name, folder)
    out = Path(tempfile.mkdtemp(prefix=f"vt-audit-bench-{name}-"))
    as_of = pd.Timestamp(AS_OF)
    times = {}

    def stage(label, function):
        started = time.perf_counter()
        value = function()
        times[label] = time.perf_counter() - started
        return value

    # The floor: a bare read of the accounts file with Arrow's reader (what the audit is compared with).
    stage("read_csv", lambda: _arrow_read(data / "comptes.csv"))
    stage("command", lambda: _command(data, out / "commande"))
    catalogue, rules = load_rulebook()
    inputs = stage("read", lambda: load_inputs([data], catalogue, as_of))
    evaluation = stage("rules", lambda: engine.run(rules, inputs, catalogue, as_of, access_review=False))
    result = Run(evaluation, evaluation.input_issues)
    stage("json", lambda: write_json(result, out / "findings.json"))
    review = stage("review", lambda: build_access_review(AuditContext(inputs, catalogue, as_of), result.finding_table))
    evaluation = dataclasses.replace(evaluation, access_review=review)
    result = Run(evaluation, evaluation.input_issues, records=result.findings)
    stage("xlsx", lambda: write_xlsx(result, out / "audit.xlsx"))
    stage("html", lambda: write_html(result, out / "audit.html"))
    everything = SIZES[name][2]
    if not everything:  # the bundles of the first establishments only: the rate is what matters
        kept = set(result.establishments["finess"].iloc[:BUNDLE_SAMPLE])
        establishments = result.establishments[result.establishments["finess"].isin(kept)]
        result = dataclasses.replace(result, evaluation=dataclasses.replace(evaluation, establishments=establishments))
    bundles = len(result.establishments)
    stage("bundles", lambda: write_bundles(result, out, ("xlsx", "html")))
    stage("openpyxl", lambda: _openpyxl_floor(bundles, out / "plancher"))
    if everything:
        times["history_month"] = _history_month(data, out / "historique")
    return {
        "size": name,
        "rows": len(inputs.accounts),
        "establishments": len(inputs.establishments),
        "findings": len(result.findings),
        "bundle_count": bundles,
        **{k: round(v, 2) for k, v in times.items()},
        "bundles_per_s": round(bundles / times["bundles"], 1),
        "peak_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
        "command_peak_mb": round(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024),
        "cpus": os.cpu_count(),
    }


COLUMNS = [("size", "taille"), ("rows", "lignes"), ("establishments", "établ."), ("findings", "constats"),
           ("read_csv", "pyarrow s"), ("command", "commande json s"), ("ratio", "commande/pyarrow"),
           ("command_peak_mb", "pic commande Mo"), ("read", "lecture s"), ("rules", "règles s"), ("json", "json s"),
           ("review", "revue s"), ("xlsx", "xlsx s"), ("html", "html s"), ("bundle_count", "bundles"),
           ("bundles", "bundles s"), ("openpyxl", "openpyxl seul s"), ("bundle_ratio", "bundles/openpyxl"),
           ("history_month", "mois 2 historique s"), ("history_ratio", "mois 2/openpyxl"),
           ("peak_mb", "pic Mo")]


def main() -> None:
    parser = argparse.ArgumentParser(description="Mesure les étapes d'un audit à plusieurs tailles.")
    parser.add_argument("--sizes", default=",".join(SIZES), help=f"tailles parmi {', '.join(SIZES)}")
    parser.add_argument("--data", type=Path, default=Path(tempfile.gettempdir()) / "vt-audit-bench",
                        help="dossier des exports générés (réutilisés d'une fois sur l'autre)")
    parser.add_argument("--one", help=argparse.SUPPRESS)  # internal: measure one size in this process
    args = parser.parse_args()
    if args.one:
        print(json.dumps(measure(args.one, args.data)))
        return
    # The package's bytecode, as `pip install .` (the README's) compiles it at install: from a source
    # tree under PYTHONDONTWRITEBYTECODE, every measured command compiled the package again (0.1 s).
    import auditor

    compileall.compile_dir(Path(auditor.__file__).parent, quiet=1)
    rows = []
    for name in args.sizes.split(","):
        ensure_data(name, args.data)  # generation is not part of the measure
        run = subprocess.run([sys.executable, __file__, "--one", name, "--data", str(args.data)],
                             capture_output=True, text=True, check=True)
        row = json.loads(run.stdout.strip().splitlines()[-1])
        row["ratio"] = round(row["command"] / row["read_csv"], 1)
        row["bundle_ratio"] = round(row["bundles"] / row["openpyxl"], 2)
        row["history_ratio"] = round(row["history_month"] / row["openpyxl"], 2) if "history_month" in row else "—"
        row.setdefault("history_month", "—")
        rows.append(row)
        print(f"{name} : fait", file=sys.stderr)
    widths = [max(len(title), *(len(str(r[key])) for r in rows)) for key, title in COLUMNS]
    print(" | ".join(title.ljust(w) for (_, title), w in zip(COLUMNS, widths)))
    print("-|-".join("-" * w for w in widths))
    for row in rows:
        print(" | ".join(str(row[key]).ljust(w) for (key, _), w in zip(COLUMNS, widths)))


if __name__ == "__main__":
    main()
