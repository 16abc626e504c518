"""The machine values every stage shares, each with the French label people read.

A value is what findings.json, junit.xml and the history already publish and store: some are
English codes (severities), some French words (statuses, decisions, contact roles) kept as they
were published. Code compares and stores the values; reports show the labels. Each enumeration
is a `str`, so a member equals its value and is written as it.
"""

from __future__ import annotations

from enum import Enum


class Code(str, Enum):
    """A `str` enumeration written as its value (f-strings, str(), reports), on Python 3.10 as on 3.12."""

    def __str__(self) -> str:
        return self.value

    def __format__(self, spec: str) -> str:
        return self.value.__format__(spec)

    def __hash__(self) -> int:  # Enum hashes the member's name: a member must find its value's dict entry
        return str.__hash__(self)

    @classmethod
    def values(cls) -> tuple[str, ...]:
        return tuple(member.value for member in cls)


class Severity(Code):
    """A finding's severity, most severe first."""

    ERROR = "error"
    WARNING = "warning"
    INFO = "info"

    @property
    def label(self) -> str:
        return {"error": "erreur", "warning": "avertissement", "info": "information"}[self.value]

    @property
    def rank(self) -> int:
        return {"error": 3, "warning": 2, "info": 1}[self.value]


class Status(Code):
    """A finding against the previous audit of the history (see history/follow_up.py)."""

    NEW = "nouveau"
    PERSISTING = "persistant"
    RETURNING = "réapparu"
    RESOLVED = "résolu"  # gone, where this export has data for its establishment
    UNVERIFIED = "non vérifié"  # gone, but its establishment is missing from this export

    @property
    def labels(self) -> tuple[str, str]:
        """Singular and plural, as people read a count of them."""
        return self.value, {"nouveau": "nouveaux", "non vérifié": "non vérifiés"}.get(self.value, self.value + "s")


class Decision(Code):
    """A director's decision on an account in the access review (written as such in the workbook)."""

    KEEP = "Conserver"
    CHANGE = "Modifier"
    ARCHIVE = "Archiver"


class ContactRole(Code):
    """Why an address receives an establishment's report."""

    REFERENT = "référent"  # an active account holding a referent role there
    DIRECTOR = "direction"  # the referential's director e-mail
    CONTACT = "contact"  # the campaign's contacts file
