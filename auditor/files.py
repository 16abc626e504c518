"""The output folder: one run at a time, reports replaced whole, nothing but the tool's own files touched.

- Every report is written under a temporary name only vt-audit uses and moved into place when
  complete, so an interrupted run never leaves a half-written report, and the previous report
  stays until its replacement is whole.
- A lock file keeps a second run out of the folder while one writes into it.
- A manifest lists the reports the last run wrote: the next run removes those it does not
  write again (an earlier run's bundles, an html of another day), and never anything else.

This module imports nothing heavy: the signal handlers of `launch` use it during start-up.
"""

from __future__ import annotations

import json
import os
import secrets
from contextlib import contextmanager
from pathlib import Path

from .model.issues import AuditError

TEMPORARY_PREFIX = ".vt-audit-"  # a name only the tool gives: its clean-up never touches a user's file
TEMPORARY_SUFFIX = ".part"
LOCK_NAME = ".vt-audit.lock"
MANIFEST_NAME = ".vt-audit-rapports.json"
_PENDING: set[str] = set()  # temporary files being written, for discard_pending()


def make_folder(folder: Path) -> Path:
    """`folder`, created if needed; a file system error becomes an AuditError naming it."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise AuditError(f"{folder} : impossible de créer le dossier ({exc.strerror})") from None
    return folder


@contextmanager
def atomic_path(target: Path):
    """A temporary path beside `target`; moved onto it only if the block succeeds.

    A file system error (disk full, read-only folder) becomes an AuditError naming the report.
    """
    make_folder(target.parent)
    # The name is registered before the file exists: a signal arriving between the two can
    # still find it (mkstemp would create first, leaving a window where it is known to nobody).
    temporary = str(target.parent / f"{TEMPORARY_PREFIX}{secrets.token_hex(6)}.{target.name}{TEMPORARY_SUFFIX}")
    _PENDING.add(temporary)
    try:
        os.close(os.open(temporary, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
        yield Path(temporary)
        os.chmod(temporary, 0o666 & ~_umask())  # created 0600 while written: the report gets the usual mode
        os.replace(temporary, target)
    except OSError as exc:
        raise AuditError(f"{target} : écriture impossible ({exc.strerror or exc}) ; le rapport précédent, "
                         "s'il existe, est inchangé") from None
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


@contextmanager
def output_folder(out: Path, subfolders: tuple[str, ...] = ()):
    """The output folder, created if needed and locked for this run; the tool's temporary files a
    killed run left there (and in `subfolders`) are removed. Yields the folder's path."""
    out = make_folder(Path(out))
    if not os.access(out, os.W_OK):
        raise AuditError(f"{out} : dossier de sortie non accessible en écriture")
    for name in subfolders:
        folder = out / name
        if folder.is_symlink() or (folder.exists() and not folder.is_dir()):
            # Following it would write (and clean) outside the output folder.
            raise AuditError(f"{folder} : n'est pas un dossier mais un lien ou un fichier ; le retirer ou choisir "
                             "un autre dossier de sortie")
    try:
        lock = os.open(out / LOCK_NAME, os.O_CREAT | os.O_RDWR, 0o666)  # the umask applies, as to the reports
    except OSError as exc:
        raise AuditError(f"{out} : dossier de sortie non accessible en écriture ({exc.strerror})") from None
    try:
        if not _try_lock(lock):
            raise AuditError(f"{out} : une autre exécution de vt-audit écrit déjà dans ce dossier ; attendre "
                             "qu'elle se termine ou choisir un autre dossier de sortie")
        for folder in (out, *(out / name for name in subfolders)):
            for leftover in folder.glob(f"{TEMPORARY_PREFIX}*{TEMPORARY_SUFFIX}"):
                if leftover.is_file() and not leftover.is_symlink():
                    leftover.unlink()
        yield out
    finally:
        os.close(lock)  # releases the lock


def _try_lock(descriptor: int) -> bool:
    try:
        import fcntl
    except ImportError:  # Windows: no advisory lock; runs are not expected to overlap there
        return True
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


def replace_reports(out: Path, written: list[Path]) -> list[Path]:
    """Record the reports this run wrote; remove those the previous run wrote and this one did not.

    Only files named in the previous manifest, still regular files inside `out`, are removed:
    whatever else is in the folder belongs to the user. Returns the files removed.
    """
    out = Path(out)
    manifest = out / MANIFEST_NAME
    current = sorted({path.relative_to(out).as_posix() for path in written})
    removed = []
    for name in sorted(set(_previous_reports(manifest)) - set(current)):
        path = out / name
        if ".." in Path(name).parts or path.is_symlink() or not path.is_file():
            continue
        path.unlink()
        removed.append(path)
    with atomic_path(manifest) as temporary:
        temporary.write_text(json.dumps({"reports": current}, ensure_ascii=False, indent=0), encoding="utf-8")
    return removed


def _previous_reports(manifest: Path) -> list[str]:
    try:
        names = json.loads(manifest.read_text(encoding="utf-8")).get("reports", [])
    except (OSError, ValueError, AttributeError):
        return []  # none, or not ours: nothing is removed
    return [name for name in names if isinstance(name, str)]
