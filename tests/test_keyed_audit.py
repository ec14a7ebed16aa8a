"""The keyed audit: scores keyed by hand from the paper compared with the values in force, on a
clinic's stack where every session has an ORS and an SRS for the same client."""

from __future__ import annotations

import csv
import io
import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from click.testing import CliRunner, Result

from srsform.cli import main
from srsform.errors import ExitCode

if TYPE_CHECKING:
    from conftest import Clinic
    from support.clinic import ClinicForm

ITEM_COLUMNS = ("relationship", "goals_topics", "approach_method", "individually",
                "interpersonally", "socially", "overall")
PLANTED = ("srs", "C1002", 2)  # template, client, session of the form keyed wrongly


def _run(*args: str) -> Result:
    return CliRunner().invoke(main, ["-q", *args])


def _keyed(clinic: Clinic, path: Path, keys: Sequence[str] = ("template", "client", "session"),
           total: bool = True, change: dict[tuple[str, str, int, str], str] | None = None
           ) -> Path:
    """A keyed CSV of every clinic form, keyed correctly from the planned scores, except
    the cells in `change` ((template, client, session, column) -> text)."""
    change = change or {}
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow([*keys, *ITEM_COLUMNS, *(["total"] if total else [])])
        for form in clinic.forms:
            code = form.code
            names = {"template": form.template, "client": code.client,
                     "session": code.session, "serial": code.serial}
            cells = [str(form.scores.get(c, "")) for c in ITEM_COLUMNS]
            cells += [str(form.total)] if total else []
            columns = [*ITEM_COLUMNS, *(["total"] if total else [])]
            for n, column in enumerate(columns):
                cells[n] = change.get((form.template, code.client, code.session, column),
                                      cells[n])
            writer.writerow([names[k] for k in keys] + cells)
    return path


def _form(clinic: Clinic, template: str, client: str, session: int) -> ClinicForm:
    return next(f for f in clinic.forms if (f.template, f.code.client, f.code.session) ==
                (template, client, session))


# --- the audit on the clinic's stack --------------------------------------------------------

def test_correct_values_keyed_by_template_client_and_session_all_agree(
        clinic: Clinic, tmp_path: Path) -> None:
    keyed = _keyed(clinic, tmp_path / "keyed.csv")
    result = _run("audit", "--against", str(keyed), "--db", str(clinic.db), "--json")
    assert result.exit_code == ExitCode.OK, result.output
    report = json.loads(result.stdout)
    assert report["discrepancies"] == [] and report["not_compared"] == []
    assert report["forms_matched"] == report["keyed_rows"] == 24
    assert report["items"]["compared"] == 96 and report["totals"]["compared"] == 24
    for figures in (report["items"], report["totals"]):
        assert figures["exact_pct"] == 100.0 and figures["mean_difference"] == 0
        assert figures["kappa_quadratic"] == 1.0 and figures["icc_2_1"] == 1.0
    assert set(report["by_template"]) == {"ors", "srs"}
    assert report["by_template"]["srs"]["overall"]["compared"] == 12
    text = _run("audit", "--against", str(keyed), "--db", str(clinic.db))
    assert text.exit_code == ExitCode.OK and "discrepancies: 0" in text.stdout
    assert "srs overall" in text.stdout and "ors overall" in text.stdout


def test_one_planted_error_is_reported_exactly_once(clinic: Clinic, tmp_path: Path) -> None:
    # `overall` is an item of both forms: keyed against the ORS too, it would show twice.
    truth = _form(clinic, *PLANTED).scores["overall"]
    wrong = truth - 1 if truth > 0 else 1
    keyed = _keyed(clinic, tmp_path / "keyed.csv", total=False,
                   change={(*PLANTED, "overall"): str(wrong)})
    report_csv = tmp_path / "disc.csv"
    result = _run("audit", "--against", str(keyed), "--db", str(clinic.db), "--json",
                  "--report", str(report_csv))
    assert result.exit_code == ExitCode.REVIEW
    (found,) = json.loads(result.stdout)["discrepancies"]
    assert (found["template"], found["client"], found["session"], found["item"]) == (
        *PLANTED, "overall")
    assert (found["stored"], found["keyed"], found["corrected"]) == (truth, wrong, False)
    assert found["serial"] == _form(clinic, *PLANTED).code.serial
    assert found["evidence"] and Path(found["evidence"]).exists()
    rows = list(csv.DictReader(io.StringIO(report_csv.read_text())))
    assert [(r["kind"], r["template"], r["item"], r["stored"], r["keyed"]) for r in rows] == [
        ("discrepancy", "srs", "overall", str(truth), str(wrong))]
    assert os.stat(report_csv).st_mode & 0o777 == 0o600
    text = _run("audit", "--against", str(keyed), "--db", str(clinic.db)).stdout
    assert "discrepancies: 1" in text
    assert sum(" overall: stored " in line for line in text.splitlines()) == 1


