"""Review by a person, the corrections trail, exports of the values in force, and the audit
against independently keyed scores. Every store is built by scanning the bundled samples."""

from __future__ import annotations

import csv
import io
import json
import sqlite3
from datetime import datetime
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from srsform.cli import main
from srsform.errors import ExitCode
from srsform.records import Correction
from srsform.report.review import Value, parse_decision, replay, review_queue
from srsform.store import Store

KEYS = ("relationship", "goals_topics", "approach_method", "overall")
OK_PAGE = "SAMP00000011"  # stack.pdf page 2: an ok SRS page, 8 9 10 0, total 27


def _run(*args: str, stdin: str | None = None) -> Result:
    return CliRunner().invoke(main, ["-q", *args], input=stdin)


def _records(db: Path) -> dict[str, dict]:
    """The jsonl export, by form serial."""
    result = _run("export", "--db", str(db), "--format", "jsonl")
    assert result.exit_code == 0, result.output
    records = [json.loads(line) for line in result.stdout.splitlines()]
    return {r["serial"]: r for r in records if r["serial"]}


def _item(record: dict, key: str) -> dict:
    return next(i for i in record["items"] if i["key"] == key)


def _trail(db: Path) -> list[dict[str, str]]:
    result = _run("review", "trail", "--db", str(db))
    assert result.exit_code == 0, result.output
    return list(csv.DictReader(io.StringIO(result.stdout), delimiter="\t"))


# --- corrections and exports -------------------------------------------------------------

def test_a_correction_shows_in_every_export_and_in_the_trail(samples_db: Path,
                                                             tmp_path: Path) -> None:
    before = _records(samples_db)[OK_PAGE]
    assert (_item(before, "relationship")["score"], before["total"]) == (8, 27)
    result = _run("review", "set", OK_PAGE, "relationship", "7", "--why", "checked the paper",
                  "--who", "ana", "--db", str(samples_db))
    assert result.exit_code == 0, result.output

    record = _records(samples_db)[OK_PAGE]
    assert _item(record, "relationship") | {"score": 7, "status": "ok", "corrected": True} \
        == _item(record, "relationship")
    assert [_item(record, k)["corrected"] for k in KEYS] == [True, False, False, False]
    assert record["total"] == 26
    assert set(record["flags"]) == {"alliance_concern", "item_check_in"}

    wide = tmp_path / "wide.csv"
    assert _run("export", "--db", str(samples_db), "-o", str(wide)).exit_code == 0
    assert wide.stat().st_mode & 0o077 == 0
    row = next(r for r in csv.DictReader(wide.open()) if r["serial"] == OK_PAGE)
    assert (row["srs_relationship_score"], row["srs_relationship_corrected"], row["total"]) == (
        "7", "true", "26")
    assert row["srs_overall_corrected"] == "false" and row["srs_overall_score"] == "0"

    long = _run("export", "--db", str(samples_db), "--format", "long")
    rows = [r for r in csv.DictReader(io.StringIO(long.stdout)) if r["serial"] == OK_PAGE]
    assert [(r["item"], r["position"], r["score"], r["corrected"]) for r in rows] == [
        ("relationship", "1", "7", "true"), ("goals_topics", "2", "9", "false"),
        ("approach_method", "3", "10", "false"), ("overall", "4", "0", "false")]
    assert {r["page_status"] for r in rows} == {"ok"}

    (entry,) = _trail(samples_db)
    assert (entry["item"], entry["old"], entry["new"], entry["who"], entry["why"]) == (
        "relationship", "8", "7", "ana", "checked the paper")
    assert entry["page"].endswith("stack.pdf:2")
    assert datetime.fromisoformat(entry["at"]).utcoffset().total_seconds() == 0


def test_deciding_every_item_settles_the_page_total_and_flags(samples_db: Path,
                                                              sample_scans: Path) -> None:
    # stack.tif page 2: relationship has two marks, goals_topics none, so no total.
    record = _records(samples_db)["SAMP00000015"]
    assert (record["status"], record["total"]) == ("review", None)
    page = str(sample_scans / "stack.tif") + ":2"
    for key, value in (("relationship", "9"), ("goals_topics", "10")):
        result = _run("review", "set", page, key, value, "--why", "read the paper",
                      "--db", str(samples_db))
        assert result.exit_code == 0, result.output
    record = _records(samples_db)["SAMP00000015"]
    assert record["total"] == 9 + 10 + 10 + 3
    assert record["status"] == "ok"
    assert "alliance_concern" in record["flags"]  # 32 <= 36
    assert "print_scale_off" in record["flags"]  # not a score flag: kept


