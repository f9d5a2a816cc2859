"""Churn: point-in-time features, forward-only labels, time-ordered evaluation, scoring with reasons."""

from __future__ import annotations

import importlib.util
import os
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from customer_pipeline.analytics.churn import (
    ChurnModel,
    InsufficientLabelsError,
    ModelFormatError,
    build_churn_features,
    build_churn_labels,
    build_training_snapshots,
    risk_level,
    score_customers,
    train_churn_model,
)
from customer_pipeline.sources.saas_demo import generate_saas_demo

DATA_END = date(2024, 12, 31)
AS_OF = date(2024, 6, 30)
SNAPSHOT_DATES = [d.date() for d in pd.date_range("2023-04-30", "2024-09-30", freq="ME")]


@pytest.fixture(scope="module")
def tables():
    return generate_saas_demo(n_customers=2000, seed=7)


@pytest.fixture(scope="module")
def snapshots(tables):
    return build_training_snapshots(tables, SNAPSHOT_DATES, "subscription", 90, DATA_END)


@pytest.fixture(scope="module")
def model(snapshots):
    return train_churn_model(snapshots, kind="subscription", as_of=DATA_END)


# ----------------------------------------------------------------------------- point in time


def _view_as_of(tables: dict, as_of: date) -> dict:
    """What a warehouse loaded at the end of as_of would hold: nothing after it."""
    cut = pd.Timestamp(as_of) + pd.Timedelta(days=1)
    t = {k: v.copy() for k, v in tables.items()}
    t["usage_daily"] = t["usage_daily"][t["usage_daily"]["usage_date"] < cut]
    t["orders"] = t["orders"][t["orders"]["order_ts"] < cut]
    t["nps_responses"] = t["nps_responses"][t["nps_responses"]["responded_at"] < cut]
    t["mrr_changes"] = t["mrr_changes"][t["mrr_changes"]["effective_date"] < cut]
    tk = t["support_tickets"][t["support_tickets"]["opened_at"] < cut].copy()
    tk.loc[tk["closed_at"] >= cut, "closed_at"] = pd.NaT
    t["support_tickets"] = tk
    s = t["subscriptions"][t["subscriptions"]["start_date"] < cut].copy()
    s.loc[s["end_date"] >= cut, "end_date"] = pd.NaT
    s["contract_end_date"] = pd.NaT  # a data-end column: must not matter
    t["subscriptions"] = s
    return t


def _future_rows(tables: dict, as_of: date) -> dict:
    """The full tables plus extra rows stamped at the very first instant after as_of."""
    nxt = pd.Timestamp(as_of) + pd.Timedelta(days=1)
    t = {k: v.copy() for k, v in tables.items()}
    cid = t["subscriptions"].loc[t["subscriptions"]["end_date"].isna(), "customer_id"].iloc[0]
    t["usage_daily"] = pd.concat([t["usage_daily"], pd.DataFrame(
        {"customer_id": [cid], "usage_date": [nxt], "logins": [50], "features_used": [9], "sessions": [60]})])
    t["support_tickets"] = pd.concat([t["support_tickets"], pd.DataFrame(
        {"ticket_id": ["TX"], "customer_id": [cid], "opened_at": [nxt], "closed_at": [pd.NaT], "priority": ["urgent"]})])
    t["nps_responses"] = pd.concat([t["nps_responses"], pd.DataFrame(
        {"response_id": ["NX"], "customer_id": [cid], "responded_at": [nxt], "score": [0]})])
    t["orders"] = pd.concat([t["orders"], pd.DataFrame(
        {"order_id": ["OX"], "customer_id": [cid], "order_ts": [nxt], "amount": [1e6], "order_type": ["purchase"],
         "quantity": [1], "line_count": [1], "country": [None], "channel": [None]})])
    t["mrr_changes"] = pd.concat([t["mrr_changes"], pd.DataFrame(
        {"change_id": ["MX"], "subscription_id": [cid.replace("C", "S")], "customer_id": [cid],
         "effective_date": [nxt], "change_type": ["expansion"], "mrr_before": [1.0], "mrr_after": [1e6],
         "mrr_delta": [1e6 - 1]})])
    return t


@pytest.mark.parametrize("kind", ["subscription", "orders"])
def test_data_after_as_of_changes_no_feature(tables, kind):
    full = build_churn_features(tables, AS_OF, kind)
    pd.testing.assert_frame_equal(full, build_churn_features(_view_as_of(tables, AS_OF), AS_OF, kind))
    pd.testing.assert_frame_equal(full, build_churn_features(_future_rows(tables, AS_OF), AS_OF, kind))


