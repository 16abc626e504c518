"""Progress reporting for long runs, kept out of the library's logic.

Library stages accept `progress(iterable, total, label)`, which returns the
iterable (wrapped or not). The CLI passes a tqdm bar on stderr (cli/messages.py), shown only
on a terminal and outside CI; the library's default shows nothing.
"""

from __future__ import annotations

from typing import Callable, Iterable, TypeVar

T = TypeVar("T")
Progress = Callable[[Iterable[T], int, str], Iterable[T]]


def silent(iterable: Iterable[T], total: int, label: str) -> Iterable[T]:
    return iterable
