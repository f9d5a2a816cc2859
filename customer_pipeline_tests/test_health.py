"""Health score: fixed scales, renormalised weights for missing components, bands, change."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pytest

from customer_pipeline.analytics.churn import build_churn_features
from customer_pipeline.analytics.health import health_band, health_scores
from customer_pipeline.sources.saas_demo import generate_saas_demo


def _row(cid: str, **kw) -> dict:
    base = dict(customer_id=cid, logins_last_30d=10.0, features_used_last_30d=2.5, open_tickets=0.0,
                tickets_last_90d=0.0, last_nps_score=7.0, days_since_last_nps=30.0, last_nps_state="passive")
    base.update(kw)
    return base


def _frame(*rows) -> pd.DataFrame:
    return pd.DataFrame(list(rows))


def test_components_on_documented_scales():
    h = health_scores(_frame(_row("a"))).iloc[0]
    assert h["engagement_score"] == 50.0  # 10 of 20 logins
    assert h["features_score"] == 50.0  # 2.5 of 5 features
    assert h["support_score"] == 100.0  # no tickets with a ticket table present
    assert h["nps_score"] == 70.0
    assert h["coverage"] == 1.0
    assert h["health_score"] == pytest.approx((40 * 50 + 20 * 50 + 20 * 100 + 20 * 70) / 100)
    sat = health_scores(_frame(_row("b", logins_last_30d=500.0, features_used_last_30d=40.0))).iloc[0]
    assert sat["engagement_score"] == 100.0 and sat["features_score"] == 100.0
    sup = health_scores(_frame(_row("c", open_tickets=2.0, tickets_last_90d=3.0))).iloc[0]
    assert sup["support_score"] == 100 - 60 - 30
    assert health_scores(_frame(_row("d", open_tickets=5.0, tickets_last_90d=9.0))).iloc[0]["support_score"] == 0


def test_no_nps_and_no_tickets_renormalises():
    f = _frame(_row("quiet", last_nps_score=np.nan, days_since_last_nps=np.nan, last_nps_state="none"))
    h = health_scores(f).iloc[0]
    assert np.isnan(h["nps_score"])
    assert h["coverage"] == pytest.approx(0.8)
    assert h["health_score"] == pytest.approx((40 * 50 + 20 * 50 + 20 * 100) / 80)
    # a dataset without a ticket table at all: support is no data as well
    h2 = health_scores(f.drop(columns=["open_tickets", "tickets_last_90d"])).iloc[0]
    assert np.isnan(h2["support_score"]) and h2["coverage"] == pytest.approx(0.6)
    assert h2["health_score"] == pytest.approx((40 * 50 + 20 * 50) / 60)
    # stale NPS answers (> 365 days) are no data, not a score
    old = health_scores(_frame(_row("old", days_since_last_nps=400.0))).iloc[0]
    assert np.isnan(old["nps_score"]) and old["coverage"] == pytest.approx(0.8)


def test_detractor_vs_promoter_differ_by_full_nps_weight():
    h = health_scores(_frame(_row("det", last_nps_score=0.0), _row("pro", last_nps_score=10.0))).set_index("customer_id")
    assert (h["coverage"] == 1.0).all()
    assert h.loc["pro", "health_score"] - h.loc["det", "health_score"] == pytest.approx(20.0, abs=1e-9)
    assert h.loc["det", "nps_score"] == 0.0 and h.loc["pro", "nps_score"] == 100.0


def test_bands_at_boundaries():
    assert list(health_band([0, 50, 50.0001, 75, 75.0001, 100])) == ["red", "red", "yellow", "yellow", "green", "green"]
    assert health_band([np.nan])[0] is None
    # through health_scores: a score of exactly 50 and 75
    f = _frame(_row("fifty", logins_last_30d=10.0, features_used_last_30d=2.5, last_nps_score=np.nan,
                    days_since_last_nps=np.nan, open_tickets=np.nan, tickets_last_90d=np.nan),
               _row("seventy_five", logins_last_30d=15.0, features_used_last_30d=3.75, last_nps_score=np.nan,
                    days_since_last_nps=np.nan, open_tickets=np.nan, tickets_last_90d=np.nan))
    h = health_scores(f).set_index("customer_id")
    assert h.loc["fifty", "health_score"] == pytest.approx(50.0) and h.loc["fifty", "band"] == "red"
    assert h.loc["seventy_five", "health_score"] == pytest.approx(75.0) and h.loc["seventy_five", "band"] == "yellow"


def test_scale_is_fixed_not_relative_to_the_batch():
    one = health_scores(_frame(_row("a"))).set_index("customer_id")
    more = health_scores(_frame(_row("a"), _row("z", logins_last_30d=300.0, open_tickets=9.0, tickets_last_90d=20.0,
                                                 last_nps_score=0.0))).set_index("customer_id")
    pd.testing.assert_series_equal(one.loc["a"], more.loc["a"])


def test_change_vs_previous():
    prev = pd.DataFrame({"customer_id": ["a", "gone"], "health_score": [40.0, 90.0]})
    h = health_scores(_frame(_row("a"), _row("new")), previous=prev).set_index("customer_id")
    assert h.loc["a", "change_vs_previous"] == pytest.approx(h.loc["a", "health_score"] - 40.0)
    assert np.isnan(h.loc["new", "change_vs_previous"])
    assert health_scores(_frame(_row("a")))["change_vs_previous"].isna().all()


def test_no_data_at_all_gives_no_score():
    f = pd.DataFrame({"customer_id": ["x"], "logins_last_30d": [np.nan]})
    h = health_scores(f).iloc[0]
    assert np.isnan(h["health_score"]) and h["band"] is None and h["coverage"] == 0


def test_orders_components():
    f = pd.DataFrame({"customer_id": ["fresh", "lapsed", "idle"], "recency_days": [10.0, 400.0, 197.5],
                      "orders_last_90d": [4.0, 0.0, 0.0], "spend_last_90d": [100.0, 0.0, 0.0],
                      "spend_prev_90d": [200.0, 50.0, 0.0], "spend_trend": [-0.5, -1.0, 0.0]})
    h = health_scores(f, kind="orders").set_index("customer_id")
    assert h.loc["fresh", "recency_score"] == 100 and h.loc["fresh", "frequency_score"] == 100
    assert h.loc["fresh", "spend_trend_score"] == 50
    assert h.loc["lapsed", "health_score"] == 0 and h.loc["lapsed", "band"] == "red"
    assert h.loc["idle", "recency_score"] == pytest.approx(50.0)
    assert np.isnan(h.loc["idle", "spend_trend_score"]) and h.loc["idle", "coverage"] == pytest.approx(0.75)
    with pytest.raises(ValueError):
        health_scores(f, kind="retail")


def test_on_saas_demo_features():
    t = generate_saas_demo(n_customers=600, seed=3)
    f0 = build_churn_features(t, date(2024, 5, 31))
    f1 = build_churn_features(t, date(2024, 6, 30))
    h0 = health_scores(f0)
    h1 = health_scores(f1, previous=h0)
    assert h1["health_score"].between(0, 100).all() and h1["coverage"].between(0.8, 1.0).all()
    assert set(h1["band"]) <= {"red", "yellow", "green"}
    both = h1["customer_id"].isin(h0["customer_id"])
    assert h1.loc[both, "change_vs_previous"].notna().all() and h1.loc[~both, "change_vs_previous"].isna().all()
