import pytest

from auditor.catalogue import load_catalogue
from auditor.resources import rules_dir


@pytest.fixture(scope="session")
def catalogue():
    return load_catalogue(rules_dir())
