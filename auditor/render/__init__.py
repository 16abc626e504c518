"""Reports: the findings formatted for people (xlsx, html) and machines (json).

Renderers format; they decide nothing. Every file is written under a
temporary name in the output folder and moved into place when complete, so
an interrupted run never leaves a half-written report.
"""

from __future__ import annotations

import os
import secrets
from contextlib import contextmanager
from pathlib import Path

from ..errors import AuditError

FORMATS = ("xlsx", "html", "json", "junit")
_PENDING: set[str] = set()  # temporary files being written, for discard_pending()
DEFAULT_FORMATS = ("xlsx", "html", "json")


@contextmanager
def atomic_path(target: Path):
    """A temporary path beside `target`; moved onto it only if the block succeeds."""
    target.parent.mkdir(parents=True, exist_ok=True)
    # The name is registered before the file exists: a signal arriving between the two can
    # still find it (mkstemp would create first, leaving a window where it is known to nobody).
    temporary = str(target.parent / f".{target.name}.{secrets.token_hex(6)}.part")
    _PENDING.add(temporary)
    try:
        os.close(os.open(temporary, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
        yield Path(temporary)
        os.chmod(temporary, 0o666 & ~_umask())  # created 0600 while written: the report gets the usual mode
        os.replace(temporary, target)
    finally:
        _PENDING.discard(temporary)
        if os.path.exists(temporary):
            os.unlink(temporary)


def _umask() -> int:
    mask = os.umask(0)  # the only way to read it is to set it
    os.umask(mask)
    return mask


def discard_pending() -> None:
    """Remove the reports being written (a signal handler's last act: no half-written report)."""
    for temporary in list(_PENDING):
        try:
            os.unlink(temporary)
        except OSError:
            pass


def prepare_out_dir(out: Path) -> Path:
    """The output folder, created if needed, cleared of temporary files a killed run left."""
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise AuditError(f"{out} : impossible de créer le dossier de sortie ({exc.strerror})") from None
    if not os.access(out, os.W_OK):
        raise AuditError(f"{out} : dossier de sortie non accessible en écriture")
    for leftover in out.rglob(".*.part"):
        leftover.unlink()
    return out
