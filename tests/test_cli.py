"""The automated-check side: validate, JUnit, --fail-on, waivers, rules, help, stable keys."""

import csv
import json
import xml.etree.ElementTree as ET

import pandas as pd
import pytest

from auditor.api import load_rulebook
from auditor.cli.commands import main
from auditor.cli.parser import build_parser
from auditor.engine import evaluate as engine
from auditor.inputs.load import load_inputs
from tests.helpers import SAMPLES, SAMPLES_AS_OF, account_row, write_csv

BOTH_REFERENT_ROLES = "Référent Établissement | VT PH - Référent ESMS"


@pytest.fixture
def one_referent(tmp_path):
    """One establishment with a single referent (REF-01) and a stale account (ACC-01)."""
    return write_csv(tmp_path / "comptes.csv", [
        account_row(login="ref", roles=BOTH_REFERENT_ROLES),
        account_row(login="old", last_name="ANCIEN", roles="IAM - MSPH - Statistiques ESMS (IAM)",
                    last_login="01/01/2025"),
    ])


def write_waivers(path, text):
    path.write_text(text, encoding="utf-8")
    return path


def run(exports, out, *extra):
    return main(["run", str(exports), "--out", str(out), "--as-of", "2026-11-01", *extra])


def test_validate_reports_the_same_reading_as_run_and_exits_0(capsys):
    with open(SAMPLES / "comptes.csv", encoding="cp1252", newline="") as handle:
        records = len(list(csv.reader(handle, delimiter=";"))) - 1
    assert main(["validate", str(SAMPLES), "--as-of", SAMPLES_AS_OF]) == 0
    output = capsys.readouterr().out
    assert f"comptes utilisateurs, CSV Windows-1252, séparateur point-virgule, {records} lignes lues" in output
    assert "Entrée utilisable" in output


def test_validate_lists_input_issues_with_place_and_exits_2_on_unusable_input(tmp_path, capsys):
    exports = write_csv(tmp_path / "comptes.csv", [account_row(last_login="31/02/2026")])
    assert main(["validate", str(exports)]) == 0
    assert "comptes.csv, ligne 2, colonne « Dernière connexion » : date illisible" in capsys.readouterr().out
    (tmp_path / "vide.csv").write_bytes(b"")
    assert main(["validate", str(tmp_path / "vide.csv")]) == 2
    assert capsys.readouterr().err.startswith("Erreur : ")


def test_junit_has_a_case_per_rule_and_establishment_and_failures_carry_messages(tmp_path):
    out = tmp_path / "out"
    assert run(SAMPLES, out, "--format", "junit,json") == 1
    assert not (out / "audit.xlsx").exists() and (out / "findings.json").exists()
    report = json.loads((out / "findings.json").read_text(encoding="utf-8"))
    root = ET.parse(out / "junit.xml").getroot()
    cases = root.findall("testsuite/testcase")
    assert len(cases) == len(report["rules"]) * len(report["establishments"])
    failed = {(c.get("classname"), c.get("name")[:9]) for c in cases if c.find("failure") is not None}
    errors = {(f["rule"], f["finess"]) for f in report["findings"] if f["severity"] == "error"}
    assert failed == errors
    for finding in report["findings"]:
        if finding["severity"] == "error":
            case = next(c for c in cases
                        if c.get("classname") == finding["rule"] and c.get("name").startswith(finding["finess"]))
            assert finding["message"] in case.find("failure").text
    # A rule that could not be evaluated (no campaign for REV-01 and REV-02) is skipped, never a pass.
    skipped = {c.get("classname") for c in cases if c.find("skipped") is not None}
    assert skipped == {r["code"] for r in report["rules"] if not r["evaluated"]} and skipped


def test_fail_on_threshold(one_referent, tmp_path):
    out = tmp_path / "out"
    assert run(one_referent, out) == 1
    assert run(one_referent, out, "--fail-on", "never") == 0
    assert run(one_referent, out, "--param", "min_referents=1") == 0  # the warning is below "error"
    assert run(one_referent, out, "--param", "min_referents=1", "--fail-on", "warning") == 1


def test_waived_finding_stays_in_reports_and_no_longer_fails(one_referent, tmp_path):
    waivers = write_waivers(tmp_path / "w.yaml", """waivers:
  - rule: REF-01
    finess: "130000011"
    reason: Recrutement en cours
    approved_by: ARS PACA
    expires: 2026-11-20
""")
    out = tmp_path / "out"
    assert run(one_referent, out, "--waivers", str(waivers)) == 0
    report = json.loads((out / "findings.json").read_text(encoding="utf-8"))
    waived = [f for f in report["findings"] if f["waived"]]
    assert [f["rule"] for f in waived] == ["REF-01"] and "Recrutement en cours" in waived[0]["waiver"]
    assert report["summary"]["waived"] == 1 and report["summary"]["findings"]["error"] == 1
    assert [w["rule"] for w in report["waivers"]["expiring_soon"]] == ["REF-01"]
    assert "Sous dérogation : Recrutement en cours" in (out / "audit.html").read_text(encoding="utf-8")


