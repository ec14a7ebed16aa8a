"""FHIR R4 and REDCap exports, on a small clinic's roster stack (two clients, two sessions, an
ORS and an SRS each, plus one blank form) with a person's correction and an undone decision,
and on the scanned samples (pages for review). FHIR output is validated with fhir.resources
(its R4B models: the package ships no R4 sub-package), then checked against the store."""

from __future__ import annotations

import csv
import io
import json
import re
import subprocess
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fhir.resources.R4B import get_fhir_model_class
from fhir.resources.R4B.bundle import Bundle
from hypothesis import given
from hypothesis import strategies as st

from srsform.form.layout import build_layout
from srsform.form.pagecode import PageCode
from srsform.form.templates import load_template
from srsform.records import Correction, PageResult
from srsform.report.fhir import EXT_CALCULATED, EXT_MAX_VALUE, EXT_MIN_VALUE, EXT_UNIT
from srsform.report.interchange import decisions_in_force, rule_version
from srsform.report.redcap import DICTIONARY_HEADER, SYSTEM_COLUMNS, one_place
from srsform.report.review import records_in_force
from srsform.store import Store, file_sha256
from support.cli import run as _run
from support.clinic import ClinicForm, plan_forms, roster_rows, scan_forms, session_date

CLIENTS = ("C1001", "C1002")
SESSIONS = 2
BASE = "https://fhir.clinic.example/srsform"
DICTIONARY_HEADER_LINE = (
    'Variable / Field Name,Form Name,Section Header,Field Type,Field Label,"Choices, '
    'Calculations, OR Slider Labels",Field Note,Text Validation Type OR Show Slider Number,'
    "Text Validation Min,Text Validation Max,Identifier?,Branching Logic (Show field only "
    "if...),Required Field?,Custom Alignment,Question Number (surveys only),Matrix Group Name,"
    "Matrix Ranking?,Field Annotation")
ONE_PLACE = re.compile(r"^\d+\.\d$")
REVIEWER = "tester"


@dataclass(frozen=True)
class Clinic:
    folder: Path
    db: Path
    scans: list[Path]
    forms: list[ClinicForm]
    corrected: tuple[str, str, int]  # (serial, item, score) a person set
    undone: tuple[str, str]  # (serial, item) whose decision was undone


@pytest.fixture(scope="module")
def clinic(tmp_path_factory: pytest.TempPathFactory) -> Clinic:
    folder = tmp_path_factory.mktemp("fhir-clinic")
    db = folder / "clinic.db"
    roster = folder / "roster.csv"
    roster.write_text("\n".join(roster_rows(CLIENTS, SESSIONS)) + "\n")
    for name in ("ors", "srs"):
        code, _, err = _run("print", "-t", name, "--roster", str(roster), "--db", str(db),
                            "-o", str(folder / f"{name}.pdf"))
        assert code == 0, err
    code, _, err = _run("print", "-t", "srs", "--db", str(db), "-o", str(folder / "blank.pdf"))
    assert code == 0, err
    with Store(db) as store:
        printed = store.printed_forms()
    serials = {(f.template, f.client, f.session): f.serial for f in printed if f.client}
    forms = plan_forms(CLIENTS, SESSIONS, seed=3, serials=serials)
    blank = next(f for f in printed if f.client is None)
    srs = load_template("srs")
    forms.append(ClinicForm("srs", PageCode("srs", srs.version, build_layout(srs).layout_id,
                                            blank.serial), "", dict.fromkeys(
                                                (i.key for i in srs.items), 8)))
    scans = scan_forms(forms, folder / "scans", seed=3)
    code, _, err = _run("-q", "scan", *map(str, scans), "--db", str(db), "--no-evidence",
                        "-o", str(folder / "scan.jsonl"))
    assert code == 0, err  # every page ok

    target = next(f for f in forms if (f.template, f.code.client, f.code.session)
                  == ("srs", CLIENTS[0], 1))
    new_score = 10 - target.scores["overall"]  # SRS marks are 7-10: this differs
    code, _, err = _run("-q", "review", "set", target.code.serial, "overall", str(new_score),
                        "--why", "checked the paper", "--who", REVIEWER, "--db", str(db))
    assert code == 0, err
    slip = next(f for f in forms if (f.template, f.code.client, f.code.session)
                == ("ors", CLIENTS[1], 2))
    code, _, err = _run("-q", "review", "set", slip.code.serial, "overall", "1", "--why",
                        "slip", "--who", "someone", "--db", str(db))
    assert code == 0, err
    with Store(db) as store:
        last = store.corrections()[-1].id
    code, _, err = _run("-q", "review", "undo", str(last), "--why", "wrong form", "--who",
                        "someone", "--db", str(db))
    assert code == 0, err
    return Clinic(folder, db, scans, forms, (target.code.serial, "overall", new_score),
                  (slip.code.serial, "overall"))


