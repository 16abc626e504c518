"""A national-size export keeps its findings while the code changes (speed work above all).

The export is generated (40,000 establishments, about a million rows, as dirty as real ones)
and audited by the command; its findings must be those recorded in tests/data/national_findings.json
from an earlier version. When a change of findings is intended, the failure prints the new
counts and digest to record there, with why in the commit message.
"""

import hashlib
import json
import subprocess
import sys
from collections import Counter
from pathlib import Path

from auditor.testing.synthetic import generate, write_region

RECORDED = Path(__file__).parent / "data" / "national_findings.json"
FIELDS = ("rule", "severity", "finess", "establishment", "account", "subject", "message", "key")


def fingerprint(findings: list[dict]) -> dict:
    """Counts per rule, and a digest of every finding's fields in report order."""
    digest = hashlib.sha256()
    for finding in findings:
        digest.update(json.dumps([finding[f] for f in FIELDS], ensure_ascii=False).encode() + b"\n")
    return {"findings": len(findings), "per_rule": dict(sorted(Counter(f["rule"] for f in findings).items())),
            "sha256": digest.hexdigest()}


def test_a_national_export_gives_the_findings_recorded_before(tmp_path):
    data, out = tmp_path / "national", tmp_path / "out"
    write_region(generate(40_000, seed=11, staff=(12, 24), dirt=0.55), data)
    run = subprocess.run([sys.executable, "-m", "auditor", "run", str(data), "--out", str(out), "--format", "json",
                          "--quiet", "--as-of", "2026-11-01"], capture_output=True, text=True, timeout=600)
    assert run.returncode == 1, run.stderr  # errors found, nothing broken
    report = json.loads((out / "findings.json").read_text(encoding="utf-8"))
    recorded = json.loads(RECORDED.read_text(encoding="utf-8"))
    found = fingerprint(report["findings"])
    assert found == recorded, f"findings changed; if intended, record: {json.dumps(found, indent=2)}"
