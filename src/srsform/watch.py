"""A hot folder: read every scan file that lands in a folder, once.

A file is read when its size and modification time have stopped changing; it then moves
to `done/` (or `failed/` when a page could not be read). What has been read is known by
content hash from the store, so a restart neither reads a file twice nor skips one: a file
read but not yet moved when the watcher stopped is simply moved on the next pass.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from . import batch
from .read.pipeline import ScanConfig
from .records import PageResult
from .store import Store

log = logging.getLogger(__name__)

DONE, FAILED = "done", "failed"
FAILED_STATUSES = frozenset({"error", "unreadable"})
EMPTY_FILE_PATIENCE = 3  # an empty file must stay empty this many settle periods


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
        return sorted(p for p in self.folder.iterdir()
                      if p.is_file() and not p.name.startswith((".", "~"))
                      and not p.name.endswith((".part", ".tmp", ".crdownload")))

    def _finish(self, path: Path) -> None:
        plans = batch.plan([str(path)], self.store)
        batch.run(plans, self.store, self.config, jobs=self.jobs, on_page=self.on_page)
        results = list(batch.stored_results(plans, self.store))
        target = FAILED if any(r.status in FAILED_STATUSES for r in results) else DONE
        moved = _move(path, self.folder / target)
        log.info("%s: %d page(s) -> %s", path.name, len(results), target)
        if self.on_file is not None:
            self.on_file(moved, results, target)


def _move(path: Path, folder: Path) -> Path:
    """Move `path` into `folder`, never overwriting a file already there."""
    folder.mkdir(exist_ok=True)
    target = folder / path.name
    counter = 1
    while target.exists():
        target = folder / f"{path.stem}.{counter}{path.suffix}"
        counter += 1
    os.replace(path, target)
    return target
