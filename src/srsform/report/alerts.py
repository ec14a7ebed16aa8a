"""The alerts a client's run of forms calls for, by the rules in each template's [[alerts]].

Each rule is evaluated on its own over one measure's forms (the missing-session rule also
looks at the client's other measures, to know which sessions were held). An alert is raised
at the form that shows it, records the rule's text, and gives a short plain reason. An alert
computed from values still awaiting review is marked provisional.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from functools import cache

from ..form.templates import AlertRule, FlagRule
from ..records import whole_number
from .trajectory import Alert, Form, Measure, session_numbers

_OP_WORDS = {"<": "below", "<=": "at or below", ">": "above", ">=": "at or above"}

# What a check yields: the form the alert is raised at, its reason, and whether it rests on
# provisional values.
Found = tuple[Form, str, bool]
Check = Callable[[AlertRule, Measure, Sequence[Measure]], Iterator[Found]]


def client_alerts(client: str, measures: Sequence[Measure]) -> list[Alert]:
    """Every alert of one client's measures, in session order (then measure and rule order)."""
    alerts = []
    for order, measure in enumerate(measures):
        for rank, rule in enumerate(measure.template.alerts):
            text = _rule_text(rule)
            for form, reason, provisional in _CHECKS[rule.when](rule, measure, measures):
                alerts.append(((form.session, order, rank), Alert(
                    client, form.session, form.day, measure.template.id, rule.name,
                    text, reason, provisional, form.page_id)))
    return [alert for _, alert in sorted(alerts, key=lambda pair: pair[0])]


@cache
def _rule_text(rule: AlertRule) -> str:
    return rule.describe()


def _n(value: float | int | None) -> str:
    return "-" if value is None else f"{whole_number(value)}"


def _signed(value: float | int) -> str:
    return f"{'+' if value > 0 else ''}{_n(value)}"


def _item_name(label: str) -> str:
    """An item's short name: its label up to the first colon ('Goals and topics')."""
    return label.split(":")[0].strip()


def _flag_reason(measure: Measure, form: Form, flag: FlagRule, when: str = "") -> str:
    words = f"{_OP_WORDS[flag.op]} {flag.value:g}"
    if flag.on == "total":
        return f"{measure.label} total {_n(form.total)}{when}: {words}"
    labels = {item.key: _item_name(item.label) for item in measure.template.items}
    compare = FlagRule(flag.name, "total", flag.op, flag.value)
    low = [f"{labels.get(item.key, item.key)} {_n(item.score)}" for item in form.result.items
           if compare.raised([], item.score)]
    return f"{measure.label}{when} {', '.join(low)}: {words}"


# --- the checks, one per kind of rule ------------------------------------------------------

def _flag(rule: AlertRule, measure: Measure, _: Sequence[Measure]) -> Iterator[Found]:
    assert rule.flag is not None
    for form in measure.forms:
        if rule.flag.raised(form.scores(), form.total):
            yield form, _flag_reason(measure, form, rule.flag), form.provisional


def _intake_flag(rule: AlertRule, measure: Measure, _: Sequence[Measure]) -> Iterator[Found]:
    assert rule.flag is not None
    intake = measure.intake()
    if intake is not None and rule.flag.raised(intake.scores(), intake.total):
        yield intake, _flag_reason(measure, intake, rule.flag, " at intake"), \
            intake.provisional


def _changes(measure: Measure) -> Iterator[tuple[Form, Form, float | int]]:
    """(intake, form, change from intake) for every form with a total after the intake."""
    intake = measure.intake()
    if intake is None or intake.total is None:
        return
    for form in measure.forms:
        if form.session > intake.session and form.total is not None:
            yield intake, form, form.total - intake.total


def _from_intake(measure: Measure, intake: Form, form: Form, change: float | int) -> str:
    side = "the same as" if change == 0 else (
        f"{_n(abs(change))} {'above' if change > 0 else 'below'}")
    return (f"{measure.label} {_n(form.total)} is {side} intake ({_n(intake.total)} at "
            f"session {intake.session})")


def _improved(rule: AlertRule, measure: Measure, _: Sequence[Measure]) -> Iterator[Found]:
    assert rule.value is not None
    for intake, form, change in _changes(measure):
        if change >= rule.value:
            yield form, (f"{_from_intake(measure, intake, form, change)}: reliable improvement "
                         f"({rule.value:g} or more)"), \
                form.provisional or intake.provisional


