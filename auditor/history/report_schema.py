"""A findings.json brought into the history (`history import`) is checked before anything is written.

It comes from elsewhere (another machine, an earlier version, a hand edit): it must follow the
published schema (reports/findings.schema.json), each problem named by its JSON path, in French,
and name each establishment once. A file nested without end, or too large, is refused as such
instead of exhausting the interpreter.
"""

from __future__ import annotations

import json
from collections import Counter
from functools import lru_cache
from pathlib import Path

from jsonschema import Draft202012Validator, FormatChecker
from jsonschema.exceptions import ValidationError

from ..config.resources import findings_schema
from ..model.issues import AuditError
from ..model.text import french_number, plural

MAX_BYTES = 2 << 30  # a national findings.json is about 250 MB
SHOWN = 10  # problems listed; the count says how many more


@lru_cache(maxsize=1)
def _validator() -> Draft202012Validator:
    schema = json.loads(findings_schema().read_text(encoding="utf-8"))
    return Draft202012Validator(schema, format_checker=FormatChecker())


def check_report_file(path: Path) -> None:
    """AuditError naming the file and the JSON path of each problem, if `path` is no valid findings.json."""
    path = Path(path)
    if not path.is_file():
        raise AuditError(f"{path} : n'est pas un fichier")
    if path.stat().st_size > MAX_BYTES:
        raise AuditError(f"{path} : fichier de plus de {MAX_BYTES >> 30} Go, ce n'est pas un findings.json")
    try:
        data = json.loads(path.read_bytes())
    except RecursionError:
        raise AuditError(f"{path} : JSON imbriqué trop profondément, ce n'est pas un findings.json") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise AuditError(f"{path} : ce n'est pas un findings.json de vt-audit (JSON invalide : {exc})") from None
    except OSError as exc:
        raise AuditError(f"{path} : lecture impossible ({exc.strerror})") from None
    try:
        errors = sorted(_validator().iter_errors(data), key=lambda e: [str(p) for p in e.absolute_path])
    except RecursionError:
        raise AuditError(f"{path} : JSON imbriqué trop profondément, ce n'est pas un findings.json") from None
    if errors:
        shown = " ; ".join(f"{_json_path(e)} : {_french(e)}" for e in errors[:SHOWN])
        more = f" (et {french_number(len(errors) - SHOWN)} autres)" if len(errors) > SHOWN else ""
        raise AuditError(f"{path} : non conforme au schéma de findings.json : {shown}{more}")
    # Counted once (a national file names 40,000 establishments).
    repeated = sorted(f for f, n in Counter(e["finess"] for e in data["establishments"]).items() if n > 1)
    if repeated:
        raise AuditError(f"{path} : establishments : {plural(len(repeated), 'établissement')} en double : "
                         f"{', '.join(repeated[:SHOWN])}")


def _json_path(error: ValidationError) -> str:
    path = "$"
    for part in error.absolute_path:
        path += f"[{part}]" if isinstance(part, int) else f".{part}"
    return path


_TYPES = {"string": "un texte", "integer": "un entier", "number": "un nombre", "boolean": "vrai ou faux",
          "object": "un objet", "array": "une liste", "null": "null"}


def _french(error: ValidationError) -> str:
    """The problem in French (jsonschema's messages are English)."""
    kind, expected = error.validator, error.validator_value
    if kind == "required":
        missing = [name for name in expected if isinstance(error.instance, dict) and name not in error.instance]
        return "champ obligatoire absent : " + ", ".join(missing)
    if kind == "type":
        wanted = [expected] if isinstance(expected, str) else expected
        return f"{' ou '.join(_TYPES.get(t, t) for t in wanted)} attendu, trouvé {_shown(error.instance)}"
    if kind in ("enum", "const"):
        choices = expected if kind == "enum" else [expected]
        return f"valeur {_shown(error.instance)} inconnue ; attendu : {', '.join(map(_shown, choices))}"
    if kind == "additionalProperties":
        return "champ inconnu du schéma"
    if kind in ("minimum", "maximum", "minLength", "maxLength", "minItems", "pattern", "format"):
        return f"valeur {_shown(error.instance)} hors des limites du schéma ({kind} : {expected})"
    return f"valeur {_shown(error.instance)} non conforme ({kind})"


def _shown(value) -> str:
    text = json.dumps(value, ensure_ascii=False)
    return f"« {text[:40]}{'…' if len(text) > 40 else ''} »"
