"""`srsform report` and `srsform alerts` end to end: a clinic's roster forms are printed (the
register gives each session its date), filled in with designed scores, scanned in two runs
(sessions 1-2, then session 3), and the commands must show exactly the designed alerts."""

from __future__ import annotations

import csv
import json
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from xml.etree import ElementTree

import pytest

from srsform.store import Store
from support.cli import run as _run
from support.clinic import CLIENTS, plan_forms, print_roster, scan_forms, session_date
from support.sessions import run_of, write_forms

WITHHELD = ("C1004", 2)  # this client's second session never came back
SCORES = {
    # C1001 starts below the cut-off (24 < 25) and recovers (32: +8); SRS 40 three times.
    ("ors", "C1001", 1): [6, 6, 6, 6], ("ors", "C1001", 2): [7, 7, 7, 7],
    ("ors", "C1001", 3): [8, 8, 8, 8],
    ("srs", "C1001", 1): [10, 10, 10, 10], ("srs", "C1001", 2): [10, 10, 10, 10],
    ("srs", "C1001", 3): [10, 10, 10, 10],
    # C1002, the client: ORS 31 -> 24 -> 20, SRS 40 -> 32 -> 36.
    ("ors", "C1002", 1): [8, 8, 8, 7], ("ors", "C1002", 2): [6, 6, 6, 6],
    ("ors", "C1002", 3): [5, 5, 5, 5],
    ("srs", "C1002", 1): [10, 10, 10, 10], ("srs", "C1002", 2): [8, 8, 8, 8],
    ("srs", "C1002", 3): [9, 9, 9, 9],
    # C1003: a steady ORS; the SRS dips from 38 to 37, above the threshold.
    ("ors", "C1003", 1): [7, 7, 7, 7], ("ors", "C1003", 2): [7, 7, 7, 7],
    ("ors", "C1003", 3): [7, 7, 7, 7],
    ("srs", "C1003", 1): [10, 10, 9, 9], ("srs", "C1003", 2): [10, 9, 9, 9],
    ("srs", "C1003", 3): [10, 10, 9, 9],
    # C1004: session 2 is missing; nothing else to say.
    ("ors", "C1004", 1): [7, 7, 6, 6], ("ors", "C1004", 2): [7, 7, 6, 6],
    ("ors", "C1004", 3): [7, 7, 7, 6],
    ("srs", "C1004", 1): [10, 10, 10, 9], ("srs", "C1004", 2): [10, 10, 10, 9],
    ("srs", "C1004", 3): [10, 10, 10, 9],
}
DESIGNED = {  # (client, session, template, alert)
    ("C1001", 1, "ors", "below_cutoff_at_intake"), ("C1001", 3, "ors", "reliably_improved"),
    ("C1001", 3, "ors", "recovered"), ("C1001", 3, "srs", "perfect_streak"),
    ("C1002", 2, "ors", "reliably_deteriorated"), ("C1002", 3, "ors", "reliably_deteriorated"),
    ("C1002", 2, "srs", "alliance_concern"), ("C1002", 2, "srs", "item_check_in"),
    ("C1002", 2, "srs", "alliance_drop"), ("C1002", 3, "srs", "alliance_concern"),
    ("C1003", 2, "srs", "alliance_drop"),
    ("C1004", 3, "ors", "missing_session"), ("C1004", 3, "srs", "missing_session"),
}
LINE = re.compile(r"^(?P<client>\S+)  session (?P<session>\d+)  (?P<date>\S+)  (?P<template>\S+)"
                  r"  (?P<alert>[a-z_]+): ")


@dataclass(frozen=True)
class Clinic:
    folder: Path
    db: Path


@pytest.fixture(scope="module")
def clinic(tmp_path_factory: pytest.TempPathFactory) -> Clinic:
    folder = tmp_path_factory.mktemp("clinic")
    db = folder / "clinic.db"
    printed = print_roster(folder, db)
    forms = [f for f in plan_forms(scores=SCORES, serials=printed)
             if (f.code.client, f.code.session) != WITHHELD]
    for run, sessions in (("early", (1, 2)), ("late", (3,))):  # two scan runs
        scans = scan_forms([f for f in forms if f.code.session in sessions], folder / run)
        code, _, err = _run("-q", "scan", *map(str, scans), "--db", str(db),
                            "--no-evidence", "-o", str(folder / f"{run}.jsonl"))
        assert code == 0, err  # every page ok: the marks sit well inside their centimetre
    return Clinic(folder, db)


