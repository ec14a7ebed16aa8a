"""Agreement between two sets of scores of the same forms (stored and keyed by hand): exact
and within-one-point agreement, the mean difference with Bland-Altman 95% limits, the
quadratic-weighted Cohen's kappa and the intraclass correlation ICC(2,1).

Plain Python on purpose: the keyed audit runs without NumPy (see test_shape). Every
statistic that a sample cannot support (too few forms, no variance) is None with the reason.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

TOLERANCE = 1e-9  # scores are whole numbers or tenths: differences below this are none
LIMITS_Z = 1.96  # Bland-Altman: 95% of differences within mean +/- 1.96 SD


@dataclass(frozen=True)
class Statistic:
    """A value, or None and the reason the data do not allow it."""

    value: float | None
    reason: str | None = None

    def rounded(self, places: int = 3) -> float | None:
        return None if self.value is None else round(self.value, places)


def mean_and_limits(differences: Sequence[float]) -> tuple[Statistic, Statistic, Statistic]:
    """Mean difference and Bland-Altman 95% limits of agreement (mean -/+ 1.96 sample SD)."""
    if not differences:
        none = Statistic(None, "no form has both a stored and a keyed score")
        return none, none, none
    mean = Statistic(statistics.fmean(differences))
    if len(differences) < 2:
        one = Statistic(None, "limits need 2 or more differences")
        return mean, one, one
    spread = LIMITS_Z * statistics.stdev(differences)
    return mean, Statistic(mean.value - spread), Statistic(mean.value + spread)


def quadratic_kappa(first: Sequence[float], second: Sequence[float]) -> Statistic:
    """Cohen's kappa with quadratic disagreement weights (i - j)^2, for ordered scores.

    kappa_w = 1 - observed / expected, where observed is the mean of (x_k - y_k)^2 over the
    pairs and expected is the mean of (x_k - y_l)^2 over every pairing of the two raters'
    values (their marginals, independent). With quadratic weights the categories enter only
    through their values, so scores in tenths (one_decimal forms) are the 101 categories
    0.0-10.0 without rounding, and totals the categories 0-40; categories nobody used add
    nothing. Equal to the textbook contingency-table form with w_ij = 1 - (i-j)^2/(k-1)^2."""
    n = len(first)
    if n != len(second):
        raise ValueError("kappa needs paired scores")
    if n < 2:
        return Statistic(None, "kappa needs 2 or more forms")
    observed = sum((x - y) ** 2 for x, y in zip(first, second, strict=True)) / n
    expected = sum((x - y) ** 2 for x in first for y in second) / (n * n)
    if expected < TOLERANCE:
        return Statistic(None, "no variance: every score is the same, so chance agreement "
                               "is total")
    return Statistic(1.0 - observed / expected)


def icc_2_1(ratings: Sequence[Sequence[float]]) -> Statistic:
    """ICC(2,1) of Shrout and Fleiss (1979): two-way random effects, absolute agreement, a
    single rater. `ratings` has one row per target (form) and one column per rater.

    ICC(2,1) = (BMS - EMS) / (BMS + (k-1) EMS + k (JMS - EMS) / n), from the two-way ANOVA
    mean squares between targets (BMS), between raters (JMS) and residual (EMS)."""
    n = len(ratings)
    if n < 2:
        return Statistic(None, "ICC needs 2 or more forms")
    k = len(ratings[0])
    if k < 2 or any(len(row) != k for row in ratings):
        raise ValueError("ICC needs the same 2 or more raters for every target")
    grand = sum(map(sum, ratings)) / (n * k)
    total_ss = sum((x - grand) ** 2 for row in ratings for x in row)
    if total_ss < TOLERANCE:
        return Statistic(None, "no variance: every score is the same")
    target_ss = k * sum((sum(row) / k - grand) ** 2 for row in ratings)
    rater_ss = n * sum((sum(row[j] for row in ratings) / n - grand) ** 2 for j in range(k))
    bms = target_ss / (n - 1)
    jms = rater_ss / (k - 1)
    ems = max(total_ss - target_ss - rater_ss, 0.0) / ((n - 1) * (k - 1))
    denominator = bms + (k - 1) * ems + k * (jms - ems) / n
    if denominator < TOLERANCE:
        return Statistic(None, "no variance between forms")
    return Statistic((bms - ems) / denominator)


@dataclass(frozen=True)
class Pair:
    """One compared value: two scores, or None for no score (keyed as blank; stored
    missing, multiple or not read), and whether the two agree."""

    stored: float | None
    keyed: float | None
    agrees: bool

    @classmethod
    def of(cls, stored: float | None, keyed: float | None, stored_blank: bool) -> Pair:
        """Two scores agree when equal; no score keyed agrees only with a stored blank (no
        mark), not with a reading that has no score for another reason (two marks)."""
        if stored is None or keyed is None:
            return cls(stored, keyed, stored is None and keyed is None and stored_blank)
        return cls(stored, keyed, abs(stored - keyed) < TOLERANCE)

    @property
    def difference(self) -> float | None:
        if self.stored is None or self.keyed is None:
            return None
        return self.stored - self.keyed


@dataclass(frozen=True)
class Agreement:
    """Agreement of stored with keyed values (differences are stored - keyed). Exact and
    within-one count every compared value (no score on both sides agrees); the other
    statistics use the pairs where both sides have a score."""

    pairs: tuple[Pair, ...]

    @property
    def compared(self) -> int:
        return len(self.pairs)

    @property
    def exact(self) -> int:
        return sum(p.agrees for p in self.pairs)

    @property
    def within_one(self) -> int:
        return sum(p.agrees or (p.difference is not None and abs(p.difference) <= 1 + TOLERANCE)
                   for p in self.pairs)

    @property
    def scored(self) -> list[tuple[float, float]]:
        return [(p.stored, p.keyed) for p in self.pairs
                if p.stored is not None and p.keyed is not None]

    def limits(self) -> tuple[Statistic, Statistic, Statistic]:
        return mean_and_limits([s - k for s, k in self.scored])

    def kappa(self) -> Statistic:
        scored = self.scored
        return quadratic_kappa([s for s, _ in scored], [k for _, k in scored])

    def icc(self) -> Statistic:
        return icc_2_1(self.scored)

    def to_dict(self) -> dict[str, Any]:
        mean, low, high = self.limits()
        kappa, icc = self.kappa(), self.icc()
        return {"compared": self.compared, "exact_pct": percent(self.exact, self.compared),
                "within_one_pct": percent(self.within_one, self.compared),
                "with_both_scores": len(self.scored), "mean_difference": mean.rounded(),
                "limits_of_agreement": None if low.value is None else [low.rounded(),
                                                                       high.rounded()],
                "kappa_quadratic": kappa.rounded(), "kappa_note": kappa.reason,
                "icc_2_1": icc.rounded(), "icc_note": icc.reason}


def percent(part: int, whole: int) -> float | None:
    return round(100.0 * part / whole, 1) if whole else None
