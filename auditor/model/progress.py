"""Progress reporting for long runs, kept out of the library's logic.

Library stages accept `progress(iterable, total, label)`, which returns the
iterable (wrapped or not). The CLI passes a tqdm bar on stderr (cli/messages.py), shown only
on a terminal and outside CI; the library's default shows nothing.
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import Callable, Iterable, TypeVar

T = TypeVar("T")
Progress = Callable[[Iterable[T], int, str], Iterable[T]]


def silent(iterable: Iterable[T], total: int, label: str) -> Iterable[T]:
    return iterable


# What a long task has done so far, said if the process is interrupted (cli/launch.py's handler): a
# campaign says how many reports went and that a new `send` resumes. One at a time.
_interrupt_note: Callable[[], str] | None = None


@contextmanager
def note_if_interrupted(note: Callable[[], str]):
    global _interrupt_note
    _interrupt_note = note
    try:
        yield
    finally:
        _interrupt_note = None


def interrupt_note() -> str | None:
    return _interrupt_note() if _interrupt_note is not None else None
