"""REDCap: a data dictionary (the project's instruments) and an import CSV of stored forms.

The dictionary has a first instrument `client` holding only `record_id` (REDCap's record id
is the first field of the first instrument, and a repeating instrument should not hold it),
then one instrument per template: every bundled template and any other met, so that
uploading it again never drops an instrument. Its fields, for template `srs`:
`srs_form_id`, `srs_date` (an identifier), `srs_session`, `srs_needs_review`, `srs_<item>`
(text, number_1dp, 0-10), `srs_total` (text, number_1dp, @READONLY: a `calc` field cannot
be imported) and `srs_<item>_mm`. REDCap adds `<instrument>_complete` to every instrument
itself; the import fills it (2 Complete when the page is ok, 1 Unverified while it waits for
a person).

The import CSV has `record_id` = the client code and one row per form (repeating
instruments: instance = session number) or per client and session (longitudinal: the event
named by a pattern such as `session_{n}_arm_1`). Every decimal has exactly one place.
Cells are written as REDCap reads them (no spreadsheet-formula quoting: it would change a
value on import).
"""

from __future__ import annotations

import csv
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import IO

from ..errors import ConfigError
from .interchange import SCALE_MAX, SCALE_MIN, Form, Instrument

REDCAP_MODES = ("repeating", "longitudinal")
DEFAULT_EVENT_PATTERN = "session_{n}_arm_1"
RECORD_ID = "record_id"
RECORD_FORM = "client"
REPEAT_COLUMNS = ("redcap_repeat_instrument", "redcap_repeat_instance")
EVENT_COLUMN = "redcap_event_name"
SYSTEM_COLUMNS = (*REPEAT_COLUMNS, EVENT_COLUMN)  # REDCap's own, in no dictionary
DICTIONARY_HEADER = (
    "Variable / Field Name", "Form Name", "Section Header", "Field Type", "Field Label",
    "Choices, Calculations, OR Slider Labels", "Field Note",
    "Text Validation Type OR Show Slider Number", "Text Validation Min", "Text Validation Max",
    "Identifier?", "Branching Logic (Show field only if...)", "Required Field?",
    "Custom Alignment", "Question Number (surveys only)", "Matrix Group Name",
    "Matrix Ranking?", "Field Annotation",
)
COMPLETE, UNVERIFIED = "2", "1"
_EVENT_RE = re.compile(r"^[a-z][a-z0-9_]*$")


@dataclass(frozen=True)
class Field:
    """One row of the data dictionary."""

    name: str
    form: str
    type: str
    label: str
    note: str = ""
    validation: str = ""
    minimum: str = ""
    maximum: str = ""
    identifier: bool = False
    annotation: str = ""
    section: str = ""

    def row(self) -> list[str]:
        return [self.name, self.form, self.section, self.type, self.label, "", self.note,
                self.validation, self.minimum, self.maximum, "y" if self.identifier else "",
                "", "", "", "", "", "", self.annotation]


def one_place(value: float | int | None) -> str:
    """A decimal with exactly one place ('9.0', '87.4'); '' for no value."""
    return "" if value is None else f"{float(value):.1f}"


def event_name(pattern: str, session: int) -> str:
    """The unique event name of a session, e.g. `session_3_arm_1`."""
    return pattern.format(n=session)


def check_event_pattern(pattern: str) -> str:
    """The pattern, if it names a REDCap event for every session (`{n}` in it)."""
    try:
        names = {event_name(pattern, 1), event_name(pattern, 2)}
    except (KeyError, IndexError, ValueError):
        names = set()
    if len(names) != 2 or not all(_EVENT_RE.match(name) for name in names):
        raise ConfigError(f"event pattern '{pattern}' must contain {{n}} (the session number) "
                          "and give REDCap unique event names (lower-case letters, digits, _), "
                          "e.g. session_{n}_arm_1")
    return pattern


# --- the data dictionary ----------------------------------------------------------------

def instrument_fields(instrument: Instrument) -> list[Field]:
    """The fields of one template's instrument, in form order."""
    t, n = instrument.id, len(instrument.items)
    fields = [
        Field(f"{t}_form_id", t, "text", "Form serial",
              note="The serial printed on the paper form (in its QR code)",
              section=instrument.title),
        Field(f"{t}_date", t, "text", "Session date", validation="date_ymd", identifier=True,
              note="From srsform's printed-forms register; empty when it does not know it"),
        Field(f"{t}_session", t, "text", "Session number", validation="integer"),
        Field(f"{t}_needs_review", t, "yesno", "Waits for a person's review in srsform"),
    ]
    fields += [Field(f"{t}_{key}", t, "text", label, validation="number_1dp",
                     minimum=one_place(SCALE_MIN), maximum=one_place(SCALE_MAX),
                     note="Score, 0-10 (cm from the line's left end)")
               for key, label in instrument.items]
    fields.append(Field(f"{t}_total", t, "text", "Total", validation="number_1dp",
                        minimum=one_place(SCALE_MIN), maximum=one_place(SCALE_MAX * n),
                        note="Sum of the items; empty unless every item has a score",
                        annotation="@READONLY"))
    fields += [Field(f"{t}_{key}_mm", t, "text", f"{label} (mm)", validation="number_1dp",
                     minimum="0.0", maximum="100.0",
                     note="The mark's distance from the line's left end, as measured",
                     section="Measured by srsform" if i == 0 else "")
               for i, (key, label) in enumerate(instrument.items)]
    return fields