def test_expired_waiver_no_longer_applies_and_is_listed(one_referent, tmp_path, capsys):
    waivers = write_waivers(tmp_path / "w.yaml", """waivers:
  - {rule: REF-01, finess: "130000011", reason: Ancien motif, approved_by: ARS, expires: 2026-10-31}
""")
    out = tmp_path / "out"
    assert run(one_referent, out, "--waivers", str(waivers)) == 1
    assert "Dérogation expirée le 31/10/2026 : REF-01 130000011" in capsys.readouterr().out
    report = json.loads((out / "findings.json").read_text(encoding="utf-8"))
    assert not any(f["waived"] for f in report["findings"])
    assert [w["reason"] for w in report["waivers"]["expired"]] == ["Ancien motif"]


def test_a_waiver_written_with_spaces_in_its_finess_covers_that_establishment(one_referent, tmp_path):
    waivers = write_waivers(tmp_path / "w.yaml", """waivers:
  - {rule: REF-01, finess: "13 000 001 1", reason: Recrutement, approved_by: ARS, expires: 2027-01-31}
""")
    out = tmp_path / "out"
    run(one_referent, out, "--waivers", str(waivers))
    report = json.loads((out / "findings.json").read_text(encoding="utf-8"))
    assert [(f["rule"], f["finess"]) for f in report["findings"] if f["waived"]] == [("REF-01", "130000011")]


def test_waiver_for_one_account_covers_only_that_account(one_referent, tmp_path):
    waivers = write_waivers(tmp_path / "w.yaml", """waivers:
  - {rule: ACC-01, finess: "130000011", account: old, reason: Congé, approved_by: IES, expires: 2027-06-30}
  - {rule: ACC-01, finess: "130000011", account: someone-else, reason: Autre, approved_by: IES, expires: 2027-06-30}
""")
    out = tmp_path / "out"
    run(one_referent, out, "--waivers", str(waivers))
    report = json.loads((out / "findings.json").read_text(encoding="utf-8"))
    assert [(f["rule"], f["account"]) for f in report["findings"] if f["waived"]] == [("ACC-01", "old")]
    assert [w["account"] for w in report["waivers"]["unused"]] == ["someone-else"]


def test_malformed_waivers_are_all_reported_with_line_and_exit_2(one_referent, tmp_path, capsys):
    waivers = write_waivers(tmp_path / "w.yaml", """waivers:
  - rule: REF-99
    finess: "130000011"
    reason: x
    approved_by: y
    expires: 2027-01-01
  - rule: REF-01
    finess: "130000011"
    raison: faute de frappe
    approved_by: y
    expires: bientôt
""")
    assert run(one_referent, tmp_path / "out", "--waivers", str(waivers)) == 2
    error = capsys.readouterr().err
    assert "w.yaml, ligne 2 : règle « REF-99 » inconnue" in error
    assert "w.yaml, ligne 9 : clé inconnue « raison »" in error  # the key's own line
    assert "date d'expiration invalide « bientôt »" in error
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("waivers", [False, True])
def test_findings_json_follows_its_published_schema(tmp_path, waivers):
    import jsonschema

    from tests.helpers import ROOT

    schema = json.loads((ROOT / "reports" / "findings.schema.json").read_text(encoding="utf-8"))
    extra = ["--waivers", str(SAMPLES / "derogations.yaml")] if waivers else []
    out = tmp_path / "out"
    main(["run", str(SAMPLES), "--out", str(out), "--as-of", SAMPLES_AS_OF, "--format", "json", *extra])
    report = json.loads((out / "findings.json").read_text(encoding="utf-8"))
    jsonschema.validate(report, schema)
    assert (report["waivers"] is None) != waivers


def test_rules_command_lists_and_explains(capsys):
    assert main(["rules"]) == 0
    listing = capsys.readouterr().out
    assert "REF-01  erreur" in listing and "ACC-01  avertissement" in listing
    assert main(["rules", "ACC-01"]) == 0
    detail = capsys.readouterr().out
    assert "Pourquoi :" in detail and "Comment corriger :" in detail
    assert "jours sans connexion tolérés : 180 (inactivity_days)" in detail
    assert "Exemples :" in detail
    assert main(["rules", "XYZ-01"]) == 2


