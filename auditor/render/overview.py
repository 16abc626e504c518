"""The region at a glance: key figures, establishments worst first, rules by department.

Shared by the page and the workbook, so that both say the same thing. An
establishment is "conforme" when it has no error and no warning that a waiver
does not cover (information findings are advice), on the guide's rules: the
campaign's follow-up (REV-01, REV-02: the rules that read last month's answers)
is apart, or the first month after a campaign every establishment that has not
answered yet would count as not compliant.
"""

from __future__ import annotations

import pandas as pd

from ..engine.checks import REGISTRY
from ..engine.history_tables import HISTORY_TABLES
from ..inputs.cells import finess_department
from ..model.findings import severity_counts
from ..run import Run


def campaign_rules(result: Run) -> set[str]:
    """The rules that follow up last month's campaign (their checks read the history's tables)."""
    return {rule.code for rule in result.rules if set(REGISTRY[rule.check].needs) & set(HISTORY_TABLES)}


def establishment_table(result: Run) -> pd.DataFrame:
    """Each audited establishment with its unwaived findings, department, bundle and (with a history)
    score: worst first."""
    findings = pd.DataFrame([(f.finess, f.severity, f.waived, f.rule) for f in result.findings],
                            columns=["finess", "severity", "waived", "rule"])
    table = result.establishments[["finess", "name", "in_referential", "closed", "accounts"]].copy()
    table = table.assign(**severity_counts(table["finess"], findings, waived_included=False))
    table["department"] = finess_department(table["finess"])
    guide = findings[~findings["rule"].isin(campaign_rules(result))]
    on_guide = severity_counts(table["finess"], guide, waived_included=False)
    table["compliant"] = (on_guide["error"] == 0) & (on_guide["warning"] == 0)
    table["bundle"] = table["finess"].map(result.report.bundles)
    if result.follow_up is not None:
        scores = result.follow_up.scores.set_index("finess")
        table["score"] = table["finess"].map(scores["score"])
        table["change"] = table["finess"].map(scores["change"])
        # What an auditor must act on first: errors, then the score (eleven ETB-01 warnings of a closed
        # establishment weigh less than an ESMS without a referent).
        order, ascending = ["error", "score", "warning", "finess"], [False, True, False, True]
    else:
        order, ascending = ["error", "warning", "info", "finess"], [False, False, False, True]
    return table.sort_values(order, ascending=ascending, ignore_index=True)


def key_figures(result: Run, table: pd.DataFrame) -> dict:
    counts = result.severity_counts()
    compliant = int(table["compliant"].sum())
    return {
        "establishments": len(table),
        "compliant": compliant,
        "compliant_share": round(100 * compliant / len(table)) if len(table) else 0,
        "without_accounts": int((table["accounts"] == 0).sum()),
        "accounts": int(table["accounts"].sum()),
        "findings": sum(counts.values()),
        **counts,
        "waived": sum(1 for f in result.findings if f.waived),
        "input_issues": len(result.input_issues),
    }


def rules_by_department(result: Run) -> pd.DataFrame:
    """Findings per rule (rows, in rule order) and department (columns), with totals."""
    frame = pd.DataFrame([(f.rule, f.finess) for f in result.findings], columns=["rule", "finess"])
    frame["department"] = finess_department(frame["finess"])
    table = pd.crosstab(frame["rule"], frame["department"])
    departments = sorted(set(finess_department(result.establishments["finess"])) | set(table.columns))
    codes = [rule.code for rule in result.rules]
    table = table.reindex(index=codes, columns=departments, fill_value=0)
    table["Total"] = table.sum(axis=1)
    return table