def test_last_second_of_as_of_is_visible(tables):
    """The boundary is inclusive of the whole as_of day: a ticket at 23:59:59 counts."""
    base = build_churn_features(tables, AS_OF).set_index("customer_id")
    cid = base.index[0]
    t = dict(tables)
    t["support_tickets"] = pd.concat([tables["support_tickets"], pd.DataFrame(
        {"ticket_id": ["TL"], "customer_id": [cid], "opened_at": [pd.Timestamp(AS_OF) + pd.Timedelta("23:59:59")],
         "closed_at": [pd.NaT], "priority": ["low"]})])
    after = build_churn_features(t, AS_OF).set_index("customer_id")
    assert after.loc[cid, "open_tickets"] == base.loc[cid, "open_tickets"] + 1


def test_population_is_active_customers_only(tables):
    f = build_churn_features(tables, AS_OF)
    s = tables["subscriptions"].set_index("customer_id")
    ts = pd.Timestamp(AS_OF)
    active = s[(s["start_date"] <= ts) & (s["end_date"].isna() | (s["end_date"] > ts))].index
    assert sorted(f["customer_id"]) == sorted(active)
    assert f["customer_id"].is_unique
    none = f[f["last_nps_state"] == "none"]
    assert len(none) and none["last_nps_score"].isna().all() and none["days_since_last_nps"].isna().all()
    answered = f[f["last_nps_state"] != "none"]
    assert set(answered["last_nps_state"]) == {"promoter", "passive", "detractor"}
    assert np.isfinite(f["login_trend"].dropna()).all()


# ----------------------------------------------------------------------------- labels


def _ts(d: date, hms: str = "00:00:00") -> pd.Timestamp:
    return pd.Timestamp(d) + pd.Timedelta(hms)


def test_order_labels_use_only_the_window_after_as_of():
    as_of = date(2024, 3, 31)
    rows = [  # customer, timestamp
        ("on_as_of", _ts(as_of, "10:00:00")),            # buys on as_of only -> churned
        ("next_day", _ts(as_of, "09:00:00")), ("next_day", _ts(as_of + timedelta(days=1))),
        ("day_90", _ts(as_of, "09:00:00")), ("day_90", _ts(as_of + timedelta(days=90), "23:59:59")),
        ("day_91", _ts(as_of, "09:00:00")), ("day_91", _ts(as_of + timedelta(days=91))),
        ("future_only", _ts(as_of + timedelta(days=3))),  # not a customer yet on as_of
    ]
    orders = pd.DataFrame({"order_id": [f"O{i}" for i in range(len(rows))], "customer_id": [r[0] for r in rows],
                           "order_ts": [r[1] for r in rows], "amount": 10.0, "order_type": "purchase",
                           "quantity": 1, "line_count": 1, "country": None, "channel": None})
    lab = build_churn_labels({"orders": orders}, as_of, "orders", 90, date(2024, 12, 31)).set_index("customer_id")
    assert lab["churned"].to_dict() == {"day_90": 0.0, "day_91": 1.0, "next_day": 0.0, "on_as_of": 1.0}
    # data at or before as_of does not decide a label: add lots of history, labels stay
    history = orders.iloc[[0] * 5].assign(order_id=[f"H{i}" for i in range(5)], customer_id="day_91",
                                          order_ts=[_ts(as_of, "00:00:00") - pd.Timedelta(days=i) for i in range(5)])
    lab2 = build_churn_labels({"orders": pd.concat([orders, history])}, as_of, "orders", 90, date(2024, 12, 31))
    pd.testing.assert_series_equal(lab2.set_index("customer_id")["churned"], lab["churned"])
    # window not fully observed -> no label
    unobs = build_churn_labels({"orders": orders}, as_of, "orders", 90, as_of + timedelta(days=89))
    assert unobs["churned"].isna().all() and not unobs["label_observed"].any()


