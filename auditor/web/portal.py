"""The review portal: each establishment's access review, answered online behind its signed link.

Server-rendered French pages, usable without JavaScript (forms and links only), in the look of
the Système de Design de l'État. What a page shows comes from the history (history/portal_tables.py);
an answer sent online is recorded exactly as `vt-audit answers` records a workbook (same tables,
same rules for partial answers), so REV-01 and REV-02 work unchanged the month after.

Security, as the README's « The review portal » section states it:
- a link names one establishment and one month (campaign/links.py); the rows a form may decide
  are the stored review's, by position: nothing the browser sends can reach another establishment;
  a tampered, expired, revoked or unknown link gets one French page (403) that says nothing more;
- CSRF: a random token in an HttpOnly, SameSite=Strict cookie (Secure behind TLS), repeated in each
  form and compared; a strict Content-Security-Policy (no script at all), no framing, no caching;
- request size limits and a rate limit per client address; every view and submission recorded in
  the history (when, which establishment, client address), never the secret;
- every value escaped (names are hostile input, as in the reports).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import logging
import secrets
import threading
import time
from collections import deque
from pathlib import Path

from flask import Flask, Response, abort, redirect, render_template, request, send_file

from ..campaign.config import PortalSettings
from ..campaign.links import ReviewLink, read_token
from ..config.resources import templates_dir
from ..history.store import History, connect_for_portal
from ..model.enums import Decision
from ..model.findings import SEVERITY_LABELS
from ..model.text import french_number, plural

CSRF_COOKIE = "vt_csrf"
MAX_BODY = 256 * 1024  # a 300-account review's form is under 60 KB
HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "
                               "frame-ancestors 'none'; base-uri 'none'",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",  # the link is the key: never sent to another site
    "Cross-Origin-Opener-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
}
ERRORS = {
    400: ("Formulaire expiré", "Le formulaire a expiré ou est incomplet : rechargez la page de la revue "
                               "et recommencez (un brouillon enregistré est conservé)."),
    403: ("Lien non valable", "Ce lien n'est pas, ou plus, valable. Utilisez le lien du dernier message de "
                              "l'audit, ou répondez avec le classeur joint à ce message."),
    404: ("Page introuvable", "Cette page n'existe pas. Utilisez le lien reçu par e-mail."),
    405: ("Action impossible", "Cette action n'est pas possible sur cette page."),
    413: ("Formulaire trop volumineux", "Le formulaire envoyé est trop volumineux."),
    429: ("Trop de demandes", "Trop de demandes en peu de temps depuis votre adresse : réessayez dans une minute."),
    500: ("Erreur du portail", "Le portail n'a pas pu traiter la demande ; réessayez plus tard, ou répondez avec "
                               "le classeur joint au message de l'audit."),
}


class RateLimiter:
    """At most `per_minute` requests of one client address in any 60 seconds (in memory: one process)."""

    def __init__(self, per_minute: int):
        self.per_minute, self.lock, self.seen = per_minute, threading.Lock(), {}

    def allow(self, client: str) -> bool:
        now = time.monotonic()
        with self.lock:
            if len(self.seen) > 10_000:  # forget the quiet ones: memory stays bounded
                self.seen = {k: v for k, v in self.seen.items() if v and now - v[-1] < 60}
            times = self.seen.setdefault(client, deque())
            while times and now - times[0] >= 60:
                times.popleft()
            if len(times) >= self.per_minute:
                return False
            times.append(now)
            return True


def create_app(history_path: Path, portal: PortalSettings) -> Flask:
    """The portal's WSGI application (served by waitress: see server.py)."""
    app = Flask(__name__, static_folder=None, template_folder=str(templates_dir()))
    app.jinja_env.autoescape = True  # every template, whatever its extension
    app.jinja_env.filters.update(plural=plural, number=french_number)  # as the reports write counts
    app.config.update(MAX_CONTENT_LENGTH=MAX_BODY, MAX_FORM_MEMORY_SIZE=MAX_BODY, MAX_FORM_PARTS=2000)
    views = Portal(history_path, portal)
    app.before_request(views.limit)
    app.after_request(views.harden)
    app.register_error_handler(Exception, views.error)
    for rule, view, methods in (("/", views.home, ["GET"]), ("/static/portail.css", views.stylesheet, ["GET"]),
                                ("/favicon.ico", views.no_icon, ["GET"]),
                                ("/revue/<token>", views.review, ["GET"]), ("/revue/<token>", views.submit, ["POST"]),
                                ("/revue/<token>/recu", views.receipt, ["GET"]),
                                ("/revue/<token>/classeur.xlsx", views.workbook, ["GET"])):
        app.add_url_rule(rule, f"{view.__name__}-{methods[0]}", view, methods=methods)
    return app


