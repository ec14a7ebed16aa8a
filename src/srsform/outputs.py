"""Output files: checked before any input is read, written atomically, owner-only.

Every file srsform writes (forms, records, exports, reports) goes to a temporary file beside
its target, is flushed to disk, then renamed over the target: a crash or a full disk leaves
the previous file, never half of a new one. The temporary file is created readable by its
owner only (the files hold clinical records), and so is the renamed result.
"""

from __future__ import annotations

import os
import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

from .errors import OutputError

STDOUT = "-"


def check_writable(path: str | Path, binary: bool = False) -> None:
    """Raise OutputError unless `path` can be created or replaced ('-' is standard output,
    refused for `binary` output, a PDF, when it is a terminal).

    Tries what the real write will do (a temporary file in the target's folder), so a
    missing folder, a read-only folder or a folder in the target's place is found first."""
    if str(path) == STDOUT:
        if binary and sys.stdout.isatty():
            raise OutputError("will not write a PDF to the terminal: redirect standard output "
                              "(-o - > file.pdf, or a pipe) or give -o FILE")
        return
    target = Path(path)
    if target.is_dir():
        raise OutputError(f"cannot write {target}: it is a folder; give a file name")
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
    try:
        fd, temporary = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.",
                                         suffix=".tmp")
    except OSError as exc:
        raise OutputError(f"cannot write {target}: {exc.strerror or exc}") from None
    mode = "wb" if binary else "w"
    handle = os.fdopen(fd, mode, **({} if binary else {"encoding": "utf-8", "newline": ""}))
    try:
        with handle:
            yield handle
            _finish(handle.flush, target)
            _finish(lambda: os.fsync(handle.fileno()), target)
        _finish(lambda: os.replace(temporary, target), target)
    except BaseException:
        try:
            os.unlink(temporary)
        except OSError:
            pass
        raise


def _finish(step: Callable[[], object], target: Path) -> None:
    """Run one step of finishing a file; a failure (disk full, ...) is an OutputError."""
    try:
        step()
    except OSError as exc:
        raise OutputError(f"cannot write {target}: {exc.strerror or exc}") from None
