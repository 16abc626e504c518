"""The follow-up settings (rules/catalogue/suivi.yaml): score weights, thresholds, retention.

They live beside the rulebooks so that an auditor tunes them without touching
Python; like the rulebooks, every problem is reported at once with its line.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..model.findings import SEVERITIES
from ..model.issues import AuditError
from .schema import Field, Problems
from .yamlfile import LineDict, read_yaml

SETTINGS_FILE = Path("catalogue") / "suivi.yaml"
SETTINGS_FIELDS = {
    "score_weights": Field(dict, required=True),
    "stale_months": Field(int, 1, maximum=120, required=True),
    "coverage_drop_percent": Field(int, 0, maximum=100, required=True),
    "retention_months": Field(int, 1, maximum=1200, required=True),
    "trend_runs": Field(int, 2, maximum=60, required=True),
}
WEIGHT = Field(int, 0, maximum=100)


@dataclass(frozen=True)
class FollowUpSettings:
    score_weights: dict[str, int]
    stale_months: int = 3
    coverage_drop_percent: int = 20
    retention_months: int = 24
    trend_runs: int = 12


def load_settings(rules_folder: Path) -> FollowUpSettings:
    path = Path(rules_folder) / SETTINGS_FILE
    data = read_yaml(path)
    if not isinstance(data, LineDict):
        raise AuditError(f"{path} : un dictionnaire de réglages est attendu")
    problems = Problems(path, "les réglages du suivi")
    problems.check_keys(data, SETTINGS_FIELDS)
    weights = data.get("score_weights")
    if isinstance(weights, dict):
        if set(weights) != set(SEVERITIES):
            problems.add(data.line_of("score_weights"), "« score_weights » donne un poids entier à chacune des "
                         f"sévérités {', '.join(SEVERITIES)}")
        elif any(WEIGHT.validate(weight) for weight in weights.values()):
            problems.add(data.line_of("score_weights"), "les poids sont des entiers de 0 à 100")
    problems.raise_if_any()
    return FollowUpSettings(dict(weights), **{key: data[key] for key in SETTINGS_FIELDS if key != "score_weights"})
