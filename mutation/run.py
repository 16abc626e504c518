"""Mutation check: put each deliberate bug of mutants.yaml into a copy of the code, run its tests.

    python mutation/run.py                 # every mutant, two at a time (about 15 minutes)
    python mutation/run.py --only ACC-01-limit,waiver-expiry-day

A mutant is "tué" when its tests fail, "survivant" when they pass: a bug of that kind would go
unnoticed. Run by hand or weekly, not in CI (it runs the tests once per mutant). The score and
the survivors judged equivalent are in README.md ("Tests et mutations").
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
COPIED = ("auditor", "tests", "rules", "reports", "samples", "pyproject.toml", "README.md")
TIMEOUT = 900  # seconds: a mutant that makes the tests hang counts as killed (timeouts are reported)


@dataclass
class Mutant:
    id: str
    file: str
    find: str
    replace: str
    bug: str  # the realistic bug it stands for, in French
    tests: list[str]
    equivalent: str | None = None  # why a survivor cannot be told apart from the original (judged by hand)


def load_mutants(path: Path) -> list[Mutant]:
    mutants = [Mutant(**entry) for entry in yaml.safe_load(path.read_text(encoding="utf-8"))]
    ids = [m.id for m in mutants]
    duplicates = {i for i in ids if ids.count(i) > 1}
    if duplicates:
        sys.exit(f"mutants.yaml : identifiants en double : {', '.join(sorted(duplicates))}")
    for mutant in mutants:
        count = (ROOT / mutant.file).read_text(encoding="utf-8").count(mutant.find)
        if count != 1:
            sys.exit(f"mutants.yaml, {mutant.id} : le texte à remplacer apparaît {count} fois dans {mutant.file} "
                     "(il doit y être exactement une fois)")
    return mutants


def _workspace() -> Path:
    folder = Path(tempfile.mkdtemp(prefix="vt-audit-mutant-"))
    for name in COPIED:
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, folder / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        else:
            shutil.copy2(source, folder / name)
    return folder


def _pytest(workspace: Path, tests: list[str]) -> subprocess.CompletedProcess:
    # The copy is imported first (PYTHONPATH), also by the tests' own subprocesses.
    env = {**os.environ, "PYTHONPATH": str(workspace), "PYTHONDONTWRITEBYTECODE": "1"}
    # -n 0: mutants already run side by side (--jobs); their tests run in one process each.
    return subprocess.run([sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider", "-n", "0", *tests],
                          cwd=workspace, env=env, capture_output=True, text=True, timeout=TIMEOUT)


def run_mutant(mutant: Mutant, workspace: Path) -> tuple[str, float]:
    target = workspace / mutant.file
    original = target.read_text(encoding="utf-8")
    target.write_text(original.replace(mutant.find, mutant.replace, 1), encoding="utf-8")
    started = time.perf_counter()
    try:
        result = _pytest(workspace, mutant.tests)
        outcome = "survivant" if result.returncode == 0 else "tué"
        if result.returncode not in (0, 1):  # not a failing test: an import or collection error
            outcome = f"tué (pytest {result.returncode})"
    except subprocess.TimeoutExpired:
        outcome = "tué (délai dépassé)"
    finally:
        target.write_text(original, encoding="utf-8")
    return outcome, time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description="Lance les tests sur chaque mutant de mutation/mutants.yaml.")
    parser.add_argument("--only", help="identifiants de mutants, séparés par des virgules")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1, help="mutants testés en même temps")
    args = parser.parse_args()
    mutants = load_mutants(Path(__file__).with_name("mutants.yaml"))
    if args.only:
        wanted = set(args.only.split(","))
        mutants = [m for m in mutants if m.id in wanted]
    workspaces = [_workspace() for _ in range(min(args.jobs, len(mutants)) or 1)]
    free = list(workspaces)
    # The control: the unmutated copy must pass every test the mutants use, or "killed" would mean nothing.
    control = _pytest(workspaces[0], sorted({test for mutant in mutants for test in mutant.tests}))
    if control.returncode != 0:
        for workspace in workspaces:
            shutil.rmtree(workspace, ignore_errors=True)
        sys.exit("Les tests échouent déjà sans mutant : rien ne peut être mesuré.\n" + control.stdout[-3000:])
    print("Témoin sans mutant : tests réussis.", flush=True)

    def job(mutant: Mutant):
        workspace = free.pop()
        try:
            return mutant, *run_mutant(mutant, workspace)
        finally:
            free.append(workspace)

    results = []
    try:
        with ThreadPoolExecutor(len(workspaces)) as pool:
            for mutant, outcome, seconds in pool.map(job, mutants):
                results.append((mutant, outcome))
                print(f"{mutant.id:<34} {outcome:<22} {seconds:6.1f} s  {mutant.bug}", flush=True)
    finally:
        for workspace in workspaces:
            shutil.rmtree(workspace, ignore_errors=True)
    survivors = [m for m, outcome in results if outcome == "survivant"]
    equivalent = [m for m in survivors if m.equivalent]
    killed = len(results) - len(survivors)
    judged = len(results) - len(equivalent)
    print(f"\n{killed} mutants tués sur {len(results)} ; sans les {len(equivalent)} survivants jugés équivalents : "
          f"{killed}/{judged} = {100 * killed / max(judged, 1):.0f} %")
    for mutant in survivors:
        print(f"  survivant {mutant.id} ({mutant.file}) : {mutant.bug}"
              + (f" ; équivalent : {mutant.equivalent}" if mutant.equivalent else ""))


if __name__ == "__main__":
    main()
