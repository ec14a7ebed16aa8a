"""Hostile input never stops a batch: every file of the corpus (tests/hostile/build.py) gets its
records with a clear reason, the scan completes with its documented exit code, and no traceback
reaches the user. The corpus is scanned by the installed command in a child process."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from hostile.build import (
    READ,
    UNKNOWN_TEMPLATE,
    Expect,
    build_corpus,
    write_unknown_template,
)
from srsform.errors import ExitCode
from srsform.form.templates import load_bundled, load_template
from srsform.read import ingest
from srsform.read.ingest import PageRef, list_pages, load_page
from srsform.read.pipeline import ScanConfig, process_page
from srsform.records import PAGE_STATUSES, PageResult

MIN_FILES = 25
HUNG_TOOL = """#!/bin/sh
# A poppler tool that hangs on every document, though it still tells its version.
case "$1" in -v|-h) echo "{name} version 22.02.0" >&2; exit 0;; esac
exec sleep 30
"""


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Expect]]:
    folder = tmp_path_factory.mktemp("hostile") / "scans"
    return folder, build_corpus(folder)


def run_srsform(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """The installed `srsform` command, run as a user runs it."""
    script = Path(sys.executable).with_name("srsform")
    command = [str(script)] if script.exists() else [
        sys.executable, "-c", "from srsform.cli import main; main()"]
    return subprocess.run([*command, *args], cwd=cwd, capture_output=True, text=True,
                          timeout=600, check=False)


def read_records(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def problems_with(records: list[dict], expected: dict[str, Expect]) -> list[str]:
    """Every way the records differ from the corpus's expectations, one line each."""
    wanted = [(name, page) for name, e in expected.items() for page in range(1, e.records + 1)]
    got = [(Path(r["source"]).name, r["page"]) for r in records]
    if got != wanted:
        return [f"records (file, page) in order: got {got}, expected {wanted}"]
    problems = []
    for record, (name, page) in zip(records, wanted, strict=True):
        status, reasons = record["status"], record["reasons"]
        allowed, phrase = expected[name].statuses[page - 1], expected[name].reasons[page - 1]
        where = f"{name} page {page}: {status} {reasons}"
        if status not in allowed:
            problems.append(f"{where}: status not in {sorted(allowed)}")
        if status != "ok" and not any(isinstance(r, str) and r.strip() for r in reasons):
            problems.append(f"{where}: a non-ok record without a reason")
        if phrase and not any(phrase.lower() in r.lower() for r in reasons):
            problems.append(f"{where}: no reason mentions {phrase!r}")
        if any(r.startswith("internal error") for r in reasons):
            problems.append(f"{where}: an unexpected exception (a bug) ended the page")
    return problems


def test_the_corpus_holds_every_kind_of_hostile_input(corpus) -> None:
    folder, expected = corpus
    assert len(expected) >= MIN_FILES
    assert sorted(p.name for p in folder.iterdir()) == list(expected)
    assert sum(p.stat().st_size for p in folder.iterdir()) < 6_000_000
    assert {s for e in expected.values() for allowed in e.statuses for s in allowed} == set(
        PAGE_STATUSES)


def test_a_scan_of_the_corpus_completes_with_a_record_and_reason_per_page(corpus, tmp_path):
    folder, expected = corpus
    out = tmp_path / "out.jsonl"
    done = run_srsform("scan", str(folder), "-o", str(out), "--db", str(tmp_path / "s.db"),
                       cwd=tmp_path)
    assert "Traceback" not in done.stderr + done.stdout, done.stderr
    assert done.returncode == ExitCode.FAILED, done.stderr  # some pages unreadable or error
    records = read_records(out)
    problems = problems_with(records, expected)
    assert not problems, "\n".join(problems)
    assert f"{len(records)} page(s)" in done.stderr  # the summary line: the batch finished


def test_a_verbose_scan_shows_each_page_and_still_completes(corpus, tmp_path):
    folder, expected = corpus
    out = tmp_path / "out.jsonl"
    done = run_srsform("-v", "scan", str(folder), "-o", str(out), "--db",
                       str(tmp_path / "s.db"), cwd=tmp_path)
    assert done.returncode == ExitCode.FAILED, done.stderr
    assert len(read_records(out)) == sum(e.records for e in expected.values())
    assert "01-empty.pdf" in done.stderr and "33-unknown-layout.png" in done.stderr


def scan_one(path: Path, config: ScanConfig) -> PageResult:
    pages = list_pages(str(path))
    assert len(pages) == 1
    return process_page(pages[0], config)


def test_the_unknown_layout_reads_once_its_template_is_given(corpus, tmp_path):
    folder, _ = corpus
    template = load_template(write_unknown_template(tmp_path / UNKNOWN_TEMPLATE))
    config = ScanConfig(templates=(*load_bundled(), template))
    result = scan_one(folder / "33-unknown-layout.png", config)
    assert result.status in READ, result.reasons
    assert result.template == "wellbeing" and len(result.items) == 5


def test_a_form_without_its_qr_code_is_read_for_review_as_the_given_template(corpus):
    folder, _ = corpus
    config = ScanConfig(templates=tuple(load_bundled()), fallback=load_template("srs"))
    result = scan_one(folder / "34-qr-painted-over.png", config)
    assert result.status == "review"
    assert result.template == "srs" and any("QR code unreadable" in r for r in result.reasons)


@pytest.mark.parametrize("name", ["19-form-72dpi.png", "36-upside-down-photo.jpg",
                                  "30-other-form-photo.jpg"])
def test_a_72_dpi_placeholder_is_not_taken_for_the_scan_resolution(corpus, name):
    # Phones and screenshots write 72 dpi whatever the picture holds; believed, it made every
    # photographed form "printed at 190% of true size".
    folder, _ = corpus
    ref = list_pages(str(folder / name))[0]
    assert isinstance(ref, PageRef)
    assert load_page(ref).px_per_mm is None


@pytest.fixture()
def hung_poppler(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """Put a hanging copy of a poppler tool first on PATH; renders time out after 1 s."""
    def install(name: str) -> None:
        tool = tmp_path / "hung-bin" / name
        tool.parent.mkdir(exist_ok=True)
        tool.write_text(HUNG_TOOL.format(name=name), encoding="utf-8")
        tool.chmod(0o755)
        monkeypatch.setenv("PATH", f"{tool.parent}{os.pathsep}{os.environ['PATH']}")
        monkeypatch.setattr(ingest, "RENDER_TIMEOUT_S", 1)

    return install


@pytest.mark.skipif(os.name != "posix", reason="the hanging tool is a shell script")
@pytest.mark.parametrize("tool", ["pdftoppm", "pdfinfo"])
def test_a_hung_poppler_is_timed_out(corpus, hung_poppler, tool, scan_config):
    folder, _ = corpus
    hung_poppler(tool)
    started = time.monotonic()
    result = scan_one(folder / "29-other-document.pdf", scan_config)
    assert time.monotonic() - started < 15
    assert result.status == "error"
    assert "took longer than" in result.reasons[0]
