"""The directors' answers: returned bundle workbooks read back, checked, and recorded as decisions.

A returned workbook may have been renamed, e-mailed and re-saved by Excel or
LibreOffice: it is recognised by what it holds (the FINESS and audit date of
its "À propos" sheet), not by its name. Each review row carries a hidden
fingerprint (see render/review_workbook.review_reference), so that a row added by
hand, an identifier changed, or rows pasted from another establishment or
month are found. A workbook with any problem is refused whole: nothing of it
is recorded, and every problem is listed at once.
"""

from __future__ import annotations

import hashlib
import hmac
import xml.etree.ElementTree as ET
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from ..config.schema import Problems
from ..history.store import History
from ..inputs.xlsx_file import xlsx_sheets
from ..model.enums import Decision
from ..model.issues import AuditError
from ..model.text import fold
from ..render.review_workbook import (
    ABOUT_AS_OF,
    ABOUT_FINESS,
    ABOUT_SHEET,
    ACCOUNT_HEADER,
    COMMENT_HEADER,
    DECISION_PREFIX,
    REFERENCE_HEADER,
    REVIEW_SHEET,
    review_reference,
)

_DECISIONS = {fold(d): d for d in Decision.values()}
_CORE_MAX_BYTES = 64 * 1024
MAX_WORKBOOK_BYTES = 50 << 20  # an establishment's workbook weighs tens of kilobytes
_DC = "{http://purl.org/dc/elements/1.1/}"
_CP = "{http://schemas.openxmlformats.org/package/2006/metadata/core-properties}"


@dataclass
class ReturnedReview:
    path: Path
    finess: str | None = None
    as_of: pd.Timestamp | None = None
    answered_by: str | None = None
    accounts: int = 0  # review rows recognised
    decisions: list[tuple[str, str, str | None]] = field(default_factory=list)  # account, decision, comment
    # Everything wrong with it, each naming the file (and sheet, line, column): the workbook is refused whole.
    problems: Problems = field(init=False)
    sha256: str = ""
    replaces: str | None = None  # when an earlier answer of the same establishment and month was recorded
    replaces_decisions: int = 0  # how many decisions that earlier answer held
    reviewed: int = 0  # accounts of the review sent: fewer decisions make a partial answer
    already: bool = False  # the very same file is the answer recorded last: not recorded again

    @property
    def undecided(self) -> int:
        """Accounts of the review sent left without a decision (a partial answer: REV-02 asks for them)."""
        return max(self.reviewed - len(self.decisions), 0)

    def __post_init__(self):
        self.problems = Problems(self.path, "le classeur renvoyé")


def read_answer(path: Path, history: History) -> ReturnedReview:
    """A returned workbook, checked against the history; `problems` lists everything wrong with it."""
    path = Path(path)
    answer = ReturnedReview(path)
    try:
        # Checked before reading: a named pipe would hang, /dev/zero would fill the memory.
        if not path.is_file():
            answer.problems.add(None, "n'est pas un fichier ordinaire (dossier, tube, périphérique…)")
            return answer
        if path.stat().st_size > MAX_WORKBOOK_BYTES:
            answer.problems.add(None, f"classeur de plus de {MAX_WORKBOOK_BYTES >> 20} Mo : ce n'est pas un "
                                   "rapport d'établissement renvoyé")
            return answer
        answer.sha256 = hashlib.sha256(path.read_bytes()).hexdigest()
        sheets = dict(xlsx_sheets(path))
    except OSError as exc:
        answer.problems.add(None, f"lecture impossible ({exc.strerror})")
        return answer
    except AuditError as exc:
        answer.problems.add(None, str(exc).removeprefix(f"{path} : "))
        return answer
    about = {row[0].strip(): row[1].strip() for row in sheets.get(ABOUT_SHEET, []) if len(row) > 1 and row[0]}
    answer.finess = about.get(ABOUT_FINESS) or None
    try:
        as_of = pd.Timestamp(about[ABOUT_AS_OF])
    except (KeyError, ValueError, TypeError):
        as_of = pd.NaT
    answer.as_of = None if pd.isna(as_of) else as_of.normalize()  # NaT: a blank « Date d'audit »
    if not answer.finess or answer.as_of is None or REVIEW_SHEET not in sheets:
        answer.problems.add(None, "classeur non reconnu : ce n'est pas le rapport d'un établissement produit par "
                               f"vt-audit (feuilles « {ABOUT_SHEET} » avec FINESS et date d'audit, et "
                               f"« {REVIEW_SHEET} » attendues)")
        return answer
    audited = history.audited(answer.as_of)
    if audited is None:
        answer.problems.add(None, f"aucun audit du {answer.as_of:%d/%m/%Y} dans l'historique")
    elif answer.finess not in audited:
        answer.problems.add(None, f"l'établissement {answer.finess} n'a pas été audité le {answer.as_of:%d/%m/%Y}")
    reviewed = history.reviewed(answer.as_of, answer.finess)
    _read_review(answer, sheets[REVIEW_SHEET], history.review_key, reviewed)
    if not answer.problems and not answer.decisions:
        answer.problems.add(None, f"aucune décision dans la feuille « {REVIEW_SHEET} » : un classeur renvoyé sans "
                               "décision n'est pas une réponse (choisir Conserver, Modifier ou Archiver pour "
                               "chaque compte)")
    answer.reviewed = len(reviewed) if reviewed is not None else answer.accounts
    answer.answered_by = _last_author(path)
    return answer


