"""The chaos suite: srsform under concurrency, faults and hostile input (issue 14).

Each test reproduces one way a hostile tester broke a promise, and asserts the promise: the
record is there with its reason, nothing is lost or stored twice, the previous output is
intact, the exit code and message are clear, no process is left behind. Run it alone with
`pytest -m chaos`. Every process a test starts has a time limit and is stopped when the test
ends; every file is written under tmp_path.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import signal
import sqlite3
import stat
import struct
import sys
import time
import zlib
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager as ContextManager
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from srsform import cli
from srsform import store as store_module
from srsform.cli import main
from srsform.errors import ExitCode, TemplateError, UnreadableError
from srsform.form.pagecode import parse_payload
from srsform.form.templates import load_template
from srsform.read.ingest import PageFailure, list_pages
from srsform.records import PageResult
from srsform.store import Store
from support.chaos import (
    alive,
    children,
    command_line,
    file_size_limit,
    fill_store,
    run_python,
    run_srsform,
    srsform_command,
    started,
    stop_group,
    wait_for,
    write_form,
)

pytestmark = pytest.mark.chaos

POISON_SESSION = 99999999999999999999999


@pytest.fixture(scope="module")
def forms(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Filled-in forms (read only; copy them): two good ones, and ones whose page codes
    were made outside srsform."""
    folder = tmp_path_factory.mktemp("forms")
    return {
        "good1": write_form(folder / "good1.png", "G00D00000001", "C1001", 1),
        "good2": write_form(folder / "good2.png", "G00D00000002", "C1002", 2),
        "poison": write_form(folder / "poison.png", "P01S00000001", "C1003", POISON_SESSION),
        "name": write_form(folder / "name.png", "NAME00000001", "John Smith DOB 1970-01-01", 3),
    }


def _invoke(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, [str(a) for a in args])
    return result.exit_code, result.stdout, result.stderr


def _records(text: str) -> list[dict]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def _count(db: Path, table: str) -> int:
    con = sqlite3.connect(db)
    try:
        return con.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]
    finally:
        con.close()


def _copy(source: Path, folder: Path, name: str | None = None) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    return Path(shutil.copy(source, folder / (name or source.name)))


def _variant(source: Path, folder: Path, number: int) -> Path:
    """Another file of the same page (bytes after the PNG's end: another content hash, the
    same pixels, so its record is flagged `duplicate_page`)."""
    target = _copy(source, folder, f"{source.stem}-{number:02d}.png")
    with open(target, "ab") as file:
        file.write(bytes([number]) * (number + 1))
    return target


# --- 1. one poison page, and page codes made outside srsform ---------------------------------

def test_a_poison_page_among_good_ones_stores_every_other_page(tmp_path: Path,
                                                               forms: dict[str, Path]) -> None:
    db = tmp_path / "s.db"
    code, out, err = _invoke("-q", "scan", forms["good1"], forms["poison"], forms["good2"],
                             "--db", db, "-o", "-", "-j", "1")
    assert code == ExitCode.FAILED, err
    records = _records(out)
    assert [Path(r["source"]).name for r in records] == ["good1.png", "poison.png", "good2.png"]
    good = [r for r in records if r["source"] != str(forms["poison"])]
    assert [r["status"] for r in good] == ["ok", "ok"] and [r["total"] for r in good] == [20, 20]
    poison = records[1]
    assert poison["status"] == "unreadable" and poison["session"] is None
    assert "session" in " ".join(poison["reasons"])
    assert _count(db, "pages") == 3


def test_a_page_the_store_cannot_hold_becomes_an_error_record(tmp_path: Path) -> None:
    with Store(tmp_path / "s.db") as store:
        source_id = store.add_source("a" * 64, "stack.pdf", 10, 3)
        stored = [store.save_page(source_id, PageResult("stack.pdf", page, "ok", session=session))
                  for page, session in ((1, 1), (2, 10**30), (3, 3))]
        assert [r.status for r in stored] == ["ok", "error", "ok"]
        assert "could not be stored" in stored[1].reasons[-1]
        kept = list(store.records(source_id, "stack.pdf"))
    assert [(r.page, r.status, r.session) for r in kept] == [(1, "ok", 1), (2, "error", None),
                                                             (3, "ok", 3)]


def test_the_hot_folder_goes_on_after_a_poison_page(tmp_path: Path,
                                                    forms: dict[str, Path]) -> None:
    hot = tmp_path / "hot"
    _copy(forms["poison"], hot)
    _copy(forms["good1"], hot)
    db = tmp_path / "s.db"
    for _ in range(2):  # and again, as after a restart
        code, _, err = _invoke("watch", str(hot), "--db", db, "--once", "--settle", "0",
                               "--interval", "0.1", "-j", "1")
        assert code == 0, err
    assert (hot / "failed" / "poison.png").exists() and (hot / "done" / "good1.png").exists()
    assert _count(db, "pages") == 2


