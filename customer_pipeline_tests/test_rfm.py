from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from customer_pipeline.analytics.rfm import SEGMENT_RULES, SEGMENTS, quintile_score, score_rfm, segment_map

SEED_SEGMENTS = ["Champions", "Loyal Customers", "Potential Loyalist", "Recent Customers", "Promising",
                 "Need Attention", "At Risk", "Cant Lose Them", "Lost"]


def test_segment_map_covers_all_125_triples_exactly_once_and_every_segment_is_reachable():
    m = segment_map()
    assert len(m) == 125
    assert not m.duplicated(["r_score", "f_score", "m_score"]).any()
    assert set(map(tuple, m[["r_score", "f_score", "m_score"]].to_numpy())) == {
        (r, f, mm) for r in range(1, 6) for f in range(1, 6) for mm in range(1, 6)}
    assert set(m["segment"]) == set(SEGMENTS)
    assert set(SEED_SEGMENTS) <= set(SEGMENTS)
    assert {"About to Sleep", "Hibernating"} <= set(SEGMENTS)
    # every rule (not just every segment) assigns at least one triple: no rule is shadowed
    assert m["rule"].nunique() == len(SEGMENT_RULES)


def test_cant_lose_them_is_not_shadowed_by_at_risk():
    m = segment_map().set_index(["r_score", "f_score", "m_score"])
    assert m.loc[(1, 5, 5), "segment"] == "Cant Lose Them"
    assert m.loc[(2, 4, 4), "segment"] == "Cant Lose Them"
    assert m.loc[(1, 3, 5), "segment"] == "At Risk"
    assert m.loc[(5, 5, 5), "segment"] == "Champions"
    assert m.loc[(1, 1, 1), "segment"] == "Lost"


def test_quintile_score_hand_worked():
    # 10 distinct values: percentile ranks 0, 1/9, ..., 1 -> 1 + floor(5 pr) capped at 5
    s = quintile_score(pd.Series(range(10)))
    assert s.tolist() == [1, 1, 2, 2, 3, 3, 4, 4, 5, 5]
    # lower is better flips the order
    assert quintile_score(pd.Series(range(10)), higher_is_better=False).tolist() == [5, 5, 4, 4, 3, 3, 2, 2, 1, 1]


def test_equal_values_get_equal_scores_and_best_gets_5_even_on_heavy_ties():
    rng = np.random.default_rng(0)
    v = pd.Series(rng.choice([1, 1, 1, 2, 3, 5, 8, 40], size=1000))
    s = quintile_score(v)
    assert (s.groupby(v).nunique() == 1).all()
    assert (s[v == v.max()] == 5).all()
    assert (s[v == v.min()] == 1).all()
    # monotone: a larger value never scores lower
    by_value = s.groupby(v).first().sort_index()
    assert by_value.is_monotonic_increasing


def test_all_equal_values_score_the_same():
    assert quintile_score(pd.Series([3, 3, 3])).nunique() == 1


def _profile(rows):
    df = pd.DataFrame(rows, columns=["customer_id", "days_since_last_order", "total_orders", "total_revenue"])
    df["as_of_date"] = pd.Timestamp("2021-01-31")
    return df


def test_score_rfm_best_customers_get_5_and_non_buyers_are_excluded():
    df = _profile([
        ("recent", 0, 1, 10.0), ("frequent", 300, 50, 20.0), ("big", 200, 2, 9000.0),
        ("a", 100, 2, 50.0), ("b", 100, 2, 50.0), ("c", 150, 3, 70.0), ("none", None, 0, -5.0),
    ])
    out = score_rfm(df).set_index("customer_id")
    assert "none" not in out.index
    assert out.loc["recent", "r_score"] == 5
    assert out.loc["frequent", "f_score"] == 5
    assert out.loc["big", "m_score"] == 5
    assert out.loc["a", ["r_score", "f_score", "m_score"]].tolist() == out.loc["b", ["r_score", "f_score", "m_score"]].tolist()
    assert (out["rfm_code"] == out["r_score"].astype(str) + out["f_score"].astype(str) + out["m_score"].astype(str)).all()
    assert (out["rfm_total"] == out[["r_score", "f_score", "m_score"]].sum(axis=1)).all()
    assert out["segment"].notna().all() and out["recommended_action"].notna().all()


def test_rfm_on_online_retail_skewed_frequency(online_retail_file):
    """qcut fails here ('Bin edges must be unique'); our scoring must not, and one-time buyers tie."""
    from customer_pipeline.settings import PROFILES
    from customer_pipeline.sources import online_retail

    cs = online_retail.load(online_retail_file, PROFILES["online_retail"])
    acc = cs.lines[(cs.lines["status"] == "accepted") & (cs.lines["order_type"] == "purchase")]
    freq = acc.groupby("customer_id")["order_id"].nunique()
    with pytest.raises(ValueError, match="Bin edges must be unique"):
        pd.qcut(freq, 5)
    s = quintile_score(freq)
    assert (s[freq == 1] == 1).all() and (s[freq == freq.max()] == 5).all()
    assert (freq == 1).mean() > 0.3
