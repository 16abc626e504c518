"""The whole audit on samples/ and on hostile cells: reports read back as a user opens them."""

import csv
import html
import json
import os
import re
import subprocess
import sys
from html.parser import HTMLParser

import pytest
from openpyxl import load_workbook

from auditor.cli.commands import main
from auditor.model.findings import SEVERITY_RANK
from auditor.testing.synthetic import generate, write_region
from tests.helpers import SAMPLES, SAMPLES_AS_OF, account_row, write_csv


@pytest.fixture(scope="module")
def sample_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("out")
    code = main(["run", str(SAMPLES), "--out", str(out), "--as-of", SAMPLES_AS_OF, "--per-establishment"])
    return code, out


def finding_triples(findings):
    return {(f["rule"], f["finess"], f["subject"]) for f in findings}


def test_samples_give_exactly_the_planted_problems(sample_run):
    code, out = sample_run
    report = json.loads((out / "findings.json").read_text(encoding="utf-8"))
    expected = json.loads((SAMPLES / "attendu.json").read_text(encoding="utf-8"))
    assert finding_triples(report["findings"]) == finding_triples(expected["findings"])
    evaluated = {r["code"] for r in report["rules"] if r["evaluated"]}
    assert {f["rule"] for f in expected["findings"]} == evaluated  # every rule that ran has a case
    # The campaign's rules need last month's campaign (a history): see tests/test_campaign.py; the
    # directory's need the RPPS directory (samples/referentiels): see tests/test_referentials.py.
    skipped = {r["code"]: r["skipped_because"] for r in report["rules"] if not r["evaluated"]}
    assert skipped == {"REV-01": skipped["REV-01"], "REV-02": skipped["REV-02"],
                       "DRT-04": "annuaire santé (RPPS) absent", "DAT-04": "annuaire santé (RPPS) absent"}
    assert "campagne" in skipped["REV-01"] and "campagne" in skipped["REV-02"]
    assert code == 1  # errors were found, at the default --fail-on error
    assert report["as_of"] == SAMPLES_AS_OF
    for finding in report["findings"]:
        assert set(finding) >= {"rule", "severity", "finess", "establishment", "account", "subject", "message", "key"}


def test_a_region_as_dirty_as_real_exports_gives_exactly_what_was_planted(tmp_path):
    """The benchmarks' data: several problems per establishment, each one found, nothing else."""
    data, out = tmp_path / "region", tmp_path / "out"
    write_region(generate(60, seed=3, staff=(6, 12), dirt=0.5), data)
    main(["run", str(data), "--out", str(out), "--as-of", SAMPLES_AS_OF, "--format", "json", "--quiet"])
    report = json.loads((out / "findings.json").read_text(encoding="utf-8"))
    expected = json.loads((data / "attendu.json").read_text(encoding="utf-8"))
    assert finding_triples(report["findings"]) == finding_triples(expected["findings"])
    per_establishment = len(report["findings"]) / len(report["establishments"])
    assert per_establishment > 3
    order = [(f["finess"], -SEVERITY_RANK[f["severity"]], f["rule"]) for f in report["findings"]]
    assert order == sorted(order)  # by establishment, most severe first, then by rule
    assert {f["rule"] for f in report["findings"]} >= {"ACC-01", "ACC-02", "ACC-03", "ATT-02", "ATT-03", "ATT-04",
                                                        "DAT-01", "DAT-02", "DRT-01", "DRT-02", "DRT-03"}


def test_samples_have_clean_establishments_and_full_coverage(sample_run):
    _, out = sample_run
    report = json.loads((out / "findings.json").read_text(encoding="utf-8"))
    establishments = report["establishments"]
    flagged = {f["finess"] for f in report["findings"]}
    clean = [e for e in establishments if e["finess"] not in flagged]
    referential = load_workbook(SAMPLES / "etablissements.xlsx").active.max_row - 1
    assert len(establishments) >= referential and len(clean) >= 10
    assert all(e["error"] == e["warning"] == e["info"] == 0 for e in clean)
    without_accounts = [e for e in establishments if e["accounts"] == 0]
    assert report["summary"]["establishments_without_accounts"] == len(without_accounts) >= 1


