"""The mutation check's catalogue stays usable as the code changes (the check itself runs by hand:
`python mutation/run.py`, README « Tests et mutations »)."""

import importlib.util
import sys

from tests.helpers import ROOT


def _runner():
    spec = importlib.util.spec_from_file_location("mutation_run", ROOT / "mutation" / "run.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def test_every_mutant_still_finds_the_code_it_breaks_and_names_tests_that_exist():
    # A refactoring that rewrites a mutated line would otherwise stop the next mutation run at its start.
    mutants = _runner().load_mutants(ROOT / "mutation" / "mutants.yaml")  # exits naming the mutant lost
    missing = {(m.id, test) for m in mutants for test in m.tests if not (ROOT / test.split("::")[0]).exists()}
    assert not missing
