"""The SQLite record store: schema, migrations, writes, queries.

One row per source file (by content hash), one per page, one per item; corrections go to
an append-only trail. The store is the only place a scan's records are written; exports
are read back from it. This is the only module that speaks SQL: review, audits and exports
ask it for records. Files are created readable by their owner only.

Several processes on one machine may use one store at once: it is opened and its schema
migrated under one write lock, every write is a short transaction, and a process waits
BUSY_TIMEOUT_S for another's write before it gives up with a clear message. A store that
is damaged, read-only, on a full disk or another application's is one clear StoreError.
A command that only reads never writes to the store (so a store the user may not write, or
in a read-only folder, can still be read), unless its schema must be brought up to date.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import sqlite3
import tempfile
import time
import traceback
import urllib.parse
from collections.abc import Collection, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

from .errors import ConfigError, StoreError
from .inputs import open_regular
from .records import (
    AuditItem,
    AuditPage,
    Correction,
    ItemScore,
    PageFilter,
    PageResult,
    PrintedForm,
    ScanOrigin,
    SessionPage,
    StoredPage,
    whole_number,
)

log = logging.getLogger(__name__)

SCHEMA_VERSION = 4
APPLICATION_ID = 0x53525346  # "SRSF" in the file header (PRAGMA application_id): srsform's store
BUSY_TIMEOUT_S = 30.0  # how long to wait for another process's write before giving up
# A file that could not be read is known by its path, not its content: its sources row holds
# this prefix, then the path and the reason, in place of a content hash.
UNREADABLE = "unreadable:"
_JOURNALS = ("-wal", "-shm", "-journal")
_OWN_TABLES = frozenset({"sources", "pages", "items", "page_flags", "page_reasons",
                         "corrections"})  # every srsform store has these (schema 1 on)
# SQLite's result codes (by name prefix) that are the store's state, not a page's values or a
# bug, and what a person is told about each.
_BUSY = ("SQLITE_BUSY", "SQLITE_LOCKED")
_READ_ONLY = ("SQLITE_READONLY", "SQLITE_PERM", "SQLITE_AUTH")
_UNWRITABLE = ("SQLITE_FULL", "SQLITE_IOERR", "SQLITE_NOLFS")
_DAMAGED = ("SQLITE_CORRUPT", "SQLITE_NOTADB")
_CANNOT_OPEN = ("SQLITE_CANTOPEN",)
# A read-only connection that cannot create the write-ahead log's index beside the store.
_NO_WAL_INDEX = ("SQLITE_READONLY_DIRECTORY", "SQLITE_CANTOPEN")
_STORE_FAULTS = (*_BUSY, *_READ_ONLY, *_UNWRITABLE, *_DAMAGED, *_CANNOT_OPEN, "SQLITE_PROTOCOL")
_CORRECTION_COLUMNS = ("id, page_id, item_key, old_score, new_score, old_status, new_status, "
                       "who, at, why")
SAME_MARK_MM = 2.0  # two readings of one sheet agree this closely on every item

_MIGRATIONS: dict[int, str] = {
    1: """
    CREATE TABLE sources (
        id INTEGER PRIMARY KEY,
        sha256 TEXT NOT NULL UNIQUE,
        path TEXT NOT NULL,            -- as first given; the hash is the identity
        size_bytes INTEGER NOT NULL,
        page_count INTEGER NOT NULL,
        first_seen TEXT NOT NULL
    );
    CREATE TABLE pages (
        id INTEGER PRIMARY KEY,
        source_id INTEGER NOT NULL REFERENCES sources(id),
        page_index INTEGER NOT NULL,    -- 1-based page in its file
        image_sha256 TEXT,              -- the decoded page image
        status TEXT NOT NULL CHECK (status IN
            ('ok', 'review', 'not_a_form', 'unreadable', 'error')),
        template TEXT, layout TEXT, serial TEXT, client TEXT, session INTEGER,
        rotation INTEGER, print_scale REAL, total REAL, rule TEXT,
        scanned_at TEXT NOT NULL,
        UNIQUE (source_id, page_index)
    );
    CREATE INDEX pages_serial ON pages(serial);
    CREATE INDEX pages_image ON pages(image_sha256);
    CREATE TABLE page_flags (
        page_id INTEGER NOT NULL REFERENCES pages(id) ON DELETE CASCADE,
        flag TEXT NOT NULL,
        PRIMARY KEY (page_id, flag)
    );
    CREATE TABLE page_reasons (
        page_id INTEGER NOT NULL REFERENCES pages(id) ON DELETE CASCADE,
        position INTEGER NOT NULL,
        reason TEXT NOT NULL,
        PRIMARY KEY (page_id, position)
    );
    CREATE TABLE items (
        id INTEGER PRIMARY KEY,
        page_id INTEGER NOT NULL REFERENCES pages(id) ON DELETE CASCADE,
        position INTEGER NOT NULL,      -- form order, top to bottom
        key TEXT NOT NULL,
        mm REAL, score REAL,
        status TEXT NOT NULL CHECK (status IN ('ok', 'missing', 'multiple', 'uncertain')),
        confidence REAL NOT NULL,
        UNIQUE (page_id, key)
    );
    -- Corrections by a person: append-only (old and new value, who, when, why). Keyed by
    -- page and item key so that a rescan, which rewrites the machine reading, keeps them.
    CREATE TABLE corrections (
        id INTEGER PRIMARY KEY,
        page_id INTEGER NOT NULL REFERENCES pages(id),
        item_key TEXT NOT NULL,
        old_score REAL, new_score REAL,
        old_status TEXT, new_status TEXT NOT NULL,
        who TEXT NOT NULL, at TEXT NOT NULL, why TEXT NOT NULL
    );
    CREATE TRIGGER corrections_no_update BEFORE UPDATE ON corrections
        BEGIN SELECT RAISE(ABORT, 'corrections are append-only'); END;
    CREATE TRIGGER corrections_no_delete BEFORE DELETE ON corrections
        BEGIN SELECT RAISE(ABORT, 'corrections are append-only'); END;
    """,
    2: """
    -- Evidence: the annotated original and, per item, the line crop and where the line's
    -- detected ends and the mark read lie (form mm, the crop's own x origin given).
    ALTER TABLE pages ADD COLUMN evidence_path TEXT;
    ALTER TABLE items ADD COLUMN crop_path TEXT;
    ALTER TABLE items ADD COLUMN crop_x_mm REAL;
    ALTER TABLE items ADD COLUMN left_end_mm REAL;
    ALTER TABLE items ADD COLUMN right_end_mm REAL;
    ALTER TABLE items ADD COLUMN mark_x_mm REAL;
    """,
    3: """
    -- The printed-forms register: every page `srsform print` made, by its serial. A scanned
    -- page is linked to its printed form by serial and template; the session date comes
    -- from here.
    CREATE TABLE printed (
        serial TEXT PRIMARY KEY,
        template TEXT NOT NULL,
        template_version TEXT NOT NULL,
        layout TEXT NOT NULL,
        client TEXT,
        session INTEGER,
        session_date TEXT,              -- ISO date from the roster; NULL when none was given
        paper TEXT NOT NULL,
        printed_at TEXT NOT NULL
    );
    CREATE INDEX printed_client ON printed(client, session);
    """,
    4: """
    -- Scan runs: the pages each `srsform scan` (or each file `srsform watch` reads) stored,
    -- so that "the last scan" names exactly those (srsform alerts). Pages stored before
    -- this version have none.
    CREATE TABLE scan_runs (
        id INTEGER PRIMARY KEY,
        started_at TEXT NOT NULL
    );
    ALTER TABLE pages ADD COLUMN scan_run INTEGER REFERENCES scan_runs(id);
    CREATE INDEX pages_run ON pages(scan_run);
    -- One client's forms, for the clinician report.
    CREATE INDEX pages_client ON pages(client, session);
    """,
}
# A page's day for date filters: its session date from the register, else the day it was read.
_PAGE_DAY = "COALESCE(r.session_date, substr(p.scanned_at, 1, 10))"
_REGISTER_JOIN = "LEFT JOIN printed r ON r.serial = p.serial AND r.template = p.template"
# A page's record as read back (joined to the register as `r`); _page_result reads it.
_PAGE_COLUMNS = ("p.id, p.page_index, p.status, p.template, p.layout, p.serial, p.client, "
                 "p.session, p.rotation, p.print_scale, p.total, p.rule, r.session_date")
# A score or total as whole_number gives it (7, not 7.0), computed in SQLite for bulk reads.
_WHOLE = "CASE WHEN {0} = CAST({0} AS INTEGER) THEN CAST({0} AS INTEGER) ELSE {0} END"
# A page of a client's session: the clinician report and alerts read only these.
_SESSION_PAGE = "p.client IS NOT NULL AND p.session IS NOT NULL"


def file_sha256(path: str | Path) -> str:
    """The content hash of a regular file (inputs.NotARegularFile for anything else)."""
    digest = hashlib.sha256()
    with open_regular(path) as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def unreadable_key(path: str, why: str) -> str:
    """What stands for the content hash of a file that could not be read."""
    return f"{UNREADABLE}{path}:{why}"


def evidence_dir(path: str | Path) -> Path:
    """Where a store's evidence images live: beside it, named after it."""
    path = Path(path)
    return path.with_name(path.name + ".evidence")


def store_files(path: str | Path) -> tuple[Path, ...]:
    """A store's own files: itself, its journals and its evidence folder. They are never read
    as scans, moved by the hot folder, or overwritten by an output."""
    return (Path(path), *(Path(f"{path}{suffix}") for suffix in _JOURNALS), evidence_dir(path))


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


class Store:
    """An open store; use as a context manager. Only the parent process writes.

    Raises StoreError when the file is not a usable srsform store; inside the `with` block,
    an SQLite error that is the store's (damaged, read-only, busy, disk full) becomes one.
    With `check` (the default) the whole file is checked first (PRAGMA quick_check: about a
    second per 140 MB); a command that reads a few pages may skip that, and still meets
    damage in what it reads as a StoreError.

    Without `write`, nothing is written to an existing store whose schema is up to date
    (PRAGMA query_only; read-only by URI where this process may not write it or its folder);
    one that must be brought up to date is opened for writing (StoreError saying so when it
    cannot be written)."""

    def __init__(self, path: str | Path, check: bool = True, write: bool = True) -> None:
        self.path = Path(path)
        self._check = check
        self._run: int | None = None
        self._upgrading_from: int | None = None  # schema a read-only command must update
        folder = self.path.parent
        self._beside = "" if folder == Path(".") else f"{folder}{os.sep}"
        if not write and self.path.exists():
            if self._open_for_reading():
                self._close_permissions()
                return
            self.db.close()
            self._check = False  # checked whole just now
        if self.path.exists() and not os.access(self.path, os.W_OK):
            # Refused before SQLite opens it: it would leave its shared-memory index beside
            # the store as read-only as the store, which no writer could use later.
            raise self._read_only("this user may not write the file")
        if not self.path.exists():
            try:  # without O_EXCL: another process may be creating it at this moment
                os.close(os.open(self.path, os.O_WRONLY | os.O_CREAT, 0o600))
            except OSError as exc:
                raise StoreError(f"cannot create the store {self.path}: "
                                 f"{exc.strerror or exc}; check that its folder exists and "
                                 "that you may write there") from None
        self.db = self._connect(self.path)
        try:
            self._open()
        except sqlite3.Error as exc:
            self.db.close()
            raise self._error(exc) from None
        except BaseException:
            self.db.close()
            raise
        self._close_permissions()

    def _connect(self, database: str | Path) -> sqlite3.Connection:
        try:
            return sqlite3.connect(database, isolation_level=None, timeout=BUSY_TIMEOUT_S,
                                   uri=isinstance(database, str))
        except sqlite3.Error as exc:
            raise self._error(exc) from None

    def _open_for_reading(self) -> bool:
        """Open the store to read it only (see _open_read_only). Where this process may
        write it, as usual (so that closing it tidies its journals away, as always); else
        read-only by URI, as immutable unless a write-ahead log waits to be read (see
        _read_only_uri); and as immutable after all when SQLite finds it cannot keep the
        log's index beside the store (a folder it may not write after all)."""
        immutable = _read_only_uri(self.path, immutable=True)
        target: str | Path = (self.path if _may_write(self.path) else
                              _read_only_uri(self.path, immutable=not _wal_waiting(self.path)))
        while True:
            self.db = self._connect(target)
            try:
                return self._open_read_only()
            except sqlite3.Error as exc:
                self.db.close()
                if target == immutable or not _named(exc, _NO_WAL_INDEX) or _wal_waiting(
                        self.path):
                    raise self._error(exc) from None
                target = immutable
            except BaseException:
                self.db.close()
                raise

    def __enter__(self) -> Store:
        return self

    def __exit__(self, exc_type: object, exc: BaseException | None, tb: object) -> None:
        try:
            self.db.close()
        except sqlite3.Error as closing:
            if exc is None:
                raise self._error(closing) from None
        if exc is not None and _store_fault(exc):
            raise self._error(exc) from exc  # type: ignore[arg-type]

    def _open(self) -> None:
        """Check the file is an intact srsform store (or a new, empty file), then set it up
        and bring its schema up to date, all before anything else touches it."""
        if self._check:
            problems = [row[0] for row in self.db.execute("PRAGMA quick_check")]
            if problems != ["ok"]:
                raise self._damaged("; ".join(problems[:3]))
        self._check_ours()  # read-only: another application's file is left as it was
        self._use_wal()
        self.db.execute("PRAGMA synchronous=FULL")
        self.db.execute("PRAGMA foreign_keys=ON")
        self._migrate()

    def _open_read_only(self) -> bool:
        """As _open, on a read-only connection: whether the store can be read as it is
        (False: its schema must be brought up to date, which needs writing)."""
        if self._check:
            problems = [row[0] for row in self.db.execute("PRAGMA quick_check")]
            if problems != ["ok"]:
                raise self._damaged("; ".join(problems[:3]))
        self._check_ours()
        version = self._schema_version()
        if (version, self.db.execute("PRAGMA application_id").fetchone()[0]) != (
                SCHEMA_VERSION, APPLICATION_ID):
            self._upgrading_from = version
            return False
        self.db.execute("PRAGMA query_only=ON")
        return True

    def _schema_version(self) -> int:
        """The store's schema version; StoreError for one no srsform here can read."""
        version = self.db.execute("PRAGMA user_version").fetchone()[0]
        if version > SCHEMA_VERSION:
            raise StoreError(f"{self.path} was written by a newer srsform (schema "
                             f"{version}); upgrade srsform to read it")
        if version < 0:
            raise self._damaged(f"schema version {version}, which no srsform writes")
        return version

    def _use_wal(self) -> None:
        """Put the store in WAL mode (readers and one writer at once). Turning a new store to
        WAL needs it to itself, and SQLite says `locked` at once, without waiting, when
        another process is opening it too: so wait here, as for any write."""
        deadline = time.monotonic() + BUSY_TIMEOUT_S
        while True:
            try:
                self.db.execute("PRAGMA journal_mode=WAL")
                return
            except sqlite3.OperationalError as exc:
                if not _named(exc, _BUSY) or time.monotonic() > deadline:
                    raise
            time.sleep(0.05)

    def _check_ours(self) -> None:
        """Raise StoreError unless the file is marked as srsform's, is an srsform store made
        before the mark, or is empty (a new store)."""
        self.db.execute("BEGIN")  # one snapshot: another process may be creating the store
        try:
            application_id = self.db.execute("PRAGMA application_id").fetchone()[0]
            version = self.db.execute("PRAGMA user_version").fetchone()[0]
            tables = {name for (name,) in self.db.execute(
                "SELECT name FROM sqlite_master WHERE type='table'")}
        finally:
            self.db.execute("COMMIT")
        if application_id == APPLICATION_ID:
            return
        if application_id == 0 and (version, tables) == (0, set()):
            return  # new
        if application_id == 0 and version > 0 and _OWN_TABLES <= tables:
            return  # made by an srsform that did not mark its stores yet
        raise StoreError(f"{self.path} is not an srsform store (it holds another "
                         "application's data): it was left untouched; name another file "
                         "with --db")

    def _migrate(self) -> None:
        """Bring the schema up to date in one transaction, under the write lock: a process
        opening the store at the same moment waits, then finds it done; a crash leaves the
        schema as it was."""
        with self.transaction():
            version = self._schema_version()
            for target in range(version + 1, SCHEMA_VERSION + 1):
                for statement in _statements(_MIGRATIONS[target]):
                    self.db.execute(statement)
            if version < SCHEMA_VERSION:
                self.db.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
            if self.db.execute("PRAGMA application_id").fetchone()[0] != APPLICATION_ID:
                self.db.execute(f"PRAGMA application_id={APPLICATION_ID}")

    def _close_permissions(self) -> None:
        """The store, its journals and its evidence folder, readable by their owner only
        (they hold clinical records), where this user owns them and they were left open."""
        for path in store_files(self.path):
            _owner_only(path)

    def _error(self, exc: BaseException) -> StoreError:
        """One clear message, naming the store and what to do, for an SQLite error that is
        the store's rather than a page's."""
        text = str(exc)
        if _named(exc, _BUSY):
            return StoreError(f"the store {self.path} is busy: another program has been "
                              f"writing to it for more than {BUSY_TIMEOUT_S:g} s; try again "
                              "when it has finished")
        if _named(exc, _READ_ONLY):
            return self._read_only(text)
        if _named(exc, _UNWRITABLE):
            return StoreError(f"the store {self.path} could not be written ({text}): free "
                              "some disk space (or check the disk), then run the same command "
                              "again; what was stored before is kept")
        if _named(exc, _DAMAGED):
            return self._damaged(text)
        if _named(exc, _CANNOT_OPEN):
            return StoreError(f"cannot open the store {self.path} ({text}): check that it "
                              "and its folder exist and that you may write there")
        return StoreError(f"the store {self.path} cannot be used ({text})")

    def _read_only(self, text: str) -> StoreError:
        """The store cannot be written (`text` says how SQLite or the system put it)."""
        if self._upgrading_from is not None:
            return self._cannot_upgrade(text, self._upgrading_from)
        return StoreError(f"the store {self.path} is read-only ({text}): srsform must write to "
                          "it; check the permissions of the file and its folder, or name "
                          "another store with --db")

    def _cannot_upgrade(self, text: str, version: int) -> StoreError:
        """A command that only reads met a read-only store it must write to first."""
        if version == 0:
            return StoreError(f"the store {self.path} is read-only ({text}) and empty: a new "
                              "store is set up by writing to it; make it writable, or name "
                              "another store with --db")
        older = f"schema {version}, now {SCHEMA_VERSION}" if version < SCHEMA_VERSION else (
            "before stores were marked as srsform's")
        return StoreError(f"the store {self.path} is read-only ({text}), and before it can be "
                          f"read it must be brought up to date (it was made by an older "
                          f"srsform: {older}), which writes to it: make it and its folder "
                          "writable for one srsform command (after that it can be read "
                          "read-only), or name another store with --db")

    def _damaged(self, detail: str) -> StoreError:
        return StoreError(f"the store {self.path} is damaged ({detail}): restore it from a "
                          "backup, or name another store with --db (`sqlite3 "
                          f"{self.path} .recover` may save what is left)")

    def check_evidence_folder(self) -> None:
        """Raise StoreError unless evidence can be kept beside the store (said before any
        page is read, not once per page)."""
        folder = self.evidence_dir
        try:
            folder.mkdir(mode=0o700, exist_ok=True)
            fd, probe = tempfile.mkstemp(dir=folder, prefix=".probe-")
            os.close(fd)
            os.unlink(probe)
        except OSError as exc:
            raise StoreError(f"cannot keep evidence in {folder} ({exc.strerror or exc}): it "
                             "must be a folder you may write to; fix that, or scan with "
                             "--no-evidence") from None

    # --- sources ---------------------------------------------------------------------

    def source(self, sha256: str) -> tuple[int, int] | None:
        """(source id, page count) of a stored file, by content hash."""
        row = self.db.execute("SELECT id, page_count FROM sources WHERE sha256=?",
                              (sha256,)).fetchone()
        return (row[0], row[1]) if row else None

    def add_source(self, sha256: str, path: str, size_bytes: int, page_count: int) -> int:
        """Register a file by content hash; returns its id. A file already registered (by
        another process scanning it at the same moment) keeps its row."""
        self.db.execute(
            "INSERT INTO sources (sha256, path, size_bytes, page_count, first_seen) "
            "VALUES (?, ?, ?, ?, ?) ON CONFLICT (sha256) DO NOTHING",
            (sha256, path, size_bytes, page_count, _now()))
        found = self.source(sha256)
        assert found is not None  # inserted, or there already
        return found[0]

    def forget_unreadable(self, paths: Sequence[str], keep: str | None = None) -> None:
        """Drop the stored records of files that could not be read, kept under these paths
        (a file, or a folder it is in), now that the file has been read or tried again;
        `keep` is the key (unreadable_key) of the one to keep. Records a person has made
        decisions on are kept."""
        if not paths:
            return
        marks = ", ".join("?" * len(paths))
        placeholders = (f"SELECT id FROM sources WHERE substr(sha256, 1, {len(UNREADABLE)}) "
                        f"= ? AND path IN ({marks}) AND sha256 IS NOT ?")
        args = (UNREADABLE, *paths, keep)
        if self.db.execute(placeholders + " LIMIT 1", args).fetchone() is None:
            return  # the usual case: no write, no transaction
        with self.transaction():
            self.db.execute(f"DELETE FROM pages WHERE source_id IN ({placeholders}) AND NOT "
                            "EXISTS (SELECT 1 FROM corrections c WHERE c.page_id = pages.id)",
                            args)
            self.db.execute(f"DELETE FROM sources WHERE id IN ({placeholders}) AND NOT EXISTS "
                            "(SELECT 1 FROM pages p WHERE p.source_id = sources.id)", args)

    def stored_page_numbers(self, source_id: int) -> set[int]:
        rows = self.db.execute("SELECT page_index FROM pages WHERE source_id=?", (source_id,))
        return {row[0] for row in rows}

    # --- pages -----------------------------------------------------------------------

    @property
    def evidence_dir(self) -> Path:
        """Where evidence images live: beside the store, named after it."""
        return evidence_dir(self.path)

    def _write_evidence(self, source_id: int, result: PageResult
                        ) -> tuple[str | None, dict[str, tuple], PageResult]:
        """Write a page's evidence files (owner-only): their paths relative to the store, and
        the result (saying so when they could not be written: the reading stands)."""
        try:
            return (*self._evidence_files(source_id, result), result)
        except OSError as exc:
            return None, {}, replace(result, reasons=(
                *result.reasons, f"evidence not kept ({exc.strerror or exc})"))

    def _evidence_files(self, source_id: int, result: PageResult
                        ) -> tuple[str | None, dict[str, tuple]]:
        evidence = result.evidence
        if evidence is None:
            return None, {}
        folder = self.evidence_dir
        folder.mkdir(mode=0o700, exist_ok=True)
        stem = f"s{source_id}-p{result.page}"
        page_path = folder / f"{stem}.jpg"
        _write_private(page_path, evidence.page_jpeg)
        crops = {}
        for crop in evidence.crops:
            crop_path = folder / f"{stem}-{crop.key}.jpg"
            _write_private(crop_path, crop.jpeg)
            crops[crop.key] = (str(crop_path.relative_to(self.path.parent)), crop.zone_x_mm,
                               crop.left_end_mm, crop.right_end_mm, crop.mark_x_mm)
        return str(page_path.relative_to(self.path.parent)), crops

    def start_run(self) -> int:
        """Begin a scan run: the pages saved from now on belong to it (see last_scan)."""
        cursor = self.db.execute("INSERT INTO scan_runs (started_at) VALUES (?)", (_now(),))
        self._run = int(cursor.lastrowid)
        return self._run

    def save_page(self, source_id: int, result: PageResult) -> PageResult:
        """Store one page's result in one transaction; returns it as stored (flagged when
        the same page image or form serial was already read elsewhere). The page belongs to
        the current scan run (one is begun if none was).

        A result the store cannot hold (a value out of range) is stored as an `error` record
        saying so instead: one page never sinks a batch. StoreError when the store itself
        cannot be written (busy, full disk, damaged): nothing of this page is stored."""
        try:
            return self._save_pages(source_id, [result])[0]
        except sqlite3.Error as exc:
            if _store_fault(exc):
                raise self._error(exc) from None
            failure: Exception = exc
        except (OverflowError, ValueError, TypeError) as exc:
            failure = exc
        log.debug("%s page %d could not be stored:\n%s", result.source, result.page,
                  "".join(traceback.format_exception(failure)))
        reason = (f"this page's record could not be stored ({type(failure).__name__}: "
                  f"{failure}); please report it")
        try:
            return self._save_pages(source_id, [PageResult(result.source, result.page, "error",
                                                           reasons=(reason,))])[0]
        except sqlite3.Error as exc:
            raise self._error(exc) from None

    def save_pages(self, source_id: int, results: Sequence[PageResult]) -> list[PageResult]:
        """Store pages of one source in one transaction, as save_page does each: an import
        of many records commits once instead of once a page. When one of them cannot be
        stored, each is stored on its own, as save_page does (that one as an `error`)."""
        try:
            return self._save_pages(source_id, results)
        except sqlite3.Error as exc:
            if _store_fault(exc):
                raise self._error(exc) from None
        except (OverflowError, ValueError, TypeError):
            pass
        return [self.save_page(source_id, result) for result in results]

    def _save_pages(self, source_id: int, results: Sequence[PageResult]) -> list[PageResult]:
        """All or none, in one transaction."""
        if self._run is None:
            self.start_run()
        with self.transaction():
            return [self._write_page(source_id, result) for result in results]

    def _write_page(self, source_id: int, result: PageResult) -> PageResult:
        result = self._flag_duplicates(source_id, result)
        evidence_path, crops, result = self._write_evidence(source_id, result)
        image_sha256 = result.image_sha256
        existing = self.db.execute("SELECT id FROM pages WHERE source_id=? AND "
                                   "page_index=?", (source_id, result.page)).fetchone()
        if existing is not None:
            page_id = existing[0]
            self.db.execute("DELETE FROM items WHERE page_id=?", (page_id,))
            self.db.execute("DELETE FROM page_flags WHERE page_id=?", (page_id,))
            self.db.execute("DELETE FROM page_reasons WHERE page_id=?", (page_id,))
            self.db.execute(
                "UPDATE pages SET image_sha256=?, status=?, template=?, layout=?, serial=?,"
                " client=?, session=?, rotation=?, print_scale=?, total=?, rule=?, "
                "scanned_at=?, scan_run=? WHERE id=?",
                (*self._page_values(result, image_sha256), page_id))
        else:
            page_id = self.db.execute(
                "INSERT INTO pages (image_sha256, status, template, layout, serial, client,"
                " session, rotation, print_scale, total, rule, scanned_at, scan_run, "
                "source_id, page_index) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (*self._page_values(result, image_sha256), source_id, result.page)
            ).lastrowid
        self.db.executemany("INSERT INTO page_flags VALUES (?, ?)",
                            [(page_id, f) for f in dict.fromkeys(result.flags)])
        self.db.executemany("INSERT INTO page_reasons VALUES (?, ?, ?)",
                            [(page_id, i, r) for i, r in enumerate(result.reasons)])
        self.db.executemany(
            "INSERT INTO items (page_id, position, key, mm, score, status, confidence, "
            "crop_path, crop_x_mm, left_end_mm, right_end_mm, mark_x_mm) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [(page_id, i, it.key, it.mm, it.score, it.status, it.confidence,
              *crops.get(it.key, (None,) * 5)) for i, it in enumerate(result.items)])
        self.db.execute("UPDATE pages SET evidence_path=? WHERE id=?", (evidence_path, page_id))
        return result

    def _page_values(self, result: PageResult, image_sha256: str | None) -> tuple:
        return (image_sha256, result.status, result.template, result.layout, result.serial,
                result.client, result.session, result.rotation, result.print_scale,
                result.total, result.rule, _now(), self._run)

    def _flag_duplicates(self, source_id: int, result: PageResult) -> PageResult:
        """Flag a page whose image or form serial was already read from another page.

        The same image, or the same serial with the same marks, is the same sheet read twice:
        flagged and sent to review. A blank form's serial on a page with different marks is a
        photocopy of one printed form filled by someone else: flagged `shared_serial`, kept.
        """
        elsewhere = "NOT (p.source_id=? AND p.page_index=?)"
        where = (source_id, result.page)
        if result.image_sha256:
            row = self.db.execute(
                "SELECT s.path, p.page_index FROM pages p JOIN sources s ON s.id = p.source_id "
                f"WHERE p.image_sha256=? AND {elsewhere} ORDER BY p.id LIMIT 1",
                (result.image_sha256, *where)).fetchone()
            if row is not None:
                return _flagged(result, "duplicate_page", "the same page image was already read "
                                f"from {row[0]} page {row[1]}", review=True)
        if not result.serial:
            return result
        rows = self.db.execute(
            "SELECT p.id, s.path, p.page_index FROM pages p JOIN sources s ON s.id = "
            f"p.source_id WHERE p.serial=? AND {elsewhere} ORDER BY p.id",
            (result.serial, *where)).fetchall()
        if not rows:
            return result
        same = [row for row in rows if self._same_marks(row[0], result.items)]
        if same or result.client is not None or not result.items:
            path, page = (same or rows)[0][1:]
            return _flagged(result, "duplicate_serial", f"form serial {result.serial} was "
                            f"already read from {path} page {page}: the same sheet scanned "
                            "twice?", review=True)
        return _flagged(result, "shared_serial", f"form serial {result.serial} is also on "
                        f"{rows[0][1]} page {rows[0][2]}, with other marks: photocopies of one "
                        "printed blank form? (print a form per client to tell pages apart)",
                        review=False)

    def _same_marks(self, page_id: int, items: Sequence[ItemScore]) -> bool:
        """Whether a stored page reads as `items` do: every mark within SAME_MARK_MM, the
        same items unmarked."""
        stored = dict(self.db.execute("SELECT key, mm FROM items WHERE page_id=?", (page_id,)))
        for item in items:
            if item.key not in stored:
                return False
            before = stored[item.key]
            if (before is None) != (item.mm is None):
                return False
            if before is not None and abs(float(before) - float(item.mm)) > SAME_MARK_MM:
                return False
        return bool(items)

    # --- reading back -----------------------------------------------------------------

    def records(self, source_id: int, source_label: str, where: PageFilter | None = None
                ) -> Iterator[PageResult]:
        """The stored pages of one source, in page order, as PageResults (those that `where`
        selects by client, template and date; statuses are left to the caller)."""
        condition, args = _filter_sql(where)
        pages = self.db.execute(
            f"SELECT {_PAGE_COLUMNS} FROM pages p {_REGISTER_JOIN} WHERE p.source_id=? "
            f"{condition} ORDER BY p.page_index", (source_id, *args)).fetchall()
        for row in pages:
            yield self._result(row, source_label)

    def _result(self, row: tuple, source_label: str) -> PageResult:
        page_id = row[0]
        items = self.db.execute("SELECT key, mm, score, status, confidence FROM items "
                                "WHERE page_id=? ORDER BY position", (page_id,)).fetchall()
        flags = [f for (f,) in self.db.execute(
            "SELECT flag FROM page_flags WHERE page_id=? ORDER BY rowid", (page_id,))]
        reasons = [r for (r,) in self.db.execute(
            "SELECT reason FROM page_reasons WHERE page_id=? ORDER BY position", (page_id,))]
        return _page_result(row, source_label, items, flags, reasons)

    def _read_pages(self, condition: str, args: Sequence = ()
                    ) -> list[tuple[StoredPage, PageResult, dict[str, str]]]:
        """The pages `condition` selects (on pages `p` and the register `r`), in the order
        stored, each with its items' line crops (key -> path as a person can open it): four
        queries, however many pages, so that review stays quick on a large store."""
        selected = f"SELECT p.id FROM pages p {_REGISTER_JOIN} WHERE {condition}"
        rows = self.db.execute(
            f"SELECT {_PAGE_COLUMNS}, s.path, p.evidence_path FROM pages p JOIN sources s ON "
            f"s.id = p.source_id {_REGISTER_JOIN} WHERE {condition} "
            "ORDER BY p.source_id, p.page_index", args).fetchall()
        items: dict[int, list[tuple]] = {}
        crops: dict[int, dict[str, str]] = {}
        for page_id, *item, crop in self.db.execute(
                "SELECT page_id, key, mm, score, status, confidence, crop_path FROM items "
                f"WHERE page_id IN ({selected}) ORDER BY page_id, position", args):
            items.setdefault(page_id, []).append(item)
            if crop is not None:
                crops.setdefault(page_id, {})[item[0]] = self.beside(crop) or ""
        flags: dict[int, list[str]] = {}
        for page_id, flag in self.db.execute(
                f"SELECT page_id, flag FROM page_flags WHERE page_id IN ({selected}) "
                "ORDER BY rowid", args):
            flags.setdefault(page_id, []).append(flag)
        reasons: dict[int, list[str]] = {}
        for page_id, reason in self.db.execute(
                f"SELECT page_id, reason FROM page_reasons WHERE page_id IN ({selected}) "
                "ORDER BY page_id, position", args):
            reasons.setdefault(page_id, []).append(reason)
        found = []
        for row in rows:
            page_id, label, evidence = row[0], row[-2], row[-1]
            page = StoredPage(page_id, label, row[1], row[2], row[5], row[11],
                              self.beside(evidence))
            result = _page_result(row, label, items.get(page_id, ()), flags.get(page_id, ()),
                                  reasons.get(page_id, ()))
            found.append((page, result, crops.get(page_id, {})))
        return found

    def counts(self) -> dict[str, int]:
        """Rows per table (for tests and `srsform` summaries)."""
        tables = ("sources", "pages", "items", "page_flags", "page_reasons", "corrections")
        return {t: self.db.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0] for t in tables}

    def beside(self, relative: str | None) -> str | None:
        """An evidence file's path as a person can open it (stored relative to the store)."""
        # A string join: review reads thousands of these at once.
        return f"{self._beside}{relative}" if relative else None

    # --- stored pages, as a person names them ------------------------------------------

    def pages(self, sources: Sequence[tuple[int, str]] | None = None,
              where: PageFilter | None = None) -> Iterator[tuple[StoredPage, PageResult]]:
        """Stored pages of (source id, label) sources in that order, each in page order
        (None: every source, in the order stored); only those `where` selects by client,
        template and date."""
        if sources is None:
            sources = self.db.execute("SELECT id, path FROM sources ORDER BY id").fetchall()
        for source_id, label in sources:
            pages = {row[1]: StoredPage(row[0], label, *row[1:5], self.beside(row[5]))
                     for row in self.db.execute(
                         "SELECT id, page_index, status, serial, rule, evidence_path FROM pages"
                         " WHERE source_id=?", (source_id,))}
            for result in self.records(source_id, label, where):
                yield pages[result.page], result

    def _pages_where(self, condition: str, args: tuple
                     ) -> list[tuple[StoredPage, PageResult]]:
        return [(page, result) for page, result, _ in self._read_pages(condition, args)]

    def pages_by_status(self, statuses: Sequence[str]
                        ) -> list[tuple[StoredPage, PageResult, dict[str, str]]]:
        """Stored pages whose status as read is one of `statuses`, in the order stored, each
        with its items' line crops (key -> path as a person can open it)."""
        args: list = []
        condition = _in("p.status", statuses, args)
        return self._read_pages(condition[0] if condition else "0", args)

    def scan_origin(self, page_id: int) -> ScanOrigin | None:
        """The file hash, page number and read time of a stored page."""
        row = self.db.execute("SELECT s.sha256, p.page_index, p.scanned_at FROM pages p JOIN "
                              "sources s ON s.id = p.source_id WHERE p.id=?", (page_id,)
                              ).fetchone()
        return None if row is None else ScanOrigin(*row)

    def page_by_id(self, page_id: int) -> tuple[StoredPage, PageResult] | None:
        found = self._pages_where("p.id=?", (page_id,))
        return found[0] if found else None

    def page_at(self, source_id: int, page_index: int) -> tuple[StoredPage, PageResult] | None:
        """Page `page_index` (1-based) of a stored source."""
        found = self._pages_where("p.source_id=? AND p.page_index=?", (source_id, page_index))
        return found[0] if found else None

    def pages_with_serial(self, serial: str) -> list[tuple[StoredPage, PageResult]]:
        return self._pages_where("p.serial=?", (serial,))

    def sources_by_path(self, path: str) -> list[int]:
        """The stored sources scanned as `path` (several when different files were scanned
        under one name, such as `<stdin>`), oldest first; else the one with the content of
        the file at `path`, if stored."""
        ids = [row[0] for row in self.db.execute(
            "SELECT id FROM sources WHERE path=? ORDER BY id", (path,))]
        if not ids and os.path.isfile(path):
            found = self.source(file_sha256(path))
            return [found[0]] if found else []
        return ids

    def page_refs(self) -> dict[int, str]:
        """Page id -> `path:page`, for every stored page."""
        rows = self.db.execute("SELECT p.id, s.path, p.page_index FROM pages p JOIN sources s "
                               "ON s.id=p.source_id")
        return {page_id: f"{path}:{page}" for page_id, path, page in rows}

    # --- items -------------------------------------------------------------------------

    def item_keys(self) -> list[str]:
        """Every stored item key, in form order of first appearance."""
        return [key for (key,) in self.db.execute(
            "SELECT key FROM items GROUP BY key ORDER BY MIN(position), MIN(id)")]

    def page_item_keys(self, page_id: int) -> list[str]:
        return [key for (key,) in self.db.execute(
            "SELECT key FROM items WHERE page_id=? ORDER BY position", (page_id,))]

    def machine_value(self, page_id: int, key: str) -> tuple[float | int | None, str] | None:
        """An item's machine reading (score, status); None when the page has no such item."""
        row = self.db.execute("SELECT score, status FROM items WHERE page_id=? AND key=?",
                              (page_id, key)).fetchone()
        return None if row is None else (whole_number(row[0]), row[1])

    def crop_paths(self, page_id: int) -> dict[str, str]:
        """Item key -> its line crop as a person can open it, where the scan kept one."""
        rows = self.db.execute("SELECT key, crop_path FROM items WHERE page_id=? AND crop_path "
                               "IS NOT NULL", (page_id,))
        return {key: self.beside(path) or "" for key, path in rows}

    def item_evidence(self, page_id: int, key: str) -> AuditItem | None:
        """One stored item with its line crop (path relative to the store's folder) and where
        the crop shows the line's ends and the mark read; None when there is no such item."""
        row = self.db.execute(
            "SELECT key, mm, score, status, confidence, crop_path, crop_x_mm, left_end_mm, "
            "right_end_mm, mark_x_mm FROM items WHERE page_id=? AND key=?",
            (page_id, key)).fetchone()
        if row is None:
            return None
        corrected = self.db.execute("SELECT 1 FROM corrections WHERE page_id=? AND item_key=?",
                                    (page_id, key)).fetchone() is not None
        return AuditItem(*row, corrected=corrected)

    # --- the corrections trail -----------------------------------------------------------

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """BEGIN IMMEDIATE ... COMMIT, rolled back on any error: reads and writes as one."""
        self.db.execute("BEGIN IMMEDIATE")
        try:
            yield
            self.db.execute("COMMIT")
        except BaseException:
            # After a full disk or an I/O error SQLite has rolled back already: a ROLLBACK
            # then fails, and its error would hide the one that matters.
            if self.db.in_transaction:
                try:
                    self.db.execute("ROLLBACK")
                except sqlite3.Error:
                    pass
            raise

    def corrections(self, page_id: int | None = None, item_key: str | None = None
                    ) -> list[Correction]:
        """Corrections in the order they were made: all, one page's, or one item's."""
        query = f"SELECT {_CORRECTION_COLUMNS} FROM corrections"
        where, args = [], []
        if page_id is not None:
            where.append("page_id=?")
            args.append(page_id)
        if item_key is not None:
            where.append("item_key=?")
            args.append(item_key)
        if where:
            query += " WHERE " + " AND ".join(where)
        return [Correction(*row) for row in self.db.execute(query + " ORDER BY id", args)]

    def corrections_after(self, correction_id: int) -> list[Correction]:
        """Trail entries appended after entry `correction_id` (0: all), oldest first."""
        return [Correction(*row) for row in self.db.execute(
            f"SELECT {_CORRECTION_COLUMNS} FROM corrections WHERE id > ? ORDER BY id",
            (correction_id,))]

    def pages_version(self) -> tuple:
        """A value that changes whenever a page is stored or read again."""
        return tuple(self.db.execute(
            "SELECT COUNT(*), MAX(id), MAX(scanned_at) FROM pages").fetchone())

    def correction(self, correction_id: int) -> Correction | None:
        row = self.db.execute(f"SELECT {_CORRECTION_COLUMNS} FROM corrections WHERE id=?",
                              (correction_id,)).fetchone()
        return None if row is None else Correction(*row)

    def append_correction(self, page_id: int, key: str, old: tuple[float | int | None, str],
                          new: tuple[float | int | None, str], who: str, why: str
                          ) -> Correction:
        """Append one decision (old and new (score, status)) to the trail; now, in UTC."""
        at = _now()
        cursor = self.db.execute(
            "INSERT INTO corrections (page_id, item_key, old_score, new_score, old_status, "
            "new_status, who, at, why) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (page_id, key, old[0], new[0], old[1], new[1], who, at, why))
        return Correction(int(cursor.lastrowid), page_id, key, old[0], new[0], old[1], new[1],
                          who, at, why)

    # --- the printed-forms register ----------------------------------------------------------

    def record_printed(self, forms: Sequence[PrintedForm]) -> int:
        """Register printed pages, all or none; returns how many."""
        at = _now()
        try:
            self._insert_printed(forms, at)
        except sqlite3.Error as exc:
            raise ConfigError(f"cannot record printed forms in {self.path}: {exc}") from None
        return len(forms)

    def _insert_printed(self, forms: Sequence[PrintedForm], at: str) -> None:
        with self.transaction():
            self.db.executemany(
                "INSERT INTO printed (serial, template, template_version, layout, client, "
                "session, session_date, paper, printed_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [(f.serial, f.template, f.template_version, f.layout, f.client, f.session,
                  f.date, f.paper, at) for f in forms])

    def printed_forms(self, where: PageFilter | None = None, unreturned: bool = False
                      ) -> list[PrintedForm]:
        """Registered printed forms (those `where` selects by client, template and session
        date or else print day), in print order; with `unreturned`, only those whose serial
        no stored page carries."""
        clauses, args = ["1=1"], []
        if where is not None:
            clauses += _in("r.client", where.clients, args) + _in("r.template", where.templates,
                                                                   args)
            day = "COALESCE(r.session_date, substr(r.printed_at, 1, 10))"
            if where.since:
                clauses.append(f"{day} >= ?")
                args.append(where.since)
            if where.until:
                clauses.append(f"{day} <= ?")
                args.append(where.until)
        if unreturned:
            clauses.append("NOT EXISTS (SELECT 1 FROM pages p WHERE p.serial = r.serial)")
        rows = self.db.execute(
            "SELECT serial, template, template_version, layout, client, session, session_date,"
            f" paper, printed_at FROM printed r WHERE {' AND '.join(clauses)} "
            "ORDER BY r.rowid", args)
        return [PrintedForm(*row) for row in rows]

    def unregistered_pages(self, where: PageFilter | None = None) -> list[StoredPage]:
        """Stored pages with a form serial that this store's register never printed."""
        condition, args = _filter_sql(where)
        rows = self.db.execute(
            "SELECT p.id, s.path, p.page_index, p.status, p.serial, p.rule, p.evidence_path "
            f"FROM pages p JOIN sources s ON s.id = p.source_id {_REGISTER_JOIN} "
            f"WHERE p.serial IS NOT NULL AND r.serial IS NULL {condition} ORDER BY p.id", args)
        return [StoredPage(*row[:6], self.beside(row[6])) for row in rows]

    # --- clients' sessions, for the clinician report and alerts ----------------------------

    def clients(self, where: PageFilter | None = None) -> list[str]:
        """Client codes with a stored session page that `where` selects (by client, template
        and date), sorted."""
        condition, args = _filter_sql(where)
        dated = where is not None and (where.since or where.until)
        rows = self.db.execute(
            f"SELECT DISTINCT p.client FROM pages p {_REGISTER_JOIN if dated else ''} "
            f"WHERE {_SESSION_PAGE} {condition} ORDER BY p.client", args)
        return [client for (client,) in rows]

    def last_scan(self) -> tuple[int, str, list[str]] | None:
        """The latest scan run that stored a page: its id, when it started (UTC) and the
        clients whose session pages it stored; None when no run was recorded."""
        row = self.db.execute("SELECT r.id, r.started_at FROM scan_runs r WHERE EXISTS "
                              "(SELECT 1 FROM pages p WHERE p.scan_run = r.id) "
                              "ORDER BY r.id DESC LIMIT 1").fetchone()
        if row is None:
            return None
        clients = [client for (client,) in self.db.execute(
            f"SELECT DISTINCT p.client FROM pages p WHERE p.scan_run=? AND {_SESSION_PAGE} "
            "ORDER BY p.client", (row[0],))]
        return row[0], row[1], clients

    def session_pages(self, clients: Sequence[str] | None = None) -> list[SessionPage]:
        """Every stored page with a client code and a session number (only `clients`' when
        given), with its items, flags, reasons, register date and corrections; in client,
        session and storage order. A fixed handful of queries, whatever the number of pages."""
        condition, args = _SESSION_PAGE, []
        if clients is not None:
            condition += " AND p.client IN (SELECT value FROM json_each(?))"
            args.append(json.dumps(list(clients)))
        by_page: dict[str, dict[int, list]] = {"items": {}, "flags": {}, "reasons": {},
                                               "corrections": {}}
        queries = {
            "items": f"SELECT x.page_id, x.key, x.mm, {_WHOLE.format('x.score')}, x.status, "
                     "x.confidence FROM items x",
            "flags": "SELECT x.page_id, x.flag FROM page_flags x",
            "reasons": "SELECT x.page_id, x.reason FROM page_reasons x",
            "corrections": f"SELECT {', '.join('x.' + c for c in _CORRECTION_COLUMNS.split(', '))}"
                           " FROM corrections x",
        }
        order = {"items": "x.id", "flags": "x.rowid", "reasons": "x.page_id, x.position",
                 "corrections": "x.id"}
        for name, query in queries.items():
            page_column = 1 if name == "corrections" else 0
            found = by_page[name]
            for row in self.db.execute(f"{query} JOIN pages p ON p.id = x.page_id WHERE "
                                       f"{condition} ORDER BY {order[name]}", args):
                found.setdefault(row[page_column], []).append(row)
        paths = dict(self.db.execute("SELECT id, path FROM sources"))
        pages = self.db.execute(
            "SELECT p.id, p.source_id, p.page_index, p.status, p.template, p.layout, p.serial, "
            f"p.client, p.session, p.rotation, p.print_scale, {_WHOLE.format('p.total')}, "
            f"p.rule, r.session_date, p.scanned_at, p.scan_run FROM pages p {_REGISTER_JOIN} "
            f"WHERE {condition} ORDER BY p.client, p.session, p.id", args)
        return [self._session_page(row, paths, by_page) for row in pages]

    @staticmethod
    def _session_page(row: tuple, paths: dict[int, str], by_page: dict[str, dict[int, list]]
                      ) -> SessionPage:
        # Positional arguments: this runs once a page over whole stores.
        page_id = row[0]
        items = tuple([ItemScore(*item[1:], ()) for item in by_page["items"].get(page_id, ())])
        flags = by_page["flags"].get(page_id)
        reasons = by_page["reasons"].get(page_id)
        result = PageResult(
            paths[row[1]], row[2], row[3], row[4], row[5], row[6], row[7], row[8], row[9],
            row[10], items, row[11], tuple([f for _, f in flags]) if flags else (), row[12],
            tuple([r for _, r in reasons]) if reasons else (), None, None, row[13])
        trail = by_page["corrections"].get(page_id)
        return SessionPage(page_id, result, tuple([Correction(*c) for c in trail]) if trail
                           else (), row[14], row[15])

    # --- the audit report ------------------------------------------------------------------

    def audit_pages(self, page_ids: Collection[int] | None = None) -> list[AuditPage]:
        """Stored pages (all, or those of `page_ids`), oldest first, with their machine
        readings, evidence and which items a person corrected."""
        query = ("SELECT p.id, s.path, p.page_index, p.status, p.template, p.serial, p.client, "
                 "p.session, p.print_scale, p.total, p.evidence_path, p.scanned_at FROM pages p "
                 "JOIN sources s ON s.id = p.source_id")
        wanted = None if page_ids is None else set(page_ids)
        pages = []
        for row in self.db.execute(query + " ORDER BY p.id").fetchall():
            page_id = row[0]
            if wanted is not None and page_id not in wanted:
                continue
            corrected = {k for (k,) in self.db.execute(
                "SELECT DISTINCT item_key FROM corrections WHERE page_id=?", (page_id,))}
            items = tuple(AuditItem(*item, corrected=item[0] in corrected)
                          for item in self.db.execute(
                "SELECT key, mm, score, status, confidence, crop_path, crop_x_mm, left_end_mm, "
                "right_end_mm, mark_x_mm FROM items WHERE page_id=? ORDER BY position",
                (page_id,)))
            flags = tuple(f for (f,) in self.db.execute(
                "SELECT flag FROM page_flags WHERE page_id=?", (page_id,)))
            reasons = tuple(r for (r,) in self.db.execute(
                "SELECT reason FROM page_reasons WHERE page_id=? ORDER BY position",
                (page_id,)))
            pages.append(AuditPage(page_id=page_id, source=row[1], page=row[2],
                                   status=row[3], template=row[4],
                                   serial=row[5], client=row[6], session=row[7],
                                   print_scale=row[8], total=row[9], flags=flags,
                                   reasons=reasons, evidence_path=row[10], scanned_at=row[11],
                                   items=items))
        return pages