def test_workbook_reads_back_with_findings_rules_and_frozen_filtered_headers(sample_run):
    _, out = sample_run
    workbook = load_workbook(out / "audit.xlsx")
    assert workbook.sheetnames == ["Vue d'ensemble", "Synthèse", "Constats", "Revue des accès", "Règles",
                                   "Problèmes de lecture", "À propos"]
    findings = workbook["Constats"]
    # Header and severity, rule and title columns stay in view; filters on the header.
    assert findings.freeze_panes == "D2" and findings.auto_filter.ref.startswith("A1:")
    header = [c.value for c in findings[1]]
    rows = [dict(zip(header, (c.value for c in row))) for row in findings.iter_rows(min_row=2)]
    report = json.loads((out / "findings.json").read_text(encoding="utf-8"))
    assert len(rows) == len(report["findings"])
    assert {(r["Règle"], r["FINESS"], r["Personne"]) for r in rows} == finding_triples(report["findings"])
    errors = [row for row in findings.iter_rows(min_row=2) if row[0].value == "erreur"]
    assert errors and all(row[0].fill.fgColor.rgb.endswith("FFC7CE") for row in errors)
    rules = {row[0].value: row for row in workbook["Règles"].iter_rows(min_row=2)}
    assert "Portail de santé PACA" in rules["REF-01"][7].value
    assert all("Portail de santé PACA" in row["Comment corriger"] and row["Pourquoi"] for row in rows)


def test_access_review_lists_every_active_account_with_rights_and_a_decision_list(sample_run):
    _, out = sample_run
    report = json.loads((out / "findings.json").read_text(encoding="utf-8"))
    sheet = load_workbook(out / "audit.xlsx")["Revue des accès"]
    header = [c.value for c in sheet[1]]
    rows = [dict(zip(header, row)) for row in sheet.iter_rows(min_row=2, values_only=True)]
    with open(SAMPLES / "comptes.csv", encoding="cp1252", newline="") as handle:
        active = {(r["Identifiant"], r["N° FINESS"].replace(" ", "")) for r in csv.DictReader(handle, delimiter=";")
                  if r["Statut"] == "Actif"}
    assert {(r["Compte"], r["FINESS"]) for r in rows} == active
    medical = [r for r in rows if "DRT-01" in (r["Constats"] or "")]
    assert medical and all(r["Accéder aux informations médicales"] == "✔" for r in medical)
    flagged = {(f["account"], f["finess"]) for f in report["findings"] if f["rule"] == "DRT-01"}
    assert {(r["Compte"], r["FINESS"]) for r in medical} == flagged
    secretaries = [r for r in rows if r["Fonction"] == "Secrétaire"]
    assert secretaries and all(r["Accéder aux informations médicales"] is None for r in secretaries)
    decision = header.index("Décision (Conserver / Modifier / Archiver)")
    assert all(row[decision] is None for row in sheet.iter_rows(min_row=2, values_only=True))
    validation = sheet.data_validations.dataValidation[0]
    assert validation.formula1 == '"Conserver,Modifier,Archiver"' and str(validation.sqref) == f"J2:J{len(rows) + 1}"
    # "stop" (a typed text is refused) is the default when the file leaves errorStyle out.
    assert validation.showErrorMessage and validation.errorStyle in (None, "stop") and validation.showInputMessage
    page = (out / "audit.html").read_text(encoding="utf-8")
    assert "Revue des accès (" not in page and "feuille « Revue des accès »" in page  # the region's page is light
    bundle = next((out / "etablissements").glob(f"{medical[0]['FINESS']}_*.html")).read_text(encoding="utf-8")
    own = sum(1 for r in rows if r["FINESS"] == medical[0]["FINESS"])
    assert f"Revue des accès ({own} comptes actifs)" in bundle


class _Text(HTMLParser):
    def __init__(self):
        super().__init__()
        self.text, self.scripts, self.external = [], 0, []

    def handle_starttag(self, tag, attrs):
        self.scripts += tag == "script"
        self.external += [v for k, v in attrs if k in ("src", "href") and v and "://" in v]

    def handle_data(self, data):
        self.text.append(data)


