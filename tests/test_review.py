"""Review by a person, the corrections trail, exports of the values in force, and the audit
against independently keyed scores. Every store is built by scanning the bundled samples."""

from __future__ import annotations

import csv
import io
import json
import re
import signal
import sqlite3
import subprocess
from datetime import datetime
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from srsform.cli import main
from srsform.errors import DecidedMeanwhile, ExitCode
from srsform.records import Correction, ItemScore, PageResult
from srsform.report import review
from srsform.report.review import (
    PAGE_KEY,
    Value,
    apply_corrections,
    parse_decision,
    replay,
    review_queue,
)
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


def test_a_name_several_stored_files_share_does_not_name_a_page(tmp_path: Path,
                                                                sample_scans: Path) -> None:
    # Two photos read from standard input in two runs: both are <stdin>, page 1.
    db = str(tmp_path / "s.db")
    for photo in ("photo-008.jpg", "photo-009.jpg"):
        scanned = CliRunner().invoke(main, ["-q", "scan", "-", "--db", db, "-o", "-"],
                                     input=(sample_scans / photo).read_bytes())
        assert scanned.exit_code in (0, 4), scanned.output
    result = _run("review", "set", "<stdin>:1", "overall", "7", "--why", "x", "--db", db)
    assert result.exit_code == ExitCode.CONFIG
    assert "names 2 stored files" in result.stderr and "serial" in result.stderr
    assert _trail(Path(db)) == []
    by_content = _run("review", "set", f"{sample_scans / 'photo-009.jpg'}:1", "overall", "7",
                      "--why", "x", "--db", db)
    assert by_content.exit_code == 0, by_content.output
    (entry,) = _trail(Path(db))
    assert entry["page"] == "<stdin>:1"
    assert _records(Path(db))["SAMP00000018"]["items"][-1]["score"] == 7


def test_review_needs_an_existing_store(tmp_path: Path) -> None:
    result = _run("review", "list", "--db", str(tmp_path / "none.db"))
    assert result.exit_code == ExitCode.CONFIG and "scan forms into it first" in result.stderr
    assert not (tmp_path / "none.db").exists()


# --- the interactive walk ------------------------------------------------------------------

def test_the_walk_accepts_one_item_and_corrects_another(samples_db: Path) -> None:
    with Store(samples_db) as store:
        first, second = review_queue(store)[:2]
    assert first.status != "ok" and second.status != "ok"
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


def test_ctrl_c_at_a_prompt_is_an_interruption(samples_db: Path, tmp_path: Path) -> None:
    # A real process at a real prompt (click turns Ctrl-C there into an "Aborted!" exit 1).
    from support.chaos import srsform_command, wait_for

    shown = tmp_path / "walk.txt"
    with shown.open("w") as out:
        process = subprocess.Popen([*srsform_command(), "review", "--db", str(samples_db)],
                                   stdin=subprocess.PIPE, stdout=out, stderr=subprocess.PIPE,
                                   text=True)
    try:
        assert wait_for(lambda: "[a]ccept" in shown.read_text(), 60), shown.read_text()
        process.send_signal(signal.SIGINT)
        _, err = process.communicate(timeout=30)
    finally:
        process.kill()
    assert process.returncode == ExitCode.INTERRUPTED, err
    assert err == "srsform: interrupted\n"
    assert _trail(samples_db) == []


def _list(db: Path) -> list[dict[str, str]]:
    result = _run("review", "list", "--db", str(db))
    assert result.exit_code == 0, result.output
    return list(csv.DictReader(io.StringIO(result.stdout), delimiter="\t"))


