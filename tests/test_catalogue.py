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


def test_every_problem_of_the_catalogue_is_said_at_once_with_its_file_and_line(tmp_path):
    import shutil

    from auditor.config.catalogue import load_catalogue
    from auditor.config.resources import rules_dir
    from auditor.model.issues import AuditError

    folder = tmp_path / "regles"
    shutil.copytree(rules_dir(), folder)
    headers = folder / "catalogue" / "headers.yaml"
    headers.write_text(headers.read_text(encoding="utf-8").replace("parser: rpps", "parser: numero", 1),
                       encoding="utf-8")
    roles = folder / "catalogue" / "roles.yaml"
    roles.write_text(roles.read_text(encoding="utf-8").replace("    system: ror\n", "    system: ror2\n", 1),
                     encoding="utf-8")
    with pytest.raises(AuditError) as raised:
        load_catalogue(folder)
    message = str(raised.value)
    assert message.startswith("2 problèmes dans le catalogue :")
    header_line = next(n for n, line in enumerate(headers.read_text(encoding="utf-8").splitlines(), 1)
                       if "parser: numero" in line)
    assert (f"headers.yaml, ligne {header_line} : lecture « numero » inconnue pour la colonne « rpps » ; "
            "valeurs valides : text, finess") in message
    assert "roles.yaml, ligne" in message and "« system » doit valoir ror, iam, legacy" in message


def test_each_column_parser_the_catalogue_accepts_reads_cells():
    from auditor.config.catalogue import COLUMN_PARSERS
    from auditor.inputs.parse import _jobs

    for parser in COLUMN_PARSERS:  # every name headers.yaml may give has its cell parser
        assert _jobs("colonne", parser, None, None)["colonne"][0] == "colonne"
