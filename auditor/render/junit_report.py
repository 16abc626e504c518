"""junit.xml: one test case per rule × establishment, so CI servers show findings natively.

A case fails when it has findings at or above --fail-on that no waiver
covers (with --fail-on-new, only those absent from the previous audit); the
failure carries their messages. Waived and lower findings are in
the case's output; a rule that could not be evaluated is a skipped case.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections import defaultdict
from pathlib import Path

from ..files import atomic_path
from ..model.enums import Status
from ..model.findings import SEVERITY_LABELS
from ..model.text import plural
from ..run import Run


def write_junit(result: Run, target: Path, fails) -> Path:
    """`fails(finding)` says whether a finding fails the run (threshold and waivers)."""
    by_case = defaultdict(list)
    for finding in result.findings:
        by_case[finding.rule, finding.finess].append(finding)
    names = dict(zip(result.establishments["finess"], result.establishments["name"]))
    root = ET.Element("testsuites", name="vt-audit")
    for rule in result.rules:
        outcome = result.outcomes[rule.code]
        suite = ET.SubElement(root, "testsuite", name=f"{rule.code} {rule.title}")
        tests = failures = skipped = 0
        for finess, name in names.items():
            case = ET.SubElement(suite, "testcase", classname=rule.code, name=f"{finess} {name}".strip())
            tests += 1
            if not outcome.evaluated:
                ET.SubElement(case, "skipped", message=f"règle non évaluée : {outcome.skipped_because}")
                skipped += 1
                continue
            findings = by_case.get((rule.code, finess), [])
            failing = [f for f in findings if fails(f)]
            if failing:
                failures += 1
                failure = ET.SubElement(case, "failure", type=rule.severity,
                                        message=f"{plural(len(failing), 'constat')} : {rule.title}")
                lines = [f"{f.subject} : {f.message}" for f in failing]
                failure.text = "\n".join(lines) + f"\n\nComment corriger : {rule.fix}"
            others = [f for f in findings if not fails(f)]
            if others:
                ET.SubElement(case, "system-out").text = "\n".join(f"[{_state(f)}] {f.subject} : {f.message}"
                                                                   for f in others)
        suite.set("tests", str(tests))
        suite.set("failures", str(failures))
        suite.set("skipped", str(skipped))
        suite.set("errors", "0")
    tree = ET.ElementTree(root)
    ET.indent(tree)
    with atomic_path(target) as temporary:
        tree.write(temporary, encoding="utf-8", xml_declaration=True)
    return target


def _state(finding) -> str:
    """Why a finding does not fail its case: waived, below --fail-on, or known (--fail-on-new)."""
    if finding.waived:
        return f"dérogation : {finding.waiver}"
    if finding.status == Status.PERSISTING:
        return f"{SEVERITY_LABELS[finding.severity]}, persistant depuis {finding.age_months} mois"
    return SEVERITY_LABELS[finding.severity]
