"""The director's workbook as a contract: what `vt-audit answers` reads back of a returned one.

The sheets and columns named here are written by the workbook (xlsx_report.py) and read by
campaign/answers.py: the review sheet (one row per account, a decision and a comment to fill in,
and a hidden fingerprint per row) and the « À propos » sheet (the establishment and the audit date).
"""

from __future__ import annotations

import hashlib
import hmac

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from .. import __version__
from ..engine.access_review import MAX_REVIEW_ROWS, too_large_note
from ..engine.checks import describe_params
from ..model.enums import Decision
from ..model.text import plural
from ..run import Run
from .xlsx_sheet import Book, Scope

REVIEW_SHEET = "Revue des accès"
ABOUT_SHEET = "À propos"
ABOUT_FINESS, ABOUT_AS_OF = "FINESS", "Date d'audit"  # the « À propos » rows a returned workbook is known by
ACCOUNT_HEADER = "Compte"
DECISION_PREFIX = "Décision"  # the decision column's header starts so, whatever the choices it lists
DECISION_HEADER = f"{DECISION_PREFIX} ({' / '.join(Decision.values())})"
COMMENT_HEADER = "Commentaire"
REFERENCE_HEADER = "Réf."  # a hidden column of each director's review: see review_reference
TICK = "✔"


def review_reference(key: bytes, as_of: str, finess: str, account: str) -> str:
    """The fingerprint of one review row (audit date, establishment, account), hidden in the director's
    workbook: a returned row whose identifiers were changed, or pasted from another establishment or
    month, no longer matches it. Keyed (HMAC-SHA256, 128 bits kept) by the history's secret: without
    it, nobody can make the fingerprint of another establishment's or a made-up account."""
    return hmac.new(key, f"{as_of}|{finess}|{account}".encode("utf-8"), hashlib.sha256).hexdigest()[:32]


def access_review_sheet(book: Book, result: Run, scope: Scope) -> None:
    """One row per active account and establishment: who can do what, and the director's decision.

    Each right is a column ticked ✔, so that who has medical access reads down one column.
    """
    review = result.access_review
    if review is None:
        return
    rights = list(review.attrs.get("rights", ()))
    where = [] if scope.director else [("FINESS", 12, "finess"), ("Établissement", 28, "establishment")]
    held = [("Catégorie", 14, "category"), ("Unités", 16, "units"), ("Rôles", 32, "roles"),
            ("Constats", 10, "findings")]
    answer = [(DECISION_HEADER, 14, None), (COMMENT_HEADER, 30, None)]
    if scope.director:  # on paper: who, where to write the decision, then what they hold (see PRINT_WIDTH)
        held = [("Constats", 10, "findings"), ("Unités", 16, "units"), ("Rôles", 30, "roles"),
                ("Catégorie", 14, "category")]
        answer = [(DECISION_HEADER, 14, None), (COMMENT_HEADER, 24, None)]
    people = [(ACCOUNT_HEADER, 14, "account"), ("Personne", 24, "name"), ("Fonction", 18, "function")]
    fields = [*where, *people, *(answer if scope.director else held), *(held if scope.director else answer)]
    # The director's answers come back in this sheet: a hidden fingerprint per row checks them.
    reference = [(REFERENCE_HEADER, 4)] if scope.director else []
    columns = [*((header, width) for header, width, _ in fields), *((right, 4) for right in rights), *reference]
    rows = review.attrs.get("rows", len(review))  # a review too large to show is not built (see its text)
    too_large = rows > MAX_REVIEW_ROWS
    headers = [header for header, _, _ in fields]
    write_in = [headers.index(DECISION_HEADER), headers.index(COMMENT_HEADER)] if scope.director else []
    sheet = scope.sheet(book, REVIEW_SHEET, columns, rows=len(review), freeze_columns=len(where) + 2,
                        vertical_headers=len(rights) + len(reference), hidden_columns=len(reference),
                        write_in=write_in)
    as_of = result.as_of.date().isoformat()
    if too_large:
        sheet.append([None, too_large_note(rows)])
        sheet.close()
        return
    blank = [None] * len(review)  # the decision and the comment: the director's to fill in
    key = result.report.review_key  # without a history no answer can be recorded: no fingerprint
    references = [[review_reference(key, as_of, finess, account) if key else None
                   for finess, account in zip(review["finess"], review["account"])]] if reference else []
    sheet.append_table([*(blank if column is None else review[column].tolist() for _, _, column in fields),
                        *_ticks(review["rights"], rights), *references])
    if len(review):
        sheet.choice_list(headers.index(DECISION_HEADER), len(review), list(Decision.values()), "Décision",
                          "Conserver le compte, Modifier ses droits ou l'Archiver (choisir dans la liste)")
    sheet.close()


def _ticks(held: pd.Series, rights: list[str]) -> list[list[str | None]]:
    """For each right, a column ticked where the row's rights (joined with " | ") hold it."""
    lists = pc.split_pattern(pa.array(held, type=pa.large_string(), from_pandas=True).fill_null(""), " | ")
    items = pc.list_flatten(lists)
    rows = pc.list_parent_indices(lists).to_numpy()
    columns = []
    for right in rights:
        ticked = np.zeros(len(held), dtype=bool)
        ticked[rows[pc.equal(items, right).to_numpy(zero_copy_only=False)]] = True
        columns.append(np.where(ticked, TICK, None).tolist())
    return columns


def about_sheet(book: Book, result: Run, scope: Scope) -> None:
    sheet = scope.sheet(book, ABOUT_SHEET, [("Élément", 28), ("Valeur", 90)], rows=0)
    if scope.director:  # what a returned workbook is recognised by (see auditor/campaign/answers.py)
        sheet.append([ABOUT_FINESS, scope.establishment["finess"]])
        sheet.append(["Établissement", scope.establishment["name"]])
    sheet.append([ABOUT_AS_OF, result.as_of.date()])
    sheet.append(["Outil", f"vt-audit {__version__}"])
    if result.report.command and not scope.director:
        sheet.append(["Commande", result.report.command])
    for source in [] if scope.director else result.sources:  # file paths are the auditor's
        sheet.append([f"Fichier lu ({source.label})", f"{source.path} : {source.description}, "
                                                       f"{plural(source.rows, 'ligne')}"])
    for rule in result.rules:
        params = describe_params(rule.check, result.outcomes[rule.code].params)
        if params:
            sheet.append([f"Paramètres de {rule.code}", " ; ".join(params)])
    sheet.close()
