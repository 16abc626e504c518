"""The monthly campaign with real components: an SMTP server on 127.0.0.1 (aiosmtpd), real workbooks
written by the tool, filled in with openpyxl (and once re-saved by LibreOffice), a real history file."""

import asyncio
import datetime as dt
import email
import json
import os
import re
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from email import policy
from email.message import EmailMessage

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from openpyxl import load_workbook

from auditor.campaign.config import load_config
from auditor.campaign.mailer import send_all
from auditor.campaign.outbox import compose, set_subject
from auditor.cli.commands import main
from auditor.history.store import open_history
from auditor.render.review_workbook import REFERENCE_HEADER, review_reference
from tests.helpers import SAMPLES, SAMPLES_AS_OF, account_row, write_csv

PASSWORD = "s3cret-de-test"
# A deadline ahead of the day the tests run (send refuses one already past), after the samples' audit.
DEADLINE = max(dt.date.today(), dt.date(2026, 11, 2)) + dt.timedelta(days=30)
SOFFICE = shutil.which("soffice") or shutil.which("libreoffice")


class Recorder:
    """An SMTP server's handler: keeps what it accepts; refuses chosen recipients for good (5xx) or once
    (4xx); takes at most `cap` recipients a message; can stall its reply to a message, or drop the
    connection while replying (`drop_at`: the n-th message) or at a recipient (`drop_rcpt`)."""

    def __init__(self):
        self.messages, self.refused, self.drop_at, self.data_commands = [], set(), None, 0
        self.temporary, self.cap, self.stall, self.stall_at, self.drop_rcpt = set(), None, 0.0, None, set()

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.drop_rcpt:
            self.drop_rcpt.discard(address)
            server.transport.close()
            return "421 4.4.2 Connexion perdue"
        if address in self.refused:
            return "550 5.1.1 Destinataire inconnu"
        if address in self.temporary:
            self.temporary.discard(address)
            return "451 4.3.0 Boîte momentanément indisponible"
        if self.cap is not None and len(envelope.rcpt_tos) >= self.cap:
            return "452 4.5.3 Trop de destinataires"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.data_commands += 1
        if self.data_commands == self.drop_at:
            # The message arrived whole; the connection dies before the server says it queued it.
            server.transport.close()
            return "421 4.4.2 Connexion perdue"
        if self.data_commands == self.stall_at:
            await asyncio.sleep(self.stall)  # queued, but the reply comes after the client's patience
        self.messages.append((list(envelope.rcpt_tos), envelope.content))
        return "250 2.0.0 Message accepté"


def authenticate(server, session, envelope, mechanism, auth_data):
    return AuthResult(success=isinstance(auth_data, LoginPassword) and auth_data.login == b"audit"
                      and auth_data.password == PASSWORD.encode())


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def smtp_server():
    recorder = Recorder()
    controller = Controller(recorder, hostname="127.0.0.1", port=free_port(), authenticator=authenticate,
                            auth_require_tls=False)
    controller.start()
    yield recorder, controller.port
    controller.stop()


@pytest.fixture(scope="module")
def month(tmp_path_factory):
    """The samples audited with a history and every bundle: the month a campaign is sent for."""
    root = tmp_path_factory.mktemp("campaign")
    out, history = root / "rapports", root / "suivi.sqlite"
    main(["run", str(SAMPLES), "--out", str(out), "--as-of", SAMPLES_AS_OF, "--per-establishment",
          "--history", str(history), "--fail-on", "jamais", "--deadline", DEADLINE.isoformat()])
    return root, out, history


def campaign_history(month, tmp_path):
    """A copy of the month's history, so that each test's journal starts empty."""
    _, out, history = month
    copy = tmp_path / "suivi.sqlite"
    copy.write_bytes(history.read_bytes())
    return out, copy


def write_config(tmp_path, port, **overrides):
    values = {"port": port, "security": "none", "rate": 100000, "extra": ""}
    values.update(overrides)
    path = tmp_path / "campagne.yaml"
    path.write_text(f"""smtp:
  host: 127.0.0.1
  port: {values['port']}
  security: {values['security']}
  username: audit
  password_env: VT_TEST_SMTP_PASSWORD
from: "ARS PACA - audit VT Handicap <audit-vt@ars.example>"
reply_to: audit-vt@ars.example
deadline: {values.get('deadline', DEADLINE.isoformat())}
rate_per_minute: {values['rate']}
{values['extra']}""", encoding="utf-8")
    return path


@pytest.fixture(autouse=True)
def smtp_password(monkeypatch):
    monkeypatch.setenv("VT_TEST_SMTP_PASSWORD", PASSWORD)


def send(out, config, history, *extra):
    return main(["send", str(out), "--config", str(config), "--history", str(history), *extra])


def establishments(out):
    return json.loads((out / "findings.json").read_text(encoding="utf-8"))["establishments"]


def reachable(out):
    """The establishments a report is sent to: the open ones (a closed one has nobody to write to)."""
    return [e for e in establishments(out) if not e["closed"]]


