"""FHIR R4 resources from stored forms, as one Bundle or as NDJSON (one resource per line).

- a Device: srsform itself, with its version;
- a Questionnaire per template and version met: canonical URL `<base>/Questionnaire/<id>`,
  decimal items 0-10 (cm, minValue/maxValue), a read-only total with an SDC
  calculatedExpression;
- a Patient per client code, with that code as its only content (bundles only);
- per form, a QuestionnaireResponse with the values in force (the measured mm in an
  extension of each answer) and a Provenance naming srsform, the reviewers of corrected
  values and the scan (file hash and page).

Plain functions from forms to dicts: writing FHIR needs no FHIR library (the tests validate
the output with fhir.resources). Every id and fullUrl is derived from the store's content, so
exporting the same forms twice gives the same file, and a transaction sent again updates the
responses it sent before instead of adding new ones.
"""

from __future__ import annotations

import json
import re
import uuid
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import IO, Any
from urllib.parse import urlencode

from ..records import ItemScore
from .interchange import SCALE_MAX, SCALE_MIN, Form, Instrument, instruments_met
from .review import format_score

FHIR_FORMATS = ("fhir", "ndjson")
BUNDLE_TYPES = ("transaction", "collection")
DEFAULT_BASE = "https://example.org/srsform"
TOTAL_LINK_ID = "total"

UCUM = "http://unitsofmeasure.org"
_CORE = "http://hl7.org/fhir/StructureDefinition/"
EXT_MIN_VALUE = _CORE + "minValue"
EXT_MAX_VALUE = _CORE + "maxValue"
EXT_UNIT = _CORE + "questionnaire-unit"
EXT_CALCULATED = ("http://hl7.org/fhir/uv/sdc/StructureDefinition/"
                  "sdc-questionnaire-calculatedExpression")
PARTICIPANT_TYPE = "http://terminology.hl7.org/CodeSystem/provenance-participant-type"

Resource = dict[str, Any]


@dataclass(frozen=True)
class FhirSettings:
    """Where srsform's URLs live and how the bundle is sent. `base` is the canonical URL base
    of the Questionnaires, srsform's extensions and its identifier systems."""

    base: str = DEFAULT_BASE
    patient_system: str | None = None  # None: <base>/client-code
    bundle_type: str = "transaction"
    software_version: str = "0.0.0"

    def url(self, tail: str) -> str:
        return f"{self.base.rstrip('/')}/{tail}"

    def extension(self, name: str) -> str:
        """The URL of one of srsform's own extensions (see the README)."""
        return self.url(f"StructureDefinition/{name}")

    @property
    def patients(self) -> str:
        return self.patient_system or self.url("client-code")


# --- ids and references ----------------------------------------------------------------

def fhir_id(text: str) -> str:
    """`text` as a FHIR id: letters, digits, '-' and '.', at most 64 characters."""
    return re.sub(r"[^A-Za-z0-9.-]", "-", text)[:64]


def response_id(form: Form) -> str:
    """The response's id: from the scanned file's hash and the page, stable across exports."""
    return fhir_id(f"srsform-{form.origin.sha256[:24]}-{form.origin.page}")


def _device_id(settings: FhirSettings) -> str:
    return fhir_id(f"srsform-{settings.software_version}")


def _questionnaire_id(instrument: Instrument) -> str:
    return fhir_id(f"srsform-{instrument.id}-{instrument.version}")


def _full_url(settings: FhirSettings, key: str) -> str:
    namespace = uuid.uuid5(uuid.NAMESPACE_URL, settings.base)
    return f"urn:uuid:{uuid.uuid5(namespace, key)}"


@dataclass(frozen=True)
class _Links:
    """How resources point at each other: in a bundle by their entries' fullUrls, in NDJSON
    by type and id; a Patient by the client code as an identifier, always."""

    settings: FhirSettings
    in_bundle: bool

    def device(self) -> dict[str, str]:
        display = f"srsform {self.settings.software_version}"
        if self.in_bundle:
            return {"reference": _full_url(self.settings, "Device"), "display": display}
        return {"reference": f"Device/{_device_id(self.settings)}", "display": display}

    def patient(self, client: str) -> dict[str, Any]:
        link: dict[str, Any] = {"type": "Patient",
                                "identifier": {"system": self.settings.patients,
                                               "value": client}}
        if self.in_bundle:
            link = {"reference": _full_url(self.settings, f"Patient/{client}"), **link}
        return link

    def response(self, form: Form) -> dict[str, str]:
        if self.in_bundle:
            return {"reference": _full_url(self.settings, f"QuestionnaireResponse/"
                                                          f"{response_id(form)}")}
        return {"reference": f"QuestionnaireResponse/{response_id(form)}"}


# --- resources -------------------------------------------------------------------------

def device(settings: FhirSettings) -> Resource:
    """srsform as a Device: the software that read the forms, with its version."""
    return {
        "resourceType": "Device",
        "id": _device_id(settings),
        "identifier": [{"system": settings.url("software"),
                        "value": f"srsform-{settings.software_version}"}],
        "deviceName": [{"name": "srsform", "type": "manufacturer-name"}],
        "type": {"text": "Software that reads paper rating-scale forms"},
        "version": [{"value": settings.software_version}],
    }


