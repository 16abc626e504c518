"""The follow-up settings (rules/catalogue/suivi.yaml): score weights, thresholds, retention.

They live beside the rulebooks so that an auditor tunes them without touching
Python; like the rulebooks, every problem is reported at once with its line.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..model.findings import SEVERITIES
from ..model.issues import AuditError
from .yamlfile import LineDict, read_yaml

SETTINGS_FILE = Path("catalogue") / "suivi.yaml"
# key: (minimum, maximum) of an integer setting
_BOUNDS = {"stale_months": (1, 120), "coverage_drop_percent": (0, 100), "retention_months": (1, 1200),
           "trend_runs": (2, 60)}


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
    problems = []
    valid = ("score_weights", *_BOUNDS)
    for key in data:
        if key not in valid:
            problems.append(f"ligne {data.line_of(key)} : clé inconnue « {key} » ; clés valides : {', '.join(valid)}")
    for key in valid:
        if key not in data:
            problems.append(f"clé obligatoire absente : « {key} »")
    weights = data.get("score_weights")
    if "score_weights" in data:
        if not isinstance(weights, dict) or set(weights) != set(SEVERITIES):
            problems.append(f"ligne {data.line_of('score_weights')} : « score_weights » donne un poids entier à "
                            f"chacune des sévérités {', '.join(SEVERITIES)}")
        elif not all(_is_int(w) and 0 <= w <= 100 for w in weights.values()):
            problems.append(f"ligne {data.line_of('score_weights')} : les poids sont des entiers de 0 à 100")
    for key, (low, high) in _BOUNDS.items():
        value = data.get(key)
        if key in data and not (_is_int(value) and low <= value <= high):
            problems.append(f"ligne {data.line_of(key)} : « {key} » doit être un entier de {low} à {high}")
    if problems:
        raise AuditError(f"{path} : " + " ; ".join(problems))
    return FollowUpSettings(dict(weights), **{key: data[key] for key in _BOUNDS})


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)