def test_each_establishment_gets_its_workbook_once_in_french(month, smtp_server, tmp_path, capsys):
    recorder, port = smtp_server
    out, history = campaign_history(month, tmp_path)
    config = write_config(tmp_path, port)
    assert send(out, config, history) == 0
    audited = reachable(out)
    assert len(recorder.messages) == len(audited) and len(audited) < len(establishments(out))
    with open_history(history) as opened:
        expected = opened.run_recipients(SAMPLES_AS_OF)
    recipients, raw = recorder.messages[0]
    message = email.message_from_bytes(raw, policy=policy.default)
    finess = next(e["finess"] for e in audited if e["name"] in message["Subject"])
    assert sorted(recipients) == sorted(set(expected.loc[expected["finess"] == finess, "email"]))
    assert "direction" in set(expected.loc[expected["finess"] == finess, "role"])  # the referential's column
    assert f"à traiter avant le {DEADLINE:%d/%m/%Y}" in message["Subject"]
    body = message.get_body(("plain",)).get_content()
    assert "Revue des accès" in body and f"avant le {DEADLINE:%d/%m/%Y}" in body and "audit-vt@ars.example" in body
    (attachment,) = list(message.iter_attachments())
    bundle = next((out / "etablissements").glob(f"{finess}_*.xlsx"))
    assert attachment.get_filename() == bundle.name and attachment.get_content() == bundle.read_bytes()
    capsys.readouterr()
    assert send(out, config, history) == 0  # a second send for the same month sends nothing again
    assert len(recorder.messages) == len(audited)
    assert f"{len(audited)} déjà envoyés" in capsys.readouterr().out
    assert PASSWORD.encode() not in history.read_bytes()


def test_every_subject_reads_back_exactly_as_written():
    # Establishment names as exports write them, long and accented: the subject a mail program shows
    # is the one written, and no encoded word is empty.
    from auditor.testing.region import CATEGORIES, PLACES

    names = [f"{kind} {place}{suffix}" for kind in [*CATEGORIES.values(), "Établissement d'accueil médicalisé"]
             for place in PLACES for suffix in ("", " 2", " — site de l'Étang-de-Berre")]
    for name in names:
        subject = f"Comptes ViaTrajectoire Handicap : {name} — audit du 01/11/2026, à traiter avant le 15/12/2026"
        message = EmailMessage()
        set_subject(message, subject)
        message.set_content("x")
        raw = bytes(message)
        assert b"??=" not in raw and max(map(len, raw.split(b"\n"))) <= 78
        assert email.message_from_bytes(raw, policy=policy.default)["Subject"] == subject


def test_ctrl_c_during_a_send_says_how_many_went_and_a_new_send_resumes(month, smtp_server, tmp_path):
    recorder, port = smtp_server
    out, history = campaign_history(month, tmp_path)
    config = write_config(tmp_path, port, rate=6)  # one message every 10 seconds
    env = {**os.environ, "VT_TEST_SMTP_PASSWORD": PASSWORD}
    process = subprocess.Popen([sys.executable, "-m", "auditor", "send", str(out), "--config", str(config),
                                "--history", str(history)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True, env=env)
    deadline = time.monotonic() + 60
    while not recorder.messages and time.monotonic() < deadline:
        time.sleep(0.1)
    time.sleep(0.5)  # the first delivery journaled
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=60)
    assert process.returncode == 2 and len(recorder.messages) == 1
    assert err.strip() == ("Erreur : interrompu ; 1 rapport envoyé avant l'interruption ; relancer la même "
                           "commande reprendra là où elle s'est arrêtée")
    assert send(out, write_config(tmp_path, port), history) == 0
    assert len(recorder.messages) == len(reachable(out))  # the first one not sent twice


def test_a_server_without_login_takes_the_reports_too(month, smtp_server, tmp_path):
    recorder, port = smtp_server
    out, history = campaign_history(month, tmp_path)
    config = write_config(tmp_path, port)
    config.write_text(config.read_text(encoding="utf-8").replace("  username: audit\n", "").replace(
        "  password_env: VT_TEST_SMTP_PASSWORD\n", ""), encoding="utf-8")
    assert send(out, config, history) == 0
    assert len(recorder.messages) == len(reachable(out))


def test_a_refused_recipient_is_journaled_with_the_server_answer(month, smtp_server, tmp_path, capsys):
    recorder, port = smtp_server
    out, history = campaign_history(month, tmp_path)
    with open_history(history) as opened:
        recipients = opened.run_recipients(SAMPLES_AS_OF)
    target = recipients["finess"].iloc[0]
    recorder.refused = set(recipients.loc[recipients["finess"] == target, "email"])
    assert send(out, write_config(tmp_path, port), history) == 1
    printed = capsys.readouterr().out
    for address in recorder.refused:
        assert f"Refusé {target} {address} : 550 5.1.1 Destinataire inconnu" in printed
    with sqlite3.connect(history) as db:
        states = set(db.execute("SELECT status, answer FROM recipient_deliveries WHERE finess = ?", (target,)))
    db.close()
    assert states == {("refused", "550 5.1.1 Destinataire inconnu")}
    assert len(recorder.messages) == len(reachable(out)) - 1
    assert send(out, write_config(tmp_path, port), history) == 0  # refused for good: not tried again
    assert len(recorder.messages) == len(reachable(out)) - 1


def recipients_of(history, finess):
    with open_history(history) as opened:
        recipients = opened.run_recipients(SAMPLES_AS_OF)
    return sorted(recipients.loc[recipients["finess"] == finess, "email"])


def test_a_refused_recipient_never_cancels_the_message_for_the_others(month, smtp_server, tmp_path, capsys):
    recorder, port = smtp_server
    out, history = campaign_history(month, tmp_path)
    first = reachable(out)[0]["finess"]
    refused, *others = recipients_of(history, first)
    assert others
    recorder.refused = {refused}
    assert send(out, write_config(tmp_path, port), history) == 1
    (to_first,) = [rcpts for rcpts, raw in recorder.messages if first in raw.decode("ascii", "replace")]
    assert sorted(to_first) == others
    assert "0 à réessayer (refus temporaire), 1 refusé (refus définitif), 0 incertain" in capsys.readouterr().out


def test_a_temporary_refusal_is_tried_again_by_the_next_send_for_that_recipient_only(month, smtp_server,
                                                                                    tmp_path, capsys):
    recorder, port = smtp_server
    out, history = campaign_history(month, tmp_path)
    first = reachable(out)[0]["finess"]
    later, *others = recipients_of(history, first)
    recorder.temporary = {later}
    config = write_config(tmp_path, port)
    assert send(out, config, history) == 1
    assert f"À réessayer {first} {later} : 451 4.3.0" in capsys.readouterr().out
    sent = len(recorder.messages)
    assert send(out, config, history) == 0
    assert len(recorder.messages) == sent + 1 and recorder.messages[-1][0] == [later]  # only them, once