@pytest.mark.parametrize("client", ["John Smith DOB 1970-01-01", "a\x1bb", "a\nb",
                                    "../../../etc/passwd", "x" * 33, ""])
def test_a_client_code_is_checked_when_read_as_when_printed(client: str) -> None:
    payload = f"SRSF1;t=srs;v=1.0;l=e8bc85ee;s=G00D00000001;c={client};n=3"
    with pytest.raises(UnreadableError, match="client code") as raised:
        parse_payload(payload)
    assert client not in str(raised.value) or not client  # a name never reaches a message


@pytest.mark.parametrize("field", ["n=99999999999999999999999", "n=-1", "v=1;0", "v=" + "9" * 40,
                                   "s=G00D0000000l", "l=../x", "t=SRS"])
def test_every_value_of_a_page_code_is_range_checked(field: str) -> None:
    fields = dict(part.split("=", 1) for part in
                  "t=srs;v=1.0;l=e8bc85ee;s=G00D00000001;c=C1;n=3".split(";"))
    key, value = field.split("=", 1)
    fields[key] = value
    text = "SRSF1;" + ";".join(f"{k}={v}" for k, v in fields.items())
    with pytest.raises(UnreadableError, match="page code"):
        parse_payload(text)


def test_a_name_in_a_page_code_is_never_stored_or_exported(tmp_path: Path,
                                                           forms: dict[str, Path]) -> None:
    db = tmp_path / "s.db"
    code, out, _ = _invoke("-q", "scan", forms["name"], "--db", db, "-o", "-", "-j", "1")
    assert code == ExitCode.FAILED
    [record] = _records(out)
    assert record["status"] == "unreadable" and record["client"] is None
    assert "Smith" not in out
    _, exported, _ = _invoke("-q", "export", "--db", db, "--format", "csv")
    assert "Smith" not in exported
    con = sqlite3.connect(db)
    assert "Smith" not in repr(con.execute("SELECT * FROM pages").fetchall())
    con.close()


@pytest.mark.parametrize("version", ["1" * 3000, "1.0;x=2", "1.0 beta", ""])
def test_a_template_version_that_cannot_travel_in_the_page_code_is_refused(
        tmp_path: Path, version: str) -> None:
    source = (Path(__file__).resolve().parents[1] / "templates" / "srs.toml").read_text()
    clinic = tmp_path / "clinic.toml"
    clinic.write_text(source.replace('version = "1.0"', f'version = "{version}"'))
    with pytest.raises(TemplateError, match="'version'"):
        load_template(clinic)
    code, _, err = _invoke("print", "--template", clinic, "-o", tmp_path / "f.pdf",
                           "--db", tmp_path / "s.db")
    assert code == ExitCode.CONFIG and "version" in err and "internal error" not in err
    assert not (tmp_path / "f.pdf").exists()


def test_a_roster_session_out_of_range_is_refused_at_print(tmp_path: Path) -> None:
    roster = tmp_path / "roster.csv"
    roster.write_text(f"client,session,date\nC1,1,\nC2,{POISON_SESSION},\n")
    code, _, err = _invoke("print", "--roster", roster, "-o", tmp_path / "f.pdf", "--db",
                           tmp_path / "s.db")
    assert code == ExitCode.CONFIG and "row 3" in err and "session" in err
    assert not (tmp_path / "f.pdf").exists()


# --- 2. the store inside the folder scanned or watched ---------------------------------------

def test_scanning_the_folder_that_holds_the_store_never_reads_the_store(
        tmp_path: Path, forms: dict[str, Path]) -> None:
    _copy(forms["good1"], tmp_path)  # the tests run in tmp_path
    for _ in range(3):
        code, out, err = _invoke("-q", "scan", ".", "--db", "srsform.db", "-o", "results.jsonl",
                                 "-j", "1")
        assert code == 0, err
        records = _records(Path("results.jsonl").read_text())
        assert [Path(r["source"]).name for r in records] == ["good1.png"]
    assert (tmp_path / "srsform.db.evidence").is_dir()
    assert (_count(tmp_path / "srsform.db", "sources"),
            _count(tmp_path / "srsform.db", "pages")) == (1, 1)


def test_the_hot_folder_never_moves_its_own_store(tmp_path: Path, forms: dict[str, Path]) -> None:
    _copy(forms["good1"], tmp_path)
    assert _invoke("-q", "scan", "good1.png", "--db", "srsform.db", "-j", "1")[0] == 0
    shutil.move("good1.png", "kept.png")
    _copy(forms["good2"], tmp_path)
    code, _, err = _invoke("watch", ".", "--once", "--settle", "0", "--interval", "0.1",
                           "-j", "1")  # the store found here: ./srsform.db
    assert code == 0, err
    assert (tmp_path / "srsform.db").is_file() and (tmp_path / "srsform.db.evidence").is_dir()
    assert sorted(p.name for p in (tmp_path / "done").iterdir()) == ["good2.png", "kept.png"]
    assert not (tmp_path / "failed").exists()
    assert _count(tmp_path / "srsform.db", "pages") == 2