def test_corrections_survive_a_rescan(samples_db: Path, sample_scans: Path) -> None:
    assert _run("review", "set", OK_PAGE, "overall", "missing", "--why", "no mark on paper",
                "--db", str(samples_db)).exit_code == 0
    rescan = _run("scan", str(sample_scans / "stack.pdf"), "--db", str(samples_db), "-o", "-",
                  "--rescan")
    assert rescan.exit_code in (0, 4)
    overall = _item(_records(samples_db)[OK_PAGE], "overall")
    assert (overall["score"], overall["status"], overall["corrected"]) == (None, "missing", True)
    assert _records(samples_db)[OK_PAGE]["total"] is None


def test_undo_appends_an_entry_restoring_the_previous_value(samples_db: Path) -> None:
    for value in ("7", "6"):
        assert _run("review", "set", OK_PAGE, "relationship", value, "--why", f"paper {value}",
                    "--db", str(samples_db)).exit_code == 0
    first, second = _trail(samples_db)
    refused = _run("review", "undo", first["id"], "--why", "wrong", "--db", str(samples_db))
    assert refused.exit_code == ExitCode.CONFIG and f"undo #{second['id']}" in refused.stderr

    assert _run("review", "undo", second["id"], "--why", "misread", "--who", "ben",
                "--db", str(samples_db)).exit_code == 0
    assert _item(_records(samples_db)[OK_PAGE], "relationship")["score"] == 7
    assert _run("review", "undo", _trail(samples_db)[-1]["id"], "--why", "it was 6 after all",
                "--db", str(samples_db)).exit_code == 0  # an undo is undone like any decision
    assert _item(_records(samples_db)[OK_PAGE], "relationship")["score"] == 6

    entries = _trail(samples_db)
    assert len(entries) == 4
    assert (entries[2]["old"], entries[2]["new"], entries[2]["who"]) == ("6", "7", "ben")
    assert entries[2]["why"] == f"undo #{second['id']}: misread"
    con = sqlite3.connect(samples_db)  # nothing was changed or removed, only appended
    rows = con.execute("SELECT id, new_score FROM corrections ORDER BY id").fetchall()
    con.close()
    assert [(str(i), f"{s:g}") for i, s in rows] == [(e["id"], e["new"]) for e in entries]


def test_undo_of_the_only_decision_restores_the_machine_reading(samples_db: Path) -> None:
    assert _run("review", "set", OK_PAGE, "goals_topics", "4", "--why", "x",
                "--db", str(samples_db)).exit_code == 0
    (entry,) = _trail(samples_db)
    assert _run("review", "undo", entry["id"], "--why", "wrong form",
                "--db", str(samples_db)).exit_code == 0
    item = _item(_records(samples_db)[OK_PAGE], "goals_topics")
    assert (item["score"], item["corrected"]) == (9, False)
    assert _records(samples_db)[OK_PAGE]["total"] == 27
    assert [e["new"] for e in _trail(samples_db)] == ["4", "9"]


@pytest.mark.parametrize(("args", "message"), [
    (("NOSUCHSERIAL", "overall", "5"), "no stored form with serial"),
    ((OK_PAGE, "mood", "5"), "has no item 'mood'"),
    ((OK_PAGE, "overall", "11"), "not a score 0-10"),
    ((OK_PAGE, "overall", "7.5"), "whole numbers"),
    (("SAMP00000015", "relationship", "accept"), "no score to accept"),
    (("nowhere.pdf:1", "overall", "5"), "no stored file"),
])
def test_review_set_refuses_what_it_cannot_record(samples_db: Path, args: tuple[str, ...],
                                                  message: str) -> None:
    result = _run("review", "set", *args, "--why", "x", "--db", str(samples_db))
    assert result.exit_code == ExitCode.CONFIG
    assert message in result.stderr and "Traceback" not in result.output
    assert _trail(samples_db) == []


def test_review_needs_an_existing_store(tmp_path: Path) -> None:
    result = _run("review", "list", "--db", str(tmp_path / "none.db"))
    assert result.exit_code == ExitCode.CONFIG and "scan forms into it first" in result.stderr
    assert not (tmp_path / "none.db").exists()


