"""The `vt-audit` process: its signal handlers are set before anything heavy is imported.

Importing pandas and the rest takes a second or two; a Ctrl-C, SIGTERM or SIGHUP in that time
(or at any later moment) ends the run with one French line, no traceback, and no report left
half-written.
"""

from __future__ import annotations

import gc
import logging
import multiprocessing
import os
import signal
import sys
from typing import NoReturn

from ..files import discard_pending
from ..model.progress import interrupt_note

HANDLED_SIGNALS = ("SIGTERM", "SIGINT", "SIGHUP")  # SIGHUP: the terminal closed; not on Windows


def _interrupt(signum, frame):
    # Libraries that catch every exception would turn a KeyboardInterrupt into another error,
    # so the handler itself removes the report being written and ends the process (and the
    # bundle workers, which inherited this handler, do the same).
    for worker in multiprocessing.active_children():
        worker.terminate()
    discard_pending()
    if multiprocessing.parent_process() is None:
        note = interrupt_note() or "aucun rapport partiel n'a été laissé"
        print(f"Erreur : interrompu ; {note}", file=sys.stderr, flush=True)
    os._exit(2)


def _log_unraisable(unraisable) -> None:
    # An error Python cannot raise (an object a library finalises after a failed save, on a full disk)
    # would print a traceback after the run's own "Erreur :" line: it goes to the -vv log.
    logging.getLogger("auditor").debug("erreur ignorée : %s", unraisable.exc_value,
                                       exc_info=(unraisable.exc_type, unraisable.exc_value, unraisable.exc_traceback))


def _arrow_memory_pool() -> None:
    """Arrow's jemalloc allocator where the wheel has it (Linux): a national run peaks at 2.2 GB
    with it and at 2.7 GB with the default one (mimalloc), which keeps pages that were freed."""
    import pyarrow as pa

    try:
        pa.set_memory_pool(pa.jemalloc_memory_pool())
    except NotImplementedError:  # a wheel built without it: the default allocator
        pass


def entry_point() -> None:
    """The `vt-audit` command: commands.main() under the process-wide signal handlers, then the process ends
    without freeing what the command made (see end_process)."""
    for name in HANDLED_SIGNALS:
        if hasattr(signal, name):
            signal.signal(getattr(signal, name), _interrupt)
    sys.unraisablehook = _log_unraisable
    _arrow_memory_pool()
    from .commands import main

    # What the imports made (pandas, pyarrow, numpy: hundreds of thousands of objects) lives as long as
    # the process: frozen, the cycle collector's full passes skip it. A run then makes as many records
    # (findings, input issues) that hold no cycle and live to its end: the collector passes over them
    # less often (a national run: 0.3 -> 0.1 s of collection, 7.5 -> 7.3 s over 4 alternated runs; the
    # peak is unchanged).
    gc.freeze()
    gc.set_threshold(10_000, 50, 1000)
    end_process(main())


def end_process(code: int) -> NoReturn:
    """End the process at once, once the command has written everything, without freeing what it made.

    A national run's 400,000 findings, input issues and tables take 0.2 s to free one by one,
    then the interpreter tears its modules down: nobody waits for that (mypy ends its runs the
    same way). What Python's own exit would do that matters is done here: the log and the
    standard streams are flushed (a pipe's buffer would be lost).
    """
    logging.shutdown()
    for stream in (sys.stdout, sys.stderr):
        if stream is None:  # started with its descriptor closed: Python gave it no stream
            continue
        try:
            stream.flush()
        except (OSError, ValueError):  # a closed pipe (`| head`), a closed stream: nothing left to say
            pass
    os._exit(code)
