"""Input files: only regular files are ever opened.

A FIFO waits for a writer that may never come, a device such as /dev/zero never ends, and a
socket cannot be read at all: given as a scan, any of them would hang a reader. So an input's
type is checked before it is opened, and again on the open descriptor itself (opened without
blocking), and anything but a regular file is described in words a person can act on.

An input given as '-' is standard input, wherever a file is read (a scan, a roster, a keyed
file), and is named `<stdin>` in records and messages.
"""

from __future__ import annotations

import io
import os
import stat
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import BinaryIO, TextIO

STDIN = "-"  # an input given as '-' is read from standard input...
STDIN_NAME = "<stdin>"  # ...and named so in records and messages


class NotARegularFile(OSError):
    """An input that is not a regular file: never read. The message says what it is."""


def describe_kind(mode: int) -> str | None:
    """What a file of this `st_mode` is, in words, when it is not a regular file; else None."""
    if stat.S_ISREG(mode):
        return None
    if stat.S_ISDIR(mode):
        return "a folder"
    if stat.S_ISFIFO(mode):
        return "a FIFO (named pipe)"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a file"


def not_regular_reason(kind: str) -> str:
    """The reason recorded for an input that is `kind` (see describe_kind)."""
    return (f"This is {kind}, not a regular file: srsform reads scan files only and never "
            "opens anything else; give the scan file itself.")


def irregular_kind(path: str | os.PathLike[str]) -> str | None:
    """What `path` is when it is there but not a regular file (symlinks followed); None for
    a regular file, or a path that cannot be looked at (reading it will say why)."""
    try:
        return describe_kind(os.stat(path).st_mode)
    except (OSError, ValueError):
        return None


def input_name(path: str | os.PathLike[str]) -> str:
    """How an input is named in records and messages: its path, or STDIN_NAME for '-'."""
    return STDIN_NAME if str(path) == STDIN else str(path)


@contextmanager
def open_text(path: str | os.PathLike[str]) -> Iterator[TextIO]:
    """A text input (a CSV) opened for reading as UTF-8, with or without a byte-order mark,
    its newlines as written (for the csv module); '-' is standard input, read whole."""
    if str(path) == STDIN:
        yield io.StringIO(sys.stdin.buffer.read().decode("utf-8-sig"), newline="")
    else:
        with open(path, encoding="utf-8-sig", newline="") as handle:
            yield handle


def open_regular(path: str | os.PathLike[str]) -> BinaryIO:
    """`path` opened for reading in binary, if it is a regular file; else NotARegularFile
    (checked on the descriptor, which is opened without blocking, so a FIFO or a device
    swapped in for the file cannot hang the reader)."""
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0)
    fd = os.open(path, flags | getattr(os, "O_BINARY", 0))
    try:
        kind = describe_kind(os.fstat(fd).st_mode)
        if kind is not None:
            raise NotARegularFile(not_regular_reason(kind))
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise
