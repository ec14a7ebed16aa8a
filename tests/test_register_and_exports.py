"""The printed-forms register, one CSV shape for scan and export, and the export filters,
on a clinic's roster stack: four clients, three sessions, an ORS and an SRS each."""

from __future__ import annotations

import csv
import json
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from srsform.errors import RosterError
from srsform.form.roster import read_roster
from srsform.store import Store
from support.cli import run as _run
from support.clinic import CLIENTS, plan_forms, print_roster, scan_forms, session_date

WITHHELD = ("C1004", 3)  # this client's last session never came back from the clinic


@dataclass(frozen=True)
class Clinic:
    folder: Path
    db: Path
    scans: list[Path]
    forms: list  # the ClinicForms scanned
    printed: dict  # (template, client, session) -> serial


@pytest.fixture(scope="module")
def clinic(tmp_path_factory: pytest.TempPathFactory) -> Clinic:
    folder = tmp_path_factory.mktemp("clinic")
    db = folder / "clinic.db"
    printed = print_roster(folder, db)
    forms = [f for f in plan_forms(serials=printed)
             if (f.code.client, f.code.session) != WITHHELD]
    scans = scan_forms(forms, folder / "scans")
    code, _, err = _run("-q", "scan", *map(str, scans), "--db", str(db), "--no-evidence",
                        "-o", str(folder / "scan.csv"))
    assert code == 0, err  # every page ok: the marks sit well inside their centimetre
    return Clinic(folder, db, scans, forms, printed)


def _export(clinic: Clinic, *args: str, fmt: str = "jsonl") -> list[dict]:
    code, out, err = _run("export", "--db", str(clinic.db), "--format", fmt, *args)
    assert code == 0, err
    if fmt == "csv":
        return list(csv.DictReader(out.splitlines()))
    return [json.loads(line) for line in out.splitlines()]


def test_print_records_every_page_in_the_register(clinic: Clinic) -> None:
    with Store(clinic.db) as store:
        printed = store.printed_forms()
    assert len(printed) == 2 * len(CLIENTS) * 3
    first = printed[0]
    assert (first.template, first.client, first.session, first.date, first.paper) == (
        "ors", CLIENTS[0], 1, session_date(1), "a4")
    assert first.printed_at and first.layout and first.template_version == "1.0"
    assert len({f.serial for f in printed}) == len(printed)


def test_scanned_pages_take_their_session_date_from_the_register(clinic: Clinic) -> None:
    records = _export(clinic)
    assert len(records) == len(clinic.forms)
    for rec in records:
        assert rec["date"] == session_date(rec["session"])
        assert clinic.printed[(rec["template"], rec["client"], rec["session"])] == rec["serial"]


def test_the_register_knows_which_printed_forms_never_came_back(clinic: Clinic) -> None:
    with Store(clinic.db) as store:
        missing = store.printed_forms(unreturned=True)
        assert store.unregistered_pages() == []
    assert sorted((f.template, f.client, f.session) for f in missing) == [
        ("ors", *WITHHELD), ("srs", *WITHHELD)]


def test_a_page_printed_elsewhere_is_not_in_the_register(tmp_path: Path) -> None:
    forms = plan_forms(clients=("C2001",), sessions=1, seed=5)  # serials this store never printed
    db = tmp_path / "s.db"
    code, _, err = _run("-q", "scan", *map(str, scan_forms(forms, tmp_path / "scans")),
                        "--db", str(db), "--no-evidence", "-o", str(tmp_path / "r.jsonl"))
    assert code == 0, err
    with Store(db) as store:
        assert sorted(p.serial for p in store.unregistered_pages()) == sorted(
            f.code.serial for f in forms)
        assert store.printed_forms() == []
    records = [json.loads(line) for line in (tmp_path / "r.jsonl").read_text().splitlines()]
    assert {r["date"] for r in records} == {None}


def test_printing_without_a_writable_store_still_prints(tmp_path: Path) -> None:
    out = tmp_path / "forms.pdf"
    code, _, err = _run("print", "--copies", "2", "-o", str(out), "--db",
                        str(tmp_path / "no" / "such" / "folder" / "s.db"))
    assert code == 0
    assert out.read_bytes().startswith(b"%PDF")
    assert "register was skipped" in err


def test_scan_and_export_write_the_same_header_per_template(clinic: Clinic) -> None:
    scanned = (clinic.folder / "scan.csv").read_text().splitlines()[0]
    code, out, _ = _run("export", "--db", str(clinic.db), "--format", "csv")
    assert code == 0
    assert out.splitlines()[0] == scanned
    header = scanned.split(",")
    assert "srs_relationship_score" in header and "ors_individually_mm" in header
    assert "srs_overall_corrected" in header and "ors_overall_corrected" in header
    assert not any(column.startswith(("overall_", "relationship_")) for column in header)
    assert header.count("total") == 1