# --- 3. outputs: atomic, a full disk, never the store ---------------------------------------

KILL_MID_WRITE = """
import os, signal, sys
import srsform.cli as cli
real = cli.write_records

class Dying:
    def __init__(self, inner):
        self.inner, self.written = inner, 0
    def write(self, text):
        self.inner.write(text)
        self.written += len(text)
        if self.written > 2000:
            self.inner.flush()
            os.kill(os.getpid(), signal.SIGKILL)
        return len(text)
    def __getattr__(self, name):
        return getattr(self.inner, name)

cli.write_records = lambda out, fmt, pages: real(Dying(out), fmt, pages)
cli.main(["-q", "export", "--db", sys.argv[1], "-o", sys.argv[2]])
"""


def test_an_export_killed_mid_write_leaves_the_previous_file(tmp_path: Path) -> None:
    db, out = tmp_path / "s.db", tmp_path / "results.jsonl"
    fill_store(db, 30)
    assert _invoke("-q", "export", "--db", db, "-o", out)[0] == 0
    before = out.read_bytes()
    assert len(before.splitlines()) == 30
    killed = run_python(KILL_MID_WRITE, str(db), str(out), cwd=tmp_path)
    assert killed.returncode == -signal.SIGKILL
    assert out.read_bytes() == before


def test_a_full_disk_during_an_export_is_a_clear_exit_3(tmp_path: Path) -> None:
    db, out = tmp_path / "s.db", tmp_path / "results.jsonl"
    fill_store(db, 160)
    assert _invoke("-q", "export", "--db", db, "-o", out)[0] == 0
    before = out.read_bytes()
    assert len(before) > 100_000
    full = run_srsform("export", "--db", str(db), "-o", str(out), cwd=tmp_path,
                       preexec_fn=file_size_limit(64_000))
    assert full.returncode == ExitCode.CONFIG, full.stderr
    assert "internal error" not in full.stderr and str(out) in full.stderr
    assert out.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["results.jsonl", "s.db"]


def test_a_full_disk_during_a_scan_is_a_clear_exit_3_and_a_rerun_completes(
        tmp_path: Path, forms: dict[str, Path]) -> None:
    inputs = [str(_copy(forms[name], tmp_path / "in")) for name in ("good1", "good2")]
    inputs += [str(_variant(forms["good1"], tmp_path / "in", n)) for n in range(6)]
    db = tmp_path / "s.db"
    assert _invoke("-q", "scan", inputs[0], "--db", db, "--no-evidence")[0] == 0
    size = db.stat().st_size
    full = run_srsform("scan", *inputs, "--db", str(db), "-o", os.devnull, "-j", "1",
                       "--no-evidence", cwd=tmp_path, preexec_fn=file_size_limit(size + 40_000))
    assert full.returncode == ExitCode.CONFIG, full.stderr
    assert "internal error" not in full.stderr and "rollback" not in full.stderr
    assert str(db) in full.stderr and "again" in full.stderr
    code, out, err = _invoke("-q", "scan", *inputs, "--db", db, "-o", "-", "--no-evidence")
    assert code == ExitCode.REVIEW, err  # the copies are flagged duplicate_page
    assert len(_records(out)) == 8
    con = sqlite3.connect(db)
    assert con.execute("SELECT COUNT(*), COUNT(DISTINCT source_id || ':' || page_index) "
                       "FROM pages").fetchone() == (8, 8)
    con.close()


@pytest.mark.parametrize("command", ["scan", "export", "print"])
def test_an_output_may_not_name_the_store(tmp_path: Path, forms: dict[str, Path],
                                          command: str) -> None:
    db = tmp_path / "s.db"
    assert _invoke("-q", "scan", forms["good1"], "--db", db, "-j", "1")[0] == 0
    before = _count(db, "pages")
    args = {"scan": ("scan", forms["good2"], "--format", "jsonl"),
            "export": ("export", "--format", "jsonl"), "print": ("print",)}
    for target in (db, Path(f"{db}-wal"), tmp_path / "." / "s.db"):
        code, _, err = _invoke(*args[command], "--db", db, "-o", target)
        assert code == ExitCode.CONFIG and "store" in err, err
    assert _count(db, "pages") == before


# --- 4. concurrency ---------------------------------------------------------------------------