def test_subscription_labels():
    as_of = date(2024, 3, 31)
    ends = {"ended_on_as_of": as_of, "ends_next_day": as_of + timedelta(days=1),
            "ends_day_90": as_of + timedelta(days=90), "ends_day_91": as_of + timedelta(days=91), "open": None}
    subs = pd.DataFrame({
        "subscription_id": [f"S{i}" for i in range(len(ends))], "customer_id": list(ends),
        "plan_type": "basic", "contract_type": "monthly", "start_date": pd.Timestamp("2024-01-05"),
        "end_date": pd.to_datetime([v for v in ends.values()]), "contract_end_date": pd.NaT, "mrr": 10.0})
    lab = build_churn_labels({"subscriptions": subs}, as_of, "subscription", 90, date(2024, 12, 31))
    assert lab.set_index("customer_id")["churned"].to_dict() == {
        "ends_day_90": 1.0, "ends_day_91": 0.0, "ends_next_day": 1.0, "open": 0.0}  # ended_on_as_of: not scored
    with pytest.raises(ValueError):
        build_churn_labels({"subscriptions": subs}, as_of, "subscription", 90, None)


def test_snapshot_labels_missing_where_window_unobserved(snapshots):
    for d, f in snapshots.items():
        observed = d + timedelta(days=90) <= DATA_END
        assert f["churned"].notna().all() if observed else f["churned"].isna().all()


# ----------------------------------------------------------------------------- model


def test_time_split_metrics_are_realistic(model):
    m = model.metrics
    assert 0.70 < m["roc_auc"] < 0.98, m["roc_auc"]
    assert 0 < m["pr_auc"] <= 1 and 0 < m["brier"] < 0.25 and m["lift_top_decile"] > 1.5
    assert m["test_as_of"] == "2024-09-30"
    # every training label was known on the test date
    assert date.fromisoformat(m["train_window_end"]) + timedelta(days=90) <= date.fromisoformat(m["test_as_of"])
    assert m["n_train"] > m["n_test"] > 0 and m["n_test_positives"] >= 20
    assert "last_nps_state" in m["features"] and "customer_id" not in m["features"]
    assert model.model_version.startswith("churn-subscription-20241231-")
    # calibration: mean predicted ~ observed rate on the holdout
    assert abs(m["positive_rate"] - 0.13) < 0.08


def test_scores_tiers_and_reasons(model, tables):
    feats = build_churn_features(tables, DATA_END)
    s = score_customers(model, feats)
    assert len(s) == len(feats) and s["customer_id"].tolist() == feats["customer_id"].tolist()
    p = s["churn_probability"]
    assert p.between(0, 1).all()
    expected = np.where(p > 0.8, "very high", np.where(p >= 0.6, "high", np.where(p >= 0.4, "medium", "low")))
    assert (s["risk_level"] == expected).all()
    assert s.groupby("risk_level")["recommended_action"].nunique().eq(1).all()
    assert s["recommended_action"].str.len().gt(20).all()
    n_reasons = s["top_risk_factors"].str.split("; ").map(len)
    assert n_reasons.between(1, 3).all()
    assert (s["model_version"] == model.model_version).all()
    # the riskiest customers are explained by the synthetic churn signals in plain words
    top = " ".join(s.nlargest(30, "churn_probability")["top_risk_factors"])
    assert any(w in top for w in ("logins", "login", "NPS", "support ticket", "features", "month-to-month"))
    assert "login_trend" not in top and "_" not in top.replace("month-to-month", "")


def test_risk_level_boundaries():
    assert list(risk_level([0.0, 0.3999, 0.4, 0.5999, 0.6, 0.8, 0.8001, 1.0])) == [
        "low", "low", "medium", "medium", "high", "high", "very high", "very high"]


def test_serialization_round_trip(model, tables):
    feats = build_churn_features(tables, AS_OF)
    blob = model.to_bytes()
    back = ChurnModel.from_bytes(blob)
    assert back.model_version == model.model_version and back.metrics == model.metrics
    np.testing.assert_array_equal(back.predict_proba(feats), model.predict_proba(feats))
    with pytest.raises(ModelFormatError):
        ChurnModel.from_bytes(b"not a model")


def test_training_is_deterministic(snapshots, model):
    again = train_churn_model(snapshots, kind="subscription", as_of=DATA_END)
    assert again.model_version == model.model_version
    assert again.metrics == model.metrics


def test_feature_without_any_training_data_is_left_out_not_a_crash(snapshots, tables):
    """scikit-learn 1.9's HistGradientBoosting crashes on an all-NaN column (early months have no
    90-day trends yet); the model must leave such a feature out and say so."""
    blank = {d: f.assign(mrr_change_pct_90d=np.nan) for d, f in snapshots.items()}
    m = train_churn_model(blank, kind="subscription", as_of=DATA_END)
    assert "mrr_change_pct_90d" not in m.features
    assert m.metrics["features_without_data"] == ["mrr_change_pct_90d"]
    feats = build_churn_features(tables, AS_OF, "subscription")
    assert score_customers(m, feats)["churn_probability"].between(0, 1).all()


