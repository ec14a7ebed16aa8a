"""The hot folder: files dropped in are read once, moved on, and never read twice or
skipped across restarts."""

from __future__ import annotations

import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

from srsform import batch
from srsform.read.pipeline import ScanConfig
from srsform.store import Store
from srsform.watch import Watcher


def _watcher(folder: Path, store: Store, config: ScanConfig) -> Watcher:
    return Watcher(folder, store, config, settle_s=0.0)


def _settle(watcher: Watcher) -> int:
    """Two polls: the first sees each file, the second reads the settled ones."""
    watcher.poll()
    return watcher.poll()


def test_dropped_files_are_read_once_and_moved(tmp_path: Path, sample_scans: Path,
                                               scan_config: ScanConfig) -> None:
    hot = tmp_path / "hot"
    hot.mkdir()
    shutil.copy(sample_scans / "stack.pdf", hot / "monday.pdf")
    (hot / "broken.pdf").write_bytes(b"%PDF-1.7 truncated")
    (hot / ".scanning.tmp").write_bytes(b"partial")
    with Store(tmp_path / "s.db") as store:
        assert _settle(_watcher(hot, store, scan_config)) == 2
        assert (hot / "done" / "monday.pdf").exists()
        assert (hot / "failed" / "broken.pdf").exists()
        assert (hot / ".scanning.tmp").exists()  # hidden and partial files are left alone
        assert store.counts()["pages"] == 5


def test_a_file_still_growing_waits(tmp_path: Path, sample_scans: Path,
                                    scan_config: ScanConfig) -> None:
    hot = tmp_path / "hot"
    hot.mkdir()
    with Store(tmp_path / "s.db") as store:
        watcher = Watcher(hot, store, scan_config, settle_s=60.0)
        shutil.copy(sample_scans / "photo-008.jpg", hot / "photo.jpg")
        assert watcher.poll() == 0 and watcher.poll() == 0
        assert (hot / "photo.jpg").exists()


def test_after_a_restart_nothing_is_read_twice_or_skipped(tmp_path: Path, sample_scans: Path,
                                                          scan_config: ScanConfig) -> None:
    hot = tmp_path / "hot"
    hot.mkdir()
    db = tmp_path / "s.db"
    shutil.copy(sample_scans / "stack.pdf", hot / "a.pdf")
    with Store(db) as store:
        _settle(_watcher(hot, store, scan_config))
        # A crash after reading b.pdf but before moving it:
        shutil.copy(sample_scans / "stack.tif", hot / "b.tif")
        batch.run(batch.plan([str(hot / "b.tif")], store), store, scan_config)
        pages = store.counts()["pages"]
    # The same bytes dropped again, and a new file, arrive while it is down.
    shutil.copy(sample_scans / "stack.pdf", hot / "a-again.pdf")
    shutil.copy(sample_scans / "photo-008.jpg", hot / "c.jpg")
    with Store(db) as store:
        assert _settle(_watcher(hot, store, scan_config)) == 3
        assert store.counts()["pages"] == pages + 1  # only c.jpg was new
    assert sorted(p.name for p in (hot / "done").iterdir()) == [
        "a-again.pdf", "a.pdf", "b.tif", "c.jpg"]


def test_watch_command_picks_up_a_file_and_stops_cleanly(tmp_path: Path,
                                                         sample_scans: Path) -> None:
    hot = tmp_path / "hot"
    hot.mkdir()
    command = [sys.executable, "-c", "from srsform.cli import main; main()", "watch", str(hot),
               "--db", str(tmp_path / "s.db"), "--interval", "0.2", "--settle", "0.3",
               "-j", "1"]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True)
    try:
        time.sleep(1.0)
        shutil.copy(sample_scans / "photo-008.jpg", hot / "photo.jpg")
        deadline = time.monotonic() + 60
        while not (hot / "done" / "photo.jpg").exists() and time.monotonic() < deadline:
            time.sleep(0.2)
        assert (hot / "done" / "photo.jpg").exists()
    finally:
        process.send_signal(signal.SIGINT)
        _, err = process.communicate(timeout=30)
    assert process.returncode == 0, err
    assert "Traceback" not in err and "stopped" in err
    assert "photo.jpg: 1 page(s)" in err