def test_review_list_shows_only_what_needs_a_decision_most_useful_first(samples_db: Path
                                                                        ) -> None:
    rows = _list(samples_db)
    assert rows and {r["status"] for r in rows} <= {"uncertain", "multiple", "missing"}
    assert not any(r["serial"] == OK_PAGE for r in rows)  # an ok page needs no one
    pages = [r["page"] for r in rows]
    # A page's items come together, top to bottom; pages that the fewest decisions settle
    # come first: stack.pdf:3 (four items in doubt) is last.
    assert pages == sorted(pages, key=pages.index)
    runs = [page for n, page in enumerate(pages) if n == 0 or pages[n - 1] != page]
    assert len(runs) == len(set(pages)) >= 6
    sizes = [pages.count(page) for page in runs]
    assert sizes == sorted(sizes) and runs[-1].endswith("stack.pdf:3")
    blank = next(r for r in rows if r["page"].endswith("stack.tif:2")
                 and r["item"] == "goals_topics")
    assert blank["status"] == "missing"  # the blank item waits with its page, not last
    assert all(r["page"].rsplit(":", 1)[1].isdigit() for r in rows)


def test_a_confirmed_blank_takes_its_page_out_of_review(samples_db: Path,
                                                        sample_scans: Path) -> None:
    # stack.tif page 2: relationship has two marks, goals_topics is blank.
    page = str(sample_scans / "stack.tif") + ":2"
    scan = ["scan", str(sample_scans / "stack.tif"), "--db", str(samples_db), "-o", "-"]
    assert _run(*scan).exit_code == ExitCode.REVIEW
    for key, value in (("goals_topics", "missing"), ("relationship", "accept")):
        result = _run("review", "set", page, key, value, "--why", "no mark on the paper",
                      "--db", str(samples_db))
        if value == "accept":  # two marks: there is no reading to accept
            assert result.exit_code == ExitCode.CONFIG
    assert _records(samples_db)["SAMP00000015"]["status"] == "review"
    assert _run("review", "set", page, "relationship", "7", "--why", "the client's own "
                "correction", "--db", str(samples_db)).exit_code == 0
    record = _records(samples_db)["SAMP00000015"]
    assert record["status"] == "ok" and record["total"] is None
    blank = _item(record, "goals_topics")
    assert (blank["status"], blank["score"], blank["corrected"]) == ("missing", None, True)
    assert not any(r["page"] == page for r in _list(samples_db))
    assert _run("review", "list", "--db", str(samples_db)).exit_code == 0
    # The other two pages of the file still wait, so the scan still says 4; once they are
    # decided it exits 0.
    assert _run(*scan).exit_code == ExitCode.REVIEW
    for ref, key in (("SAMP00000014", "goals_topics"), ("SAMP00000016", "individually"),
                     ("SAMP00000016", "overall")):
        assert _run("review", "set", ref, key, "9", "--why", "paper",
                    "--db", str(samples_db)).exit_code == 0
    assert _run(*scan).exit_code == ExitCode.OK
    assert _run("export", "--db", str(samples_db), "--status", "review",
                "--template", "ors").stdout == ""


def test_a_page_marked_not_a_form_leaves_the_scores_and_can_be_undone(samples_db: Path,
                                                                      sample_scans: Path
                                                                      ) -> None:
    result = _run("review", "page", "SAMP00000012", "not-a-form", "--why", "a letter",
                  "--who", "ana", "--db", str(samples_db))
    assert result.exit_code == 0, result.output
    record = _records(samples_db)["SAMP00000012"]
    assert (record["status"], record["items"], record["total"]) == ("not_a_form", [], None)
    assert any("not a form" in reason for reason in record["reasons"])
    assert not any(r["serial"] == "SAMP00000012" for r in _list(samples_db))
    (entry,) = _trail(samples_db)
    assert (entry["item"], entry["old"], entry["new"], entry["who"]) == (
        PAGE_KEY, "review", "not_a_form", "ana")

    # A page a person set aside waits no more: stack.pdf's other pages are decided, and the
    # scan's exit code follows.
    scan = ["scan", str(sample_scans / "stack.pdf"), "--db", str(samples_db), "-o", "-"]
    assert _run(*scan).exit_code == ExitCode.REVIEW
    assert _run("review", "set", "SAMP00000013", "relationship", "accept", "--why", "x",
                "--db", str(samples_db)).exit_code == 0
    assert _run(*scan).exit_code == ExitCode.OK

    assert _run("review", "undo", entry["id"], "--why", "it is a form after all",
                "--db", str(samples_db)).exit_code == 0
    record = _records(samples_db)["SAMP00000012"]
    assert record["status"] == "review"
    waiting = [i["key"] for i in record["items"] if i["status"] != "ok"]
    assert len(waiting) >= 3 and _items_listed(samples_db, "SAMP00000012") == waiting
    assert _run(*scan).exit_code == ExitCode.REVIEW


