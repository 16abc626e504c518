"""The access review: for each establishment, who can do what, for the director to decide.

Guide, part 01: "Vérifier l'attribution des bons droits et habilitations de
chaque professionnel". One row per active account attached to an
establishment: function and its category, units, roles, the rights those
roles give (the guide's equivalence table), and the findings about the
account there. The renderers add the empty decision and comment columns.
"""

from __future__ import annotations

import pandas as pd

from .context import AuditContext
from .findings import Finding

COLUMNS = ["finess", "establishment", "account", "name", "function", "category", "units", "roles", "rights",
           "findings"]
DECISIONS = ("Conserver", "Modifier", "Archiver")


def _joined(long: pd.DataFrame, column: str, order: dict[str, int] | None = None) -> pd.Series:
    """Per attachment, the values of a long table joined with " | " (in catalogue order when given)."""
    table = long.copy()
    table["order"] = table[column].map(order) if order else table[column]
    table = table.sort_values(["attachment", "order"])
    return table.groupby("attachment")[column].agg(" | ".join)


def build_access_review(ctx: AuditContext, findings: list[Finding]) -> pd.DataFrame:
    attachments = ctx.attachments
    active = attachments[attachments["state"].eq("active")]
    rights = ctx.attachment_rights.drop_duplicates(["attachment", "right"]).copy()
    rights_order = {right: index for index, right in enumerate(ctx.catalogue.rights)}
    rights["label"] = rights["right"].map(ctx.catalogue.rights)
    rights["order_key"] = rights["right"].map(rights_order)
    rights = rights.sort_values(["attachment", "order_key"])
    rights_text = rights.groupby("attachment")["label"].agg(" | ".join)
    categories = {name: c.label for name, c in ctx.catalogue.function_categories.items()}

    about = pd.DataFrame([(f.finess, f.account, f.rule) for f in findings if f.account is not None],
                         columns=["finess", "account_id", "rule"]).drop_duplicates()
    codes = about.sort_values("rule").groupby(["finess", "account_id"])["rule"].agg(", ".join)

    index = active.index.to_series()

    def text(values: pd.Series) -> pd.Series:  # a map that found nothing gives floats
        return values.astype("string").fillna("")

    review = pd.DataFrame({
        "finess": active["finess"],
        "establishment": text(active["finess"].map(ctx.establishment_names())),
        "account": active["account_id"],
        "name": active["display_name"],
        "function": active["function"].fillna(""),
        "category": active["function_category"].map(categories).fillna(
            active["function"].isna().map({True: "non renseignée", False: "non reconnue"})),
        "units": text(index.map(_joined(ctx.attachment_units, "unit"))),
        "roles": text(index.map(_joined(ctx.attachment_roles, "role"))),
        "rights": text(index.map(rights_text)),
        "findings": text(pd.Series(pd.MultiIndex.from_frame(active[["finess", "account_id"]]).map(codes.to_dict()),
                                   index=active.index)),
    })
    return review.sort_values(["finess", "name", "account"], ignore_index=True)[COLUMNS]
