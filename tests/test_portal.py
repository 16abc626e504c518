"""The review portal with the real things: `vt-audit serve` started on 127.0.0.1, driven by a real
Chromium (Selenium, Debian's chromium-driver) and by plain HTTP requests for each security line."""

import datetime as dt
import email
import http.client
import json
import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.parse
from concurrent.futures import ThreadPoolExecutor
from email import policy
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller

from auditor.campaign.links import ReviewLink, make_token
from auditor.cli.commands import main
from auditor.testing.synthetic import generate, write_region
from tests.helpers import SAMPLES, SAMPLES_AS_OF

SECRET = "secret-de-test-du-portail-0123456789-abcdefghij"
DEADLINE = max(dt.date.today(), dt.date(2026, 11, 2)) + dt.timedelta(days=30)
CHROMIUM, DRIVER = shutil.which("chromium"), shutil.which("chromedriver")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def campaign_file(folder: Path, port: int, extra: str = "", smtp_port: int = 25) -> Path:
    path = folder / "campagne.yaml"
    path.write_text(f"""smtp:
  host: 127.0.0.1
  port: {smtp_port}
  security: none
from: "ARS PACA - audit VT Handicap <audit-vt@ars.example>"
reply_to: audit-vt@ars.example
rate_per_minute: 100000
portail:
  url: http://127.0.0.1:{port}
  secret_env: VT_TEST_PORTAIL_SECRET
{extra}""", encoding="utf-8")
    return path


def links_of(eml_folder: Path) -> dict[str, str]:
    """FINESS -> the personal link each --dry-run message carries."""
    links = {}
    for path in eml_folder.glob("*.eml"):
        body = email.message_from_bytes(path.read_bytes(), policy=policy.default).get_body(("plain",)).get_content()
        (link,) = [line.strip() for line in body.splitlines() if "/revue/" in line]
        links[path.name[:9]] = link
    return links


class Sink:
    """An SMTP server's handler that takes every message."""

    async def handle_DATA(self, server, session, envelope):
        return "250 2.0.0 Message accepté"


class Server:
    """`vt-audit serve` in its own process, stopped by SIGTERM."""

    def __init__(self, history: Path, config: Path, port: int):
        self.port, self.base = port, f"http://127.0.0.1:{port}"
        # Its log goes to a file: a pipe nobody reads would fill up and stop the server.
        self.log = tempfile.TemporaryFile("w+", encoding="utf-8")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "auditor", "serve", "--history", str(history), "--config", str(config),
             "--port", str(port)], stdout=self.log, stderr=subprocess.STDOUT, text=True,
            env={**os.environ, "VT_TEST_PORTAIL_SECRET": SECRET})
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                return
            except OSError:
                time.sleep(0.1)
        self.process.kill()
        self.process.wait()
        raise AssertionError(f"le portail n'a pas démarré : {self.output()}")

    def output(self) -> str:
        self.log.seek(0)
        return self.log.read()

    def stop(self) -> tuple[int, str]:
        """Exit code and everything it printed (its address, then one line per request)."""
        self.process.send_signal(signal.SIGTERM)
        self.process.wait(timeout=30)
        return self.process.returncode, self.output()


def request(url: str, method: str = "GET", body: dict | bytes | None = None, cookie: str | None = None):
    """(status, headers, text) of one HTTP request, cookies and redirects left to the caller."""
    parts = urllib.parse.urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    data = urllib.parse.urlencode(body).encode() if isinstance(body, dict) else body
    headers = {"Content-Type": "application/x-www-form-urlencoded"} if data is not None else {}
    if cookie:
        headers["Cookie"] = cookie
    connection.request(method, parts.path + (f"?{parts.query}" if parts.query else ""), data, headers)
    response = connection.getresponse()
    payload = response.read()
    connection.close()
    text = payload.decode("utf-8", "replace") if "text" in (response.getheader("Content-Type") or "") else payload
    return response.status, response, text


def csrf_of(response, text: str) -> tuple[str, str]:
    """The CSRF cookie a page set, and the same value as its form carries."""
    cookie = response.getheader("Set-Cookie").split(";")[0]
    field = text.split('name="csrf" value="')[1].split('"')[0]
    return cookie, field


