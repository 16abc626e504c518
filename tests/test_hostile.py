"""Hostile and broken input: every bad file gets a clear answer, nothing is lost, nothing leaks."""

import hashlib
import io
import json
import os
import signal
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pandas as pd
import pytest
from openpyxl import Workbook, load_workbook
from python_calamine import CalamineWorkbook

from auditor.cli.commands import main
from auditor.inputs.load import load_inputs
from auditor.model.issues import AuditError
from auditor.testing.synthetic import generate, write_region
from tests.helpers import ACCOUNT_HEADER, ROOT, SAMPLES, SAMPLES_AS_OF, account_row, write_csv

AS_OF = pd.Timestamp("2026-11-01")


def load(paths, catalogue):
    return load_inputs(list(paths), catalogue, AS_OF)


def rows_accounted_for(inputs):
    return len(inputs.accounts) + sum(i.dropped_rows for i in inputs.issues)


# --- files ------------------------------------------------------------------------------------

def test_header_only_file_audits_nothing_but_says_so(tmp_path, catalogue, capsys):
    exports = write_csv(tmp_path / "comptes.csv", [])
    inputs = load([exports], catalogue)
    assert inputs.accounts.empty
    assert any("aucune ligne de données" in i.reason for i in inputs.issues)
    out = tmp_path / "out"
    assert main(["run", str(exports), "--out", str(out), "--as-of", "2026-11-01"]) == 0
    assert json.loads((out / "findings.json").read_text(encoding="utf-8"))["findings"] == []


def test_blank_repeated_and_overflowing_rows_are_all_accounted_for(tmp_path, catalogue):
    text = "\r\n".join([
        ";".join(ACCOUNT_HEADER) + ";",  # a trailing separator: one blank header
        ";".join(account_row(login="a")) + ";",
        ";" * len(ACCOUNT_HEADER),
        "",
        ";".join(ACCOUNT_HEADER),  # two exports pasted one after the other
        ";".join(account_row(login="b")) + ";surplus",
    ]) + "\r\n"
    path = tmp_path / "comptes.csv"
    path.write_text(text, encoding="utf-8")
    inputs = load([path], catalogue)
    assert list(inputs.accounts["account_id"]) == ["a", "b"]
    assert rows_accounted_for(inputs) == 5
    reasons = " | ".join(i.reason for i in inputs.issues)
    assert "2 lignes vides ignorées" in reasons and "en-tête répété" in reasons and "hors des colonnes" in reasons


def test_duplicated_and_blank_column_names(tmp_path, catalogue):
    header = [*ACCOUNT_HEADER, "Nom", ""]
    path = write_csv(tmp_path / "c.csv", [[*account_row(login="a"), "AUTRE", "x"]], header=header)
    inputs = load([path], catalogue)
    assert inputs.accounts.iloc[0]["last_name"] == "A"  # the first "Nom" is the one read
    assert any(i.column == "Nom" and "en double" in i.reason for i in inputs.issues)
    assert any("hors des colonnes" in i.reason for i in inputs.issues)


def test_mixed_utf8_and_cp1252_lines_are_read_and_reported(tmp_path, catalogue):
    utf8 = ";".join(account_row(login="a", first_name="Hélène")).encode("utf-8")
    cp1252 = ";".join(account_row(login="b", first_name="Noémie")).encode("cp1252")
    path = tmp_path / "c.csv"
    path.write_bytes(";".join(ACCOUNT_HEADER).encode("utf-8") + b"\r\n" + utf8 + b"\r\n" + cp1252 + b"\r\n")
    inputs = load([path], catalogue)
    assert list(inputs.accounts["first_name"]) == ["Hélène", "Noémie"]
    assert [(i.line, "Windows-1252" in i.reason) for i in inputs.issues] == [(3, True)]


def test_wrong_extensions_are_read_by_content(tmp_path, catalogue):
    workbook = Workbook()
    workbook.active.append(ACCOUNT_HEADER)
    workbook.active.append(account_row(login="x"))
    workbook.save(tmp_path / "vrai-classeur.csv")
    write_csv(tmp_path / "vrai-csv.xlsx", [account_row(login="y")])
    inputs = load([tmp_path / "vrai-classeur.csv", tmp_path / "vrai-csv.xlsx"], catalogue)
    assert sorted(inputs.accounts["account_id"]) == ["x", "y"]


def _xlsx_bytes(sheet_xml: bytes | None = None) -> bytes:
    """A real workbook with its sheet replaced (or removed, with b"")."""
    workbook = Workbook()
    workbook.active.append(ACCOUNT_HEADER)
    workbook.active.append(account_row())
    buffer = io.BytesIO()
    workbook.save(buffer)
    source = zipfile.ZipFile(io.BytesIO(buffer.getvalue()))
    result = io.BytesIO()
    with zipfile.ZipFile(result, "w", zipfile.ZIP_DEFLATED) as target:
        for item in source.infolist():
            data = source.read(item.filename)
            if sheet_xml is not None and item.filename == "xl/worksheets/sheet1.xml":
                data = sheet_xml
            if sheet_xml == b"" and item.filename.startswith("xl/worksheets/"):
                continue
            target.writestr(item, data)
    return result.getvalue()


BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
<!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
<!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
<!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
<!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
<!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
<!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">]>
<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>
<row r="1"><c r="A1" t="inlineStr"><is><t>&lol9;</t></is></c></row></sheetData></worksheet>"""


@pytest.mark.parametrize("name,content,expected", [
    ("corrompu.xlsx", b"PK\x03\x04" + b"\x00" * 200, "XLSX corrompu"),
    ("protege.xlsx", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 500, "protégé par mot de passe"),
    ("binaire.csv", bytes(range(256)) * 4, "binaire"),
    ("sans-feuille.xlsx", "no-sheets", "aucune feuille"),
    ("bombe-xml.xlsx", "xml-bomb", "illisible"),
])
def test_broken_and_hostile_workbooks_are_refused_clearly(tmp_path, catalogue, name, content, expected):
    if content == "no-sheets":
        content = _xlsx_bytes(sheet_xml=b"")
    elif content == "xml-bomb":
        content = _xlsx_bytes(sheet_xml=BILLION_LAUGHS)
    path = tmp_path / name
    path.write_bytes(content)
    started = time.monotonic()
    with pytest.raises(AuditError, match=expected) as error:
        load([path], catalogue)
    assert name in str(error.value) and time.monotonic() - started < 10


def test_zip_bomb_is_refused_before_it_is_inflated(tmp_path, catalogue):
    path = tmp_path / "bombe.xlsx"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        with archive.open("xl/worksheets/sheet1.xml", "w") as member:
            chunk = b"0" * (1 << 20)
            for _ in range(64):
                member.write(chunk)
    assert path.stat().st_size < 1 << 20
    with pytest.raises(AuditError, match="anormalement grand"):
        load([path], catalogue)


def test_very_large_cell_is_cut_and_reported(tmp_path, catalogue):
    path = write_csv(tmp_path / "c.csv", [account_row(login="a", function="x" * 300_000)])
    inputs = load([path], catalogue)
    assert len(inputs.accounts.iloc[0]["function"]) <= 100_000
    assert any("très longue" in i.reason and i.column == "Fonction" for i in inputs.issues)


# --- cells ------------------------------------------------------------------------------------

def test_identifier_and_email_variants(tmp_path, catalogue):
    rows = [account_row(login="a", finess="13.000.001.1"), account_row(login="b", finess="1,30000011E+08"),
            account_row(login="c", email=" Marie.DUPONT@Exemple.FR ")]
    inputs = load([write_csv(tmp_path / "c.csv", rows)], catalogue)
    accounts = inputs.accounts.set_index("account_id")
    assert list(accounts["finess"]) == ["130000011"] * 3
    assert accounts.loc["c", "email"] == "marie.dupont@exemple.fr"
    assert any("notation scientifique" in i.reason for i in inputs.issues)


def test_future_dates_are_reported(tmp_path, catalogue):
    inputs = load([write_csv(tmp_path / "c.csv", [account_row(last_login="01/01/2030")])], catalogue)
    assert [(i.line, i.column) for i in inputs.issues if "postérieure" in i.reason] == [(2, "Dernière connexion")]


FORMULAS = ["=1+1", "+33 6", "-2", "@SUM(A1)", "\t=cmd", "\r=cmd"]


def test_formula_like_text_stays_inert_in_every_workbook_and_html_in_every_page(tmp_path):
    rows = [account_row(login=f"f{i}", last_name=text, function=text, roles="Référent Établissement")
            for i, text in enumerate(FORMULAS)]
    rows.append(account_row(login="h", last_name="<img src=x onerror=alert(1)>", finess="830000014",
                            function="<b>gras</b>", roles="Référent Établissement"))
    exports = write_csv(tmp_path / "comptes.csv", rows)
    out = tmp_path / "out"
    assert main(["run", str(exports), "--out", str(out), "--as-of", "2026-11-01", "--per-establishment"]) == 1
    workbooks = [out / "audit.xlsx", *sorted((out / "etablissements").glob("*.xlsx"))]
    assert len(workbooks) == 3
    for path in workbooks:
        protected = set()
        for sheet in load_workbook(path).worksheets:
            for row in sheet.iter_rows():
                for cell in row:
                    where = f"{path.name} {sheet.title} {cell.coordinate}"
                    assert cell.data_type != "f", where
                    if isinstance(cell.value, str) and cell.value.startswith(("=", "+", "-", "@")):
                        # Text, and kept text when a user edits the cell: Excel's quote prefix.
                        assert cell.data_type == "s" and cell.quotePrefix, where
                        protected.add(cell.value[0])
        if "830000014" not in path.name:  # the other establishment holds no formula-like text
            assert protected == {"=", "+", "-", "@"}, path.name
    values = {c.value for row in load_workbook(out / "audit.xlsx")["Revue des accès"].iter_rows() for c in row}
    assert {"=1+1", "@SUM(A1)", "-2", "+33 6", "=cmd"} <= values  # the loader strips the leading tab
    for page in [out / "audit.html", *(out / "etablissements").glob("*.html")]:
        text = page.read_text(encoding="utf-8")
        assert "<img" not in text and "<b>gras" not in text


@pytest.mark.parametrize("text", FORMULAS)
def test_the_workbook_writer_never_stores_formula_like_text_as_a_formula(tmp_path, text):
    from auditor.render import xlsx_sheet

    # A title line above the table, and the table's rows: row by row, and column by column past
    # WRAP_MAX_ROWS (xlsx_rows).
    for rows in (1, xlsx_sheet.WRAP_MAX_ROWS + 1):
        book = xlsx_sheet.Book()
        table = xlsx_sheet.Sheet(book, "T", [("Valeur", 20)], scope="Région", as_of="01/11/2026", rows=rows,
                                 intro=[text])
        table.append_table([[text] * rows])
        table.close()
        book.save(tmp_path / "rows.xlsx")
        sheet = load_workbook(tmp_path / "rows.xlsx")["T"]
        for written in (sheet["A1"], sheet[f"A{table.header_row + 1}"]):  # text, kept as text once edited
            assert written.data_type == "s" and written.quotePrefix, (rows, written)
        # The values as a spreadsheet shows them (a shared string's carriage return is written _x000D_,
        # which openpyxl does not decode; an inline string's becomes a line feed, as XML reads it).
        values = CalamineWorkbook.from_path(str(tmp_path / "rows.xlsx")).get_sheet_by_name("T").to_python()
        assert values[0][0].lstrip() == values[table.header_row][0].lstrip() == text.lstrip(), rows


# --- rules and waivers ------------------------------------------------------------------------

def _rules_dir(tmp_path, text):
    folder = tmp_path / "regles"
    (folder / "catalogue").mkdir(parents=True)
    for source in (SAMPLES.parent / "rules" / "catalogue").glob("*.yaml"):
        (folder / "catalogue" / source.name).write_bytes(source.read_bytes())
    (folder / "regles.yaml").write_text(text, encoding="utf-8")
    return folder


BAD_RULES = """rules:
  - code: REF-01
    check: min_referent
    severity: error
    title: a
    why: b
    fix: c
  - code: REF-02
    check: min_referents
    severity: grave
    title: a
    why: b
    fix: c
    params: {min_referent: 2}
  - code: REF-02
    check: inactive_accounts
    severity: warning
    title: a
    why: b
    fix: c
    params: {inactivity_days: "six mois"}
    colour: red
