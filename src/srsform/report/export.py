"""Write page results as JSON Lines, JSON or wide CSV.

The JSON Lines record is a contract other tools read (documented in the README).
Files are created readable by their owner only: they hold clinical records.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Collection, Iterable, Sequence
from pathlib import Path
from typing import IO, Any

from ..errors import ConfigError
from ..records import PageResult

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


def render_records(results: Sequence[PageResult], fmt: str, item_keys: Sequence[str]) -> str:
    """All results in one string (for tests and small outputs)."""
    buffer = io.StringIO()
    with ResultWriter(buffer, fmt, item_keys) as writer:
        for result in results:
            writer.write(result)
    return buffer.getvalue()


# --- exports of the values in force (after a person's corrections) ------------------------

IN_FORCE_FORMATS = ("csv", "long", "jsonl")
LONG_HEADER = ("source", "page", "serial", "client", "session", "template", "item",
               "position", "mm", "score", "status", "confidence", "corrected", "rule",
               "page_status")


def record_in_force(result: PageResult, corrected: Collection[str]) -> dict[str, Any]:
    """The documented record, with `"corrected": true/false` on each item."""
    rec = record(result)
    for item in rec["items"]:
        item["corrected"] = item["key"] in corrected
    return rec


def write_in_force(out: IO[str], fmt: str,
                   results: Iterable[tuple[PageResult, Collection[str]]],
                   item_keys: Sequence[str]) -> int:
    """Write (result, corrected item keys) pairs as wide CSV (`csv`: one row per page, with a
    `<key>_corrected` column per item), long CSV (`long`: one row per item) or JSON Lines.
    Returns the number of pages written."""
    if fmt not in IN_FORCE_FORMATS:
        raise ConfigError(f"unknown export format '{fmt}': use {'|'.join(IN_FORCE_FORMATS)}")
    keys = list(dict.fromkeys(item_keys))
    writer = csv.writer(out) if fmt in ("csv", "long") else None
    if fmt == "csv":
        writer.writerow(_wide_header(keys))
    elif fmt == "long":
        writer.writerow(LONG_HEADER)
    count = 0
    for result, corrected in results:
        rec = record_in_force(result, corrected)
        if fmt == "jsonl":
            out.write(json.dumps(rec, ensure_ascii=False) + "\n")
        elif fmt == "csv":
            writer.writerow([csv_cell(v) for v in _wide_row(rec, keys)])
        else:
            writer.writerows([csv_cell(v) for v in row] for row in _long_rows(rec))
        count += 1
    out.flush()
    return count


def _wide_header(keys: Sequence[str]) -> list[str]:
    head = ["source", "page", "status", "template", "layout", "serial", "client", "session",
            "rotation", "print_scale"]
    for key in keys:
        head += [f"{key}_{field}" for field in ("mm", "score", "status", "confidence",
                                                  "corrected")]
    return head + ["total", "flags", "rule", "reasons"]


def _wide_row(rec: dict[str, Any], keys: Sequence[str]) -> list[Any]:
    row = [rec[k] for k in ("source", "page", "status", "template", "layout", "serial",
                            "client", "session", "rotation", "print_scale")]
    by_key = {item["key"]: item for item in rec["items"]}
    for key in keys:
        item = by_key.get(key)
        row += ([item["mm"], item["score"], item["status"], item["confidence"],
                 _bool_cell(item["corrected"])] if item else [None] * 5)
    return row + [rec["total"], ";".join(rec["flags"]), rec["rule"], " | ".join(rec["reasons"])]


def _long_rows(rec: dict[str, Any]) -> list[list[Any]]:
    return [[rec["source"], rec["page"], rec["serial"], rec["client"], rec["session"],
             rec["template"], item["key"], position, item["mm"], item["score"], item["status"],
             item["confidence"], _bool_cell(item["corrected"]), rec["rule"], rec["status"]]
            for position, item in enumerate(rec["items"], start=1)]


def _bool_cell(value: bool) -> str:
    return "true" if value else "false"