@pytest.fixture(scope="module")
def portal(tmp_path_factory):
    """The samples audited for a campaign (one account with a hostile name added), the messages of a
    --dry-run with their links, and the portal serving them."""
    root = tmp_path_factory.mktemp("portail")
    exports = root / "exports"
    shutil.copytree(SAMPLES, exports, ignore=shutil.ignore_patterns("referentiels", "*.json", "*.yaml"))
    accounts = exports / "comptes.csv"
    lines = accounts.read_bytes().decode("cp1252").splitlines()
    first = next(line for line in lines[1:] if line.split(";")[8] == "040000010")
    cells = first.split(";")
    cells[0], cells[2], cells[3], cells[4] = "intrus", "<b>INTRUS</b>", "Jean", "intrus@esms-paca.fr"
    accounts.write_bytes(("\r\n".join([*lines, ";".join(cells)]) + "\r\n").encode("cp1252"))
    history, out, port = root / "suivi.sqlite", root / "rapports", free_port()
    assert main(["run", str(exports), "--out", str(out), "--as-of", SAMPLES_AS_OF, "--per-establishment",
                 "--history", str(history), "--deadline", DEADLINE.isoformat(), "--contact",
                 "ARS PACA, audit-vt@ars.example", "--fail-on", "jamais", "--quiet"]) == 0
    revoked = "050000025"
    smtp = Controller(Sink(), hostname="127.0.0.1", port=free_port())
    smtp.start()
    config = campaign_file(root, port, f'  revoked: ["{revoked}:{SAMPLES_AS_OF}"]\n', smtp.port)
    os.environ["VT_TEST_PORTAIL_SECRET"] = SECRET
    try:  # the messages as a --dry-run writes them, then sent (so that the next month has a campaign)
        assert main(["send", str(out), "--config", str(config), "--history", str(history), "--dry-run",
                     str(root / "eml")]) == 0
        assert main(["send", str(out), "--config", str(config), "--history", str(history), "--quiet"]) == 0
    finally:
        del os.environ["VT_TEST_PORTAIL_SECRET"]
        smtp.stop()
    server = Server(history, config, port)
    yield {"root": root, "history": history, "out": out, "links": links_of(root / "eml"), "server": server,
           "revoked": revoked, "exports": exports}
    code, err = server.stop()
    assert code == 0, err  # SIGTERM stops it cleanly
    assert "@" not in err and "INTRUS" not in err  # one line per request, no name nor e-mail
    assert "GET /revue/<jeton> 200" in err and SECRET not in err


@pytest.fixture(scope="module")
def browser():
    if not (CHROMIUM and DRIVER):
        pytest.skip("Chromium absent (apt-get install chromium chromium-driver, comme .ci/run)")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu", "--window-size=1280,1000"):
        options.add_argument(argument)
    driver = webdriver.Chrome(service=Service(DRIVER), options=options)
    yield driver
    driver.quit()


def reviewed_accounts(history: Path, finess: str) -> list[str]:
    with sqlite3.connect(history) as db:
        page = json.loads(db.execute("SELECT page FROM review_pages WHERE finess = ?", (finess,)).fetchone()[0])
    db.close()
    return [row["account"] for row in page["review"]]


def test_a_director_answers_by_keyboard_and_next_month_checks_it(portal, browser, tmp_path):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    finess = "040000010"
    browser.get(portal["links"][finess])
    assert browser.find_element(By.TAG_NAME, "h1").text == "Revue des accès de IME Les Oliviers"
    assert f"à renvoyer avant le {DEADLINE:%d/%m/%Y}" in browser.page_source
    # The hostile name is shown as text, never as markup.
    assert "<B>INTRUS</B> Jean" in browser.find_element(By.TAG_NAME, "table").text
    assert not browser.find_elements(By.CSS_SELECTOR, "main b")
    accounts = reviewed_accounts(portal["history"], finess)
    archived = accounts[0]
    # Keyboard only: each choice typed into its select, Tab from field to field, Enter on « Envoyer ».
    browser.find_element(By.ID, "decision-0").send_keys("Archiver")
    for position in range(1, len(accounts)):
        browser.find_element(By.ID, f"decision-{position}").send_keys("Conserver")
    browser.find_element(By.ID, "comment-0").send_keys("A quitté l'établissement en octobre", Keys.TAB)
    send = browser.find_element(By.XPATH, "//button[@value='envoyer']")
    assert browser.switch_to.active_element == browser.find_element(By.ID, "decision-1")
    send.send_keys(Keys.ENTER)
    assert browser.find_element(By.TAG_NAME, "h1").text == "Revue envoyée : IME Les Oliviers"
    receipt = browser.find_element(By.CLASS_NAME, "fr-alert").text
    assert f"{len(accounts)} décisions pour {len(accounts)} comptes : Conserver {len(accounts) - 1}, " \
           "Modifier 0, Archiver 1." in receipt
    # The month after (past the deadline), on a copy of the history: REV-01 for the account to archive,
    # still active; no REV-02 for this establishment, which answered in full.
    later = tmp_path / "suivi.sqlite"
    with sqlite3.connect(portal["history"]) as source, sqlite3.connect(later) as copy:
        source.backup(copy)
    source.close()
    copy.close()
    out = tmp_path / "later"
    main(["run", str(portal["exports"]), "--out", str(out), "--as-of", "2030-01-01", "--history", str(later),
          "--format", "json", "--param", "grace_days=0", "--quiet"])
    findings = json.loads((out / "findings.json").read_text(encoding="utf-8"))["findings"]
    assert [(f["finess"], f["account"]) for f in findings if f["rule"] == "REV-01"] == [(finess, archived)]
    assert not [f for f in findings if f["rule"] == "REV-02" and f["finess"] == finess]


