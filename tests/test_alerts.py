"""Alerts on designed trajectories: each test writes one or two clients' forms straight into a
store (as a scan of roster pages would have stored them) and asserts exactly which alerts
appear, at which session, and so which do not."""

from __future__ import annotations

import sqlite3
import tomllib
from importlib import resources
from pathlib import Path

import pytest
from click.testing import CliRunner

from srsform.cli import main
from srsform.errors import TemplateError
from srsform.form.templates import load_template, parse_template
from srsform.report.clinician import build_reports, report_templates
from srsform.report.review import decide, find_page, parse_decision
from srsform.store import Store
from support.sessions import SessionForm, run_of, session_day, write_forms


def _alerts(db: Path, forms: list[SessionForm], templates=None) -> set[tuple[int, str, str]]:
    """(session, template, alert) of every alert raised for the forms' client(s)."""
    with Store(db) as store:
        write_forms(store, forms)
        reports = build_reports(store, templates=templates)
    return {(a.session, a.template, a.name) for r in reports for a in r.alerts}


def test_reliable_deterioration_and_an_alliance_drop(tmp_path: Path) -> None:
    # The client: ORS 31 -> 24 -> 20 (-11 from intake), SRS 40 -> 32 -> 36.
    forms = (run_of("C2002", "ors", [[8, 8, 8, 7], 24, 20])
             + run_of("C2002", "srs", [40, [8, 8, 8, 8], [9, 9, 9, 9]]))
    assert _alerts(tmp_path / "s.db", forms) == {
        (2, "ors", "reliably_deteriorated"), (3, "ors", "reliably_deteriorated"),
        (2, "srs", "alliance_concern"), (2, "srs", "item_check_in"),
        (2, "srs", "alliance_drop"),
        (3, "srs", "alliance_concern"),  # 36 is at the threshold (<= 36)
    }  # no cut-off alert at intake (31), no drop at session 3 (36 > 32)


def test_recovery_crosses_the_cut_off_with_reliable_change(tmp_path: Path) -> None:
    forms = (run_of("C2003", "ors", [18, 21, 27]) + run_of("C2003", "srs", [38, 38, 39])
             # Reliable improvement from above the cut-off is not a recovery.
             + run_of("C2010", "ors", [26, 28, 32]) + run_of("C2010", "srs", [39, 39, 39]))
    assert _alerts(tmp_path / "s.db", forms) == {
        (1, "ors", "below_cutoff_at_intake"),
        (3, "ors", "reliably_improved"), (3, "ors", "recovered")}
    with Store(tmp_path / "s.db") as store:
        by_client = {r.client: {(a.session, a.name) for a in r.alerts}
                     for r in build_reports(store)}
    assert by_client == {
        "C2003": {(1, "below_cutoff_at_intake"), (3, "reliably_improved"), (3, "recovered")},
        "C2010": {(3, "reliably_improved")},
    }


def test_an_alliance_drop_alone(tmp_path: Path) -> None:
    forms = (run_of("C2004", "ors", [28, 29, 29])
             + run_of("C2004", "srs", [[10, 10, 10, 9], [10, 9, 9, 9], [10, 9, 9, 9]]))
    assert _alerts(tmp_path / "s.db", forms) == {(2, "srs", "alliance_drop")}


def test_a_run_of_perfect_srs_scores(tmp_path: Path) -> None:
    forms = (run_of("C2005", "ors", [30, 30, 31, 30, 29])
             + run_of("C2005", "srs", [40, 40, 40, 40, 39]))
    assert _alerts(tmp_path / "s.db", forms) == {
        (3, "srs", "perfect_streak"), (4, "srs", "perfect_streak"),  # the 3rd 40 in a row on
        (5, "srs", "alliance_drop")}  # 39 ends the run, and is a drop from 40


def test_a_missing_session_is_named_once_per_form(tmp_path: Path) -> None:
    ors = [f for f in run_of("C2006", "ors", [30, 30, 30, 30, 30]) if f.session != 3]
    srs = [f for f in run_of("C2006", "srs", [39, 39, 39, 39, 39]) if f.session not in (3, 5)]
    db = tmp_path / "s.db"
    assert _alerts(db, ors + srs) == {
        (4, "ors", "missing_session"), (4, "srs", "missing_session"),  # seen at session 4
        (5, "srs", "missing_session"),  # the ORS of session 5 came back, its SRS did not
    }
    with Store(db) as store:
        reasons = sorted(a.reason for r in build_reports(store) for a in r.alerts)
    assert reasons == ["no ORS form for session 3 (no form of that session came back; seen "
                       "at session 4)",
                       "no SRS form for session 3 (no form of that session came back; seen "
                       "at session 4)",
                       "no SRS form for session 5"]