class Portal:
    """The views, with what they share: the signing secret, a history connection per thread, the limiter."""

    def __init__(self, history_path: Path, portal: PortalSettings):
        self.history_path, self.portal, self.secret = history_path, portal, portal.secret()
        self.secure = portal.url.startswith("https://")
        self.local, self.limiter = threading.local(), RateLimiter(portal.rate_per_minute)

    def history(self) -> History:
        if not hasattr(self.local, "history"):
            self.local.history = connect_for_portal(self.history_path)
        return self.local.history

    @staticmethod
    def client() -> str:
        return request.remote_addr or "?"

    def opened(self, token: str) -> tuple[ReviewLink, tuple[dict, bytes | None, str | None], History]:
        """The link's establishment and month, and what is kept of it; 403 for anything else."""
        link = read_token(self.secret, token)
        if link is None or link.expires < dt.date.today() or link.revocation_key in self.portal.revoked:
            abort(403)
        store = self.history()
        kept = store.review_page(link.as_of, link.finess)
        if kept is None or store.later_campaign_sent(link.as_of):
            abort(403)
        return link, kept, store

    def limit(self):
        if not self.limiter.allow(self.client()):
            abort(429)

    @staticmethod
    def harden(response: Response) -> Response:
        response.headers.update(HEADERS)
        if request.path.startswith("/revue/"):
            response.headers["Cache-Control"] = "no-store"
        return response

    @staticmethod
    def error(exc):
        code = getattr(exc, "code", None) if getattr(exc, "code", None) in ERRORS else 500
        if code == 500:
            logging.getLogger(__name__).error("erreur interne du portail : %s", type(exc).__name__)
        title, message = ERRORS[code]
        return render_template("portal/error.html.j2", title=title, message=message), code

    @staticmethod
    def stylesheet():
        return send_file(templates_dir() / "portal" / "portail.css", mimetype="text/css", max_age=86400)

    @staticmethod
    def no_icon():
        return Response(status=204)  # browsers ask for one; the page has none

    @staticmethod
    def home():
        return render_template("portal/error.html.j2", title="Revue des accès",
                               message="Ouvrez le lien personnel reçu dans le message de l'audit.")

    def review(self, token: str):
        link, (page, _, _), store = self.opened(token)
        store.portal_event(link.as_of, link.finess, "vue", self.client())
        notice = {"kind": "success", "title": "Brouillon enregistré",
                  "text": "Vos choix sont gardés ; ils ne sont pas encore envoyés."} if "enregistre" in request.args \
            else None
        return self.page(token, link, page, store, store.draft(link.as_of, link.finess), notice)

    def submit(self, token: str):
        link, (page, _, _), store = self.opened(token)
        cookie, sent = request.cookies.get(CSRF_COOKIE, ""), request.form.get("csrf", "")
        if not cookie or not hmac.compare_digest(cookie, sent):
            store.portal_event(link.as_of, link.finess, "refus", self.client())
            abort(400)
        chosen = _decisions_of(page["review"], request.form)
        if request.form.get("action") == "brouillon":
            store.save_draft(link.as_of, link.finess, chosen, self.client())
            return redirect(f"/revue/{token}?enregistre=1", 303)
        decided = [(account, c["decision"], c["comment"] or None) for account, c in chosen.items() if c["decision"]]
        if not decided:  # as for a workbook: a review without any decision is no answer
            store.portal_event(link.as_of, link.finess, "refus", self.client())
            notice = {"kind": "error", "title": "Aucune décision",
                      "text": "Choisissez Conserver, Modifier ou Archiver pour chaque compte avant d'envoyer."}
            return self.page(token, link, page, store, chosen, notice, 422)
        fingerprint = hashlib.sha256(json.dumps([link.finess, link.as_of.isoformat(), decided]).encode()).hexdigest()
        if not store.is_latest_answer(link.as_of, link.finess, fingerprint):  # sent twice: recorded once
            store.record_answer(link.as_of, link.finess, "portail", fingerprint, "portail", len(page["review"]),
                                decided)
        store.portal_event(link.as_of, link.finess, "envoi", self.client())
        return redirect(f"/revue/{token}/recu", 303)

    def receipt(self, token: str):
        link, (page, _, _), store = self.opened(token)
        latest = store.latest_answer(link.as_of, link.finess)
        if latest is None:
            return redirect(f"/revue/{token}", 303)
        recorded_at, decisions = latest
        by_account = {account: (decision, comment) for account, decision, comment in decisions}
        rows = [{"name": r["name"], "account": r["account"], **dict(zip(("decision", "comment"),
                                                                         by_account.get(r["account"], (None, None))))}
                for r in page["review"]]
        counts = {d: sum(1 for x, _ in by_account.values() if x == d) for d in Decision.values()}
        summary = (f"{plural(len(by_account), 'décision')} pour {plural(len(page['review']), 'compte')} : "
                   + ", ".join(f"{d} {french_number(n)}" for d, n in counts.items()) + ".")
        return render_template("portal/receipt.html.j2", title="Revue envoyée", page=page, base=f"/revue/{token}",
                               as_of=f"{link.as_of:%d/%m/%Y}", summary=summary, decided=rows,
                               recorded_at=f"{dt.datetime.fromisoformat(recorded_at):%d/%m/%Y à %H:%M}",
                               undecided=max(len(page["review"]) - len(by_account), 0))

    def workbook(self, token: str):
        link, (_, data, name), store = self.opened(token)
        if data is None:
            abort(404)
        store.portal_event(link.as_of, link.finess, "classeur", self.client())
        return Response(data, mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                        headers={"Content-Disposition": f'attachment; filename="{name}"'})

    def page(self, token, link, page, store, chosen, notice, status=200) -> Response:
        """The review page, its choices pre-filled (a draft, else the latest answer), with its CSRF cookie."""
        latest = store.latest_answer(link.as_of, link.finess)
        if notice is None and latest is not None:
            when = dt.datetime.fromisoformat(latest[0])
            notice = {"kind": "info", "title": f"Revue déjà envoyée le {when:%d/%m/%Y à %H:%M}",
                      "text": "Vous pouvez la modifier et l'envoyer de nouveau : la dernière réponse compte."}
        if chosen is None and latest is not None:
            chosen = {account: {"decision": d, "comment": c} for account, d, c in latest[1]}
        rows = [(chosen or {}).get(r["account"], {"decision": "", "comment": ""}) for r in page["review"]]
        csrf = request.cookies.get(CSRF_COOKIE) or secrets.token_urlsafe(32)
        response = Response(render_template(
            "portal/review.html.j2", title=page["name"], page=page, base=f"/revue/{token}", csrf=csrf,
            as_of=f"{link.as_of:%d/%m/%Y}", choices=Decision.values(), chosen=rows, notice=notice,
            deadline=dt.date.fromisoformat(page["deadline"]).strftime("%d/%m/%Y") if page["deadline"] else None,
            labels=SEVERITY_LABELS), status)
        response.set_cookie(CSRF_COOKIE, csrf, httponly=True, secure=self.secure, samesite="Strict", path="/revue/")
        return response


def _decisions_of(review: list[dict], form) -> dict[str, dict]:
    """The form's choices by account, for the stored review's rows only (by position: an account the
    browser names is never read), each decision one of the three."""
    chosen = {}
    for position, row in enumerate(review):
        decision = form.get(f"decision-{position}", "")
        chosen[row["account"]] = {"decision": decision if decision in Decision.values() else "",
                                  "comment": form.get(f"comment-{position}", "").strip()[:500]}
    return chosen
