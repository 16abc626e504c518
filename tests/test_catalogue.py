"""The catalogues auditors edit: function variants and role names as exports write them."""

import pytest

from auditor.inputs.cells import split_roles


@pytest.mark.parametrize("written,category", [
    ("IDE", "paramedical"), ("Infirmière", "paramedical"), ("INFIRMIERE DE NUIT", "paramedical"),
    ("Educ spé", "social_educational"), ("ME", "social_educational"), ("Psy", "psychologist"),
    ("Neuropsychologue", "psychologist"), ("Dir.", "management"), ("CDS", "management"),
    ("Psychiatre", "medical"), ("Masseur-kinésithérapeute", "paramedical"), ("AES", "social_educational"),
    ("Aide-soignante", "care_borderline"), ("Secrétaire médicale", "care_borderline"),
    ("Secrétaire", "administrative"), ("Chargée de mission qualité", None), ("", None),
])
def test_function_variants_map_to_their_category(catalogue, written, category):
    assert catalogue.function_category(written) == category


def test_medical_categories_are_the_ones_the_guide_names(catalogue):
    allowed = {n for n, c in catalogue.function_categories.items() if c.medical_access == "yes"}
    assert allowed == {"medical", "paramedical", "psychologist"}


def test_only_the_legacy_medical_role_opens_medical_information(catalogue):
    medical = {role.name for role in catalogue.roles.values() if "medical_information" in role.rights}
    assert medical == {"Handicap - ESMS Médical, Paramédical, Psychologue"}


def test_every_legacy_role_names_existing_iam_equivalents(catalogue):
    legacy = [r for r in catalogue.roles.values() if r.system == "legacy"]
    assert len(legacy) == 5
    for role in legacy:
        assert role.iam_equivalent and all(catalogue.roles[n].system == "iam" for n in role.iam_equivalent)


def test_roles_written_with_odd_case_and_spacing_are_recognised(catalogue):
    found, unknown = split_roles("  référent   établissement |vt ph - referent esms", catalogue)
    assert found == ("Référent Établissement", "IAM - MSPH - Référent ESMS (IAM)") and unknown == []