OPEN_AT_ONCE = """
import sys, time
from pathlib import Path
from typing import Any
from srsform.store import Store
folder, start, rounds = Path(sys.argv[1]), float(sys.argv[2]), int(sys.argv[3])
failures = []
for number in range(rounds):
    time.sleep(max(0.0, start + number * 0.3 - time.time()))
    try:
        with Store(folder / f"{number}.db") as store:
            store.add_source("a" * 64, "same.pdf", 1, 1)
    except Exception as exc:
        failures.append(f"round {number}: {exc!r}")
print("; ".join(failures))
"""


def test_new_stores_opened_by_several_processes_at_once_all_open(tmp_path: Path) -> None:
    start = str(time.time() + 2.0)  # after every process has started
    logs = [tmp_path / f"p{n}.log" for n in range(4)]
    with ExitStack() as stack:
        processes = [stack.enter_context(started(
            [sys.executable, "-c", OPEN_AT_ONCE, str(tmp_path), start, "10"], tmp_path, log))
            for log in logs]
        assert [p.wait(timeout=60) for p in processes] == [0] * 4
    assert [log.read_text().strip() for log in logs] == [""] * 4
    for number in range(10):
        assert _count(tmp_path / f"{number}.db", "sources") == 1
        with Store(tmp_path / f"{number}.db") as store:
            version = store.db.execute("PRAGMA user_version").fetchone()[0]
        assert version == store_module.SCHEMA_VERSION


def test_a_source_added_twice_at_once_is_stored_once(tmp_path: Path) -> None:
    with Store(tmp_path / "s.db") as one, Store(tmp_path / "s.db") as other:
        first = one.add_source("b" * 64, "a.pdf", 10, 2)
        second = other.add_source("b" * 64, "a.pdf", 10, 2)
        assert first == second
        assert one.counts()["sources"] == 1


def test_ten_pairs_of_concurrent_scans_on_a_fresh_store_all_succeed(
        tmp_path: Path, forms: dict[str, Path]) -> None:
    inputs = [str(forms["good1"]), str(forms["good2"])]
    for number in range(10):
        db = tmp_path / f"{number}.db"
        pair = [started([*srsform_command(), "-q", "scan", *order, "--db", str(db), "-o",
                         os.devnull, "-j", "1"], tmp_path, tmp_path / f"{number}-{side}.log")
                for side, order in enumerate((inputs, inputs[::-1]))]
        with pair[0] as first, pair[1] as second:
            codes = [first.wait(timeout=120), second.wait(timeout=120)]
        logs = [(tmp_path / f"{number}-{side}.log").read_text() for side in (0, 1)]
        assert codes == [0, 0], logs
        con = sqlite3.connect(db)
        assert con.execute("SELECT COUNT(*) FROM sources").fetchone()[0] == 2
        assert con.execute("SELECT COUNT(*), COUNT(DISTINCT source_id) FROM pages"
                           ).fetchone() == (2, 2)
        con.close()


HOLD_THE_WRITE_LOCK = """
import sqlite3, sys, time
con = sqlite3.connect(sys.argv[1], isolation_level=None)
con.execute("BEGIN IMMEDIATE")
con.execute("INSERT INTO sources (sha256, path, size_bytes, page_count, first_seen) "
            "VALUES ('held', 'held', 0, 0, 'now')")
print("locked", flush=True)
time.sleep(float(sys.argv[2]))
con.execute("ROLLBACK")
"""


def _hold_write_lock(db: Path, seconds: float, log: Path) -> ContextManager:
    return started([sys.executable, "-c", HOLD_THE_WRITE_LOCK, str(db), str(seconds)],
                   db.parent, log)


