"""The loader on the formats French back offices produce, and on bad input."""

import datetime as dt
import shutil

import pandas as pd
import pytest
from openpyxl import Workbook

from auditor.config.catalogue import load_catalogue
from auditor.inputs.load import load_inputs
from auditor.model.issues import AuditError
from tests.helpers import ACCOUNT_HEADER, ROOT, account_row, write_csv

AS_OF = pd.Timestamp("2026-11-01")


def load(paths, catalogue, **kwargs):
    return load_inputs([*paths], catalogue, AS_OF, **kwargs)


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "cp1252", "utf-16"])
@pytest.mark.parametrize("sep", [";", ",", "|", "\t"])
def test_reads_every_encoding_and_separator(tmp_path, catalogue, encoding, sep):
    path = write_csv(tmp_path / "comptes.csv", [account_row(first_name="Hélène", roles="Référent Établissement")],
                     sep=sep, encoding=encoding)
    inputs = load([path], catalogue)
    row = inputs.accounts.iloc[0]
    assert row["first_name"] == "Hélène"
    assert row["roles"] == ("Référent Établissement",)
    assert inputs.sources[0].kind == "accounts"
    assert not [i for i in inputs.issues if i.severity != "info"]


def test_headers_match_without_case_accents_or_punctuation(tmp_path, catalogue):
    header = ["LOGIN", "civilite", "NOM", "prenom", "Adresse mail", "Email de secours", "n° rpps", "FONCTION",
              "N° FINESS", "etablissement", "unite", "ROLES", "statut du compte", "date de creation",
              "DERNIERE CONNEXION"]
    path = write_csv(tmp_path / "c.csv", [account_row()], header=header)
    inputs = load([path], catalogue)
    assert inputs.accounts.iloc[0]["account_id"] == "mdupont"
    assert inputs.columns_present["accounts"] == set(catalogue.kinds["accounts"].columns)


def test_identifiers_stay_text_with_leading_zeros_and_without_spaces(tmp_path, catalogue):
    rows = [account_row(login="a", finess="04 000 001 0"), account_row(login="b", finess="40000010"),
            account_row(login="c", finess="060000015", rpps="10000000009")]
    inputs = load([write_csv(tmp_path / "c.csv", rows)], catalogue)
    assert list(inputs.accounts["finess"]) == ["040000010", "040000010", "060000015"]
    assert inputs.accounts.iloc[2]["rpps"] == "10000000009"
    lost_zero = [i for i in inputs.issues if "zéro initial" in i.reason]
    assert [(i.line, i.column) for i in lost_zero] == [(3, "FINESS ET")]


def test_dates_in_french_iso_and_excel_serial_forms(tmp_path, catalogue):
    rows = [account_row(login="a", last_login="05/03/2026"), account_row(login="b", last_login="2026-03-05"),
            account_row(login="c", last_login="46086"), account_row(login="d", last_login="31/02/2026"),
            account_row(login="e", last_login="hier")]
    inputs = load([write_csv(tmp_path / "c.csv", rows)], catalogue)
    dates = inputs.accounts.set_index("account_id")["last_login"]
    assert dates["a"] == dates["b"] == dates["c"] == pd.Timestamp("2026-03-05")
    assert pd.isna(dates["d"]) and pd.isna(dates["e"])
    bad = sorted((i.line, i.column, i.value) for i in inputs.issues if "date illisible" in i.reason)
    assert bad == [(5, "Dernière connexion", "31/02/2026"), (6, "Dernière connexion", "hier")]


def test_roles_split_on_pipes_semicolons_and_line_breaks_never_inside_legacy_names(tmp_path, catalogue):
    rows = [
        account_row(login="a", roles="Référent Établissement|VT PH - Référent ESMS"),
        account_row(login="b", roles="Référent Établissement;IAM - MSPH - Statistiques ESMS (IAM)"),
        account_row(login="c", roles="Handicap - ESMS Médical, Paramédical, Psychologue\nHandicap - ESMS"),
        account_row(login="d", roles="Handicap - ESMS Social, Éducatif, Pédagogique, Handicap - ESMS Administratif"),
        account_row(login="e", roles="Super admin | Référent Établissement"),
    ]
    inputs = load([write_csv(tmp_path / "c.csv", rows)], catalogue)
    roles = inputs.accounts.set_index("account_id")["roles"]
    assert roles["a"] == ("Référent Établissement", "IAM - MSPH - Référent ESMS (IAM)")
    assert roles["b"] == ("Référent Établissement", "IAM - MSPH - Statistiques ESMS (IAM)")
    assert roles["c"] == ("Handicap - ESMS Médical, Paramédical, Psychologue", "Handicap - ESMS")
    assert roles["d"] == ("Handicap - ESMS Social, Éducatif, Pédagogique", "Handicap - ESMS Administratif")
    assert roles["e"] == ("Référent Établissement",)
    unknown = [i for i in inputs.issues if "rôle non reconnu" in i.reason]
    # line 7: the quoted line break of row "c" counts, as in a text editor
    assert [(i.line, i.column) for i in unknown] == [(7, "Rôles")]
    assert "Super admin" in unknown[0].reason