def _alert_lines(text: str) -> set[tuple[str, int, str, str]]:
    found = set()
    for line in text.splitlines():
        match = LINE.match(line)
        assert match, line
        found.add((match["client"], int(match["session"]), match["template"].lower(),
                   match["alert"]))
    return found


def test_alerts_lists_the_last_scan_s_designed_alerts(clinic: Clinic) -> None:
    code, out, err = _run("alerts", "--db", str(clinic.db))
    assert code == 0, err
    assert _alert_lines(out) == {a for a in DESIGNED if a[1] == 3}
    assert "in the last scan" in err
    assert not any(client in err for client in CLIENTS)  # client codes only in the output


def test_alerts_of_every_session_are_exactly_the_designed_ones(clinic: Clinic) -> None:
    code, out, err = _run("alerts", "--db", str(clinic.db), "--all")
    assert code == 0, err
    assert _alert_lines(out) == DESIGNED


def test_alerts_since_a_day_and_for_one_client(clinic: Clinic) -> None:
    code, out, _ = _run("alerts", "--db", str(clinic.db), "--since", session_date(2),
                        "--until", session_date(2))
    assert code == 0 and _alert_lines(out) == {a for a in DESIGNED if a[1] == 2}
    code, out, _ = _run("alerts", "--db", str(clinic.db), "--all", "--client", "C1002")
    assert code == 0 and _alert_lines(out) == {a for a in DESIGNED if a[0] == "C1002"}


def test_alerts_to_csv_and_json(clinic: Clinic) -> None:
    target = clinic.folder / "alerts.csv"
    code, out, err = _run("alerts", "--db", str(clinic.db), "--all", "-o", str(target))
    assert code == 0 and out == "", err
    rows = list(csv.DictReader(target.read_text().splitlines()))
    assert list(rows[0]) == ["client", "session", "date", "template", "alert", "reason",
                             "provisional", "rule"]
    assert {(r["client"], int(r["session"]), r["template"], r["alert"]) for r in rows} == \
        DESIGNED
    assert all(r["date"] == session_date(int(r["session"])) for r in rows)  # the register's
    assert {r["provisional"] for r in rows} == {"false"}
    code, out, _ = _run("alerts", "--db", str(clinic.db), "--all", "--format", "json")
    assert [a["alert"] for a in json.loads(out)] == [r["alert"] for r in rows]


def test_the_pdf_report_gives_each_client_a_page_with_both_charts(clinic: Clinic) -> None:
    target = clinic.folder / "report.pdf"
    code, _, err = _run("report", "--db", str(clinic.db), "-o", str(target))
    assert code == 0, err
    info = subprocess.run(["pdfinfo", str(target)], capture_output=True, text=True,
                          check=True).stdout
    pages = int(re.search(r"^Pages:\s+(\d+)$", info, re.M)[1])
    firsts = []  # each client's first page: its charts, then table and alerts (continued)
    for page in range(1, pages + 1):
        text = subprocess.run(["pdftotext", "-f", str(page), "-l", str(page), "-layout",
                               str(target), "-"], capture_output=True, text=True,
                              check=True).stdout
        title = re.search(r"Client (\S+)( \(continued\))?", text)
        if not title[2]:
            firsts.append(title[1])
            assert "ORS total" in text and "SRS total" in text  # both charts' titles
            assert "Sessions" in text
    assert firsts == list(CLIENTS)
    first = subprocess.run(["pdftotext", "-f", "1", "-l", "1", str(target), "-"],
                           capture_output=True, text=True, check=True).stdout
    assert "below clinical cutoff" in first and "reliable change" in first  # chart legend
    assert "recovered" in first and session_date(3) in first
    fonts = subprocess.run(["pdffonts", str(target)], capture_output=True, text=True,
                           check=True).stdout.splitlines()[2:]
    # Every font embedded (issue 15): the "emb" column of pdffonts says yes on each line.
    assert fonts and all(line.split()[-5] == "yes" for line in fonts), fonts


def test_the_json_report_pairs_ors_and_srs_by_session(clinic: Clinic) -> None:
    code, out, err = _run("report", "--db", str(clinic.db), "--format", "json", "-o", "-")
    assert code == 0, err
    report = json.loads(out)
    by_client = {c["client"]: c for c in report["clients"]}
    assert sorted(by_client) == list(CLIENTS)
    c1002 = by_client["C1002"]
    assert [(s["session"], s["date"], s["forms"]["ors"]["total"], s["forms"]["srs"]["total"])
            for s in c1002["sessions"]] == [(1, session_date(1), 31, 40),
                                            (2, session_date(2), 24, 32),
                                            (3, session_date(3), 20, 36)]
    ors = c1002["measures"][0]
    assert (ors["template"], ors["intake"], ors["band"]) == (
        "ors", {"session": 1, "total": 31}, [26.0, 36.0])
    assert ors["total_lines"] == [{"flag": "below_clinical_cutoff", "op": "<", "value": 25.0}]
    c1004 = by_client["C1004"]
    assert [s["forms"]["ors"] is None for s in c1004["sessions"]] == [False, True, False]
    alerts = {(c["client"], a["session"], a["template"], a["alert"])
              for c in report["clients"] for a in c["alerts"]}
    assert alerts == DESIGNED


def test_the_html_report_is_one_self_contained_file(clinic: Clinic) -> None:
    target = clinic.folder / "report.html"
    code, _, err = _run("report", "--db", str(clinic.db), "-o", str(target))
    assert code == 0, err
    page = target.read_text()
    assert page.count("<svg") == len(CLIENTS)
    assert not re.search(r"(src|href)=\"(https?:|//|[^#\"])", page)  # no external assets
    assert "<link" not in page and "<script" not in page
    assert all(f"Client {client}" in page for client in CLIENTS)
    charts = [ElementTree.fromstring(svg) for svg in re.findall(r"<svg.*?</svg>", page, re.S)]
    texts = ["".join(chart.itertext()) for chart in charts]  # well-formed SVG, text as text
    assert all("ORS total" in text and "SRS total" in text for text in texts)
    assert "below clinical cutoff: < 25" in texts[0] and "reliable change ±5" in texts[0]


def test_report_for_one_client_and_since_a_day(clinic: Clinic, tmp_path: Path) -> None:
    code, out, _ = _run("report", "--db", str(clinic.db), "--client", "C1003",
                        "--format", "json", "-o", "-")
    assert code == 0 and [c["client"] for c in json.loads(out)["clients"]] == ["C1003"]
    # C1004 had no session 2: a report since session 2's day has every other client, each
    # with the whole history (the charts need the intake).
    code, out, _ = _run("report", "--db", str(clinic.db), "--since", session_date(2),
                        "--until", session_date(2), "--format", "json", "-o", "-")
    clients = json.loads(out)["clients"]
    assert [c["client"] for c in clients] == ["C1001", "C1002", "C1003"]
    assert all(len(c["sessions"]) == 3 for c in clients)


def test_report_checks_its_output_before_reading_the_store(tmp_path: Path) -> None:
    code, _, err = _run("report", "--db", str(tmp_path / "none.db"), "-o",
                        str(tmp_path / "no" / "such" / "r.pdf"))
    assert code == 3 and "does not exist" in err
    code, _, err = _run("report", "--db", str(tmp_path / "none.db"), "-o",
                        str(tmp_path / "r.pdf"))
    assert code == 3 and "no store" in err
    assert not (tmp_path / "r.pdf").exists()


def test_a_provisional_value_is_marked_in_the_report(tmp_path: Path) -> None:
    from support.sessions import SessionForm

    db = tmp_path / "s.db"
    with Store(db) as store:
        write_forms(store, [*run_of("C7", "ors", [28]), *run_of("C7", "srs", [39, 39]),
                            SessionForm("C7", "ors", 2, [7, 7, 7, 2],
                                        ["ok", "ok", "ok", "uncertain"])])
    code, out, _ = _run("report", "--db", str(db), "--format", "json", "-o", "-")
    session = json.loads(out)["clients"][0]["sessions"][1]
    assert session["forms"]["ors"]["provisional"] is True
    assert session["forms"]["ors"]["status"] == "review"
    target = tmp_path / "r.pdf"
    assert _run("report", "--db", str(db), "-o", str(target))[0] == 0
    text = subprocess.run(["pdftotext", "-layout", str(target), "-"], capture_output=True,
                          text=True, check=True).stdout
    assert "23*" in text and "7 7 7 2?" in text and "ORS awaiting review" in text
    code, out, _ = _run("alerts", "--db", str(db))
    assert "(provisional)" in out