def _in(column: str, values: Sequence[str], args: list) -> list[str]:
    """`column IN (?, ...)` for a non-empty criterion (its values appended to `args`)."""
    if not values:
        return []
    args += list(values)
    return [f"{column} IN ({', '.join('?' * len(values))})"]


def _filter_sql(where: PageFilter | None) -> tuple[str, list]:
    """' AND ...' selecting pages `p` (joined to the register as `r`) by client, template
    and date, and its arguments."""
    if where is None:
        return "", []
    args: list = []
    clauses = _in("p.client", where.clients, args) + _in("p.template", where.templates, args)
    if where.since:
        clauses.append(f"{_PAGE_DAY} >= ?")
        args.append(where.since)
    if where.until:
        clauses.append(f"{_PAGE_DAY} <= ?")
        args.append(where.until)
    return "".join(f" AND {c}" for c in clauses), args


def _page_result(row: Sequence, source_label: str, items: Sequence[tuple],
                 flags: Sequence[str], reasons: Sequence[str]) -> PageResult:
    """A PageResult from a row of _PAGE_COLUMNS and its items (key, mm, score, status,
    confidence), flags and reasons."""
    return PageResult(
        source=source_label, page=row[1], status=row[2], template=row[3], layout=row[4],
        serial=row[5], client=row[6], session=row[7], rotation=row[8], print_scale=row[9],
        items=tuple(ItemScore(key, mm, whole_number(score), status, confidence, ())
                    for key, mm, score, status, confidence in items),
        total=whole_number(row[10]), flags=tuple(flags), rule=row[11], reasons=tuple(reasons),
        date=row[12])