# --- the interactive walk ------------------------------------------------------------------

def test_the_walk_accepts_one_item_and_corrects_another(samples_db: Path) -> None:
    with Store(samples_db) as store:
        first, second = review_queue(store)[:2]
    assert first.confidence <= second.confidence and first.status != "ok"
    # A bad answer is asked again; the reason is asked once, at the first decision.
    answers = "a\nchecked against the paper\n11\n7\nq\n"
    result = _run("review", "--db", str(samples_db), "--who", "ana", stdin=answers)
    assert result.exit_code == 0, result.output
    assert "not a score 0-10" in result.stdout
    assert f"{first.page.ref}" in result.stdout and first.key in result.stdout

    accepted, corrected = _trail(samples_db)
    assert (accepted["item"], accepted["new"], accepted["who"], accepted["why"]) == (
        first.key, str(first.score), "ana", "checked against the paper")
    assert (corrected["item"], corrected["new"]) == (second.key, "7")
    with Store(samples_db) as store:
        keys = {(e.page.page_id, e.key) for e in review_queue(store)}
    assert (first.page.page_id, first.key) not in keys
    assert (second.page.page_id, second.key) not in keys


def test_review_list_is_lowest_confidence_first(samples_db: Path) -> None:
    result = _run("review", "list", "--db", str(samples_db))
    rows = list(csv.DictReader(io.StringIO(result.stdout), delimiter="\t"))
    confidences = [float(r["confidence"]) for r in rows if r["item"] != "(no items read)"]
    assert confidences == sorted(confidences) and len(confidences) > 5
    assert all(r["page"].rsplit(":", 1)[1].isdigit() for r in rows)
    assert not any(r["serial"] == OK_PAGE for r in rows)  # an ok page needs no one


# --- audit against keyed scores --------------------------------------------------------------

def _keyed(db: Path, path: Path, alter: tuple[str, str] | None = None) -> Path:
    """A keyed CSV agreeing with the store (items with a score, and totals); with `alter`
    (serial, item) that one value is keyed one point different. The second form is named
    by client and session instead of serial."""
    records = [r for r in _records(db).values() if r["items"]]
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["serial", "client", "session", *KEYS, "total"])
        for n, rec in enumerate(records):
            scores = {i["key"]: i["score"] for i in rec["items"]}
            if alter and rec["serial"] == alter[0]:
                scores[alter[1]] = (scores[alter[1]] + 1) % 11
            serial = "" if n == 1 and rec["client"] else rec["serial"]
            total = rec["total"] if not alter else ""
            writer.writerow([serial, rec["client"] or "", rec["session"] or "",
                             *["" if scores.get(k) is None else scores[k] for k in KEYS],
                             "" if total is None else total])
    return path


def test_an_agreeing_keyed_file_passes_with_full_agreement(samples_db: Path,
                                                            tmp_path: Path) -> None:
    keyed = _keyed(samples_db, tmp_path / "keyed.csv")
    result = _run("audit", "--against", str(keyed), "--db", str(samples_db))
    assert result.exit_code == 0, result.output
    assert "exact agreement 100.0%" in result.stdout and "discrepancies: 0" in result.stdout
    report = json.loads(_run("audit", "--against", str(keyed), "--db", str(samples_db),
                             "--json").stdout)
    assert report["items"]["exact_pct"] == 100.0 and report["items"]["mean_difference"] == 0
    assert report["totals"]["compared"] >= 3 and report["totals"]["exact_pct"] == 100.0
    assert report["forms_matched"] == report["keyed_rows"] == 9
    assert report["keyed_rows_unmatched"] == []


