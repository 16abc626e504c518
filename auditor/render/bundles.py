"""One bundle per establishment for its director: only that establishment's rows.

A region writes about a thousand bundles, a national run forty thousand:
they are written by one process per core (forked, so that each inherits the
audit result instead of receiving a copy), while this process writes the
regional reports. Each worker cuts its establishments' parts of the result
itself (EstablishmentParts).
"""

from __future__ import annotations

import dataclasses
import multiprocessing
import os
import signal
from collections import defaultdict
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
import pandas as pd

from ..files import make_folder
from ..model.frames import python_frame
from ..model.progress import Progress, silent
from ..model.text import fold
from ..run import Run
from .html_report import html_template, write_html
from .xlsx_report import write_xlsx

BUNDLE_DIR = "etablissements"
MAX_NAME_CHARS = 60
WINDOWS_RESERVED = {"CON", "PRN", "AUX", "NUL", *(f"COM{n}" for n in range(1, 10)), *(f"LPT{n}" for n in range(1, 10))}
LABEL = "établissements"
PARALLEL_FROM = 50  # fewer bundles than this are not worth starting processes for
# Bundles handed to a worker at a time: few, so that the workers end together (a worker left alone with
# a last chunk of 16 bundles idled the other core for a quarter of a second).
CHUNK = 4
NO_ROWS = np.array([], dtype=np.int64)
# What the bundles are written from ("parts": EstablishmentParts), inherited by the forked workers.
_SHARED: dict = {}


def bundle_stem(finess: str, name: str) -> str:
    """A file name safe everywhere: FINESS and folded name, no path characters."""
    safe_finess = "".join(ch for ch in str(finess) if ch.isalnum())[:12] or "sans-finess"
    slug = fold(name).replace(" ", "-")[:MAX_NAME_CHARS].strip("-")
    stem = f"{safe_finess}_{slug}" if slug else safe_finess
    return f"{stem}_" if stem.upper() in WINDOWS_RESERVED else stem  # CON.xlsx cannot be opened on Windows


class EstablishmentParts(Mapping):
    """The result of each audited establishment: only its findings, waivers, follow-up and access
    review rows (the export's reading problems are the auditor's: a director's reports show none).

    What is shared is grouped once, here; a part is cut when it is asked for, by the worker that
    writes its bundle.
    """

    def __init__(self, result: Run):
        self.result = result
        self.findings = defaultdict(list)
        for finding in result.findings:
            self.findings[finding.finess].append(finding)
        self.rows = result.establishments.groupby("finess").indices
        self.follow_up = result.follow_up.by_establishment() if result.follow_up is not None else None
        review = result.access_review
        self.review_rows = review_positions(review)
        # A bundle reads a score of review rows: from Python objects, whose take and iteration cost a
        # fraction of Arrow's per call (1.6 ms a bundle, a tenth of its time). One object per distinct
        # value: a national review as objects cell by cell took 690 MB, shared 55 MB.
        self.review = None if review is None else python_frame(review)

    def __getitem__(self, finess: str) -> Run:
        result, review = self.result, self.review
        evaluation = dataclasses.replace(
            result.evaluation, finding_table=None,
            establishments=result.establishments.take(self.rows[finess]).reset_index(drop=True),
            access_review=None if review is None else review.take(self.review_rows.get(finess, NO_ROWS)))
        return dataclasses.replace(
            result,
            evaluation=evaluation,
            records=self.findings.get(finess, []),
            input_issues=[],
            waivers=result.waivers.restricted_to(finess) if result.waivers is not None else None,
            follow_up=self.follow_up(finess) if self.follow_up is not None else None,
        )

    def __iter__(self) -> Iterator[str]:
        return iter(sorted(self.rows))

    def __len__(self) -> int:
        return len(self.rows)


def bundle_stems(establishments: pd.DataFrame) -> dict[str, str]:
    """The file name (without extension) of each establishment's bundle."""
    stems, used = {}, set()
    for finess, name in zip(establishments["finess"], establishments["name"]):
        stem = bundle_stem(finess, name)
        while stem.lower() in used:  # two malformed FINESS of the referential may fold to the same name
            stem += "_bis"
        used.add(stem.lower())
        stems[finess] = stem
    return stems


def bundle_links(establishments: pd.DataFrame) -> dict[str, str]:
    """Each establishment's bundle page, relative to the regional reports (for their links)."""
    return {finess: f"{BUNDLE_DIR}/{stem}.html" for finess, stem in bundle_stems(establishments).items()}


def review_positions(review: pd.DataFrame | None) -> dict[str, np.ndarray]:
    """Row positions of each establishment in the access review.

    Positions, not frames: cutting a million-row review into 40,000 frames up
    front costs more than writing the bundles.
    """
    return review.groupby("finess").indices if review is not None else {}


def _write_one(job: tuple[str, str, Path, tuple[str, ...]]) -> list[Path]:
    finess, stem, folder, formats = job
    part = _SHARED["parts"][finess]
    written = []
    establishment = {"finess": finess, "name": part.establishments["name"].iat[0]}
    if "xlsx" in formats:
        written.append(write_xlsx(part, folder / f"{stem}.xlsx", establishment))
    if "html" in formats:
        written.append(write_html(part, folder / f"{stem}.html", establishment))
    return written


def _die_with_parent() -> None:
    """Linux: a worker gets SIGTERM (and removes its half-written file) if the main process is killed."""
    try:
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # 1 = PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass  # elsewhere an orphaned worker finishes its few bundles and exits


def write_bundles(result: Run, out: Path, formats: tuple[str, ...], progress: Progress = silent,
                  meanwhile: Callable[[], None] = lambda: None) -> list[Path]:
    """Write every bundle (in parallel where the platform can fork); returns the files written.

    `meanwhile`: what this process writes while the workers write the bundles (the regional
    reports); where the bundles are written in this process, it is done first.
    """
    folder = make_folder(out / BUNDLE_DIR)
    parts = _SHARED["parts"] = EstablishmentParts(result)
    if "html" in formats:
        html_template()  # compiled here, once, rather than in each worker (0.15 s each)
    stems = bundle_stems(result.establishments.sort_values("finess"))
    jobs = [(finess, stems[finess], folder, formats) for finess in parts]
    workers = os.cpu_count() or 1
    try:
        if workers > 1 and len(jobs) >= PARALLEL_FROM and "fork" in multiprocessing.get_all_start_methods():
            context = multiprocessing.get_context("fork")
            with ProcessPoolExecutor(workers, mp_context=context, initializer=_die_with_parent) as pool:
                done = pool.map(_write_one, jobs, chunksize=CHUNK)  # the workers start on it now
                try:
                    meanwhile()
                except BaseException:
                    pool.shutdown(cancel_futures=True)  # the run stops: no more bundles
                    raise
                return [path for paths in progress(done, len(jobs), LABEL) for path in paths]
        meanwhile()
        return [path for paths in progress(map(_write_one, jobs), len(jobs), LABEL) for path in paths]
    finally:
        _SHARED.clear()