def _flagged(result: PageResult, flag: str, reason: str, review: bool) -> PageResult:
    status = "review" if review and result.status == "ok" else result.status
    return replace(result, status=status, flags=(*result.flags, flag),
                   reasons=(*result.reasons, reason))


def _named(exc: BaseException, names: Sequence[str]) -> bool:
    """Whether an SQLite error's result code is one of `names` (or an extended code of one:
    SQLITE_IOERR_WRITE is an SQLITE_IOERR)."""
    name = getattr(exc, "sqlite_errorname", None) or ""
    return any(name == n or name.startswith(n + "_") for n in names)


def _store_fault(exc: BaseException) -> bool:
    """Whether an error is the store's state (busy, read-only, full disk, I/O, damaged)
    rather than a page's values or a bug (a constraint, an SQL mistake)."""
    return isinstance(exc, sqlite3.Error) and _named(exc, _STORE_FAULTS)


def _statements(script: str) -> Iterator[str]:
    """The SQL statements of a migration script, one at a time (a trigger's body is kept
    with its trigger)."""
    pending = ""
    for part in script.split(";"):
        pending += part + ";"
        if sqlite3.complete_statement(pending):
            if pending.strip(" \n;"):
                yield pending
            pending = ""


def _read_only_uri(path: Path, immutable: bool) -> str:
    """An SQLite URI opening the store read-only; `immutable` where SQLite cannot keep the
    shared-memory index of its write-ahead log beside the store (a read-only folder), or
    would leave one there as read-only as the store, which the next writer could not use
    once the store is made writable again. Only where no write-ahead log waits to be read:
    an immutable store is read without it."""
    uri = f"file:{urllib.parse.quote(str(path.absolute()))}?mode=ro"
    return uri + "&immutable=1" if immutable else uri


def _may_write(path: Path) -> bool:
    """Whether this process may write the store and its folder (its journals go there)."""
    return os.access(path, os.W_OK) and os.access(path.absolute().parent, os.W_OK)


def _wal_waiting(path: Path) -> bool:
    """Whether the store's write-ahead log holds anything (only a writer's crash, or a
    writer at work, leaves one that does)."""
    try:
        return Path(f"{path}-wal").stat().st_size > 0
    except OSError:
        return False


def _owner_only(path: Path) -> None:
    """Take group and other permissions off a file or folder this user owns."""
    try:
        status = path.stat()
        if status.st_mode & 0o077 and status.st_uid == os.geteuid():
            os.chmod(path, status.st_mode & 0o700)
    except OSError:
        pass  # not there, or not ours to change


def _write_private(path: Path, data: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)