def test_the_review_page_has_no_serious_accessibility_violation(portal, browser):
    from axe_selenium_python import Axe

    browser.get(portal["links"]["060000031"])
    axe = Axe(browser)
    axe.inject()
    results = axe.run()
    serious = [(v["id"], v["impact"], len(v["nodes"])) for v in results["violations"]
               if v["impact"] in ("serious", "critical")]
    assert not serious, [v["nodes"][0]["failureSummary"] for v in results["violations"]]


def test_a_draft_is_kept_and_the_workbook_is_the_one_the_message_carries(portal):
    finess = "060000031"
    link = portal["links"][finess]
    status, response, page = request(link)
    cookie, csrf = csrf_of(response, page)
    status, response, _ = request(link, "POST", {"csrf": csrf, "action": "brouillon", "decision-0": "Modifier",
                                                 "comment-0": "Changer d'unité"}, cookie)
    assert status == 303 and response.getheader("Location").endswith("?enregistre=1")
    status, _, page = request(link + "?enregistre=1", cookie=cookie)
    assert "Brouillon enregistré" in page and '<option value="Modifier" selected>' in page
    assert 'value="Changer d&#39;unité"' in page
    status, response, workbook = request(link + "/classeur.xlsx")
    (eml,) = (portal["root"] / "eml").glob(f"{finess}_*.eml")
    (attachment,) = email.message_from_bytes(eml.read_bytes(), policy=policy.default).iter_attachments()
    assert status == 200 and workbook == attachment.get_content()
    with sqlite3.connect(portal["history"]) as db:
        assert db.execute("SELECT count(*) FROM answers WHERE finess = ?", (finess,)).fetchone() == (0,)
        kinds = {k for (k,) in db.execute("SELECT kind FROM portal_events WHERE finess = ? AND client = "
                                          "'127.0.0.1'", (finess,))}
    db.close()
    assert {"vue", "brouillon", "classeur"} <= kinds


def test_every_page_carries_the_security_headers(portal):
    status, response, _ = request(portal["links"]["130000045"])
    assert status == 200
    csp = response.getheader("Content-Security-Policy")
    assert "default-src 'none'" in csp and "script-src" not in csp and "frame-ancestors 'none'" in csp
    assert response.getheader("X-Content-Type-Options") == "nosniff"
    assert response.getheader("X-Frame-Options") == "DENY" and response.getheader("Cache-Control") == "no-store"
    assert response.getheader("Referrer-Policy") == "no-referrer"
    cookie = response.getheader("Set-Cookie")
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Path=/revue/" in cookie


def forged_links(portal) -> dict[str, str]:
    base = portal["server"].base
    as_of = dt.date.fromisoformat(SAMPLES_AS_OF)
    good = portal["links"]["130000045"]
    return {
        "altéré": good[:-3] + ("AAA" if not good.endswith("AAA") else "BBB"),
        "expiré": f"{base}/revue/" + make_token(SECRET, ReviewLink("130000045", as_of, dt.date.today()
                                                                   - dt.timedelta(days=1))),
        "autre secret": f"{base}/revue/" + make_token("x" * 40, ReviewLink("130000045", as_of, DEADLINE)),
        "inconnu": f"{base}/revue/" + make_token(SECRET, ReviewLink("999999999", as_of, DEADLINE)),
        "révoqué": portal["links"][portal["revoked"]],
    }