def _all_parsers(parser):
    yield parser
    for action in parser._actions:
        for sub in getattr(action, "choices", None) or {}:
            if isinstance(action.choices, dict):
                yield from _all_parsers(action.choices[sub])


def test_every_command_has_french_help():
    parsers = list(_all_parsers(build_parser()))
    assert {p.prog for p in parsers} == {"vt-audit", "vt-audit run", "vt-audit validate", "vt-audit history",
                                       "vt-audit send", "vt-audit answers", "vt-audit serve", "vt-audit rules"}
    for parser in parsers:
        text = parser.format_help()
        assert text.startswith("Utilisation : ") and "afficher cette aide" in text
        assert "usage:" not in text and "show this help" not in text
        assert parser.description
        for action in parser._actions:
            assert action.help, f"{parser.prog} {action.dest}: aide manquante"


def test_the_sample_generator_help_and_errors_are_french(capsys):
    from auditor.testing.synthetic import main as generator

    with pytest.raises(SystemExit):
        generator(["--help"])
    text = capsys.readouterr().out
    assert text.startswith("Utilisation : python -m auditor.testing.synthetic") and "usage:" not in text
    assert "afficher cette aide" in text and "DOSSIER" in text
    with pytest.raises(SystemExit):
        generator(["--out", "x", "--establishments", "beaucoup"])
    assert capsys.readouterr().err.startswith("Erreur : argument --establishments : valeur invalide")


def test_finding_keys_do_not_depend_on_row_order_or_other_rows(catalogue):
    _, rules = load_rulebook()
    as_of = pd.Timestamp(SAMPLES_AS_OF)
    inputs = load_inputs([SAMPLES], catalogue, as_of)
    first = {f.key: (f.rule, f.finess, f.subject) for f in engine.run(rules, inputs, catalogue, as_of).findings}

    shuffled = inputs.accounts.sample(frac=1, random_state=3).reset_index(drop=True)
    stranger = shuffled.iloc[[0]].assign(account_id="intrus", finess="840000999", last_name="INTRUS",
                                         email="intrus@exemple.fr", rpps=pd.NA, name_key="intrus|x")
    inputs.accounts = pd.concat([stranger, shuffled], ignore_index=True)
    inputs.staff = inputs.staff.sample(frac=1, random_state=5).reset_index(drop=True)
    second = {f.key: (f.rule, f.finess, f.subject) for f in engine.run(rules, inputs, catalogue, as_of).findings}
    assert len(first) == len(set(first)) > 10
    assert {k: v for k, v in second.items() if v[1] != "840000999"} == first


def _stderr_on_a_terminal(tmp_path, *extra, env_ci=None):
    """Run the command with stderr on a pseudo-terminal, as a person at a console would."""
    import fcntl
    import os
    import pty
    import struct
    import subprocess
    import sys
    import termios

    controller, terminal = pty.openpty()
    # a new pseudo-terminal is 0 columns wide: give it a console's size
    fcntl.ioctl(terminal, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 100, 0, 0))
    env = {k: v for k, v in os.environ.items() if k != "CI"}
    if env_ci:
        env["CI"] = env_ci
    command = [sys.executable, "-m", "auditor", "run", str(SAMPLES), "--out", str(tmp_path / "out"),
               "--as-of", SAMPLES_AS_OF, "--fail-on", "never", "--per-establishment", *extra]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=terminal, env=env)
    os.close(terminal)
    chunks = []
    while True:
        try:
            chunk = os.read(controller, 4096)
        except OSError:  # the terminal closed with the process
            break
        if not chunk:
            break
        chunks.append(chunk)
    process.wait(timeout=60)
    os.close(controller)
    return b"".join(chunks).decode("utf-8", "replace")


def test_progress_bar_shows_on_a_terminal_only(tmp_path):
    shown = _stderr_on_a_terminal(tmp_path)
    assert "établissements" in shown and "%" in shown
    assert _stderr_on_a_terminal(tmp_path, "--quiet") == ""
    assert _stderr_on_a_terminal(tmp_path, env_ci="true") == ""


@pytest.fixture
def two_stale(tmp_path):
    """Two referents, and two stale accounts in the same establishment (two ACC-01 findings)."""
    return write_csv(tmp_path / "comptes.csv", [
        account_row(login="ref", roles=BOTH_REFERENT_ROLES),
        account_row(login="ref2", last_name="DEUX", roles=BOTH_REFERENT_ROLES),
        account_row(login="old", last_name="ANCIEN", roles="IAM - MSPH - Statistiques ESMS (IAM)",
                    last_login="01/01/2025"),
        account_row(login="old2", last_name="AUTRE", roles="IAM - MSPH - Statistiques ESMS (IAM)",
                    last_login="01/01/2025"),
    ])


