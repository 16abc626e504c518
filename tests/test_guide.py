"""What the findings say, read as a director would: who, why, what to do (the rule examples count findings)."""

import json

from auditor.cli.commands import main
from tests.helpers import account_row, write_csv

STAFF_HEADER = ["FINESS", "RPPS", "Nom", "Prénom", "E-mail"]
LEGACY_MEDICAL = "Handicap - ESMS Médical, Paramédical, Psychologue"


def findings(tmp_path, rows, staff=None):
    paths = [str(write_csv(tmp_path / "comptes.csv", rows))]
    if staff is not None:
        paths += ["--staff", str(write_csv(tmp_path / "personnel.csv", staff, header=STAFF_HEADER, sep=","))]
    out = tmp_path / "out"
    main(["run", *paths, "--out", str(out), "--as-of", "2026-11-01", "--format", "json"])
    report = json.loads((out / "findings.json").read_text(encoding="utf-8"))
    return report


def messages(report, rule):
    return [f["message"] for f in report["findings"] if f["rule"] == rule]


def test_ref01_names_the_referents_left_out_and_why(tmp_path):
    report = findings(tmp_path, [
        account_row(login="actif", roles="Référent Établissement", last_name="ACTIF"),
        account_row(login="jamais", roles="Référent Établissement", last_name="JAMAIS", last_login=""),
        account_row(login="ancien", roles="Référent Établissement", last_name="ANCIEN", last_login="01/01/2026"),
    ])
    (message,) = messages(report, "REF-01")
    assert message == ("1 référent actif sur 2 requis : ACTIF Marie ; non comptés : ANCIEN Marie (dernière "
                       "connexion le 01/01/2026), JAMAIS Marie (jamais connecté)")


def test_att01_names_the_probable_account_or_the_homonyms(tmp_path):
    rows = [account_row(login="ref1", roles="Référent Établissement"),
            account_row(login="jmartin", finess="830000014", last_name="MARTIN", first_name="Julie"),
            account_row(login="pdurand", finess="830000014", last_name="DURAND", first_name="Paul"),
            account_row(login="pdurand2", finess="840000012", last_name="DURAND", first_name="Paul"),
            # One account attached to two establishments is one account of that name, not two homonyms.
            account_row(login="aleroy", finess="830000014", last_name="LEROY", first_name="Anne"),
            account_row(login="aleroy", finess="840000012", last_name="LEROY", first_name="Anne")]
    report = findings(tmp_path, rows, staff=[["130000011", "", "Martin", "Julie", "julie@perso.example"],
                                             ["130000011", "", "Durand", "Paul", ""],
                                             ["130000011", "", "Leroy", "Anne", ""]])
    by_subject = {f["subject"]: f for f in report["findings"] if f["rule"] == "ATT-01"}
    julie = by_subject["MARTIN Julie"]
    assert julie["message"].endswith("compte probable (même nom) : jmartin (rattaché à 830000014)")
    assert julie["account"] == "jmartin"
    assert by_subject["DURAND Paul"]["message"].endswith(
        "2 homonymes dans l'export : vérifier lequel est le sien avant de créer un compte")
    assert by_subject["LEROY Anne"]["message"].endswith("compte probable (même nom) : aleroy (rattaché à 830000014)")


def test_dat03_says_probable_when_only_the_name_matches(tmp_path):
    report = findings(tmp_path, [
        account_row(login="ref1", roles="Référent Établissement"),
        account_row(login="jm1", last_name="MARTIN", first_name="Julie", email="a@esms.example"),
        account_row(login="jm2", last_name="MARTIN", first_name="Julie", email="b@esms.example"),
        account_row(login="pd1", email="same@esms.example"), account_row(login="pd2", email="same@esms.example"),
    ])
    texts = messages(report, "DAT-03")
    assert "2 comptes probablement pour une même personne (mêmes nom et prénom) : jm1, jm2" in texts
    assert "2 comptes pour une même personne (même e-mail) : pd1, pd2" in texts


def test_drt02_says_when_the_iam_equivalents_remove_medical_access(tmp_path):
    report = findings(tmp_path, [account_row(login="ide", function="Infirmière", roles=LEGACY_MEDICAL),
                                 account_row(login="educ", function="Éducateur", roles="Handicap - ESMS")])
    by_account = {f["account"]: f["message"] for f in report["findings"] if f["rule"] == "DRT-02"}
    assert "aucun ne donne accès aux informations médicales : cet accès disparaît" in by_account["ide"]
    assert "informations médicales" not in by_account["educ"]


def test_an_unknown_role_beside_a_known_one_is_reported_and_the_known_one_kept(tmp_path):
    report = findings(tmp_path, [account_row(login="a", roles="Rôle maison, Référent Établissement"),
                                 account_row(login="b", roles="Rôle maison")])
    issues = [i for i in report["input_issues"] if i["column"] == "Rôles"]
    expected = "rôle non reconnu (absent du catalogue des rôles), ignoré : « Rôle maison »"
    assert {i["reason"] for i in issues} == {expected}
    assert {f["account"] for f in report["findings"] if f["rule"] == "REF-02"} == {"a"}  # the ROR role was kept
    assert not [f for f in report["findings"] if f["rule"] == "ATT-03"]  # "b" may hold a role: not "no role"