def test_a_server_that_takes_one_recipient_a_message_gets_one_message_each(month, smtp_server, tmp_path):
    recorder, port = smtp_server
    out, history = campaign_history(month, tmp_path)
    recorder.cap = 1
    assert send(out, write_config(tmp_path, port), history) == 0
    with open_history(history) as opened:
        expected = opened.run_recipients(SAMPLES_AS_OF)
    reached = sorted(rcpt for rcpts, _ in recorder.messages for rcpt in rcpts)
    wanted = expected[expected["finess"].isin({e["finess"] for e in reachable(out)})]
    assert reached == sorted(wanted["email"]) and all(len(rcpts) == 1 for rcpts, _ in recorder.messages)


def test_a_connection_lost_before_the_end_of_a_message_is_resumed_without_sending_anything_twice(
        month, smtp_server, tmp_path):
    recorder, port = smtp_server
    out, history = campaign_history(month, tmp_path)
    config = write_config(tmp_path, port)
    third = reachable(out)[2]["finess"]
    recorder.drop_rcpt = {recipients_of(history, third)[0]}
    assert send(out, config, history) == 1  # the third message was lost with the connection
    assert len(recorder.messages) == len(reachable(out)) - 1
    assert send(out, config, history) == 0  # resumed: only the lost one goes
    subjects = [email.message_from_bytes(raw, policy=policy.default)["Subject"] for _, raw in recorder.messages]
    assert len(subjects) == len(set(subjects)) == len(reachable(out))


@pytest.mark.parametrize("trouble", ["stall", "drop"])
def test_a_message_the_server_may_have_queued_is_uncertain_and_not_sent_twice(month, smtp_server, tmp_path,
                                                                              capsys, trouble):
    # The server has the whole first message, but its reply comes too late (stall) or never (drop).
    recorder, port = smtp_server
    out, history = campaign_history(month, tmp_path)
    config = write_config(tmp_path, port, extra="data_timeout_seconds: 1\n")
    recorder.stall_at, recorder.stall = (1, 3.0) if trouble == "stall" else (None, 0.0)
    recorder.drop_at = 1 if trouble == "drop" else None
    first = reachable(out)[0]["finess"]
    assert send(out, config, history) == 1
    printed = capsys.readouterr().out
    uncertain = len(recipients_of(history, first))
    assert f"Incertain {first} " in printed and f", {uncertain} incertain" in printed
    assert f"{len(reachable(out)) - 1} rapports envoyés" in printed  # the others went on
    time.sleep(recorder.stall)  # the stalled server has queued it by now
    sent = len(recorder.messages)
    assert send(out, config, history) == 1  # not sent again, and said so
    assert "non renvoyé" in capsys.readouterr().out and len(recorder.messages) == sent
    assert send(out, config, history, "--renvoyer-incertains") == 0
    assert len(recorder.messages) == sent + 1


def test_a_connection_lost_twice_stops_the_campaign_and_a_new_send_resumes_it(month, smtp_server, tmp_path,
                                                                               capsys):
    recorder, port = smtp_server
    out, history = campaign_history(month, tmp_path)
    config = write_config(tmp_path, port)
    recorder.drop_rcpt = {recipients_of(history, e["finess"])[0] for e in reachable(out)[1:3]}
    assert send(out, config, history) == 2
    assert "perdue une deuxième fois ; campagne interrompue après 1 rapport envoyé" in capsys.readouterr().err
    assert send(out, config, history) == 0
    assert len(recorder.messages) == len(reachable(out))


@pytest.mark.parametrize("smtputf8", [False, True])
def test_addresses_are_checked_once_where_they_are_gathered(tmp_path, capsys, smtputf8):
    # Director e-mails of a referential: an IDN domain, an accented local part, two addresses in a cell, a
    # line feed with a header after it, a display name. Each bad one is an input issue with its line;
    # the others are written to, the IDN domain in ASCII; the accented one is refused by a server
    # without SMTPUTF8, with that reason, and reaches one that offers it.
    recorder = Recorder()
    controller = Controller(recorder, hostname="127.0.0.1", port=free_port(), enable_SMTPUTF8=smtputf8)
    controller.start()
    rows = [("130000011", "dir@exämple.fr"), ("130000029", "dé@exemple.fr"),
            ("130000037", "d@exemple.fr, espion@evil.example"), ("130000045", "d@exemple.fr\nBcc: espion@evil.example"),
            ("130000052", '"Directrice" <d@exemple.fr>')]
    referential = write_csv(tmp_path / "etab.csv", [[finess, f"IME {n}", address] for n, (finess, address)
                                                    in enumerate(rows)], header=["FINESS", "Raison sociale",
                                                                                "Courriel du directeur"])
    exports = write_csv(tmp_path / "comptes.csv", [account_row(login=f"r{n}", finess=finess,
                                                               roles="IAM - MSPH - Statistiques ESMS (IAM)")
                                                   for n, (finess, _) in enumerate(rows)])
    out, history = tmp_path / "out", tmp_path / "suivi.sqlite"
    main(["run", str(exports), "--establishments", str(referential), "--out", str(out), "--as-of", "2026-11-01",
          "--per-establishment", "--history", str(history), "--fail-on", "jamais", "--format", "json,xlsx"])
    issues = {i["line"]: i["reason"] for i in json.loads((out / "findings.json").read_text(encoding="utf-8"))[
        "input_issues"] if "destinataire" in i["reason"]}
    assert set(issues) == {4, 5, 7}  # as an editor shows the file: the quoted line feed takes line 6 too
    assert "plusieurs adresses" in issues[4] and "caractère de contrôle" in issues[5] and "nom affiché" in issues[7]
    capsys.readouterr()
    config = write_config(tmp_path, controller.port)
    config.write_text(config.read_text(encoding="utf-8").replace("  username: audit\n", "").replace(
        "  password_env: VT_TEST_SMTP_PASSWORD\n", ""), encoding="utf-8")
    try:
        code = send(out, config, history)
    finally:
        controller.stop()
    printed = capsys.readouterr().out
    reached = sorted(rcpt for rcpts, _ in recorder.messages for rcpt in rcpts)
    assert "espion" not in str(recorder.messages) and "Non envoyé 130000037" in printed
    if smtputf8:
        assert reached == ["dir@xn--exmple-cua.fr", "dé@exemple.fr"]
        (utf8,) = [raw for rcpts, raw in recorder.messages if rcpts == ["dé@exemple.fr"]]
        assert "To: dé@exemple.fr" in utf8.decode("utf-8")
    else:
        assert reached == ["dir@xn--exmple-cua.fr"] and code == 1
        assert "Refusé 130000029 dé@exemple.fr : adresse accentuée : le serveur n'accepte pas SMTPUTF8" in printed