def test_a_store_locked_by_another_process_is_waited_for_then_a_clear_exit_3(
        tmp_path: Path, forms: dict[str, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    db = tmp_path / "s.db"
    with Store(db):
        pass
    brief = tmp_path / "brief.log"
    with _hold_write_lock(db, 2, brief):
        assert wait_for(lambda: "locked" in brief.read_text(), 30)
        code, _, err = _invoke("-q", "scan", forms["good1"], "--db", db, "-j", "1")
        assert code == 0, err  # it waited for the lock
    monkeypatch.setattr(store_module, "BUSY_TIMEOUT_S", 1.0, raising=False)
    held = tmp_path / "held.log"
    with _hold_write_lock(db, 60, held):
        assert wait_for(lambda: "locked" in held.read_text(), 30)
        code, _, err = _invoke("-q", "scan", forms["good2"], "--db", db, "-j", "1")
    assert code == ExitCode.CONFIG, err
    assert "busy" in err and str(db) in err and "internal error" not in err


def test_a_second_watcher_on_a_folder_refuses_and_the_first_goes_on(
        tmp_path: Path, forms: dict[str, Path]) -> None:
    hot = tmp_path / "hot"
    hot.mkdir()
    db = tmp_path / "s.db"
    watch = [*srsform_command(), "watch", str(hot), "--db", str(db), "--interval", "0.2",
             "--settle", "0.2", "-j", "1"]
    with started(watch, tmp_path, tmp_path / "first.log") as first:
        assert wait_for(lambda: "watching" in (tmp_path / "first.log").read_text(), 60)
        second = run_srsform(*watch[len(srsform_command()):], cwd=tmp_path, timeout=60)
        assert second.returncode == ExitCode.CONFIG, second.stderr
        assert "already" in second.stderr and str(hot) in second.stderr
        _copy(forms["good1"], hot)
        assert wait_for(lambda: (hot / "done" / "good1.png").exists(), 60)
        assert first.poll() is None
        first.send_signal(signal.SIGINT)
        assert first.wait(timeout=30) == 0
    assert _count(db, "pages") == 1


def test_kill_9_of_a_parallel_scan_leaves_no_worker_after_10_s(
        tmp_path: Path, forms: dict[str, Path]) -> None:
    inbox = tmp_path / "in"
    for number in range(12):
        _variant(forms["good1" if number % 2 else "good2"], inbox, number)
    scan = [*srsform_command(), "-q", "scan", str(inbox), "--db", str(tmp_path / "s.db"),
            "-o", os.devnull, "-j", "2"]
    with started(scan, tmp_path, tmp_path / "scan.log") as process:
        def workers() -> set[int]:
            return {p for p in children(process.pid) if "spawn_main" in command_line(p)}

        assert wait_for(lambda: len(workers()) == 2, 60), (tmp_path / "scan.log").read_text()
        left = children(process.pid)
        assert process.poll() is None, "the scan ended before it could be killed"
        os.kill(process.pid, signal.SIGKILL)
        process.wait(timeout=10)
        wait_for(lambda: not any(alive(p) for p in left), 10)
        assert [command_line(p) for p in left if alive(p)] == []


# --- 5. a store that is not right -----------------------------------------------------------

STORE_COMMANDS = [("scan", "{good2}"), ("export",), ("review", "list"),
                  ("audit", "--against", "{keyed}"), ("info",)]


def _every_command(db: Path, tmp_path: Path, forms: dict[str, Path]) -> list[tuple]:
    keyed = tmp_path / "keyed.csv"
    keyed.write_text("serial,total\nG00D00000001,20\n")
    said = []
    for args in STORE_COMMANDS:
        args = [a.format(good2=forms["good2"], keyed=keyed) for a in args]
        code, _, err = _invoke(*args, "--db", db)
        said.append((args[0], code, err))
    return said


def test_a_damaged_store_is_one_clear_exit_3_for_every_command(
        tmp_path: Path, forms: dict[str, Path]) -> None:
    db = tmp_path / "s.db"
    fill_store(db, 40)
    data = bytearray(db.read_bytes())
    middle = len(data) // 2
    data[middle:middle + 3000] = os.urandom(3000)
    db.write_bytes(bytes(data))
    for command, code, err in _every_command(db, tmp_path, forms):
        assert code == ExitCode.CONFIG, (command, err)
        assert "damaged" in err and "internal error" not in err, (command, err)


def test_a_store_of_an_impossible_schema_version_is_a_clear_exit_3(
        tmp_path: Path, forms: dict[str, Path]) -> None:
    db = tmp_path / "s.db"
    fill_store(db, 1)
    con = sqlite3.connect(db)
    con.execute("PRAGMA user_version = -5")
    con.close()
    for command, code, err in _every_command(db, tmp_path, forms):
        assert code == ExitCode.CONFIG and "internal error" not in err, (command, err)


def test_a_read_only_store_is_a_clear_exit_3(tmp_path: Path, forms: dict[str, Path],
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    db = tmp_path / "s.db"
    fill_store(db, 1)
    if os.geteuid() == 0:  # root writes whatever the permissions say: open it read-only
        connect = sqlite3.connect
        monkeypatch.setattr(sqlite3, "connect", lambda path, *a, **k: connect(
            f"file:{path}?mode=ro", *a, **{**k, "uri": True}))
    else:
        db.chmod(0o400)
    code, _, err = _invoke("-q", "scan", forms["good1"], "--db", db, "-j", "1")
    assert code == ExitCode.CONFIG and "read-only" in err and str(db) in err, err


@contextmanager
def _read_only(db: Path, where: str) -> Iterator[None]:
    """The store made read-only to this process while the block runs: the file (0444) or
    its folder (0555). Root writes whatever the permissions say, so there SQLite is made to
    do what it does for others: a file it may not write is opened read-only, and in a
    folder it may not write, a connection that needs the write-ahead log's index (any but
    an immutable one) fails at its first statement (SQLITE_READONLY_DIRECTORY)."""
    target = db if where == "file" else db.parent
    mode = target.stat().st_mode
    with pytest.MonkeyPatch.context() as patch:
        if os.geteuid() == 0:
            patch.setattr(sqlite3, "connect", _as_if_read_only(sqlite3.connect, where))
        target.chmod(0o444 if where == "file" else 0o555)
        try:
            yield
        finally:
            target.chmod(mode)


def _as_if_read_only(connect: Callable, where: str) -> Callable:
    def opened(database: Any, *args: Any, **kwargs: Any) -> Any:
        uri = str(database) if kwargs.get("uri") else f"file:{database}?mode=ro"
        if where == "folder" and "immutable=1" not in uri:
            return _NoWalIndex()
        return connect(uri, *args, **{**kwargs, "uri": True})
    return opened


class _NoWalIndex:
    """A connection to a WAL store in a read-only folder, as SQLite opens it there."""

    def execute(self, *args: Any) -> None:
        error = sqlite3.OperationalError("attempt to write a readonly database")
        error.sqlite_errorname = "SQLITE_READONLY_DIRECTORY"  # type: ignore[attr-defined]
        raise error

    def close(self) -> None:
        pass


READ_ONLY_COMMANDS = [("export",), ("report", "--format", "json", "-o", "-"),
                      ("alerts", "--all"), ("audit", "--against", "{keyed}"), ("info",),
                      ("review", "list"), ("review", "trail")]


@pytest.mark.parametrize("where", ["file", "folder"])
def test_a_read_only_store_is_read_by_every_command_that_only_reads(
        tmp_path: Path, forms: dict[str, Path], where: str) -> None:
    db = tmp_path / "store" / "s.db"
    db.parent.mkdir()
    fill_store(db, 2)
    keyed = tmp_path / "keyed.csv"
    keyed.write_text("serial,total\nS00000000001,20\n")
    before = db.read_bytes()
    with _read_only(db, where):
        for args in READ_ONLY_COMMANDS:
            code, out, err = _invoke(*[a.format(keyed=keyed) for a in args], "--db", db)
            assert code == 0 and out and "error" not in err, (args, code, err)
        # Commands that write still say the store is read-only, naming it.
        code, _, err = _invoke("-q", "review", "set", "S00000000001", "overall", "4",
                               "--why", "x", "--db", db)
        assert code == ExitCode.CONFIG and "read-only" in err and str(db) in err, err
        code, _, err = _invoke("-q", "scan", forms["good1"], "--db", db, "-j", "1")
        assert code == ExitCode.CONFIG and "read-only" in err and str(db) in err, err
    assert db.read_bytes() == before
    assert _invoke("-q", "review", "set", "S00000000001", "overall", "4", "--why", "x",
                   "--db", db)[0] == 0  # writable again: nothing left behind stands in the way


def test_a_read_only_store_that_must_be_brought_up_to_date_says_so(tmp_path: Path) -> None:
    db = tmp_path / "s.db"
    fill_store(db, 1)
    con = sqlite3.connect(db)
    con.execute("PRAGMA application_id = 0")  # made before stores were marked
    con.close()
    with _read_only(db, "file"):
        code, _, err = _invoke("-q", "export", "--db", db)
    assert code == ExitCode.CONFIG and "internal error" not in err, err
    assert "read-only" in err and "brought up to date" in err and str(db) in err, err
    assert _invoke("-q", "export", "--db", db)[0] == 0  # writable: brought up to date


def test_an_unwritable_evidence_folder_is_said_before_anything_is_read(
        tmp_path: Path, forms: dict[str, Path]) -> None:
    db = tmp_path / "s.db"
    Path(f"{db}.evidence").write_text("not a folder")
    code, _, err = _invoke("-q", "scan", forms["good1"], "--db", db, "-j", "1")
    assert code == ExitCode.CONFIG and "evidence" in err and "--no-evidence" in err, err
    assert not db.exists() or _count(db, "pages") == 0
    code, _, err = _invoke("-q", "scan", forms["good1"], "--db", db, "--no-evidence")
    assert code == 0, err


def test_another_application_s_sqlite_file_is_refused_untouched(
        tmp_path: Path, forms: dict[str, Path]) -> None:
    foreign = tmp_path / "contacts.db"
    con = sqlite3.connect(foreign)
    con.execute("CREATE TABLE people (name TEXT)")
    con.execute("INSERT INTO people VALUES ('Ann')")
    con.commit()
    con.close()
    before = foreign.read_bytes()
    for command, code, err in _every_command(foreign, tmp_path, forms):
        assert code == ExitCode.CONFIG and "not an srsform store" in err, (command, err)
    assert foreign.read_bytes() == before
    assert not Path(f"{foreign}-wal").exists()
    empty = tmp_path / "empty.db"
    empty.touch()
    assert _invoke("-q", "scan", forms["good1"], "--db", empty, "-j", "1")[0] == 0


def test_a_store_made_before_it_was_marked_as_srsform_s_is_still_opened(tmp_path: Path) -> None:
    db = tmp_path / "s.db"
    fill_store(db, 2)
    con = sqlite3.connect(db)
    con.execute("PRAGMA application_id = 0")
    con.close()
    code, out, err = _invoke("-q", "export", "--db", db)
    assert code == 0 and len(out.splitlines()) == 2, err
    con = sqlite3.connect(db)
    assert con.execute("PRAGMA application_id").fetchone()[0] != 0
    con.close()


def test_a_store_on_a_network_share_is_used_with_a_warning(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    from srsform.places import network_share

    mounts = f"/dev/sda1 / ext4 rw 0 0\nnas:/clinic {tmp_path} nfs4 rw 0 0\n"
    assert network_share(tmp_path / "s.db", mounts) == "nfs4"
    assert network_share(Path("/elsewhere/s.db"), mounts) is None
    db = tmp_path / "s.db"
    fill_store(db, 1)
    monkeypatch.setattr(cli, "network_share", lambda path: "nfs4")
    with caplog.at_level(logging.WARNING, logger="srsform"):
        code, out, _ = _invoke("export", "--db", db)
    assert code == 0 and len(out.splitlines()) == 1
    assert "network share (nfs4)" in caplog.text and "one machine" in caplog.text


# --- 6. inputs that are not files -----------------------------------------------------------

def test_a_fifo_and_a_device_among_the_inputs_get_a_record_within_seconds(
        tmp_path: Path, forms: dict[str, Path]) -> None:
    fifo = tmp_path / "scanner.pipe"
    os.mkfifo(fifo)
    started_at = time.monotonic()
    done = run_srsform("-q", "scan", str(fifo), "/dev/zero", str(forms["good1"]), "--db",
                       str(tmp_path / "s.db"), "-o", "-", "-j", "1", cwd=tmp_path, timeout=60)
    assert time.monotonic() - started_at < 45
    assert done.returncode == ExitCode.FAILED, done.stderr
    records = _records(done.stdout)
    assert [r["source"] for r in records] == [str(fifo), "/dev/zero", str(forms["good1"])]
    assert [r["status"] for r in records] == ["error", "error", "ok"]
    assert "not a regular file" in records[0]["reasons"][0]
    assert "FIFO" in records[0]["reasons"][0] and "device" in records[1]["reasons"][0]


def test_an_unreadable_subfolder_gets_a_record(tmp_path: Path, forms: dict[str, Path],
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    scans = tmp_path / "scans"
    _copy(forms["good1"], scans)
    locked = scans / "locked"
    _copy(forms["good2"], locked)
    if os.geteuid() == 0:  # root reads any folder: make this one fail as it would for a user
        scandir = os.scandir

        def refusing(path: object = ".") -> object:
            if os.fspath(path).rstrip("/").endswith("locked"):
                raise PermissionError(13, "Permission denied", os.fspath(path))
            return scandir(path)  # type: ignore[arg-type]

        monkeypatch.setattr(os, "scandir", refusing)
    else:
        locked.chmod(0)
    try:
        code, out, err = _invoke("-q", "scan", scans, "--db", tmp_path / "s.db", "-o", "-",
                                 "-j", "1")
    finally:
        locked.chmod(0o700)
    assert code == ExitCode.FAILED, err
    records = _records(out)
    assert [Path(r["source"]).name for r in records] == ["good1.png", "locked"]
    assert "folder" in records[1]["reasons"][0] and "Permission denied" in records[1]["reasons"][0]


def test_a_file_that_could_not_be_read_and_now_can_has_one_record(
        tmp_path: Path, forms: dict[str, Path]) -> None:
    scans = tmp_path / "scans"
    scans.mkdir()
    target = tmp_path / "arriving.png"
    (scans / "late.png").symlink_to(target)  # not there yet: cannot be read
    db = tmp_path / "s.db"
    code, out, _ = _invoke("-q", "scan", scans, "--db", db, "-o", "-", "-j", "1")
    assert code == ExitCode.FAILED and _records(out)[0]["status"] == "error"
    shutil.copy(forms["good1"], target)  # now it can
    code, out, err = _invoke("-q", "scan", scans, "--db", db, "-o", "-", "-j", "1")
    assert code == 0, err
    code, exported, _ = _invoke("-q", "export", "--db", db)
    assert [(r["source"], r["status"]) for r in _records(exported)] == [
        (str(scans / "late.png"), "ok")]


# --- 7. decisions --------------------------------------------------------------------------

@pytest.mark.parametrize("why", [" undo #1: looks like one", "\nundo #1: x", "undo #1: x"])
def test_a_reason_that_reads_as_an_undo_is_refused(tmp_path: Path, forms: dict[str, Path],
                                                   why: str) -> None:
    db = tmp_path / "s.db"
    assert _invoke("-q", "scan", forms["good1"], "--db", db, "-j", "1")[0] == 0
    assert _invoke("-q", "review", "set", "G00D00000001", "overall", "7", "--why", "paper",
                   "--db", db)[0] == 0
    code, _, err = _invoke("-q", "review", "set", "G00D00000001", "overall", "3", "--why", why,
                           "--db", db)
    assert code == ExitCode.CONFIG and "undo" in err
    _, trail, _ = _invoke("-q", "review", "trail", "--db", db)
    assert len(trail.splitlines()) == 2  # the header and the one decision
    _, exported, _ = _invoke("-q", "export", "--db", db, "--format", "long")
    assert "overall" in exported and ",7," in exported


# --- 8. memory -------------------------------------------------------------------------------

def _png_header_only(path: Path, width: int, height: int, depth: int, color: int) -> Path:
    """A PNG header claiming a size, with a few bytes of pixels: decoding it would fail, so
    a refusal that names the size was made before any decoding."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data)))

    header = struct.pack(">IIBBBBB", width, height, depth, color, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header)
                     + chunk(b"IDAT", zlib.compress(b"\x00" * 64)) + chunk(b"IEND", b""))
    return path


def _failure(path: Path) -> str:
    [listed] = list_pages(str(path))
    assert isinstance(listed, PageFailure), listed
    return listed.reason


def test_an_image_too_large_in_bytes_is_refused_before_decoding(tmp_path: Path) -> None:
    deep = _png_header_only(tmp_path / "deep.png", 13000, 13000, 16, 6)  # 16-bit RGBA
    reason = _failure(deep)
    assert "MB" in reason and "13000x13000" in reason


def test_the_pixel_limit_said_is_the_limit_applied(tmp_path: Path) -> None:
    from srsform.read import ingest

    below = _png_header_only(tmp_path / "below.png", 13600, 13600, 8, 0)  # 185 Mpx gray
    assert 13600 * 13600 < ingest.MAX_PIXELS
    listed = list_pages(str(below))
    assert not isinstance(listed[0], PageFailure) or "megapixel" not in listed[0].reason
    above = _png_header_only(tmp_path / "above.png", 15000, 15000, 8, 0)  # 225 Mpx
    reason = _failure(above)
    assert f"{ingest.MAX_MEGAPIXELS}" in reason and "megapixel" in reason


# --- 9. smaller ones -----------------------------------------------------------------------

def test_a_newline_in_a_file_name_stays_on_one_log_line(tmp_path: Path) -> None:
    fake = "srsform: INFO: forged.png page 1: ok"
    odd = tmp_path / f"odd\n{fake}\n.png"
    odd.write_bytes(b"not an image at all")
    done = run_srsform("-v", "scan", str(odd), "--db", str(tmp_path / "s.db"), "-o",
                       os.devnull, cwd=tmp_path)
    assert done.returncode == ExitCode.FAILED, done.stderr
    assert fake not in done.stderr.splitlines()
    assert "\\n" in done.stderr


def test_quiet_silences_print_export_and_audit(tmp_path: Path) -> None:
    db = tmp_path / "s.db"
    fill_store(db, 2)
    for args in (("print", "-o", tmp_path / "f.pdf"), ("export", "-o", tmp_path / "e.csv"),
                 ("audit", "-o", tmp_path / "a.pdf")):
        code, _, err = _invoke("-q", *args, "--db", db)
        assert (code, err) == (0, ""), args


def test_open_permissions_on_an_existing_store_are_closed(tmp_path: Path,
                                                          forms: dict[str, Path]) -> None:
    db = tmp_path / "s.db"
    assert _invoke("-q", "scan", forms["good1"], "--db", db, "-j", "1")[0] == 0
    evidence = Path(f"{db}.evidence")
    db.chmod(0o644)
    evidence.chmod(0o755)  # (files in an owner-only folder are out of others' reach)
    assert _invoke("-q", "export", "--db", db, "-o", os.devnull)[0] == 0
    assert stat.S_IMODE(db.stat().st_mode) == 0o600
    assert stat.S_IMODE(evidence.stat().st_mode) == 0o700


def test_quiet_silences_the_c_image_libraries(tmp_path: Path, forms: dict[str, Path]) -> None:
    data = bytearray(forms["good1"].read_bytes())
    middle = len(data) // 2
    data[middle:middle + 256] = bytes(range(256))  # damaged compressed pixels: libpng says so
    damaged = tmp_path / "damaged.png"
    damaged.write_bytes(bytes(data))
    done = run_srsform("-q", "scan", str(damaged), "--db", str(tmp_path / "s.db"), "-o",
                       os.devnull, "-j", "1", cwd=tmp_path)
    assert done.returncode == ExitCode.FAILED
    assert done.stderr == ""


def test_no_process_outlives_these_tests() -> None:
    """The helpers stop what they start; this checks nothing of ours is still running."""
    mine = [p for p in children(os.getpid()) if "srsform" in command_line(p)]
    for pid in mine:
        stop_group(pid)
    assert mine == []