def test_a_keyed_file_with_one_altered_value_reports_exactly_that(samples_db: Path,
                                                                  tmp_path: Path) -> None:
    keyed = _keyed(samples_db, tmp_path / "keyed.csv", alter=(OK_PAGE, "approach_method"))
    result = _run("audit", "--against", str(keyed), "--db", str(samples_db), "--json")
    assert result.exit_code == ExitCode.REVIEW
    report = json.loads(result.stdout)
    (found,) = report["discrepancies"]
    assert (found["serial"], found["item"], found["stored"], found["keyed"]) == (
        OK_PAGE, "approach_method", 10, 0)
    assert found["source"].endswith("stack.pdf") and found["page"] == 2
    assert found["evidence"] and Path(found["evidence"]).exists()
    assert report["items"]["exact_pct"] < 100 and report["items"]["within_one_pct"] < 100
    low, high = report["items"]["limits_of_agreement"]
    assert low < report["items"]["mean_difference"] < high
    text = _run("audit", "--against", str(keyed), "--db", str(samples_db))
    assert text.exit_code == ExitCode.REVIEW
    assert "discrepancies: 1" in text.stdout and "approach_method: stored 10" in text.stdout


def test_a_person_corrected_value_is_what_the_audit_compares(samples_db: Path,
                                                             tmp_path: Path) -> None:
    keyed = _keyed(samples_db, tmp_path / "keyed.csv", alter=(OK_PAGE, "overall"))  # keyed 1
    assert _run("review", "set", OK_PAGE, "overall", "1", "--why", "x",
                "--db", str(samples_db)).exit_code == 0
    assert _run("audit", "--against", str(keyed), "--db", str(samples_db)).exit_code == 0


@pytest.mark.parametrize(("text", "message"), [
    ("id,overall\nSAMP00000011,3\n", "no 'serial' column, and no 'client' column"),
    ("client,overall\nC1002,3\n", "no 'session' column"),
    ("serial,mood\nSAMP00000011,3\n", "no score columns"),
    ("serial,overall\nSAMP00000011,ten\n", "line 2, column 'overall'"),
    ("", "empty"),
    ("serial,overall\nNOSUCH,3\n", "no keyed row matched a stored form"),
])
def test_a_bad_keyed_file_is_refused_clearly(samples_db: Path, tmp_path: Path, text: str,
                                             message: str) -> None:
    keyed = tmp_path / "keyed.csv"
    keyed.write_text(text)
    result = _run("audit", "--against", str(keyed), "--db", str(samples_db))
    assert result.exit_code == ExitCode.CONFIG
    assert message in result.stderr and str(keyed) in result.stderr
    assert "Traceback" not in result.output


def test_audit_alone_checks_printed_forms_against_scanned_pages(samples_db: Path) -> None:
    # The samples were never printed with this store: every serial read is unregistered.
    result = _run("audit", "--db", str(samples_db))
    assert result.exit_code == ExitCode.OK
    assert "printed forms that never came back: 0" in result.stdout
    assert "scanned pages whose serial this store never printed: 9" in result.stdout
    assert f"(serial {OK_PAGE})" in result.stdout


def test_a_report_without_a_keyed_file_says_what_to_give(samples_db: Path, tmp_path: Path) -> None:
    result = _run("audit", "--db", str(samples_db), "--report", str(tmp_path / "disc.csv"))
    assert result.exit_code == ExitCode.CONFIG and "--against keyed.csv" in result.stderr


# --- pure parts ----------------------------------------------------------------------------

def _entry(id_: int, score: int | None, status: str = "ok", why: str = "x") -> Correction:
    return Correction(id_, 1, "overall", None, score, None, status, "me", "t", why)


def test_replay_follows_decisions_and_undos() -> None:
    machine = Value(3, "uncertain")
    trail = [_entry(1, 4), _entry(2, 5), _entry(3, 4, why="undo #2: no"),
             _entry(4, 3, "uncertain", why="undo #1: no")]
    states = replay(machine, trail)
    assert [(s.score, s.by_person) for s in states] == [
        (3, False), (4, True), (5, True), (4, True), (3, False)]
    assert states[-1] == machine


@pytest.mark.parametrize(("text", "rule", "kind", "score"), [
    ("accept", None, "accept", None), ("A", None, "accept", None),
    ("m", None, "missing", None), ("10", None, "score", 10), ("0", None, "score", 0),
    ("7.5", "x@1 one_decimal", "score", 7.5),
])
def test_decisions_parse(text: str, rule: str | None, kind: str, score: float | None) -> None:
    decision = parse_decision(text, rule)
    assert (decision.kind, decision.score) == (kind, score)


@pytest.mark.parametrize("text", ["-1", "10.5", "7.25", "nan", "inf", "", "seven"])
def test_bad_decisions_are_refused(text: str) -> None:
    with pytest.raises(ValueError):
        parse_decision(text, "x@1 one_decimal")