def test_a_keyed_file_without_template_naming_both_forms_of_a_session_is_refused(
        clinic: Clinic, tmp_path: Path) -> None:
    keyed = _keyed(clinic, tmp_path / "keyed.csv", keys=("client", "session"))
    report_csv = tmp_path / "disc.csv"
    result = _run("audit", "--against", str(keyed), "--db", str(clinic.db),
                  "--report", str(report_csv))
    assert result.exit_code == ExitCode.CONFIG
    message = result.stderr
    assert str(keyed) in message and "add a 'template' column" in message
    assert "ORS and SRS" in message and "line 2" in message
    assert "Traceback" not in result.output and not report_csv.exists()


def test_rows_keyed_by_serial_need_no_template(clinic: Clinic, tmp_path: Path) -> None:
    keyed = _keyed(clinic, tmp_path / "keyed.csv", keys=("serial",))
    result = _run("audit", "--against", str(keyed), "--db", str(clinic.db), "--json")
    assert result.exit_code == ExitCode.OK, result.output
    assert json.loads(result.stdout)["forms_matched"] == 24


def test_rows_naming_no_form_or_several_are_listed_and_not_compared(
        clinic: Clinic, tmp_path: Path) -> None:
    keyed = _keyed(clinic, tmp_path / "keyed.csv")
    lines = keyed.read_text().splitlines()
    # Line 2 loses its template (it now names the ORS and the SRS of C1001 session 1); line 3
    # names a client the store does not have; and the rest stay correct.
    lines[1] = lines[1].replace("ors,", ",", 1)
    lines[2] = lines[2].replace("C1001", "C9999", 1)
    keyed.write_text("\n".join(lines) + "\n")
    result = _run("audit", "--against", str(keyed), "--db", str(clinic.db), "--json")
    assert result.exit_code == ExitCode.REVIEW  # not everything could be compared
    report = json.loads(result.stdout)
    assert report["discrepancies"] == []
    kinds = {(p["kind"], p["line"]) for p in report["not_compared"]}
    assert kinds == {("ambiguous", 2), ("unmatched", 3)}
    ambiguous = next(p for p in report["not_compared"] if p["kind"] == "ambiguous")
    assert "matches 2 stored forms" in ambiguous["note"]
    assert report["forms_matched"] == 22 and report["items"]["compared"] == 88
    text = _run("audit", "--against", str(keyed), "--db", str(clinic.db)).stdout
    assert "line 2: client C1001 session 1: matches 2 stored forms" in text
    assert "line 3: srs client C9999 session 1: matches no stored form" in text


def test_keyed_as_blank_is_told_apart_from_not_keyed(clinic_db: Path, clinic: Clinic,
                                                     tmp_path: Path) -> None:
    ors = _form(clinic, "ors", "C1003", 1)
    srs = _form(clinic, "srs", "C1003", 1)
    # A person decided that the ORS's `socially` line has no mark: stored `missing`.
    assert _run("review", "set", ors.code.serial, "socially", "missing", "--why", "no mark",
                "--who", "ana", "--db", str(clinic_db)).exit_code == 0
    keyed = _keyed(clinic, tmp_path / "keyed.csv", total=False, change={
        ("ors", "C1003", 1, "socially"): "blank",  # agrees with the stored missing
        ("srs", "C1003", 1, "goals_topics"): "-",  # keyed blank: the store has a score
        ("srs", "C1003", 1, "relationship"): ""})  # not keyed: not compared
    result = _run("audit", "--against", str(keyed), "--db", str(clinic_db), "--json")
    assert result.exit_code == ExitCode.REVIEW
    report = json.loads(result.stdout)
    (found,) = report["discrepancies"]
    assert (found["serial"], found["item"], found["keyed"], found["keyed_blank"]) == (
        srs.code.serial, "goals_topics", None, True)
    assert found["stored"] == srs.scores["goals_topics"]
    assert report["items"]["compared"] == 95  # 96 cells less the one not keyed
    assert report["by_template"]["ors"]["socially"]["exact_pct"] == 100.0
    assert report["by_template"]["ors"]["socially"]["with_both_scores"] == 11

    again = _keyed(clinic, tmp_path / "again.csv", total=False,
                   change={("ors", "C1003", 1, "socially"): str(ors.scores["socially"])})
    (found,) = json.loads(_run("audit", "--against", str(again), "--db", str(clinic_db),
                               "--json").stdout)["discrepancies"]
    # A score keyed where the person decided there is no mark: listed, with who decided.
    assert (found["item"], found["stored"], found["stored_status"]) == (
        "socially", None, "missing")
    assert (found["corrected"], found["corrected_by"], found["corrected_why"]) == (
        True, "ana", "no mark")