"""


def test_every_rulebook_error_is_reported_at_once_with_file_line_code_and_choices(tmp_path, capsys):
    folder = _rules_dir(tmp_path, BAD_RULES)
    assert main(["rules", "--rules", str(folder)]) == 2
    error = capsys.readouterr().err
    assert error.startswith("Erreur : ")
    for expected in [
        "regles.yaml, ligne 3, règle REF-01 : type de contrôle « min_referent » inconnu ; types valides :",
        "min_referents",
        "regles.yaml, ligne 10, règle REF-02 : sévérité « grave » inconnue ; valeurs valides : error, warning, info",
        "règle REF-02 : paramètre inconnu « min_referent » ; paramètres acceptés : min_referents",
        "regles.yaml, ligne 21, règle REF-02 : paramètre « inactivity_days » doit être un nombre entier",
        "regles.yaml, ligne 22, règle REF-02 : clé inconnue « colour »",
    ]:
        assert expected in error
    assert "Traceback" not in error


@pytest.mark.parametrize("text,expected", [
    ("rules:\n  - code: REF-01\n    check: [unclosed\n", "regles.yaml, ligne 4"),
    ("a: &a [x, x, x]\nb: &b [*a, *a, *a]\nc: [*b, *b, *b]\n", "alias YAML"),
    ("rules:\n  - code: REF-01\n    code: REF-02\n", "clé « code » en double"),
])
def test_yaml_syntax_errors_and_alias_bombs_are_refused(tmp_path, capsys, text, expected):
    folder = _rules_dir(tmp_path, text)
    assert main(["rules", "--rules", str(folder)]) == 2
    assert expected in capsys.readouterr().err


def test_duplicate_codes_across_files_name_both_places(tmp_path, capsys):
    single = BAD_RULES.split("  - code: REF-02")[0].replace("min_referent\n", "min_referents\n")
    single = single.replace("    fix: c\n", "    fix: c\n    params: {min_referents: 2, inactivity_days: 180}\n")
    folder = _rules_dir(tmp_path, single)
    (folder / "autre.yaml").write_text(single, encoding="utf-8")
    assert main(["rules", "--rules", str(folder)]) == 2
    assert "code déjà utilisé" in capsys.readouterr().err


# --- output -----------------------------------------------------------------------------------

def test_hostile_establishment_names_never_escape_out_nor_collide(tmp_path):
    rows = [account_row(login="a", finess="130000011"), account_row(login="b", finess="830000014"),
            account_row(login="c", finess="13/../1"), account_row(login="d", finess="13:/1")]
    exports = write_csv(tmp_path / "comptes.csv", rows)
    # Malformed numbers are establishments only when the referential lists them (else ETB-02, no bundle).
    referential = write_csv(tmp_path / "etab.csv", [
        ["130000011", "../../etc/passwd"], ["830000014", "A/B:C*D?\"<>|"], ["13/../1", "IME Les Calanques"],
        ["13:/1", "IME Les Calanques"]], header=["FINESS", "Raison sociale"])
    out = tmp_path / "out"
    main(["run", str(exports), "--establishments", str(referential), "--out", str(out), "--as-of", "2026-11-01",
          "--per-establishment", "--format", "html"])
    written = sorted(p.name for p in (out / "etablissements").iterdir())
    assert len(written) == 4 and len(set(written)) == 4
    assert all(p.parent == out / "etablissements" for p in (out / "etablissements").iterdir())
    assert not list(tmp_path.glob("etc*")) and not (tmp_path.parent / "etc").exists()
    assert "130000011_etc-passwd.html" in written
    assert {"131_ime-les-calanques.html", "131_ime-les-calanques_bis.html"} <= set(written)


def _digest(folder):
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in folder.rglob("*") if p.is_file()}


def test_input_files_are_never_modified(tmp_path):
    before = _digest(SAMPLES)
    main(["run", str(SAMPLES), "--out", str(tmp_path / "out"), "--as-of", SAMPLES_AS_OF, "--format", "json"])
    assert _digest(SAMPLES) == before


PAUSE_MID_WRITE = """
import os, sys, time
from auditor.cli.launch import entry_point
from auditor.render import bundles
from auditor.files import atomic_path

notify, written = int(sys.argv.pop(1)), [0]
write_html = bundles.write_html


def write_then_pause(part, target, establishment):
    # The fifth page of a process: a report is being written (its temporary file exists) when the
    # test is told to send its signal. Deterministic: no polling, no timing.
    written[0] += 1
    if written[0] == 5:
        with atomic_path(target) as temporary:
            temporary.write_text("<html>à moitié", encoding="utf-8")
            os.write(notify, b"x")
            time.sleep(120)
    return write_html(part, target, establishment)