def test_a_server_that_is_down_stops_the_campaign_with_one_error(month, tmp_path, capsys):
    out, history = campaign_history(month, tmp_path)
    assert send(out, write_config(tmp_path, free_port()), history) == 2
    err = capsys.readouterr().err
    assert err.startswith("Erreur : serveur SMTP 127.0.0.1") and "injoignable" in err
    assert len(err.strip().splitlines()) == 1


def test_dry_run_writes_one_eml_per_establishment_and_sends_nothing(month, smtp_server, tmp_path):
    recorder, port = smtp_server
    out, history = campaign_history(month, tmp_path)
    assert send(out, write_config(tmp_path, port), history, "--dry-run", str(tmp_path / "eml")) == 0
    written = sorted((tmp_path / "eml").glob("*.eml"))
    assert len(written) == len(reachable(out)) and recorder.messages == []
    message = email.message_from_bytes(written[0].read_bytes(), policy=policy.default)
    assert message["Reply-To"] == "audit-vt@ars.example" and list(message.iter_attachments())
    with sqlite3.connect(history) as db:
        assert db.execute("SELECT count(*) FROM deliveries").fetchone() == (0,)
    db.close()


def test_the_rate_limit_spaces_the_messages(month, smtp_server, tmp_path):
    _, port = smtp_server
    out, history = campaign_history(month, tmp_path)
    config = load_config(write_config(tmp_path, port, rate=30))
    now, pauses = [0.0], []

    def sleep(seconds):
        pauses.append(seconds)
        now[0] += seconds

    with open_history(history) as opened:
        as_of, outgoing = compose(out, config, opened.run_recipients(SAMPLES_AS_OF))
        report = send_all(outgoing[:4], config, opened, as_of, sleep=sleep, clock=lambda: now[0])
    assert len(report.sent) == 4 and pauses == [2.0, 2.0, 2.0]  # 30 a minute: one every 2 seconds


def test_establishments_with_nobody_to_write_to_are_listed(tmp_path, capsys):
    exports = write_csv(tmp_path / "comptes.csv", [
        account_row(login="a", finess="130000011"),
        account_row(login="b", finess="830000014", roles="IAM - MSPH - Statistiques ESMS (IAM)")])
    out, history = tmp_path / "out", tmp_path / "suivi.sqlite"
    main(["run", str(exports), "--out", str(out), "--as-of", "2026-11-01", "--per-establishment",
          "--history", str(history)])
    capsys.readouterr()
    assert send(out, write_config(tmp_path, free_port()), history, "--dry-run", str(tmp_path / "eml")) == 1
    assert "Non envoyé 830000014 IME Les Calanques : aucun destinataire" in capsys.readouterr().out
    assert [p.name[:9] for p in (tmp_path / "eml").glob("*.eml")] == ["130000011"]


@pytest.mark.parametrize(("extra", "message"), [
    ("rate_per_mintue: 5\n", "clé inconnue « rate_per_mintue »"),
    ("contacts: 3\n", "« contacts » doit être un texte"),
    ("contacts: absent.csv\n", "absent.csv : lecture impossible"),
])
def test_a_campaign_file_with_an_error_stops_with_its_line(month, tmp_path, capsys, extra, message):
    out, history = campaign_history(month, tmp_path)
    code = send(out, write_config(tmp_path, 25, extra=extra), history, "--dry-run", str(tmp_path / "eml"))
    err = capsys.readouterr().err
    assert code == 2 and message in err
    if "lecture" not in message:  # a file that is not there is named by its path, not a line of the campaign file
        assert "campagne.yaml, ligne 11" in err


def test_one_deadline_for_the_workbooks_and_the_messages(month, tmp_path, capsys):
    out, history = campaign_history(month, tmp_path)
    later = (DEADLINE + dt.timedelta(days=1)).isoformat()
    assert send(out, write_config(tmp_path, 25, deadline=later), history, "--dry-run", str(tmp_path / "e")) == 2
    assert "différente de celle des classeurs" in capsys.readouterr().err and not (tmp_path / "e").exists()


def test_last_months_campaign_file_with_its_past_deadline_is_refused(tmp_path, capsys):
    out, history = tmp_path / "o", tmp_path / "suivi.sqlite"
    main(["run", str(SAMPLES), "--out", str(out), "--as-of", SAMPLES_AS_OF, "--per-establishment", "--history",
          str(history), "--fail-on", "jamais", "--format", "json,xlsx"])  # no --deadline this time
    capsys.readouterr()
    # After the audit date, but before the sending day: last month's file reused.
    assert send(out, write_config(tmp_path, 25, deadline="2026-11-20"), history, "--dry-run", str(tmp_path / "e")) == 2
    assert "date limite du 20/11/2026 déjà passée" in capsys.readouterr().err


