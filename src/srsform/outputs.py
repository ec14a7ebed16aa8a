"""Output files: checked before any input is read, written atomically, owner-only.

Every file srsform writes (forms, records, exports, reports) goes to a temporary file beside
its target, is flushed to disk, then renamed over the target: a crash or a full disk leaves
the previous file, never half of a new one. The temporary file is created readable by its
owner only (the files hold clinical records), and so is the renamed result. A target that
is not a file (a device such as /dev/null, a FIFO) is written in place, never replaced: a
rename would put a regular file where the device was.
"""

from __future__ import annotations

import os
import stat
import sys
import tempfile
from collections.abc import Callable, Collection, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

from .errors import OutputError

STDOUT = "-"


def check_writable(path: str | Path, binary: bool = False,
                   store_files: Collection[str | Path] = ()) -> None:
    """Raise OutputError unless `path` can be created or replaced ('-' is standard output,
    refused for `binary` output, a PDF, when it is a terminal), and is none of `store_files`
    (the record store and its own files, however named).

    Tries what the real write will do (a temporary file in the target's folder), so a
    missing folder, a read-only folder or a folder in the target's place is found first."""
    if str(path) == STDOUT:
        if binary and sys.stdout.isatty():
            raise OutputError("will not write a PDF to the terminal: redirect standard output "
                              "(-o - > file.pdf, or a pipe) or give -o FILE")
        return
    target = Path(path)
    if os.path.realpath(target) in {os.path.realpath(p) for p in store_files}:
        raise OutputError(f"will not write {target}: it is the record store or one of its "
                          "files, which the output would destroy; choose another output")
    if target.is_dir():
        raise OutputError(f"cannot write {target}: it is a folder; give a file name")
    if _streamed(target):
        if not os.access(target, os.W_OK):
            raise OutputError(f"cannot write {target}: permission denied")
        return
    folder = target.parent
    if not folder.is_dir():
        raise OutputError(f"cannot write {target}: the folder {folder} does not exist; "
                          "create it first or choose another output")
    try:
        fd, probe = tempfile.mkstemp(dir=folder, prefix=f".{target.name}.", suffix=".tmp")
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        raise OutputError(f"cannot write {target}: {exc.strerror or exc}") from None


@contextmanager
def atomic_output(path: str | Path, binary: bool = False) -> Iterator[IO]:
    """A file handle whose contents replace `path` only when the block ends without error
    ('-': standard output, written directly)."""
    if str(path) == STDOUT:
        stream = sys.stdout.buffer if binary else sys.stdout
        yield stream
        stream.flush()
        return
    target = Path(path)
    if _streamed(target):
        with _written_in_place(target, binary) as handle:
            yield handle
        return
    try:
        fd, temporary = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.",
                                         suffix=".tmp")
    except OSError as exc:
        raise OutputError(f"cannot write {target}: {exc.strerror or exc}") from None
    mode = "wb" if binary else "w"
    handle = os.fdopen(fd, mode, **({} if binary else {"encoding": "utf-8", "newline": ""}))
    try:
        with handle:
            yield _Guarded(handle, target)  # type: ignore[misc]
            _finish(handle.flush, target)
            _finish(lambda: os.fsync(handle.fileno()), target)
        _finish(lambda: os.replace(temporary, target), target)
    except BaseException:
        try:
            os.unlink(temporary)
        except OSError:
            pass
        raise


def _streamed(target: Path) -> bool:
    """Whether `target` is there and is neither a regular file nor a folder (a device, a
    FIFO): written in place, as a stream."""
    try:
        mode = os.stat(target).st_mode
    except OSError:
        return False
    return not (stat.S_ISREG(mode) or stat.S_ISDIR(mode))


@contextmanager
def _written_in_place(target: Path, binary: bool) -> Iterator[IO]:
    try:
        handle = open(target, "wb" if binary else "w",
                      **({} if binary else {"encoding": "utf-8", "newline": ""}))
    except OSError as exc:
        raise OutputError(f"cannot write {target}: {exc.strerror or exc}") from None
    with handle:
        yield _Guarded(handle, target)  # type: ignore[misc]
        _finish(handle.flush, target)


class _Guarded:
    """A file being written whose write errors (a full disk) are OutputErrors naming it: not
    taken for a bug, and not confused with an error reading an input."""

    def __init__(self, handle: IO, target: Path) -> None:
        self._handle, self._target = handle, target

    def write(self, data: Any) -> int:
        try:
            return self._handle.write(data)
        except OSError as exc:
            raise OutputError(f"cannot write {self._target}: {exc.strerror or exc}") from None

    def flush(self) -> None:
        _finish(self._handle.flush, self._target)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._handle, name)


def _finish(step: Callable[[], object], target: Path) -> None:
    """Run one step of finishing a file; a failure (disk full, ...) is an OutputError."""
    try:
        step()
    except OSError as exc:
        raise OutputError(f"cannot write {target}: {exc.strerror or exc}") from None