bundles.write_html = write_then_pause
entry_point()
"""


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGHUP, signal.SIGKILL])
def test_interrupted_run_leaves_no_half_written_report(tmp_path, sig):
    region = tmp_path / "region"
    write_region(generate(300, seed=3), region)
    out = tmp_path / "out"
    read_end, write_end = os.pipe()
    command = [sys.executable, "-c", PAUSE_MID_WRITE, str(write_end), "run", str(region), "--out", str(out),
               "--as-of", "2026-11-01", "--per-establishment"]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, pass_fds=(write_end,),
                               cwd=ROOT)
    os.close(write_end)
    assert os.read(read_end, 1) == b"x"  # blocks until a report is half-written
    assert list(out.rglob(".*.part")), "a temporary file is open when the signal comes"
    process.send_signal(sig)
    process.wait(timeout=60)
    os.close(read_end)
    finished = list((out / "etablissements").glob("*"))
    assert 4 <= len(finished) < 600, "the run was stopped mid-way"
    for path in [*finished, *out.glob("*.*")]:
        if path.suffix == ".xlsx":
            load_workbook(path)
        elif path.suffix == ".html":
            assert path.read_text(encoding="utf-8").rstrip().endswith("</html>")
        elif path.suffix == ".json":
            json.loads(path.read_text(encoding="utf-8"))
    if sig != signal.SIGKILL:
        stderr = process.stderr.read().decode()
        assert process.returncode == 2, (process.returncode, stderr)
        assert stderr.startswith("Erreur : interrompu"), stderr
        deadline = time.monotonic() + 30  # the workers' own handlers remove their temporary files
        while list(out.rglob("*.part")) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert list(out.rglob("*.part")) == [], "the workers' temporary files are removed"
    else:  # nothing can clean up after SIGKILL of the main process: its workers are told (PDEATHSIG)
        assert process.returncode == -signal.SIGKILL
        assert all(p.name.startswith(".") for p in out.rglob("*.part"))  # never under a report's name
        (out / ".vt-audit-0a1b2c3d4e5f.audit.html.part").write_text("laissé par une exécution tuée", encoding="utf-8")
        (out / "mes-notes.part").write_text("fichier de l'utilisateur", encoding="utf-8")
        assert main(["run", str(SAMPLES), "--out", str(out), "--as-of", SAMPLES_AS_OF, "--format", "json"]) == 1
        assert [p.name for p in out.rglob("*.part")] == ["mes-notes.part"], \
            "the next run clears what a killed run left, and only that"


# --- privacy ----------------------------------------------------------------------------------

def test_most_verbose_log_holds_no_name_nor_email(tmp_path):
    out = tmp_path / "out"
    result = subprocess.run([sys.executable, "-m", "auditor", "run", str(SAMPLES), "--out", str(out), "--as-of",
                             SAMPLES_AS_OF, "--per-establishment", "--waivers", str(SAMPLES / "derogations.yaml"),
                             "-vv"], capture_output=True, text=True, env={**os.environ, "PYTHONWARNINGS": "default"})
    log = result.stderr
    assert "INFO" in log and "DEBUG" in log or "INFO" in log
    accounts = pd.read_csv(SAMPLES / "comptes.csv", sep=";", encoding="cp1252", dtype=str).fillna("")
    secrets = set(accounts["Adresse mail"]) | set(accounts["E-mail de secours"]) | set(accounts["Nom"])
    secrets |= {f"{n} {p}" for n, p in zip(accounts["Nom"], accounts["Prénom"])}
    secrets.discard("")
    leaked = [s for s in secrets if s.lower() in log.lower()]
    assert not leaked


def test_generated_xlsx_accounts_audit_like_the_csv_ones(tmp_path):
    region = generate(12, seed=5)
    write_region(region, tmp_path / "csv")
    write_region(region, tmp_path / "xlsx", accounts_xlsx=True)
    reports = {}
    for kind in ("csv", "xlsx"):
        out = tmp_path / f"out-{kind}"
        main(["run", str(tmp_path / kind), "--out", str(out), "--as-of", "2026-11-01", "--format", "json"])
        findings = json.loads((out / "findings.json").read_text(encoding="utf-8"))["findings"]
        reports[kind] = {(f["rule"], f["finess"], f["subject"], f["message"]) for f in findings}
    assert reports["csv"] == reports["xlsx"] and reports["csv"]


# --- cost that grows with a cell, not with its square (hostile input, second round) ------------------

def test_a_long_role_cell_costs_a_few_lookups_per_part(catalogue, monkeypatch):
    from auditor.inputs import cells

    calls = []
    original = type(catalogue).role_named
    monkeypatch.setattr(type(catalogue), "role_named", lambda self, text: calls.append(text) or original(self, text))
    parts = 600
    roles, unknown = cells.split_roles(", ".join(["Rôle maison"] * parts + ["Référent Établissement"]), catalogue)
    assert roles == ("Référent Établissement",) and unknown == [", ".join(["Rôle maison"] * parts)]
    widest = catalogue.role_name_commas + 1
    assert len(calls) <= 1 + widest * (parts + 1)  # each piece tries at most `widest` joins: linear


def test_a_function_cell_of_many_words_is_read_in_a_few_lookups(catalogue):
    import dataclasses

    class Counting(dict):
        lookups = 0

        def get(self, key, default=None):
            Counting.lookups += 1
            return super().get(key, default)

    counted = dataclasses.replace(catalogue, _function_lookup=Counting(catalogue._function_lookup))
    words = " ".join(["Infirmière"] + ["de nuit"] * 25_000)
    assert counted.function_category(words) == "paramedical"
    assert Counting.lookups <= counted._longest_function < 10  # whatever the length of the cell


@pytest.mark.parametrize("value", ["31/12/9999", "01/01/0001", "15/10/2262", "2958465"])
def test_a_date_out_of_any_plausible_range_is_reported_and_the_audit_goes_on(tmp_path, value):
    exports = write_csv(tmp_path / "comptes.csv", [account_row(login="a", last_login=value),
                                                   account_row(login="b")])
    out = tmp_path / "out"
    assert main(["run", str(exports), "--out", str(out), "--as-of", "2026-11-01", "--format", "json"]) in (0, 1)
    report = json.loads((out / "findings.json").read_text(encoding="utf-8"))
    (issue,) = [i for i in report["input_issues"] if i["column"] == "Dernière connexion"]
    assert (issue["line"], issue["value"]) == (2, value) and "hors des limites plausibles" in issue["reason"]


def test_login_timestamps_with_fractions_of_a_second_are_dates(tmp_path):
    exports = write_csv(tmp_path / "comptes.csv", [account_row(login="a", last_login="2026-10-13 13:45:00.500000"),
                                                   account_row(login="b", last_login="13/10/2026 13:45:00.5")])
    out = tmp_path / "out"
    main(["run", str(exports), "--out", str(out), "--as-of", "2026-11-01", "--format", "json"])
    report = json.loads((out / "findings.json").read_text(encoding="utf-8"))
    assert not [i for i in report["input_issues"] if i["column"] == "Dernière connexion"]
    assert not [f for f in report["findings"] if f["rule"] in ("ACC-01", "ACC-02")]


@pytest.mark.parametrize(("option", "message"), [
    (["--as-of", "0026-11-01"], "hors des limites plausibles"),
    (["--as-of", "2300-01-01"], "hors des limites plausibles"),
    (["--param", "inactivity_days=1e20"], "n'est pas un nombre entier"),
    (["--param", "inactivity_days=100000000000000000000"], "doit être au plus 36500"),
])
def test_an_option_out_of_range_is_a_french_error(tmp_path, capsys, option, message):
    exports = write_csv(tmp_path / "comptes.csv", [account_row()])
    assert main(["run", str(exports), "--out", str(tmp_path / "o"), *option]) == 2
    err = capsys.readouterr().err
    assert err.startswith("Erreur : ") and message in err and len(err.strip().splitlines()) == 1


@pytest.mark.parametrize("far", ["XFD1048576", "AZ1048576"])
def test_a_workbook_with_one_value_far_away_is_refused_before_it_is_expanded(tmp_path, capsys, far):
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(ACCOUNT_HEADER)
    sheet.append(account_row())
    sheet[far] = "x"
    path = tmp_path / "comptes.xlsx"
    workbook.save(path)
    assert path.stat().st_size < 10_000  # a few kilobytes that would expand to billions of cells
    assert main(["run", str(path), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"Erreur : {path} : classeur refusé : une feuille s'étend sur 1048576 lignes")


@pytest.mark.parametrize("xml,extent", [
    (b'<row r="5"><c r="AB12" t="s"/><x:c r="C3"/><c r="ZZZ9"', (12, 18278)),  # namespaced cells count
    (b'<c r="A1"/><c r="XFD1048576"><v>1</v></c>', (1048576, 16384)),
    (b'<row r="900000"/><c r="a1"/><c r="A12345678"/><c r="AAAA1"/>', (0, 0)),  # rows and malformed ones don't
    (b'<cc r="Z9"/><c  r="Y9"/><d:c r="D4"/>', (4, 4)),  # only a cell's own reference
    (b'<c r="A1" t=" r="ZZ99"/>', (1, 1)),  # nor the same text inside another attribute
])
def test_a_sheets_extent_is_read_from_its_cells_references(xml, extent):
    from auditor.inputs.guards import _extent

    assert _extent(xml) == extent


def test_ten_thousand_accounts_on_one_email_are_one_finding_with_a_sample(tmp_path):
    rows = [account_row(login=f"u{n:05d}", email="inconnu@esms.example") for n in range(10_000)]
    out = tmp_path / "out"
    main(["run", str(write_csv(tmp_path / "comptes.csv", rows)), "--out", str(out), "--as-of", "2026-11-01",
          "--format", "json"])
    report = json.loads((out / "findings.json").read_text(encoding="utf-8"))
    (finding,) = [f for f in report["findings"] if f["rule"] == "DAT-03"]
    assert finding["message"] == ("10\u202f000 comptes pour une même personne (même e-mail) : "
                                  + ", ".join(f"u{n:05d}" for n in range(10)) + " et 9\u202f990 autres")
    assert finding["key"].startswith("DAT-03:130000011:groupe-")  # a digest, not 10,000 logins


def test_logins_holding_a_plus_sign_are_never_split(tmp_path):
    rows = [account_row(login="j.dupont+ror", email="j.dupont@esms.example"),
            account_row(login="j.dupont", email="j.dupont@esms.example"),
            account_row(login="ror", email="autre@esms.example", last_name="AUTRE")]
    out = tmp_path / "out"
    main(["run", str(write_csv(tmp_path / "comptes.csv", rows)), "--out", str(out), "--as-of", "2026-11-01",
          "--format", "json"])
    report = json.loads((out / "findings.json").read_text(encoding="utf-8"))
    (finding,) = [f for f in report["findings"] if f["rule"] == "DAT-03"]
    assert finding["message"].endswith("(même e-mail) : j.dupont, j.dupont+ror")
    assert finding["account"] in ("j.dupont", "j.dupont+ror")


def test_a_stray_quote_that_swallows_the_next_lines_is_refused_with_its_line(tmp_path, capsys):
    path = write_csv(tmp_path / "comptes.csv", [account_row(login=f"u{n}") for n in range(10)])
    lines = path.read_bytes().decode("utf-8-sig").split("\r\n")
    cells = lines[3].split(";")
    cells[2] = '"' + cells[2]  # a quote opens the last name of line 4 and never closes
    lines[3] = ";".join(cells)
    path.write_bytes("\r\n".join(lines).encode("utf-8"))
    assert main(["run", str(path), "--out", str(tmp_path / "o"), "--as-of", "2026-11-01"]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"Erreur : {path}, ligne 4, colonne « Nom » : guillemet ouvrant jamais fermé ; les 7 "
                          "lignes suivantes")
    assert not (tmp_path / "o" / "findings.json").exists()  # nothing audited without those lines


def test_a_stray_quote_closed_lines_below_is_refused_too(tmp_path, capsys):
    """A quote opening the last cell of line 4 and one closing that of line 9: every row keeps its number of
    cells, so Arrow's reader takes the file, and the lines in between are found in the cell all the same."""
    path = write_csv(tmp_path / "comptes.csv", [account_row(login=f"u{n}") for n in range(10)])
    lines = path.read_bytes().decode("utf-8-sig").split("\r\n")
    opened, closed = lines[3].split(";"), lines[8].split(";")
    opened[-1], closed[-1] = '"' + opened[-1], closed[-1] + '"'
    lines[3], lines[8] = ";".join(opened), ";".join(closed)
    path.write_bytes("\r\n".join(lines).encode("utf-8"))
    assert main(["run", str(path), "--out", str(tmp_path / "o"), "--as-of", "2026-11-01"]) == 2
    assert "ligne 4, colonne « Dernière connexion » : guillemet ouvrant jamais fermé ; les 5 lignes suivantes" in (
        capsys.readouterr().err)
    assert not (tmp_path / "o" / "findings.json").exists()


