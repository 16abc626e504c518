"""The access review: for each establishment, who can do what, for the director to decide.

Guide, part 01: "Vérifier l'attribution des bons droits et habilitations de
chaque professionnel". One row per active account attached to an
establishment: function and its category, units, roles, the rights those
roles give (the guide's equivalence table), and the findings about the
account there. The renderers add the empty decision and comment columns.
"""

from __future__ import annotations

import pandas as pd

from ..model.frames import TEXT, as_text, join_within
from ..model.text import french_number
from .context import AuditContext

COLUMNS = ["finess", "establishment", "account", "name", "function", "category", "units", "roles", "rights",
           "findings"]
# Past this, the regional workbook and page say where the review is instead of holding it:
# a national review (a million rows) fits neither a sheet nor a page, and helps no one there;
# each director has theirs in the per-establishment bundles.
MAX_REVIEW_ROWS = 200_000


def too_large_note(rows: int) -> str:
    return (f"{french_number(rows)} comptes : revue trop grande pour un seul rapport ; chaque établissement a la "
            "sienne dans les rapports par établissement (--per-establishment)")


def build_access_review(ctx: AuditContext, findings: pd.DataFrame, limit: int | None = None) -> pd.DataFrame:
    """One row per active account and establishment (see the module's text); `findings`: the engine's
    finding table.

    Past `limit` rows (a report that would only say the review is too large) no row is built:
    the frame is empty and `attrs["rows"]` says how many there are (a national review takes 9 s).
    """
    attachments = ctx.attachments
    active = attachments[attachments["state"].eq("active")]
    if limit is not None and len(active) > limit:
        review = pd.DataFrame({column: pd.Series(dtype=TEXT) for column in COLUMNS})
        review.attrs.update(rows=len(active), rights=list(ctx.catalogue.rights.values()))
        return review
    rights = ctx.attachment_rights.drop_duplicates(["attachment", "right"]).astype({"right": TEXT})
    rights_order = {right: index for index, right in enumerate(ctx.catalogue.rights)}
    rights = rights.assign(label=rights["right"].map(ctx.catalogue.rights),
                           order=rights["right"].map(rights_order)).sort_values(["attachment", "order"])
    rights_text = join_within(rights, "attachment", "label", " | ")
    units = join_within(ctx.attachment_units.sort_values(["attachment", "unit"]), "attachment", "unit", " | ")
    roles = join_within(ctx.attachment_roles.sort_values(["attachment", "role"]), "attachment", "role", " | ")
    categories = {name: c.label for name, c in ctx.catalogue.function_categories.items()}

    about = findings[["finess", "account", "rule"]].dropna(subset=["account"]).drop_duplicates()
    about = about.rename(columns={"account": "account_id"}).sort_values("rule")
    codes = join_within(about, ["finess", "account_id"], "rule", ", ").rename("findings").reset_index()

    index = active.index.to_series()

    def text(values: pd.Series) -> pd.Series:
        return as_text(values).fillna("")

    review = pd.DataFrame({
        "finess": active["finess"],
        "establishment": text(active["finess"].map(ctx.establishment_names())),
        "account": active["account_id"],
        "name": active["display_name"],
        "function": active["function"].fillna(""),
        "category": active["function_category"].map(categories).fillna(
            active["function"].isna().map({True: "non renseignée", False: "non reconnue"})),
        "units": text(index.map(units)),
        "roles": text(index.map(roles)),
        "rights": text(index.map(rights_text)),
    })
    findings_of = active[["finess", "account_id"]].merge(codes, on=["finess", "account_id"], how="left")
    review["findings"] = text(findings_of["findings"]).to_numpy()
    review = review.sort_values(["finess", "name", "account"], ignore_index=True)[COLUMNS]
    review.attrs["rights"] = list(ctx.catalogue.rights.values())  # every right, in the guide's order
    return review
