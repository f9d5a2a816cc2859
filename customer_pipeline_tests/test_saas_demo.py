"""The saas_demo generator: deterministic, internally consistent, and churn driven by its signals."""

from __future__ import annotations

import time
from datetime import date

import numpy as np
import pandas as pd
import pytest

from customer_pipeline.analytics.churn import build_churn_features, build_churn_labels
from customer_pipeline.sources.saas_demo import TABLE_NAMES, generate_saas_demo

N = 1500
DATA_END = pd.Timestamp("2024-12-31")


@pytest.fixture(scope="module")
def tables():
    return generate_saas_demo(n_customers=N, seed=7)


def test_same_seed_identical_frames(tables):
    again = generate_saas_demo(n_customers=N, seed=7)
    assert set(again) == set(TABLE_NAMES) == set(tables)
    for name in TABLE_NAMES:
        pd.testing.assert_frame_equal(tables[name], again[name], check_exact=True)
    other = generate_saas_demo(n_customers=N, seed=8)
    assert not other["usage_daily"].equals(tables["usage_daily"])


def test_default_size_is_fast_and_ends_in_2024_12():
    t0 = time.perf_counter()
    t = generate_saas_demo()
    assert time.perf_counter() - t0 < 20
    assert len(t["customers"]) == 5000
    for name, col in [("usage_daily", "usage_date"), ("orders", "order_ts"), ("support_tickets", "opened_at"),
                      ("nps_responses", "responded_at"), ("mrr_changes", "effective_date")]:
        assert t[name][col].max() <= DATA_END + pd.Timedelta(hours=23, minutes=59, seconds=59)
    assert t["usage_daily"]["usage_date"].max().strftime("%Y-%m") == "2024-12"
    assert t["marketing_spend"]["month"].max() == pd.Timestamp("2024-12-01")
    assert t["customers"]["signup_date"].min() >= pd.Timestamp("2023-01-01")


def test_columns_and_types(tables):
    o = tables["orders"]
    assert list(o.columns) == ["order_id", "customer_id", "order_ts", "amount", "order_type", "quantity",
                               "line_count", "country", "channel"]
    assert o["order_id"].is_unique and (o["order_type"] == "purchase").all() and (o["amount"] > 0).all()
    assert o["quantity"].dtype == np.int64 and o["line_count"].dtype == np.int64
    s = tables["subscriptions"]
    assert set(s["contract_type"]) == {"monthly", "annual"}
    for name, key in [("customers", "customer_id"), ("subscriptions", "subscription_id"),
                      ("support_tickets", "ticket_id"), ("nps_responses", "response_id"),
                      ("mrr_changes", "change_id")]:
        assert tables[name][key].is_unique
        assert tables[name][key].map(type).eq(str).all()
    assert (tables["usage_daily"]["logins"] > 0).all()
    assert (tables["usage_daily"]["sessions"] >= tables["usage_daily"]["logins"]).all()


def _with_sub(frame, tables, ts_col):
    s = tables["subscriptions"][["customer_id", "start_date", "end_date"]]
    m = frame.merge(s, on="customer_id", how="left", validate="many_to_one")
    assert m["start_date"].notna().all()
    return m, m[ts_col]


def test_no_activity_outside_the_subscription(tables):
    for name, col in [("usage_daily", "usage_date"), ("orders", "order_ts"),
                      ("support_tickets", "opened_at"), ("nps_responses", "responded_at")]:
        m, ts = _with_sub(tables[name], tables, col)
        assert (ts >= m["start_date"]).all(), name
        ended = m["end_date"].notna()
        assert (ts[ended] < m.loc[ended, "end_date"]).all(), f"{name} after churn"