def test_the_workbooks_deadline_is_the_messages_when_the_campaign_file_has_none(month, tmp_path):
    out, history = campaign_history(month, tmp_path)
    config = write_config(tmp_path, 25)
    config.write_text(config.read_text(encoding="utf-8").replace(f"deadline: {DEADLINE.isoformat()}\n", ""),
                      encoding="utf-8")
    assert send(out, config, history, "--dry-run", str(tmp_path / "eml")) == 0
    message = email.message_from_bytes(next((tmp_path / "eml").glob("*.eml")).read_bytes(), policy=policy.default)
    assert f"à traiter avant le {DEADLINE:%d/%m/%Y}" in message["Subject"]


def test_a_deadline_before_the_audit_is_refused(tmp_path, capsys):
    assert main(["run", str(SAMPLES), "--out", str(tmp_path / "o"), "--as-of", SAMPLES_AS_OF,
                 "--deadline", "2026-10-31"]) == 2
    assert "--deadline : le 31/10/2026 n'est pas après la date d'audit" in capsys.readouterr().err


def test_a_missing_password_variable_is_a_clear_error(month, smtp_server, tmp_path, capsys, monkeypatch):
    _, port = smtp_server
    out, history = campaign_history(month, tmp_path)
    monkeypatch.delenv("VT_TEST_SMTP_PASSWORD")
    assert send(out, write_config(tmp_path, port), history) == 2
    assert "définir la variable d'environnement VT_TEST_SMTP_PASSWORD" in capsys.readouterr().err


# -- answers ------------------------------------------------------------------------------------------

def fill(bundle, target, decisions, edit=None, history=None):
    """A director's answer: the workbook filled in with openpyxl, saved under another name."""
    workbook = load_workbook(bundle)
    workbook.history = history  # for an edit that forges with the history's key
    sheet = workbook["Revue des accès"]
    header = [c.value for c in sheet[1]]
    account, decision = header.index("Compte") + 1, next(i for i, h in enumerate(header, 1) if h.startswith("Déci"))
    for row in range(2, sheet.max_row + 1):
        if sheet.cell(row, account).value in decisions:
            sheet.cell(row, decision).value = decisions[sheet.cell(row, account).value]
    if edit:
        edit(sheet, header)
    workbook.save(target)
    return target


def largest_bundle(out):
    return max((out / "etablissements").glob("*.xlsx"),
               key=lambda p: load_workbook(p, read_only=True)["Revue des accès"].max_row or 0)


def review_accounts(bundle):
    sheet = load_workbook(bundle)["Revue des accès"]
    return [row[0] for row in sheet.iter_rows(min_row=2, values_only=True)]


def test_answers_are_recorded_and_the_latest_one_counts(month, tmp_path, capsys):
    out, history = campaign_history(month, tmp_path)
    bundle = largest_bundle(out)
    first, second = review_accounts(bundle)[:2]
    answer = fill(bundle, tmp_path / "reponse IME.xlsx", {first: "conserver", second: "Archiver"})
    assert main(["answers", str(answer), "--history", str(history)]) == 0
    assert "2 décisions pour" in capsys.readouterr().out
    again = fill(bundle, tmp_path / "reponse corrigee.xlsx", {first: "Modifier"})
    assert main(["answers", str(again), "--history", str(history)]) == 0
    assert "remplace la réponse enregistrée" in capsys.readouterr().out
    with open_history(history) as opened:
        status, decisions = opened.campaign(SAMPLES_AS_OF)
    assert status.empty  # nothing was sent this month: no campaign to judge
    with sqlite3.connect(history) as db:
        kept = db.execute("SELECT count(*) FROM answers").fetchone()[0]
        latest = db.execute("SELECT account, decision FROM decisions WHERE answer_id = (SELECT max(id) FROM answers)")
        assert kept == 2 and latest.fetchall() == [(first, "Modifier")]
    db.close()
    assert main(["answers", str(again), "--history", str(history)]) == 0  # the same file again: kept once
    assert main(["answers", str(answer), "--history", str(history)]) == 0  # the first one, sent back: it counts
    with sqlite3.connect(history) as db:
        kept = db.execute("SELECT count(*) FROM answers").fetchone()[0]
        latest = db.execute("SELECT account, decision FROM decisions WHERE answer_id = (SELECT max(id) FROM answers)")
        assert kept == 3 and sorted(latest.fetchall()) == sorted([(first, "Conserver"), (second, "Archiver")])
    db.close()


def _last_months_row(sheet, header):
    """Row 2 as last month's workbook had it: same account and establishment, another audit date."""
    account = sheet.cell(2, header.index("Compte") + 1).value
    finess = re.search(r"FINESS (\d{9})", sheet.parent["À faire"]["A1"].value).group(1)
    key = sqlite3.connect(sheet.parent.history).execute("SELECT value FROM secrets").fetchone()[0]
    sheet.cell(2, header.index(REFERENCE_HEADER) + 1).value = review_reference(key, "2026-10-01", finess, account)


@pytest.mark.parametrize(("edit", "problem"), [
    (lambda sheet, header: setattr(sheet.cell(2, header.index("Compte") + 1), "value", "autre.compte"),
     "modifié, ou ligne d'un autre établissement"),
    (lambda sheet, header: sheet.append(["intrus", "INTRUS Jean", *[None] * 6, "Conserver"]), "ajoutée à la main"),
    (lambda sheet, header: setattr(sheet.cell(2, next(i for i, h in enumerate(header, 1) if h.startswith("Déci"))),
                                   "value", "Supprimer"), "« Supprimer » inconnue ; choix : Conserver"),
    (_last_months_row, "ligne d'un autre établissement ou d'un autre mois"),
])
def test_a_tampered_answer_is_refused_whole_with_its_line(month, tmp_path, capsys, edit, problem):
    out, history = campaign_history(month, tmp_path)
    bundle = largest_bundle(out)
    accounts = review_accounts(bundle)
    answer = fill(bundle, tmp_path / "reponse.xlsx", {accounts[-1]: "Conserver"}, edit, history)
    assert main(["answers", str(answer), "--history", str(history)]) == 2
    captured = capsys.readouterr()
    assert problem in captured.out and "ligne" in captured.out
    assert captured.err.startswith("Erreur : 1 classeur refusé")
    with sqlite3.connect(history) as db:
        assert db.execute("SELECT count(*) FROM decisions").fetchone() == (0,)
    db.close()


