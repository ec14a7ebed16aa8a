"""Templates and rosters: bad files give one clear line and exit code 3; good ones print.

Every bad case is a small file written under tmp_path and fed to `srsform print`, the way a
clinic would meet it; the checks are on what the user sees (exit code, stderr), not on
exception classes.
"""

from __future__ import annotations

import subprocess
import sys
from importlib import resources
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from srsform.cli import main
from srsform.errors import ExitCode
from srsform.form.layout import build_layout
from srsform.form.pagecode import is_valid_client_code
from srsform.form.roster import read_roster
from srsform.form.templates import DEFAULT_BOUNDARY_MARGIN_MM, load_template

VALID_TEMPLATE = """\
id = "clinic"
version = "2.1"
title = "Clinic Session Check"
instructions = "Mark each line."

[scale]
min = 0
max = 10
line_length_mm = 100.0
rounding = "nearest_cm_half_up"

[[items]]
key = "heard"
label = "I felt heard"
left = "No"
right = "Yes"

[[items]]
key = "goals"
label = "We worked on my goals"
left = "No"
right = "Yes"

[[flags]]
name = "concern"
on = "total"
op = "<"
value = 12
"""


def bundled_text(name: str) -> str:
    return resources.files("srsform.template_files").joinpath(f"{name}.toml").read_text("utf-8")


def run_print(*args: str) -> Result:
    return CliRunner().invoke(main, ["print", *args])


def assert_config_error(result: Result, *needles: str) -> str:
    """Exit 3, nothing on stdout, one `srsform: error:` line naming what is wrong."""
    assert result.exit_code == ExitCode.CONFIG, (result.exit_code, result.stderr,
                                                 result.exception)
    assert isinstance(result.exception, SystemExit)  # handled, not an escaped exception
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("srsform: error: "), lines[0]
    assert "Traceback" not in result.stderr
    for needle in needles:
        assert needle in lines[0], (needle, lines[0])
    return lines[0]


# --- bad templates -----------------------------------------------------------------------

BAD_TEMPLATES = {
    # case: (file text, words the error line must contain besides the path)
    "not_toml": ('id = "clinic"\n[[items]\nkey = \n', ("TOML",)),
    "missing_id": (VALID_TEMPLATE.replace('id = "clinic"\n', ""), ("'id'", "missing")),
    "item_missing_label": (VALID_TEMPLATE.replace('label = "We worked on my goals"\n', ""),
                           ("'items[1].label'", "missing")),
    "duplicate_item_keys": (VALID_TEMPLATE.replace('key = "goals"', 'key = "heard"'),
                            ("'items'", "unique", "heard")),
    "bad_flag_op": (VALID_TEMPLATE.replace('op = "<"', 'op = "=<"'),
                    ("'flags[0].op'", "=<")),
    "rounding_not_allowed": (VALID_TEMPLATE.replace('"nearest_cm_half_up"', '"nearest_half"'),
                             ("'scale.rounding'", "nearest_half")),
    "margin_negative": (VALID_TEMPLATE + "\n[review]\nboundary_margin_mm = -0.1\n",
                        ("'review.boundary_margin_mm'", "between 0 and 1", "-0.1")),
    "margin_too_large": (VALID_TEMPLATE + "\n[review]\nboundary_margin_mm = 2.5\n",
                         ("'review.boundary_margin_mm'", "between 0 and 1", "2.5")),
    "margin_not_a_number": (VALID_TEMPLATE + '\n[review]\nboundary_margin_mm = "0.25"\n',
                            ("'review.boundary_margin_mm'", "must be a number")),
    "margin_nan": (VALID_TEMPLATE + "\n[review]\nboundary_margin_mm = nan\n",
                   ("'review.boundary_margin_mm'", "between 0 and 1")),
    "review_unknown_setting": (VALID_TEMPLATE + "\n[review]\nboundary_sigmas = 2\n",
                               ("'review.boundary_sigmas'", "unknown setting")),
    "review_not_a_table": (VALID_TEMPLATE.replace('instructions = "Mark each line."',
                                                  'instructions = "Mark each line."\n'
                                                  'review = 0.25'),
                           ("'review'", "must be a table")),
}


