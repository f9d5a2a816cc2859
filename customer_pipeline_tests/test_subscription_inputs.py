"""MRR at a date, plan churn per exposure month, and the sBG projection on the cohort grid."""
from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pytest

from customer_pipeline.analytics.cohorts import add_sbg_projection
from customer_pipeline.analytics.subscription_clv import monthly_churn_by_plan, mrr_at, subscription_clv


def _subs():
    return pd.DataFrame({
        "subscription_id": ["S1", "S2", "S3"], "customer_id": ["A", "B", "C"], "plan_type": ["pro", "pro", "basic"],
        "start_date": pd.to_datetime(["2023-01-01", "2023-01-01", "2023-06-01"]),
        "end_date": pd.to_datetime([None, "2023-07-01", None]), "mrr": [100.0, 50.0, 20.0]})


def test_mrr_at_takes_the_latest_change_on_or_before_as_of():
    changes = pd.DataFrame({
        "change_id": ["c1", "c2", "c3"], "subscription_id": ["S1", "S1", "S1"], "customer_id": ["A"] * 3,
        "effective_date": pd.to_datetime(["2023-01-01", "2023-03-01", "2023-09-01"]),
        "mrr_after": [100.0, 150.0, 400.0]})
    out = mrr_at(changes, _subs(), date(2023, 8, 31)).set_index("customer_id")
    # A: expansion on 2023-03-01 (150), the 2023-09-01 one is after as-of; B ended 2023-07-01;
    # C has no change row: its starting MRR
    assert out["mrr"].to_dict() == {"A": 150.0, "C": 20.0}


def test_monthly_churn_by_plan_divides_by_exposure_months():
    churn = monthly_churn_by_plan(_subs(), date(2023, 12, 31), window_months=12)
    # pro: A in force all 12 months, B 6 months (Jan-Jun) -> 18 subscription-months, 1 ended
    assert churn["pro"] == pytest.approx(1 / 18, rel=0.02)
    assert churn["basic"] == 0.0


def test_subscription_clv_seed_example_and_cap():
    assert subscription_clv(200.0, 0.75, 0.02) == pytest.approx(7500.0)
    assert subscription_clv(200.0, 0.75, 0.0) == pytest.approx(200 * 0.75 * 60)


def _grid(active, complete=None):
    n = len(active)
    return pd.DataFrame({
        "cohort_month": pd.Timestamp("2023-01-01"), "period_number": range(n), "cohort_customers": 1000,
        "active_customers": pd.array(active, dtype="Int64"),
        "retention_rate": [a / 1000 if a is not None else np.nan for a in active],
        "is_observable": [a is not None for a in active],
        "is_complete_period": complete if complete is not None else [a is not None for a in active]})


def test_sbg_projection_recovers_fader_hardie_regular_segment_and_keeps_observed_values():
    # Fader & Hardie (2007) regular segment, survivors of 1000 for years 0..7, then 5 unobservable years
    survivors = [1000, 631, 468, 382, 326, 289, 262, 241] + [None] * 5
    out = add_sbg_projection(_grid(survivors))
    assert out["sbg_alpha"].iloc[0] == pytest.approx(0.704, abs=0.005)
    assert out["sbg_beta"].iloc[0] == pytest.approx(1.182, abs=0.01)
    assert (out["sbg_status"] == "ok").all()
    # observed values untouched; the unobservable years get a projection close to the paper's holdout
    assert out["active_customers"].iloc[:8].tolist() == survivors[:8]
    holdout = [223, 207, 194, 183, 173]  # published survivors, years 8-12
    assert np.allclose(out["projected_retention_rate"].iloc[8:].to_numpy() * 1000, holdout, atol=20)


def test_sbg_projection_ignores_a_partial_period():
    survivors = [1000, 631, 468, 382, 326, 289, 262, 100]  # last period partial: would look like a crash
    full = add_sbg_projection(_grid(survivors[:7] + [None]))
    partial = add_sbg_projection(_grid(survivors, complete=[True] * 7 + [False]))
    assert partial["sbg_alpha"].iloc[0] == pytest.approx(full["sbg_alpha"].iloc[0])


def test_sbg_projection_too_few_periods_is_explained():
    out = add_sbg_projection(_grid([1000, 600, None, None]))
    assert out["projected_retention_rate"].isna().all()
    assert out["sbg_status"].iloc[0].startswith("not_fitted")


def test_sbg_survival_is_stable_in_the_geometric_limit():
    """alpha, beta ~1e11..1e13 (homogeneous churn) once gave 'survival' 1.13 through betaln cancellation."""
    from customer_pipeline.analytics.sbg import sbg_churn_probability, sbg_log_likelihood, sbg_survival

    a, b = 2.754828e11, 9.879812e12
    p = a / (a + b)
    t = np.arange(0, 13)
    s = sbg_survival(a, b, t)
    assert np.allclose(s, (1 - p) ** t, rtol=1e-9)
    assert (np.diff(s) <= 0).all() and s[0] == 1.0
    assert np.allclose(sbg_churn_probability(a, b, t[1:]), (1 - p) ** (t[1:] - 1) * p, rtol=1e-9)
    assert np.isfinite(sbg_log_likelihood(a, b, [50, 50, 49, 47, 45]))
