"""Progress reporting for long runs, kept out of the library's logic.

Library stages accept `progress(iterable, total, label)`, which returns the
iterable (wrapped or not). The CLI passes a tqdm bar on stderr, shown only on
a terminal and outside CI; the library's default shows nothing.
"""

from __future__ import annotations

import os
import sys
from typing import Callable, Iterable, TypeVar

T = TypeVar("T")
Progress = Callable[[Iterable[T], int, str], Iterable[T]]


def silent(iterable: Iterable[T], total: int, label: str) -> Iterable[T]:
    return iterable


def terminal_progress(quiet: bool = False) -> Progress:
    """A tqdm bar on stderr when a person watches: a terminal, not CI, not --quiet."""
    if quiet or os.environ.get("CI") or not sys.stderr.isatty():
        return silent
    from tqdm import tqdm

    def bar(iterable: Iterable[T], total: int, label: str) -> Iterable[T]:
        return tqdm(iterable, total=total, desc=label, unit="", leave=False, file=sys.stderr,
                    dynamic_ncols=True)

    return bar