def test_each_template_s_items_land_in_its_own_columns(clinic: Clinic) -> None:
    rows = _export(clinic, fmt="csv")
    want = {f.code.serial: f for f in clinic.forms}
    for row in rows:
        form = want[row["serial"]]
        other = "srs" if form.template == "ors" else "ors"
        for key, score in form.scores.items():
            assert row[f"{form.template}_{key}_score"] == str(score)
        assert all(row[c] == "" for c in row if c.startswith(f"{other}_"))
        assert row["total"] == str(form.total)


def test_export_template_writes_one_template_per_file(clinic: Clinic) -> None:
    rows = _export(clinic, "--template", "srs", fmt="csv")
    assert {r["template"] for r in rows} == {"srs"} and len(rows) == len(clinic.forms) // 2
    assert not any(column.startswith("ors_") for column in rows[0])


def test_export_filters_by_client_date_and_status(clinic: Clinic) -> None:
    assert {r["client"] for r in _export(clinic, "--client", "C1002")} == {"C1002"}
    assert len(_export(clinic, "--client", "C1002", "--client", "C1003")) == 12
    second = _export(clinic, "--since", session_date(2), "--until", session_date(2))
    assert {r["session"] for r in second} == {2} and len(second) == 8
    assert len(_export(clinic, "--since", session_date(3))) == 6  # C1004's third is missing
    assert len(_export(clinic, "--status", "ok")) == len(clinic.forms)
    assert _export(clinic, "--status", "review") == []


def test_a_filter_that_matches_nothing_says_so(clinic: Clinic) -> None:
    code, out, err = _run("export", "--db", str(clinic.db), "--client", "NOPE")
    assert code == 0 and out == ""
    assert "no stored page matches --client NOPE" in err


@pytest.mark.parametrize("day", ["2026-12-1", "yesterday", "2026-02-30", "20261201"])
def test_a_bad_date_is_a_usage_error(clinic: Clinic, day: str) -> None:
    code, _, err = _run("export", "--db", str(clinic.db), "--since", day)
    assert code == 2
    assert "YYYY-MM-DD" in err and day in err


def test_since_after_until_is_a_usage_error(clinic: Clinic) -> None:
    code, _, err = _run("export", "--db", str(clinic.db), "--since", "2026-12-02",
                        "--until", "2026-12-01")
    assert code == 2 and "after" in err


@pytest.mark.parametrize("day", ["5/10/2026", "2026-13-01", "tomorrow"])
def test_a_roster_date_must_be_a_day(tmp_path: Path, day: str) -> None:
    roster = tmp_path / "roster.csv"
    roster.write_text(f"client,session,date\nC1,1,2026-10-05\nC2,1,{day}\n")
    with pytest.raises(RosterError, match="row 3: date must be YYYY-MM-DD"):
        read_roster(roster)


def test_a_roster_date_may_be_left_blank(tmp_path: Path) -> None:
    roster = tmp_path / "roster.csv"
    roster.write_text("client,session,date\nC1,1,\n")
    assert read_roster(roster)[0].date == ""


def test_audit_lists_the_printed_forms_that_never_came_back(clinic: Clinic,
                                                            tmp_path: Path) -> None:
    client, session = WITHHELD
    serials = [clinic.printed[(name, client, session)] for name in ("ors", "srs")]
    code, out, err = _run("audit", "--db", str(clinic.db))
    assert code == 0, err
    assert "printed forms that never came back: 2 (1 client session(s))" in out
    (line,) = [line for line in out.splitlines() if f"client {client} session {session}" in line]
    assert all(serial in line for serial in serials) and session_date(session) in line
    assert "scanned pages whose serial this store never printed: 0" in out
    code, out, _ = _run("audit", "--db", str(clinic.db), "--json")
    assert sorted(f["serial"] for f in json.loads(out)["printed_not_returned"]) == sorted(
        serials)
    code, out, _ = _run("audit", "--db", str(clinic.db), "--client", CLIENTS[0])
    assert "printed forms that never came back: 0" in out  # the filters apply
    pdf = tmp_path / "audit.pdf"
    code, _, err = _run("audit", "--db", str(clinic.db), "-o", str(pdf))
    assert code == 0, err
    text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True,
                          check=True).stdout.split("\f")[0]
    assert "printed forms that never came back: 2" in text
    assert all(serial in text for serial in serials)
