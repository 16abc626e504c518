"""Where the built-in rulebooks and templates are, installed or in a checkout."""

from __future__ import annotations

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent.parent  # auditor/, where hatch puts _data/
# In a wheel, hatch copies rules/ and reports/templates/ into auditor/_data/
# (see pyproject.toml); in a checkout or an editable install they sit at the top.
_INSTALLED = {"rules": _PACKAGE / "_data" / "rules", "templates": _PACKAGE / "_data" / "templates"}
_CHECKOUT = {"rules": _PACKAGE.parent / "rules", "templates": _PACKAGE.parent / "reports" / "templates"}


def data_dir(name: str) -> Path:
    for candidate in (_INSTALLED[name], _CHECKOUT[name]):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(f"données internes introuvables : {name}")


def findings_schema() -> Path:
    """reports/findings.schema.json, the published shape of findings.json."""
    name = "findings.schema.json"
    for candidate in (_PACKAGE / "_data" / name, _PACKAGE.parent / "reports" / name):
        if candidate.is_file():
            return candidate
    raise FileNotFoundError("données internes introuvables : findings.schema.json")


def rules_dir() -> Path:
    return data_dir("rules")


def templates_dir() -> Path:
    return data_dir("templates")
