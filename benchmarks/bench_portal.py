"""Benchmark of the review portal: a region of 1,000 establishments served by `vt-audit serve`,
50 clients at once on 127.0.0.1.

    python benchmarks/bench_portal.py [--establishments 1000] [--clients 50] [--data DOSSIER]

Prints the median and 95th percentile of a review page and of a submission, the weight of the
page of an establishment of about 50 accounts (with its stylesheet), and the server's peak memory.
The region is generated once into --data (deterministic), audited for a campaign, and its links
taken from a `send --dry-run`.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from auditor.cli.commands import main  # noqa: E402
from auditor.testing.synthetic import generate, write_region  # noqa: E402
from tests.test_portal import SECRET, Server, campaign_file, csrf_of, free_port, links_of, request  # noqa: E402

AS_OF, DEADLINE = "2026-11-01", "2027-12-31"


def prepare(folder: Path, establishments: int) -> tuple[Path, Path, Path]:
    """The region's history and campaign file, with the dry-run messages; made once."""
    history, eml, port = folder / "suivi.sqlite", folder / "eml", free_port()
    config = campaign_file(folder, port, "  rate_per_minute: 100000\n")
    if not history.exists():
        write_region(generate(establishments, staff=(12, 24), dirt=0.55), folder / "exports")
        exports = folder / "exports"
        main(["run", *(str(exports / name) for name in ("comptes.csv", "etablissements.xlsx", "personnels.csv")),
              "--out", str(folder / "rapports"), "--as-of", AS_OF, "--per-establishment", "--history", str(history),
              "--deadline", DEADLINE, "--fail-on", "jamais", "--quiet", "--format", "json,xlsx"])
    os.environ["VT_TEST_PORTAIL_SECRET"] = SECRET
    main(["send", str(folder / "rapports"), "--config", str(config), "--history", str(history), "--dry-run", str(eml)])
    return history, config, eml


def timed(call) -> float:
    started = time.perf_counter()
    call()
    return (time.perf_counter() - started) * 1000


def percentiles(times: list[float]) -> str:
    ordered = sorted(times)
    return f"médiane {statistics.median(ordered):6.1f} ms   p95 {ordered[int(0.95 * (len(ordered) - 1))]:6.1f} ms"


def run(folder: Path, clients: int) -> None:
    history, config, eml = prepare(folder, args.establishments)
    links = links_of(eml)
    port = int(re.search(r"127\.0\.0\.1:(\d+)", config.read_text(encoding="utf-8")).group(1))
    server = Server(history, config, port)
    try:
        with ThreadPoolExecutor(clients) as pool:
            pages = list(pool.map(lambda link: timed(lambda: request(link)), links.values()))

        def submit(link: str) -> float:
            status, response, page = request(link)
            cookie, csrf = csrf_of(response, page)
            rows = page.count('<select class="fr-select"')
            form = {"csrf": csrf, "action": "envoyer", **{f"decision-{i}": "Conserver" for i in range(rows)}}
            return timed(lambda: request(link, "POST", form, cookie))

        with ThreadPoolExecutor(clients) as pool:
            posts = list(pool.map(submit, links.values()))
        sizes = [request(link)[2] for link in list(links.values())[:300]]
        largest = max(sizes, key=lambda page: page.count('<select class="fr-select"'))
        css = request(f"{server.base}/static/portail.css")[2]
        peak = next(line.split()[1] for line in open(f"/proc/{server.process.pid}/status")
                    if line.startswith("VmHWM"))
    finally:
        server.stop()
    print(f"{len(links)} établissements, {clients} clients à la fois (127.0.0.1, 2 cœurs)")
    print(f"  page de revue     {percentiles(pages)}")
    print(f"  envoi de la revue {percentiles(posts)}")
    accounts = largest.count('<select class="fr-select"')
    weight, per_account = len(largest.encode()) + len(css.encode()), len(largest.encode()) / max(accounts, 1)
    print(f"  poids de la plus grande page ({accounts} comptes), feuille de style comprise : {weight / 1024:.0f} Ko "
          f"(environ {per_account / 1024:.1f} Ko par compte : {(weight + (50 - accounts) * per_account) / 1024:.0f} Ko "
          "pour 50 comptes)")
    print(f"  mémoire du serveur (pic) : {int(peak) / 1024:.0f} Mo")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--establishments", type=int, default=1000)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--data", type=Path, default=None, help="dossier des données générées (gardé)")
    args = parser.parse_args()
    if args.data is not None:
        args.data.mkdir(parents=True, exist_ok=True)
        run(args.data, args.clients)
    else:
        with tempfile.TemporaryDirectory() as folder:
            run(Path(folder), args.clients)
