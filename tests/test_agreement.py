"""Agreement statistics of the keyed audit, against published and hand-computed values."""

from __future__ import annotations

import statistics

import pytest
from hypothesis import given
from hypothesis import strategies as st

from srsform.report.agreement import Pair, icc_2_1, mean_and_limits, quadratic_kappa

SHROUT_FLEISS_1979 = [  # Table 2: 6 targets rated by 4 judges
    [9, 2, 5, 8], [6, 1, 3, 2], [8, 4, 6, 8], [7, 1, 2, 6], [10, 5, 6, 9], [6, 2, 4, 7]]


def test_icc_2_1_matches_shrout_and_fleiss() -> None:
    # Shrout & Fleiss (1979) report ICC(2,1) = .29 for their Table 2; by hand from its mean
    # squares (BMS 11.24, JMS 32.49, EMS 1.02): 0.2898.
    assert icc_2_1(SHROUT_FLEISS_1979).value == pytest.approx(0.2898, abs=5e-5)
    assert round(icc_2_1(SHROUT_FLEISS_1979).value, 2) == 0.29


def test_icc_where_the_data_do_not_allow_it_is_none_with_a_reason() -> None:
    assert icc_2_1([[7, 7]]).value is None and "2 or more" in icc_2_1([[7, 7]]).reason
    flat = icc_2_1([[8, 8], [8, 8], [8, 8]])
    assert flat.value is None and "no variance" in flat.reason
    assert icc_2_1([[3, 3], [7, 7], [9, 9]]).value == pytest.approx(1.0)


@pytest.mark.parametrize(("first", "second", "expected"), [
    # Maple EssayTools QuadraticWeightedKappa, documented examples 1 and 2.
    ([9, 7, 8, 7, 6, 8, 3, 5, 10], [8, 8, 6, 6, 7, 6, 1, 4, 8], 0.758620689655172),
    ([9, 7, 8, 7, 6, 8, 3, 5, 10], [3, 5, 6, 6, 7, 6, 1, 4, 8], 0.438095238095238),
    # Two categories (any weights give Cohen's kappa): Wikipedia's 50 grant proposals,
    # 20 yes-yes, 5 yes-no, 10 no-yes, 15 no-no: p_o = 0.7, p_e = 0.5, kappa = 0.4.
    ([1] * 25 + [0] * 25, [1] * 20 + [0] * 5 + [1] * 10 + [0] * 15, 0.4),
    # By hand: x = 1,2,3, y = 1,3,3: observed (0+1+0)/3 = 1/3; expected, over all 9
    # pairings: (0+4+4 + 1+1+1 + 4+0+0)/9 = 15/9; kappa = 1 - (1/3)/(15/9) = 0.8.
    ([1, 2, 3], [1, 3, 3], 0.8),
])
def test_quadratic_kappa_matches_published_and_hand_computed_values(
        first: list[int], second: list[int], expected: float) -> None:
    assert quadratic_kappa(first, second).value == pytest.approx(expected, abs=1e-12)


@given(st.lists(st.tuples(st.integers(0, 10), st.integers(0, 10)), min_size=2, max_size=40))
def test_quadratic_kappa_is_fleiss_and_cohens_moment_form(pairs: list[tuple[int, int]]) -> None:
    # Fleiss & Cohen (1973): kappa_w = 2 s_xy / (s_x^2 + s_y^2 + (mean_x - mean_y)^2), with
    # variances over n: an independent formula for the same statistic.
    x, y = [float(a) for a, _ in pairs], [float(b) for _, b in pairs]
    mx, my = statistics.fmean(x), statistics.fmean(y)
    denominator = statistics.pvariance(x) + statistics.pvariance(y) + (mx - my) ** 2
    kappa = quadratic_kappa(x, y)
    if denominator < 1e-9:
        assert kappa.value is None
        return
    cov = statistics.fmean([(a - mx) * (b - my) for a, b in pairs])
    assert kappa.value == pytest.approx(2 * cov / denominator, abs=1e-9)


def test_kappa_on_tenths_uses_the_tenths_as_categories() -> None:
    # one_decimal forms: the 101 tenths are the categories; quadratic weights make that the
    # same as kappa on whole tenths, nothing is rounded to centimetres.
    stored, keyed = [7.5, 8.0, 9.1, 3.3], [7.5, 8.1, 9.0, 3.3]
    assert quadratic_kappa(stored, keyed).value == pytest.approx(
        quadratic_kappa([75, 80, 91, 33], [75, 81, 90, 33]).value)
    rounded = quadratic_kappa([8, 8, 9, 3], [8, 8, 9, 3]).value
    assert quadratic_kappa(stored, keyed).value < rounded == 1.0


def test_bland_altman_limits_by_hand() -> None:
    # differences 1, -1, 0, 2: mean 0.5; sample SD sqrt(5/3) = 1.2910; 1.96 SD = 2.5303.
    mean, low, high = mean_and_limits([1, -1, 0, 2])
    assert mean.value == 0.5
    assert (low.value, high.value) == pytest.approx((-2.0303, 3.0303), abs=1e-4)
    one = mean_and_limits([2])
    assert one[0].value == 2 and one[1].value is None and "2 or more" in one[1].reason


def test_keyed_blank_agrees_only_with_no_mark() -> None:
    assert Pair.of(None, None, stored_blank=True).agrees  # keyed blank, stored missing
    assert not Pair.of(None, None, stored_blank=False).agrees  # stored: two marks
    assert not Pair.of(7.0, None, stored_blank=False).agrees  # keyed blank, stored 7
    assert not Pair.of(None, 7.0, stored_blank=True).agrees  # keyed 7, stored missing
    assert Pair.of(7.0, 7.0, stored_blank=False).agrees