def test_alerts_and_a_json_report_load_no_chart_library(tmp_path: Path) -> None:
    db = tmp_path / "s.db"
    with Store(db) as store:
        write_forms(store, run_of("C8", "ors", [20, 30]) + run_of("C8", "srs", [40, 32]))
    probe = (
        "import sys\nfrom srsform.cli import main\n"
        f"for args in (['alerts', '--db', {str(db)!r}], ['report', '--db', {str(db)!r}, "
        f"'--format', 'json', '-o', {str(tmp_path / 'r.json')!r}]):\n"
        "    try:\n        main(['-q', *args])\n"
        "    except SystemExit as stop:\n        assert stop.code in (0, None), stop.code\n"
        "print('LOADED', [m for m in ('matplotlib', 'reportlab', 'cv2', 'numpy') "
        "if m in sys.modules])")
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                          check=True)
    assert done.stdout.strip().splitlines()[-1] == "LOADED []"


def test_pdf_and_html_reports_load_no_plotting_library(tmp_path: Path) -> None:
    # Issue 12: one client's report in under 1 s. Importing matplotlib and its PDF backend
    # took longer than that; the charts are drawn with reportlab (PDF) and as plain SVG.
    db = tmp_path / "s.db"
    with Store(db) as store:
        write_forms(store, run_of("C8", "ors", [20, 30]) + run_of("C8", "srs", [40, 32]))
    probe = (
        "import sys\nfrom srsform.cli import main\n"
        "for out in sys.argv[1:]:\n"
        f"    try:\n        main(['-q', 'report', '--db', {str(db)!r}, '-o', out])\n"
        "    except SystemExit as stop:\n        assert stop.code in (0, None), stop.code\n"
        "    print('LOADED', [m for m in ('matplotlib', 'reportlab', 'numpy') "
        "if m in sys.modules])")
    for fmt, loaded in (("html", "[]"), ("pdf", "['reportlab']")):
        done = subprocess.run([sys.executable, "-c", probe, str(tmp_path / f"r.{fmt}")],
                              capture_output=True, text=True, check=True)
        assert done.stdout.strip().splitlines()[-1] == f"LOADED {loaded}"


DEMO_CLINIC = Path(__file__).resolve().parents[1] / "samples" / "clinic"


def test_the_demo_clinic_reads_ok_and_raises_its_designed_alerts(tmp_path: Path) -> None:
    # samples/make_clinic.py wrote these scans; `sh .ci/dev demo` reports on them.
    db = tmp_path / "demo.db"
    code, _, err = _run("-q", "scan", str(DEMO_CLINIC), "--db", str(db), "--no-evidence",
                        "-o", str(tmp_path / "r.jsonl"))
    assert code == 0, err  # every page ok
    code, out, _ = _run("alerts", "--db", str(db))
    assert _alert_lines(out) == {
        ("C2001", 1, "ors", "below_cutoff_at_intake"),
        *{("C2001", s, "ors", name) for s in (3, 4, 5)
          for name in ("reliably_improved", "recovered")},
        ("C2001", 3, "srs", "perfect_streak"), ("C2001", 4, "srs", "alliance_drop"),
        *{("C2002", s, "ors", "reliably_deteriorated") for s in (2, 3, 4)},
        ("C2002", 2, "srs", "alliance_concern"), ("C2002", 2, "srs", "item_check_in"),
        ("C2002", 2, "srs", "alliance_drop"), ("C2002", 3, "srs", "alliance_concern"),
        ("C2003", 4, "ors", "missing_session"), ("C2003", 4, "srs", "missing_session"),
    }


def test_a_client_with_one_measure_still_gets_both_charts(tmp_path: Path) -> None:
    db = tmp_path / "s.db"
    with Store(db) as store:
        write_forms(store, run_of("C9", "srs", [39, 36]))
    code, out, _ = _run("report", "--db", str(db), "--format", "json", "-o", "-")
    assert json.loads(out)["clients"][0]["absent"] == [{"role": "outcome",
                                                        "templates": "CORS or ORS"}]
    target = tmp_path / "r.pdf"
    assert _run("report", "--db", str(db), "-o", str(target))[0] == 0
    text = subprocess.run(["pdftotext", str(target), "-"], capture_output=True, text=True,
                          check=True).stdout
    assert "Outcome measure" in text and "No CORS or ORS form for this client" in text
    assert "SRS total" in text
