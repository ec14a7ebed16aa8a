"""The reports' charts as shapes (report/charts.py, audit_charts.py, shapes.py): what the
PDFs and the HTML report draw, checked in points before a writer sees it."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from xml.etree import ElementTree

from hypothesis import given
from hypothesis import strategies as st

from srsform.records import PAGE_STATUSES
from srsform.report.audit_charts import BAR_COLOUR, ITEM_STATUSES, summary_charts
from srsform.report.charts import BAND_COLOUR, LINE_COLOUR, Charts, client_charts
from srsform.report.clinician import build_reports
from srsform.report.shapes import Box, Dot, Label, Line, nice_ticks, to_svg
from srsform.store import Store
from support.sessions import SessionForm, run_of, write_forms


def _charts(tmp_path: Path, forms: list[SessionForm]) -> Charts:
    with Store(tmp_path / "s.db") as store:
        write_forms(store, forms)
        (report,) = build_reports(store)
    return client_charts(report, 500.0)


def _labels(charts: Charts) -> list[str]:
    return [s.text for s in charts.shapes if isinstance(s, Label)]


def test_the_ors_chart_draws_the_cut_off_the_intake_and_its_band(tmp_path: Path) -> None:
    # ORS 31 at intake, 24 and 20 after: the band is 26-36 (reliable change 5).
    charts = _charts(tmp_path, run_of("C1", "ors", [31, 24, 20]) + run_of("C1", "srs",
                                                                          [40, 32, 36]))
    assert {"ORS total (Outcome Rating Scale)", "SRS total (Session Rating Scale)",
            "below clinical cutoff: < 25", "intake 31 (session 1)",
            "reliable change ±5 from intake", "alliance concern: ≤ 36"} <= set(_labels(charts))
    band = next(s for s in charts.shapes if isinstance(s, Box) and s.colour == BAND_COLOUR)
    cut = next(s for s in charts.shapes if isinstance(s, Line) and s.colour == LINE_COLOUR)
    # y grows downwards: the cut-off (25) lies one unit below the band's bottom (26).
    unit = band.height / (36 - 26)
    assert abs(cut.points[0][1] - (band.y + band.height) - unit) < 1e-6
    assert all(0 <= s.x <= charts.width_pt and 0 <= s.y <= charts.height_pt
               for s in charts.shapes if isinstance(s, Dot | Label))


def test_a_missing_session_breaks_the_line_and_a_provisional_value_is_hollow(
        tmp_path: Path) -> None:
    forms = [*run_of("C2", "ors", [20, 22]), *run_of("C2", "ors", [26], first_session=4),
             SessionForm("C2", "ors", 5, [7, 7, 7, 7], ["ok", "ok", "ok", "uncertain"]),
             *run_of("C2", "srs", [38, 38, 38, 38, 38])]
    charts = _charts(tmp_path, forms)
    ors_colour = "#1f5f9f"
    totals = [s for s in charts.shapes if isinstance(s, Line) and s.colour == ors_colour
              and s.width_pt == 1.4][:2]
    assert [len(line.points) for line in totals] == [2, 2]  # sessions 1-2, then 4-5
    hollow = [s for s in charts.shapes if isinstance(s, Dot) and s.hollow]
    assert len(hollow) == 1 + 4 + 1  # the total, its four items, and the legend's sample
    assert "provisional (awaiting review)" in _labels(charts)


def test_a_client_without_an_outcome_form_gets_a_panel_saying_so(tmp_path: Path) -> None:
    charts = _charts(tmp_path, run_of("C3", "srs", [39, 36]))
    assert {"Outcome measure", "No CORS or ORS form for this client",
            "SRS total (Session Rating Scale)"} <= set(_labels(charts))
    assert "ORS item" not in _labels(charts) and "SRS item" in _labels(charts)


@given(st.floats(min_value=0, max_value=1e6), st.integers(min_value=2, max_value=8))
def test_count_ticks_are_few_round_and_reach_the_highest(high: float, most: int) -> None:
    ticks = nice_ticks(high, most)
    step = ticks[1] - ticks[0]
    assert ticks[0] == 0 and ticks[-1] >= high and len(ticks) <= most + 1
    assert all(b - a == step for a, b in zip(ticks, ticks[1:], strict=False))
    assert str(step).rstrip("0") in ("1", "2", "5")


def test_svg_text_is_escaped_and_well_formed() -> None:
    svg = to_svg([Label(1, 2, "C<1> & \"co\"", 7, rotated=True),
                  Line(((0, 0), (5, 5)), "#000000", 1, (1.0, 2.0)),
                  Box(0, 0, 3, 3, "#ffffff", 0.5), Dot(1, 1, 2, "#1f5f9f", hollow=True)],
                 10, 10)
    root = ElementTree.fromstring(svg)
    assert "".join(root.itertext()).strip() == "C<1> & \"co\""
    assert "href" not in svg and "<script" not in svg


def test_the_audit_histograms_count_every_value_once() -> None:
    confidences = [0.0, 0.05, 0.1, 0.95, 1.0, 1.0]
    shapes = summary_charts(Counter(ok=3), Counter(ok=10, uncertain=2), confidences,
                            [0.99, 1.0, 1.05], {s: "#000000" for s in (*PAGE_STATUSES,
                                                                       *ITEM_STATUSES)},
                            500, 260)
    texts = [s.text for s in shapes if isinstance(s, Label)]
    assert "Confidence of the items read (n = 6)" in texts
    bars = [s for s in shapes if isinstance(s, Box) and s.colour == BAR_COLOUR]
    # confidence bins [0, 0.1): 2, [0.1, 0.2): 1, [0.9, 1.0]: 3; print scale: three bins of 1
    assert len(bars) == 3 + 3
