"""Delivering the outbox over SMTP, with a send journal per recipient in the history.

- Idempotent: a recipient the journal says received the report of that month,
  or refused it for good (5xx), is not written to again.
- Resumable: every attempt is committed as soon as the server answers; a temporary
  refusal (4xx) or a connection lost before the end of a message is tried again
  by the next `send`. Each refusal keeps the server's answer.
- Honest about doubt: a connection lost while the server was replying to a whole
  message (it may have queued it) is « incertain », reported and not sent again
  unless asked (`--renvoyer-incertains`): nobody gets the report twice by mistake.
- A server that takes fewer recipients per message (452) gets the rest in another.
- Rate-limited (messages per minute), STARTTLS, SSL or plain, with login; the
  password is read from the environment when connecting, and never written.
"""

from __future__ import annotations

import re
import smtplib
import time
from dataclasses import dataclass, field
from email import policy
from email.utils import getaddresses

import pandas as pd

from ..history.store import History
from ..model.addresses import needs_smtputf8
from ..model.issues import AuditError
from ..model.progress import Progress, note_if_interrupted, silent
from ..model.text import plural
from .config import CampaignConfig, SmtpSettings
from .outbox import Outgoing

_CONNECTION_LOST = (smtplib.SMTPServerDisconnected, ConnectionError, TimeoutError, OSError)
DONE = ("sent", "refused")  # a recipient never written to again for that month
STATE_LABELS = {"sent": "envoyé", "deferred": "à réessayer", "refused": "refusé", "uncertain": "incertain"}


@dataclass
class SendReport:
    sent: list[str] = field(default_factory=list)  # establishments that anyone received the report of
    already_sent: list[str] = field(default_factory=list)
    # (finess, e-mail, state, answer) of every recipient not reached in this send: deferred, refused, uncertain
    not_reached: list[tuple[str, str, str, str]] = field(default_factory=list)
    uncertain_kept: list[tuple[str, str]] = field(default_factory=list)  # earlier uncertain ones, not resent
    without_message: list[Outgoing] = field(default_factory=list)
    reached: int = 0  # recipients who received the report in this send
    stopped: str | None = None  # why the campaign stopped before its end (connection lost twice)

    @property
    def failed(self) -> bool:
        return bool(self.not_reached)


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


def send_all(outgoing: list[Outgoing], config: CampaignConfig, history: History, as_of: pd.Timestamp, *,
             resend_uncertain: bool = False, progress: Progress = silent, sleep=time.sleep,
             clock=time.monotonic) -> SendReport:
    report = SendReport()
    todo = _still_to_send(outgoing, history.recipient_states(as_of), resend_uncertain, report)
    if not todo:
        return report
    client = connect(config.smtp)
    interval, last, lost = 60.0 / config.rate_per_minute, None, 0
    sender = getaddresses([config.sender])[0][1]

    def note():
        return (f"{plural(len(report.sent), 'rapport envoyé', 'rapports envoyés')} avant l'interruption ; "
                "relancer la même commande reprendra là où elle s'est arrêtée")

    try:
        with note_if_interrupted(note):
            for item, recipients in progress(todo, len(todo), "envois"):
                if last is not None and clock() - last < interval:
                    sleep(interval - (clock() - last))
                last = clock()
                outcomes: dict[str, tuple[str, str]] = {}
                try:
                    _deliver(client, sender, item, recipients, config.smtp.data_timeout, outcomes)
                except _CONNECTION_LOST as exc:
                    for recipient in recipients:  # not yet answered: tried again by the next send
                        outcomes.setdefault(recipient, ("deferred", f"connexion perdue : {_reason(exc)}"))
                    lost += 1
                _journal(history, as_of, item, outcomes, config, report)
                if lost and not client_alive(client):
                    if lost > 1:
                        report.stopped = "connexion au serveur SMTP perdue une deuxième fois"
                        return report
                    try:  # once: a server that dropped one connection may take the next
                        client = connect(config.smtp)
                    except AuditError as again:
                        report.stopped = str(again)
                        return report
    finally:
        try:
            client.quit()
        except _CONNECTION_LOST + (smtplib.SMTPException,):
            pass
    return report


def _still_to_send(outgoing: list[Outgoing], states: pd.DataFrame, resend_uncertain: bool,
                   report: SendReport) -> list[tuple[Outgoing, list[str]]]:
    """Each message with the recipients the journal has not seen receive or refuse it for good."""
    todo = []
    # Each establishment's addresses by state, grouped once (not one filter of the journal per message).
    lowered = states.assign(email=states["email"].str.lower())
    done_by = lowered[lowered["status"].isin(DONE)].groupby("finess")["email"].agg(set)
    uncertain_by = lowered[lowered["status"].eq("uncertain")].groupby("finess")["email"].agg(set)
    for item in outgoing:
        if item.message is None:
            report.without_message.append(item)
            continue
        done = set(done_by.get(item.finess, ()))
        uncertain = set(uncertain_by.get(item.finess, ())) - done
        if not resend_uncertain:
            report.uncertain_kept += [(item.finess, r) for r in item.recipients if r.lower() in uncertain]
            done |= uncertain
        remaining = [r for r in item.recipients if r.lower() not in done]
        if "*" in done or not remaining:  # "*": sent to everyone before the journal was per recipient
            report.already_sent.append(item.finess)
        else:
            todo.append((item, remaining))
    return todo


