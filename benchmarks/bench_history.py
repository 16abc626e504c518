"""Benchmark of the history: twelve national months recorded one after the other.

    python benchmarks/bench_history.py                  # 400,000 findings, 40,000 establishments, 12 months
    python benchmarks/bench_history.py --findings 40000 --establishments 4000 --months 3

Each month is an audit result of the national size (findings as the engine
makes them, about ten per establishment), with some findings fixed and some
new from one month to the next. For each month it prints the time to compare
with the previous month (read the previous run, statuses, scores, trends) and
the time to record it, then the size of the database and the peak memory.
"""

from __future__ import annotations

import argparse
import random
import resource
import tempfile
import time
from pathlib import Path

import pandas as pd

from auditor.config.resources import rules_dir
from auditor.config.settings import load_settings
from auditor.engine.evaluate import Evaluation
from auditor.history.recording import follow, record
from auditor.history.store import open_history
from auditor.model.findings import Finding, finding_key

RULES = (("ACC-01", "warning", "aucune connexion depuis 412 jours (dernière le 14/09/2025)"),
         ("DAT-01", "warning", "champs obligatoires vides : civilité, e-mail de secours"),
         ("DRT-02", "info", "ancien rôle VT « Handicap - ESMS » ; équivalents IAM : Gestion des notif."),
         ("REF-02", "error", "rôle ROR « Référent Établissement » sans le rôle VT « VT PH - Référent ESMS »"),
         ("ATT-02", "warning", "rattaché à l'établissement sans aucune unité"))


def month_findings(establishments: list[str], per_establishment: int, month: int, seed: int) -> list[Finding]:
    """About `per_establishment` findings each; 5 % of them change from one month to the next."""
    findings = []
    for index, finess in enumerate(establishments):
        generator = random.Random(seed * 1_000_003 + index)
        for slot in range(per_establishment):
            # A slot's finding is fixed for a while, then replaced by a new one: 5 % turnover a month.
            generation = (month + generator.randrange(20)) // 20
            rule, severity, message = RULES[(slot + generation) % len(RULES)]
            account = f"pro{index:05d}{slot:02d}g{generation}"
            findings.append(Finding(rule, severity, finess, f"ESMS {index}", account, f"NOM{index} Prénom{slot}",
                                    message, finding_key(rule, finess, account)))
    return findings


def main() -> None:
    parser = argparse.ArgumentParser(description="Mesure l'historique sur des mois de taille nationale.")
    parser.add_argument("--findings", type=int, default=400_000, help="constats par mois")
    parser.add_argument("--establishments", type=int, default=40_000, help="établissements")
    parser.add_argument("--months", type=int, default=12, help="mois enregistrés")
    parser.add_argument("--history", type=Path, default=None, help="fichier d'historique (défaut : temporaire)")
    args = parser.parse_args()
    history_path = args.history or Path(tempfile.mkdtemp(prefix="vt-audit-history-")) / "suivi.sqlite"
    settings = load_settings(rules_dir())
    establishments = [f"{13 + n % 80:02d}{n:06d}0" for n in range(args.establishments)]
    per_establishment = max(1, args.findings // args.establishments)
    print("mois | constats | comparaison s | enregistrement s | base Mo")
    for month in range(args.months):
        as_of = pd.Timestamp(2026, 1, 1) + pd.DateOffset(months=month)
        findings = month_findings(establishments, per_establishment, month, seed=7)
        coverage = pd.DataFrame({"finess": establishments, "name": [f"ESMS {i}" for i in range(len(establishments))],
                                 "in_referential": True, "closed": False, "accounts": 25})
        counts = pd.DataFrame([(f.finess, f.severity) for f in findings], columns=["finess", "severity"])
        by_severity = counts.groupby(["finess", "severity"]).size().unstack(fill_value=0)
        for severity in ("error", "warning", "info"):
            coverage[severity] = coverage["finess"].map(by_severity[severity]).fillna(0).astype("int64")
        evaluation = Evaluation(as_of, [], None, {}, coverage, [])
        with open_history(history_path) as history:
            started = time.perf_counter()
            follow_up, marked = follow(evaluation, findings, history, settings)
            compared = time.perf_counter() - started
            started = time.perf_counter()
            record(history, evaluation, marked, follow_up, settings.retention_months)
            recorded = time.perf_counter() - started
        size = sum(p.stat().st_size for p in history_path.parent.glob(history_path.name + "*")) / 1e6
        print(f"{as_of:%Y-%m} | {len(findings)} | {compared:.2f} | {recorded:.2f} | {size:.0f}", flush=True)
    print(f"pic mémoire : {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} Mo ; "
          f"historique : {history_path}")


if __name__ == "__main__":
    main()