@pytest.mark.parametrize("case", sorted(BAD_TEMPLATES))
def test_bad_template_file_is_a_config_error(case: str, tmp_path: Path) -> None:
    text, needles = BAD_TEMPLATES[case]
    path = tmp_path / f"{case}.toml"
    path.write_text(text, encoding="utf-8")
    out = tmp_path / "out.pdf"
    assert_config_error(run_print("--template", str(path), "-o", str(out)), str(path), *needles)
    assert not out.exists()


def test_unknown_template_name_lists_the_known_ones(tmp_path: Path) -> None:
    line = assert_config_error(run_print("--template", "nosuch", "-o", str(tmp_path / "o.pdf")),
                               "'nosuch'")
    for name in ("srs", "ors", "csrs"):
        assert name in line


def test_missing_template_path(tmp_path: Path) -> None:
    path = tmp_path / "missing.toml"
    assert_config_error(run_print("--template", str(path), "-o", str(tmp_path / "o.pdf")),
                        str(path), "not found")


def test_real_command_shows_no_traceback_for_a_bad_template(tmp_path: Path) -> None:
    """Through a real process too: the one-line error reaches the terminal's stderr."""
    path = tmp_path / "broken.toml"
    path.write_text(BAD_TEMPLATES["bad_flag_op"][0], encoding="utf-8")
    done = subprocess.run(
        [sys.executable, "-c", "from srsform.cli import main; main()",
         "print", "--template", str(path)],
        cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert done.returncode == ExitCode.CONFIG
    assert done.stdout == ""
    assert done.stderr.count("\n") == 1 and done.stderr.startswith("srsform: error: ")
    assert str(path) in done.stderr and "flags[0].op" in done.stderr
    assert not (tmp_path / "forms.pdf").exists()


# --- bad rosters -------------------------------------------------------------------------

BAD_ROSTERS = {
    # case: (file text, words the error line must contain besides the path)
    "missing_column": ("client,date\nC1,2024-01-01\n", ("column", "session")),
    "empty_file": ("", ("empty",)),
    "header_only": ("client,session,date\n", ("no rows",)),
    "non_numeric_session": ("client,session,date\nC1,1,2024-01-01\nC2,three,2024-01-02\n",
                            ("row 3", "session", "three")),
    "client_is_a_name": ("client,session,date\nJane Doe,1,2024-01-01\n",
                         ("row 2", "client code", "never a name")),
}


@pytest.mark.parametrize("case", sorted(BAD_ROSTERS))
def test_bad_roster_is_a_config_error(case: str, tmp_path: Path) -> None:
    text, needles = BAD_ROSTERS[case]
    path = tmp_path / f"{case}.csv"
    path.write_text(text, encoding="utf-8")
    out = tmp_path / "out.pdf"
    assert_config_error(run_print("--roster", str(path), "-o", str(out)), str(path), *needles)
    assert not out.exists()


def test_missing_roster_file(tmp_path: Path) -> None:
    path = tmp_path / "nowhere.csv"
    assert_config_error(run_print("--roster", str(path), "-o", str(tmp_path / "o.pdf")),
                        str(path), "not found")


def test_superscript_session_is_a_config_error(tmp_path: Path) -> None:
    path = tmp_path / "superscript.csv"
    path.write_text("client,session,date\nC1,\u00b2,2024-01-01\n", encoding="utf-8")
    assert_config_error(run_print("--roster", str(path), "-o", str(tmp_path / "o.pdf")),
                        str(path), "session")


def test_client_code_with_trailing_newline_is_not_valid() -> None:
    assert not is_valid_client_code("C1\n")


@settings(database=None)  # tests write only under tmp_path
@given(st.text(alphabet=st.characters(codec="utf-8"), min_size=1, max_size=40))
def test_client_codes_with_whitespace_are_never_valid(text: str) -> None:
    assert not is_valid_client_code(text + " ")
    assert not is_valid_client_code(" " + text)


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture], max_examples=50,
          database=None)