def test_invoices_equal_mrr_in_force_every_billing_period(tables):
    o = tables["orders"].sort_values("order_ts")
    ch = tables["mrr_changes"].sort_values("effective_date")
    m = pd.merge_asof(o, ch[["customer_id", "effective_date", "mrr_after"]], left_on="order_ts",
                      right_on="effective_date", by="customer_id", direction="backward")
    np.testing.assert_allclose(m["amount"], m["mrr_after"].round(2))
    # one invoice per billing period: count = months from start to end (or data end)
    s = tables["subscriptions"].set_index("customer_id")
    last = s["end_date"].fillna(DATA_END + pd.Timedelta(days=1))
    n_expected = ((last.dt.year - s["start_date"].dt.year) * 12 + last.dt.month - s["start_date"].dt.month
                  + (last.dt.day > s["start_date"].dt.day).astype(int))
    n_actual = o.groupby("customer_id").size().reindex(s.index).fillna(0)
    assert (n_actual == n_expected).all()


def test_mrr_log_is_a_consistent_chain(tables):
    ch = tables["mrr_changes"]
    assert (ch.groupby("subscription_id")["change_type"].first() == "new").all()
    for _, g in ch.groupby("subscription_id"):
        assert np.allclose(g["mrr_before"].to_numpy()[1:], g["mrr_after"].to_numpy()[:-1])
    churn = ch[ch["change_type"] == "churn"].set_index("subscription_id")["effective_date"]
    ends = tables["subscriptions"].set_index("subscription_id")["end_date"].dropna()
    pd.testing.assert_series_equal(churn.sort_index(), ends.sort_index(), check_names=False)


def test_nps_tickets_and_contracts_are_valid(tables):
    n = tables["nps_responses"]
    assert n["score"].between(0, 10).all() and n["score"].dtype == np.int64
    t = tables["support_tickets"]
    closed = t["closed_at"].notna()
    assert (t.loc[closed, "closed_at"] > t.loc[closed, "opened_at"]).all()
    assert (t["closed_at"].isna()).any()  # some still open at data end
    assert (t.loc[closed, "closed_at"] <= DATA_END + pd.Timedelta(days=1)).all()
    s = tables["subscriptions"]
    ended = s["end_date"].notna()
    assert (s.loc[ended, "contract_end_date"] == s.loc[ended, "end_date"]).all()
    assert (s.loc[~ended, "contract_end_date"] > DATA_END).all()
    # annual customers only leave at a 12-month renewal
    a = s[ended & (s["contract_type"] == "annual")]
    months = (a["end_date"].dt.year - a["start_date"].dt.year) * 12 + a["end_date"].dt.month - a["start_date"].dt.month
    assert (months % 12 == 0).all() and (a["end_date"].dt.day == a["start_date"].dt.day).all()
    assert set(tables["marketing_spend"]["channel"]) == set(tables["customers"]["acquisition_channel"])


def test_churners_show_the_signals(tables):
    """Across a few snapshots, customers who churn in the next 90 days look different beforehand."""
    rows = []
    for d in [date(2023, 9, 30), date(2024, 1, 31), date(2024, 5, 31), date(2024, 9, 30)]:
        f = build_churn_features(tables, d, "subscription")
        lab = build_churn_labels(tables, d, "subscription", 90, date(2024, 12, 31))
        rows.append(f.merge(lab, on="customer_id"))
    df = pd.concat(rows)
    churn, stay = df[df["churned"] == 1], df[df["churned"] == 0]
    assert 0.05 < df["churned"].mean() < 0.25
    assert churn["logins_last_30d"].mean() < 0.7 * stay["logins_last_30d"].mean()
    assert churn["login_trend"].mean() < stay["login_trend"].mean() - 0.1
    assert churn["features_used_last_30d"].mean() < stay["features_used_last_30d"].mean()
    assert churn["open_tickets"].mean() > stay["open_tickets"].mean()
    det = lambda x: (x["last_nps_state"] == "detractor").sum() / max((x["last_nps_state"] != "none").sum(), 1)  # noqa: E731
    assert det(churn) > det(stay) + 0.1
    assert churn["is_monthly_contract"].mean() > stay["is_monthly_contract"].mean() + 0.1