def test_line_breaks_inside_a_quoted_cell_are_still_read(tmp_path):
    rows = [account_row(login="a", roles="Référent Établissement\nIAM - MSPH - Référent ESMS (IAM)"),
            account_row(login="b", roles="Référent Établissement\nIAM - MSPH - Référent ESMS (IAM)")]
    out = tmp_path / "o"
    assert main(["run", str(write_csv(tmp_path / "c.csv", rows)), "--out", str(out), "--as-of", "2026-11-01",
                 "--format", "json"]) == 0


@pytest.mark.parametrize("text", ["#N/A", "#REF!", "#DIV/0!"])
def test_text_that_looks_like_an_excel_error_stays_text(tmp_path, text):
    exports = write_csv(tmp_path / "comptes.csv", [account_row(login="a", last_name=text, roles="")])
    out = tmp_path / "out"
    main(["run", str(exports), "--out", str(out), "--as-of", "2026-11-01", "--format", "xlsx"])
    cells = [c for row in load_workbook(out / "audit.xlsx")["Constats"].iter_rows(min_row=2) for c in row
             if c.value and str(c.value).startswith(text)]
    assert cells and all(c.data_type == "s" for c in cells)


def test_control_characters_are_removed_reported_and_every_output_stays_well_formed(tmp_path, capsys):
    exports = write_csv(tmp_path / "comptes.csv", [account_row(login="a", last_name="DU\x1b[31mPONT\x07",
                                                               roles="Référent Établissement")])
    out = tmp_path / "out"
    main(["run", str(exports), "--out", str(out), "--as-of", "2026-11-01", "--format", "json,junit,html,xlsx"])
    import xml.etree.ElementTree as ET

    ET.parse(out / "junit.xml")  # well-formed XML
    for name in ("findings.json", "audit.html", "junit.xml"):
        text = (out / name).read_text(encoding="utf-8")
        assert "\x1b" not in text and "\x07" not in text, name
    report = json.loads((out / "findings.json").read_text(encoding="utf-8"))
    (issue,) = [i for i in report["input_issues"] if "caractère de contrôle" in i["reason"]]
    assert (issue["line"], issue["column"], issue["value"]) == (2, "Nom", "DU[31mPONT")
    assert main(["validate", str(exports)]) == 0
    assert "\x1b" not in capsys.readouterr().out


def test_an_unquoted_finess_read_as_a_number_is_refused_with_its_line(tmp_path, capsys):
    waivers = tmp_path / "w.yaml"
    waivers.write_text("waivers:\n  - rule: REF-01\n    finess: 040000010\n    reason: r\n    approved_by: a\n"
                       "    expires: 2027-01-31\n", encoding="utf-8")
    exports = write_csv(tmp_path / "comptes.csv", [account_row()])
    assert main(["run", str(exports), "--out", str(tmp_path / "o"), "--waivers", str(waivers)]) == 2
    err = capsys.readouterr().err
    assert "w.yaml, ligne 3 : FINESS" in err and "lu comme un nombre : l'écrire entre guillemets" in err