def _items_listed(db: Path, serial: str) -> list[str]:
    return [r["item"] for r in _list(db) if r["serial"] == serial]


@pytest.mark.parametrize(("args", "message"), [
    ((OK_PAGE, "accept"), "nothing about the page itself waits"),
    ((OK_PAGE, "maybe"), "not_a_form' or 'accept'"),
])
def test_review_page_refuses_what_it_cannot_record(samples_db: Path, args: tuple[str, ...],
                                                   message: str) -> None:
    result = _run("review", "page", *args, "--why", "x", "--db", str(samples_db))
    assert result.exit_code in (ExitCode.CONFIG, ExitCode.USAGE)
    assert message in result.stderr
    assert _trail(samples_db) == []


def test_the_walk_counts_without_jumps(samples_db: Path) -> None:
    # Marking a page with two items to decide not a form (n) at its first item settles its
    # second: the walk counts on by one and its total shrinks by one, instead of jumping
    # past the item.
    with Store(samples_db) as store:
        queue = review_queue(store)
    first = next(n for n, e in enumerate(queue[:-2])
                 if queue[n + 1].page.serial == e.page.serial)
    assert queue[first + 2].page.serial != queue[first].page.serial
    answers = "s\n" * first + "n\nnot a form\n" + "s\n" * (len(queue) - first - 2)
    result = _run("review", "--db", str(samples_db), stdin=answers)
    assert result.exit_code == 0, result.output
    counters = [(int(n), int(t)) for n, t in re.findall(r"\[(\d+)/(\d+)\]", result.stdout)]
    assert [n for n, _ in counters] == list(range(1, len(queue)))
    assert [t for _, t in counters] == [len(queue)] * (first + 1) + [len(queue) - 1] * (
        len(queue) - first - 2)
    assert [c["item"] for c in _trail(samples_db)] == [PAGE_KEY]


def test_a_decision_on_an_item_decided_meanwhile_is_refused(samples_db: Path) -> None:
    with Store(samples_db) as store:
        entry = review_queue(store)[0]
        review.decide(store, entry.page, entry.key, review.Decision("score", 3), "ana", "x",
                      seen=entry.latest)
        with pytest.raises(DecidedMeanwhile, match="ana decided"):
            review.decide(store, entry.page, entry.key, review.Decision("score", 4), "ben",
                          "y", seen=entry.latest)
        assert [c.new_score for c in store.corrections()] == [3]
        assert not review.still_pending(store, entry)


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


def test_the_keyed_file_is_read_from_standard_input_as_dash(samples_db: Path,
                                                            tmp_path: Path) -> None:
    keyed = _keyed(samples_db, tmp_path / "keyed.csv", alter=(OK_PAGE, "overall"))
    result = _run("audit", "--against", "-", "--json", "--db", str(samples_db),
                  stdin=keyed.read_text())
    assert result.exit_code == ExitCode.REVIEW, result.output
    report = json.loads(result.stdout)
    assert report["keyed_file"] == "<stdin>"
    assert [(d["serial"], d["item"]) for d in report["discrepancies"]] == [(OK_PAGE, "overall")]
    bad = _run("audit", "--against", "-", "--db", str(samples_db),
               stdin="serial,overall\nSAMP00000011,ten\n")
    assert bad.exit_code == ExitCode.CONFIG
    assert "<stdin> line 2, column 'overall'" in bad.stderr


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


