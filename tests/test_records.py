"""Records made from columns are the records the constructor makes (findings, input issues)."""

import orjson
import pytest

from auditor.model import records
from auditor.model.findings import Finding
from auditor.model.issues import InputIssue


def test_input_issues_from_columns_equal_the_constructed_ones_and_write_the_same_json():
    columns = {"line": [12, None], "reason": ["date illisible", "FINESS absent"], "value": ["31/02/2026", None],
               "finess": ["130000011", None]}
    made = records.from_columns(InputIssue, columns, file="comptes.csv", column="Date", severity="error",
                                dropped_rows=1)
    expected = [InputIssue("comptes.csv", 12, "Date", "date illisible", "error", "31/02/2026", "130000011", 1),
                InputIssue("comptes.csv", None, "Date", "FINESS absent", "error", None, None, 1)]
    assert made == expected
    assert orjson.dumps(made) == orjson.dumps(expected)  # same fields, in the class's order


def test_findings_from_columns_take_the_defaults_of_the_fields_not_given():
    (finding,) = Finding.from_columns({"rule": ["REF-01"], "severity": ["error"], "finess": ["130000011"],
                                       "establishment": ["EHPAD"], "account": [None], "subject": ["EHPAD"],
                                       "message": ["0 référent"], "key": ["REF-01:130000011"]})
    assert finding == Finding("REF-01", "error", "130000011", "EHPAD", None, "EHPAD", "0 référent",
                              "REF-01:130000011")
    assert finding.waived is False and finding.status is None


def test_a_field_without_column_constant_or_default_is_refused():
    with pytest.raises(ValueError, match="InputIssue.reason"):
        records.from_columns(InputIssue, {"line": [1]}, file="f.csv", column=None)


def test_an_unknown_field_is_refused():
    with pytest.raises(ValueError, match="no field lign"):
        records.from_columns(InputIssue, {"lign": [1], "reason": ["x"]}, file="f.csv", line=None, column=None)


def test_a_finding_key_is_the_same_one_by_one_and_over_columns():
    import pandas as pd

    from auditor.model.findings import finding_key, finding_keys
    from auditor.model.frames import TEXT

    finess = pd.Series(["130000011", "130000011", "2A0000011"], dtype=TEXT)
    subjects = pd.Series(["jdupont+ime", "", pd.NA], dtype=TEXT)
    expected = [finding_key("REF-01", f, None if pd.isna(s) else s) for f, s in zip(finess, subjects)]
    assert list(finding_keys("REF-01", finess, subjects)) == expected == [
        "REF-01:130000011:jdupont+ime", "REF-01:130000011", "REF-01:2A0000011"]


def test_statuses_read_in_french_singular_and_plural():
    from auditor.model.enums import Status

    assert [status.labels for status in Status] == [
        ("nouveau", "nouveaux"), ("persistant", "persistants"), ("réapparu", "réapparus"), ("résolu", "résolus"),
        ("non vérifié", "non vérifiés")]
    assert f"{Status.NEW}" == "nouveau" and {"nouveau": 1}[Status.NEW] == 1  # a member is its published value
