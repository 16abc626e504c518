"""What users open, opened by the real programs: LibreOffice for the workbooks, Chromium for the page.

Both are Debian packages that .ci/run installs (libreoffice-calc-nogui, chromium, poppler-utils). On a
developer's machine without them these tests are skipped, saying which package is missing.
"""

import json
import re
import shutil
import subprocess

import pytest

from auditor.api import load_rulebook
from auditor.cli.commands import main
from auditor.testing.synthetic import generate, write_region
from tests.helpers import SAMPLES, SAMPLES_AS_OF

SOFFICE = shutil.which("soffice") or shutil.which("libreoffice")
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
PDFINFO = shutil.which("pdfinfo")
needs_libreoffice = pytest.mark.skipif(not (SOFFICE and PDFINFO),
                                       reason="LibreOffice ou pdfinfo absent (apt-get install libreoffice-calc-nogui "
                                       "poppler-utils, comme le fait .ci/run)")
needs_chromium = pytest.mark.skipif(not (CHROMIUM and PDFINFO),
                                    reason="Chromium ou pdfinfo absent (apt-get install chromium poppler-utils, "
                                    "comme le fait .ci/run)")


def pages(pdf) -> int:
    info = subprocess.run([PDFINFO, str(pdf)], capture_output=True, text=True, check=True).stdout
    return int(next(line.split()[-1] for line in info.splitlines() if line.startswith("Pages:")))


def to_pdf(workbooks, folder, profile):
    """Convert with LibreOffice headless; a profile of its own so that runs never share state."""
    subprocess.run([SOFFICE, f"-env:UserInstallation=file://{profile}", "--headless", "--convert-to", "pdf",
                    "--outdir", str(folder), *map(str, workbooks)],
                   capture_output=True, text=True, timeout=600, check=True)
    return {w.name: folder / f"{w.stem}.pdf" for w in workbooks}


@pytest.fixture(scope="module")
def sample_reports(tmp_path_factory):
    """The samples' second month with a history: the workbooks carry their trends too."""
    out, history = tmp_path_factory.mktemp("out"), tmp_path_factory.mktemp("history") / "suivi.sqlite"
    main(["run", str(SAMPLES), "--out", str(out.parent / "octobre"), "--as-of", "2026-10-01", "--format", "json",
          "--history", str(history), "--fail-on", "jamais", "--quiet"])
    main(["run", str(SAMPLES), "--out", str(out), "--as-of", SAMPLES_AS_OF, "--per-establishment", "--history",
          str(history), "--deadline", "2026-12-15", "--contact", "ARS PACA, audit-vt@ars.example", "--fail-on",
          "jamais"])
    return out


@needs_libreoffice
def test_libreoffice_opens_every_workbook_and_a_bundle_prints_on_four_pages_at_most(sample_reports, tmp_path):
    workbooks = [sample_reports / "audit.xlsx", *sorted((sample_reports / "etablissements").glob("*.xlsx"))]
    pdfs = to_pdf(workbooks, tmp_path / "pdf", tmp_path / "profile")
    assert all(pdf.exists() and pages(pdf) >= 1 for pdf in pdfs.values()), "a workbook did not convert"
    accounts = {path.name: _accounts(path) for path in workbooks[1:]}
    largest = max((name for name in accounts if accounts[name] <= 20), key=accounts.get)
    assert accounts[largest] >= 8  # a real establishment, not an empty one
    from openpyxl import load_workbook

    assert "Tendances" in load_workbook(sample_reports / "etablissements" / largest, read_only=True).sheetnames
    assert pages(pdfs[largest]) <= 4, f"{largest}: {pages(pdfs[largest])} pages"
    # The printed to-do carries the guide's steps, not only the findings.
    printed = " ".join(subprocess.run(["pdftotext", str(pdfs[largest]), "-"], capture_output=True, text=True,
                                      check=True).stdout.split())
    assert "Que faire (fiche pratique)" in printed and "Fait le" in printed
    finess = largest.split("_")[0]
    findings = json.loads((sample_reports / "findings.json").read_text(encoding="utf-8"))["findings"]
    fixes = {rule.code: rule.fix for rule in load_rulebook()[1]}
    steps = {" ".join(fixes[f["rule"]].split()[:6]) for f in findings if f["finess"] == finess}
    assert steps and all(step in printed for step in steps), steps
    # Every printed page readable: no text under 8 pt, on the region's workbook and on every director's.
    for name, pdf in pdfs.items():
        smallest = min(smallest_font_sizes(pdf))
        assert smallest >= 8, f"{name}: {smallest:.1f} pt"


