"""The campaign file (campagne.yaml): how to send the directors' reports, checked like the rulebooks.

    smtp:
      host: smtp.ars.example
      port: 587
      security: starttls        # starttls | ssl | none
      username: audit-vt@ars.example
      password_env: VT_AUDIT_SMTP_PASSWORD
      ca_file: ca-ars.pem       # optional: the authority of a server with a private certificate
    from: "ARS PACA - audit VT Handicap <audit-vt@ars.example>"
    reply_to: audit-vt@ars.example
    deadline: 2026-12-15
    rate_per_minute: 30         # optional, default 30
    contacts: contacts.csv      # optional: FINESS;e-mail;role, relative to this file
    timeout_seconds: 30         # optional

The password never sits in the file: `password_env` names the environment
variable that holds it.
"""

from __future__ import annotations

import datetime as dt
import os
import ssl
from dataclasses import dataclass
from email.headerregistry import Address
from email.utils import getaddresses
from pathlib import Path

from ..config.yamlfile import LineDict, read_yaml, yaml_date
from ..model.issues import AuditError

SECURITIES = ("starttls", "ssl", "none")
_TOP = {"smtp": True, "from": True, "reply_to": True, "deadline": True, "rate_per_minute": False,
        "contacts": False, "timeout_seconds": False}
_SMTP = {"host": True, "port": True, "security": True, "username": False, "password_env": False,
         "ca_file": False}


@dataclass(frozen=True)
class SmtpSettings:
    host: str
    port: int
    security: str
    username: str | None
    password_env: str | None
    timeout: float
    ca_file: Path | None = None

    def tls_context(self) -> ssl.SSLContext:
        """Certificates checked against the system's authorities, or the one the file names."""
        return ssl.create_default_context(cafile=str(self.ca_file) if self.ca_file else None)

    def password(self) -> str | None:
        """From the environment, read when sending (never stored, logged or reported)."""
        if not self.username:
            return None
        value = os.environ.get(self.password_env or "")
        if not value:
            raise AuditError(f"mot de passe SMTP absent : définir la variable d'environnement {self.password_env}")
        return value


@dataclass(frozen=True)
class CampaignConfig:
    smtp: SmtpSettings
    sender: str
    reply_to: str
    deadline: dt.date
    rate_per_minute: int = 30
    contacts: Path | None = None


def load_config(path: Path) -> CampaignConfig:
    """Every problem of the file at once, each with its line."""
    path = Path(path)
    data = read_yaml(path)
    if not isinstance(data, LineDict):
        raise AuditError(f"{path} : un dictionnaire de réglages est attendu (smtp, from, reply_to, deadline)")
    problems: list[str] = []
    _keys(data, _TOP, "", problems)
    smtp = data.get("smtp")
    if "smtp" in data and not isinstance(smtp, LineDict):
        problems.append(f"ligne {data.line_of('smtp')} : « smtp » est un dictionnaire (host, port, security…)")
        smtp = LineDict()
    smtp = smtp if isinstance(smtp, LineDict) else LineDict()
    _keys(smtp, _SMTP, "smtp.", problems)
    port = smtp.get("port")
    if "port" in smtp and not (isinstance(port, int) and not isinstance(port, bool) and 0 < port < 65536):
        problems.append(f"ligne {smtp.line_of('port')} : « smtp.port » est un numéro de port (1 à 65535)")
    if "security" in smtp and smtp["security"] not in SECURITIES:
        problems.append(f"ligne {smtp.line_of('security')} : « smtp.security » vaut {', '.join(SECURITIES)}")
    if smtp.get("username") and not smtp.get("password_env"):
        problems.append(f"ligne {smtp.line_of('username')} : avec « username », donner « password_env », le nom de "
                        "la variable d'environnement qui contient le mot de passe")
    for key in ("from", "reply_to"):
        if key in data and not _address(data[key]):
            problems.append(f"ligne {data.line_of(key)} : « {key} » n'est pas une adresse e-mail valide")
    deadline = yaml_date(data.get("deadline"))
    if "deadline" in data and deadline is None:
        problems.append(f"ligne {data.line_of('deadline')} : « deadline » est une date (AAAA-MM-JJ)")
    rate = data.get("rate_per_minute", 30)
    if not (isinstance(rate, int) and not isinstance(rate, bool) and 1 <= rate <= 100_000):
        problems.append(f"ligne {data.line_of('rate_per_minute')} : « rate_per_minute » est un entier de 1 à 100000")
    timeout = data.get("timeout_seconds", 30)
    if not (isinstance(timeout, (int, float)) and not isinstance(timeout, bool) and 0 < timeout <= 600):
        problems.append(f"ligne {data.line_of('timeout_seconds')} : « timeout_seconds » est un nombre de 1 à 600")
    if problems:
        raise AuditError(f"{path} : " + " ; ".join(problems))
    contacts, ca_file = data.get("contacts"), smtp.get("ca_file")
    return CampaignConfig(
        SmtpSettings(str(smtp["host"]), port, smtp["security"], smtp.get("username"), smtp.get("password_env"),
                     float(timeout), (path.parent / str(ca_file)) if ca_file else None),
        str(data["from"]), str(data["reply_to"]), deadline, rate,
        (path.parent / str(contacts)) if contacts else None,
    )


def _keys(data: LineDict, accepted: dict[str, bool], prefix: str, problems: list[str]) -> None:
    for key in data:
        if key not in accepted:
            problems.append(f"ligne {data.line_of(key)} : clé inconnue « {prefix}{key} » ; clés valides : "
                            + ", ".join(prefix + k for k in accepted))
    for key, required in accepted.items():
        if required and key not in data:
            problems.append(f"clé obligatoire absente : « {prefix}{key} »")


def _address(value) -> str | None:
    """The e-mail address in "Name <a@b>" or "a@b", or None when there is none."""
    if not isinstance(value, str):
        return None
    (name, address), *rest = getaddresses([value]) or [("", "")]
    if rest or "@" not in address:
        return None
    try:
        Address(display_name=name, addr_spec=address)
    except (ValueError, IndexError):
        return None
    return address