def forge(bundle, target, finess, account, key):
    """A review moved to establishment `finess`: À propos changed, the first row's account replaced by
    `account`, its fingerprint made with `key` (the code's formula known, the history's secret or not)."""
    workbook = load_workbook(bundle)
    about = workbook["À propos"]
    for row in about.iter_rows():
        if row[0].value == "FINESS":
            row[1].value = finess
    sheet = workbook["Revue des accès"]
    header = [c.value for c in sheet[1]]
    sheet.cell(2, header.index("Compte") + 1).value = account
    sheet.cell(2, next(i for i, h in enumerate(header, 1) if h.startswith("Déci"))).value = "Archiver"
    sheet.cell(2, header.index(REFERENCE_HEADER) + 1).value = review_reference(key, SAMPLES_AS_OF, finess, account)
    for row in range(3, sheet.max_row + 1):
        sheet.cell(row, header.index(REFERENCE_HEADER) + 1).value = None
        sheet.cell(row, header.index("Compte") + 1).value = None
    workbook.save(target)
    return target


def test_a_forged_answer_is_refused_and_records_nothing(month, tmp_path, capsys):
    out, history = campaign_history(month, tmp_path)
    bundle = largest_bundle(out)
    other = next(e["finess"] for e in reachable(out) if e["finess"] not in bundle.name)
    key = sqlite3.connect(history).execute("SELECT value FROM secrets").fetchone()[0]
    assert key and key.hex() not in (out / "findings.json").read_text(encoding="utf-8")
    # Whoever read the code but has not the history's secret cannot make a row's fingerprint.
    unkeyed = forge(bundle, tmp_path / "unkeyed.xlsx", other, "dupont", b"")
    # With the secret (a leak), a made-up account is still not in the review the audit sent.
    leaked = forge(bundle, tmp_path / "leaked.xlsx", other, "compte.invente", key)
    assert main(["answers", str(unkeyed), str(leaked), "--history", str(history)]) == 2
    printed = capsys.readouterr().out
    assert "compte « dupont » modifié, ou ligne d'un autre établissement" in printed
    assert "compte « compte.invente » absent de la revue envoyée à l'établissement" in printed
    with sqlite3.connect(history) as db:
        assert db.execute("SELECT count(*) FROM decisions").fetchone() == (0,)
    db.close()


def test_a_workbook_returned_untouched_is_no_answer_and_a_partial_one_says_so(month, tmp_path, capsys):
    out, history = campaign_history(month, tmp_path)
    bundle = largest_bundle(out)
    accounts = review_accounts(bundle)
    untouched = fill(bundle, tmp_path / "vide.xlsx", {})
    assert main(["answers", str(untouched), "--history", str(history)]) == 2
    assert "aucune décision" in capsys.readouterr().out
    complete = fill(bundle, tmp_path / "complet.xlsx", dict.fromkeys(accounts, "Conserver"))
    partial = fill(bundle, tmp_path / "partiel.xlsx", {accounts[0]: "Archiver"})
    assert main(["answers", str(complete), "--history", str(history)]) == 0
    assert main(["answers", str(partial), "--history", str(history)]) == 0
    printed = capsys.readouterr().out
    assert f"1 décision pour {len(accounts)} comptes (réponse partielle : {len(accounts) - 1} comptes sans décision"\
        in printed
    assert f"plus complète ({len(accounts)} décisions)" in printed


def _blank_audit_date(sheet, header):
    for row in sheet.parent["À propos"].iter_rows():
        if row[0].value == "Date d'audit":
            row[1].value = None


def test_hostile_answers_are_refused_before_reading_and_record_nothing(month, tmp_path, capsys):
    out, history = campaign_history(month, tmp_path)
    pipe = tmp_path / "tube.xlsx"
    os.mkfifo(pipe)  # reading it would wait for ever
    bundle = largest_bundle(out)
    blank = fill(bundle, tmp_path / "sans-date.xlsx", {review_accounts(bundle)[0]: "Conserver"}, _blank_audit_date)
    assert main(["answers", str(pipe), "/dev/zero", str(blank), "--history", str(history)]) == 2
    printed = capsys.readouterr().out
    assert f"{pipe} : n'est pas un fichier ordinaire" in printed and "/dev/zero : n'est pas un fichier" in printed
    assert f"{blank} : classeur non reconnu" in printed
    with sqlite3.connect(history) as db:
        assert db.execute("SELECT count(*) FROM answers").fetchone() == (0,)
    db.close()


def test_a_dry_run_into_a_file_is_a_clear_error(month, tmp_path, capsys):
    out, history = campaign_history(month, tmp_path)
    taken = tmp_path / "messages"
    taken.write_text("déjà là", encoding="utf-8")
    assert send(out, write_config(tmp_path, 25), history, "--dry-run", str(taken)) == 2
    assert "est un fichier ; donner un dossier" in capsys.readouterr().err


