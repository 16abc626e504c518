"""Reports people act on: the region's overview, the director's to-do, workbooks that print, French wording."""

import json
import os
import re
import stat

import pytest
from openpyxl import load_workbook

from auditor.cli.commands import main
from tests.helpers import SAMPLES, SAMPLES_AS_OF, account_row, write_csv

REFERENTS = "Référent Établissement | VT PH - Référent ESMS"
DEADLINE, CONTACT = "2026-12-15", "ARS PACA, audit-vt@ars.example"


@pytest.fixture(scope="module")
def sample_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("out")
    main(["run", str(SAMPLES), "--out", str(out), "--as-of", SAMPLES_AS_OF, "--per-establishment",
          "--deadline", DEADLINE, "--contact", CONTACT, "--waivers", str(SAMPLES / "derogations.yaml"),
          "--fail-on", "jamais"])
    return out, json.loads((out / "findings.json").read_text(encoding="utf-8"))


def bundle(out, finess, suffix):
    (path,) = (out / "etablissements").glob(f"{finess}_*{suffix}")
    return path


def rows_of(sheet, header_row=1):
    header = [c.value for c in sheet[header_row]]
    return [dict(zip(header, r)) for r in sheet.iter_rows(min_row=header_row + 1, values_only=True)]


def test_a_directors_workbook_opens_on_a_to_do_with_one_block_per_person(sample_run):
    out, report = sample_run
    # The person with DRT-01 and DRT-02 (a medical legacy role on an educator) is one block.
    drt01 = next(f for f in report["findings"] if f["rule"] == "DRT-01" and f["severity"] == "error")
    workbook = load_workbook(bundle(out, drt01["finess"], ".xlsx"))
    assert workbook.sheetnames[0] == "À faire"
    todo = workbook["À faire"]
    intro = [todo.cell(row, 1).value for row in range(1, 5)]
    assert intro[0].startswith("À faire : ") and drt01["establishment"] in intro[0]
    assert "À traiter avant le 15/12/2026" in intro[2] and CONTACT in intro[3]
    header_row = next(r for r in range(1, 10) if todo.cell(r, 1).value == "Personne / compte")
    assert todo.print_title_rows == f"${header_row}:${header_row}"  # repeated on each printed page
    blocks = rows_of(todo, header_row)
    own = [f for f in report["findings"] if f["finess"] == drt01["finess"]]
    assert len(blocks) == len({f["account"] or f["subject"] for f in own})
    (person,) = [b for b in blocks if b["Personne / compte"] == f"{drt01['subject']} ({drt01['account']})"]
    assert "DRT-01" in person["Constats"] and "DRT-02" in person["Constats"]
    assert person["Sévérité"] == "erreur" and "Portail de santé PACA" in person["Que faire (fiche pratique)"]
    done = list(blocks[0]).index("Fait le") + 1  # where the director writes the date: framed on paper
    assert todo.cell(header_row + 1, done).border.left.style == "thin"
    assert todo.cell(header_row + 1, done - 1).border.left.style is None
    for sheet in workbook:  # nothing technical nor about the tool's own files
        text = " ".join(str(c) for row in sheet.iter_rows(values_only=True) for c in row if c)
        assert "rules/catalogue" not in text and ".yaml" not in text and "Clé" not in text
    page = bundle(out, drt01["finess"], ".html").read_text(encoding="utf-8")
    assert "15/12/2026" in page and CONTACT in page and page.count('class="block') == len(blocks)


def test_a_closed_establishment_reads_as_one_entry_listing_its_accounts(sample_run):
    out, report = sample_run
    closed = [f for f in report["findings"] if f["rule"] == "ETB-01"]
    assert len(closed) > 2 and len({f["finess"] for f in closed}) == 1  # findings.json: one per account
    page = (out / "audit.html").read_text(encoding="utf-8")
    section = page[page.index('id="ETB-01"'):]
    section = section[:section.index("</article>")]
    assert section.count("<tr>") == 2  # header and one entry
    assert f"{len(closed)} comptes : " in section and all(f["account"] in section for f in closed)
    todo = rows_of(load_workbook(bundle(out, closed[0]["finess"], ".xlsx"))["À faire"], 6)
    assert len(todo) == 1 and todo[0]["Personne / compte"].endswith("(l'établissement)")