def client_alive(client: smtplib.SMTP) -> bool:
    return getattr(client, "sock", None) is not None


def _journal(history: History, as_of, item: Outgoing, outcomes: dict, config: CampaignConfig,
             report: SendReport) -> None:
    history.record_delivery(as_of, item.finess, outcomes, config.deadline)
    reached = [r for r, (state, _) in outcomes.items() if state == "sent"]
    report.reached += len(reached)
    if reached:
        report.sent.append(item.finess)
    report.not_reached += [(item.finess, r, state, answer) for r, (state, answer) in outcomes.items()
                           if state != "sent"]


class _Uncertain(smtplib.SMTPServerDisconnected):
    """The connection was lost while the server replied to a whole message: it may have queued it."""


def _deliver(client: smtplib.SMTP, sender: str, item: Outgoing, recipients: list[str], data_timeout: float,
             outcomes: dict[str, tuple[str, str]]) -> None:
    """One establishment's message to `recipients`, recipient by recipient, so that each refusal keeps the
    server's answer; in several transactions when the server caps the recipients of one (452).
    `outcomes` is filled as the server answers (a lost connection leaves the rest to the caller)."""
    client.ehlo_or_helo_if_needed()
    pending = []
    for recipient in recipients:
        if needs_smtputf8(recipient) and not client.has_extn("smtputf8"):
            outcomes[recipient] = ("refused", "adresse accentuée : le serveur n'accepte pas SMTPUTF8")
        else:
            pending.append(recipient)
    while pending:
        utf8 = any(map(needs_smtputf8, pending))
        code, answer = client.mail(sender, ["SMTPUTF8", "BODY=8BITMIME"] if utf8 else [])
        if code != 250:
            client.rset()
            for recipient in pending:
                outcomes[recipient] = (_state(code), f"expéditeur refusé : {code} {_text(answer)}")
            return
        accepted, rest = [], []
        for position, recipient in enumerate(pending):
            code, answer = client.rcpt(recipient)
            if code in (250, 251):
                accepted.append(recipient)
            elif code == 452 and accepted:  # too many recipients for one message: the rest in another
                rest = pending[position:]
                break
            else:
                outcomes[recipient] = (_state(code), f"{code} {_text(answer)}")
        if not accepted:
            client.rset()
            return
        try:
            code, answer = _data(client, item, utf8, data_timeout)
        except _Uncertain:
            for recipient in accepted:
                outcomes[recipient] = ("uncertain", "connexion perdue ou délai dépassé avant la réponse du serveur "
                                       "au message entier : il l'a peut-être reçu")
            raise
        for recipient in accepted:
            outcomes[recipient] = ("sent", f"{code} {_text(answer)}") if code == 250 else \
                (_state(code), f"message refusé : {code} {_text(answer)}")
        pending = rest


def _data(client: smtplib.SMTP, item: Outgoing, utf8: bool, data_timeout: float) -> tuple[int, bytes]:
    """DATA, written out so that a connection lost while sending the message (not received: tried again)
    is told apart from one lost while the server replies to it (received, maybe: uncertain)."""
    code, answer = client.docmd("data")
    if code != 354:
        client.rset()  # the transaction ends here: a further message starts a new one
        return code, answer
    # SMTP lines end with CRLF (RFC 5321): a message serialised with bare LF reads as one long line.
    message_policy = (policy.SMTPUTF8 if utf8 else item.message.policy).clone(linesep="\r\n")
    payload = re.sub(rb"(?m)^\.", b"..", item.message.as_bytes(policy=message_policy))
    client.send(payload + (b"" if payload.endswith(b"\r\n") else b"\r\n") + b".\r\n")
    client.sock.settimeout(data_timeout)  # RFC 5321 4.5.3.2.6: up to 10 minutes for this reply
    try:
        return client.getreply()
    except _CONNECTION_LOST as exc:
        raise _Uncertain(_reason(exc)) from None
    finally:
        if client.sock is not None:
            client.sock.settimeout(client.timeout)


def _state(code: int) -> str:
    """A refusal's journal state: 4xx is temporary (tried again), 5xx permanent."""
    return "deferred" if 400 <= code < 500 else "refused"


def _text(answer) -> str:
    return answer.decode("utf-8", "replace") if isinstance(answer, bytes) else str(answer)


def _reason(exc: BaseException) -> str:
    return str(exc) or type(exc).__name__