def _read_review(answer: ReturnedReview, rows: list[list[str]], key: bytes, reviewed: set[str] | None) -> None:
    header_at = next((i for i, row in enumerate(rows[:20]) if ACCOUNT_HEADER in row and REFERENCE_HEADER in row), None)
    if header_at is None:
        answer.problems.add(None, f"feuille « {REVIEW_SHEET} » : en-tête introuvable (colonnes « {ACCOUNT_HEADER} » et "
                               f"« {REFERENCE_HEADER} »)")
        return
    header = rows[header_at]
    column = {"account": header.index(ACCOUNT_HEADER), "reference": header.index(REFERENCE_HEADER),
              "decision": next((i for i, h in enumerate(header) if h.startswith(DECISION_PREFIX)), None),
              "comment": next((i for i, h in enumerate(header) if h.startswith(COMMENT_HEADER)), None)}
    if column["decision"] is None:
        answer.problems.add(None, f"feuille « {REVIEW_SHEET} » : colonne « Décision » introuvable")
        return
    as_of, seen = answer.as_of.date().isoformat(), set()
    for line, row in enumerate(rows[header_at + 1:], start=header_at + 2):
        if not any(value.strip() for value in row):
            continue
        account, decision, comment, reference = (
            row[column[name]].strip() if column[name] is not None and column[name] < len(row) else ""
            for name in ("account", "decision", "comment", "reference"))
        where = f"feuille « {REVIEW_SHEET} », ligne {line}"
        if not reference:
            answer.problems.add(None, f"{where} : ligne ajoutée à la main (compte « {account} ») : seuls les comptes "
                                   "du rapport envoyé peuvent recevoir une décision")
            continue
        if not hmac.compare_digest(reference, review_reference(key, as_of, answer.finess, account)):
            answer.problems.add(None, f"{where} : compte « {account} » modifié, ou ligne d'un autre établissement ou "
                                   "d'un autre mois")
            continue
        if reviewed is not None and account not in reviewed:  # a genuine fingerprint of a review never sent
            answer.problems.add(None, f"{where} : compte « {account} » absent de la revue envoyée à l'établissement")
            continue
        if account in seen:
            answer.problems.add(None, f"{where} : compte « {account} » en double")
            continue
        seen.add(account)
        answer.accounts += 1
        if not decision:
            continue
        canonical = _DECISIONS.get(fold(decision))
        if canonical is None:
            answer.problems.add(None, f"{where}, colonne « Décision » : « {decision} » inconnue ; choix : "
                                   + ", ".join(Decision.values()))
            continue
        answer.decisions.append((account, canonical, comment or None))


def _last_author(path: Path) -> str | None:
    """Who saved the workbook last, as the spreadsheet program recorded it (docProps/core.xml)."""
    try:
        with zipfile.ZipFile(path) as archive:
            info = archive.getinfo("docProps/core.xml")
            if info.file_size > _CORE_MAX_BYTES:
                return None
            data = archive.read(info)
    except (KeyError, zipfile.BadZipFile, OSError):
        return None
    if b"<!DOCTYPE" in data or b"<!ENTITY" in data:  # no entity is expanded, ever
        return None
    try:
        root = ET.fromstring(data)
    except ET.ParseError:
        return None
    for tag in (f"{_CP}lastModifiedBy", f"{_DC}creator"):
        element = root.find(tag)
        if element is not None and (element.text or "").strip() and element.text.strip() != "openpyxl":
            return element.text.strip()
    return None


def record_answers(paths: list[Path], history: History) -> tuple[list[ReturnedReview], list[ReturnedReview]]:
    """Read every workbook; record each one without problems (one transaction each); return (recorded, refused).

    The workbook recorded last for its establishment and month, sent again (same content), is not
    recorded twice; any other answer is recorded, and the later one counts (an earlier file sent back
    after a correction counts again).
    """
    recorded, refused = [], []
    for path in paths:
        answer = read_answer(path, history)
        if answer.problems:
            refused.append(answer)
            continue
        answer.already = history.is_latest_answer(answer.as_of, answer.finess, answer.sha256)
        if not answer.already:
            earlier = history.latest_answer(answer.as_of, answer.finess)
            if earlier is not None:
                answer.replaces, answer.replaces_decisions = earlier[0], len(earlier[1])
            history.record_answer(answer.as_of, answer.finess, str(path), answer.sha256, answer.answered_by,
                                  answer.reviewed, answer.decisions)
        recorded.append(answer)
    return recorded, refused