def _waived(out):
    report = json.loads((out / "findings.json").read_text(encoding="utf-8"))
    return sorted((f["rule"], f["account"]) for f in report["findings"] if f["waived"]), report


@pytest.mark.parametrize("expires, covered, soon", [
    ("2026-10-31", False, False),  # the day before the audit: expired
    ("2026-11-01", True, True),  # the audit date itself: still in force, "expire aujourd'hui"
    ("2026-12-01", True, True),  # in 30 days: announced
    ("2026-12-02", True, False),  # in 31 days: not yet announced
])
def test_waiver_expiry_boundaries(two_stale, tmp_path, expires, covered, soon):
    waivers = write_waivers(tmp_path / "w.yaml", f"""waivers:
  - {{rule: ACC-01, finess: "130000011", account: old, reason: Congé, approved_by: IES, expires: {expires}}}
""")
    out = tmp_path / "out"
    run(two_stale, out, "--waivers", str(waivers), "--fail-on", "warning")
    waived, report = _waived(out)
    assert waived == ([("ACC-01", "old")] if covered else [])
    assert report["summary"]["waived"] == len(waived)
    assert [w["account"] for w in report["waivers"]["expiring_soon"]] == (["old"] if soon else [])
    assert [w["account"] for w in report["waivers"]["expired"]] == ([] if covered else ["old"])


def test_an_account_waiver_leaves_the_other_accounts_findings_failing(two_stale, tmp_path):
    waivers = write_waivers(tmp_path / "w.yaml", """waivers:
  - {rule: ACC-01, finess: "130000011", account: old, reason: Congé, approved_by: IES, expires: 2027-06-30}
""")
    out = tmp_path / "out"
    assert run(two_stale, out, "--waivers", str(waivers), "--fail-on", "warning") == 1  # old2 still fails
    assert _waived(out)[0] == [("ACC-01", "old")]
    waivers.write_text("""waivers:
  - {rule: ACC-01, finess: "130000011", reason: Réorganisation, approved_by: ARS, expires: 2027-06-30}
""", encoding="utf-8")
    assert run(two_stale, out, "--waivers", str(waivers), "--fail-on", "warning") == 0  # the whole establishment
    assert _waived(out)[0] == [("ACC-01", "old"), ("ACC-01", "old2")]


@pytest.mark.parametrize("fail_on, failing", [("error", set()), ("warning", {"ACC-01"}), ("never", set())])
def test_junit_failures_follow_fail_on(two_stale, tmp_path, fail_on, failing):
    out = tmp_path / "out"
    code = run(two_stale, out, "--format", "junit", "--fail-on", fail_on)
    root = ET.parse(out / "junit.xml").getroot()
    failed = {case.get("classname") for case in root.iter("testcase") if case.find("failure") is not None}
    assert failed == failing
    assert code == (1 if failing else 0)
    assert root.find("testsuite").get("failures") == str(len(failing))  # one case per rule and establishment


def test_an_internal_error_exits_3_with_one_line_and_no_traceback(one_referent, tmp_path, capsys, monkeypatch):
    def broken(*args, **kwargs):
        raise KeyError("bogue")

    monkeypatch.setattr(engine, "_coverage", broken)  # a bug inside the engine, whatever the input
    assert run(one_referent, tmp_path / "out") == 3
    err = capsys.readouterr().err
    assert err.startswith("Erreur interne de vt-audit (KeyError) : merci de la signaler")
    assert "Traceback" not in err and not (tmp_path / "out" / "findings.json").exists()


def test_a_rule_whose_optional_column_is_absent_is_skipped_and_says_why(tmp_path):
    from tests.helpers import ACCOUNT_HEADER

    unit = ACCOUNT_HEADER.index("Unité")
    header = [h for i, h in enumerate(ACCOUNT_HEADER) if i != unit]
    rows = [[v for i, v in enumerate(account_row(login=login, roles=BOTH_REFERENT_ROLES)) if i != unit]
            for login in ("a", "b")]
    exports = write_csv(tmp_path / "comptes.csv", rows, header=header)
    out = tmp_path / "out"
    run(exports, out, "--format", "json")
    report = json.loads((out / "findings.json").read_text(encoding="utf-8"))
    rule = next(r for r in report["rules"] if r["code"] == "ATT-02")
    assert (rule["evaluated"], rule["findings"]) == (False, 0)
    assert "absente des comptes" in rule["skipped_because"]
    assert not [f for f in report["findings"] if f["rule"] == "ATT-02"]