def _export(db: Path, *args: str) -> tuple[str, str]:
    code, out, err = _run("export", "--db", str(db), *args)
    assert code == 0, err
    return out, err


def _bundle(db: Path, *args: str) -> dict[str, Any]:
    out, _ = _export(db, "--format", "fhir", *args)
    document = json.loads(out)
    Bundle.model_validate(document)  # raises on anything R4B does not allow
    return document


def _resources(document: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    return [e["resource"] for e in document.get("entry", [])
            if e["resource"]["resourceType"] == kind]


def _in_force(db: Path) -> dict[str, tuple[PageResult, set[str]]]:
    with Store(db) as store:
        return {r.serial: (r, c) for r, c in records_in_force(store) if r.serial}


def _answers(response: dict[str, Any]) -> dict[str, Any]:
    """linkId -> the answer's value (None when the item has no answer)."""
    return {item["linkId"]: item["answer"][0]["valueDecimal"] if "answer" in item else None
            for item in response.get("item", [])}


def _extension(element: dict[str, Any], name: str) -> Any:
    found = [e for e in element.get("extension", []) if e["url"].endswith("/" + name)]
    return next(iter(v for k, v in found[0].items() if k.startswith("value"))) if found \
        else None


def _check_responses(document: dict[str, Any], db: Path) -> int:
    """Every response's values equal the store's values in force; scores 0-10 and the total
    their sum; the status says whether the page waits for a person. Returns the number."""
    in_force = _in_force(db)
    responses = _resources(document, "QuestionnaireResponse")
    for response in responses:
        result, corrected = in_force[response["identifier"]["value"]]
        answers = _answers(response)
        total = answers.pop("total", None)
        assert answers == {item.key: item.score for item in result.items}
        assert all(0 <= value <= 10 for value in answers.values() if value is not None)
        if all(value is not None for value in answers.values()):
            assert total == sum(answers.values()) == result.total
        else:
            assert total is None and result.total is None
        for item in response["item"]:
            if item["linkId"] == "total":
                continue
            stored = next(i for i in result.items if i.key == item["linkId"])
            assert _extension(item, "reading-status") == stored.status
            assert bool(_extension(item, "corrected")) == (stored.key in corrected)
            mm = _extension(item["answer"][0], "measured-mm") if "answer" in item else None
            assert (mm["value"] if mm else None) == (stored.mm if stored.score is not None
                                                      else None)
            if mm:
                assert (mm["unit"], mm["code"], mm["system"]) == (
                    "mm", "mm", "http://unitsofmeasure.org")
        assert response["status"] == ("completed" if result.status == "ok" else "in-progress")
        assert response.get("authored") == result.date
        assert response["subject"]["identifier"]["value"] == result.client
        assert _extension(response, "session") == result.session
    assert responses
    return len(responses)


# --- FHIR ------------------------------------------------------------------------------

@pytest.mark.parametrize("bundle_type", ["transaction", "collection"])
def test_the_bundle_validates_and_holds_every_form_with_a_client(clinic: Clinic,
                                                                 bundle_type: str) -> None:
    code, out, err = _run("export", "--db", str(clinic.db), "--format", "fhir",
                          "--bundle-type", bundle_type)
    assert code == 0, err
    document = json.loads(out)
    Bundle.model_validate(document)
    assert document["type"] == bundle_type
    kinds = Counter(e["resource"]["resourceType"] for e in document["entry"])
    forms = len(CLIENTS) * SESSIONS * 2  # the blank form has no client: left out
    assert kinds == {"Device": 1, "Questionnaire": 2, "Patient": len(CLIENTS),
                     "QuestionnaireResponse": forms, "Provenance": forms}
    assert "left out 1 page(s): 1 no client code (a blank form)" in err
    urls = [e["fullUrl"] for e in document["entry"]]
    assert len(set(urls)) == len(urls) and all(u.startswith("urn:uuid:") for u in urls)
    for entry in document["entry"]:
        assert ("request" in entry) == (bundle_type == "transaction")


def test_every_response_value_is_the_value_in_force_and_the_paper(clinic: Clinic) -> None:
    document = _bundle(clinic.db)
    assert _check_responses(document, clinic.db) == len(CLIENTS) * SESSIONS * 2
    serial, key, score = clinic.corrected
    truth = {f.code.serial: f for f in clinic.forms}
    for response in _resources(document, "QuestionnaireResponse"):
        form = truth[response["identifier"]["value"]]
        expected = dict(form.scores)
        if form.code.serial == serial:
            expected[key] = score
        answers = _answers(response)
        assert answers.pop("total") == sum(expected.values())
        assert answers == expected
        assert response["authored"] == session_date(form.code.session)
        assert response["status"] == "completed"


def test_fhir_totals_equal_the_export_totals(clinic: Clinic) -> None:
    out, _ = _export(clinic.db, "--format", "csv")
    totals = {row["serial"]: float(row["total"]) for row in csv.DictReader(io.StringIO(out))
              if row["client"]}
    responses = _resources(_bundle(clinic.db), "QuestionnaireResponse")
    assert {r["identifier"]["value"]: _answers(r)["total"] for r in responses} == totals


def test_questionnaires_declare_decimal_items_and_a_calculated_total(clinic: Clinic) -> None:
    document = _bundle(clinic.db, "--fhir-base", BASE + "/")
    questionnaires = {q["url"]: q for q in _resources(document, "Questionnaire")}
    assert set(questionnaires) == {f"{BASE}/Questionnaire/ors", f"{BASE}/Questionnaire/srs"}
    for url, found in questionnaires.items():
        template = load_template(url.rsplit("/", 1)[1])
        assert found["version"] == template.version
        *items, total = found["item"]
        assert [(i["linkId"], i["text"]) for i in items] == [(i.key, i.label)
                                                             for i in template.items]
        for item in items:
            assert item["type"] == "decimal"
            assert (_extension(item, "minValue"), _extension(item, "maxValue")) == (0, 10)
            unit = next(e for e in item["extension"] if e["url"] == EXT_UNIT)["valueCoding"]
            assert unit["code"] == "cm"
        assert (total["linkId"], total["type"], total["readOnly"]) == ("total", "decimal", True)
        urls = [e["url"] for e in total["extension"]]
        assert {EXT_CALCULATED, EXT_MIN_VALUE, EXT_MAX_VALUE} <= set(urls)
        expression = total["extension"][urls.index(EXT_CALCULATED)]["valueExpression"]
        assert expression["language"] == "text/fhirpath"
        assert all(f"linkId='{i.key}'" in expression["expression"] for i in template.items)
    for response in _resources(document, "QuestionnaireResponse"):
        url, _, version = response["questionnaire"].partition("|")
        assert url in questionnaires and version == questionnaires[url]["version"]
        assert response["identifier"]["system"] == f"{BASE}/form-serial"


def test_provenance_names_srsform_the_scan_and_the_reviewer_in_force(clinic: Clinic) -> None:
    document = _bundle(clinic.db)
    by_url = {e["fullUrl"]: e["resource"] for e in document["entry"]}
    device = _resources(document, "Device")[0]
    assert device["version"] == [{"value": device["identifier"][0]["value"].split("-", 1)[1]}]
    hashes = {file_sha256(path) for path in clinic.scans}
    corrected_serial = clinic.corrected[0]
    with Store(clinic.db) as store:
        decided_at = store.corrections()[0].at
    reviewed = 0
    for record in _resources(document, "Provenance"):
        response = by_url[record["target"][0]["reference"]]
        assert response["resourceType"] == "QuestionnaireResponse"
        entity = record["entity"][0]
        assert entity["role"] == "source"
        assert entity["what"]["identifier"]["value"] in hashes
        assert _extension(entity, "scan-page") >= 1
        agents = [(a["type"]["coding"][0]["code"], a["who"]) for a in record["agent"]]
        assert by_url[agents[0][1]["reference"]]["resourceType"] == "Device"
        serial = response["identifier"]["value"]
        if serial == corrected_serial:
            assert agents[1:] == [("verifier", {"display": REVIEWER})]
            assert record["recorded"] >= decided_at
            assert "checked the paper" in record["reason"][0]["text"]
            reviewed += 1
        else:  # the undone decision is not in force: srsform alone
            assert len(agents) == 1 and "reason" not in record
    assert reviewed == 1


def test_a_patient_reference_holds_only_the_client_code(clinic: Clinic) -> None:
    system = "urn:oid:1.2.3.4.5"
    out, _ = _export(clinic.db, "--format", "fhir", "--patient-system", system)
    document = json.loads(out)
    patients = _resources(document, "Patient")
    assert sorted(p["identifier"][0]["value"] for p in patients) == sorted(CLIENTS)
    assert all(set(p) == {"resourceType", "identifier"} and p["identifier"][0]["system"]
               == system for p in patients)
    full_urls = {e["fullUrl"]: e["resource"] for e in document["entry"]}
    for response in _resources(document, "QuestionnaireResponse"):
        for reference in (response["subject"], response["source"]):
            assert set(reference) == {"reference", "type", "identifier"}
            assert reference["type"] == "Patient"
            patient = full_urls[reference["reference"]]
            assert [reference["identifier"]] == patient["identifier"]
            assert reference["identifier"]["value"] in CLIENTS
    for path in clinic.scans:  # a file's name can name a person: never in the output
        assert path.name not in out and str(path.parent) not in out


def test_ndjson_is_one_valid_resource_per_line(clinic: Clinic) -> None:
    out, _ = _export(clinic.db, "--format", "ndjson")
    resources = [json.loads(line) for line in out.splitlines()]
    for resource in resources:
        get_fhir_model_class(resource["resourceType"]).model_validate(resource)
    kinds = Counter(r["resourceType"] for r in resources)
    assert kinds == {"Device": 1, "Questionnaire": 2, "QuestionnaireResponse": 8,
                     "Provenance": 8}
    ids = {f"{r['resourceType']}/{r['id']}" for r in resources}
    for resource in resources:
        if resource["resourceType"] == "QuestionnaireResponse":
            assert "reference" not in resource["subject"]  # by identifier: the client code
            assert resource["author"]["reference"] in ids
        if resource["resourceType"] == "Provenance":
            assert resource["target"][0]["reference"] in ids
    assert _check_responses({"entry": [{"resource": r} for r in resources]}, clinic.db) == 8


def test_exports_are_the_same_each_time(clinic: Clinic) -> None:
    assert _export(clinic.db, "--format", "fhir")[0] == _export(clinic.db, "--format", "fhir")[0]


# --- REDCap ----------------------------------------------------------------------------

def _redcap(clinic: Clinic, tmp_path: Path, *args: str
            ) -> tuple[list[dict[str, str]], list[dict[str, str]], str, str]:
    data, dictionary = tmp_path / "data.csv", tmp_path / "dict.csv"
    _, err = _export(clinic.db, "--format", "redcap", "-o", str(data), "--data-dictionary",
                     str(dictionary), *args)
    text = dictionary.read_text()
    rows = list(csv.DictReader(io.StringIO(data.read_text())))
    fields = list(csv.DictReader(io.StringIO(text)))
    return rows, fields, text, err


def _check_import_columns(rows: list[dict[str, str]], fields: list[dict[str, str]]) -> None:
    names = {f["Variable / Field Name"] for f in fields}
    forms = {f["Form Name"] for f in fields}
    known = names | set(SYSTEM_COLUMNS) | {f"{form}_complete" for form in forms}
    assert rows and set(rows[0]) <= known
    decimals = {f["Variable / Field Name"] for f in fields
                if f["Text Validation Type OR Show Slider Number"] == "number_1dp"}
    for row in rows:
        for column in decimals & set(row):
            assert row[column] == "" or ONE_PLACE.match(row[column]), (column, row[column])


def test_the_redcap_dictionary_has_redcap_s_header_and_every_import_column(
        clinic: Clinic, tmp_path: Path) -> None:
    rows, fields, text, err = _redcap(clinic, tmp_path)
    assert text.splitlines()[0] == DICTIONARY_HEADER_LINE
    assert len(DICTIONARY_HEADER) == 18
    assert all(len(row) == 18 for row in csv.reader(io.StringIO(text)))
    assert (fields[0]["Variable / Field Name"], fields[0]["Form Name"]) == ("record_id", "client")
    _check_import_columns(rows, fields)
    by_name = {f["Variable / Field Name"]: f for f in fields}
    for template in ("srs", "ors", "csrs", "cors"):  # every bundled template, met or not
        total = by_name[f"{template}_total"]
        assert (total["Field Type"], total["Field Annotation"]) == ("text", "@READONLY")
        assert by_name[f"{template}_date"]["Identifier?"] == "y"
        assert by_name[f"{template}_needs_review"]["Field Type"] == "yesno"
        for item in load_template(template).items:
            field = by_name[f"{template}_{item.key}"]
            assert (field["Field Type"], field["Text Validation Type OR Show Slider Number"],
                    field["Text Validation Min"], field["Text Validation Max"]) == (
                "text", "number_1dp", "0.0", "10.0")
    assert "calc" not in {f["Field Type"] for f in fields}
    assert "left out 1 page(s)" in err


def test_redcap_rows_are_the_values_in_force_one_repeating_instance_per_session(
        clinic: Clinic, tmp_path: Path) -> None:
    rows, _, _, _ = _redcap(clinic, tmp_path)
    assert list(rows[0])[:3] == ["record_id", "redcap_repeat_instrument",
                                 "redcap_repeat_instance"]
    in_force = _in_force(clinic.db)
    assert len(rows) == len(CLIENTS) * SESSIONS * 2
    for row in rows:
        t = row["redcap_repeat_instrument"]
        result, _ = in_force[row[f"{t}_form_id"]]
        assert (row["record_id"], t, int(row["redcap_repeat_instance"])) == (
            result.client, result.template, result.session)
        for item in result.items:
            assert row[f"{t}_{item.key}"] == f"{item.score:.1f}"
            assert row[f"{t}_{item.key}_mm"] == f"{item.mm:.1f}"
        assert row[f"{t}_total"] == f"{result.total:.1f}"
        assert (row[f"{t}_date"], row[f"{t}_session"]) == (result.date, str(result.session))
        assert (row[f"{t}_needs_review"], row[f"{t}_complete"]) == ("0", "2")
        other = "ors" if t == "srs" else "srs"
        assert all(row[column] == "" for column in row if column.startswith(other + "_"))
    serial, key, score = clinic.corrected
    corrected = next(row for row in rows if row["srs_form_id"] == serial)
    assert corrected[f"srs_{key}"] == f"{score:.1f}"


def test_redcap_longitudinal_has_one_row_per_client_and_session(clinic: Clinic,
                                                               tmp_path: Path) -> None:
    rows, fields, _, _ = _redcap(clinic, tmp_path, "--redcap-mode", "longitudinal",
                                 "--redcap-event", "visit_{n}_arm_2")
    _check_import_columns(rows, fields)
    assert "redcap_repeat_instrument" not in rows[0]
    assert sorted((r["record_id"], r["redcap_event_name"]) for r in rows) == sorted(
        (client, f"visit_{n}_arm_2") for client in CLIENTS for n in range(1, SESSIONS + 1))
    for row in rows:  # the session's ORS and SRS on one row
        assert row["ors_form_id"] and row["srs_form_id"]
        assert row["ors_session"] == row["srs_session"] == row["redcap_event_name"].split("_")[1]


# --- both: filters, options, outputs ----------------------------------------------------

def test_filters_apply_to_fhir_and_redcap(clinic: Clinic, tmp_path: Path) -> None:
    args = ("--client", CLIENTS[1], "--template", "srs", "--since", session_date(2))
    responses = _resources(_bundle(clinic.db, *args), "QuestionnaireResponse")
    rows, _, _, _ = _redcap(clinic, tmp_path, *args)
    expected = {f.code.serial for f in clinic.forms if (f.code.client, f.template,
                                                        f.code.session) == (CLIENTS[1], "srs", 2)}
    assert {r["identifier"]["value"] for r in responses} == expected
    assert {r["srs_form_id"] for r in rows} == expected
    assert set(rows[0]) == {c for c in rows[0] if not c.startswith("ors_")}

    code, out, err = _run("export", "--db", str(clinic.db), "--format", "fhir", "--client",
                          "NOBODY")
    assert code == 0 and json.loads(out) == {"resourceType": "Bundle", "type": "transaction"}
    assert "no stored page matches --client NOBODY" in err


@pytest.mark.parametrize("args", [
    ("--format", "fhir", "--data-dictionary", "d.csv"),
    ("--format", "redcap", "--bundle-type", "collection"),
    ("--format", "csv", "--fhir-base", BASE),
    ("--format", "redcap", "--redcap-event", "s_{n}"),
    ("--format", "redcap", "--redcap-mode", "longitudinal", "--redcap-event", "session"),
    ("--format", "redcap", "--redcap-mode", "longitudinal", "--redcap-event", "Visit {n}"),
    ("--format", "fhir", "--fhir-base", "fhir.clinic.example"),
    ("--format", "ndjson", "--patient-system", "client codes"),
])
def test_options_for_another_format_or_malformed_are_usage_errors(clinic: Clinic,
                                                                  args: tuple[str, ...]) -> None:
    code, _, err = _run("export", "--db", str(clinic.db), *args)
    assert code == 2, err


def test_both_redcap_outputs_are_checked_before_anything_is_read(clinic: Clinic,
                                                                 tmp_path: Path) -> None:
    data = tmp_path / "data.csv"
    code, _, err = _run("export", "--db", str(clinic.db), "--format", "redcap", "-o", str(data),
                        "--data-dictionary", str(tmp_path / "missing" / "dict.csv"))
    assert code == 3 and "does not exist" in err
    assert not data.exists()
    code, _, _ = _run("export", "--db", str(clinic.db), "--format", "redcap", "-o", str(data),
                      "--data-dictionary", str(data))
    assert code == 3 and not data.exists()


def test_fhir_and_redcap_exports_load_no_heavy_library(clinic: Clinic, tmp_path: Path) -> None:
    probe = (
        "import sys\nfrom srsform.cli import main\n"
        "for args in (['--format', 'fhir', '-o', {fhir!r}], ['--format', 'redcap', '-o', "
        "{data!r}, '--data-dictionary', {dictionary!r}]):\n"
        "    try:\n        main(['-q', 'export', '--db', {db!r}, *args])\n"
        "    except SystemExit as stop:\n        assert stop.code in (0, None), stop.code\n"
        "print([m for m in ('cv2', 'numpy', 'reportlab', 'pikepdf', 'PIL', 'pdf2image') "
        "if m in sys.modules])").format(fhir=str(tmp_path / "b.json"),
                                         data=str(tmp_path / "d.csv"),
                                         dictionary=str(tmp_path / "dd.csv"), db=str(clinic.db))
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                          check=True)
    assert done.stdout.strip() == "[]"
    assert (tmp_path / "b.json").exists() and (tmp_path / "dd.csv").exists()