def test_a_rules_folder_without_any_rulebook_is_refused(tmp_path, capsys):
    folder = tmp_path / "regles"
    (folder / "catalogue").mkdir(parents=True)
    for path in (ROOT / "rules" / "catalogue").iterdir():
        (folder / "catalogue" / path.name).write_bytes(path.read_bytes())
    exports = write_csv(tmp_path / "comptes.csv", [account_row()])
    assert main(["run", str(exports), "--out", str(tmp_path / "o"), "--rules", str(folder)]) == 2
    assert "aucun fichier de règles" in capsys.readouterr().err


@pytest.mark.parametrize("name", ["CON", "nul", "COM1"])
def test_a_bundle_never_takes_a_name_windows_reserves(name):
    from auditor.render.bundles import bundle_stem

    assert bundle_stem(name, "").upper() not in {"CON", "NUL", "COM1"}
    assert bundle_stem(name, "") == f"{name}_"


@pytest.mark.parametrize(("finess", "rpps"), [("１３０００００１１", "１００００００００１７"),
                                              ("١٣٠٠٠٠٠١١", "١٠٠٠٠٠٠٠٠١٧")])
def test_identifiers_in_other_digits_are_read_as_digits(tmp_path, finess, rpps):
    exports = write_csv(tmp_path / "comptes.csv", [account_row(finess=finess, rpps=rpps)])
    out = tmp_path / "out"
    main(["run", str(exports), "--out", str(out), "--as-of", "2026-11-01", "--format", "json"])
    report = json.loads((out / "findings.json").read_text(encoding="utf-8"))
    assert [e["finess"] for e in report["establishments"]] == ["130000011"]
    assert not [i for i in report["input_issues"] if i["column"] == "RPPS"]  # a valid RPPS once read


@pytest.mark.parametrize(("written", "read"), [("1.30000011E+08", "130000011"), ("1,30000011E+08", "130000011"),
                                               ("130000011.0", "130000011"), ("1E+400", None)])
def test_finess_mangled_by_a_spreadsheet_is_repaired_or_reported_never_a_wrong_number(tmp_path, written, read):
    exports = write_csv(tmp_path / "comptes.csv", [account_row(finess=written)])
    out = tmp_path / "out"
    main(["run", str(exports), "--out", str(out), "--as-of", "2026-11-01", "--format", "json"])
    report = json.loads((out / "findings.json").read_text(encoding="utf-8"))
    assert [e["finess"] for e in report["establishments"]] == ([read] if read else [])
    reasons = [i["reason"] for i in report["input_issues"] if i["column"] == "FINESS ET"]
    assert reasons and (read or reasons == ["FINESS mal formé (9 caractères attendus)"])


def test_an_excel_sep_line_with_another_separator_and_utf16_without_bom_are_read(tmp_path):
    text = "\n".join([":".join(ACCOUNT_HEADER), ":".join(account_row())]) + "\n"
    (tmp_path / "deux-points.csv").write_text("sep=:\n" + text, encoding="utf-8")
    (tmp_path / "utf16.csv").write_bytes(text.replace(":", ";").encode("utf-16-le"))
    for name in ("deux-points.csv", "utf16.csv"):
        out = tmp_path / f"out-{name}"
        assert main(["run", str(tmp_path / name), "--out", str(out), "--as-of", "2026-11-01", "--format", "json"]) == 1
        report = json.loads((out / "findings.json").read_text(encoding="utf-8"))
        assert [e["accounts"] for e in report["establishments"]] == [1], name
    (tmp_path / "etoile.csv").write_text("sep=*\n" + text.replace(":", "*"), encoding="utf-8")
    assert main(["run", str(tmp_path / "etoile.csv"), "--out", str(tmp_path / "o")]) == 2


@pytest.mark.parametrize("damage", ["cut", "lone surrogate"])
def test_a_damaged_utf16_export_is_read_and_the_damaged_line_reported(tmp_path, damage):
    text = "\r\n".join(";".join(row) for row in [ACCOUNT_HEADER, *(account_row(login=f"r{n}") for n in range(3))])
    if damage == "cut":  # the last character cut in half
        data = ("\ufeff" + text + "\r\n").encode("utf-16-le")[:-1]
    else:  # half of a surrogate pair in the second account's e-mail
        data = ("\ufeff" + text.replace("r1@", "r1\ud800@")).encode("utf-16-le", "surrogatepass")
    (tmp_path / "comptes.csv").write_bytes(data)
    out = tmp_path / "out"
    assert main(["run", str(tmp_path / "comptes.csv"), "--out", str(out), "--as-of", "2026-11-01",
                 "--format", "json", "--fail-on", "jamais"]) == 0  # no internal error
    report = json.loads((out / "findings.json").read_text(encoding="utf-8"))
    assert sum(e["accounts"] for e in report["establishments"]) == 3  # every account read
    (issue,) = [i for i in report["input_issues"] if "UTF-16 illisible" in i["reason"]]
    assert issue["line"] == (4 if damage == "cut" else 3)


def test_a_header_only_accounts_file_with_a_staff_file_and_rows_without_finess_are_audited(tmp_path):
    header_only = write_csv(tmp_path / "comptes.csv", [])
    staff = write_csv(tmp_path / "personnel.csv", [["130000011", "Martin", "Julie"]],
                      header=["FINESS", "Nom", "Prénom"], sep=",")
    out = tmp_path / "out"
    assert main(["run", str(header_only), str(staff), "--out", str(out), "--as-of", "2026-11-01",
                 "--format", "json"]) == 1
    report = json.loads((out / "findings.json").read_text(encoding="utf-8"))
    assert {f["rule"] for f in report["findings"]} == {"REF-01", "ATT-01"}  # the staff file's establishment
    no_finess = write_csv(tmp_path / "sans.csv", [account_row(finess=""), account_row(login="b", finess="")])
    assert main(["run", str(no_finess), "--out", str(tmp_path / "o2"), "--as-of", "2026-11-01",
                 "--format", "json"]) == 0
    report = json.loads((tmp_path / "o2" / "findings.json").read_text(encoding="utf-8"))
    assert sum(i["dropped_rows"] for i in report["input_issues"]) == 2  # both rows counted, none lost


