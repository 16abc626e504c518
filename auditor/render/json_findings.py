"""findings.json's list of findings written from the findings' columns, byte for byte as orjson writes
the Finding records.

A national run has 400,000 findings: making them as Python records only for orjson to write them took
0.5 s (findings and writing); joined column by column in Arrow, they take a fraction of that. Records
are still made when something needs them (waivers, the follow-up, every other report).
"""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import fields

import numpy as np
import orjson
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from ..model.findings import Finding

# What JSON writes as an escape: the quote, the backslash and the control characters.
_ESCAPED_PATTERN = '["\\\\\x00-\x1f]'


PART_ROWS = 100_000  # findings joined at once: a national run's in four parts


def finding_rows(table: pd.DataFrame) -> Iterator[memoryview]:
    """The findings of `table` (a column per field of Finding that the engine gives, in report order) as
    the items of a JSON list, separated by commas, without the brackets. The other fields are written
    with their defaults: the columns are the findings before any waiver or follow-up mark.

    In parts of PART_ROWS findings, each made by Arrow (without the interpreter lock) while the caller
    writes the one before: writing a national run's 160 MB takes as long as joining them.
    """
    maker = ThreadPoolExecutor(1)
    try:
        parts = [maker.submit(_joined, table.iloc[start:start + PART_ROWS])  # made in order
                 for start in range(0, len(table), PART_ROWS)]
        for number, part in enumerate(parts):
            rows = part.result()
            yield rows if number else rows[1:]  # every finding is written after a comma but the first
    finally:
        maker.shutdown(cancel_futures=True)


def _joined(table: pd.DataFrame) -> memoryview:
    """The findings of `table`, each written after a comma."""
    literal = ",{"
    parts: list = []  # literal text and columns, joined row by row
    for number, spec in enumerate(fields(Finding)):
        key = ("," if number else "") + orjson.dumps(spec.name).decode() + ":"
        if spec.name not in table:
            literal += key + orjson.dumps(spec.default).decode()
            continue
        text = _json_text(table[spec.name])
        if text.null_count:  # null, or the text between quotes
            quoted = pc.binary_join_element_wise(_text('"'), text, _text('"'), _text(""))
            parts += [literal + key, pc.if_else(pc.is_valid(text), quoted, _text("null"))]
            literal = ""
        else:
            parts += [literal + key + '"', text]
            literal = '"'
    parts.append(literal + "}")
    rows = pc.binary_join_element_wise(*[_text(p) if isinstance(p, str) else p for p in parts], _text(""))
    return memoryview(_value_bytes(rows))


def _text(literal: str) -> pa.Scalar:
    return pa.scalar(literal, pa.large_string())  # the columns' type: Arrow joins only texts of one type


def _json_text(column: pd.Series) -> pa.LargeStringArray:
    """Each value as it is written between the quotes of a JSON string (NA stays null): as it is, but
    where it holds a character to escape; those few values are escaped by orjson itself."""
    text = pa.array(column.array, type=pa.large_string(), from_pandas=True)
    if isinstance(text, pa.ChunkedArray):
        text = text.combine_chunks()
    # A few passes over the values' bytes say whether any needs escaping (nearly never).
    if not _holds_escaped(_value_bytes(text)):
        return text
    needs = pc.match_substring_regex(text, _ESCAPED_PATTERN).fill_null(False)
    escaped = [orjson.dumps(value)[1:-1].decode() for value in text.filter(needs).to_pylist()]
    return pc.replace_with_mask(text, needs, pa.array(escaped, type=pa.large_string()))


def _value_bytes(text: pa.LargeStringArray) -> np.ndarray:
    """The bytes of the values, one after the other, without a copy (a slice of a column shares the
    column's buffers: only its own part of them)."""
    if len(text) == 0 or text.buffers()[2] is None:
        return np.zeros(0, dtype=np.uint8)
    offsets = np.frombuffer(text.buffers()[1], dtype=np.int64)
    return np.frombuffer(text.buffers()[2], dtype=np.uint8)[offsets[text.offset]:offsets[text.offset + len(text)]]


def _holds_escaped(data: np.ndarray) -> bool:
    """Whether these UTF-8 bytes hold a character JSON escapes (the bytes of a character written on
    several bytes are all 0x80 or over); three comparisons take a sixth of a table lookup's time."""
    return bool((data < 0x20).any() or (data == ord('"')).any() or (data == ord("\\")).any())