def test_html_page_is_french_self_contained_and_lists_findings_with_their_fix(sample_run):
    _, out = sample_run
    page = (out / "audit.html").read_text(encoding="utf-8")
    parsed = _Text()
    parsed.feed(page)
    text = " ".join(parsed.text)
    assert '<html lang="fr">' in page and parsed.scripts == 0 and parsed.external == []
    assert "Comment corriger" in text and "Mes professionnels" in text
    report = json.loads((out / "findings.json").read_text(encoding="utf-8"))
    for finding in report["findings"]:
        assert finding["message"] in text


def test_each_bundle_holds_only_its_establishment(sample_run):
    _, out = sample_run
    report = json.loads((out / "findings.json").read_text(encoding="utf-8"))
    bundles = sorted((out / "etablissements").glob("*.xlsx"))
    assert len(bundles) == len(report["establishments"])
    region_review = load_workbook(out / "audit.xlsx")["Revue des accès"]
    review_header = [c.value for c in region_review[1]]
    review_rows = [dict(zip(review_header, r)) for r in region_review.iter_rows(min_row=2, values_only=True)]
    for path in bundles:
        finess = path.name.split("_")[0]
        workbook = load_workbook(path)
        own = [f for f in report["findings"] if f["finess"] == finess]
        todo = " ".join(str(c) for row in workbook["À faire"].iter_rows(min_row=2, values_only=True) for c in row if c)
        assert set(re.findall(r"[A-Z]{3}-\d{2}", todo)) == {f["rule"] for f in own}
        assert all(f["message"] in todo and (f["account"] or "") in todo for f in own)
        review = workbook["Revue des accès"]
        header = [c.value for c in review[1]]
        mine = sorted((r["Compte"], r["Personne"]) for r in review_rows if r["FINESS"] == finess)
        assert sorted((r[header.index("Compte")], r[header.index("Personne")])
                      for r in review.iter_rows(min_row=2, values_only=True)) == mine
        page = path.with_suffix(".html").read_text(encoding="utf-8")
        own_name = next(e["name"] for e in report["establishments"] if e["finess"] == finess)
        own_people = {own_name} | {f["subject"] for f in own} | {person for _, person in mine}
        strangers = {f["subject"] for f in report["findings"] if f["finess"] != finess} - own_people
        # "IME Les Oliviers" must not match inside "IME Les Oliviers 2", nor "DURAND X" inside "MARTIN-DURAND X"
        shown = [n for n in strangers if re.search(r"(?<![\w-])" + re.escape(html.escape(n)) + r"(?!\w| \d)", page)]
        assert strangers and not shown
        assert finess in page


def test_hostile_cells_stay_inert_in_xlsx_and_html(tmp_path):
    rows = [
        account_row(login="=HYPERLINK(\"http://evil\")", last_name="<script>alert(1)</script>",
                    roles="Référent Établissement", first_name="+33 6 00"),
        account_row(login="@SUM(A1)", last_name="-2+3", roles="Référent Établissement"),
    ]
    exports = write_csv(tmp_path / "comptes.csv", rows)
    out = tmp_path / "out"
    assert main(["run", str(exports), "--out", str(out), "--as-of", "2026-11-01"]) == 1
    workbook = load_workbook(out / "audit.xlsx")
    cells = [c for row in workbook["Constats"].iter_rows(min_row=2) for c in row if isinstance(c.value, str)]
    risky = [c for c in cells if c.value.startswith(("=", "+", "-", "@"))]
    assert {c.value for c in risky} >= {'=HYPERLINK("http://evil")', "@SUM(A1)"}
    assert all(c.data_type == "s" for c in risky)
    page = (out / "audit.html").read_text(encoding="utf-8")
    assert "<script" not in page.lower()
    assert "&lt;SCRIPT&gt;ALERT(1)&lt;/SCRIPT&gt;" in page  # shown as text (last names are upper-cased)


