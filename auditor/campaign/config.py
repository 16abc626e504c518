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
    timeout_seconds: 30         # optional: for each command
    data_timeout_seconds: 600   # optional: for the server's reply to a whole message (RFC 5321: 10 minutes)
    portail:                    # optional: the directors answer online too (vt-audit serve)
      url: https://revue.ars.example
      secret_env: VT_AUDIT_PORTAIL_SECRET
      grace_days: 15            # optional: the links work until the deadline plus these days
      revoked: ["040000010:2026-11-01"]   # optional: links withdrawn (FINESS:audit date)

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

from ..config.schema import Field, Problems
from ..config.yamlfile import LineDict, read_yaml, yaml_date
from ..model.issues import AuditError

SECURITIES = ("starttls", "ssl", "none")
# The file's keys; the addresses and the deadline are checked below.
CAMPAIGN_FIELDS = {"smtp": Field(dict, required=True), "from": Field(str, required=True),
                   "reply_to": Field(str, required=True), "deadline": Field(object),
                   "rate_per_minute": Field(int, 1, maximum=100_000), "contacts": Field(str),
                   "timeout_seconds": Field(float, 1, maximum=600),
                   "data_timeout_seconds": Field(float, 1, maximum=3600), "portail": Field(dict)}
PORTAL_FIELDS = {"url": Field(str, required=True), "secret_env": Field(str, required=True),
                 "grace_days": Field(int, 0, maximum=365), "revoked": Field(list),
                 "rate_per_minute": Field(int, 1, maximum=100_000)}
MIN_SECRET_CHARS = 32  # a secret of at least 32 characters signs the links (itsdangerous, HMAC-SHA256)
SMTP_FIELDS = {"host": Field(str, required=True), "port": Field(int, 1, maximum=65535, required=True),
               "security": Field(str, choices=SECURITIES, required=True), "username": Field(str),
               "password_env": Field(str), "ca_file": Field(str)}


@dataclass(frozen=True)
class SmtpSettings:
    host: str
    port: int
    security: str
    username: str | None
    password_env: str | None
    timeout: float
    ca_file: Path | None = None
    data_timeout: float = 600.0  # the reply to the end of a message: the server may be queueing it (RFC 5321)

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
class PortalSettings:
    """The review portal (vt-audit serve): its public address and the secret that signs its links."""

    url: str
    secret_env: str
    grace_days: int = 15
    revoked: frozenset[str] = frozenset()  # "FINESS:AAAA-MM-JJ"
    rate_per_minute: int = 120  # requests of one client address

    def secret(self) -> str:
        """From the environment, read when needed (never stored, logged or reported)."""
        value = os.environ.get(self.secret_env, "")
        if len(value) < MIN_SECRET_CHARS:
            raise AuditError(f"secret du portail absent ou trop court : définir la variable d'environnement "
                             f"{self.secret_env} ({MIN_SECRET_CHARS} caractères au moins, par exemple "
                             "« python -c 'import secrets; print(secrets.token_urlsafe(48))' »)")
        return value


@dataclass(frozen=True)
class CampaignConfig:
    smtp: SmtpSettings
    sender: str
    reply_to: str
    deadline: dt.date | None  # optional when run --deadline gave it (see api.campaign_deadline)
    rate_per_minute: int = 30
    contacts: Path | None = None
    portal: PortalSettings | None = None


def load_config(path: Path) -> CampaignConfig:
    """Every problem of the file at once, each with its line."""
    path = Path(path)
    data = read_yaml(path)
    if not isinstance(data, LineDict):
        raise AuditError(f"{path} : un dictionnaire de réglages est attendu (smtp, from, reply_to, deadline)")
    problems = Problems(path, "le fichier de campagne")
    problems.check_keys(data, CAMPAIGN_FIELDS)
    smtp = data.get("smtp") if isinstance(data.get("smtp"), LineDict) else LineDict()
    if smtp:  # not a dictionary: check_keys said so
        problems.check_keys(smtp, SMTP_FIELDS, "smtp.")
    if smtp.get("username") and not smtp.get("password_env"):
        problems.add(smtp.line_of("username"), "avec « username », donner « password_env », le nom de la variable "
                     "d'environnement qui contient le mot de passe")
    for key in ("from", "reply_to"):
        if isinstance(data.get(key), str) and not _address(data[key]):
            problems.add(data.line_of(key), f"« {key} » n'est pas une adresse e-mail valide")
    portal = data.get("portail") if isinstance(data.get("portail"), LineDict) else None
    if portal is not None:
        problems.check_keys(portal, PORTAL_FIELDS, "portail.")
        if isinstance(portal.get("url"), str) and not portal["url"].startswith(("https://", "http://")):
            problems.add(portal.line_of("url"), "« portail.url » est l'adresse publique du portail (https://…)")
    deadline = yaml_date(data.get("deadline"))
    if data.get("deadline") not in (None, "") and deadline is None:
        problems.add(data.line_of("deadline"), "« deadline » est une date (AAAA-MM-JJ)")
    problems.raise_if_any()
    contacts, ca_file = data.get("contacts"), smtp.get("ca_file")
    return CampaignConfig(
        SmtpSettings(str(smtp["host"]), smtp["port"], smtp["security"], smtp.get("username"), smtp.get("password_env"),
                     float(data.get("timeout_seconds", 30)), (path.parent / str(ca_file)) if ca_file else None,
                     float(data.get("data_timeout_seconds", 600))),
        str(data["from"]), str(data["reply_to"]), deadline, data.get("rate_per_minute", 30),
        (path.parent / str(contacts)) if contacts else None,
        None if portal is None else PortalSettings(
            str(portal["url"]).rstrip("/"), str(portal["secret_env"]), portal.get("grace_days", 15),
            frozenset(str(r).replace(" ", "") for r in portal.get("revoked") or ()),
            portal.get("rate_per_minute", 120)),
    )


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
