"""Write page records, with the values in force, as JSON Lines, JSON, wide CSV or long CSV.

`scan -o` and `export` write through the same code, so the same pages give the same file.
The JSON record is a contract other tools read (documented in the README). The wide CSV
names its item columns per template (`srs_relationship_score`, `ors_overall_mm`, ...): one
row per page, one set of columns per template met among the pages, so an SRS and an ORS
item of the same name never share a column. The long CSV has one row per item.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Collection, Iterable, Sequence
from pathlib import Path
from typing import IO, Any

from ..errors import ConfigError
from ..records import PageResult

FORMATS = ("jsonl", "json", "csv", "long")
ITEM_FIELDS = ("mm", "score", "status", "confidence", "corrected")
PAGE_COLUMNS = ("source", "page", "status", "template", "layout", "serial", "client", "session",
                "date", "rotation", "print_scale")
TAIL_COLUMNS = ("total", "flags", "rule", "reasons")
LONG_HEADER = ("source", "page", "serial", "client", "session", "template", "item",
               "position", "mm", "score", "status", "confidence", "corrected", "rule",
               "page_status")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")

Corrected = Collection[str]  # the keys of a page's items a person decided


def record(result: PageResult, corrected: Corrected = ()) -> dict[str, Any]:
    """The documented JSON record of one page; `corrected` names the items a person set."""
    return {
        "source": result.source,
        "page": result.page,
        "status": result.status,
        "template": result.template,
        "layout": result.layout,
        "serial": result.serial,
        "client": result.client,
        "session": result.session,
        "date": result.date,
        "rotation": result.rotation,
        "print_scale": result.print_scale,
        "items": [
            {"key": i.key, "mm": i.mm, "score": i.score, "status": i.status,
             "confidence": i.confidence, "corrected": i.key in corrected}
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


def item_columns(results: Iterable[PageResult]) -> list[tuple[str, str]]:
    """(template, item key) of every item met, templates in name order, items in form order:
    the same pages (or the same templates, read whole) always give the same columns."""
    keys: dict[str, dict[str, None]] = {}
    for result in results:
        if result.template is not None:
            known = keys.setdefault(result.template, {})
            known.update(dict.fromkeys(item.key for item in result.items))
    return [(template, key) for template in sorted(keys) for key in keys[template]]


def wide_header(columns: Sequence[tuple[str, str]]) -> list[str]:
    head = list(PAGE_COLUMNS)
    for template, key in columns:
        head += [f"{template}_{key}_{field}" for field in ITEM_FIELDS]
    return head + list(TAIL_COLUMNS)


def write_records(out: IO[str], fmt: str, pages: Iterable[tuple[PageResult, Corrected]]
                  ) -> int:
    """Write (record, corrected item keys) pairs in one of FORMATS; returns the number of
    pages written. The wide CSV reads every page before writing (its columns depend on the
    templates met); the other formats stream."""
    if fmt not in FORMATS:
        raise ConfigError(f"unknown output format '{fmt}': use {'|'.join(FORMATS)}")
    if fmt == "csv":
        pages = list(pages)
        columns = item_columns(result for result, _ in pages)
    writer = csv.writer(out) if fmt in ("csv", "long") else None
    if fmt == "csv":
        writer.writerow(wide_header(columns))
    elif fmt == "long":
        writer.writerow(LONG_HEADER)
    elif fmt == "json":
        out.write("[")
    count = 0
    for result, corrected in pages:
        rec = record(result, corrected)
        if fmt == "jsonl":
            out.write(json.dumps(rec, ensure_ascii=False) + "\n")
        elif fmt == "json":
            out.write(("," if count else "") + "\n" + json.dumps(rec, ensure_ascii=False))
        elif fmt == "csv":
            writer.writerow([csv_cell(v) for v in _wide_row(rec, columns)])
        else:
            writer.writerows([csv_cell(v) for v in row] for row in _long_rows(rec))
        count += 1
    if fmt == "json":
        out.write("\n]\n")
    out.flush()
    return count


def csv_cell(value: Any) -> str:
    """A CSV cell; text that a spreadsheet would run as a formula is quoted with '."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    text = str(value)
    if isinstance(value, str) and text.startswith(_FORMULA_START):
        return "'" + text
    return text


def _wide_row(rec: dict[str, Any], columns: Sequence[tuple[str, str]]) -> list[Any]:
    row = [rec[k] for k in PAGE_COLUMNS]
    items = {(rec["template"], item["key"]): item for item in rec["items"]}
    for column in columns:
        item = items.get(column)
        row += [item[field] for field in ITEM_FIELDS] if item else [None] * len(ITEM_FIELDS)
    return row + [rec["total"], ";".join(rec["flags"]), rec["rule"], " | ".join(rec["reasons"])]


def _long_rows(rec: dict[str, Any]) -> list[list[Any]]:
    return [[rec["source"], rec["page"], rec["serial"], rec["client"], rec["session"],
             rec["template"], item["key"], position, item["mm"], item["score"], item["status"],
             item["confidence"], item["corrected"], rec["rule"], rec["status"]]
            for position, item in enumerate(rec["items"], start=1)]