def test_an_answer_of_a_month_not_in_the_history_is_refused(month, tmp_path, capsys):
    out, _ = campaign_history(month, tmp_path)
    empty = tmp_path / "autre.sqlite"
    main(["run", str(SAMPLES), "--out", str(tmp_path / "o"), "--as-of", "2026-10-01", "--history", str(empty),
          "--format", "json"])
    answer = fill(largest_bundle(out), tmp_path / "r.xlsx", {})
    assert main(["answers", str(answer), "--history", str(empty)]) == 2
    assert "aucun audit du 01/11/2026 dans l'historique" in capsys.readouterr().out


@pytest.mark.skipif(not SOFFICE, reason="LibreOffice absent (apt-get install libreoffice-calc-nogui, comme .ci/run)")
def test_an_answer_resaved_by_libreoffice_is_still_recognised(month, tmp_path, capsys):
    out, history = campaign_history(month, tmp_path)
    bundle = largest_bundle(out)
    account = review_accounts(bundle)[0]
    filled = fill(bundle, tmp_path / "rempli.xlsx", {account: "Archiver"})
    resaved = tmp_path / "libreoffice"
    subprocess.run([SOFFICE, f"-env:UserInstallation=file://{tmp_path / 'profile'}", "--headless",
                    "--convert-to", "xlsx", "--outdir", str(resaved), str(filled)],
                   capture_output=True, timeout=300, check=True)
    (copy,) = resaved.glob("*.xlsx")
    assert copy.read_bytes() != filled.read_bytes()  # really written again by another program
    assert main(["answers", str(copy), "--history", str(history)]) == 0
    with sqlite3.connect(history) as db:
        assert db.execute("SELECT account, decision FROM decisions").fetchall() == [(account, "Archiver")]
    db.close()


def test_next_month_checks_the_decisions_and_the_late_establishments(month, smtp_server, tmp_path):
    """The whole loop: sent, one answer archiving an account that stays active, the others silent."""
    recorder, port = smtp_server
    out, history = campaign_history(month, tmp_path)
    assert send(out, write_config(tmp_path, port), history) == 0
    bundle = largest_bundle(out)
    finess = bundle.name[:9]
    account, *others = review_accounts(bundle)  # one account to archive, the others kept: a complete answer
    decisions = {account: "Archiver", **dict.fromkeys(others, "Modifier")}
    main(["answers", str(fill(bundle, tmp_path / "r.xlsx", decisions)), "--history", str(history)])
    # A later audit (past the deadline) of the same exports: the account was not archived.
    later = tmp_path / "later"
    main(["run", str(SAMPLES), "--out", str(later), "--as-of", "2030-01-01", "--history", str(history),
          "--format", "json,xlsx,html", "--param", "grace_days=0"])
    report = json.loads((later / "findings.json").read_text(encoding="utf-8"))
    rev01 = [(f["finess"], f["account"]) for f in report["findings"] if f["rule"] == "REV-01"]
    rev02 = {f["finess"] for f in report["findings"] if f["rule"] == "REV-02"}
    assert rev01 == [(finess, account)]
    assert rev02 == {e["finess"] for e in reachable(out)} - {finess}  # everyone else written to is late
    sent = len(reachable(out))
    campaign = load_workbook(later / "audit.xlsx")["Campagne"]
    assert campaign.cell(2, 1).value.startswith(f"1 établissement sur {sent} a renvoyé sa revue des accès")
    rows = {r[0]: r for r in campaign.iter_rows(min_row=6, values_only=True)}
    assert rows[finess][4] is not None and rows[finess][8] is None  # answered, not late
    assert sum(1 for r in rows.values() if r[8] == "oui") == sent - 1
    page = (later / "audit.html").read_text(encoding="utf-8")
    assert "Campagne de l'audit du 01/11/2026" in page and "En retard : revue non renvoyée" in page


# -- encrypted connections and contacts ------------------------------------------------------------

OPENSSL = shutil.which("openssl")


@pytest.fixture(scope="module")
def certificate(tmp_path_factory):
    """A self-signed certificate for 127.0.0.1, standing for a server's private authority."""
    if not OPENSSL:
        pytest.skip("openssl absent : pas de certificat de test pour STARTTLS et SSL")
    folder = tmp_path_factory.mktemp("tls")
    subprocess.run([OPENSSL, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                    "-keyout", str(folder / "key.pem"), "-out", str(folder / "cert.pem"),
                    "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"],
                   capture_output=True, check=True)
    return folder / "cert.pem", folder / "key.pem"


@pytest.mark.parametrize("security", ["starttls", "ssl"])
def test_reports_go_over_starttls_or_ssl_with_login(month, certificate, tmp_path, security):
    import ssl

    cert, key = certificate
    server_tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_tls.load_cert_chain(cert, key)
    recorder = Recorder()
    # aiosmtpd does not count implicit TLS as TLS for AUTH: the connection is encrypted all the same.
    tls = {"tls_context": server_tls, "require_starttls": True} if security == "starttls" else \
        {"ssl_context": server_tls, "auth_require_tls": False}
    controller = Controller(recorder, hostname="127.0.0.1", port=free_port(), authenticator=authenticate, **tls)
    controller.start()
    try:
        out, history = campaign_history(month, tmp_path)
        config = write_config(tmp_path, controller.port, security=security)
        config.write_text(config.read_text(encoding="utf-8").replace(
            "  username: audit\n", f"  username: audit\n  ca_file: {cert}\n"), encoding="utf-8")
        assert send(out, config, history) == 0
    finally:
        controller.stop()
    assert len(recorder.messages) == len(reachable(out))


def test_a_server_with_an_unknown_certificate_is_refused(month, certificate, tmp_path, capsys):
    import ssl

    cert, key = certificate
    server_tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_tls.load_cert_chain(cert, key)
    controller = Controller(Recorder(), hostname="127.0.0.1", port=free_port(), ssl_context=server_tls,
                            authenticator=authenticate)
    controller.start()
    try:
        out, history = campaign_history(month, tmp_path)
        assert send(out, write_config(tmp_path, controller.port, security="ssl"), history) == 2  # no ca_file
    finally:
        controller.stop()
    assert "CERTIFICATE_VERIFY_FAILED" in capsys.readouterr().err