def test_a_discrepancy_with_a_corrected_value_says_who_set_it(clinic_db: Path, clinic: Clinic,
                                                              tmp_path: Path) -> None:
    form = _form(clinic, "ors", "C1001", 2)
    truth = form.scores["interpersonally"]
    wrong = truth - 1 if truth > 0 else 1
    assert _run("review", "set", form.code.serial, "interpersonally", str(wrong), "--why",
                "misread", "--who", "bo", "--db", str(clinic_db)).exit_code == 0
    keyed = _keyed(clinic, tmp_path / "keyed.csv")
    result = _run("audit", "--against", str(keyed), "--db", str(clinic_db), "--json")
    found = {d["item"]: d for d in json.loads(result.stdout)["discrepancies"]}
    assert set(found) == {"interpersonally", "total"}  # the total follows the value in force
    assert (found["interpersonally"]["stored"], found["interpersonally"]["corrected_by"]) == (
        wrong, "bo")
    text = _run("audit", "--against", str(keyed), "--db", str(clinic_db)).stdout
    assert "set by bo" in text and "misread" in text


def test_report_output_is_checked_before_the_keyed_file_is_read(clinic: Clinic,
                                                                tmp_path: Path) -> None:
    result = _run("audit", "--against", str(tmp_path / "not-there.csv"), "--db",
                  str(clinic.db), "--report", str(tmp_path / "missing" / "disc.csv"))
    assert result.exit_code == ExitCode.CONFIG
    assert "disc.csv" in result.stderr and "does not exist" in result.stderr


def test_a_keyed_value_that_is_not_a_score_names_line_and_column(clinic: Clinic,
                                                                tmp_path: Path) -> None:
    keyed = _keyed(clinic, tmp_path / "keyed.csv", change={("ors", "C1001", 1, "socially"):
                                                           "n/a"})
    result = _run("audit", "--against", str(keyed), "--db", str(clinic.db))
    assert result.exit_code == ExitCode.CONFIG
    assert "line 2, column 'socially': 'n/a'" in result.stderr and "blank" in result.stderr


def test_filters_choose_the_forms_compared_not_how_rows_match(clinic: Clinic,
                                                             tmp_path: Path) -> None:
    truth = _form(clinic, *PLANTED).scores["overall"]
    keyed = _keyed(clinic, tmp_path / "keyed.csv", change={
        (*PLANTED, "overall"): str(truth - 1 if truth > 0 else 1)})
    result = _run("audit", "--against", str(keyed), "--db", str(clinic.db), "--json",
                  "--client", "C1001")
    assert result.exit_code == ExitCode.OK  # the planted error is another client's
    report = json.loads(result.stdout)
    assert (report["forms_matched"], report["rows_outside_filters"]) == (6, 18)
    assert report["filters"] == "--client C1001" and report["not_compared"] == []
    srs_only = json.loads(_run("audit", "--against", str(keyed), "--db", str(clinic.db),
                               "--json", "--template", "srs", "--client", "C1002").stdout)
    (found,) = srs_only["discrepancies"]
    assert (found["template"], found["client"], found["item"]) == ("srs", "C1002", "overall")
    nobody = _run("audit", "--against", str(keyed), "--db", str(clinic.db), "--client", "NOPE")
    assert nobody.exit_code == ExitCode.CONFIG
    assert "no keyed row names a stored form that --client NOPE selects" in nobody.stderr
