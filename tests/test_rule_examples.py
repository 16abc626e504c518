"""Every rule's examples, as written in its YAML entry: `pytest -k REF-01` runs one rule."""

import pytest

from auditor.config.catalogue import load_catalogue
from auditor.config.resources import rules_dir
from auditor.engine.rulebook import load_rules, rule_files
from auditor.model.findings import SEVERITY_RANK
from auditor.testing.examples import run_example

CATALOGUE = load_catalogue(rules_dir())
RULES = load_rules(rule_files(rules_dir()), CATALOGUE)
CASES = [
    pytest.param(rule, example, id=f"{rule.code}-{example.expected}-{number}")
    for rule in RULES
    for number, example in enumerate(rule.examples, start=1)
]


@pytest.mark.parametrize("rule,example", CASES)
def test_rule_example(rule, example):
    findings = run_example(rule, example, CATALOGUE)
    messages = [f"{f.subject} : {f.message}" for f in findings]
    assert len(findings) == example.findings, f"{example.description} : {messages}"
    assert all(f.rule == rule.code for f in findings)
    assert all(SEVERITY_RANK[f.severity] <= SEVERITY_RANK[rule.severity] for f in findings)
    if example.flagged is not None:  # who is flagged: an account, else the establishment
        assert sorted(f.account or f.finess for f in findings) == list(example.flagged), messages
    if example.severity is not None:
        assert {f.severity for f in findings} == {example.severity}, messages
    if example.message is not None:
        assert all(example.message in f.message for f in findings), messages


@pytest.mark.parametrize("rule", RULES, ids=lambda r: r.code)
def test_every_rule_documents_itself_and_has_both_kinds_of_example(rule):
    assert rule.title and rule.why and rule.fix
    assert "Portail de santé PACA" in rule.fix or "viatrajectoire@ies-sud.fr" in rule.fix
    kinds = {example.expected for example in rule.examples}
    assert kinds == {"fail", "pass"}