def test_too_few_churners_raises(snapshots):
    few = {}
    for d, f in snapshots.items():
        f = f.copy()
        pos = f.index[f["churned"] == 1]
        f.loc[pos[1:], "churned"] = 0.0  # at most one churner per snapshot
        few[d] = f
    with pytest.raises(InsufficientLabelsError):
        train_churn_model(few)
    none = {d: f.assign(churned=f["churned"] * 0) for d, f in snapshots.items()}
    with pytest.raises(InsufficientLabelsError):
        train_churn_model(none)
    unlabelled = {d: f.assign(churned=np.nan) for d, f in snapshots.items()}
    with pytest.raises(InsufficientLabelsError):
        train_churn_model(unlabelled)


def test_orders_kind_end_to_end(tables):
    """The same code runs for an orders-only business (here: the invoices alone)."""
    only_orders = {"orders": tables["orders"]}
    dates = SNAPSHOT_DATES[::2]
    snaps = build_training_snapshots(only_orders, dates, "orders", 90, DATA_END)
    f = snaps[dates[-1]]
    assert set(f.columns) >= {"recency_days", "frequency", "monetary", "orders_last_90d", "spend_trend", "churned"}
    m = train_churn_model(snaps, kind="orders", params={"max_iter": 50})
    s = score_customers(m, f)
    assert s["churn_probability"].between(0, 1).all()
    assert s["top_risk_factors"].str.split("; ").map(len).between(1, 3).all()


# ----------------------------------------------------------------------------- Telco (real data)


def test_telco_benchmark_reaches_published_baseline():
    from customer_pipeline.settings import shared_data_dir  # the project's one rule for ../shared/data

    path = shared_data_dir() / "telco_customer_churn_ibm.csv"
    if not path.exists():
        if os.environ.get("CUSTOMER_PIPELINE_REQUIRE_SHARED_DATA") == "1":
            pytest.fail(f"shared data file missing: {path}")
        pytest.skip(f"shared data file not found: {path} (set CUSTOMER_PIPELINE_SHARED_DATA)")
    bench = Path(__file__).resolve().parents[1] / "bench" / "churn_telco.py"
    spec = importlib.util.spec_from_file_location("churn_telco", bench)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    X, y, notes = mod.load_telco(path)
    assert notes["blank_total_charges_set_to_0"] == 11 and len(X) == 7043
    assert abs(y.mean() - 0.265) < 0.001
    assert mod.run(path)["roc_auc"] >= 0.84


def test_orders_population_leaves_out_customers_lapsed_over_a_year():
    orders = pd.DataFrame({
        "order_id": ["1", "2", "3", "4"], "customer_id": ["old", "recent", "edge", "recent"],
        "order_ts": pd.to_datetime(["2020-01-01", "2020-12-01", "2020-01-02", "2021-02-01"]),
        "amount": [10.0, 20.0, 5.0, 7.0], "order_type": "purchase", "quantity": 1, "line_count": 1,
        "country": None, "channel": None})
    as_of = date(2021, 1, 1)  # 'old' last bought 366 days before, 'edge' exactly 365 days before
    feats = build_churn_features({"orders": orders}, as_of, "orders")
    labels = build_churn_labels({"orders": orders}, as_of, "orders", 90, data_end=date(2021, 6, 30))
    assert list(feats["customer_id"]) == ["edge", "recent"]
    assert list(labels["customer_id"]) == ["edge", "recent"]
    assert labels.set_index("customer_id")["churned"].to_dict() == {"edge": 1.0, "recent": 0.0}


def test_training_rows_are_capped_by_a_seeded_stratified_sample():
    from customer_pipeline.analytics.churn import _cap_rows

    frame = pd.DataFrame({"x": np.arange(10_000), "churned": (np.arange(10_000) % 10 == 0).astype(float)})
    a = _cap_rows(frame, "churned", 1_000, seed=0)
    b = _cap_rows(frame, "churned", 1_000, seed=0)
    assert len(a) == 1_000 and a.equals(b)
    assert a["churned"].mean() == pytest.approx(0.1)
    assert _cap_rows(frame, "churned", 20_000, seed=0) is frame