def smallest_font_sizes(pdf) -> list[float]:
    """Per printed page, the smallest text in points, from the height of each word's box (pdftotext
    -bbox): LibreOffice's default fonts draw a box 1.26 times the font size (an 11 pt cell: 13.9)."""
    html = subprocess.run([shutil.which("pdftotext") or "pdftotext", "-bbox", str(pdf), "-"], capture_output=True,
                          text=True, check=True).stdout
    sizes = []
    for page in html.split("<page ")[1:]:
        heights = [float(bottom) - float(top) for top, bottom
                   in re.findall(r'yMin="([\d.]+)" xMax="[\d.]+" yMax="([\d.]+)"', page)]
        if heights:
            sizes.append(min(heights) / 1.26)
    return sizes


@needs_chromium
def test_chromium_prints_a_directors_access_review_across_the_page_several_accounts_to_a_page(sample_reports,
                                                                                             tmp_path):
    bundles = sorted((sample_reports / "etablissements").glob("*.xlsx"))
    largest = max(bundles, key=_accounts)
    pdf = tmp_path / "revue.pdf"
    subprocess.run([CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--no-pdf-header-footer",
                    f"--user-data-dir={tmp_path / 'chromium'}", f"--print-to-pdf={pdf}",
                    largest.with_suffix(".html").as_uri()], capture_output=True, timeout=300, check=True)
    boxes = subprocess.run([shutil.which("pdftotext") or "pdftotext", "-bbox", str(pdf), "-"], capture_output=True,
                           text=True, check=True).stdout
    review_pages = []
    for page in boxes.split("<page ")[1:]:
        width, height = (float(v) for v in re.search(r'width="([\d.]+)" height="([\d.]+)"', page).groups())
        if ">Décision<" in page and ">(Conserver<" in page:  # the review's header, repeated on each of its pages
            right_edge = max(float(v) for v in re.findall(r'xMax="([\d.]+)"', page))
            review_pages.append((width, height, right_edge))
    assert review_pages
    assert all(width > height for width, height, _ in review_pages)  # across the page (landscape)
    assert all(right_edge < width - 28 for width, _, right_edge in review_pages)  # nothing in the right margin
    assert _accounts(largest) / len(review_pages) >= 5  # not two or three accounts to a page


def _accounts(path) -> int:
    from openpyxl import load_workbook

    return sum(1 for _ in load_workbook(path, read_only=True)["Revue des accès"].iter_rows(min_row=2))


@needs_chromium
def test_chromium_prints_the_region_page_of_a_thousand_establishments(tmp_path):
    data, out = tmp_path / "region", tmp_path / "out"
    write_region(generate(1_000, seed=11, staff=(6, 12)), data)
    main(["run", str(data), "--out", str(out), "--as-of", "2026-11-01", "--format", "html", "--fail-on", "jamais"])
    page = out / "audit.html"
    assert page.stat().st_size < 1_500_000
    pdf = tmp_path / "audit.pdf"
    subprocess.run([CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--no-pdf-header-footer",
                    f"--user-data-dir={tmp_path / 'chromium'}", f"--print-to-pdf={pdf}", page.as_uri()],
                   capture_output=True, timeout=300, check=True)
    assert pages(pdf) >= 1
    first = subprocess.run([shutil.which("pdftotext") or "pdftotext", "-f", "1", "-l", "1", str(pdf), "-"],
                           capture_output=True, text=True, check=True).stdout
    assert "1 000" in first and "Établissements à traiter en priorité" in first  # the overview comes first
