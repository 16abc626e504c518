"""`vt-audit serve`: the review portal on waitress, a production WSGI server that also runs on Windows.

One line per request in the log (method, path with the link's token hidden, status, time, client
address), never a name or an e-mail. Ctrl-C or SIGTERM stops it cleanly (exit 0). TLS is the
reverse proxy's job: `--trust-proxy ADRESSE` takes the client address and scheme from the
X-Forwarded-For and X-Forwarded-Proto headers of that proxy only.
"""

from __future__ import annotations

import logging
import re
import signal
import time
from pathlib import Path

from waitress.server import create_server

from ..campaign.config import load_config
from ..history.store import check_for_portal
from ..model.issues import AuditError
from .portal import MAX_BODY, create_app

log = logging.getLogger("auditor.portail")
_TOKEN = re.compile(r"^/revue/[^/]+")


def logged(app):
    """The application, logging one line per request."""

    def application(environ, start_response):
        started, status = time.monotonic(), ["-"]

        def start(code, headers, exc_info=None):
            status[0] = code.split(" ", 1)[0]
            return start_response(code, headers, exc_info)

        try:
            return app(environ, start)
        finally:
            path = _TOKEN.sub("/revue/<jeton>", environ.get("PATH_INFO", ""))
            log.info("%s %s %s %d ms %s", environ.get("REQUEST_METHOD"), path, status[0],
                        (time.monotonic() - started) * 1000, environ.get("REMOTE_ADDR", "?"))

    return application


def serve(history_path: Path, config_path: Path, host: str, port: int, trust_proxy: str | None = None,
          threads: int = 8) -> int:
    config = load_config(config_path)
    if config.portal is None:
        raise AuditError(f"{config_path} : pas de bloc « portail » (url, secret_env) : le portail n'a rien à servir")
    check_for_portal(history_path)  # a history that cannot be served is said now, once
    app = logged(create_app(history_path, config.portal))
    proxy = {"trusted_proxy": trust_proxy, "trusted_proxy_headers": {"x-forwarded-for", "x-forwarded-proto"},
             "clear_untrusted_proxy_headers": True} if trust_proxy else {}
    try:
        server = create_server(app, host=host, port=port, threads=threads, max_request_body_size=MAX_BODY,
                               ident="vt-audit", **proxy)
    except OSError as exc:
        raise AuditError(f"{host}:{port} : impossible d'écouter ({exc.strerror})") from None
    print(f"Portail de revue en écoute sur http://{host}:{server.effective_port} (Ctrl-C pour arrêter)", flush=True)

    def stop(signum, frame):
        raise KeyboardInterrupt

    for name in ("SIGINT", "SIGTERM"):
        signal.signal(getattr(signal, name), stop)
    try:
        server.run()
    except KeyboardInterrupt:
        pass
    finally:
        server.close()
    print("Portail arrêté.", flush=True)
    return 0
