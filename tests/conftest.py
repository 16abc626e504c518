import pytest

from auditor.config.catalogue import load_catalogue
from auditor.config.resources import rules_dir


@pytest.fixture(scope="session")
def catalogue():
    return load_catalogue(rules_dir())