@pytest.mark.parametrize("kind", ["altéré", "expiré", "autre secret", "inconnu", "révoqué"])
def test_a_link_that_is_not_valid_gets_one_french_page_that_leaks_nothing(portal, kind):
    link = forged_links(portal)[kind]
    for method in ("GET", "POST"):
        status, _, page = request(link, method, {"csrf": "x"} if method == "POST" else None)
        assert status == 403 and "Lien non valable" in page
        assert "FINESS" not in page and "130000045" not in page and "ESAT" not in page
    assert request(link + "/classeur.xlsx")[0] == 403


def test_the_history_keeps_a_review_page_for_each_open_establishment_and_none_for_a_closed_one(portal):
    establishments = json.loads((portal["out"] / "findings.json").read_text(encoding="utf-8"))["establishments"]
    closed = {e["finess"] for e in establishments if e["closed"]}
    assert closed  # the samples have one: nothing is sent to it, so it has no page
    with sqlite3.connect(portal["history"]) as db:
        kept = {finess for (finess,) in db.execute("SELECT finess FROM review_pages")}
    db.close()
    assert kept == {e["finess"] for e in establishments} - closed


def test_the_message_says_the_links_last_day_and_the_link_works_through_it(portal):
    last_day = DEADLINE + dt.timedelta(days=15)  # the campaign file's default grace_days
    (message,) = (portal["root"] / "eml").glob("130000045*.eml")
    body = email.message_from_bytes(message.read_bytes(), policy=policy.default).get_body(("plain",)).get_content()
    assert f"qui reste ouvert jusqu'au {last_day:%d/%m/%Y}" in body
    as_of = dt.date.fromisoformat(SAMPLES_AS_OF)
    for days_left, status in ((0, 200), (-1, 403)):  # its last day today, then yesterday
        today = None
        while today != dt.date.today():  # asked again if midnight passed during the request
            today = dt.date.today()
            expires = today + dt.timedelta(days=days_left)
            link = f"{portal['server'].base}/revue/" + make_token(SECRET, ReviewLink("130000045", as_of, expires))
            answered = request(link)[0]
        assert answered == status


def test_a_form_without_its_csrf_token_records_nothing(portal):
    link = portal["links"]["130000045"]
    status, response, page = request(link)
    cookie, csrf = csrf_of(response, page)
    choice = {"action": "envoyer", "decision-0": "Archiver"}
    assert request(link, "POST", {**choice, "csrf": csrf})[0] == 400  # no cookie: another site's form
    assert request(link, "POST", {**choice, "csrf": "autre"}, cookie)[0] == 400
    assert request(link, "POST", choice, cookie)[0] == 400
    with sqlite3.connect(portal["history"]) as db:
        assert db.execute("SELECT count(*) FROM answers WHERE finess = '130000045'").fetchone() == (0,)
    db.close()


def test_a_form_can_only_decide_its_own_establishments_accounts(portal):
    finess = "130000045"
    link = portal["links"][finess]
    status, response, page = request(link)
    cookie, csrf = csrf_of(response, page)
    accounts = reviewed_accounts(portal["history"], finess)
    # No choice sent for the first row (a field left out), an unknown decision, a row that does not exist,
    # another establishment's account and FINESS named: only row 1's choice is recorded, for its account.
    form = {"csrf": csrf, "action": "envoyer", "decision-1": "Archiver", "decision-2": "Supprimer",
            "decision-999": "Archiver", "account-1": "jrobert", "finess": "040000010"}
    status, response, _ = request(link, "POST", form, cookie)
    assert status == 303 and response.getheader("Location").endswith("/recu")
    with sqlite3.connect(portal["history"]) as db:
        recorded = db.execute("SELECT a.finess, a.file, a.accounts, d.account, d.decision FROM answers a "
                              "JOIN decisions d ON d.answer_id = a.id WHERE a.finess = ?", (finess,)).fetchall()
    db.close()
    assert recorded == [(finess, "portail", len(accounts), accounts[1], "Archiver")]  # partial: 1 of them
    status, _, receipt = request(link + "/recu")
    assert "Réponse partielle" in receipt and f"{len(accounts) - 1} comptes sans décision" in receipt


def test_the_latest_answer_is_the_one_on_the_receipt_even_when_it_repeats_an_earlier_one(portal):
    finess = "840000061"  # no other test of this module answers for it
    link = portal["links"][finess]
    for decision in ("Archiver", "Conserver", "Archiver"):
        status, response, page = request(link)
        cookie, csrf = csrf_of(response, page)
        status, _, _ = request(link, "POST", {"csrf": csrf, "action": "envoyer", "decision-0": decision}, cookie)
        assert status == 303
    status, _, receipt = request(link + "/recu")
    assert status == 200 and "1 décision pour" in receipt and "Archiver 1" in receipt and "Conserver 0" in receipt
    with sqlite3.connect(portal["history"]) as db:
        assert db.execute("SELECT count(*) FROM answers WHERE finess = ?", (finess,)).fetchone() == (3,)
    db.close()


