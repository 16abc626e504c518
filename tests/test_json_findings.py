"""findings.json written from the findings' columns: the same bytes as from the records."""

import json

import orjson
import pandas as pd
import pytest

from auditor.api import AuditOptions, ReportOptions, audit, write_reports
from auditor.engine.evaluate import Evaluation
from auditor.model.findings import FINDING_COLUMNS
from auditor.model.frames import TEXT
from auditor.render import json_findings
from auditor.render.json_findings import finding_rows
from auditor.run import Run
from tests.helpers import account_row, write_csv

# Texts JSON escapes (quote, backslash, every control character), and texts it writes as they are.
AWKWARD = ['Foyer "Les Pins"', "C:\\partage\\comptes", "ligne 1\nligne 2", "tab\tulation", "retour\r",
           "nul\x00 et échappement\x1b", "\x1f\x7f", "Léa O’Brien « cadre »", "emoji 😀", "séparateur\u2028ligne",
           "", "</script>"]


def result_of(table: pd.DataFrame) -> Run:
    return Run(Evaluation(pd.Timestamp("2026-11-01"), [], table, {}, pd.DataFrame(), []), [])


def table_of(rows: int, **columns) -> pd.DataFrame:
    table = pd.DataFrame({name: [f"{name} {n}" for n in range(rows)] for name in FINDING_COLUMNS}, dtype=TEXT)
    for name, values in columns.items():
        table[name] = pd.array(values, dtype=TEXT)
    return table


TEXT_COLUMNS = ["establishment", "account", "subject", "message", "key"]


@pytest.mark.parametrize("text", AWKWARD)
def test_findings_written_from_columns_are_the_bytes_orjson_writes_for_the_records(text):
    table = table_of(3, **{name: ["simple", text, "simple"] for name in TEXT_COLUMNS})
    written = b"[" + b"".join(finding_rows(table)) + b"]"
    assert written == orjson.dumps(result_of(table).findings)
    assert all(json.loads(written)[1][name] == text for name in TEXT_COLUMNS)


@pytest.mark.parametrize("column", TEXT_COLUMNS)
def test_a_missing_value_is_written_null_as_from_the_records(column):
    table = table_of(3, **{column: ["un", None, "trois"]})  # an account-less finding has no account
    written = b"[" + b"".join(finding_rows(table)) + b"]"
    assert written == orjson.dumps(result_of(table).findings)
    assert [f[column] for f in json.loads(written)] == ["un", None, "trois"]


def test_no_finding_is_an_empty_list():
    assert b"".join(finding_rows(pd.DataFrame({name: pd.Series(dtype=TEXT) for name in FINDING_COLUMNS}))) == b""


def test_findings_joined_in_parts_are_written_as_in_one(monkeypatch):
    # Seven findings in parts of two: an escaped text and a missing account in a later part.
    table = table_of(7, account=["a0", "a1", "a2", "a3", "a4", None, "a6"],
                     message=["un", "deux", "trois", "quatre", 'cinq "entre guillemets"', "six", "sept\n"])
    in_one = b"".join(finding_rows(table))
    monkeypatch.setattr(json_findings, "PART_ROWS", 2)
    parts = list(finding_rows(table))
    assert len(parts) == 4 and b"".join(parts) == in_one
    assert b"[" + in_one + b"]" == orjson.dumps(result_of(table).findings)


@pytest.fixture()
def awkward_run(tmp_path):
    """An audit whose findings name people with quotes, backslashes and accents, not yet made records."""
    rows = [account_row(login=f"u{n}", last_name=name, status="Inactif", last_login="01/01/2020")
            for n, name in enumerate(['DUPONT "dit le grand"', "MARTIN\\BERT", "Léa O’BRIEN"])]
    exports = write_csv(tmp_path / "comptes.csv", rows)
    return audit(AuditOptions((exports,), "2026-11-01"))


def test_a_json_only_run_writes_what_a_run_with_records_writes(awkward_run, tmp_path):
    write_reports(awkward_run, ReportOptions(tmp_path / "colonnes", ("json",)))
    assert not awkward_run.records_made  # written from the columns
    from_columns = (tmp_path / "colonnes" / "findings.json").read_bytes()
    assert len(awkward_run.findings) > 0 and awkward_run.records_made
    write_reports(awkward_run, ReportOptions(tmp_path / "objets", ("json",)))
    assert from_columns == (tmp_path / "objets" / "findings.json").read_bytes()
    subjects = {f["subject"] for f in json.loads(from_columns)["findings"] if f["rule"] == "ACC-01"}
    assert subjects == {'DUPONT "DIT LE GRAND" Marie', "MARTIN\\BERT Marie", "LÉA O’BRIEN Marie"}


@pytest.mark.parametrize("fail_on", ["error", "warning", "info", "never"])
def test_the_exit_code_is_the_same_from_columns_and_from_records(awkward_run, fail_on):
    from_columns = awkward_run.fails(fail_on)
    counts = awkward_run.severity_counts()
    assert not awkward_run.records_made
    assert len(awkward_run.findings) == sum(counts.values()) and awkward_run.records_made
    assert awkward_run.fails(fail_on) == from_columns
    assert awkward_run.severity_counts() == counts