def test_the_region_page_is_an_overview_with_links_and_no_access_review(sample_run):
    out, report = sample_run
    page = (out / "audit.html").read_text(encoding="utf-8")
    overview = page.index("Établissements à traiter en priorité")
    assert overview < page.index("Constats par règle et par département") < page.index("Constats par règle<")
    assert "Revue des accès (" not in page and "(s)" not in page
    links = re.findall(r'href="(etablissements/[^"]+\.html)"', page)
    assert links and all((out / link).exists() for link in links)
    compliant = sum(1 for e in report["establishments"]
                    if not any(f["finess"] == e["finess"] and not f["waived"] and f["severity"] != "info"
                               for f in report["findings"]))
    share = round(100 * compliant / len(report["establishments"]))
    assert f"<strong>{share}&nbsp;%</strong> conformes ({compliant} sans erreur ni avertissement sur les règles" in page
    summary = rows_of(load_workbook(out / "audit.xlsx")["Synthèse"])
    errors = [r["Erreurs"] for r in summary]
    assert errors == sorted(errors, reverse=True)  # worst first
    assert summary[0]["Rapport de l'établissement"] == "ouvrir"
    # Each "ouvrir" is a link to its establishment's workbook, next to audit.xlsx.
    sheet = load_workbook(out / "audit.xlsx")["Synthèse"]
    targets = {row[0].value: row[-1].hyperlink.target for row in sheet.iter_rows(min_row=2) if row[-1].hyperlink}
    assert len(targets) == len(summary)
    assert all(target.startswith(f"etablissements/{finess}_") and target.endswith(".xlsx") and (out / target).exists()
               for finess, target in targets.items())


def test_a_rule_with_many_findings_shows_the_first_ones_and_says_where_the_rest_is(tmp_path):
    rows = [account_row(login=f"u{n}", roles=REFERENTS, last_login="01/01/2025") for n in range(13)]
    out = tmp_path / "out"
    main(["run", str(write_csv(tmp_path / "comptes.csv", rows)), "--out", str(out), "--as-of", "2026-11-01"])
    page = (out / "audit.html").read_text(encoding="utf-8")
    section = page[page.index('id="ACC-01"'):]
    section = section[:section.index("</article>")]
    assert section.count("<tr>") == 11 and "Et 3 autres : liste complète dans audit.xlsx" in section
    assert sum(r["Règle"] == "ACC-01" for r in rows_of(load_workbook(out / "audit.xlsx")["Constats"])) == 13


def test_every_sheet_prints_a4_landscape_one_page_wide_with_titles_and_page_numbers(sample_run):
    out, _ = sample_run
    for path in [out / "audit.xlsx", *sorted((out / "etablissements").glob("*.xlsx"))[:3]]:
        for sheet in load_workbook(path):
            setup = sheet.page_setup
            # One page wide: fitToWidth is 1 when the file leaves it out (ECMA-376's default).
            assert (setup.orientation, setup.paperSize, setup.fitToWidth or 1, setup.fitToHeight) == (
                "landscape", 9, 1, 0), sheet.title
            assert sheet.sheet_properties.pageSetUpPr.fitToPage
            assert sheet.print_title_rows and sheet.freeze_panes
            assert sheet.oddFooter.right.text == "Page &P / &N" and sheet.oddHeader.right.text.startswith("Situation")


def test_the_decision_list_refuses_typed_text_and_prompts(sample_run):
    out, _ = sample_run
    review = load_workbook(next((out / "etablissements").glob("*.xlsx")))["Revue des accès"]
    (validation,) = review.data_validations.dataValidation
    # A typed text is refused: errorStyle is "stop" when the file leaves it out (ECMA-376's default).
    assert validation.showErrorMessage and validation.errorStyle in (None, "stop") and "Conserver" in validation.error
    assert validation.showInputMessage and validation.prompt
    header = [c.value for c in review[1]]
    assert header[:2] == ["Compte", "Personne"] and review.freeze_panes == "C2"  # names stay in view
    # On paper, the cells to fill in are framed; the others are not.
    for column in ("Décision (Conserver / Modifier / Archiver)", "Commentaire"):
        assert review.cell(2, header.index(column) + 1).border.left.style == "thin", column
    assert review.cell(2, header.index("Personne") + 1).border.left.style is None


def test_about_sheet_names_version_command_files_and_parameters(sample_run):
    out, _ = sample_run
    about = {r[0]: r[1] for r in load_workbook(out / "audit.xlsx")["À propos"].iter_rows(min_row=2, values_only=True)}
    assert about["Outil"].startswith("vt-audit ") and "--deadline 2026-12-15" in about["Commande"]
    assert any(k.startswith("Fichier lu") and "comptes.csv" in v for k, v in about.items())
    assert about["Paramètres de ACC-01"] == "jours sans connexion tolérés : 180"