def test_links_that_lead_nowhere_in_an_input_folder_are_reported(tmp_path, catalogue):
    folder = tmp_path / "exports"
    folder.mkdir()
    write_csv(folder / "comptes.csv", [account_row()])
    (folder / "ancien.csv").symlink_to(tmp_path / "supprimé.csv")  # dangling
    (folder / "boucle.csv").symlink_to(folder / "boucle.csv")  # loops on itself
    inputs = load([folder], catalogue)
    assert len(inputs.accounts) == 1
    reported = sorted((Path(i.file).name, i.reason) for i in inputs.issues if "lien" in i.reason)
    assert reported == [("ancien.csv", "lien symbolique cassé ou en boucle : fichier ignoré"),
                        ("boucle.csv", "lien symbolique cassé ou en boucle : fichier ignoré")]


@pytest.mark.parametrize("form", ["csv", "csv with a ragged row", "xlsx"])
def test_line_separators_inside_cells_never_break_a_row(tmp_path, catalogue, form):
    separators = {"a2": "\u2028", "a3": "\u2029", "a4": "\x85", "a5": "\x0b", "a6": "\x0c"}
    if form == "xlsx":  # a workbook cannot hold the last two
        separators.update(a5="\u2028", a6="\u2029")
    rows = [account_row(login="a1"), *(account_row(login=login, last_name=f"DU{sep}PONT")
                                       for login, sep in separators.items()), account_row(login="a7")]
    if form == "csv with a ragged row":
        rows[-1] = [*rows[-1], ""]  # one more cell: read by the exact reader, not Arrow's
    if form == "xlsx":
        exports = tmp_path / "comptes.xlsx"
        workbook = Workbook()
        workbook.active.append(ACCOUNT_HEADER)
        for row in rows:
            workbook.active.append(row)
        workbook.save(exports)
    else:
        exports = write_csv(tmp_path / "comptes.csv", rows)
    inputs = load([exports], catalogue)
    assert list(inputs.accounts["account_id"]) == [f"a{n}" for n in range(1, 8)]
    assert list(inputs.accounts["source_line"]) == list(range(2, 9))
    assert set(inputs.accounts["last_name"]) == {"A1", "DUPONT", "A7"}
    reported = [i.line for i in inputs.issues if i.reason == "caractère de contrôle (invisible) retiré"]
    assert reported == [3, 4, 5, 6, 7]


@pytest.mark.parametrize("control", ["\x01", "\x08", "\x0b", "\x0e", "\x1f", "\x7f"])
def test_a_one_byte_control_alone_in_a_file_is_found_and_a_tab_is_none(tmp_path, catalogue, control):
    # The fast reader looks for control characters once in the whole file's bytes.
    exports = write_csv(tmp_path / "comptes.csv", [account_row(login="a1", function="Aide\tsoignante"),
                                                   account_row(login="a2", last_name=f"DU{control}PONT")])
    inputs = load([exports], catalogue)
    assert list(inputs.accounts["last_name"]) == ["A1", "DUPONT"]
    assert list(inputs.accounts["function"])[0] == "Aide soignante"  # a blank like any other
    assert [i.line for i in inputs.issues if i.reason == "caractère de contrôle (invisible) retiré"] == [3]


@pytest.mark.parametrize("separator", ["\u2028", "\u2029", "\x85"])
def test_a_unicode_line_separator_alone_in_a_file_is_found(tmp_path, catalogue, separator):
    # The fast reader looks for control characters once in the whole file: these are not single bytes.
    exports = write_csv(tmp_path / "comptes.csv", [account_row(login="a1"),
                                                   account_row(login="a2", last_name=f"DU{separator}PONT")])
    inputs = load([exports], catalogue)
    assert list(inputs.accounts["last_name"]) == ["A1", "DUPONT"]
    assert [i.line for i in inputs.issues if i.reason == "caractère de contrôle (invisible) retiré"] == [3]


def _workbook(path, sheets):
    """sheets: (title, rows, state) with state "visible" or "hidden"."""
    workbook = Workbook()
    workbook.remove(workbook.active)
    for title, rows, state in sheets:
        sheet = workbook.create_sheet(title)
        sheet.sheet_state = state
        for row in rows:
            sheet.append(row)
    workbook.save(path)
    return path


def test_every_accounts_sheet_of_a_workbook_is_read_and_a_stale_hidden_one_is_not(tmp_path, catalogue):
    path = _workbook(tmp_path / "export.xlsx", [
        ("Ancien export", [ACCOUNT_HEADER, account_row(login="old1"), account_row(login="old2")], "hidden"),
        ("Comptes A-L", [ACCOUNT_HEADER, account_row(login="a1"), account_row(login="a2")], "visible"),
        ("Comptes M-Z", [ACCOUNT_HEADER, account_row(login="m1")], "visible"),
        ("Lisez-moi", [["Export du 01/11/2026"]], "visible"),
    ])
    inputs = load([path], catalogue)
    assert sorted(inputs.accounts["account_id"]) == ["a1", "a2", "m1"]
    assert [(s.description, s.rows) for s in inputs.sources] == [
        ("XLSX, feuille « Comptes A-L »", 2), ("XLSX, feuille « Comptes M-Z »", 1)]
    assert sorted(i.reason for i in inputs.issues) == [
        "XLSX, feuille « Ancien export » masquée ignorée : une feuille visible de comptes utilisateurs est lue",
        "XLSX, feuille « Lisez-moi » : aucun en-tête reconnu, feuille ignorée"]


def test_a_hidden_sheet_is_read_when_no_visible_sheet_has_its_kind(tmp_path, catalogue):
    path = _workbook(tmp_path / "export.xlsx", [
        ("Comptes", [ACCOUNT_HEADER, account_row(login="a1")], "visible"),
        ("Réf", [["FINESS", "Raison sociale", "Département"], ["130000011", "IME Les Calanques", "13"]], "hidden"),
    ])
    inputs = load([path], catalogue)
    assert list(inputs.accounts["account_id"]) == ["a1"]
    assert list(inputs.establishments["finess"]) == ["130000011"]


def test_a_sheet_title_never_reaches_the_log(tmp_path):
    path = _workbook(tmp_path / "export.xlsx", [
        ("Marie DUPONT", [ACCOUNT_HEADER, account_row(login="a1")], "visible")])
    result = subprocess.run([sys.executable, "-m", "auditor", "validate", str(path), "-vv"], capture_output=True,
                            text=True, cwd=ROOT)
    assert result.returncode == 0, result.stderr
    assert "export.xlsx : comptes utilisateurs, XLSX, 1 ligne" in result.stderr
    assert "DUPONT" not in result.stderr
    assert "feuille « Marie DUPONT »" in result.stdout  # what the user reads still names the sheet