def test_statuses_are_normalised_and_unknown_ones_reported(tmp_path, catalogue):
    rows = [account_row(login="a", status="ACTIF"), account_row(login="b", status="archivée"),
            account_row(login="c", status="Bloqué"), account_row(login="d", status="En attente d'activation"),
            account_row(login="e", status="peut-être")]
    inputs = load([write_csv(tmp_path / "c.csv", rows)], catalogue)
    states = inputs.accounts.set_index("account_id")["state"]
    assert list(states) == ["active", "archived", "blocked", "pending", "unknown"]
    assert [(i.line, i.value) for i in inputs.issues if "statut inconnu" in i.reason] == [(6, "peut-être")]


def test_missing_required_column_names_file_column_and_accepted_names(tmp_path, catalogue):
    header = [h for h in ACCOUNT_HEADER if h != "Rôles"]
    row = account_row()
    del row[ACCOUNT_HEADER.index("Rôles")]
    path = write_csv(tmp_path / "comptes.csv", [row], header=header)
    with pytest.raises(AuditError) as error:
        load([path], catalogue)
    message = str(error.value)
    assert "comptes.csv" in message and "« Rôles »" in message and "Habilitations" in message


def test_rows_that_cannot_be_used_are_reported_never_dropped_silently(tmp_path, catalogue):
    rows = [account_row(login="a"), account_row(login="", finess="130000011"), account_row(login="c", finess=""),
            account_row(login="d")]
    inputs = load([write_csv(tmp_path / "c.csv", rows)], catalogue)
    assert list(inputs.accounts["account_id"]) == ["a", "d"]
    dropped = sorted((i.line, i.column) for i in inputs.issues if i.severity == "error")
    assert dropped == [(3, "Identifiant"), (4, "FINESS ET")]


def test_title_lines_above_the_header_and_excel_sep_line(tmp_path, catalogue):
    titled = write_csv(tmp_path / "a.csv", [account_row(login="a")], before="Export du 01/11/2026\r\n\r\n")
    sep_line = write_csv(tmp_path / "b.csv", [account_row(login="b")], sep=",", before="sep=,\r\n")
    inputs = load([titled, sep_line], catalogue)
    assert set(inputs.accounts["account_id"]) == {"a", "b"}
    assert inputs.accounts.set_index("account_id").loc["a", "source_line"] == 4


def test_xlsx_with_dates_numbers_and_several_sheets(tmp_path, catalogue):
    workbook = Workbook()
    workbook.active.title = "Notes"
    workbook.active.append(["Export des comptes, ne pas diffuser"])
    sheet = workbook.create_sheet("Comptes")
    sheet.append(ACCOUNT_HEADER)
    row = account_row(login="x", finess="060000015")
    row[ACCOUNT_HEADER.index("FINESS ET")] = 60000015  # Excel dropped the leading zero
    row[ACCOUNT_HEADER.index("Dernière connexion")] = dt.datetime(2026, 10, 1)
    sheet.append(row)
    path = tmp_path / "comptes.xlsx"
    workbook.save(path)
    inputs = load([path], catalogue)
    account = inputs.accounts.iloc[0]
    assert account["finess"] == "060000015"
    assert account["last_login"] == pd.Timestamp("2026-10-01")
    assert [i.reason for i in inputs.issues] == ["XLSX, feuille « Notes » : aucun en-tête reconnu, feuille ignorée",
                                                 "FINESS à 8 chiffres : zéro initial rétabli (perdu par Excel)"]
    assert [s.description for s in inputs.sources] == ["XLSX, feuille « Comptes »"]


def test_kinds_are_recognised_from_headers_and_files_found_in_folders(tmp_path, catalogue):
    write_csv(tmp_path / "1.csv", [account_row()])
    write_csv(tmp_path / "2.csv", [["130000011", "IME Les Calanques", "13", ""]],
              header=["FINESS", "Raison sociale", "Département", "Date de fermeture"])
    write_csv(tmp_path / "3.csv", [["Dupont", "Marie", "130000011"]], header=["Nom", "Prénom", "FINESS"])
    inputs = load([tmp_path], catalogue)
    assert sorted(s.kind for s in inputs.sources) == ["accounts", "establishments", "staff"]
    assert inputs.establishments.iloc[0]["name"] == "IME Les Calanques"
    assert inputs.staff.iloc[0]["name_key"] == "dupont|marie"