def test_a_child_srs_has_no_cut_off_alert(tmp_path: Path) -> None:
    forms = (run_of("C2007", "cors", [30, 26, 24])
             + run_of("C2007", "csrs", [30, 25, [5, 5, 5, 5]]))
    assert _alerts(tmp_path / "s.db", forms) == {
        (1, "cors", "below_cutoff_at_intake"),  # CORS cut-off 32, its own template's
        (3, "cors", "reliably_deteriorated"),
        (2, "csrs", "alliance_drop"),  # 30 -> 25; 25 -> 20 at session 3
        (3, "csrs", "alliance_drop"),
    }  # CSRS totals of 20-30 and items of 5: no threshold, no item alert is invented


def test_no_reliable_change_after_six_sessions(tmp_path: Path) -> None:
    forms = (run_of("C2008", "ors", [20, 21, 22, 21, 23, 22, 24])
             + run_of("C2008", "srs", [38] * 7))
    assert _alerts(tmp_path / "s.db", forms) == {
        (1, "ors", "below_cutoff_at_intake"),
        (6, "ors", "no_reliable_change"), (7, "ors", "no_reliable_change")}


def test_a_form_awaiting_review_gives_provisional_alerts_until_a_person_decides(
        tmp_path: Path) -> None:
    db = tmp_path / "s.db"
    forms = [*run_of("C2009", "ors", [28]),
             SessionForm("C2009", "ors", 2, [7, 7, 7, 2],
                         ["ok", "ok", "ok", "uncertain"]),
             *run_of("C2009", "srs", [39, 39])]
    assert _alerts(db, forms) == {(2, "ors", "reliably_deteriorated"),
                                  (2, "ors", "awaiting_review")}
    with Store(db) as store:
        alerts = [a for r in build_reports(store) for a in r.alerts]
        assert all(a.provisional for a in alerts)
        page = find_page(store, forms[1].serial)
        decide(store, page, "overall", parse_decision("7"), "ana", "checked the paper")
        assert [a for r in build_reports(store) for a in r.alerts] == []


def test_a_sheet_read_twice_counts_once(tmp_path: Path) -> None:
    db = tmp_path / "s.db"
    forms = run_of("C2011", "ors", [30, 22]) + run_of("C2011", "srs", [39, 39])
    with Store(db) as store:
        write_forms(store, forms)
        write_forms(store, forms[1:2], source="again.pdf", register=False)
        reports = build_reports(store)
    assert [f.result.status for m in reports[0].measures for f in m.forms] == ["ok"] * 4
    assert {(a.session, a.name) for a in reports[0].alerts} == {(2, "reliably_deteriorated")}


def test_alerts_carry_their_rule_and_a_plain_reason(tmp_path: Path) -> None:
    db = tmp_path / "s.db"
    with Store(db) as store:
        write_forms(store, run_of("C2002", "ors", [31, 24]) + run_of("C2002", "srs", [40, 32]))
        alerts = {a.name: a for r in build_reports(store) for a in r.alerts}
    deteriorated = alerts["reliably_deteriorated"]
    assert deteriorated.rule == "reliably_deteriorated: change from intake<=-5"
    assert deteriorated.reason == ("ORS 24 is 7 below intake (31 at session 1): reliable "
                                   "deterioration (5 or more)")
    assert deteriorated.day == session_day(2) and not deteriorated.provisional
    assert alerts["alliance_concern"].rule == ("alliance_concern: flag alliance_concern "
                                               "(total<=36)")
    assert alerts["alliance_concern"].reason == "SRS total 32: at or below 36"
    assert alerts["alliance_drop"].reason == ("SRS 32 is 8 below the previous form's 40 "
                                              "(session 1)")