def canonical(instrument: Instrument, settings: FhirSettings) -> str:
    return settings.url(f"Questionnaire/{instrument.id}")


def questionnaire(instrument: Instrument, settings: FhirSettings) -> Resource:
    """One template as a Questionnaire: a decimal item per line (0-10 cm), then the total,
    read-only and calculated from the items (empty unless every item is answered)."""
    items = [{
        "extension": [_min_value(SCALE_MIN), _max_value(SCALE_MAX),
                      {"url": EXT_UNIT, "valueCoding": {"system": UCUM, "code": "cm",
                                                        "display": "cm"}}],
        "linkId": key, "text": label, "type": "decimal",
    } for key, label in instrument.items]
    expression = " + ".join(f"%resource.item.where(linkId='{key}').answer.value"
                            for key in instrument.keys)
    items.append({
        "extension": [{"url": EXT_CALCULATED, "valueExpression": {
                          "description": "The sum of the items' scores", "language":
                          "text/fhirpath", "expression": expression}},
                      _min_value(SCALE_MIN), _max_value(SCALE_MAX * len(instrument.items))],
        "linkId": TOTAL_LINK_ID, "text": "Total", "type": "decimal", "readOnly": True,
    })
    return {
        "resourceType": "Questionnaire",
        "id": _questionnaire_id(instrument),
        "url": canonical(instrument, settings),
        "version": instrument.version,
        "name": re.sub(r"[^A-Za-z0-9_]", "_", instrument.id.upper()),
        "title": instrument.title,
        "status": "active",
        "subjectType": ["Patient"],
        "description": ("A paper form read by srsform: each item is a mark on a 10 cm line, "
                        "scored 0-10 from the line's left end. Neutral item labels."),
        "item": items,
    }


def patient(client: str, settings: FhirSettings) -> Resource:
    """A Patient that is only its client code: never a name or anything else about them."""
    return {"resourceType": "Patient",
            "identifier": [{"system": settings.patients, "value": client}]}


def questionnaire_response(form: Form, instrument: Instrument, settings: FhirSettings,
                           links: _Links) -> Resource:
    """One form's answers in force: `completed` when the page is ok, else `in-progress`
    (it waits for a person); the session date as `authored` when the register knows it."""
    result = form.result
    labels = dict(instrument.items)
    extensions: list[dict[str, Any]] = []
    if result.session is not None:
        extensions.append({"url": settings.extension("session"), "valueInteger": result.session})
    extensions += [{"url": settings.extension("flag"), "valueCode": flag}
                   for flag in result.flags]
    resource: Resource = {"resourceType": "QuestionnaireResponse", "id": response_id(form)}
    if extensions:
        resource["extension"] = extensions
    if result.serial:
        resource["identifier"] = {"system": settings.url("form-serial"), "value": result.serial}
    resource |= {
        "questionnaire": f"{canonical(instrument, settings)}|{instrument.version}",
        "status": "completed" if result.status == "ok" else "in-progress",
        "subject": links.patient(result.client or ""),
    }
    if result.date:
        resource["authored"] = result.date
    resource |= {"author": links.device(), "source": links.patient(result.client or "")}
    items = [_response_item(item, labels.get(item.key, item.key), item.key in form.corrected,
                            settings) for item in result.items]
    if result.total is not None:
        items.append({"linkId": TOTAL_LINK_ID, "text": "Total",
                      "answer": [{"valueDecimal": result.total}]})
    if items:
        resource["item"] = items
    return resource


def _response_item(item: ItemScore, label: str, corrected: bool, settings: FhirSettings
                   ) -> dict[str, Any]:
    """An item: how it was read (and whether a person decided it), and its score with the
    measured mm, when it has one."""
    extensions: list[dict[str, Any]] = [{"url": settings.extension("reading-status"),
                                         "valueCode": item.status}]
    if corrected:
        extensions.append({"url": settings.extension("corrected"), "valueBoolean": True})
    entry: dict[str, Any] = {"extension": extensions, "linkId": item.key, "text": label}
    if item.score is not None:
        answer: dict[str, Any] = {"valueDecimal": item.score}
        if item.mm is not None:
            answer["extension"] = [{"url": settings.extension("measured-mm"),
                                    "valueQuantity": {"value": item.mm, "unit": "mm",
                                                      "system": UCUM, "code": "mm"}}]
        entry["answer"] = [answer]
    return entry


