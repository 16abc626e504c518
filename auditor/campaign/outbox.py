"""The outbox: one French e-mail per establishment, its bundle workbook attached.

Composing is apart from delivering (see mailer.py): `--dry-run` writes the
same messages as .eml files for review, and sends nothing.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from email.header import Header
from email.message import EmailMessage
from email.utils import formatdate, getaddresses, make_msgid
from pathlib import Path

import pandas as pd

from ..files import atomic_path, make_folder
from ..inputs.read import read_grids
from ..model.addresses import checked_addresses
from ..model.enums import ContactRole
from ..model.findings_file import read_report
from ..model.frames import TEXT
from ..model.issues import AuditError
from ..model.text import fold, of, plural
from ..render.bundles import BUNDLE_DIR, bundle_stems
from .config import CampaignConfig
from .links import campaign_link, review_url

XLSX_TYPE = ("application", "vnd.openxmlformats-officedocument.spreadsheetml.sheet")


@dataclass
class Outgoing:
    """One establishment's message, or why there is none."""

    finess: str
    name: str
    recipients: list[str]
    message: EmailMessage | None = None
    stem: str = ""
    problems: list[str] = field(default_factory=list)
    closed: bool = False  # closed at the audit date: nobody there to write to, and that is no failure


def read_contacts(path: Path) -> tuple[pd.DataFrame, list[str]]:
    """An optional contacts file: FINESS; e-mail; role, read like the exports (any encoding or separator).

    Returns the contacts and the problems of the rows left out (a missing FINESS, an address that
    cannot be written to), each with its line: only those recipients are lost."""
    known = frozenset({"finess", "e mail", "email", "mail", "courriel", "role"})
    grid = read_grids(Path(path), known)[0]
    header = [fold(cell) for cell in grid.head[0]] if grid.head else []
    finess_at = next((i for i, h in enumerate(header) if "finess" in h), None)
    email_at = next((i for i, h in enumerate(header) if "mail" in h or "courriel" in h), None)
    role_at = next((i for i, h in enumerate(header) if "role" in h or "fonction" in h), None)
    if finess_at is None or email_at is None:
        raise AuditError(f"{path}, ligne 1 : colonnes « FINESS » et « e-mail » attendues "
                         f"(trouvé : {', '.join(grid.head[0]) if grid.head else 'rien'})")
    body = grid.read_body(0)
    cells = body.cells.reindex(columns=range(max(finess_at, email_at, role_at or 0) + 1))

    def column(position):
        return cells[position].astype(TEXT).str.strip().fillna("")

    address, problem = checked_addresses(column(email_at))
    contacts = pd.DataFrame({"finess": column(finess_at).str.replace(" ", "", regex=False), "email": address,
                             "role": column(role_at).replace("", ContactRole.CONTACT.value) if role_at is not None
                             else ContactRole.CONTACT.value})
    blank = contacts["finess"].eq("") & column(email_at).eq("")
    problem = problem.where(contacts["finess"].ne(""), "FINESS manquant").where(address.notna() | problem.notna(),
                                                                                  "e-mail manquant")
    bad = (~blank & (problem.notna() | address.isna())).to_numpy()
    problems = [f"{path}, ligne {line} : contact non retenu : {reason}"
                for line, reason in zip(body.lines[bad], problem.to_numpy()[bad])]
    return contacts[~blank.to_numpy() & ~bad].reset_index(drop=True), problems


