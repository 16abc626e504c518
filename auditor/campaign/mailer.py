"""Delivering the outbox over SMTP, with a send journal in the history.

- Idempotent: an establishment whose report of that month the journal says
  was sent is not sent again.
- Resumable: every attempt is committed to the journal as soon as the server
  answers, so after a crash, a dropped connection or a refused recipient the
  next `send` takes up the ones not sent; each failure keeps the server's answer.
- Rate-limited (messages per minute), STARTTLS, SSL or plain, with login; the
  password is read from the environment when connecting, and never written.
"""

from __future__ import annotations

import smtplib
import time
from dataclasses import dataclass, field
from email.utils import getaddresses

import pandas as pd

from ..history.store import History
from ..model.issues import AuditError
from .config import CampaignConfig, SmtpSettings
from .outbox import Outgoing

_CONNECTION_LOST = (smtplib.SMTPServerDisconnected, ConnectionError, TimeoutError, OSError)


@dataclass
class SendReport:
    sent: list[str] = field(default_factory=list)
    already_sent: list[str] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)  # (finess, why)
    without_message: list[Outgoing] = field(default_factory=list)
    stopped: str | None = None  # why the campaign stopped before its end (connection lost)


def connect(settings: SmtpSettings) -> smtplib.SMTP:
    """An open, authenticated connection; AuditError in French when the server cannot be reached."""
    try:
        if settings.security == "ssl":
            client = smtplib.SMTP_SSL(settings.host, settings.port, timeout=settings.timeout,
                                      context=settings.tls_context())
        else:
            client = smtplib.SMTP(settings.host, settings.port, timeout=settings.timeout)
            if settings.security == "starttls":
                client.starttls(context=settings.tls_context())
        client.ehlo_or_helo_if_needed()  # mail() below does not greet by itself (login() and sendmail() do)
        password = settings.password()
        if password is not None:
            client.login(settings.username, password)
        return client
    except smtplib.SMTPAuthenticationError as exc:
        raise AuditError(f"serveur SMTP {settings.host}:{settings.port} : identification refusée "
                         f"({exc.smtp_code})") from None
    except (smtplib.SMTPException, OSError) as exc:
        raise AuditError(f"serveur SMTP {settings.host}:{settings.port} injoignable ({_reason(exc)})") from None


def send_all(outgoing: list[Outgoing], config: CampaignConfig, history: History, as_of: pd.Timestamp,
             *, sleep=time.sleep, clock=time.monotonic) -> SendReport:
    report = SendReport()
    done = history.sent(as_of)
    todo = []
    for item in outgoing:
        if item.message is None:
            report.without_message.append(item)
        elif item.finess in done:
            report.already_sent.append(item.finess)
        else:
            todo.append(item)
    if not todo:
        return report
    client = connect(config.smtp)
    interval, last = 60.0 / config.rate_per_minute, None
    sender = getaddresses([config.sender])[0][1]
    try:
        for item in todo:
            if last is not None and clock() - last < interval:
                sleep(interval - (clock() - last))
            last = clock()
            try:
                status, answer = _deliver(client, sender, item)
            except _CONNECTION_LOST as exc:
                history.record_delivery(as_of, item.finess, item.recipients, "failed",
                                        f"connexion perdue : {_reason(exc)}", config.deadline)
                report.failed.append((item.finess, f"connexion perdue : {_reason(exc)}"))
                try:  # once: a server that dropped one connection may take the next
                    client = connect(config.smtp)
                except AuditError as again:
                    report.stopped = str(again)
                    return report
                continue
            history.record_delivery(as_of, item.finess, item.recipients, status, answer, config.deadline)
            (report.sent.append(item.finess) if status == "sent" else report.failed.append((item.finess, answer)))
    finally:
        try:
            client.quit()
        except _CONNECTION_LOST + (smtplib.SMTPException,):
            pass
    return report


def _deliver(client: smtplib.SMTP, sender: str, item: Outgoing) -> tuple[str, str]:
    """One message, recipient by recipient, so that each refusal keeps the server's answer."""
    try:
        code, answer = client.mail(sender)
        if code != 250:
            client.rset()
            return "failed", f"expéditeur refusé : {code} {_text(answer)}"
        refused = []
        for recipient in item.recipients:
            code, answer = client.rcpt(recipient)
            if code not in (250, 251):
                refused.append(f"{recipient} ({code} {_text(answer)})")
        if len(refused) == len(item.recipients):
            client.rset()
            return "failed", "destinataires refusés : " + ", ".join(refused)
        # SMTP lines end with CRLF (RFC 5321): a message serialised with bare LF reads as one long line.
        code, answer = client.data(item.message.as_bytes(policy=item.message.policy.clone(linesep="\r\n")))
        if code != 250:
            return "failed", f"message refusé : {code} {_text(answer)}"
        note = f" ; refusés : {', '.join(refused)}" if refused else ""
        return "sent", f"{code} {_text(answer)}{note}"
    except smtplib.SMTPResponseException as exc:
        return "failed", f"{exc.smtp_code} {_text(exc.smtp_error)}"


def _text(answer) -> str:
    return answer.decode("utf-8", "replace") if isinstance(answer, bytes) else str(answer)


def _reason(exc: BaseException) -> str:
    return str(exc) or type(exc).__name__