def provenance(form: Form, settings: FhirSettings, links: _Links) -> Resource:
    """Who made the response and from what: srsform read the scan (file hash and page; never
    its path, which may name a person), and each person whose decision is in force."""
    decisions = form.decisions
    reviewers = list(dict.fromkeys(d.who for d in decisions))
    resource: Resource = {
        "resourceType": "Provenance",
        "id": f"{response_id(form)}-provenance",
        "target": [links.response(form)],
        "recorded": max([form.origin.scanned_at, *(d.at for d in decisions)]),
        "agent": [_agent("performer", links.device())]
                 + [_agent("verifier", {"display": who}) for who in reviewers],
        "entity": [{
            "extension": [{"url": settings.extension("scan-page"),
                           "valueInteger": form.origin.page}],
            "role": "source",
            "what": {"identifier": {"system": settings.url("scan-sha256"),
                                    "value": form.origin.sha256},
                     "display": f"page {form.origin.page} of the scanned file with SHA-256 "
                                f"{form.origin.sha256}"},
        }],
    }
    if decisions:
        resource["reason"] = [
            {"text": f"{d.item_key} set to {format_score(d.new_score, d.new_status)} by "
                     f"{d.who} at {d.at}: {d.why}"} for d in decisions]
    return resource


def _agent(code: str, who: dict[str, Any]) -> dict[str, Any]:
    return {"type": {"coding": [{"system": PARTICIPANT_TYPE, "code": code}]}, "who": who}


def _min_value(value: int) -> dict[str, Any]:
    return {"url": EXT_MIN_VALUE, "valueDecimal": value}


def _max_value(value: int) -> dict[str, Any]:
    return {"url": EXT_MAX_VALUE, "valueDecimal": value}


# --- a bundle, or a resource per line --------------------------------------------------

@dataclass(frozen=True)
class _Entry:
    resource: Resource
    key: str  # what its fullUrl is made from
    method: str  # how a transaction sends it: POST (created when absent) or PUT (by id)
    if_none_exist: dict[str, str] | None = None


def _entries(forms: Sequence[Form], settings: FhirSettings, links: _Links) -> Iterator[_Entry]:
    """Device, Questionnaires, Patients, then each form's response and provenance."""
    if not forms:
        return
    thing = device(settings)
    yield _Entry(thing, "Device", "POST", {"identifier": _token(thing["identifier"][0])})
    instruments = {(i.id, i.version): i for i in instruments_met(forms)}
    for instrument in instruments.values():
        yield _Entry(questionnaire(instrument, settings),
                     f"Questionnaire/{instrument.id}|{instrument.version}", "POST",
                     {"url": canonical(instrument, settings), "version": instrument.version})
    for client in dict.fromkeys(form.result.client or "" for form in forms):
        person = patient(client, settings)
        yield _Entry(person, f"Patient/{client}", "POST",
                     {"identifier": _token(person["identifier"][0])})
    for form in forms:
        response = questionnaire_response(form, instruments[(form.template, form.version)],
                                          settings, links)
        yield _Entry(response, f"QuestionnaireResponse/{response['id']}", "PUT")
        record = provenance(form, settings, links)
        yield _Entry(record, f"Provenance/{record['id']}", "PUT")


def _token(identifier: dict[str, str]) -> str:
    return f"{identifier['system']}|{identifier['value']}"


def bundle(forms: Sequence[Form], settings: FhirSettings) -> Resource:
    """A Bundle of every resource. A transaction creates the Device, Questionnaires and
    Patients only when none matches (conditional create) and puts responses and provenances
    by id (sent again, they update)."""
    entries = []
    for entry in _entries(forms, settings, _Links(settings, in_bundle=True)):
        resource = entry.resource
        item: dict[str, Any] = {"fullUrl": _full_url(settings, entry.key)}
        if settings.bundle_type == "transaction":
            kind = resource["resourceType"]
            if entry.method == "POST":
                resource = {k: v for k, v in resource.items() if k != "id"}
                request = {"method": "POST", "url": kind}
                if entry.if_none_exist:
                    request["ifNoneExist"] = urlencode(entry.if_none_exist)
            else:
                request = {"method": "PUT", "url": f"{kind}/{resource['id']}"}
            item |= {"resource": resource, "request": request}
        else:
            item["resource"] = resource
        entries.append(item)
    return {"resourceType": "Bundle", "type": settings.bundle_type,
            **({"entry": entries} if entries else {})}


def ndjson_resources(forms: Sequence[Form], settings: FhirSettings) -> Iterator[Resource]:
    """Every resource but the Patients (a response names its Patient by client code)."""
    for entry in _entries(forms, settings, _Links(settings, in_bundle=False)):
        if entry.resource["resourceType"] != "Patient":
            yield entry.resource


def write_fhir(out: IO[str], fmt: str, forms: Sequence[Form], settings: FhirSettings
               ) -> Counter[str]:
    """Write the forms as a Bundle (`fhir`) or NDJSON (`ndjson`); resources written, by type."""
    if fmt == "fhir":
        document = bundle(forms, settings)
        out.write(json.dumps(document, ensure_ascii=False, indent=1) + "\n")
        resources = [entry["resource"] for entry in document.get("entry", [])]
    else:
        resources = list(ndjson_resources(forms, settings))
        out.writelines(json.dumps(r, ensure_ascii=False) + "\n" for r in resources)
    out.flush()
    return Counter(resource["resourceType"] for resource in resources)
