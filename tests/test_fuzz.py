"""Property-based: any table or any bytes ends in a result or a clean error, and no row is lost.

Derandomised, so every run tries the same cases (deterministic CI).
"""

import csv
import io
import tempfile
from pathlib import Path

import pandas as pd
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from auditor.api import load_rulebook
from auditor.engine import evaluate as engine
from auditor.inputs.load import load_inputs
from auditor.model.issues import AuditError
from tests.helpers import ACCOUNT_HEADER

AS_OF = pd.Timestamp("2026-11-01")
CATALOGUE, RULES = load_rulebook()
FUZZ = settings(max_examples=80, deadline=None, derandomize=True,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

cell_text = st.text(alphabet="aéÉz09 ;,|\t\n\"'=<>@-/.|", max_size=12)
finess = st.sampled_from(["130000011", "830000014", "13 000 001 1", "40000010", "1,3E+08", "", "ABC", "2A0000001"])
dates = st.sampled_from(["01/10/2026", "2026-10-01", "46000", "31/02/2026", "hier", "", "01/01/2030"])
roles = st.sampled_from(["Référent Établissement", "VT PH - Référent ESMS | Référent Établissement", "",
                         "Handicap - ESMS Médical, Paramédical, Psychologue\nHandicap - ESMS", "Inconnu; Autre"])
statuses = st.sampled_from(["Actif", "Archivé", "bloqué", "??", ""])


@st.composite
def account_rows(draw):
    row = [draw(cell_text) for _ in ACCOUNT_HEADER]
    row[0] = draw(st.one_of(st.sampled_from(["a", "b", "c", ""]), cell_text))
    row[ACCOUNT_HEADER.index("FINESS ET")] = draw(finess)
    row[ACCOUNT_HEADER.index("Rôles")] = draw(roles)
    row[ACCOUNT_HEADER.index("Statut")] = draw(statuses)
    row[ACCOUNT_HEADER.index("Date de création")] = draw(dates)
    row[ACCOUNT_HEADER.index("Dernière connexion")] = draw(dates)
    return row


@FUZZ
@given(rows=st.lists(st.one_of(account_rows(), st.just([""] * len(ACCOUNT_HEADER)),
                               st.just([" "] * len(ACCOUNT_HEADER)), st.just(ACCOUNT_HEADER)), max_size=25),
       separator=st.sampled_from([";", ",", "|", "\t"]),
       encoding=st.sampled_from(["utf-8", "utf-8-sig", "utf-16"]))
def test_every_row_is_read_or_reported_and_the_engine_always_ends(rows, separator, encoding):
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, delimiter=separator, lineterminator="\r\n")
    writer.writerow(ACCOUNT_HEADER)
    writer.writerows(rows)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "comptes.csv"
        path.write_bytes(buffer.getvalue().encode(encoding))
        inputs = load_inputs([path], CATALOGUE, AS_OF)
    assert len(inputs.accounts) + sum(i.dropped_rows for i in inputs.issues) == len(rows)
    result = engine.run(RULES, inputs, CATALOGUE, AS_OF)
    assert {f.rule for f in result.findings} <= {r.code for r in RULES}
    assert len(result.access_review) <= len(inputs.accounts)


@FUZZ
@given(content=st.one_of(
    st.binary(max_size=3000),
    st.binary(max_size=3000).map(lambda b: b"PK\x03\x04" + b),
    st.text(max_size=2000).map(lambda t: (";".join(ACCOUNT_HEADER) + "\r\n" + t).encode("utf-8")),
))
def test_any_bytes_end_in_a_result_or_a_clean_error(content):
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "export.csv"
        path.write_bytes(content)
        try:
            inputs = load_inputs([path], CATALOGUE, AS_OF)
        except AuditError as error:
            assert str(path) in str(error) or "aucun fichier de comptes" in str(error)
            return
    engine.run(RULES, inputs, CATALOGUE, AS_OF)


@FUZZ
@given(st.lists(st.sampled_from([0x41, 0x7F, 0x80, 0x92, 0xA9, 0xBF, 0xC0, 0xC1, 0xC2, 0xC3, 0xDF, 0xE2, 0xF4, 0xF5]),
                max_size=12).map(bytes) | st.binary(max_size=40))
@example(b"\xc2\x80")  # the lowest lead byte before the lowest continuation byte
@example(b"a\xf4\xbf")  # the highest of each
@example(b"\xc1\xbf\xf5\x80")  # neither is a lead byte
def test_the_encoding_guess_finds_utf8_characters_as_the_pattern_does(data):
    from auditor.inputs.csv_file import _UTF8_MULTIBYTE, _holds_utf8_sequence

    # The scan by blocks must say what the pattern over every byte says, across blocks' borders too.
    expected = bool(_UTF8_MULTIBYTE.search(data))
    assert _holds_utf8_sequence(data) == expected
    assert _holds_utf8_sequence(data, block=3) == expected
