"""The check kinds: a name used in the rulebooks -> a vectorised function (see registry.py).

Importing this package registers every family's checks; the engine and the rulebook read them
from `REGISTRY`.
"""

from . import activity, attachments, campaign, data_quality, establishments, referents, rights  # noqa: F401
from .registry import REGISTRY, CheckKind, describe_params

__all__ = ["REGISTRY", "CheckKind", "describe_params"]