def _deteriorated(rule: AlertRule, measure: Measure, _: Sequence[Measure]) -> Iterator[Found]:
    assert rule.value is not None
    for intake, form, change in _changes(measure):
        if change <= -rule.value:
            yield form, (f"{_from_intake(measure, intake, form, change)}: reliable "
                         f"deterioration ({rule.value:g} or more)"), \
                form.provisional or intake.provisional


def _recovered(rule: AlertRule, measure: Measure, _: Sequence[Measure]) -> Iterator[Found]:
    assert rule.flag is not None and rule.value is not None
    flag = rule.flag
    for intake, form, change in _changes(measure):
        if (flag.raised(intake.scores(), intake.total)
                and not flag.raised(form.scores(), form.total) and change >= rule.value):
            yield form, (f"{measure.label} {_n(form.total)} is no longer {_OP_WORDS[flag.op]} "
                         f"the cut-off {flag.value:g} (intake {_n(intake.total)}, change "
                         f"{_signed(change)}, reliable change {rule.value:g}): recovered"), \
                form.provisional or intake.provisional


def _no_change(rule: AlertRule, measure: Measure, _: Sequence[Measure]) -> Iterator[Found]:
    assert rule.value is not None and rule.sessions is not None
    for intake, form, change in _changes(measure):
        held = form.session - intake.session + 1
        if held >= rule.sessions and abs(change) < rule.value:
            yield form, (f"{_from_intake(measure, intake, form, change)}, {held} sessions "
                         f"in: no reliable change (under {rule.value:g})"), \
                form.provisional or intake.provisional


def _drop(rule: AlertRule, measure: Measure, _: Sequence[Measure]) -> Iterator[Found]:
    assert rule.value is not None
    previous: Form | None = None
    for form in measure.forms:
        if form.total is None:
            continue
        if previous is not None and previous.total is not None:
            fall = previous.total - form.total
            if fall >= rule.value:
                yield form, (f"{measure.label} {_n(form.total)} is {_n(fall)} below the "
                             f"previous form's {_n(previous.total)} (session "
                             f"{previous.session})"), \
                    form.provisional or previous.provisional
        previous = form


def _perfect_streak(rule: AlertRule, measure: Measure, _: Sequence[Measure]
                    ) -> Iterator[Found]:
    assert rule.sessions is not None
    highest = measure.template.highest_total
    run: list[Form] = []
    for form in measure.forms:
        if form.total is not None and form.total >= highest:
            run.append(form)
        else:
            run = []
        if len(run) >= rule.sessions:
            yield form, (f"{measure.label} {highest:g}/{highest:g} on {len(run)} forms in a "
                         "row: perhaps reluctant to give negative feedback; ask gently what "
                         "could be better"), any(f.provisional for f in run)


def _missing(rule: AlertRule, measure: Measure, measures: Sequence[Measure]
             ) -> Iterator[Found]:
    have = {form.session for form in measure.forms}
    if not have:
        return
    others = [m for m in measures if m is not measure]
    for session in session_numbers(measures):
        if session in have:
            continue
        same = [f for m in others if (f := m.form_at(session)) is not None]
        if same:
            yield same[0], f"no {measure.label} form for session {session}", False
            continue
        later = [f for m in measures for f in m.forms if f.session > session]
        shown = min(later, key=lambda f: (f.session, f is not measure.form_at(f.session)))
        yield shown, (f"no {measure.label} form for session {session} (no form of that "
                      f"session came back; seen at session {shown.session})"), False


def _review(rule: AlertRule, measure: Measure, _: Sequence[Measure]) -> Iterator[Found]:
    for form in measure.forms:
        if form.result.status == "review":
            waiting = sum(1 for item in form.result.items if item.status != "ok")
            what = f" ({waiting} item(s) not read with certainty)" if waiting else ""
            yield form, (f"the {measure.label} of session {form.session} is awaiting "
                         f"review{what}: its values are provisional (srsform review)"), True
        elif form.provisional:
            yield form, (f"the {measure.label} of session {form.session} is "
                         f"{form.result.status}: key it by hand (srsform review)"), True


_CHECKS: dict[str, Check] = {
    "flag": _flag, "intake_flag": _intake_flag, "improved": _improved,
    "deteriorated": _deteriorated, "recovered": _recovered, "no_change": _no_change,
    "drop": _drop, "perfect_streak": _perfect_streak, "missing": _missing, "review": _review,
}