@given(
    rows=st.lists(st.tuples(st.from_regex(r"[A-Za-z0-9._-]{1,32}", fullmatch=True),
                            st.integers(min_value=0, max_value=999)),
                  min_size=1, max_size=5),
)
def test_valid_roster_round_trips(rows: list[tuple[str, int]], tmp_path: Path) -> None:
    path = tmp_path / "roster.csv"  # rewritten by every example
    lines = ["Client , SESSION,date"] + [f"{c},{n},2024-05-0{i % 9 + 1}"
                                        for i, (c, n) in enumerate(rows)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    assert [(r.client, r.session) for r in read_roster(path)] == rows


# --- good templates ----------------------------------------------------------------------


def test_clinic_copy_with_own_wording_loads_by_path_and_prints(tmp_path: Path) -> None:
    original = "Relationship: felt heard, understood and respected"
    text = bundled_text("srs")
    assert original in text
    path = tmp_path / "clinic-srs.toml"
    path.write_text(text.replace(original, "Clinic wording about being heard"), "utf-8")

    template = load_template(path)
    assert template.items[0].label == "Clinic wording about being heard"
    assert template.id == "srs" and template.source == str(path)
    # Wording is not geometry: the page is read exactly like the bundled one.
    assert build_layout(template).layout_id == build_layout(load_template("srs")).layout_id

    out = tmp_path / "clinic.pdf"
    result = run_print("--template", str(path), "-o", str(out))
    assert result.exit_code == 0, result.stderr
    shown = subprocess.run(["pdftotext", str(out), "-"], capture_output=True, text=True,
                           check=True).stdout
    assert "Clinic wording about being heard" in shown
    assert original not in shown


def _with_items(count: int) -> str:
    items = "".join(f'[[items]]\nkey = "item{i}"\nlabel = "Item {i}"\nleft = "L"\nright = "R"\n\n'
                    for i in range(count))
    return VALID_TEMPLATE.split("[[items]]")[0] + items


def test_layout_id_is_stable_and_follows_geometry(tmp_path: Path) -> None:
    srs = load_template("srs")
    assert build_layout(srs).layout_id == build_layout(load_template("srs")).layout_id
    ids = {}
    for count in (4, 5, 6):
        path = tmp_path / f"items{count}.toml"
        path.write_text(_with_items(count), encoding="utf-8")
        layout = build_layout(load_template(path))
        assert len(layout.lines) == count
        assert all(line.length_mm == pytest.approx(100.0) for line in layout.lines)
        ids[count] = layout.layout_id
    assert len(set(ids.values())) == 3
    # Four items sit exactly where the bundled four-item forms put them.
    assert ids[4] == build_layout(srs).layout_id


def test_rule_text_records_the_comparison(tmp_path: Path) -> None:
    rules = load_template("srs").rule_text()
    assert rules.startswith("srs@1.0 nearest_cm_half_up")
    assert "alliance_concern: total<=36" in rules
    assert "item_check_in: item<9" in rules
    path = tmp_path / "strict.toml"
    path.write_text(bundled_text("srs").replace('op = "<="', 'op = "<"'), encoding="utf-8")
    assert "alliance_concern: total<36" in load_template(path).rule_text()


def test_boundary_margin_is_a_template_setting_with_a_default(tmp_path: Path) -> None:
    assert load_template("srs").review.boundary_margin_mm == DEFAULT_BOUNDARY_MARGIN_MM == 0.25
    assert "boundary_margin_mm = 0.25" in bundled_text("srs")  # documented where clinics look
    path = tmp_path / "strict.toml"
    path.write_text(VALID_TEMPLATE + "\n[review]\nboundary_margin_mm = 0\n", encoding="utf-8")
    strict = load_template(path)
    assert strict.review.boundary_margin_mm == 0.0
    # A review setting is not geometry: pages print and read with the same layout.
    plain = tmp_path / "plain.toml"
    plain.write_text(VALID_TEMPLATE, encoding="utf-8")
    assert build_layout(strict).layout_id == build_layout(load_template(plain)).layout_id
    assert load_template(plain).review.boundary_margin_mm == 0.25


def test_csrs_has_no_flags() -> None:
    csrs = load_template("csrs")
    assert csrs.flags == ()
    assert csrs.rule_text() == "csrs@1.0 nearest_cm_half_up"
