"""Vectorised helpers over frames that several modules need."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

# Text columns are Arrow-backed: their string operations run in C++ (about 10x
# faster than Python objects on a million rows), with pandas 2 and 3 alike.
TEXT = pd.StringDtype("pyarrow")


def is_in(values: pd.Series, candidates) -> np.ndarray:
    """`values.isin(candidates)` for text, in Arrow.

    pandas converts each candidate to a Python string first: 400,000 keys take
    seconds that way, milliseconds here.
    """
    value_set = pa.array(list(candidates) if isinstance(candidates, (set, frozenset)) else candidates,
                         type=pa.large_string())
    found = pc.is_in(pa.array(values, type=pa.large_string(), from_pandas=True), value_set=value_set)
    return found.fill_null(False).to_numpy(zero_copy_only=False)


def lookup(values: pd.Series, mapping: dict | pd.Series) -> pd.Series:
    """`values.map(mapping)` for text keys, hashed in Arrow; NA where a value has no entry.

    pandas maps a text column through Python objects: a tenth of a second per million rows and
    per map, which the checks do dozens of times. The result has the mapping's values' type.
    """
    if isinstance(mapping, dict):
        mapping = pd.Series(list(mapping.values()), index=pd.Index(list(mapping.keys()), dtype=object), dtype=object)
    mapping = mapping[~mapping.index.duplicated()]  # a map uses the first entry of a key
    keys = pa.array(mapping.index.astype(object), type=pa.large_string(), from_pandas=True)
    positions = pc.index_in(pa.array(values, type=pa.large_string(), from_pandas=True), value_set=keys)
    if mapping.dtype == object:  # a dict's values: text stays TEXT
        entries = mapping.tolist()
        mapping = pd.Series(entries, dtype=TEXT if all(isinstance(e, str) for e in entries) else None)
    targets = mapping.array
    found = targets.take(positions.fill_null(-1).to_numpy(zero_copy_only=False), allow_fill=True)
    return pd.Series(found, index=values.index, name=values.name)


def row_codes(*columns: pd.Series | np.ndarray) -> np.ndarray:
    """One integer per row for its values in `columns` (equal values, equal integers, numbered in order
    of first appearance), -1 where one of them is NA. A column may be codes already (an array of ints).

    Text keys hashed once: grouping or de-duplicating on the integers then costs a few
    milliseconds where pandas hashes the text again for each operation.
    """
    codes = None
    for column in columns:
        part, uniques = pd.factorize(column)
        if codes is None:  # factorize numbers in order of first appearance, -1 for NA: as wanted
            codes = part.astype(np.int64, copy=False)
            continue
        known = (codes >= 0) & (part >= 0)
        codes[~known] = -1
        codes[known] = pd.factorize(codes[known] * len(uniques) + part[known])[0]  # dense again: no overflow
    return codes


DISTINCT_SAMPLE = 10_000  # rows looked at to tell a column of repeated values from one of distinct values
MOSTLY_DISTINCT = 0.98


def mostly_distinct(values: pd.Series) -> bool:
    """Whether a long column holds mostly distinct values (logins, e-mails, keys), judged on a sample:
    numbering its values would then cost more than it saves."""
    if len(values) <= DISTINCT_SAMPLE:
        return False
    # Rows drawn at random (and always the same): rows come grouped by establishment, and every
    # hundredth would show each FINESS once. Among 10,000 rows drawn from 40,000 values, 88 %
    # are distinct; from 800,000 values, 99 %.
    sample = values.iloc[np.random.default_rng(0).integers(0, len(values), DISTINCT_SAMPLE)]
    return sample.nunique(dropna=False) > MOSTLY_DISTINCT * DISTINCT_SAMPLE


def python_values(values: pd.Series) -> list:
    """The column as a list of Python values (None for NA), one object per distinct value.

    400,000 findings repeat a few thousand messages and names: shared, their texts take 90 MB
    instead of 290 MB (and an Arrow column iterates slowly, value by value).
    """
    if mostly_distinct(values):
        return values.to_numpy(dtype=object, na_value=None).tolist()
    codes, uniques = pd.factorize(values)
    distinct = uniques.to_numpy(dtype=object, na_value=None).tolist() + [None]  # code -1 (NA) reads the last
    return list(map(distinct.__getitem__, codes.tolist()))


def python_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """The frame with its values as Python objects (python_values), its attrs kept."""
    objects = pd.DataFrame({column: python_values(frame[column]) for column in frame.columns}, dtype=object)
    objects.attrs = dict(frame.attrs)
    return objects


def records(frame: pd.DataFrame) -> list[dict]:
    """frame.to_dict("records"), the same values, made column by column: a third of its time on the
    score of rows a director's page shows (pandas reads each row through its columns)."""
    columns = list(frame.columns)
    return [dict(zip(columns, values)) for values in zip(*(frame[column].tolist() for column in columns))]


def longer_than(column: pa.Array | pa.ChunkedArray, limit: int) -> bool:
    """Whether some cell has more than `limit` characters; counted in characters only where the
    longest in bytes (never fewer than characters) passes the limit, which is one fast maximum."""
    if (pc.max(pc.binary_length(column)).as_py() or 0) <= limit:
        return False
    return (pc.max(pc.utf8_length(column)).as_py() or 0) > limit


def as_text(values) -> pd.Series:
    """A column as TEXT; NA where absent (a `map` that found nothing gives floats)."""
    return pd.Series(values).astype(TEXT) if not isinstance(values, pd.Series) else values.astype(TEXT)


WIDE_GROUP = 64  # past this many values in one group, join_within joins group by group


def join_within(frame: pd.DataFrame, keys: str | list[str], column: str, sep: str) -> pd.Series:
    """Per group of `keys`, the values of `column` joined with `sep`, in the frame's order.

    The same as `frame.groupby(keys)[column].agg(sep.join)`, without a Python
    call per group: values are spread into columns by their rank in the group
    (a handful per group) and the columns are concatenated.
    """
    keys = [keys] if isinstance(keys, str) else list(keys)
    data = frame[[*keys, column]].dropna(subset=[column])
    if data.empty:
        index = (pd.Index([], name=keys[0]) if len(keys) == 1
                 else pd.MultiIndex.from_arrays([[] for _ in keys], names=keys))
        return pd.Series([], index=index, dtype=TEXT, name=column)
    data = data.assign(_rank=data.groupby(keys, sort=False).cumcount())
    if data["_rank"].max() >= WIDE_GROUP:
        # One group of thousands (a placeholder e-mail shared by 10,000 accounts) would make the
        # spread below a groups × largest-group grid: join group by group instead, linear in values.
        return data.groupby(keys, sort=True)[column].agg(lambda values: sep.join(values.astype(str))).astype(
            TEXT).rename(column)
    wide = data.pivot(index=keys, columns="_rank", values=column)
    joined = wide[0].astype(TEXT)
    for rank in wide.columns[1:]:
        joined = joined + (sep + wide[rank].astype(TEXT)).fillna("")
    return joined.rename(column)