def test_waivers_say_their_real_days_to_expiry(sample_run):
    out, _ = sample_run
    waivers = rows_of(load_workbook(out / "audit.xlsx")["Dérogations"])
    ref01 = next(w for w in waivers if w["Règle"] == "REF-01")
    assert ref01["État"] == "expire dans 19 jours"  # 2026-11-20, audited on 2026-11-01


@pytest.mark.parametrize(("level", "on_warning", "on_info"), [
    ("erreur", 0, 0), ("avertissement", 1, 0), ("information", 1, 1), ("jamais", 0, 0), ("warning", 1, 0)])
def test_fail_on_speaks_french(tmp_path, level, on_warning, on_info):
    referents = [account_row(login="a", roles=REFERENTS), account_row(login="b", roles=REFERENTS)]
    stale = write_csv(tmp_path / "ancien.csv", [*referents, account_row(login="c", roles="", last_login="01/01/2025")])
    statistics = "IAM - MSPH - Statistiques ESMS (IAM)"
    blocked_account = account_row(login="c", status="Bloqué", roles=statistics)
    blocked = write_csv(tmp_path / "bloque.csv", [*referents, blocked_account])
    out = str(tmp_path / "o")
    assert main(["run", str(stale), "--out", out, "--as-of", "2026-11-01", "--fail-on", level]) == on_warning
    assert main(["run", str(blocked), "--out", out, "--as-of", "2026-11-01", "--fail-on", level]) == on_info


def test_the_summary_line_uses_plurals(tmp_path, capsys):
    exports = write_csv(tmp_path / "comptes.csv", [account_row(login="a", roles=REFERENTS)])
    main(["run", str(exports), "--out", str(tmp_path / "o"), "--as-of", "2026-11-01"])
    line = capsys.readouterr().out
    assert line.startswith("1 établissement audité au 01/11/2026 : 1 erreur, 0 avertissement, 0 information")
    assert "(s)" not in line


def test_a_mistyped_finess_is_an_etb02_on_its_rows_not_an_establishment(tmp_path):
    rows = [account_row(login="a", roles=REFERENTS), account_row(login="b", roles=REFERENTS),
            account_row(login="c", finess="130000012")]  # the key digit is wrong
    out = tmp_path / "out"
    main(["run", str(write_csv(tmp_path / "comptes.csv", rows)), "--out", str(out), "--as-of", "2026-11-01",
          "--per-establishment"])
    report = json.loads((out / "findings.json").read_text(encoding="utf-8"))
    typo = [f for f in report["findings"] if f["finess"] == "130000012"]
    assert [f["rule"] for f in typo if f["rule"] in ("ETB-02", "REF-01", "REF-02")] == ["ETB-02"]
    assert "clé de contrôle FINESS invalide" in typo[0]["message"] and "1 compte rattaché" in typo[0]["message"]
    assert [e["finess"] for e in report["establishments"]] == ["130000011"]
    assert [p.name[:9] for p in (out / "etablissements").glob("*.xlsx")] == ["130000011"]


def test_finess_written_with_spaces_is_repaired_and_reported(tmp_path):
    exports = write_csv(tmp_path / "comptes.csv", [account_row(login="a", roles=REFERENTS, finess="13 000 001 1"),
                                                   account_row(login="b", roles=REFERENTS)])
    out = tmp_path / "out"
    main(["run", str(exports), "--out", str(out), "--as-of", "2026-11-01"])
    report = json.loads((out / "findings.json").read_text(encoding="utf-8"))
    (issue,) = [i for i in report["input_issues"] if "espaces" in i["reason"]]
    assert (issue["line"], issue["column"], issue["value"]) == (2, "FINESS ET", "13 000 001 1")
    assert [e["finess"] for e in report["establishments"]] == ["130000011"]


@pytest.mark.parametrize(("umask", "mode"), [(0o022, 0o644), (0o027, 0o640)])
def test_reports_follow_the_umask(tmp_path, umask, mode):
    previous = os.umask(umask)
    try:
        main(["run", str(write_csv(tmp_path / "comptes.csv", [account_row()])), "--out", str(tmp_path / "o"),
              "--as-of", "2026-11-01", "--per-establishment"])
    finally:
        os.umask(previous)
    written = [p for p in (tmp_path / "o").rglob("*") if p.is_file()]
    assert written and {stat.S_IMODE(p.stat().st_mode) for p in written} == {mode}


def test_findings_past_excel_last_row_are_cut_with_a_note_never_written_beyond(tmp_path, monkeypatch):
    from auditor.render import xlsx_sheet

    out = tmp_path / "out"
    assert main(["run", str(SAMPLES), "--out", str(out), "--as-of", SAMPLES_AS_OF, "--format", "json"]) == 1
    total = len(json.loads((out / "findings.json").read_text(encoding="utf-8"))["findings"])
    monkeypatch.setattr(xlsx_sheet, "EXCEL_MAX_ROWS", 20)  # a sheet of 20 rows, as Excel's has 1,048,576
    assert main(["run", str(SAMPLES), "--out", str(out), "--as-of", SAMPLES_AS_OF, "--format", "xlsx"]) == 1
    sheet = load_workbook(out / "audit.xlsx")["Constats"]
    assert sheet.max_row == 20
    first = next(r for r in range(1, 20) if sheet.cell(r, 1).value == "Sévérité")
    shown = 19 - first
    assert sheet.cell(20, 1).value.startswith(f"… et {total - shown} constats de plus, au-delà de la dernière ligne")
    assert "findings.json" in sheet.cell(20, 1).value


def test_a_review_too_large_to_show_is_a_note_with_its_size_and_is_built_only_for_bundles(tmp_path, monkeypatch):
    import auditor.cli.commands
    import auditor.render.review_workbook
    from auditor.engine import access_review

    built = []
    real = access_review.build_access_review
    monkeypatch.setattr("auditor.engine.evaluate.build_access_review", lambda *a: built.append(real(*a)) or built[-1])
    full = tmp_path / "complet"
    assert main(["run", str(SAMPLES), "--out", str(full), "--as-of", SAMPLES_AS_OF, "--format", "xlsx",
                 "--fail-on", "jamais"]) == 0
    active = len(rows_of(load_workbook(full / "audit.xlsx")["Revue des accès"]))
    # As if the region had more accounts than that:
    for module in (auditor.cli.commands, auditor.render.review_workbook):
        monkeypatch.setattr(module, "MAX_REVIEW_ROWS", active - 1)
    small = tmp_path / "limite"
    assert main(["run", str(SAMPLES), "--out", str(small), "--as-of", SAMPLES_AS_OF, "--format", "xlsx",
                 "--fail-on", "jamais"]) == 0
    note = [v for v in load_workbook(small / "audit.xlsx")["Revue des accès"].iter_rows(values_only=True)][1]
    assert note[1].startswith(f"{active} comptes : revue trop grande pour un seul rapport")
    assert len(built[-1]) == 0 and built[-1].attrs["rows"] == active  # no row built for a note
    bundles = tmp_path / "bundles"
    assert main(["run", str(SAMPLES), "--out", str(bundles), "--as-of", SAMPLES_AS_OF, "--format", "xlsx",
                 "--per-establishment", "--fail-on", "jamais"]) == 0
    assert len(built[-1]) == active  # the directors' bundles need every row


def test_a_region_large_enough_for_the_bundle_workers_gets_its_reports_and_each_director_only_their_rows(tmp_path):
    """Past PARALLEL_FROM establishments the bundles are written by one process per core while this one
    writes the regional reports; each worker cuts its establishments' parts itself."""
    from python_calamine import CalamineWorkbook

    from auditor.render.bundles import PARALLEL_FROM
    from auditor.testing.synthetic import generate, write_region

    data, out = tmp_path / "region", tmp_path / "out"
    write_region(generate(PARALLEL_FROM + 10, seed=3, staff=(6, 12), dirt=0.5), data)
    main(["run", str(data), "--out", str(out), "--as-of", SAMPLES_AS_OF, "--per-establishment", "--fail-on", "jamais",
          "--quiet"])
    report = json.loads((out / "findings.json").read_text(encoding="utf-8"))
    assert (out / "audit.xlsx").is_file() and (out / "audit.html").is_file()
    region = rows_of(load_workbook(out / "audit.xlsx", read_only=True)["Revue des accès"])
    workbooks = sorted((out / "etablissements").glob("*.xlsx"))
    assert len(workbooks) == len(list((out / "etablissements").glob("*.html"))) == len(report["establishments"])
    for path in workbooks:
        sheets = CalamineWorkbook.from_path(str(path))
        about = dict(row[:2] for row in sheets.get_sheet_by_name("À propos").to_python()[1:])
        finess = about["FINESS"]
        assert path.name.startswith(f"{finess}_")
        review = sheets.get_sheet_by_name("Revue des accès").to_python()[1:]
        assert sorted(row[0] for row in review) == sorted(r["Compte"] for r in region if r["FINESS"] == finess)
        todo = " ".join(str(cell) for row in sheets.get_sheet_by_name("À faire").to_python() for cell in row)
        own = [f for f in report["findings"] if f["finess"] == finess]
        assert all(f["message"] in todo for f in own), finess