# --- the scanned samples: pages for review, as in the demo ----------------------------------

def test_the_samples_store_exports_valid_fhir_with_its_corrections(samples_db: Path) -> None:
    code, _, err = _run("-q", "review", "set", "SAMP00000012", "goals_topics", "7", "--why",
                        "read the paper", "--who", REVIEWER, "--db", str(samples_db))
    assert code == 0, err
    out, err = _export(samples_db, "--format", "fhir")
    document = json.loads(out)
    Bundle.model_validate(document)
    with Store(samples_db) as store:
        records = [r for r, _ in records_in_force(store)]
    expressible = [r for r in records if r.client and r.template
                   and r.status not in ("not_a_form", "error")]
    assert _check_responses(document, samples_db) == len(expressible)
    statuses = Counter(r["status"] for r in _resources(document, "QuestionnaireResponse"))
    assert statuses["in-progress"] == sum(r.status != "ok" for r in expressible) > 0
    assert f"left out {len(records) - len(expressible)} page(s)" in err
    corrected = next(r for r in _resources(document, "QuestionnaireResponse")
                     if r["identifier"]["value"] == "SAMP00000012")
    assert _answers(corrected)["goals_topics"] == 7


# --- the pure parts -----------------------------------------------------------------------

@given(st.floats(min_value=0, max_value=100, allow_nan=False))
def test_one_place_always_writes_exactly_one_decimal(value: float) -> None:
    text = one_place(value)
    assert ONE_PLACE.match(text) and abs(float(text) - value) <= 0.05 + 1e-9


def test_one_place_of_nothing_is_empty() -> None:
    assert (one_place(None), one_place(9), one_place(8.75)) == ("", "9.0", "8.8")


def test_the_rule_names_the_template_version() -> None:
    assert rule_version("srs@1.0 nearest_cm_half_up; alliance_concern: total<=36") == "1.0"
    assert rule_version(None) is None and rule_version("srs nearest_cm") is None


def test_only_decisions_in_force_are_named() -> None:
    def entry(id_: int, key: str, who: str, why: str) -> Correction:
        return Correction(id_, 1, key, None, 5, "ok", "ok", who, f"2026-01-0{id_}T00:00:00+00:00",
                          why)
    trail = [entry(1, "a", "ana", "first"), entry(2, "a", "bo", "second"),
             entry(3, "a", "cy", "undo #2: wrong"), entry(4, "b", "di", "one"),
             entry(5, "b", "ed", "undo #4: no")]
    assert [c.id for c in decisions_in_force(trail)] == [1]