def _page(status: str = "review", flags: tuple[str, ...] = (),
          statuses: tuple[str, ...] = ("ok", "missing")) -> PageResult:
    items = tuple(ItemScore(f"k{n}", None if s != "ok" else 50.0, None if s != "ok" else 5, s,
                            0.9, ()) for n, s in enumerate(statuses))
    return PageResult("a.pdf", 1, status, template="srs", serial="S1", items=items,
                      flags=flags, rule="srs@1.0 nearest_cm_half_up; alliance_concern: "
                      "total<=36; item_check_in: item<9")


def _decided(id_: int, key: str, score: int | None, status: str, why: str = "x"
             ) -> Correction:
    return Correction(id_, 1, key, None, score, None, status, "me", "t", why)


def test_a_page_leaves_review_once_each_flagged_item_has_a_decision() -> None:
    page = _page()
    assert apply_corrections(page, [])[0].status == "review"
    blank = _decided(1, "k1", None, "missing")
    in_force, corrected = apply_corrections(page, [blank])
    assert (in_force.status, in_force.total, corrected) == ("ok", None, {"k1"})
    undone = _decided(2, "k1", None, "missing", why="undo #1: no")
    assert apply_corrections(page, [blank, undone])[0].status == "review"


def test_a_page_in_doubt_itself_leaves_review_when_a_person_accepts_it() -> None:
    page = _page(flags=("duplicate_serial",), statuses=("ok", "ok"))
    assert review.page_level_review(page)
    assert apply_corrections(page, [])[0].status == "review"
    accepted = _decided(1, PAGE_KEY, None, "ok")
    assert apply_corrections(page, [accepted])[0].status == "ok"
    mixed = _page(flags=("duplicate_page",))  # the page and an item: both need a person
    blank = _decided(2, "k1", None, "missing")
    assert apply_corrections(mixed, [blank])[0].status == "review"
    assert apply_corrections(mixed, [blank, accepted])[0].status == "ok"


def test_a_page_marked_not_a_form_has_no_scores() -> None:
    marked = _decided(1, PAGE_KEY, None, "not_a_form")
    in_force, corrected = apply_corrections(_page(flags=("item_check_in", "print_scale_off")),
                                            [marked])
    assert (in_force.status, in_force.items, in_force.total) == ("not_a_form", (), None)
    assert in_force.flags == ("print_scale_off",) and PAGE_KEY in corrected
    assert review.settled_by_person(in_force, corrected)
    machine = PageResult("b.png", 1, "not_a_form")
    assert not review.settled_by_person(*apply_corrections(machine, []))


@pytest.mark.parametrize(("text", "rule", "kind", "score"), [
    ("accept", None, "accept", None), ("A", None, "accept", None),
    ("m", None, "missing", None), ("10", None, "score", 10), ("0", None, "score", 0),
    ("7.5", "x@1 one_decimal", "score", 7.5),
])
def test_decisions_parse(text: str, rule: str | None, kind: str, score: float | None) -> None:
    decision = parse_decision(text, rule)
    assert (decision.kind, decision.score) == (kind, score)


@pytest.mark.parametrize(("text", "rule", "score"), [
    ("44.9mm", "srs@1.0 nearest_cm_half_up; alliance_concern: total<=36", 4),
    ("45mm", "srs@1.0 nearest_cm_half_up", 5),  # halves up, as the scanner scores
    (" 100 MM ", "srs@1.0 nearest_cm_half_up", 10), ("0mm", "ors@1.0 nearest_cm_half_up", 0),
    ("44.5 mm", "x@1 one_decimal", 4.5), ("44.4mm", "x@1 one_decimal", 4.4),
])
def test_a_position_in_mm_is_scored_by_the_page_s_rounding_rule(text: str, rule: str,
                                                                score: float) -> None:
    decision = parse_decision(text, rule)
    assert (decision.kind, decision.score, decision.mm) == (
        "score", score, float(text.strip().lower().removesuffix("mm")))


