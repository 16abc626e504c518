"""Benchmark: what adding the national RPPS directory costs a regional audit.

    python benchmarks/bench_referentials.py                 # 2,000,000 activities, 1,000 establishments
    python benchmarks/bench_referentials.py --activities 200000

Generates once (in --data) a region of 1,000 establishments in the formats of real exports and a
national-size directory in its published format (the region's health professionals, plus other
professionals elsewhere in France), then runs `vt-audit run` on the region with and without the
directory, each in a fresh process, and prints the time and peak memory of both.
"""

from __future__ import annotations

import argparse
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from auditor.testing.synthetic import DIRECTORY_HEADER, DIRECTORY_NAME, directory_rows, generate, luhn_key, write_region


def ensure_data(folder: Path, activities: int) -> tuple[Path, Path]:
    region_folder, directory = folder / "region", folder / f"annuaire-{activities}" / DIRECTORY_NAME
    if not (region_folder / "comptes.csv").exists() or not directory.exists():
        region = generate(1_000, seed=11, staff=(6, 12))
        write_region(region, region_folder)
        own, _ = directory_rows(region, plant=False)
        directory.parent.mkdir(parents=True, exist_ok=True)
        generator = random.Random(5)
        with open(directory, "w", encoding="utf-8", newline="") as handle:
            handle.write("|".join(DIRECTORY_HEADER) + "\n")
            for activity in own:
                handle.write("|".join(activity.get(name, "") for name in DIRECTORY_HEADER) + "\n")
            for number in range(activities - len(own)):
                digits = f"2{number:09d}"
                department = generator.choice(("75", "69", "33", "59", "31", "67", "44", "35"))
                finess_digits = f"{department}{generator.randrange(1_000_000):06d}"
                row = {"Type d'identifiant PP": "8", "Identifiant PP": digits + luhn_key(digits),
                       "Nom d'exercice": "NOM" + str(number % 5000), "Prénom d'exercice": "Prénom",
                       "Code profession": "60", "Libellé profession": "Infirmier",
                       "Numéro FINESS site": finess_digits + luhn_key(finess_digits),
                       "Raison sociale site": "CENTRE HOSPITALIER", "Libellé commune (coord. structure)": "VILLE"}
                handle.write("|".join(row.get(name, "") for name in DIRECTORY_HEADER) + "\n")
    return region_folder, directory


def run(paths: list[Path]) -> tuple[float, float]:
    """Seconds and peak MB of one `vt-audit run` in a fresh process."""
    out = tempfile.mkdtemp(prefix="vt-audit-bench-ref-")
    argv = ["run", *map(str, paths), "--out", out, "--as-of", "2026-11-01", "--format", "json", "-q",
            "--fail-on", "jamais"]
    code = ("import resource, time\nfrom auditor.cli.commands import main\nstarted = time.perf_counter()\n"
            f"assert main({argv!r}) == 0\n"
            "print(time.perf_counter() - started, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    seconds, peak = result.stdout.strip().splitlines()[-1].split()
    return float(seconds), float(peak)


def main() -> None:
    parser = argparse.ArgumentParser(description="Mesure le coût de l'annuaire santé national dans un audit régional.")
    parser.add_argument("--activities", type=int, default=2_000_000, help="lignes d'activité de l'annuaire")
    parser.add_argument("--data", type=Path, default=Path(tempfile.gettempdir()) / "vt-audit-bench-referentials")
    args = parser.parse_args()
    started = time.perf_counter()
    region, directory = ensure_data(args.data, args.activities)
    print(f"données prêtes ({time.perf_counter() - started:.0f} s) : annuaire de "
          f"{directory.stat().st_size / 1e6:.0f} Mo", file=sys.stderr)
    files = [region / "comptes.csv", region / "etablissements.xlsx", region / "personnels.csv"]
    without = run(files)
    with_directory = run([*files, directory])
    print("audit | s | pic Mo")
    print(f"région seule | {without[0]:.2f} | {without[1]:.0f}")
    print(f"région + annuaire ({args.activities} activités) | {with_directory[0]:.2f} | {with_directory[1]:.0f}")
    print(f"coût de l'annuaire : {with_directory[0] - without[0]:.2f} s, "
          f"{with_directory[1] - without[1]:.0f} Mo de plus au pic")


if __name__ == "__main__":
    main()
