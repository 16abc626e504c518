"""The output folder under attack: two runs at once, earlier reports, links, faults, signals.

Faults are real: a file-size limit (what a full disk looks like to the writer), folders another
user cannot read or write (as root, the test drops the capabilities that bypass permissions).
"""

import fcntl
import os
import resource
import shutil
import signal
import subprocess
import sys

import pytest

from auditor.cli.commands import main
from auditor.files import LOCK_NAME, MANIFEST_NAME
from tests.helpers import ROOT, SAMPLES, SAMPLES_AS_OF

RUN = ["run", str(SAMPLES), "--as-of", SAMPLES_AS_OF]


def run_cli(*arguments, preexec_fn=None, env=None):
    return subprocess.run([sys.executable, "-m", "auditor", *map(str, arguments)], capture_output=True, text=True,
                          cwd=ROOT, preexec_fn=preexec_fn, env=env, timeout=300)


def assert_one_error_line(result, *words):
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("Erreur : "), result.stderr
    for word in words:
        assert word in lines[0], lines[0]


def test_a_second_run_into_a_locked_folder_stops_with_a_clear_error(tmp_path, capsys):
    out = tmp_path / "out"
    out.mkdir()
    with open(out / LOCK_NAME, "w") as held:  # another run holds the folder
        fcntl.flock(held, fcntl.LOCK_EX)
        assert main([*RUN, "--out", str(out)]) == 2
        assert "une autre exécution de vt-audit écrit déjà dans ce dossier" in capsys.readouterr().err
        assert sorted(p.name for p in out.iterdir()) == [LOCK_NAME], "nothing written beside the other run"
    assert main([*RUN, "--out", str(out)]) == 1  # the lock released, the folder is usable again
    assert (out / "findings.json").exists()


def test_reports_of_an_earlier_run_are_removed_and_nothing_else(tmp_path):
    out = tmp_path / "out"
    assert main([*RUN, "--out", str(out), "--per-establishment"]) == 1
    suffixes = sorted(p.suffix for p in (out / "etablissements").iterdir())
    assert len(suffixes) > 10 and suffixes.count(".html") == suffixes.count(".xlsx")  # a page and a workbook each
    (out / "notes.txt").write_text("à garder", encoding="utf-8")
    (out / "etablissements" / "courrier.docx").write_bytes(b"a user's file")
    (out / "audit.pdf").write_bytes(b"printed by the user")

    assert main([*RUN, "--out", str(out), "--format", "json"]) == 1
    assert sorted(p.name for p in out.iterdir() if not p.name.startswith(".")) == [
        "audit.pdf", "etablissements", "findings.json", "notes.txt"]
    assert [p.name for p in (out / "etablissements").iterdir()] == ["courrier.docx"]
    assert (out / MANIFEST_NAME).exists()


def test_a_manifest_naming_files_outside_the_folder_removes_nothing_there(tmp_path):
    out, elsewhere = tmp_path / "out", tmp_path / "precious.txt"
    elsewhere.write_text("hors du dossier", encoding="utf-8")
    out.mkdir()
    (out / MANIFEST_NAME).write_text('{"reports": ["../precious.txt", "/etc/hostname", 3]}', encoding="utf-8")
    assert main([*RUN, "--out", str(out), "--format", "json"]) == 1
    assert elsewhere.read_text(encoding="utf-8") == "hors du dossier"


def test_a_symlinked_bundle_folder_is_refused_and_its_target_untouched(tmp_path, capsys):
    out, target = tmp_path / "out", tmp_path / "ailleurs"
    target.mkdir()
    out.mkdir()
    (out / "etablissements").symlink_to(target)
    assert main([*RUN, "--out", str(out), "--per-establishment"]) == 2
    error = capsys.readouterr().err
    assert "etablissements : n'est pas un dossier mais un lien" in error
    assert list(target.iterdir()) == []


def _file_size_limit(limit: int):
    def apply():
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # the write fails with EFBIG, as on a full disk
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
    return apply


@pytest.mark.parametrize("report, form", [("findings.json", "json"), ("audit.xlsx", "xlsx"), ("audit.html", "html")])
def test_a_full_disk_keeps_the_previous_report_and_says_which_file(tmp_path, report, form):
    out = tmp_path / "out"
    assert main([*RUN, "--out", str(out), "--format", form]) == 1
    before = (out / report).read_bytes()
    result = run_cli(*RUN, "--as-of", "2026-11-15", "--out", out, "--format", form,
                     preexec_fn=_file_size_limit(4096))
    assert_one_error_line(result, f"{report} : écriture impossible", "le rapport précédent")
    assert (out / report).read_bytes() == before
    assert not list(out.rglob("*.part"))


_CAP_DAC_OVERRIDE, _CAP_DAC_READ_SEARCH, _PR_CAPBSET_DROP = 1, 2, 24


def _without_root_override():
    """In the child: file permissions apply even to root (its capabilities to bypass them dropped).

    Root stays root (the interpreter under /root remains readable); only the folders the test
    closed are closed to it, as they would be to the auditor's own account.
    """
    if os.getuid() != 0:
        return
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    for capability in (_CAP_DAC_OVERRIDE, _CAP_DAC_READ_SEARCH):
        # Out of the bounding set: the exec that follows cannot give them back (it would to root).
        if libc.prctl(_PR_CAPBSET_DROP, capability, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl(PR_CAPBSET_DROP)")


def test_a_read_only_bundle_folder_stops_with_one_line(tmp_path):
    out = tmp_path / "out"
    (out / "etablissements").mkdir(parents=True)
    (out / "etablissements").chmod(0o555)
    result = run_cli(*RUN, "--out", out, "--per-establishment", preexec_fn=_without_root_override)
    assert_one_error_line(result, "etablissements")
    assert list((out / "etablissements").iterdir()) == []


def test_an_unreadable_input_folder_stops_with_one_line(tmp_path):
    exports = tmp_path / "exports"
    shutil.copytree(SAMPLES, exports)
    exports.chmod(0o000)
    out = tmp_path / "out"
    result = run_cli("run", exports, "--out", out, preexec_fn=_without_root_override)
    assert_one_error_line(result, str(exports), "lecture impossible")


START_UP_THEN_WAIT = """
import os, sys, time

notify = int(sys.argv.pop(1))


class PauseOnPandas:
    # Start-up is under way (the signal handlers are set, pandas is being imported) when the test
    # is told to send its signal: deterministic, no timing.
    def find_spec(self, name, path=None, target=None):
        if name == "pandas":
            os.write(notify, b"x")
            time.sleep(60)
        return None


sys.meta_path.insert(0, PauseOnPandas())
from auditor.cli.launch import entry_point
entry_point()
"""


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGHUP])
def test_a_signal_during_start_up_ends_with_one_line(tmp_path, sig):
    read_end, write_end = os.pipe()
    process = subprocess.Popen([sys.executable, "-c", START_UP_THEN_WAIT, str(write_end), *RUN, "--out",
                                str(tmp_path / "out")], stderr=subprocess.PIPE, text=True, pass_fds=(write_end,),
                               cwd=ROOT)
    os.close(write_end)
    assert os.read(read_end, 1) == b"x"
    os.close(read_end)
    process.send_signal(sig)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 2
    assert stderr.strip() == "Erreur : interrompu ; aucun rapport partiel n'a été laissé"