def test_a_clinic_template_sets_its_own_alert_values(tmp_path: Path) -> None:
    # An adolescent clinic's ORS: cut-off 28 (one value: the flag the alerts refer to).
    ors = load_template("ors")
    source = resources.files("srsform.template_files").joinpath("ors.toml").read_text("utf-8")
    teen = tmp_path / "ors-teen.toml"
    teen.write_text(source.replace("value = 25", "value = 28"), "utf-8")
    templates = report_templates([load_template(teen)])
    assert ors.flags[0].value == 25 and templates["ors"].flags[0].value == 28
    forms = run_of("C2012", "ors", [26, 27]) + run_of("C2012", "srs", [39, 39])
    assert _alerts(tmp_path / "a.db", forms) == set()
    assert _alerts(tmp_path / "b.db", forms, templates) == {(1, "ors", "below_cutoff_at_intake")}


# --- alert rules are template data: a broken rule names its file and field ------------------

def _template_with(alerts: str) -> dict:
    text = f'''
id = "x"
version = "1"
title = "X"
role = "alliance"
[[items]]
key = "a"
label = "A"
left = "L"
right = "R"
[[flags]]
name = "low"
on = "total"
op = "<"
value = 5
{alerts}
'''
    return tomllib.loads(text)


@pytest.mark.parametrize(("alerts", "needles"), [
    ('[[alerts]]\nname = "a"\nwhen = "sometimes"', ("alerts[0].when", "sometimes")),
    ('[[alerts]]\nname = "a"\nwhen = "flag"\nflag = "high"', ("alerts[0].flag", "high", "low")),
    ('[[alerts]]\nname = "a"\nwhen = "improved"', ("alerts[0].value", "missing")),
    ('[[alerts]]\nname = "a"\nwhen = "drop"\nsessions = 3', ("alerts[0].sessions",
                                                           "does not apply")),
    ('[[alerts]]\nname = "a"\nwhen = "perfect_streak"\nsessions = 1', ("alerts[0].sessions",
                                                                     "2 or more")),
    ('[[alerts]]\nname = "a"\nwhen = "missing"\nflag_name = "low"', ("alerts[0].flag_name",
                                                                   "unknown field")),
    ('[[alerts]]\nname = "a"\nwhen = "missing"\n[[alerts]]\nname = "a"\nwhen = "review"',
     ("'alerts'", "unique")),
])
def test_a_broken_alert_rule_names_the_file_and_field(alerts: str, needles: tuple) -> None:
    with pytest.raises(TemplateError) as caught:
        parse_template(_template_with(alerts), "clinic.toml")
    message = str(caught.value)
    assert message.startswith("clinic.toml: field '")
    for needle in needles:
        assert needle in message, (needle, message)


def test_bundled_templates_have_roles_and_alert_rules() -> None:
    templates = report_templates()
    assert {t: templates[t].role for t in ("ors", "srs", "cors", "csrs")} == {
        "ors": "outcome", "srs": "alliance", "cors": "outcome", "csrs": "alliance"}
    names = {t: [a.name for a in templates[t].alerts] for t in templates}
    assert "alliance_concern" in names["srs"] and "item_check_in" in names["srs"]
    assert not {"alliance_concern", "item_check_in"} & set(names["csrs"])
    assert templates["ors"].alerts[1].value == 5  # the scale's reliable change


def test_alerts_take_a_clinic_template_and_need_a_scan_run(tmp_path: Path) -> None:
    source = resources.files("srsform.template_files").joinpath("ors.toml").read_text("utf-8")
    teen = tmp_path / "ors-teen.toml"
    teen.write_text(source.replace("value = 25", "value = 28"), "utf-8")
    db = tmp_path / "s.db"
    with Store(db) as store:
        write_forms(store, run_of("C2012", "ors", [26, 27]) + run_of("C2012", "srs", [39, 39]))
    runner = CliRunner()
    plain = runner.invoke(main, ["alerts", "--db", str(db), "--all"])
    teenage = runner.invoke(main, ["alerts", "--db", str(db), "--all", "-t", str(teen)])
    assert plain.exit_code == teenage.exit_code == 0
    assert plain.stdout == ""
    assert teenage.stdout.startswith("C2012  session 1  2026-01-05  ORS  "
                                     "below_cutoff_at_intake: ORS total 26 at intake: below 28")
    with sqlite3.connect(db) as raw:  # as a store from before scan runs were recorded
        raw.execute("UPDATE pages SET scan_run = NULL")
    old = runner.invoke(main, ["alerts", "--db", str(db)])
    assert old.exit_code == 3 and "--since" in old.stderr
