"""The national referentials read as they are published: the FINESS extract (both forms)."""

import json

import pytest

from auditor.cli.commands import main
from auditor.testing.synthetic import EXTRACT_NAME, generate, write_finess_extract
from tests.helpers import SAMPLES, SAMPLES_AS_OF, account_row, write_csv

EXTRACT = SAMPLES / "referentiels" / EXTRACT_NAME


def audit(tmp_path, referential, *extra, more=()):
    out = tmp_path / "out"
    code = main(["run", str(SAMPLES / "comptes.csv"), str(SAMPLES / "personnels.csv"), str(referential), *more,
                 "--out", str(out), "--as-of", SAMPLES_AS_OF, "--format", "json", "--fail-on", "jamais", *extra])
    assert code == 0
    return json.loads((out / "findings.json").read_text(encoding="utf-8"))


def establishments(report):
    return {e["finess"]: e for e in report["establishments"]}


@pytest.fixture(scope="module")
def planted():
    return json.loads((SAMPLES / "attendu.json").read_text(encoding="utf-8"))["findings"]


def test_the_etalab_extract_is_recognised_from_its_content(tmp_path, planted):
    renamed = tmp_path / "finess.txt.csv"  # the name says nothing: the content does
    renamed.write_bytes(EXTRACT.read_bytes())
    report = audit(tmp_path, renamed)
    (source,) = [s for s in report["sources"] if s["kind"] == "establishments"]
    assert source["description"].startswith("extrait FINESS des établissements")
    (geolocation,) = [i for i in report["input_issues"] if "géolocalisation" in i["reason"]]
    lines = EXTRACT.read_text(encoding="latin-1").splitlines()
    assert geolocation["dropped_rows"] == sum(line.startswith("geolocalisation") for line in lines)
    assert source["rows"] == sum(line.startswith("structureet") for line in lines)  # every row counted
    audited = establishments(report)
    # The ESMS without any account is audited from the extract: REF-01 "aucun compte".
    without = [f["finess"] for f in planted
               if f["rule"] == "REF-01" and audited.get(f["finess"], {}).get("accounts") == 0]
    assert without and all(any(f["rule"] == "REF-01" and f["finess"] == finess for f in report["findings"])
                           for finess in without)


def test_other_categories_and_other_departments_are_not_audited(tmp_path):
    report = audit(tmp_path, EXTRACT)
    names = {e["name"] for e in report["establishments"]}
    assert not names & {"EHPAD Les Mimosas", "Centre hospitalier de Digne", "Pharmacie du Port", "IME de Paris"}
    wider = audit(tmp_path, EXTRACT, "--departements", "PACA,75")
    paris = [e for e in wider["establishments"] if e["name"] == "IME de Paris"]
    assert paris and paris[0]["accounts"] == 0
    assert any(f["rule"] == "REF-01" and f["finess"] == paris[0]["finess"] for f in wider["findings"])
    assert "EHPAD Les Mimosas" not in {e["name"] for e in wider["establishments"]}


def referents_at(finess):
    return [account_row(login=f"ref{n}{finess}", finess=finess) for n in range(2)]


def test_the_national_extract_is_audited_in_the_regions_of_the_accounts(tmp_path):
    # Accounts in the Alpes-de-Haute-Provence only: every ESMS of the extract in PACA is audited (the
    # ESMS of a department where nobody has an account is the one nobody looks after), none in Paris.
    region = generate(36)
    extract = write_finess_extract(region, tmp_path / EXTRACT_NAME)
    alps = region.establishments[0]
    assert alps["department"] == "04"
    accounts = write_csv(tmp_path / "comptes.csv", referents_at(alps["finess"]))
    code = main(["run", str(accounts), str(extract), "--out", str(tmp_path / "out"), "--as-of", SAMPLES_AS_OF,
                 "--format", "json", "--fail-on", "jamais"])
    assert code == 0
    report = json.loads((tmp_path / "out" / "findings.json").read_text(encoding="utf-8"))
    audited = establishments(report)
    open_in_paca = {e["finess"] for e in region.establishments if e["closed_on"] is None}
    assert set(audited) == open_in_paca
    var = next(e["finess"] for e in region.establishments if e["department"] == "83" and e["closed_on"] is None)
    assert any(f["rule"] == "REF-01" and f["finess"] == var for f in report["findings"])


def test_a_regions_own_establishments_file_is_audited_whole(tmp_path):
    # The region lists an ESMS of Corse-du-Sud where no account exists yet: audited (REF-01 « aucun compte »);
    # its EHPAD is not an ESMS for disabled people: left out.
    marseille, ajaccio, ehpad = "130000011", "2A0000018", "130000029"
    referential = write_csv(tmp_path / "etablissements.csv", [
        [marseille, "IME Les Calanques", "183", "13"], [ajaccio, "IME du Golfe", "183", "2A"],
        [ehpad, "EHPAD Les Mimosas", "500", "13"],
    ], header=["N° FINESS ET", "Raison sociale", "Catégorie", "Département"])
    accounts = write_csv(tmp_path / "comptes.csv", referents_at(marseille))
    report = audit_files(tmp_path, accounts, referential)
    assert set(establishments(report)) == {marseille, ajaccio}
    assert [f["message"] for f in report["findings"] if f["finess"] == ajaccio and f["rule"] == "REF-01"]
    narrowed = audit_files(tmp_path / "13", accounts, referential, "--departements", "13")
    assert set(establishments(narrowed)) == {marseille}