def compose(reports: Path, config: CampaignConfig, recipients: pd.DataFrame) -> tuple[pd.Timestamp, list[Outgoing]]:
    """The messages of the reports in `reports` (a `vt-audit run --per-establishment` output folder).

    `recipients`: finess, email, role (from the history and the contacts file).
    """
    report = read_report(Path(reports) / "findings.json")
    as_of = report["as_of"]
    establishments = pd.DataFrame(report["establishments"])
    stems = bundle_stems(establishments.sort_values("finess"))
    resolved = pd.Series([g["finess"] for g in (report.get("follow_up") or {}).get("resolved", [])],
                         dtype=object).value_counts()
    to = recipients.groupby("finess")["email"].agg(lambda emails: sorted(set(emails)))
    secret = config.portal.secret() if config.portal is not None else None  # checked before any message
    outgoing = []
    for row in establishments.itertuples(index=False):
        attachment = Path(reports) / BUNDLE_DIR / f"{stems[row.finess]}.xlsx"
        item = Outgoing(row.finess, row.name, list(to.get(row.finess, [])), stem=stems[row.finess],
                        closed=bool(getattr(row, "closed", False)))
        if item.closed:
            item.problems.append("établissement fermé à la date d'audit : ses comptes sont à archiver (ETB-01), "
                                 "rien ne lui est envoyé")
        elif not item.recipients:
            item.problems.append("aucun destinataire (ni référent actif ayant un e-mail, ni contact, ni direction)")
        if not attachment.exists():
            item.problems.append(f"rapport absent : {attachment}")
        if not item.problems:
            counts = {s: int(getattr(row, s)) for s in ("error", "warning", "info")}
            online = None
            if secret is not None:
                link = campaign_link(row.finess, as_of.date(), config.deadline, config.portal.grace_days)
                online = (review_url(config.portal.url, secret, link), link.expires)
            item.message = _message(config, as_of, row.finess, row.name, item.recipients, counts,
                                    int(resolved.get(row.finess, 0)), attachment, online)
        outgoing.append(item)
    return as_of, outgoing


def set_subject(message: EmailMessage, subject: str) -> None:
    """The Subject as encoded words made by the legacy Header class, kept as written: the default
    policy's folder doubles a space, or leaves an empty encoded word, before a folded non-ASCII word
    in about one subject in seven."""
    message.set_raw("Subject", Header(subject, "utf-8", header_name="Subject").encode())


def _message(config: CampaignConfig, as_of: pd.Timestamp, finess: str, name: str, recipients: list[str],
             counts: dict, resolved: int, attachment: Path,
             online: tuple[str, dt.date] | None = None) -> EmailMessage:
    """`online`: the review page's address and the last day it works, with a portal."""
    deadline = f"{config.deadline:%d/%m/%Y}"
    message = EmailMessage()
    set_subject(message, f"Comptes ViaTrajectoire Handicap : {name} — audit du {as_of:%d/%m/%Y}, "
                f"à traiter avant le {deadline}")
    message["From"] = config.sender
    message["To"] = ", ".join(recipients)
    message["Reply-To"] = config.reply_to
    message["Date"] = formatdate(localtime=True)
    message["Message-ID"] = make_msgid(domain=config.reply_to.partition("@")[2] or None)
    signature = getaddresses([config.sender])[0][0] or config.sender
    found = (f"{plural(counts['error'], 'erreur')}, {plural(counts['warning'], 'avertissement')} et "
             f"{plural(counts['info'], 'information')}")
    online = "" if online is None else f"""
   Ou, sans classeur, répondre en ligne avant la même date (lien personnel à l'établissement, à ne pas
   transférer, qui reste ouvert jusqu'au {online[1]:%d/%m/%Y}) :
   {online[0]}"""
    message.set_content(f"""Bonjour,

Voici l'audit des comptes ViaTrajectoire Handicap / ROR {of(name)} (FINESS {finess}) au {as_of:%d/%m/%Y} :
{found}{f", et {plural(resolved, 'constat résolu', 'constats résolus')} depuis le dernier audit" if resolved else ""}.

Ce qui vous est demandé, avant le {deadline} :
1. Traiter la liste « À faire » du classeur joint : pour chaque personne, ses constats et les étapes de la
   fiche pratique « VT Handicap : gestion des comptes utilisateurs ».
2. Compléter la feuille « Revue des accès » : pour chaque compte, choisir Conserver, Modifier ou Archiver
   dans la colonne Décision, et ajouter un commentaire si besoin.
3. Renvoyer le classeur complété en réponse à ce message ({config.reply_to}).{online}

Une demande de rôle référent (ROR ou VT) s'adresse à viatrajectoire@ies-sud.fr.
Ce classeur contient des données personnelles : ne le transmettez qu'aux personnes concernées.

Cordialement,
{signature}
""")
    message.add_attachment(attachment.read_bytes(), maintype=XLSX_TYPE[0], subtype=XLSX_TYPE[1],
                           filename=attachment.name)
    return message


def write_eml(outgoing: list[Outgoing], folder: Path) -> list[Path]:
    """--dry-run: one .eml per establishment, written atomically, for review; nothing is sent."""
    make_folder(folder)
    written = []
    for item in outgoing:
        if item.message is not None:
            with atomic_path(folder / f"{item.stem}.eml") as temporary:
                temporary.write_bytes(bytes(item.message))
            written.append(folder / f"{item.stem}.eml")
    return written
