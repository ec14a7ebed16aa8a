"""Helpers of the chaos suite (tests/test_chaos.py): forms carrying any page code, the
installed `srsform` command run as a user runs it (always with a time limit, in its own
process group so that whatever it leaves behind can be found and stopped), and a store
filled without scanning."""

from __future__ import annotations

import os
import resource
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import cv2

from srsform.form.layout import build_layout
from srsform.form.pagecode import PageCode
from srsform.form.templates import load_template
from srsform.records import ItemScore, PageResult
from srsform.store import Store
from support import synth

TIMEOUT_S = 120  # no srsform run in these tests may take longer than this
MARK_MM = 52.0  # score 5, 3 mm from a score boundary: every item reads `ok`
SCANNER = synth.ScanCondition(name="chaos", dpi=200, rotation=0, skew_deg=0.0, print_scale=1.0,
                              offset_mm=(0.0, 0.0), blur_px=0.5, noise=0.0, jpeg_quality=None,
                              binary=False, phone=False, color=False)


def write_form(path: Path, serial: str, client: str | None = None,
               session: int | str | None = None, version: str | None = None) -> Path:
    """A filled-in SRS form scanned at 200 dpi, written as a PNG: its page code says `serial`,
    `client` and `session` whatever they are (a code made outside srsform), every item marked
    at MARK_MM."""
    template = load_template("srs")
    code = PageCode(template.id, version or template.version, build_layout(template).layout_id,
                    serial, client, session)  # type: ignore[arg-type]
    items = tuple(synth.ItemTruth(item.key, (synth.PenMark("vertical", MARK_MM, "black", 0.5),))
                  for item in template.items)
    page = synth.make_page(template, code, items, SCANNER, seed=7)
    cv2.imwrite(str(path), page.image)
    return path


def srsform_command() -> list[str]:
    """The installed `srsform` script beside this Python, else the module."""
    script = Path(sys.executable).with_name("srsform")
    return [str(script)] if script.exists() else [
        sys.executable, "-c", "from srsform.cli import main; main()"]


def run_srsform(*args: str, cwd: Path, timeout: float = TIMEOUT_S,
                preexec_fn: Callable[[], None] | None = None
                ) -> subprocess.CompletedProcess[str]:
    """Run `srsform ARGS` to the end (killed, with its group, after `timeout`)."""
    return _run([*srsform_command(), *args], cwd, timeout, preexec_fn)


def run_python(code: str, *args: str, cwd: Path, timeout: float = TIMEOUT_S,
               preexec_fn: Callable[[], None] | None = None) -> subprocess.CompletedProcess[str]:
    """Run a Python snippet with this interpreter (sys.argv[1:] = args)."""
    return _run([sys.executable, "-c", code, *args], cwd, timeout, preexec_fn)


def _run(command: list[str], cwd: Path, timeout: float,
         preexec_fn: Callable[[], None] | None) -> subprocess.CompletedProcess[str]:
    with subprocess.Popen(command, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          text=True, start_new_session=True, preexec_fn=preexec_fn) as process:
        try:
            out, err = process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            stop_group(process.pid)
            process.communicate()
            raise
        finally:
            stop_group(process.pid)
    return subprocess.CompletedProcess(command, process.returncode, out, err)


@contextmanager
def started(command: list[str], cwd: Path, log: Path) -> Iterator[subprocess.Popen]:
    """A process running in the background, its stdout and stderr in `log`; it and every
    process of its group are killed when the block ends."""
    with open(log, "wb") as sink:
        process = subprocess.Popen(command, cwd=cwd, stdout=sink, stderr=subprocess.STDOUT,
                                   stdin=subprocess.DEVNULL, start_new_session=True)
    try:
        yield process
    finally:
        stop_group(process.pid)
        process.wait(timeout=30)


def stop_group(pgid: int) -> None:
    try:
        os.killpg(pgid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def wait_for(condition: Callable[[], object], timeout: float, step: float = 0.1) -> bool:
    """Poll `condition` until it holds (True) or `timeout` seconds pass (False)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(step)
    return bool(condition())


def _stat_fields(pid: int) -> list[str] | None:
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return text[text.rindex(")") + 2:].split()  # state, ppid, ...


def children(pid: int) -> set[int]:
    """Every living descendant of `pid` (from /proc)."""
    parents: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and (fields := _stat_fields(int(entry.name))) is not None:
            parents.setdefault(int(fields[1]), []).append(int(entry.name))
    found, todo = set(), [pid]
    while todo:
        for child in parents.get(todo.pop(), []):
            if child not in found:
                found.add(child)
                todo.append(child)
    return {p for p in found if alive(p)}


def alive(pid: int) -> bool:
    """Whether `pid` is a running process (a zombie has ended)."""
    fields = _stat_fields(pid)
    return fields is not None and fields[0] not in ("Z", "X")


def command_line(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def file_size_limit(limit_bytes: int) -> Callable[[], None]:
    """A preexec_fn: files the child writes cannot grow past `limit_bytes` (a full disk, as
    the writer sees it: the write fails), and going past it does not kill the child."""
    def apply() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit_bytes, limit_bytes))
    return apply


def fill_store(db: Path, pages: int) -> None:
    """A store holding one file of `pages` read forms (no scanning: quick)."""
    template = load_template("srs")
    with Store(db) as store:
        source_id = store.add_source("f" * 64, "stack.pdf", 1000, pages)
        for page in range(1, pages + 1):
            items = tuple(ItemScore(item.key, 52.0 + page % 7, 5, "ok", 0.99, ())
                          for item in template.items)
            store.save_page(source_id, PageResult(
                "stack.pdf", page, "ok", template="srs", layout="e8bc85ee",
                serial=f"S{page:011d}", client=f"C{page:04d}", session=1, rotation=0,
                print_scale=1.0, items=items, total=20, rule=template.rule_text(),
                image_sha256=f"{page:064x}"))
