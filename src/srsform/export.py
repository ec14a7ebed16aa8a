"""Write page results as JSON Lines, JSON or wide CSV.

The JSON Lines record is a contract other tools read (documented in the README).
Files are created readable by their owner only: they hold clinical records.
"""

from __future__ import annotations

import csv
import io
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import IO, Any

from .errors import ConfigError
from .pipeline import PageResult

FORMATS = ("jsonl", "json", "csv")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def record(result: PageResult) -> dict[str, Any]:
    """The documented JSON record of one page."""
    return {
        "source": result.source,
        "page": result.page,
        "status": result.status,
        "template": result.template,
        "layout": result.layout,
        "serial": result.serial,
        "client": result.client,
        "session": result.session,
        "rotation": result.rotation,
        "print_scale": result.print_scale,
        "items": [
            {"key": i.key, "mm": i.mm, "score": i.score, "status": i.status,
             "confidence": i.confidence}
            for i in result.items
        ],
        "total": result.total,
        "flags": list(result.flags),
        "rule": result.rule,
        "reasons": list(result.reasons),
    }


def guess_format(output: str, fmt: str | None) -> str:
    """The format asked for, or the one the output file's extension names (default jsonl)."""
    if fmt:
        return fmt
    suffix = Path(output).suffix.lower().lstrip(".")
    if output == "-" or not suffix:
        return "jsonl"
    if suffix in FORMATS:
        return suffix
    if suffix == "ndjson":
        return "jsonl"
    raise ConfigError(f"cannot tell the output format from '{output}': use --format "
                      f"{'|'.join(FORMATS)}")


def open_private(path: str) -> IO[str]:
    """Open a file for writing, created with owner-only permissions (0600)."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        os.chmod(path, 0o600)  # an existing file keeps its mode otherwise
    except OSError as exc:
        raise ConfigError(f"cannot write {path}: {exc.strerror or exc}") from None
    return os.fdopen(fd, "w", encoding="utf-8", newline="")


class ResultWriter:
    """Streams results to a file or stdout in one format; use as a context manager."""

    def __init__(self, out: IO[str], fmt: str, item_keys: Sequence[str],
                 close_out: bool = False) -> None:
        self.fmt = fmt
        self.item_keys = list(dict.fromkeys(item_keys))
        self._own = close_out
        self._out = out
        self._count = 0
        self._csv: Any = None
        if fmt == "csv":
            self._csv = csv.writer(self._out)
            self._csv.writerow(self._csv_header())
        elif fmt == "json":
            self._out.write("[")

    def __enter__(self) -> ResultWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def write(self, result: PageResult) -> None:
        if self.fmt == "csv":
            self._csv.writerow(self._csv_row(result))
        elif self.fmt == "json":
            self._out.write(("," if self._count else "") + "\n" +
                            json.dumps(record(result), ensure_ascii=False))
        else:
            self._out.write(json.dumps(record(result), ensure_ascii=False) + "\n")
        self._out.flush()
        self._count += 1

    def close(self) -> None:
        if self.fmt == "json":
            self._out.write("\n]\n")
        self._out.flush()
        if self._own:
            self._out.close()

    def _csv_header(self) -> list[str]:
        head = ["source", "page", "status", "template", "layout", "serial", "client",
                "session", "rotation", "print_scale"]
        for key in self.item_keys:
            head += [f"{key}_mm", f"{key}_score", f"{key}_status", f"{key}_confidence"]
        return head + ["total", "flags", "rule", "reasons"]

    def _csv_row(self, result: PageResult) -> list[str]:
        rec = record(result)
        row = [rec[k] for k in ("source", "page", "status", "template", "layout", "serial",
                                "client", "session", "rotation", "print_scale")]
        by_key = {item["key"]: item for item in rec["items"]}
        for key in self.item_keys:
            item = by_key.get(key, {})
            row += [item.get("mm"), item.get("score"), item.get("status"),
                    item.get("confidence")]
        row += [rec["total"], ";".join(rec["flags"]), rec["rule"], " | ".join(rec["reasons"])]
        return [csv_cell(value) for value in row]


def csv_cell(value: Any) -> str:
    """A CSV cell; text that a spreadsheet would run as a formula is quoted with '."""
    if value is None:
        return ""
    text = str(value)
    if isinstance(value, str) and text.startswith(_FORMULA_START):
        return "'" + text
    return text


def open_writer(output: str, fmt: str, item_keys: Sequence[str]) -> ResultWriter:
    """A writer to `output` (a path, or '-' for stdout)."""
    if output == "-":
        return ResultWriter(sys.stdout, fmt, item_keys)
    return ResultWriter(open_private(output), fmt, item_keys, close_out=True)


def render_records(results: Sequence[PageResult], fmt: str, item_keys: Sequence[str]) -> str:
    """All results in one string (for tests and small outputs)."""
    buffer = io.StringIO()
    with ResultWriter(buffer, fmt, item_keys) as writer:
        for result in results:
            writer.write(result)
    return buffer.getvalue()
