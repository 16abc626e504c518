"""Month after month: the history file, the statuses against the previous audit, and their reports."""

import json
import os
import sqlite3
import stat
import subprocess
import sys
import xml.etree.ElementTree as ET
from collections import Counter

import pandas as pd
import pytest
from openpyxl import load_workbook

from auditor.cli.commands import main
from auditor.config.settings import FollowUpSettings
from auditor.history.follow_up import PreviousRun, compare, months_between
from auditor.history.store import open_history
from auditor.testing.synthetic import generate, monthly_exports, write_region
from tests.helpers import ROOT, SAMPLES, account_row, write_csv

MONTHS = ("2026-11-01", "2026-12-01", "2027-01-01")
REFERENTS = "Référent Établissement | VT PH - Référent ESMS"
SETTINGS = FollowUpSettings({"error": 10, "warning": 3, "info": 1}, stale_months=3, coverage_drop_percent=20)


def audit_month(folder, as_of, history, out, *extra):
    return main(["run", str(folder), "--out", str(out), "--as-of", as_of, "--history", str(history), "--quiet",
                 *extra])


def report(out):
    return json.loads((out / "findings.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def three_months(tmp_path_factory):
    """Three monthly exports of a 36-establishment region, each audited with the history."""
    root = tmp_path_factory.mktemp("months")
    history = root / "suivi.sqlite"
    outputs = {}
    for as_of, region in monthly_exports(generate(36), 3):
        folder = root / as_of.isoformat()
        write_region(region, folder, as_of=as_of, gone=True)
        (folder / "attendu.json").rename(root / f"attendu-{as_of}.json")  # not an export to read
        out = root / f"out-{as_of}"
        audit_month(folder, as_of.isoformat(), history, out, "--per-establishment", "--format", "json,xlsx,html,junit")
        outputs[as_of.isoformat()] = out
    return root, history, outputs


def planted(root, as_of):
    return json.loads((root / f"attendu-{as_of}.json").read_text(encoding="utf-8"))


@pytest.mark.parametrize("as_of", MONTHS)
def test_every_finding_gets_the_status_planted_by_the_generator(three_months, as_of):
    root, _, outputs = three_months
    expected = planted(root, as_of)
    found = report(outputs[as_of])
    statuses = Counter((f["rule"], f["finess"], f["subject"], f["status"]) for f in found["findings"])
    assert statuses == Counter((f["rule"], f["finess"], f["subject"], f["status"]) for f in expected["findings"])
    gone = [(f["rule"], f["finess"], f["subject"], "résolu") for f in found["follow_up"]["resolved"]]
    gone += [(f["rule"], f["finess"], f["subject"], "non vérifié") for f in found["follow_up"]["unverified"]]
    assert Counter(gone) == Counter((f["rule"], f["finess"], f["subject"], f["status"])
                                    for f in expected.get("gone", []))


def test_persisting_findings_keep_the_date_first_seen_and_count_their_age(three_months):
    _, _, outputs = three_months
    last = report(outputs["2027-01-01"])
    by_status = {}
    for finding in last["findings"]:
        by_status.setdefault(finding["status"], []).append(finding)
    planted_first = [f for f in by_status["persistant"] if f["first_seen"] == "2026-11-01"]
    assert planted_first and all(f["age_months"] == 2 for f in planted_first)
    newer = [f for f in by_status["persistant"] if f["first_seen"] == "2026-12-01"]
    assert [f["rule"] for f in newer] == ["ACC-01"] and newer[0]["age_months"] == 1
    (returning,) = by_status["réapparu"]
    assert returning["rule"] == "ACC-03" and returning["first_seen"] == "2027-01-01" and returning["age_months"] == 0
    assert last["follow_up"]["previous_as_of"] == "2026-12-01"
    assert [t["as_of"] for t in last["follow_up"]["trend"]] == list(MONTHS)


def test_an_establishment_missing_from_the_export_is_not_verified_never_resolved(three_months):
    root, _, outputs = three_months
    december = report(outputs["2026-12-01"])
    (unverified,) = december["follow_up"]["unverified"]
    assert unverified["finess"] not in {e["finess"] for e in december["establishments"]}
    assert unverified["finess"] not in {f["finess"] for f in december["follow_up"]["resolved"]}


def test_reports_show_statuses_scores_and_trends(three_months):
    _, _, outputs = three_months
    out = outputs["2027-01-01"]
    workbook = load_workbook(out / "audit.xlsx")
    assert {"Résolus", "Tendances", "Tendances par établissement"} <= set(workbook.sheetnames)
    findings = workbook["Constats"]
    header = [c.value for c in findings[1]]
    rows = [dict(zip(header, r)) for r in findings.iter_rows(min_row=2, values_only=True)]
    assert Counter(r["Statut"] for r in rows) == Counter(f["status"] for f in report(out)["findings"])
    trend = list(workbook["Tendances"].iter_rows(values_only=True))
    assert [r[0].date().isoformat() for r in trend[1:]] == list(MONTHS)  # real dates
    (chart,) = workbook["Tendances"]._charts  # the native chart reads back, its counts in whole numbers
    assert chart.y_axis.majorUnit == int(chart.y_axis.majorUnit) >= 1 and chart.y_axis.number_format.formatCode == "0"
    per_establishment = list(workbook["Tendances par établissement"].iter_rows(values_only=True))
    assert per_establishment[0][3:] == ("01/11/2026", "01/12/2026", "01/01/2027")
    rows_by_finess = {r[0]: r for r in per_establishment[1:]}
    for month, counts in zip(MONTHS, zip(*(r[3:] for r in per_establishment[1:]))):
        establishments = report(outputs[month])["establishments"]
        totals = {e["finess"]: e["error"] + e["warning"] + e["info"] for e in establishments}
        assert {f: c for f, c in zip(rows_by_finess, counts) if c is not None} == {
            f: t for f, t in totals.items() if f in rows_by_finess}
    summary = workbook["Synthèse"]
    header = [c.value for c in summary[1]]
    ranking = [dict(zip(header, r)) for r in summary.iter_rows(min_row=2, values_only=True)]
    # What an auditor acts on first: the most errors, then the lowest score.
    order = [(-r["Erreurs"], r["Score"]) for r in ranking]
    assert order == sorted(order) and ranking[0]["Erreurs"] > 0
    page = (out / "audit.html").read_text(encoding="utf-8")
    assert "Suivi depuis l'audit du 01/12/2026" in page and "<svg" in page and "<script" not in page
    assert "1 réapparu" in page and "(erreurs, puis score le plus bas)" in page
    mistyped = sum(1 for f in report(out)["findings"] if f["rule"] == "ETB-02")
    assert f"{mistyped} constat{'s' if mistyped > 1 else ''} sur un FINESS erroné (ETB-02)" in page


def test_a_bundle_shows_its_own_curve_and_what_was_resolved_there(three_months):
    root, _, outputs = three_months
    december = planted(root, "2026-12-01")
    resolved_at = {g["finess"] for g in december["gone"] if g["status"] == "résolu"}
    finess = sorted(resolved_at)[0]
    (page,) = (outputs["2026-12-01"] / "etablissements").glob(f"{finess}_*.html")
    text = page.read_text(encoding="utf-8")
    resolved_here = sum(1 for g in december["gone"] if g["finess"] == finess and g["status"] == "résolu")
    assert f"{resolved_here} constat résolu depuis le dernier audit" in text
    assert "<svg" in text and "Établissements à traiter en priorité" not in text
    (workbook,) = (outputs["2026-12-01"] / "etablissements").glob(f"{finess}_*.xlsx")
    gone_rows = list(load_workbook(workbook)["Résolus"].iter_rows(min_row=2, values_only=True))
    assert len(gone_rows) == resolved_here and {r[2] for r in gone_rows} == {finess}
    # Its curve is its own counts, audit after audit, as each month's report gave them.
    curve = list(load_workbook(workbook)["Tendances"].iter_rows(min_row=2, max_col=4, values_only=True))
    own = [next((e["error"], e["warning"], e["info"]) for e in report(outputs[month])["establishments"]
                if e["finess"] == finess) for month in MONTHS[:2]]
    assert [(r[0].date().isoformat(), *r[1:]) for r in curve if r[0] is not None] == [
        (month, *counts) for month, counts in zip(MONTHS[:2], own)]
    # Where nothing is gone, no empty « Résolus » sheet prints an empty page.
    quiet = {g["finess"] for g in december["gone"]}
    (other,) = [p for p in (outputs["2026-12-01"] / "etablissements").glob("*.xlsx") if p.name[:9] not in quiet][:1]
    assert "Résolus" not in load_workbook(other).sheetnames


def test_junit_shows_persisting_findings_with_their_age(three_months):
    _, _, outputs = three_months
    tree = ET.parse(outputs["2027-01-01"] / "junit.xml")
    outputs_text = " ".join(e.text or "" for e in tree.iter("system-out"))
    assert "persistant depuis 2 mois" in outputs_text


def test_history_lists_the_runs_and_backfill_gives_the_same_statuses(three_months, tmp_path, capsys):
    root, history, outputs = three_months
    capsys.readouterr()
    assert main(["history", "--history", str(history)]) == 0
    listing = capsys.readouterr().out.splitlines()
    assert [line[:10] for line in listing] == ["01/11/2026", "01/12/2026", "01/01/2027"]
    # The same months imported from their findings.json, newest given first: same statuses.
    backfilled = tmp_path / "importe.sqlite"
    reports = [str(outputs[m] / "findings.json") for m in reversed(MONTHS)]
    assert main(["history", "import", *reports, "--history", str(backfilled)]) == 0
    with sqlite3.connect(backfilled) as imported, sqlite3.connect(history) as live:
        query = "SELECT r.as_of, f.key, f.first_seen FROM findings f JOIN runs r ON r.id = f.run_id ORDER BY 1, 2"
        assert imported.execute(query).fetchall() == live.execute(query).fetchall()
        assert {o for (o,) in imported.execute("SELECT origin FROM runs")} == {"import"}


@pytest.fixture(scope="module")
def sample_report(tmp_path_factory):
    out = tmp_path_factory.mktemp("report")
    main(["run", str(SAMPLES), "--out", str(out), "--as-of", "2026-10-01", "--format", "json", "--quiet"])
    return json.loads((out / "findings.json").read_text(encoding="utf-8"))


def _spoil(report, how):
    report = json.loads(json.dumps(report))
    if how == "type":
        report["findings"][0]["waived"] = "oui"
    elif how == "missing":
        del report["findings"][1]["key"]
    elif how == "null":
        report["establishments"][0]["name"] = None
    elif how == "repeated":
        report["establishments"].append(report["establishments"][0])
    return json.dumps(report)


@pytest.mark.parametrize(("how", "said"), [
    ("type", "$.findings[0].waived : vrai ou faux attendu, trouvé « \"oui\" »"),
    ("missing", "$.findings[1] : champ obligatoire absent : key"),
    ("null", "$.establishments[0].name : un texte attendu, trouvé « null »"),
    ("repeated", "establishments : 1 établissement en double : "),
    ("deep", "JSON imbriqué trop profondément"),
    ("not a report", "champ obligatoire absent"),
])
def test_import_refuses_a_report_that_does_not_follow_the_schema_and_records_nothing(tmp_path, capsys,
                                                                                     sample_report, how, said):
    good = tmp_path / "findings.json"
    good.write_text(json.dumps(sample_report), encoding="utf-8")
    bad = tmp_path / "novembre.json"
    text = {"deep": "[" * 200_000 + "]" * 200_000, "not a report": '{"as_of": "2026-11-01"}'}.get(how)
    bad.write_text(text or _spoil(sample_report, how).replace("2026-10-01", "2026-11-01"), encoding="utf-8")
    history = tmp_path / "suivi.sqlite"
    assert main(["history", "import", str(good), str(bad), "--history", str(history)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"Erreur : {bad} : ") and said in err and len(err.splitlines()) == 1
    with sqlite3.connect(history) as db:
        assert db.execute("SELECT count(*) FROM runs").fetchone() == (0,)


# -- the comparison, on tables small enough to read -----------------------------------------------

def findings(*rows):
    """(key, finess, severity, waived) rows."""
    return pd.DataFrame(rows, columns=["key", "finess", "severity", "waived"])


def previous_run(as_of, rows, coverage=(("A", 5),), accounts=10, establishments=1):
    frame = pd.DataFrame([{"key": key, "rule": key.split(":")[0], "severity": "error", "finess": finess,
                           "establishment": "", "account": None, "subject": "", "message": "", "waived": False,
                           "first_seen": first_seen} for key, finess, first_seen in rows])
    return PreviousRun(pd.Timestamp(as_of), frame, pd.DataFrame(coverage, columns=["finess", "accounts"]).assign(
        score=90), accounts, establishments, 90.0)


def coverage(*rows):
    return pd.DataFrame(rows, columns=["finess", "name", "accounts"])


def test_statuses_first_seen_and_what_is_gone():
    previous = previous_run("2026-10-01", [("ACC-01:A:x", "A", "2026-07-01"), ("ACC-03:A:y", "A", "2026-10-01"),
                                           ("DAT-02:B:z", "B", "2026-10-01"), ("REF-01:C", "C", "2026-10-01"),
                                           ("REF-01:D", "D", "2026-10-01"), ("ACC-02:E:v", "E", "2026-10-01"),
                                           ("REF-01:F", "F", "2026-10-01")],
                            coverage=(("A", 5), ("B", 3), ("C", 0), ("D", 0), ("E", 4), ("F", 0)))
    current = findings(("ACC-01:A:x", "A", "warning", False), ("ATT-02:A:y", "A", "warning", False),
                       ("DAT-01:A:w", "A", "warning", False))
    result = compare(current, coverage(("A", "IME", 5), ("D", "MAS", 2), ("E", "FAM", 0), ("F", "IEM", 0)),
                     pd.Timestamp("2026-11-01"), previous, {"DAT-01:A:w"},
                     pd.DataFrame(columns=["as_of", "finess", "error", "warning", "info"]), SETTINGS)
    assert list(result.marks["status"]) == ["persistant", "nouveau", "réapparu"]
    assert list(result.marks["first_seen"]) == ["2026-07-01", "2026-11-01", "2026-11-01"]
    assert list(result.marks["age_months"]) == [4, 0, 0]
    # A and D have accounts in this export: what is gone there is resolved (D got its accounts);
    # F had none then and has none now (say it closed): the referential is the data, resolved too.
    assert list(result.resolved["key"]) == ["ACC-03:A:y", "REF-01:D", "REF-01:F"]
    # B and C are absent from this export, E is listed without any account: no data is not compliance.
    assert list(result.unverified["key"]) == ["DAT-02:B:z", "REF-01:C", "ACC-02:E:v"]


@pytest.mark.parametrize(("first_seen", "waived", "overdue"), [
    ("2026-08-01", False, True),  # exactly stale_months (3) old
    ("2026-09-01", False, False),  # one month short
    ("2026-05-01", True, False),  # old, but under an approved waiver
])
def test_overdue_from_stale_months_on_and_never_for_waived_findings(first_seen, waived, overdue):
    previous = previous_run("2026-10-01", [("ACC-01:A:x", "A", first_seen)])
    result = compare(findings(("ACC-01:A:x", "A", "warning", waived)), coverage(("A", "IME", 5)),
                     pd.Timestamp("2026-11-01"), previous, set(),
                     pd.DataFrame(columns=["as_of", "finess", "error", "warning", "info"]), SETTINGS)
    assert list(result.marks["overdue"]) == [overdue]
    assert result.scores["overdue"].tolist() == [int(overdue)]


def test_score_is_100_minus_weighted_unwaived_findings_never_below_zero():
    current = findings(("E1", "A", "error", False), ("E2", "A", "error", False), ("W1", "A", "warning", False),
                       ("W2", "A", "warning", False), ("W3", "A", "warning", False), ("E3", "A", "error", True),
                       *((f"E{n}", "B", "error", False) for n in range(4, 15)))
    result = compare(current, coverage(("A", "IME", 5), ("B", "MAS", 5), ("C", "FAM", 0)),
                     pd.Timestamp("2026-11-01"), None, set(),
                     pd.DataFrame(columns=["as_of", "finess", "error", "warning", "info"]), SETTINGS)
    scores = dict(zip(result.scores["finess"], result.scores["score"]))
    assert scores == {"A": 71, "B": 0, "C": 100}  # 100 - 2×10 - 3×3 (the waived error counts nothing)
    assert list(result.scores["finess"]) == ["B", "A", "C"]  # worst first
    assert result.region_score == pytest.approx((71 + 0) / 2)  # C has no accounts: not in the mean


def test_months_between_counts_calendar_months():
    ages = months_between(pd.Series(["2025-12-31", "2026-10-01", "2026-11-01"]), pd.Timestamp("2026-11-01"))
    assert list(ages) == [11, 1, 0]


# -- runs on small hand-made exports ----------------------------------------------------------------

def accounts(tmp_path, n_accounts, name="comptes.csv", finess="130000011"):
    rows = [account_row(login=f"ref{n}", roles=REFERENTS, finess=finess) for n in range(2)]
    rows += [account_row(login=f"user{n}", roles="IAM - MSPH - Statistiques ESMS (IAM)", finess=finess,
                         last_login="01/01/2025") for n in range(n_accounts - 2)]
    folder = tmp_path / name.removesuffix(".csv")
    folder.mkdir(exist_ok=True)
    return write_csv(folder / name, rows)


@pytest.mark.parametrize(("now", "flagged"), [(8, False), (7, True)])
def test_coverage_guard_at_its_threshold(tmp_path, capsys, now, flagged):
    history = tmp_path / "suivi.sqlite"
    assert audit_month(accounts(tmp_path, 10, "octobre.csv"), "2026-10-01", history, tmp_path / "o1") == 0
    capsys.readouterr()
    assert audit_month(accounts(tmp_path, now, "novembre.csv"), "2026-11-01", history, tmp_path / "o2") == 0
    issues = [i for i in report(tmp_path / "o2")["input_issues"] if "couverture en forte baisse" in i["reason"]]
    err = capsys.readouterr().err
    if flagged:  # 30 % fewer accounts than last month: over the 20 % threshold
        (issue,) = issues
        assert issue["severity"] == "error" and "7 comptes rattachés contre 10" in issue["reason"]
        assert "Attention : couverture en forte baisse" in err
    else:  # exactly 20 % fewer: within the threshold
        assert issues == [] and "couverture" not in err


def test_conformity_counts_the_guides_rules_apart_from_the_campaign_follow_up(tmp_path):
    # An establishment with nothing to fix on the guide's rules, whose review was sent and not returned:
    # REV-02 the month after, and it is still « conforme » on the guide (the campaign is followed apart).
    history = tmp_path / "suivi.sqlite"
    export = accounts(tmp_path, 2)
    audit_month(export, "2026-10-01", history, tmp_path / "o1", "--per-establishment")
    with open_history(history) as opened:
        opened.record_delivery("2026-10-01", "130000011", {"ref0@exemple.fr": ("sent", "250")},
                               pd.Timestamp("2026-10-20"))
    audit_month(export, "2026-11-01", history, tmp_path / "o2", "--format", "json,html,xlsx", "--fail-on", "jamais")
    assert [f["rule"] for f in report(tmp_path / "o2")["findings"]] == ["REV-02"]
    page = (tmp_path / "o2" / "audit.html").read_text(encoding="utf-8")
    assert "<strong>100&nbsp;%</strong> conformes" in page
    intro = [row[0] for row in load_workbook(tmp_path / "o2" / "audit.xlsx")["Vue d'ensemble"].iter_rows(
        max_row=3, values_only=True)]
    assert any("dont 1 conforme à la fiche pratique (100\u00a0%, hors suivi de la campagne)" in (t or "")
               for t in intro)


def test_coverage_guard_watches_the_establishments_that_have_accounts(tmp_path, capsys):
    # Ten establishments, five of them with many accounts; next month the same number of accounts sits in
    # five establishments only: the accounts are all there, the establishments with accounts halve.
    history = tmp_path / "suivi.sqlite"
    places = ["130000011", "130000029", "130000037", "130000045", "130000052", "830000014", "830000022",
              "830000030", "830000048", "830000055"]
    spread = [account_row(login=f"u{n}", roles=REFERENTS, finess=f) for n, f in enumerate(places * 2)]
    packed = [account_row(login=f"u{n}", roles=REFERENTS, finess=places[n % 5]) for n in range(20)]
    for name, rows, as_of in (("octobre", spread, "2026-10-01"), ("novembre", packed, "2026-11-01")):
        (tmp_path / name).mkdir()
        audit_month(write_csv(tmp_path / name / "comptes.csv", rows), as_of, history, tmp_path / f"o-{name}",
                    "--fail-on", "jamais")
    issues = [i["reason"] for i in report(tmp_path / "o-novembre")["input_issues"] if "couverture" in i["reason"]]
    assert len(issues) == 1 and "5 établissements ayant des comptes contre 10" in issues[0]


def test_a_finding_new_in_a_rerun_month_stays_new(tmp_path):
    # November audited, then audited again from a corrected export that shows a new stale account: the run
    # it replaces is not « seen before », so the finding is « nouveau », not « réapparu ».
    history = tmp_path / "suivi.sqlite"
    audit_month(accounts(tmp_path, 2, "octobre.csv"), "2026-10-01", history, tmp_path / "o1")
    audit_month(accounts(tmp_path, 2, "novembre.csv"), "2026-11-01", history, tmp_path / "o2")
    audit_month(accounts(tmp_path, 3, "corrige.csv"), "2026-11-01", history, tmp_path / "o3", "--format", "json")
    (stale,) = [f for f in report(tmp_path / "o3")["findings"] if f["account"] == "user0"]
    assert stale["status"] == "nouveau" and stale["first_seen"] == "2026-11-01"


def test_fail_on_new_fails_only_on_findings_absent_from_the_previous_audit(tmp_path):
    history = tmp_path / "suivi.sqlite"
    export = accounts(tmp_path, 3)  # a stale account: ACC-01 (warning)
    assert audit_month(export, "2026-10-01", history, tmp_path / "o1", "--fail-on", "warning", "--fail-on-new") == 1
    assert audit_month(export, "2026-11-01", history, tmp_path / "o2", "--fail-on", "warning") == 1
    assert audit_month(export, "2026-12-01", history, tmp_path / "o3", "--fail-on", "warning", "--fail-on-new",
                       "--format", "json,junit") == 0
    junit = ET.parse(tmp_path / "o3" / "junit.xml")
    assert not list(junit.iter("failure"))
    single = write_csv(export, [account_row(login="ref0", roles=REFERENTS),
                                account_row(login="user0", roles="IAM - MSPH - Statistiques ESMS (IAM)",
                                            last_login="01/01/2025")])
    assert audit_month(single, "2027-01-01", history, tmp_path / "o4", "--fail-on-new") == 1  # REF-01 is new
    assert main(["run", str(export), "--out", str(tmp_path / "o5"), "--fail-on-new"]) == 2  # needs --history


def test_same_date_replaces_and_an_older_month_compares_with_the_one_before_it(tmp_path, capsys):
    history = tmp_path / "suivi.sqlite"
    export = accounts(tmp_path, 3)
    for as_of in ("2026-09-01", "2026-11-01"):
        audit_month(export, as_of, history, tmp_path / as_of)
    capsys.readouterr()
    audit_month(export, "2026-11-01", history, tmp_path / "again")
    assert "était déjà dans l'historique : il a été remplacé" in capsys.readouterr().out
    audit_month(export, "2026-10-01", history, tmp_path / "late")
    assert report(tmp_path / "late")["follow_up"]["previous_as_of"] == "2026-09-01"
    with sqlite3.connect(history) as db:
        assert db.execute("SELECT as_of FROM runs ORDER BY as_of").fetchall() == [
            ("2026-09-01",), ("2026-10-01",), ("2026-11-01",)]


def test_retention_purges_runs_older_than_n_months(tmp_path, capsys):
    history = tmp_path / "suivi.sqlite"
    export = accounts(tmp_path, 3)
    for as_of in ("2026-01-01", "2026-02-01", "2026-04-01"):
        audit_month(export, as_of, history, tmp_path / as_of, "--retention-months", "2")
        if as_of != "2026-04-01":  # each month's campaign traces: journal, an answer, a draft, the portal's
            with open_history(history) as opened:
                opened.record_delivery(as_of, "130000011", {"a@exemple.fr": ("sent", "250")}, None)
                opened.record_answer(as_of, "130000011", "r.xlsx", f"sha-{as_of}", None, 1,
                                     [("ref0", "Archiver", None)])
                opened.save_draft(pd.Timestamp(as_of).date(), "130000011", {}, "127.0.0.1")
    assert "Audits effacés de l'historique (conservation) : 2026-01-01" in capsys.readouterr().out
    with sqlite3.connect(history) as db:
        assert db.execute("SELECT as_of FROM runs ORDER BY as_of").fetchall() == [("2026-02-01",), ("2026-04-01",)]
        assert db.execute("SELECT count(*) FROM findings WHERE run_id NOT IN (SELECT id FROM runs)").fetchone() == (0,)
        for table in ("deliveries", "recipient_deliveries", "answers", "drafts", "portal_events"):
            assert {d for (d,) in db.execute(f"SELECT as_of FROM {table}")} == {"2026-02-01"}, table
        assert db.execute("SELECT count(*) FROM decisions").fetchone() == (1,)  # January's went with its answer


def test_history_is_readable_by_its_owner_only_whatever_the_umask(tmp_path):
    history = tmp_path / "suivi.sqlite"
    previous = os.umask(0o022)
    try:
        audit_month(accounts(tmp_path, 3), "2026-10-01", history, tmp_path / "o")
        with open_history(history) as opened:  # WAL files exist while it is open
            opened.runs()
            modes = {p.name: stat.S_IMODE(p.stat().st_mode) for p in tmp_path.glob("suivi.sqlite*")}
    finally:
        os.umask(previous)
    assert modes and set(modes.values()) == {0o600}, modes


def refused(tmp_path, history, capsys):
    before = history.read_bytes()
    code = audit_month(accounts(tmp_path, 3), "2026-11-01", history, tmp_path / "o")
    err = capsys.readouterr().err
    assert code == 2 and err.startswith("Erreur : ") and len(err.strip().splitlines()) == 1
    assert history.read_bytes() == before  # untouched
    return err


def test_a_file_that_is_not_a_history_is_refused_untouched(tmp_path, capsys):
    text = tmp_path / "notes.sqlite"
    text.write_text("mes notes\n", encoding="utf-8")
    assert "n'est pas un historique vt-audit" in refused(tmp_path, text, capsys)
    other = tmp_path / "autre.sqlite"
    with sqlite3.connect(other) as db:
        db.execute("CREATE TABLE clients (nom TEXT)")
    db.close()
    assert "n'est pas un historique vt-audit" in refused(tmp_path, other, capsys)


def test_a_file_that_claims_to_be_a_history_without_its_tables_is_refused_untouched(tmp_path, capsys):
    fake = tmp_path / "faux.sqlite"
    with sqlite3.connect(fake) as db:
        db.execute("PRAGMA application_id = 1448362325")  # "VTAU", vt-audit's
        db.execute("PRAGMA user_version = 3")
        db.execute("CREATE TABLE runs (id INTEGER)")
    db.close()
    err = refused(tmp_path, fake, capsys)
    assert "il lui manque des tables" in err and "findings" in err
    assert not fake.with_name("faux.sqlite-wal").exists()  # never switched to WAL


def test_control_characters_of_an_imported_report_never_reach_the_pages(tmp_path, sample_report):
    report = json.loads(json.dumps(sample_report))
    report["establishments"][0]["name"] = "IME \x1b[31mLes Oliviers\x07"
    finess = report["establishments"][0]["finess"]
    ghost = next(f for f in report["findings"] if f["finess"] == finess)  # resolved next month: shown with its
    report["findings"].append({**ghost, "key": ghost["key"] + ":parti", "subject": "PARTI \x1bJean"})  # name
    imported = tmp_path / "findings.json"
    imported.write_text(json.dumps(report), encoding="utf-8")
    history = tmp_path / "suivi.sqlite"
    assert main(["history", "import", str(imported), "--history", str(history)]) == 0
    assert audit_month(SAMPLES, "2026-11-01", history, tmp_path / "o", "--format", "html") in (0, 1)
    page = (tmp_path / "o" / "audit.html").read_text(encoding="utf-8")
    assert "PARTI Jean" in page and "\x1b" not in page and "\x07" not in page


def test_a_history_from_a_newer_version_or_corrupt_is_refused_untouched(tmp_path, capsys):
    history = tmp_path / "suivi.sqlite"
    audit_month(accounts(tmp_path, 3), "2026-10-01", history, tmp_path / "first")
    newer = tmp_path / "newer.sqlite"
    newer.write_bytes(history.read_bytes())
    with sqlite3.connect(newer) as db:
        db.execute("PRAGMA user_version = 99")
    db.close()
    assert "version plus récente" in refused(tmp_path, newer, capsys)
    corrupt = tmp_path / "corrupt.sqlite"
    data = bytearray(history.read_bytes())
    data[100:4096] = b"\xff" * (4096 - 100)  # the schema page
    corrupt.write_bytes(bytes(data))
    assert "corrompu" in refused(tmp_path, corrupt, capsys)


def test_a_second_run_on_the_same_history_stops_with_a_clear_error(tmp_path, capsys):
    history = tmp_path / "suivi.sqlite"
    audit_month(accounts(tmp_path, 3), "2026-10-01", history, tmp_path / "first")
    capsys.readouterr()
    with open_history(history):  # another run holds it
        code = audit_month(accounts(tmp_path, 3), "2026-11-01", history, tmp_path / "second")
    assert code == 2 and "utilisé par une autre exécution" in capsys.readouterr().err
    with sqlite3.connect(history) as db:
        assert db.execute("SELECT count(*) FROM runs").fetchone() == (1,)


KILLED_WHILE_RECORDING = """
import os, signal, sys
from auditor.history import store
from auditor.cli.commands import main

def die(*args):  # called inside the transaction, after every row is inserted
    os.kill(os.getpid(), signal.SIGKILL)

store.History._purge = die
main(["run", sys.argv[1], "--out", sys.argv[2], "--as-of", "2026-11-01", "--history", sys.argv[3], "--quiet"])
"""


def test_a_run_killed_while_recording_leaves_the_history_as_it_was(tmp_path):
    history = tmp_path / "suivi.sqlite"
    export = accounts(tmp_path, 3)
    audit_month(export, "2026-10-01", history, tmp_path / "first")
    with sqlite3.connect(history) as db:
        before = db.execute("SELECT * FROM findings").fetchall()
    db.close()
    killed = subprocess.run([sys.executable, "-c", KILLED_WHILE_RECORDING, str(export), str(tmp_path / "o"),
                             str(history)], cwd=ROOT, capture_output=True, text=True)
    assert killed.returncode == -9  # the process really died mid-transaction
    with sqlite3.connect(history) as db:
        assert db.execute("SELECT as_of FROM runs").fetchall() == [("2026-10-01",)]
        assert db.execute("SELECT * FROM findings").fetchall() == before
    db.close()
    assert audit_month(export, "2026-11-01", history, tmp_path / "after") == 0  # and still usable
    assert report(tmp_path / "after")["follow_up"]["previous_as_of"] == "2026-10-01"


def test_a_misspelt_follow_up_setting_is_refused_with_its_line(tmp_path, capsys):
    rules = tmp_path / "rules"
    subprocess.run(["cp", "-r", str(ROOT / "rules"), str(rules)], check=True)
    settings = rules / "catalogue" / "suivi.yaml"
    settings.write_text(settings.read_text(encoding="utf-8").replace("stale_months:", "stale_month:"),
                        encoding="utf-8")
    code = audit_month(SAMPLES, "2026-11-01", tmp_path / "suivi.sqlite", tmp_path / "o", "--rules", str(rules))
    err = capsys.readouterr().err
    assert code == 2 and "suivi.yaml" in err and "clé inconnue « stale_month »" in err and "ligne" in err


def test_findings_json_with_a_history_follows_the_schema(three_months):
    import jsonschema

    _, _, outputs = three_months
    schema = json.loads((ROOT / "reports" / "findings.schema.json").read_text(encoding="utf-8"))
    for out in outputs.values():
        jsonschema.validate(report(out), schema)


def test_findings_of_a_rule_not_evaluated_this_month_are_not_verified_never_resolved(tmp_path):
    # Month 1 with the staff file: ATT-01 finds a professional without an account. Month 2 without it:
    # ATT-01 is not evaluated, so its finding is « non vérifié », not « résolu ».
    history, accounts = tmp_path / "suivi.sqlite", SAMPLES / "comptes.csv"
    assert main(["run", str(accounts), str(SAMPLES / "personnels.csv"), "--out", str(tmp_path / "o1"), "--as-of",
                 "2026-10-01", "--format", "json", "--fail-on", "jamais", "--history", str(history)]) == 0
    first = {f["key"] for f in report(tmp_path / "o1")["findings"] if f["rule"] == "ATT-01"}
    assert first
    assert main(["run", str(accounts), "--out", str(tmp_path / "o2"), "--as-of", "2026-11-01", "--format", "json",
                 "--fail-on", "jamais", "--history", str(history)]) == 0
    follow_up = report(tmp_path / "o2")["follow_up"]
    assert {f["key"] for f in follow_up["unverified"] if f["rule"] == "ATT-01"} == first
    # Their establishments are in this export: no « absent since ».
    assert {f["missing_since"] for f in follow_up["unverified"] if f["rule"] == "ATT-01"} == {None}
    assert not [f for f in follow_up["resolved"] if f["rule"] == "ATT-01"]


def test_a_finding_stays_open_while_its_establishment_is_missing_and_persists_when_it_is_back(tmp_path):
    history = tmp_path / "suivi.sqlite"
    here = [account_row(login=f"ref{n}", roles=REFERENTS) for n in range(2)]
    there = [account_row(login=f"b{n}", roles=REFERENTS, finess="830000014") for n in range(2)]
    there.append(account_row(login="parti", finess="830000014", roles="IAM - MSPH - Statistiques ESMS (IAM)",
                             last_login="01/01/2025"))  # ACC-01 there
    both, alone = write_csv(tmp_path / "deux.csv", here + there), write_csv(tmp_path / "un.csv", here)
    months = [(both, "2026-09-01"), (alone, "2026-10-01"), (alone, "2026-11-01"), (alone, "2026-12-01"),
              (both, "2027-01-01")]
    for export, as_of in months:
        assert audit_month(export, as_of, history, tmp_path / as_of, "--format", "json,html", "--fail-on",
                           "jamais") == 0
    key = "ACC-01:830000014:parti"
    for as_of in ("2026-10-01", "2026-11-01", "2026-12-01"):  # missing three months running: not verified
        (unverified,) = report(tmp_path / as_of)["follow_up"]["unverified"]  # each time, missing since October
        assert (unverified["key"], unverified["missing_since"]) == (key, "2026-10-01")
    page = (tmp_path / "2026-12-01" / "audit.html").read_text(encoding="utf-8")
    assert "absent de l'export depuis l'audit du 01/10/2026" in page
    (back,) = [f for f in report(tmp_path / "2027-01-01")["findings"] if f["key"] == key]
    assert (back["status"], back["first_seen"], back["age_months"]) == ("persistant", "2026-09-01", 4)


def test_counts_past_a_thousand_are_written_with_the_french_thousands_separator(tmp_path, capsys):
    data, out = tmp_path / "region", tmp_path / "out"
    write_region(generate(120, seed=5, staff=(12, 24), dirt=0.55), data)
    audit_month(data, "2026-11-01", tmp_path / "suivi.sqlite", out, "--format", "html,json", "--fail-on", "jamais")
    new = len(report(out)["findings"])
    assert new >= 1_000
    written = f"{new // 1000}\u202f{new % 1000:03d} nouveaux"  # « 1 208 », not « 1208 »
    assert written in capsys.readouterr().out
    assert written in (out / "audit.html").read_text(encoding="utf-8")


def test_the_trend_chart_writes_its_counts_with_the_thousands_separator():
    from auditor.render.trend_chart import trend_svg

    trend = pd.DataFrame({"as_of": ["2026-10-01", "2026-11-01"], "error": [816, 816], "warning": [6_500, 7_142],
                          "info": [2_060, 2_060]})
    chart = str(trend_svg(trend, "Constats de la région"))
    assert ">7\u202f142</text>" in chart  # the axis' top
    assert "avertissements (7\u202f142)" in chart and "informations (2\u202f060)" in chart  # the legend