def dictionary_fields(instruments: Sequence[Instrument]) -> list[Field]:
    """Every field of the project: `record_id` first, then each instrument's."""
    fields = [Field(RECORD_ID, RECORD_FORM, "text", "Client code",
                    note="The opaque client code on the form: never a name")]
    for instrument in instruments:
        fields += instrument_fields(instrument)
    if RECORD_FORM in {i.id for i in instruments}:
        raise ConfigError(f"cannot make a REDCap dictionary: a template is named "
                          f"'{RECORD_FORM}', the instrument that holds {RECORD_ID}")
    names = [f.name for f in fields] + [f"{form}_complete" for form in forms_of(fields)]
    repeated = sorted(name for name, count in Counter(names).items() if count > 1)
    if repeated:
        raise ConfigError(f"cannot make a REDCap dictionary: the field names {repeated} occur "
                          "twice (a template's item key clashes with srsform's own fields)")
    return fields


def forms_of(fields: Sequence[Field]) -> list[str]:
    return list(dict.fromkeys(f.form for f in fields))


def write_dictionary(out: IO[str], instruments: Sequence[Instrument]) -> int:
    """Write the data dictionary (REDCap's 18 columns); returns the number of fields."""
    fields = dictionary_fields(instruments)
    writer = csv.writer(out)
    writer.writerow(DICTIONARY_HEADER)
    writer.writerows(f.row() for f in fields)
    out.flush()
    return len(fields)


# --- the import file -------------------------------------------------------------------

def form_values(form: Form, instrument: Instrument) -> dict[str, str]:
    """One form's fields, as REDCap imports them."""
    result, t = form.result, instrument.id
    items = {item.key: item for item in result.items}
    values = {f"{t}_form_id": result.serial or "", f"{t}_date": result.date or "",
              f"{t}_session": "" if result.session is None else str(result.session),
              f"{t}_needs_review": "0" if result.status == "ok" else "1"}
    for key in instrument.keys:
        item = items.get(key)
        values[f"{t}_{key}"] = one_place(item.score if item else None)
    values[f"{t}_total"] = one_place(result.total)
    for key in instrument.keys:
        item = items.get(key)
        values[f"{t}_{key}_mm"] = one_place(item.mm if item else None)
    values[f"{t}_complete"] = COMPLETE if result.status == "ok" else UNVERIFIED
    return values


def import_header(instruments: Sequence[Instrument], mode: str) -> list[str]:
    head = [RECORD_ID, *(REPEAT_COLUMNS if mode == "repeating" else (EVENT_COLUMN,))]
    for instrument in instruments:
        head += [f.name for f in instrument_fields(instrument)] + [f"{instrument.id}_complete"]
    return head


def import_rows(forms: Sequence[Form], instruments: Sequence[Instrument], mode: str,
               pattern: str = DEFAULT_EVENT_PATTERN
               ) -> tuple[list[dict[str, str]], Counter[str]]:
    """The import rows (column -> cell) and the forms left out, by reason: one form per
    client, template and session (a second is a duplicate for review in srsform)."""
    by_id = {instrument.id: instrument for instrument in instruments}
    rows: dict[tuple, dict[str, str]] = {}
    taken: set[tuple[str, str, int]] = set()
    skipped: Counter[str] = Counter()
    for form in forms:
        result = form.result
        if result.session is None:
            skipped["no session number"] += 1
            continue
        if mode == "repeating" and result.session < 1:
            skipped["session 0 (a REDCap instance is 1 or more)"] += 1
            continue
        slot = (result.client or "", form.template, result.session)
        if slot in taken:
            skipped["a second page of one client, template and session (see review)"] += 1
            continue
        taken.add(slot)
        values = form_values(form, by_id[form.template])
        if mode == "repeating":
            key: tuple = slot
            values |= {REPEAT_COLUMNS[0]: form.template, REPEAT_COLUMNS[1]: str(result.session)}
        else:
            key = (slot[0], result.session)
            values[EVENT_COLUMN] = event_name(pattern, result.session)
        rows.setdefault(key, {RECORD_ID: slot[0]}).update(values)
    return list(rows.values()), skipped


def write_import(out: IO[str], forms: Sequence[Form], instruments: Sequence[Instrument],
                 mode: str, pattern: str = DEFAULT_EVENT_PATTERN) -> tuple[int, Counter[str]]:
    """Write the import CSV (columns of the instruments met); returns the rows written and
    the forms left out, by reason."""
    met = {form.template for form in forms}
    header = import_header([i for i in instruments if i.id in met], mode)
    rows, skipped = import_rows(forms, instruments, mode, pattern)
    writer = csv.writer(out)
    writer.writerow(header)
    writer.writerows([row.get(column, "") for column in header] for row in rows)
    out.flush()
    return len(rows), skipped