@pytest.mark.parametrize("content,expected", [
    (b"", "vide"),
    (b" \r\n\t\r\n", "vide"),  # blank lines only
    (b"\x00\x01\x02binary\x00", "binaire"),
    (b"a;b;c\r\n1;2;3\r\n", "aucune ligne d'en-tête reconnue"),
])
def test_unusable_files_stop_with_a_clear_message(tmp_path, catalogue, content, expected):
    path = tmp_path / "export.csv"
    path.write_bytes(content)
    with pytest.raises(AuditError, match=expected):
        load([path], catalogue)


def test_no_accounts_file_is_an_error(tmp_path, catalogue):
    staff = write_csv(tmp_path / "p.csv", [["Dupont", "Marie", "130000011"]], header=["Nom", "Prénom", "FINESS"])
    with pytest.raises(AuditError, match="aucun fichier de comptes"):
        load([staff], catalogue)


def test_a_role_whose_name_begins_another_at_a_comma_never_cuts_the_longer_one(tmp_path):
    # An auditor adds a role whose name is the start of a legacy one, up to a comma: a cell
    # holding the legacy name is still that role (the longest name wins), not the shorter one
    # plus an unknown "Paramédical, Psychologue".
    folder = tmp_path / "regles" / "catalogue"
    shutil.copytree(ROOT / "rules" / "catalogue", folder)
    with open(folder / "roles.yaml", "a", encoding="utf-8") as roles:
        roles.write("\n  - name: Handicap - ESMS Médical\n    system: legacy\n"
                    "    iam_equivalent: [IAM - MSPH - Statistiques ESMS (IAM)]\n    rights: [statistics]\n")
    catalogue = load_catalogue(folder.parent)
    rows = [account_row(login="a", roles="Handicap - ESMS Médical, Paramédical, Psychologue, Référent Établissement"),
            account_row(login="b", roles="Handicap - ESMS Médical, Référent Établissement")]
    inputs = load([write_csv(tmp_path / "c.csv", rows)], catalogue)
    roles = inputs.accounts.set_index("account_id")["roles"]
    assert roles["a"] == ("Handicap - ESMS Médical, Paramédical, Psychologue", "Référent Établissement")
    assert roles["b"] == ("Handicap - ESMS Médical", "Référent Établissement")
    assert not [i for i in inputs.issues if "rôle non reconnu" in i.reason]


def test_an_rpps_with_a_wrong_check_key_is_reported_and_ignored(tmp_path, catalogue):
    rows = [account_row(login="ok", rpps="10000000017"), account_row(login="key", rpps="10000000018"),
            account_row(login="short", rpps="1000000001")]
    inputs = load([write_csv(tmp_path / "c.csv", rows)], catalogue)
    rpps = inputs.accounts.set_index("account_id")["rpps"]
    assert rpps["ok"] == "10000000017" and pd.isna(rpps["key"]) and pd.isna(rpps["short"])
    reported = sorted((i.line, i.value) for i in inputs.issues if i.reason.startswith("RPPS invalide"))
    assert reported == [(3, "10000000018"), (4, "1000000001")]


def test_a_referential_listing_an_establishment_twice_keeps_the_first_row_and_says_so(tmp_path, catalogue):
    write_csv(tmp_path / "comptes.csv", [account_row()])
    write_csv(tmp_path / "etab.csv", [["130000011", "IME Les Calanques", "13", ""],
                                      ["830000014", "ESAT du Var", "83", ""],
                                      ["130000011", "IME Les Calanques (ancien nom)", "13", "01/01/2020"]],
              header=["FINESS", "Raison sociale", "Département", "Date de fermeture"])
    inputs = load([tmp_path], catalogue)
    assert list(inputs.establishments["name"]) == ["IME Les Calanques", "ESAT du Var"]
    (twice,) = [i for i in inputs.issues if "en double dans le référentiel" in i.reason]
    assert (twice.line, twice.finess, twice.dropped_rows) == (4, "130000011", 1)


def test_a_row_without_login_nor_finess_is_left_out_and_counted_once(tmp_path, catalogue):
    rows = [account_row(login="a"), account_row(login="", finess=""), account_row(login="c")]
    inputs = load([write_csv(tmp_path / "c.csv", rows)], catalogue)
    assert list(inputs.accounts["account_id"]) == ["a", "c"]
    about_line_3 = [i for i in inputs.issues if i.line == 3]
    assert sum(i.dropped_rows for i in about_line_3) == 1
    assert len(inputs.accounts) + sum(i.dropped_rows for i in inputs.issues) == 3


@pytest.mark.parametrize("serial, day", [
    ("46310", "2026-10-15"), ("46310.25", "2026-10-15"),  # 06:00
    ("46310.75", "2026-10-15"),  # 18:00: an afternoon login is still that day, not the next
    ("46310.999988", "2026-10-15"),  # 23:59:59
])
def test_an_excel_serial_with_a_time_is_the_day_it_falls_on(tmp_path, catalogue, serial, day):
    inputs = load([write_csv(tmp_path / "c.csv", [account_row(last_login=serial)])], catalogue)
    assert inputs.accounts["last_login"].iloc[0] == pd.Timestamp(day)