def test_a_contacts_file_adds_recipients(month, tmp_path):
    out, history = campaign_history(month, tmp_path)
    finess = establishments(out)[0]["finess"]
    (tmp_path / "contacts.csv").write_text(f"FINESS;E-mail;Rôle\n{finess};direction.adjointe@esms.example;direction\n",
                                           encoding="utf-8")
    config = write_config(tmp_path, free_port(), extra="contacts: contacts.csv\n")
    assert send(out, config, history, "--dry-run", str(tmp_path / "eml")) == 0
    (eml,) = (tmp_path / "eml").glob(f"{finess}_*.eml")
    message = email.message_from_bytes(eml.read_bytes(), policy=policy.default)
    assert "direction.adjointe@esms.example" in message["To"]


def test_the_directors_email_of_the_referential_is_a_recipient(tmp_path, capsys):
    exports = write_csv(tmp_path / "comptes.csv", [account_row(login="a", roles="Référent Établissement")])
    referential = write_csv(tmp_path / "etab.csv", [["130000011", "IME Les Calanques", "Direction@IME.example"]],
                            header=["FINESS", "Raison sociale", "Courriel du directeur"])
    history = tmp_path / "suivi.sqlite"
    main(["run", str(exports), "--establishments", str(referential), "--out", str(tmp_path / "o"),
          "--as-of", "2026-11-01", "--history", str(history), "--format", "json"])
    report = json.loads((tmp_path / "o" / "findings.json").read_text(encoding="utf-8"))
    assert not [i for i in report["input_issues"] if "non reconnue" in i["reason"]]  # the column is known
    with open_history(history) as opened:
        recipients = opened.run_recipients("2026-11-01")
    assert set(zip(recipients["email"], recipients["role"])) == {("a@exemple.fr", "référent"),
                                                                  ("direction@ime.example", "direction")}


def test_the_staff_list_goes_to_each_referent_who_is_still_there_once(tmp_path, capsys):
    # At the IME: « a » holds two accounts (one RPPS, two e-mails) and is the director too (her address in
    # capitals), « b » is blocked, « c » is no longer on the staff list (ATT-04). The ESAT closed in June.
    ime, esat, rpps = "130000011", "830000014", "10000000017"
    exports = write_csv(tmp_path / "comptes.csv", [
        account_row(login="a", email="a@exemple.fr", rpps=rpps), account_row(login="a2", rpps=rpps),
        account_row(login="b", status="Bloqué"), account_row(login="c"), account_row(login="e", finess=esat)])
    staff = write_csv(tmp_path / "personnel.csv", [["a@exemple.fr", ime], ["b@exemple.fr", ime]],
                      header=["E-mail", "FINESS d'exercice"])
    referential = write_csv(tmp_path / "etab.csv", [[ime, "IME Les Calanques", " A@Exemple.FR", ""],
                                                    [esat, "ESAT du Var", "direction@esat.example", "30/06/2026"]],
                            header=["FINESS", "Raison sociale", "Courriel du directeur", "Date de fermeture"])
    out, history = tmp_path / "out", tmp_path / "suivi.sqlite"
    main(["run", str(exports), str(staff), "--establishments", str(referential), "--out", str(out),
          "--as-of", "2026-11-01", "--per-establishment", "--history", str(history), "--fail-on", "jamais"])
    capsys.readouterr()
    send(out, write_config(tmp_path, free_port()), history, "--dry-run", str(tmp_path / "eml"))
    printed = capsys.readouterr().out
    messages = {p.name[:9]: email.message_from_bytes(p.read_bytes(), policy=policy.default)
                for p in (tmp_path / "eml").glob("*.eml")}
    assert sorted(messages) == [ime]  # nobody is written to about the closed ESAT
    to = [address.addr_spec.lower() for address in messages[ime]["To"].addresses]
    assert to == ["a@exemple.fr"]
    assert f"{ime} b : compte « Bloqué »" in printed
    assert f"{ime} c : absent de la liste du personnel de l'établissement : départ probable (ATT-04)" in printed
    assert f"{esat} e : établissement fermé à la date d'audit" in printed
    assert "3 comptes référents" in printed


def test_a_contacts_file_with_a_bad_row_names_its_line(month, tmp_path, capsys):
    out, history = campaign_history(month, tmp_path)
    # Each bad row is said with its line and left out; the others are written to (exit 1: someone missed).
    (tmp_path / "contacts.csv").write_text(
        "FINESS;E-mail;Rôle\n040000010;adjointe@esms.example;direction\n;pas-un-mail;\n"
        "040000010;a@x.example, espion@evil.example;\n040000010;\"Chef\" <chef@x.example>;\n"
        "040000010;\"b@x.example\nBcc: espion@evil.example\";\n", encoding="cp1252")
    config = write_config(tmp_path, free_port(), extra="contacts: contacts.csv\n")
    assert send(out, config, history, "--dry-run", str(tmp_path / "eml")) == 1
    printed = capsys.readouterr().out
    assert "contacts.csv, ligne 3 : contact non retenu : FINESS manquant" in printed
    assert "contacts.csv, ligne 4 : contact non retenu : plusieurs adresses dans la même cellule" in printed
    assert "contacts.csv, ligne 5 : contact non retenu : nom affiché" in printed
    assert "contacts.csv, ligne 6 : contact non retenu : caractère de contrôle" in printed
    (eml,) = (tmp_path / "eml").glob("040000010_*.eml")
    message = email.message_from_bytes(eml.read_bytes(), policy=policy.default)
    to = {address.addr_spec for address in message["To"].addresses}
    assert "adjointe@esms.example" in to and not {a for a in to if "evil" in a or "chef" in a or a.startswith("b@")}