def test_fail_on_and_exit_codes(tmp_path):
    both = "Référent Établissement | VT PH - Référent ESMS"
    stale = account_row(login="c", roles="IAM - MSPH - Statistiques ESMS (IAM)", last_login="01/01/2025")
    exports = write_csv(tmp_path / "comptes.csv", [account_row(login="a", roles=both),
                                                   account_row(login="b", roles=both), stale])
    out = str(tmp_path / "out")
    assert main(["run", str(exports), "--out", out, "--as-of", "2026-11-01"]) == 0  # a warning only
    assert main(["run", str(exports), "--out", out, "--as-of", "2026-11-01", "--fail-on", "warning"]) == 1
    assert main(["run", str(exports), "--out", out, "--as-of", "2026-11-01", "--param", "inactivity_days=1000",
                 "--fail-on", "warning"]) == 0


def test_the_command_ends_with_its_summary_written_and_its_exit_code(tmp_path):
    # The command ends its process without freeing what it made (launch.end_process): what it
    # printed into a pipe, and its reports, must all be there, with the exit code of --fail-on.
    both = "Référent Établissement | VT PH - Référent ESMS"
    stale = account_row(login="c", roles="IAM - MSPH - Statistiques ESMS (IAM)", last_login="01/01/2025")
    exports = write_csv(tmp_path / "comptes.csv", [account_row(login="a", roles=both),
                                                   account_row(login="b", roles=both), stale])
    out = tmp_path / "out"
    command = [sys.executable, "-m", "auditor", "run", str(exports), "--out", str(out), "--as-of", "2026-11-01",
               "--format", "json", "--fail-on", "avertissement", "-v"]
    buffered = {name: value for name, value in os.environ.items() if name != "PYTHONUNBUFFERED"}  # as a user has it
    result = subprocess.run(command, capture_output=True, text=True, env=buffered)
    assert result.returncode == 1
    assert result.stdout.startswith("1 établissement audité au 01/11/2026 : 0 erreur, 1 avertissement")
    assert f"Rapports dans {out}" in result.stdout
    assert "comptes.csv : comptes utilisateurs" in result.stderr  # the log, flushed too
    assert len(json.loads((out / "findings.json").read_text(encoding="utf-8"))["findings"]) == 1
    assert not [p.name for p in out.iterdir() if p.name.startswith(".vt-audit-") and p.name.endswith(".part")]


def test_the_command_started_without_standard_output_still_writes_its_reports(tmp_path):
    # A scheduled job may start it with its output closed (Python's sys.stdout is then None).
    exports = write_csv(tmp_path / "comptes.csv", [account_row()])
    out = tmp_path / "out"
    command = [sys.executable, "-m", "auditor", "run", str(exports), "--out", str(out), "--as-of", "2026-11-01",
               "--format", "json"]
    result = subprocess.run(command, stderr=subprocess.PIPE, text=True, preexec_fn=lambda: os.close(1))
    assert (result.returncode, result.stderr) == (1, "")  # one referent: an error finding, nothing else said
    assert json.loads((out / "findings.json").read_text(encoding="utf-8"))["findings"]


def test_unusable_input_is_one_french_error_line_with_exit_2(tmp_path):
    bad = tmp_path / "comptes.csv"
    bad.write_text("Identifiant;Nom\r\nx;y\r\n", encoding="utf-8")
    command = [sys.executable, "-m", "auditor", "run", str(bad), "--out", str(tmp_path / "out")]
    result = subprocess.run(command, capture_output=True, text=True)
    assert result.returncode == 2
    assert result.stderr.startswith("Erreur : ") and "Traceback" not in result.stderr
    assert "comptes.csv" in result.stderr and "« Rôles »" in result.stderr
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("argv,expected", [
    (["run", "x", "--out", "o", "--param", "nope=3"], "paramètres valides"),
    (["run", "x", "--out", "o", "--fail-on", "souvent"], "argument --fail-on : niveau inconnu « souvent »"),
    (["run", "--out", "o"], "aucun fichier"),
    (["run", "x", "--out", "o", "--as-of", "31/02/2026"], "date invalide"),
])
def test_usage_errors_are_french(tmp_path, capsys, monkeypatch, argv, expected):
    write_csv(tmp_path / "x", [account_row()])
    monkeypatch.chdir(tmp_path)
    assert main(argv) == 2
    error = capsys.readouterr().err
    assert error.startswith("Erreur : ") and expected in error


