"""Outputs are checked before any input is read, written whole or not at all, owner-only;
every exit code comes from the errors module."""

from __future__ import annotations

import os
import sqlite3
import stat
from pathlib import Path

import pytest
from click.testing import CliRunner

from srsform.cli import main
from srsform.errors import ExitCode, OutputError
from srsform.outputs import atomic_output, check_writable

SAMPLES = Path(__file__).resolve().parent.parent / "samples"
MISSING = "/nonexistent/folder/out"


def _run(args: list[str]) -> tuple[int, str]:
    result = CliRunner().invoke(main, args)
    return result.exit_code, result.output


def _one_clear_line(output: str, path: str) -> None:
    lines = [line for line in output.splitlines() if line.strip()]
    assert len(lines) == 1, lines
    assert lines[0].startswith("srsform: error: cannot write") and path in lines[0]


def _stored_pages(db: Path) -> int:
    if not db.exists():
        return 0
    with sqlite3.connect(db) as con:
        return con.execute("SELECT COUNT(*) FROM pages").fetchone()[0]


def test_print_to_a_missing_folder_exits_3_with_one_line() -> None:
    code, output = _run(["print", "-o", f"{MISSING}.pdf"])
    assert code == ExitCode.CONFIG == 3
    _one_clear_line(output, f"{MISSING}.pdf")


def test_scan_to_a_missing_folder_reads_and_stores_nothing(tmp_path: Path) -> None:
    db = tmp_path / "t.db"
    code, output = _run(["scan", str(SAMPLES / "scans"), "-o", f"{MISSING}.jsonl",
                         "--db", str(db)])
    assert code == 3
    _one_clear_line(output, f"{MISSING}.jsonl")
    assert _stored_pages(db) == 0
    assert not (tmp_path / "t.db.evidence").exists()


def test_export_and_audit_check_their_output_first(tmp_path: Path) -> None:
    db = tmp_path / "t.db"
    assert _run(["-q", "scan", str(SAMPLES / "scans" / "stack.pdf"), "--db", str(db),
                 "-o", str(tmp_path / "r.jsonl"), "--no-evidence"])[0] in (0, 4)
    for args, path in ((["export", "--db", str(db), "-o", f"{MISSING}.csv"], f"{MISSING}.csv"),
                       (["audit", "--db", str(db), "-o", f"{MISSING}.pdf"], f"{MISSING}.pdf")):
        code, output = _run(args)
        assert code == 3, output
        _one_clear_line(output, path)


def test_a_folder_in_the_output_s_place_is_refused(tmp_path: Path) -> None:
    code, output = _run(["scan", str(SAMPLES / "scans"), "-o", str(tmp_path),
                         "--db", str(tmp_path / "t.db")])
    assert code == 3 and "is a folder" in output
    assert _stored_pages(tmp_path / "t.db") == 0


def test_check_writable_accepts_stdout_and_a_new_file(tmp_path: Path) -> None:
    check_writable("-")
    check_writable(tmp_path / "new.csv")
    assert list(tmp_path.iterdir()) == []  # the probe leaves nothing behind
    with pytest.raises(OutputError):
        check_writable(tmp_path / "no" / "new.csv")


def test_atomic_output_keeps_the_old_file_when_writing_fails(tmp_path: Path) -> None:
    target = tmp_path / "records.csv"
    target.write_text("old\n")
    with pytest.raises(RuntimeError), atomic_output(target) as out:
        out.write("half of a new fi")
        raise RuntimeError("crash")
    assert target.read_text() == "old\n"
    assert [p.name for p in tmp_path.iterdir()] == ["records.csv"]  # no temporary left


def test_atomic_output_replaces_the_file_owner_only(tmp_path: Path) -> None:
    target = tmp_path / "records.csv"
    target.write_text("old\n")
    target.chmod(0o644)
    with atomic_output(target) as out:
        out.write("new\n")
    assert target.read_text() == "new\n"
    assert stat.S_IMODE(target.stat().st_mode) == 0o600


def test_printed_forms_are_owner_only(tmp_path: Path) -> None:
    out = tmp_path / "forms.pdf"
    assert _run(["-q", "print", "-o", str(out)])[0] == 0
    assert out.read_bytes().startswith(b"%PDF")
    assert stat.S_IMODE(out.stat().st_mode) == 0o600


def test_exit_codes_are_the_documented_table() -> None:
    assert {c.name: int(c) for c in ExitCode} == {
        "OK": 0, "INTERNAL": 1, "USAGE": 2, "CONFIG": 3, "REVIEW": 4, "FAILED": 5,
        "INTERRUPTED": 130}
    assert ExitCode.for_statuses({"ok": 3}) == ExitCode.OK
    assert ExitCode.for_statuses({"ok": 3, "not_a_form": 1}) == ExitCode.REVIEW
    assert ExitCode.for_statuses({"review": 1, "error": 1}) == ExitCode.FAILED


def test_a_fifo_or_device_output_is_written_in_place_not_replaced(tmp_path: Path) -> None:
    # A rename over it would leave a regular file where the FIFO (or /dev/null) was.
    fifo = tmp_path / "out.fifo"
    os.mkfifo(fifo)
    reader = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)  # so that opening it to write waits not
    try:
        check_writable(fifo)
        with atomic_output(fifo) as out:
            out.write("records\n")
        assert stat.S_ISFIFO(fifo.stat().st_mode)
        assert os.read(reader, 100) == b"records\n"
    finally:
        os.close(reader)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.fifo"]