def test_junk_sheets_that_inflate_the_workbook_are_refused_before_expansion(tmp_path, catalogue):
    path = tmp_path / "export.xlsx"
    _workbook(path, [("Comptes", [ACCOUNT_HEADER, account_row()], "visible")])
    junk = b"<row>" + b"<c><v>0</v></c>" * 1000 + b"</row>"
    with zipfile.ZipFile(path, "a", zipfile.ZIP_DEFLATED) as archive:
        for number in range(2, 14):  # twelve sheets of 6 MB, each under the per-member threshold
            with archive.open(f"xl/worksheets/sheet{number}.xml", "w") as member:
                for _ in range(400):
                    member.write(junk)
    assert path.stat().st_size < 1024**2
    with pytest.raises(AuditError, match="anormalement grand"):
        load([path], catalogue)


def test_a_header_repeated_in_another_column_order_switches_the_reading(tmp_path, catalogue):
    order = list(reversed(range(len(ACCOUNT_HEADER))))  # the second export has its columns reversed
    second_header = [ACCOUNT_HEADER[i] for i in order]
    late = account_row(login="b1", last_name="MARTIN", first_name="Paul", last_login="01/01/2020")
    rows = [account_row(login="a1"), second_header, [late[i] for i in order]]
    exports = write_csv(tmp_path / "comptes.csv", rows)
    inputs = load([exports], catalogue)
    accounts = inputs.accounts.set_index("account_id")
    assert list(accounts.index) == ["a1", "b1"]  # the header is no account
    assert (accounts.at["b1", "last_name"], accounts.at["b1", "first_name"]) == ("MARTIN", "Paul")
    assert accounts.at["b1", "last_login"] == pd.Timestamp("2020-01-01")
    assert list(inputs.accounts["source_line"]) == [2, 4]
    (switch,) = [i for i in inputs.issues if "autre ordre" in i.reason]
    assert (switch.line, switch.dropped_rows) == (3, 1)
    assert rows_accounted_for(inputs) == 3


def test_a_repeated_header_missing_a_required_column_drops_its_rows_with_a_reason(tmp_path, catalogue):
    kept = [i for i, name in enumerate(ACCOUNT_HEADER) if name != "Identifiant"]
    short = [ACCOUNT_HEADER[i] for i in reversed(kept)]
    other = account_row(login="b1")
    rows = [account_row(login="a1"), short, [other[i] for i in reversed(kept)], [other[i] for i in reversed(kept)]]
    exports = write_csv(tmp_path / "comptes.csv", rows)
    inputs = load([exports], catalogue)
    assert list(inputs.accounts["account_id"]) == ["a1"]
    (dropped,) = [i for i in inputs.issues if "en-tête répété incomplet" in i.reason]
    assert (dropped.line, dropped.severity, dropped.dropped_rows) == (3, "error", 3)
    assert dropped.reason.endswith(": 2 lignes suivantes ignorées")
    assert rows_accounted_for(inputs) == 4


@pytest.mark.parametrize("written", ["2026-02-30", "2026-12-15T10:00:00+02:00", "2026-12-15 10:00"])
def test_a_waiver_expiry_that_is_no_day_is_refused_with_its_line(tmp_path, capsys, written):
    waivers = tmp_path / "w.yaml"
    waivers.write_text('waivers:\n  - rule: REF-01\n    finess: "130000011"\n    reason: r\n    approved_by: a\n'
                       f"    expires: {written}\n", encoding="utf-8")
    exports = write_csv(tmp_path / "comptes.csv", [account_row()])
    assert main(["run", str(exports), "--out", str(tmp_path / "o"), "--waivers", str(waivers)]) == 2
    err = capsys.readouterr().err
    assert "w.yaml, ligne 6 : date d'expiration invalide" in err and "Traceback" not in err


def test_a_rule_example_on_a_day_that_does_not_exist_is_refused_with_its_line(tmp_path, capsys):
    folder = _rules_dir(tmp_path, """rules:
  - code: ACC-01
    check: inactive_accounts
    severity: warning
    title: a
    why: b
    fix: c
    params: {inactivity_days: 180}
    examples:
      pass:
        - description: jour impossible
          as_of: 2026-02-30
""")
    assert main(["rules", "--rules", str(folder)]) == 2
    assert "regles.yaml, ligne 12, règle ACC-01 : date d'audit invalide « 2026-02-30 »" in capsys.readouterr().err


def test_a_login_on_the_audit_day_is_not_after_the_audit_date(tmp_path):
    accounts = write_csv(tmp_path / "comptes.csv", [account_row(login="a", last_login="01/11/2026 14:30"),
                                                    account_row(login="b", last_login="02/11/2026")])
    out = tmp_path / "out"
    main(["run", str(accounts), "--out", str(out), "--as-of", "2026-11-01", "--format", "json", "--quiet"])
    issues = json.loads((out / "findings.json").read_text(encoding="utf-8"))["input_issues"]
    assert [(i["line"], i["reason"]) for i in issues if "postérieure" in i["reason"]] == [
        (3, "date postérieure à la date d'audit")]


def test_a_header_below_a_title_longer_than_the_first_megabyte_is_found(tmp_path, catalogue):
    # The header is first looked for in the file's first megabyte; past it, in the whole file.
    title = '"Export ' + "x" * (1_200_000) + '"\r\n'
    exports = write_csv(tmp_path / "comptes.csv", [account_row(login="a"), account_row(login="b")], before=title)
    inputs = load([exports], catalogue)
    assert list(inputs.accounts["account_id"]) == ["a", "b"]
    assert list(inputs.accounts["source_line"]) == [3, 4]


def test_rows_after_an_incomplete_repeated_header_never_take_a_wrong_mapping(tmp_path, catalogue):
    kept = [i for i, name in enumerate(ACCOUNT_HEADER) if name != "Identifiant"]
    order = list(reversed(range(len(ACCOUNT_HEADER))))
    dropped, later = account_row(login="x1"), account_row(login="b1", last_name="MARTIN")
    rows = [account_row(login="a1"),
            [ACCOUNT_HEADER[i] for i in reversed(kept)], [dropped[i] for i in reversed(kept)],
            [ACCOUNT_HEADER[i] for i in order], [later[i] for i in order]]
    inputs = load([write_csv(tmp_path / "comptes.csv", rows)], catalogue)
    accounts = inputs.accounts.set_index("account_id")
    assert list(accounts.index) == ["a1", "b1"] and accounts.at["b1", "last_name"] == "MARTIN"
    (incomplete,) = [i for i in inputs.issues if "incomplet" in i.reason]
    assert (incomplete.line, incomplete.dropped_rows) == (3, 2)
    assert rows_accounted_for(inputs) == 5
