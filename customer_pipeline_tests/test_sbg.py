"""sBG retention model against Fader & Hardie (2007), and the cohort helper.

The published data sit in ../shared/data (folder from CUSTOMER_PIPELINE_SHARED_DATA, default
the `shared/data` folder next to the project root). Missing files skip with a reason, or fail
when CUSTOMER_PIPELINE_REQUIRE_SHARED_DATA=1 (CI).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from customer_pipeline_tests.conftest import shared_file
from customer_pipeline.analytics.sbg import (
    fit_cohort_sbg,
    fit_sbg,
    sbg_churn_probability,
    sbg_log_likelihood,
    sbg_retention,
    sbg_survival,
    survival_counts_from_churn_periods,
)

PROJECT_ROOT = Path(__file__).resolve().parents[1]
PUBLISHED = {"regular": (0.704, 1.182), "highend": (0.668, 3.806)}


@pytest.fixture(scope="module")
def survival_table() -> pd.DataFrame:
    return pd.read_csv(shared_file("sbg_fader_hardie_2007_survival.csv"))


@pytest.fixture(scope="module")
def customers_table() -> pd.DataFrame:
    return pd.read_csv(shared_file("sbg_fader_hardie_2007_customers.csv"))


@pytest.mark.parametrize("segment", ["regular", "highend"])
def test_published_fit_and_projection(survival_table, segment):
    """Years 1-7 -> published alpha, beta; projected years 8-12 within 2 points of the holdout."""
    cal = survival_table[survival_table["split"] == "calibration"].sort_values("year")
    hold = survival_table[survival_table["split"] == "holdout"].sort_values("year")
    assert list(cal["year"]) == list(range(8)) and list(hold["year"]) == list(range(8, 13))
    fit = fit_sbg(cal[segment].to_numpy())
    alpha, beta = PUBLISHED[segment]
    assert fit.converged
    assert fit.alpha == pytest.approx(alpha, abs=5e-4)
    assert fit.beta == pytest.approx(beta, abs=5e-4)
    assert fit.n_periods == 7 and fit.n_customers == 1000
    projected = fit.survival(hold["year"].to_numpy())
    actual = hold[segment].to_numpy() / 1000.0
    assert np.max(np.abs(projected - actual)) < 0.02
    # retention rises with tenure (the point of the model) and links survival periods
    ret = fit.retention(np.arange(1, 13))
    assert np.all(np.diff(ret) > 0)
    np.testing.assert_allclose(fit.survival(np.arange(1, 13)) / fit.survival(np.arange(0, 12)), ret, rtol=1e-12)


def test_customer_level_file_gives_the_same_fit(customers_table, survival_table):
    """One row per customer (recency = churn year, recency == T means still active after year 7)."""
    for segment, grp in customers_table.groupby("cohort"):
        churn = grp["recency"].where(grp["recency"] < grp["T"])  # NaN = censored
        n_periods = int(grp["T"].max()) - 1
        counts = survival_counts_from_churn_periods(churn, n_periods)
        expected = survival_table[survival_table["split"] == "calibration"].sort_values("year")[segment]
        np.testing.assert_array_equal(counts, expected.to_numpy(dtype=float))
        fit = fit_sbg(counts)
        assert (fit.alpha, fit.beta) == pytest.approx(PUBLISHED[segment], abs=5e-4)


def test_formulas_are_consistent():
    a, b = 0.7, 1.2
    t = np.arange(1, 30)
    surv = sbg_survival(a, b, np.arange(0, 30))
    assert surv[0] == pytest.approx(1.0)
    np.testing.assert_allclose(-np.diff(surv), sbg_churn_probability(a, b, t), rtol=1e-10)
    np.testing.assert_allclose(surv[1:] / surv[:-1], sbg_retention(a, b, t), rtol=1e-10)
    # the likelihood is maximised at the fitted values
    counts = np.round(1000 * sbg_survival(a, b, np.arange(0, 8)))
    fit = fit_sbg(counts)
    ll = sbg_log_likelihood(fit.alpha, fit.beta, counts)
    for da, db in [(0.01, 0), (-0.01, 0), (0, 0.01), (0, -0.01)]:
        assert sbg_log_likelihood(fit.alpha + da, fit.beta + db, counts) < ll


def test_invalid_curves_are_rejected():
    with pytest.raises(ValueError):
        fit_sbg([100, 120, 80])       # not a survival curve
    with pytest.raises(ValueError):
        fit_sbg([0, 0, 0])
    with pytest.raises(ValueError):
        fit_sbg([100])


def test_fit_cohort_sbg(survival_table):
    """Cohort x period table -> per-cohort alpha, beta and projections of unobserved periods."""
    rows = []
    cal = survival_table[survival_table["year"] <= 7]
    for cohort, col in [("2020-01", "regular"), ("2020-02", "highend")]:
        for _, r in cal.iterrows():
            rows.append({"cohort_month": cohort, "period_number": int(r["year"]), "cohort_customers": 1000,
                         "active_customers": float(r[col])})
        for year in range(8, 13):  # not observable yet
            rows.append({"cohort_month": cohort, "period_number": year, "cohort_customers": 1000,
                         "active_customers": np.nan})
    # a young cohort with two observed periods, and one that is not a survival curve
    rows += [{"cohort_month": "2021-01", "period_number": p, "cohort_customers": 50, "active_customers": v}
             for p, v in [(0, 50), (1, 30), (2, 25), (3, np.nan)]]
    rows += [{"cohort_month": "2021-02", "period_number": p, "cohort_customers": 100, "active_customers": v}
             for p, v in [(0, 100), (1, 60), (2, 65), (3, 50), (4, 45)]]
    frame = pd.DataFrame(rows).sample(frac=1.0, random_state=1)  # any row order
    res = fit_cohort_sbg(frame)
    params = res.params.set_index("cohort_month")
    assert params.loc["2020-01", ["alpha", "beta"]].tolist() == pytest.approx(PUBLISHED["regular"], abs=5e-4)
    assert params.loc["2020-02", ["alpha", "beta"]].tolist() == pytest.approx(PUBLISHED["highend"], abs=5e-4)
    assert np.isnan(params.loc["2021-01", "alpha"]) and "observed periods" in params.loc["2021-01", "reason"]
    assert params.loc["2021-02", "status"] == "ok" and params.loc["2021-02", "monotone_adjusted"]
    proj = res.projections.set_index(["cohort_month", "period_number"])
    assert proj.index.is_unique and set(proj.index.get_level_values(1)) == set(range(1, 13))
    p = proj.loc["2020-01"]
    assert (~p.loc[8:12, "observed"]).all() and p.loc[1:7, "observed"].all()
    holdout = survival_table.set_index("year").loc[8:12, "regular"].to_numpy() / 1000
    assert np.max(np.abs(p.loc[8:12, "projected_survival_rate"].to_numpy() - holdout)) < 0.02
    assert p.loc[12, "projected_survivors"] == pytest.approx(1000 * p.loc[12, "projected_survival_rate"])
    assert proj.loc["2021-01", "projected_survival_rate"].isna().all()


def test_fit_cohort_sbg_accepts_survivors_column_and_no_churn():
    frame = pd.DataFrame({
        "cohort_month": ["a"] * 5 + ["b"] * 5,
        "period_number": list(range(5)) * 2,
        "cohort_customers": [10] * 5 + [10] * 5,
        "survivors": [10, 10, 10, 10, 10, 10, 7, 6, 5, 5],
    })
    res = fit_cohort_sbg(frame, through_period=6)
    params = res.params.set_index("cohort_month")
    assert np.isnan(params.loc["a", "alpha"]) and "nobody left" in params.loc["a", "reason"]
    assert params.loc["b", "status"] == "ok"
    assert res.projections["period_number"].max() == 6
