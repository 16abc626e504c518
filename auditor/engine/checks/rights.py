"""Rights that fit each professional's function.

Guide, part 01: "Vérifier l'attribution des bons droits et habilitations de
chaque professionnel", and the equivalence table of part 04: only the role
"Handicap - ESMS Médical, Paramédical, Psychologue" opens the medical
information of usagers; the legacy "Handicap - …" roles are replaced by IAM
roles managed in the ROR.
"""

from __future__ import annotations

import pandas as pd

from ...config.schema import Field
from ...model.findings import SEVERITIES, SEVERITY_LABELS
from ...model.frames import TEXT, join_within, lookup
from ..context import AuditContext
from .registry import account_hits, check, lookup_text

MEDICAL = "medical_information"
NOMINATIVE = {"dashboard_nominative", "declare_notification", "answer_notifications", "evaluation_information"}


def _roles_giving(ctx: AuditContext, rights: set[str]) -> pd.Series:
    """Per attachment, the roles held that give one of `rights`, joined for a message."""
    table = ctx.attachment_rights
    giving = table[table["right"].isin(rights)].drop_duplicates(["attachment", "role"])
    return join_within(giving.astype({"role": TEXT}).sort_values("role"), "attachment", "role", " », « ")


@check(
    "medical_access_function",
    params={"borderline_severity": Field(str, choices=SEVERITIES, labels=SEVERITY_LABELS,
                                         description="sévérité pour les fonctions de soin non médicales")},
)
def medical_access_function(ctx: AuditContext, *, borderline_severity: str) -> pd.DataFrame:
    """Access to medical information held by a function not positively recognised as medical,
    paramedical or psychologist.

    An empty function or one the catalogue does not know is no proof of a medical
    profession ("Surveillant de nuit", "Maîtresse de maison"): a finding too.
    """
    attachments = ctx.attachments
    categories = ctx.catalogue.function_categories
    # A function missing or unknown: the profession of the account's RPPS (directory) says it instead.
    profession_category = lookup(lookup(attachments["rpps"], ctx.rpps_professions), ctx.catalogue.professions)
    category = attachments["function_category"].fillna(profession_category)
    access = lookup(category, {name: c.medical_access for name, c in categories.items()})
    not_medical = access.ne("yes").fillna(True)
    found = attachments[ctx.has_right({MEDICAL}) & not_medical & attachments["state"].ne("archived")]
    labels = found["function_category"].map({name: c.label for name, c in categories.items()}).fillna(
        "non reconnue comme médicale, paramédicale ou de psychologue")
    function = ("fonction « " + found["function"] + " » (" + labels + ")").fillna("fonction non renseignée")
    roles = lookup_text(found.index.to_series(), _roles_giving(ctx, {MEDICAL}))
    message = function + " avec accès aux informations médicales des usagers par le rôle « " + roles + " »"
    severity = access[found.index].map({"borderline": borderline_severity})
    return account_hits(found, message, severity=severity)


@check("legacy_roles")
def legacy_roles(ctx: AuditContext) -> pd.DataFrame:
    """Legacy VT roles ("Handicap - …") still held, with the IAM roles that replace them."""
    legacy = {role.name: role for role in ctx.catalogue.roles.values() if role.system == "legacy"}
    table = ctx.attachment_roles[ctx.attachment_roles["role"].isin(legacy)].copy()
    attachments = ctx.attachments
    table = table[attachments.loc[table["attachment"], "state"].ne("archived").to_numpy()]
    roles = ctx.catalogue.roles
    equivalents = {name: " + ".join(f"« {r} »" for r in role.iam_equivalent)
                   + (" (aucun ne donne accès aux informations médicales : cet accès disparaît)"
                      if MEDICAL in role.rights and not any(MEDICAL in roles[r].rights for r in role.iam_equivalent)
                      else "")
                   for name, role in legacy.items()}
    table["text"] = "« " + table["role"] + " » → " + table["role"].map(equivalents)
    described = join_within(table.sort_values("role"), "attachment", "text", " ; ")
    found = attachments.loc[described.index]
    message = "ancien rôle VT encore attribué : " + described
    return account_hits(found, message)


@check("unknown_function")
def unknown_function(ctx: AuditContext) -> pd.DataFrame:
    """Functions the catalogue does not recognise, on accounts with nominative or medical rights."""
    attachments = ctx.attachments
    unknown = attachments["function"].notna() & attachments["function_category"].isna()
    sensitive = ctx.has_right(NOMINATIVE | {MEDICAL})
    found = attachments[unknown & sensitive & attachments["state"].ne("archived")]
    message = ("fonction « " + found["function"] + " » inconnue du catalogue des fonctions, "
               "sur un compte ayant des droits nominatifs ou médicaux")
    return account_hits(found, message)


@check("function_contradicts_profession", needs=("directory",))
def function_contradicts_profession(ctx: AuditContext) -> pd.DataFrame:
    """Accounts whose declared health function is another profession than their RPPS's in the directory."""
    attachments = ctx.attachments
    # Only an RPPS can contradict the directory: the accounts without one are not copied.
    attachments = attachments[attachments["state"].ne("archived") & attachments["rpps"].notna()]
    profession = attachments["rpps"].map(ctx.rpps_professions)
    functions = attachments["function"].dropna().unique()
    declared = attachments["function"].map({f: ctx.catalogue.profession_of_function(f) for f in functions})
    found = attachments[declared.notna() & profession.notna() & declared.ne(profession)]
    labels = ctx.inputs.directory.drop_duplicates("rpps").set_index("rpps")["profession"]
    message = ("fonction « " + found["function"] + " » déclarée, alors que le RPPS " + found["rpps"]
               + " est celui d'un professionnel « " + found["rpps"].map(labels) + " » selon l'annuaire santé")
    return account_hits(found, message)


@check("rpps_not_in_directory", needs=("directory",))
def rpps_not_in_directory(ctx: AuditContext) -> pd.DataFrame:
    """Accounts (not archived) with an RPPS the directory does not know."""
    attachments = ctx.attachments
    known = ctx.inputs.directory["rpps"].dropna()
    found = attachments[attachments["rpps"].notna() & attachments["state"].ne("archived")
                        & ~attachments["rpps"].isin(known)]
    message = "RPPS " + found["rpps"] + " absent de l'annuaire santé : numéro mal saisi, ou la personne n'exerce plus"
    return account_hits(found, message)

