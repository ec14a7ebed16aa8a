"""A hot folder: read every scan file that lands in a folder, once.

A file is read when its size and modification time have stopped changing; it then moves
to `done/` (or `failed/` when a page could not be read). What has been read is known by
content hash from the store, so a restart neither reads a file twice nor skips one: a file
read but not yet moved when the watcher stopped is simply moved on the next pass. The store,
its journals and evidence are never taken for scans, wherever they lie; one watcher at a
time watches a folder (folder_lock).
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from . import batch
from .errors import ConfigError
from .read.pipeline import ScanConfig
from .records import PageResult
from .store import Store, store_files

log = logging.getLogger(__name__)

DONE, FAILED = "done", "failed"
FAILED_STATUSES = frozenset({"error", "unreadable"})
EMPTY_FILE_PATIENCE = 3  # an empty file must stay empty this many settle periods
LOCK_NAME = ".srsform-watch.lock"  # hidden: never taken for a scan


@contextmanager
def folder_lock(folder: Path) -> Iterator[None]:
    """Hold `folder`'s watch lock while the block runs: a second watcher of the same folder
    is refused (ConfigError) instead of racing the first for every file. The lock goes with
    the process, however it ends."""
    try:
        import fcntl
    except ImportError:  # not POSIX: no lock
        yield
        return
    path = folder / LOCK_NAME
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    except OSError as exc:
        raise ConfigError(f"cannot watch {folder}: {exc.strerror or exc} (srsform moves the "
                          "files it reads out of it, so it must be writable)") from None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            holder = os.read(fd, 32).decode("ascii", "replace").strip() or "?"
            raise ConfigError(f"{folder} is already watched by another srsform watch (process "
                              f"{holder}); stop that one first, or watch another folder") from None
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode("ascii"))
        yield
    finally:
        os.close(fd)  # the file stays: removing it would race a watcher starting now


@dataclass
class Watcher:
    """Polls `folder`; call `poll()` repeatedly (or `run()`)."""

    folder: Path
    store: Store
    config: ScanConfig
    settle_s: float = 2.0
    jobs: int = 1
    on_file: Callable[[Path, list[PageResult], str], None] | None = None
    on_page: Callable[[PageResult], None] | None = None  # each page as it is stored
    _seen: dict[Path, tuple[int, int, float]] = field(default_factory=dict)
    _own: frozenset[str] = frozenset()  # the store's files: never read

    def __post_init__(self) -> None:
        self._own = frozenset(os.path.realpath(p) for p in store_files(self.store.path))

    def poll(self) -> int:
        """Read every file that has settled; returns how many files were finished."""
        finished = 0
        now = time.monotonic()
        for path in self._candidates():
            try:
                stat = path.stat()
            except OSError:
                continue
            signature = (stat.st_size, stat.st_mtime_ns)
            previous = self._seen.get(path)
            if previous is None or previous[:2] != signature:
                self._seen[path] = (*signature, now)
                continue
            # Still being written? An empty file gets longer to start growing.
            wait = self.settle_s * (EMPTY_FILE_PATIENCE if stat.st_size == 0 else 1)
            if now - previous[2] < wait:
                continue
            self._finish(path)
            self._seen.pop(path, None)
            finished += 1
        return finished

    def run(self, interval_s: float = 1.0) -> None:
        """Poll until interrupted (Ctrl-C ends it cleanly between files)."""
        while True:
            self.poll()
            time.sleep(interval_s)

    def _candidates(self) -> list[Path]:
        """Entries to read: anything but a folder (a FIFO or a device gets a record saying
        what it is, and is moved to failed/), except hidden, partial and the store's own."""
        return sorted(p for p in self.folder.iterdir()
                      if not p.is_dir() and not p.name.startswith((".", "~"))
                      and not p.name.endswith((".part", ".tmp", ".crdownload"))
                      and os.path.realpath(p) not in self._own)

    def _finish(self, path: Path) -> None:
        plans = batch.plan([str(path)], self.store)
        batch.run(plans, self.store, self.config, jobs=self.jobs, on_page=self.on_page)
        results = list(batch.stored_results(plans, self.store))
        target = FAILED if any(r.status in FAILED_STATUSES for r in results) else DONE
        moved = _move(path, self.folder / target)
        if moved is None:
            log.info("%s: gone before it could be moved (moved or removed by someone else)",
                     path.name)
            return
        log.info("%s: %d page(s) -> %s", path.name, len(results), target)
        if self.on_file is not None:
            self.on_file(moved, results, target)


def _move(path: Path, folder: Path) -> Path | None:
    """Move `path` into `folder`, never overwriting a file already there (None when `path`
    is no longer there)."""
    folder.mkdir(exist_ok=True)
    target = folder / path.name
    counter = 1
    while target.exists():
        target = folder / f"{path.stem}.{counter}{path.suffix}"
        counter += 1
    try:
        os.replace(path, target)
    except FileNotFoundError:
        return None
    return target