@pytest.mark.parametrize("text", ["-1", "10.5", "7.25", "nan", "inf", "", "seven", "100.1mm",
                                  "-0.5mm", "44.55mm", "nanmm", "mm", "4e1mm"])
def test_bad_decisions_are_refused(text: str) -> None:
    with pytest.raises(ValueError):
        parse_decision(text, "x@1 one_decimal")


def test_a_position_needs_a_known_rounding_rule() -> None:
    with pytest.raises(ValueError, match="rounding rule"):
        parse_decision("44.5mm", None)


def test_review_set_takes_a_position_in_mm(samples_db: Path) -> None:
    result = _run("review", "set", OK_PAGE, "overall", "54.9mm", "--why", "ruler on the paper",
                  "--who", "ana", "--db", str(samples_db))
    assert result.exit_code == 0, result.output
    (entry,) = _trail(samples_db)
    assert (entry["item"], entry["old"], entry["new"], entry["why"]) == (
        "overall", "0", "5", "ruler on the paper (54.9 mm)")
    overall = _item(_records(samples_db)[OK_PAGE], "overall")
    assert (overall["score"], overall["corrected"], overall["mm"]) == (5, True, 0.0)
    refused = _run("review", "set", OK_PAGE, "overall", "101mm", "--why", "x", "--db",
                   str(samples_db))
    assert refused.exit_code == ExitCode.CONFIG and "0-100 mm" in refused.stderr


def test_the_kept_queue_follows_other_reviewers_and_new_scans(samples_db: Path,
                                                              sample_scans: Path,
                                                              tmp_path: Path) -> None:
    # The review page keeps its queue between views: decisions by anyone (another
    # connection here) and pages stored since are in it at the next look.
    with Store(samples_db) as mine, Store(samples_db) as theirs:
        waiting = review.Waiting(mine)
        first = waiting.queue()
        assert first == review_queue(mine)
        entry = first[0]
        review.decide(theirs, entry.page, entry.key, review.Decision("score", 5), "ben", "x")
        assert waiting.queue() == first[1:] == review_queue(mine)

        # The same photo again, as another file: a duplicate page, which a person decides.
        again = tmp_path / "again.jpg"
        again.write_bytes((sample_scans / "photo-008.jpg").read_bytes() + b"\0")
        assert _run("scan", str(again), "--db", str(samples_db), "-o", "-").exit_code == (
            ExitCode.REVIEW)
        now = waiting.queue()
        assert now == review_queue(mine) and len(now) > len(first) - 1
        duplicate = next(e for e in now if e.page.source == str(again) and e.key is None)
        assert any("already read" in reason for reason in duplicate.reasons)


def test_a_page_set_aside_as_not_a_form_leaves_the_clinician_report(tmp_path: Path) -> None:
    from support.sessions import run_of, write_forms

    db = tmp_path / "s.db"
    with Store(db) as store:
        write_forms(store, [*run_of("C7", "ors", [28, 30]), *run_of("C7", "srs", [39, 39])])
        (page,) = [p for p, r in store.pages() if r.template == "ors" and r.session == 2]
    assert _run("review", "page", f"{page.ref}", "not_a_form", "--why", "another client's",
                "--db", str(db)).exit_code == 0
    report = json.loads(_run("report", "--db", str(db), "--format", "json", "-o", "-").stdout)
    sessions = {s["session"]: s["forms"] for s in report["clients"][0]["sessions"]}
    assert sessions[1]["ors"] and sessions[2]["ors"] is None and sessions[2]["srs"]