def test_a_referential_without_a_category_column_audits_its_establishments_without_accounts(tmp_path):
    referential = write_csv(tmp_path / "etablissements.csv", [["130000011", "IME A"], ["130000029", "ESAT B"]],
                            header=["FINESS", "Raison sociale"])
    accounts = write_csv(tmp_path / "comptes.csv", referents_at("130000011"))
    report = audit_files(tmp_path, accounts, referential)
    assert establishments(report)["130000029"]["accounts"] == 0
    assert [f["finess"] for f in report["findings"] if f["rule"] == "REF-01"] == ["130000029"]


def audit_files(tmp_path, *files_and_options):
    code = main(["run", *map(str, files_and_options), "--out", str(tmp_path / "out"), "--as-of", SAMPLES_AS_OF,
                 "--format", "json", "--fail-on", "jamais"])
    assert code == 0
    return json.loads((tmp_path / "out" / "findings.json").read_text(encoding="utf-8"))


def test_accounts_on_an_establishment_missing_from_the_extract_say_it_is_closed_or_unknown(tmp_path, planted):
    report = audit(tmp_path, EXTRACT)
    closed = {f["finess"] for f in planted if f["rule"] == "ETB-01"}
    (finess,) = closed
    (etb02,) = [f for f in report["findings"] if f["rule"] == "ETB-02" and f["finess"] == finess]
    assert etb02["message"].endswith("absent du fichier FINESS : établissement fermé ou inconnu du FINESS")


def test_both_published_forms_give_the_same_audit(tmp_path):
    region = generate(36)
    stock = write_finess_extract(region, tmp_path / "stock.csv", "stock")
    header = write_finess_extract(region, tmp_path / "entete.csv", "header")
    first = audit(tmp_path / "a", stock)
    second = audit(tmp_path / "b", header)
    assert establishments(first).keys() == establishments(second).keys()
    assert {f["key"] for f in first["findings"]} == {f["key"] for f in second["findings"]}
    assert not [i for i in second["input_issues"] if "non reconnue" in i["reason"]]  # no noise from 31 columns


def test_an_unknown_region_is_a_clear_error(tmp_path, capsys):
    assert main(["run", str(SAMPLES), "--out", str(tmp_path / "o"), "--departements", "Atlantide"]) == 2
    assert "« Atlantide » n'est ni un département" in capsys.readouterr().err


# -- the RPPS directory ------------------------------------------------------------------------------

DIRECTORY = SAMPLES / "referentiels" / "PS_LibreAcces_Personne_activite_202611010400.txt"


def test_the_rpps_directory_places_professionals_and_checks_their_professions(tmp_path, planted):
    renamed = tmp_path / "annuaire.csv"
    renamed.write_bytes(DIRECTORY.read_bytes())
    report = audit(tmp_path, SAMPLES / "etablissements.xlsx", more=[str(renamed)])
    (source,) = [s for s in report["sources"] if s["kind"] == "directory"]
    assert source["rows"] == len(DIRECTORY.read_text(encoding="utf-8").splitlines()) - 1
    expected = json.loads((SAMPLES / "referentiels" / "attendu-annuaire.json").read_text(encoding="utf-8"))["findings"]
    found = {(f["rule"], f["finess"], f["subject"]) for f in report["findings"]}
    for rule in ("DRT-04", "DAT-04"):  # exactly what was planted
        assert {t for t in found if t[0] == rule} == {(e["rule"], e["finess"], e["subject"])
                                                      for e in expected if e["rule"] == rule}
    att01 = {(e["rule"], e["finess"], e["subject"]) for e in [*planted, *expected] if e["rule"] == "ATT-01"}
    assert {t for t in found if t[0] == "ATT-01"} == att01  # the directory's activity places one more
    assert not [f for f in report["findings"] if f["rule"] == "ATT-04"
                if f["finess"] not in {e["finess"] for e in planted if e["rule"] == "ATT-04"}]  # never a leaver
    drt04 = next(f for f in report["findings"] if f["rule"] == "DRT-04")
    assert "« Masseur-Kinésithérapeute » selon l'annuaire santé" in drt04["message"]


def test_the_directory_alone_stands_for_a_staff_file(tmp_path):
    out = tmp_path / "out"
    main(["run", str(SAMPLES / "comptes.csv"), str(DIRECTORY), "--out", str(out), "--as-of", SAMPLES_AS_OF,
          "--format", "json", "--fail-on", "jamais"])
    report = json.loads((out / "findings.json").read_text(encoding="utf-8"))
    evaluated = {r["code"] for r in report["rules"] if r["evaluated"]}
    assert {"ATT-01", "ATT-04", "DRT-04", "DAT-04"} <= evaluated
    assert not [f for f in report["findings"] if f["rule"] == "ATT-04"]  # no staff list: nobody judged a leaver


def test_the_directory_places_nobody_in_an_establishment_outside_the_audit(tmp_path):
    # A psychologist of the directory also works at an IME of Paris, which the national extract lists
    # but the region does not audit: that activity makes no finding, nor an establishment to audit.
    lines = DIRECTORY.read_text(encoding="utf-8").splitlines()
    elsewhere = lines[1].replace("|060000031|", "|750090037|")
    assert elsewhere != lines[1]
    directory = tmp_path / "annuaire.txt"
    directory.write_text("\n".join([*lines, elsewhere]) + "\n", encoding="utf-8")
    report = audit(tmp_path, EXTRACT, more=[str(directory)])
    assert "750090037" not in establishments(report)
    assert not [f for f in report["findings"] if f["finess"] == "750090037"]
    from_directory = [f for f in report["findings"] if f["rule"] == "ATT-01" and "annuaire" in f["message"]]
    assert from_directory and all("selon l'annuaire RPPS" in f["message"] for f in from_directory)