def test_readme_documents_every_exit_code():
    from auditor.cli.parser import EXIT_CODES
    from tests.helpers import ROOT

    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for code, meaning in EXIT_CODES.items():
        assert f"| {code} | {meaning} |" in readme


def test_installed_command_finds_its_rules_and_templates_from_anywhere(tmp_path):
    import shutil
    from pathlib import Path

    command = shutil.which("vt-audit", path=str(Path(sys.executable).parent))
    assert command, "pip install . gives the vt-audit command"
    result = subprocess.run([command, "run", str(SAMPLES), "--out", "r", "--as-of", SAMPLES_AS_OF,
                             "--fail-on", "never", "--format", "html"], cwd=tmp_path, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "r" / "audit.html").stat().st_size > 1000


def test_readme_rule_table_lists_every_rule_with_its_severity():
    from auditor.api import load_rulebook
    from tests.helpers import ROOT

    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    _, rules = load_rulebook()
    for rule in rules:
        assert f"| {rule.code} | {rule.severity} |" in readme, rule.code


def _sheet_rows(workbook, title):
    sheet = workbook[title]
    rows = list(sheet.iter_rows(values_only=True))
    start = next(i for i, row in enumerate(rows) if "FINESS" in row)  # below the title lines
    header = rows[start]
    return [dict(zip(header, row)) for row in rows[start + 1:] if any(row)]


def test_bundles_hold_only_their_own_waivers_input_issues_and_review(tmp_path):
    """Two establishments, each with findings, a waiver and an input issue: nothing crosses over."""
    exports = write_csv(tmp_path / "comptes.csv", [
        account_row(login="a1", finess="130000011", roles="Référent Établissement", last_login="01/01/2025"),
        account_row(login="a2", finess="130000011", last_login="31/02/2026"),  # unreadable date: an input issue
        account_row(login="b1", finess="830000014", roles="Référent Établissement", last_login="01/01/2025"),
        account_row(login="b2", finess="830000014", last_login="hier"),
    ])
    waivers = tmp_path / "w.yaml"
    waivers.write_text("""waivers:
  - {rule: REF-01, finess: "130000011", reason: Recrutement A, approved_by: ARS, expires: 2027-01-31}
  - {rule: REF-01, finess: "830000014", reason: Recrutement B, approved_by: ARS, expires: 2027-01-31}
""", encoding="utf-8")
    out = tmp_path / "out"
    main(["run", str(exports), "--out", str(out), "--as-of", "2026-11-01", "--per-establishment",
          "--waivers", str(waivers)])
    region = load_workbook(out / "audit.xlsx")
    region_review = _sheet_rows(region, "Revue des accès")
    for finess, own, other in (("130000011", "A", "B"), ("830000014", "B", "A")):
        (path,) = (out / "etablissements").glob(f"{finess}_*.xlsx")
        workbook = load_workbook(path)
        # The export's reading problems are the auditor's: a director reads neither files nor lines.
        assert "Problèmes de lecture" not in workbook.sheetnames, path.name
        about = dict(workbook["À propos"].iter_rows(min_row=2, values_only=True))
        assert not [k for k in about if k.startswith("Fichier lu")] and "Commande" not in about
        waived = _sheet_rows(workbook, "Dérogations")
        assert [(w["FINESS"], w["Motif"]) for w in waived] == [(finess, f"Recrutement {own}")]
        header = [c.value for c in workbook["Revue des accès"][1]]
        review = sorted(row[header.index("Compte")] for row in workbook["Revue des accès"].iter_rows(
            min_row=2, values_only=True) if any(row))
        assert review == sorted(r["Compte"] for r in region_review if r["FINESS"] == finess) and len(review) == 2
        page = path.with_suffix(".html").read_text(encoding="utf-8")
        assert f"Recrutement {own}" in page and f"Recrutement {other}" not in page
        assert "comptes.csv" not in page and "--history" not in page and "Problèmes de lecture" not in page