def test_a_review_sent_without_any_decision_is_no_answer(portal):
    link = portal["links"]["830000055"]
    status, response, page = request(link)
    cookie, csrf = csrf_of(response, page)
    status, _, page = request(link, "POST", {"csrf": csrf, "action": "envoyer"}, cookie)
    assert status == 422 and "Aucune décision" in page


def test_an_oversized_request_is_refused(portal):
    link = portal["links"]["830000055"]
    status, _, page = request(link, "POST", b"csrf=" + b"x" * 400_000)
    assert status == 413


def test_two_hundred_establishments_answering_at_once_are_all_recorded(tmp_path):
    exports, out, history, port = tmp_path / "exports", tmp_path / "out", tmp_path / "suivi.sqlite", free_port()
    write_region(generate(215, staff=(2, 3)), exports)  # some have no active account to review
    main(["run", str(exports / "comptes.csv"), str(exports / "etablissements.xlsx"), "--out", str(out),
          "--as-of", SAMPLES_AS_OF, "--per-establishment", "--history", str(history), "--deadline",
          DEADLINE.isoformat(), "--fail-on", "jamais", "--quiet", "--format", "json,xlsx"])
    config = campaign_file(tmp_path, port, "  rate_per_minute: 10000\n")
    os.environ["VT_TEST_PORTAIL_SECRET"] = SECRET
    try:
        main(["send", str(out), "--config", str(config), "--history", str(history), "--dry-run", str(tmp_path / "e")])
    finally:
        del os.environ["VT_TEST_PORTAIL_SECRET"]
    links = links_of(tmp_path / "e")
    assert len(links) >= 200
    server = Server(history, config, port)

    def answer(finess: str) -> int | None:
        status, response, page = request(links[finess])
        cookie, csrf = csrf_of(response, page)
        rows = page.count('<select class="fr-select"')
        if not rows:  # no active account to review (all blocked or archived)
            return None
        form = {"csrf": csrf, "action": "envoyer", **{f"decision-{i}": "Conserver" for i in range(rows)}}
        return request(links[finess], "POST", form, cookie)[0]

    try:
        with ThreadPoolExecutor(50) as pool:
            statuses = list(pool.map(answer, links))
    finally:
        assert server.stop()[0] == 0
    answering = [finess for finess, status in zip(links, statuses) if status is not None]
    assert len(answering) >= 200 and {statuses[i] for i, s in enumerate(statuses) if s is not None} == {303}
    with sqlite3.connect(history) as db:
        answered = dict(db.execute("SELECT finess, count(*) FROM answers GROUP BY finess").fetchall())
        foreign = db.execute("SELECT count(*) FROM decisions d JOIN answers a ON a.id = d.answer_id WHERE NOT EXISTS "
                             "(SELECT 1 FROM reviewed r JOIN runs u ON u.id = r.run_id WHERE r.finess = a.finess "
                             "AND r.account = d.account)").fetchone()[0]
        undecided = db.execute("SELECT count(*) FROM answers a WHERE accounts != (SELECT count(*) FROM decisions d "
                               "WHERE d.answer_id = a.id)").fetchone()[0]
    db.close()
    assert answered == dict.fromkeys(answering, 1) and foreign == 0 and undecided == 0


def test_the_rate_limit_answers_429_past_its_count(tmp_path, portal):
    port = free_port()
    config = campaign_file(tmp_path, port, "  rate_per_minute: 5\n")
    server = Server(portal["history"], config, port)
    try:
        statuses = [request(f"{server.base}/")[0] for _ in range(7)]
    finally:
        server.stop()
    assert statuses == [200] * 5 + [429] * 2


def test_a_link_stops_working_once_the_next_months_campaign_is_sent(portal):
    link = portal["links"]["840000061"]
    assert request(link)[0] == 200
    with sqlite3.connect(portal["history"]) as db:
        db.execute("INSERT INTO deliveries VALUES ('2026-12-01', '840000061', 'x@y.fr', 'sent', '250', NULL, "
                   "'2026-12-02T10:00:00')")
    db.close()
    assert request(link)[0] == 403
