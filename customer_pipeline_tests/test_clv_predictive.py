"""Predictive CLV core: BTYD summary vs lifetimes, published fits, CLV units, degradations.

Reference numbers: Fader, Hardie & Lee (2005) on lifetimes' bundled CDNOW 2,357-customer
sample (weekly units) and the full CDNOW master ledger shipped inside the lifetimes wheel.
"""
from __future__ import annotations

from datetime import date
from pathlib import Path

import duckdb
import lifetimes
import numpy as np
import pandas as pd
import pytest
from lifetimes import BetaGeoFitter, GammaGammaFitter, ParetoNBDFitter
from lifetimes.utils import summary_data_from_transaction_data

from customer_pipeline.analytics import clv_predictive as cp
from customer_pipeline.analytics.subscription_clv import (
    expected_lifetime_months,
    subscription_clv,
    survival_lifetime_months,
)

LIFETIMES_DATA = Path(lifetimes.__file__).parent / "datasets"  # never `import lifetimes.datasets`


# ----------------------------------------------------------------------------------------- helpers


def _orders(rows: list[tuple]) -> pd.DataFrame:
    """(customer_id, timestamp, amount[, order_type]) -> orders frame in the input convention."""
    return pd.DataFrame({
        "customer_id": [str(r[0]) for r in rows],
        "order_ts": [pd.Timestamp(r[1]) for r in rows],
        "amount": [float(r[2]) for r in rows],
        "order_type": [r[3] if len(r) > 3 else "purchase" for r in rows],
    })


def _assert_sane(result: cp.ClvResult, horizon: int = 12) -> None:
    """The never-nonsense invariants every snapshot must satisfy."""
    c = result.customers
    clv = c[f"clv_{horizon}m"].to_numpy(dtype=float)
    purch = c[f"predicted_purchases_{horizon}m"].to_numpy(dtype=float)
    assert np.all(np.isfinite(clv)) and np.all(clv >= 0)
    assert np.all(np.isfinite(purch)) and np.all(purch >= 0)
    eov = c["expected_order_value"].to_numpy(dtype=float)
    assert np.all(np.isfinite(eov)) and np.all(eov >= 0)
    fitted = c["model"] != "insufficient_data"
    alive = c.loc[fitted, "probability_alive"].to_numpy(dtype=float)
    assert np.all((alive >= 0) & (alive <= 1))
    assert c.loc[~fitted, "probability_alive"].isna().all()
    assert c["customer_id"].is_unique and c["customer_id"].is_monotonic_increasing
    assert set(result.models["is_chosen"].map(type)) <= {bool}


@pytest.fixture(scope="module")
def cdnow_orders() -> pd.DataFrame:
    raw = pd.read_csv(
        LIFETIMES_DATA / "CDNOW_master.txt", sep=r"\s+", header=None, skiprows=1,
        names=["customer_id", "date", "number_of_cds", "dollar_value"], dtype={"customer_id": str, "date": str},
    )
    return pd.DataFrame({
        "customer_id": raw["customer_id"],
        "order_ts": pd.to_datetime(raw["date"], format="%Y%m%d"),
        "amount": raw["dollar_value"].astype(float),
        "order_type": "purchase",
    })


@pytest.fixture(scope="module")
def cdnow_con(cdnow_orders):
    con = duckdb.connect()
    con.register("orders_df", cdnow_orders)
    con.execute("CREATE TABLE orders AS SELECT * FROM orders_df")
    con.unregister("orders_df")
    yield con
    con.close()


@pytest.fixture(scope="module")
def cdnow_sample() -> pd.DataFrame:
    return pd.read_csv(LIFETIMES_DATA / "cdnow_customers_summary.csv")


@pytest.fixture(scope="module")
def cdnow_sample_spend() -> pd.DataFrame:
    s = pd.read_csv(LIFETIMES_DATA / "cdnow_customers_summary_with_transactions.csv")
    return s.rename(columns={"x": "frequency", "t_x": "recency", "zbar": "monetary_value"})


# ------------------------------------------------------------------------------- 1. BTYD summary


@pytest.mark.parametrize("as_of", [date(1997, 9, 30), date(1998, 6, 30)])
def test_btyd_summary_equals_lifetimes_on_cdnow_master(cdnow_con, cdnow_orders, as_of):
    """DuckDB summary == lifetimes' summary (freq='D', freq_multiplier=7), customer by customer."""
    ours = cp.btyd_summary(cdnow_con, "orders", as_of)
    ref = summary_data_from_transaction_data(
        cdnow_orders, "customer_id", "order_ts", monetary_value_col="amount",
        observation_period_end=pd.Timestamp(as_of), freq="D", freq_multiplier=7,
    ).reset_index()
    assert len(ours) == len(ref) == 23_570
    assert list(ours["customer_id"]) == sorted(ref["customer_id"])
    assert ours.index.equals(pd.RangeIndex(len(ours)))
    merged = ours.merge(ref, on="customer_id", suffixes=("", "_lt"), validate="one_to_one")
    for col in ["frequency", "recency", "T", "monetary_value"]:
        np.testing.assert_allclose(merged[col], merged[f"{col}_lt"], rtol=0, atol=1e-9, err_msg=col)


def test_btyd_summary_rules():
    """Cancellations ignored, same-day purchases merged, first day excluded from spend,
    as_of inclusive to 23:59:59, weekly units."""
    rows = [
        ("a", "2024-01-01 09:00", 10.0),
        ("a", "2024-01-01 18:00", 5.0),          # same day: one transaction of 15
        ("a", "2024-01-08 10:00", 20.0),
        ("a", "2024-01-15 10:00", 40.0),
        ("a", "2024-01-16 10:00", -40.0, "cancellation"),
        ("a", "2024-01-29 23:59:59", 30.0),      # on as_of: counts
        ("a", "2024-01-30 00:00:00", 99.0),      # after as_of: ignored
        ("b", "2024-01-22 12:00", 7.0),
        ("c", "2024-01-20 12:00", -5.0, "cancellation"),  # only a cancellation: not a customer
    ]
    con = duckdb.connect()
    s = cp.btyd_summary(con, _orders(rows), date(2024, 1, 29))
    assert list(s["customer_id"]) == ["a", "b"]
    a = s.iloc[0]
    assert a["frequency"] == 3
    assert a["recency"] == pytest.approx(28 / 7)
    assert a["T"] == pytest.approx(28 / 7)
    assert a["monetary_value"] == pytest.approx((20 + 40 + 30) / 3)
    assert a["first_day_spend"] == pytest.approx(15.0)
    b = s.iloc[1]
    assert (b["frequency"], b["recency"], b["T"], b["monetary_value"]) == (0, 0.0, 1.0, 0.0)
    # daily units
    d = cp.btyd_summary(con, _orders(rows), date(2024, 1, 29), time_unit_days=1)
    assert d.iloc[0]["T"] == 28.0


def test_btyd_summary_time_zones():
    """Aware timestamps (mixed zones) are converted to UTC, then made naive: documented rule."""
    naive_utc = _orders([
        ("a", "2024-03-01 23:30", 10.0),   # 2024-03-02 01:30+02:00
        ("a", "2024-03-02 04:00", 20.0),   # 2024-03-01 23:00-05:00 -> same UTC day as next
        ("a", "2024-03-05 12:00", 30.0),
    ])
    mixed = naive_utc.copy()
    mixed["order_ts"] = pd.Series([
        pd.Timestamp("2024-03-02 01:30", tz="Europe/Helsinki"),
        pd.Timestamp("2024-03-01 23:00", tz="America/New_York"),
        pd.Timestamp("2024-03-05 12:00", tz="UTC"),
    ], dtype=object)
    con = duckdb.connect()
    expected = cp.btyd_summary(con, naive_utc, date(2024, 3, 10))
    got_mixed = cp.btyd_summary(con, mixed, date(2024, 3, 10))
    pd.testing.assert_frame_equal(got_mixed, expected)
    assert expected.iloc[0]["frequency"] == 2  # 03-01, 03-02, 03-05 in UTC
    # a single aware zone, and a TIMESTAMPTZ DuckDB table, give the same summary
    aware = naive_utc.copy()
    aware["order_ts"] = aware["order_ts"].dt.tz_localize("UTC").dt.tz_convert("Asia/Tokyo")
    pd.testing.assert_frame_equal(cp.btyd_summary(con, aware, date(2024, 3, 10)), expected)
    con.execute("SET TimeZone = 'America/Los_Angeles'")
    con.register("aware_df", aware)
    con.execute("CREATE TABLE tz_orders AS SELECT * FROM aware_df")
    assert "TIME ZONE" in con.execute("DESCRIBE tz_orders").df().set_index("column_name").loc["order_ts", "column_type"]
    pd.testing.assert_frame_equal(cp.btyd_summary(con, "tz_orders", date(2024, 3, 10)), expected)
    # a DuckDB relation is accepted too, and nothing temporary is left behind
    before = set(con.execute("SELECT table_name FROM information_schema.tables").df()["table_name"])
    pd.testing.assert_frame_equal(cp.btyd_summary(con, con.table("tz_orders"), date(2024, 3, 10)), expected)
    after = set(con.execute("SELECT table_name FROM information_schema.tables").df()["table_name"])
    assert before == after


# ------------------------------------------------------------------- 2. published parameters


def test_published_cdnow_parameters(cdnow_sample, cdnow_sample_spend):
    """Compressed weighted fits reproduce Fader-Hardie-Lee (2005) on the 2,357-customer sample."""
    comp = cp.compress_summary(cdnow_sample)
    assert comp["weight"].sum() == 2357 and len(comp) < 1100
    bg = cp.fit_purchase_model("bg_nbd", comp["frequency"], comp["recency"], comp["T"], comp["weight"])
    assert bg.ok and bg.penalizer_coef == 0
    for k, v in {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}.items():
        assert bg.params[k] == pytest.approx(v, abs=6e-4), k
    assert bg.log_likelihood == pytest.approx(-9582.4, abs=0.1)  # published LL
    x = cp.expected_purchases(bg.fitter, 39, [2], [30.43], [38.86])
    assert x[0] == pytest.approx(1.226, abs=5e-4)

    pnbd = cp.fit_purchase_model("pareto_nbd", comp["frequency"], comp["recency"], comp["T"], comp["weight"])
    assert pnbd.ok
    for k, v in {"r": 0.553, "alpha": 10.578, "s": 0.606, "beta": 11.669}.items():
        assert pnbd.params[k] == pytest.approx(v, abs=2e-3), k
    assert pnbd.log_likelihood == pytest.approx(-9595.0, abs=0.1)

    mbg = cp.fit_purchase_model("mbg_nbd", comp["frequency"], comp["recency"], comp["T"], comp["weight"])
    assert mbg.ok and mbg.log_likelihood > bg.log_likelihood - 50  # fits comparably

    rep = cdnow_sample_spend[cdnow_sample_spend["frequency"] > 0]
    assert len(rep) == 946
    gg = cp.fit_gamma_gamma(rep["frequency"], rep["monetary_value"])
    assert gg.ok and gg.n_customers == 946
    for k, v in {"p": 6.25, "q": 3.74, "v": 15.44}.items():
        assert f"{gg.params[k]:.3g}" == f"{v:.3g}", (k, gg.params[k])


def test_compressed_fit_equals_full_fit(cdnow_sample):
    """Weights give the same optimum as one row per customer (what makes the fit fast)."""
    comp = cp.compress_summary(cdnow_sample)
    ours = cp.fit_purchase_model("bg_nbd", comp["frequency"], comp["recency"], comp["T"], comp["weight"])
    full = BetaGeoFitter().fit(cdnow_sample["frequency"], cdnow_sample["recency"], cdnow_sample["T"])
    for k in ["r", "alpha", "a", "b"]:
        assert ours.params[k] == pytest.approx(full.params_[k], rel=1e-6)


def test_analytic_likelihoods_equal_lifetimes_value_gradient_and_hessian(cdnow_sample, cdnow_sample_spend):
    """Our BG/NBD and Gamma-Gamma objectives are lifetimes' own negative log-likelihoods (weighted
    mean, log-parameters, penalty): same value and autograd gradient/Hessian, away from the optimum."""
    from autograd import hessian, value_and_grad

    comp = cp.compress_summary(cdnow_sample)
    f = comp["frequency"].to_numpy()
    scale = 1 / comp["T"].max()
    rec, age, w = comp["recency"].to_numpy() * scale, comp["T"].to_numpy() * scale, comp["weight"].to_numpy()
    rep = cdnow_sample_spend[cdnow_sample_spend["frequency"] > 0]
    x, m = rep["frequency"].to_numpy(dtype=float), rep["monetary_value"].to_numpy(dtype=float)
    gw = np.arange(len(x)) % 3 + 1.0  # uneven weights
    cases = [
        (cp._BgNbdObjective, BetaGeoFitter._negative_log_likelihood, (f, rec, age, w),
         [np.full(4, 0.1), np.array([-1.4, 0.5, -0.2, 0.9]), np.array([0.3, -2.0, 1.0, -1.0])]),
        (cp._GammaGammaObjective, GammaGammaFitter._negative_log_likelihood, (x, m, gw),
         [np.full(3, 0.1), np.array([1.8, 1.3, 2.7]), np.array([0.3, -1.0, 4.0])]),
    ]
    for objective_cls, lifetimes_nll, data, points in cases:
        for pen in [0.0, 0.01]:
            obj = objective_cls(*data, pen)
            for z in points:
                value, grad = obj.value_and_grad(z)
                ref_value, ref_grad = value_and_grad(lifetimes_nll)(z, *data, pen)
                assert value == pytest.approx(ref_value, rel=1e-12)
                np.testing.assert_allclose(grad, ref_grad, rtol=1e-9, atol=1e-12)
                np.testing.assert_allclose(obj.hessian(z), hessian(lifetimes_nll)(z, *data, pen), rtol=1e-6, atol=1e-8)


def test_fast_fitters_equal_lifetimes_fit(cdnow_sample, cdnow_sample_spend):
    """The analytic-gradient fitters reproduce lifetimes' fit (params, standard errors, LL) on
    CDNOW, stay lifetimes fitters, and predict exactly as lifetimes' methods do."""
    comp = cp.compress_summary(cdnow_sample)
    fast = cp._fast_bg_class()().fit(comp["frequency"], comp["recency"], comp["T"], weights=comp["weight"])
    ref = BetaGeoFitter().fit(cdnow_sample["frequency"], cdnow_sample["recency"], cdnow_sample["T"])
    assert isinstance(fast, BetaGeoFitter)
    np.testing.assert_allclose(fast.params_[["r", "alpha", "a", "b"]], ref.params_[["r", "alpha", "a", "b"]], rtol=1e-6)
    np.testing.assert_allclose(fast.standard_errors_, ref.standard_errors_, rtol=1e-4)
    assert fast._negative_log_likelihood_ == pytest.approx(ref._negative_log_likelihood_, rel=1e-9)
    # predictions: per-(x, T) hypergeometric terms give lifetimes' numbers, for large and small inputs
    f, r, t_age = (cdnow_sample[c].to_numpy(dtype=float) for c in ["frequency", "recency", "T"])
    for t in [1.0, 39.0, 52 * 5]:
        np.testing.assert_allclose(
            fast.conditional_expected_number_of_purchases_up_to_time(t, f, r, t_age),
            BetaGeoFitter.conditional_expected_number_of_purchases_up_to_time(fast, t, f, r, t_age), rtol=1e-12)
    assert fast.predict(39, 2, 30.43, 38.86) == pytest.approx(1.226, abs=5e-4)  # scalars: lifetimes' own path
    curve = fast._expected_purchases_curve([4.0, 8.0], f, r, t_age)
    np.testing.assert_allclose(curve[1], ref.conditional_expected_number_of_purchases_up_to_time(8.0, f, r, t_age),
                               rtol=1e-5)
    # Gamma-Gamma, weighted (compressed) and not
    rep = cdnow_sample_spend[cdnow_sample_spend["frequency"] > 0]
    gg_ref = GammaGammaFitter().fit(rep["frequency"], rep["monetary_value"])
    gg_fast = cp._fast_gamma_gamma_class()().fit(rep["frequency"], rep["monetary_value"])
    assert isinstance(gg_fast, GammaGammaFitter)
    np.testing.assert_allclose(gg_fast.params_, gg_ref.params_, rtol=1e-6)
    np.testing.assert_allclose(gg_fast.standard_errors_, gg_ref.standard_errors_, rtol=1e-4)
    gg_comp = cp._compress_spend(cdnow_sample_spend)
    assert gg_comp["weight"].sum() == 946
    gg_w = cp.fit_gamma_gamma(gg_comp["frequency"], gg_comp["monetary_value"], gg_comp["weight"])
    np.testing.assert_allclose([gg_w.params[k] for k in "pqv"], gg_ref.params_[["p", "q", "v"]], rtol=1e-6)


def test_discounted_clv_curve_path_equals_month_by_month(cdnow_sample):
    """discounted_clv takes all 12 horizons from the fast fitter at once; same numbers as calling
    lifetimes' conditional expectation month by month."""
    comp = cp.compress_summary(cdnow_sample)
    bg = cp.fit_purchase_model("bg_nbd", comp["frequency"], comp["recency"], comp["T"], comp["weight"])
    plain = BetaGeoFitter()
    plain.params_ = bg.fitter.params_.copy()
    args = (comp["frequency"], comp["recency"], comp["T"], np.full(len(comp), 40.0))
    kw = dict(horizon_months=12, monthly_discount_rate=0.01, time_unit_days=7)
    for got, want in zip(cp.discounted_clv(bg.fitter, *args, **kw), cp.discounted_clv(plain, *args, **kw)):
        np.testing.assert_allclose(got, want, rtol=1e-12)


def test_grouping_helpers_equal_pandas_groupby():
    """_compress_with_codes / _compress_spend give pandas' sorted groups (dense and hashed key paths)."""
    rng = np.random.default_rng(11)
    n = 5000
    for n_t in [40, 5000]:  # small key space (counting) and large (hashing)
        freq = rng.integers(0, 6, n)
        summary = pd.DataFrame({
            "frequency": freq,
            "recency": np.where(freq > 0, rng.integers(0, 30, n) / 7, 0.0),
            "T": 30 / 7 + rng.integers(0, n_t, n) / 7,
            "monetary_value": np.where(freq > 0, rng.integers(-2, 40, n) / 4, 0.0),
        }).sample(frac=1.0, random_state=1).reset_index(drop=True)
        codes, comp = cp._compress_with_codes(summary)
        grouped = summary.groupby(["frequency", "recency", "T"], sort=True)
        ref = grouped.size().rename("weight").reset_index()
        pd.testing.assert_frame_equal(comp, ref.astype({"frequency": "int64", "weight": "int64"}))
        np.testing.assert_array_equal(codes, grouped.ngroup().to_numpy())
        pd.testing.assert_frame_equal(cp.compress_summary(summary), comp)
        spend = cp._compress_spend(summary)
        rep = summary[(summary["frequency"] > 0) & (summary["monetary_value"] > 0)]
        ref_spend = rep.groupby(["frequency", "monetary_value"], sort=True).size().rename("weight").reset_index()
        pd.testing.assert_frame_equal(spend, ref_spend.astype({"weight": "int64"}))
    empty = summary.iloc[:0]
    assert len(cp._compress_with_codes(empty)[1]) == 0 and len(cp._compress_spend(empty)) == 0


def test_btyd_summary_repeat_spend_is_exact():
    """Repeat spend = total - first day in DECIMAL: cents that cancel give exactly 0 (flagged as
    non-positive), never a float residue like 5.5e-17."""
    rows = [("a", "2024-01-01", 0.1), ("a", "2024-01-02", 0.2), ("a", "2024-01-03", 0.7),
            ("a", "2024-01-04", -0.9), ("b", "2024-01-01", 0.3), ("b", "2024-01-05", 0.1),
            ("b", "2024-01-05", 0.2)]
    s = cp.btyd_summary(duckdb.connect(), _orders(rows), date(2024, 1, 10)).set_index("customer_id")
    assert s.loc["a", "frequency"] == 3 and s.loc["a", "monetary_value"] == 0.0
    assert s.loc["a", "first_day_spend"] == 0.1
    assert s.loc["b", "frequency"] == 1 and s.loc["b", "monetary_value"] == 0.3


# ------------------------------------------------------------------------------ 4. CLV units


def test_clv_agrees_with_lifetimes_called_with_weekly_units(cdnow_sample_spend):
    """lifetimes' customer_lifetime_value assumes daily model units unless freq='W' is passed.

    Our discounted_clv converts months to model units itself; with lifetimes' own 4.345
    weeks/month it reproduces lifetimes(freq='W') (36.28 for customer 1), with the calendar
    month (4.348 weeks) it is within 0.2 %, and it is nowhere near the freq='D' figure (140.10).
    """
    s = cdnow_sample_spend
    # lifetimes, the documented way, one row per customer
    bgf = BetaGeoFitter().fit(s["frequency"], s["recency"], s["T"])
    rep = s[s["frequency"] > 0]
    ggf = GammaGammaFitter().fit(rep["frequency"], rep["monetary_value"])
    ref_w = ggf.customer_lifetime_value(bgf, s["frequency"], s["recency"], s["T"], s["monetary_value"],
                                        time=12, discount_rate=0.01, freq="W")
    ref_d = ggf.customer_lifetime_value(bgf, s["frequency"], s["recency"], s["T"], s["monetary_value"],
                                        time=12, discount_rate=0.01)
    assert ref_w.iloc[0] == pytest.approx(36.3, abs=0.05)
    assert ref_d.iloc[0] == pytest.approx(140.10, abs=0.01)

    # ours: compressed fits, our own order value and discounting
    comp = cp.compress_summary(s)
    bg = cp.fit_purchase_model("bg_nbd", comp["frequency"], comp["recency"], comp["T"], comp["weight"])
    gg = cp.fit_gamma_gamma(s["frequency"], s["monetary_value"])
    eov, basis = cp.expected_order_value(s, gg, fallback_value=0.0)
    assert basis[0] == "gamma_gamma"
    first = s.iloc[:5]
    _, clv_lt_month = cp.discounted_clv(bg.fitter, first["frequency"], first["recency"], first["T"], eov[:5],
                                        horizon_months=12, monthly_discount_rate=0.01, time_unit_days=7,
                                        days_per_month=4.345 * 7)
    np.testing.assert_allclose(clv_lt_month, ref_w.iloc[:5], rtol=1e-6)
    _, clv_cal = cp.discounted_clv(bg.fitter, first["frequency"], first["recency"], first["T"], eov[:5],
                                   horizon_months=12, monthly_discount_rate=0.01, time_unit_days=7)
    np.testing.assert_allclose(clv_cal, ref_w.iloc[:5], rtol=2e-3)
    assert clv_cal[0] < 40


def test_discounting_formula_by_hand():
    """clv = sum_m (E[N(m)] - E[N(m-1)]) x value x margin / (1+i)^m with months in model units."""

    class Linear:  # E[N(t)] = 0.5 t: a stand-in model with a known answer
        def conditional_expected_number_of_purchases_up_to_time(self, t, f, r, T):
            return 0.5 * t * np.ones_like(np.asarray(f, dtype=float))

    rate = 1.1 ** (1 / 12) - 1
    purch, clv = cp.discounted_clv(Linear(), [0], [0], [1], [20.0], horizon_months=12,
                                   monthly_discount_rate=rate, time_unit_days=7, margin=0.3)
    per_month = 0.5 * (365.25 / 12 / 7)
    expected = sum(per_month * 20 * 0.3 / (1 + rate) ** m for m in range(1, 13))
    assert purch[0] == pytest.approx(12 * per_month)
    assert clv[0] == pytest.approx(expected)


# ----------------------------------------------------------------- 3./4. the stage on CDNOW


def test_predict_clv_cdnow_master_1997_09_30_has_bgnbd_fit_and_holdout(cdnow_con, cdnow_orders):
    """As of 1997-09-30 the snapshot holds 39 weeks: the holdout is shortened to 19 weeks (two
    equal halves) rather than skipped, so every model carries holdout metrics; BG/NBD is fitted on
    all 23,570 customers."""
    res = cp.predict_clv(cdnow_con, "orders", date(1997, 9, 30))
    _assert_sane(res)
    c = res.customers
    assert len(c) == 23_570
    assert list(c.columns[:10]) == ["customer_id", "frequency", "recency", "T", "monetary_value",
                                    "predicted_purchases_12m", "probability_alive", "expected_order_value",
                                    "clv_12m", "model"]
    assert c["model"].nunique() == 1 and c["model"].iloc[0] == res.metadata["chosen_model"]
    assert res.metadata["time_unit"] == "week" and res.metadata["holdout_weeks"] == 19
    assert any("holdout shortened" in msg for msg in res.messages)
    # holdout actuals recomputed independently: distinct purchase days after calibration end
    # (1997-09-30 minus 133 days) of the customers who had bought by then
    cal_end = pd.Timestamp("1997-09-30") - pd.Timedelta(days=133)
    o = cdnow_orders.assign(day=cdnow_orders["order_ts"].dt.normalize())
    known = set(o.loc[o["day"] <= cal_end, "customer_id"])
    hold = o[(o["day"] > cal_end) & (o["day"] <= pd.Timestamp("1997-09-30")) & o["customer_id"].isin(known)]
    expected_actual = hold.drop_duplicates(["customer_id", "day"]).shape[0]
    purchase_models = res.models[res.models["model"] != "gamma_gamma"]
    assert (purchase_models["holdout_status"] == "ok").all()
    assert (purchase_models["holdout_actual_total"] == expected_actual).all()
    assert purchase_models["holdout_mae"].notna().all() and purchase_models["holdout_predicted_total"].notna().all()
    chosen = purchase_models.loc[purchase_models["is_chosen"], "model"].iloc[0]
    assert chosen == purchase_models.sort_values("holdout_mae")["model"].iloc[0]
    assert not res.holdout_bins.empty
    bg = res.models[res.models["model"] == "bg_nbd"].set_index("parameter")
    assert (bg["n_customers"] == 23_570).all() and (bg["fit_status"] == "ok").all()
    m = res.models
    assert set(m["model"]) == {"bg_nbd", "mbg_nbd", "pareto_nbd", "gamma_gamma"}
    assert len(m) == 4 + 4 + 4 + 3
    assert m.loc[m["model"] == chosen, "is_chosen"].all()
    assert not m.loc[~m["model"].isin([chosen, "gamma_gamma"]), "is_chosen"].any()
    assert (m.loc[m["model"] != "gamma_gamma", "time_unit"] == "week").all()
    assert (m["n_customers"].iloc[0] == 23_570) and (m["fit_status"] == "ok").all()
    # the one CDNOW customer whose repeat spend is $0 is excluded from Gamma-Gamma and flagged
    flagged = c[c["order_value_basis"] == "population_mean_non_positive_spend"]
    assert len(flagged) >= 1
    assert flagged["expected_order_value"].iloc[0] == pytest.approx(res.metadata["gamma_gamma_population_mean"])
    # a sensible total: 12-month repeat purchases of the same order as the 1997 repeat volume
    assert 10_000 < c["predicted_purchases_12m"].sum() < 40_000


def test_predict_clv_cdnow_master_holdout_and_choice(cdnow_con):
    """As of 1998-06-30: 26-week holdout, metrics per model, bins 0..6, 7+, lowest MAE chosen."""
    res = cp.predict_clv(cdnow_con, "orders", date(1998, 6, 30))
    _assert_sane(res)
    per_model = res.models.drop_duplicates("model").set_index("model")
    purchase = per_model.drop(index="gamma_gamma")
    assert (purchase["holdout_status"] == "ok").all()
    assert res.metadata["calibration_end"] == date(1997, 12, 30)
    best = purchase["holdout_mae"].idxmin()
    assert res.metadata["chosen_model"] == best and bool(purchase.loc[best, "is_chosen"])
    assert (res.customers["model"] == best).all()
    assert "lowest holdout MAE" in res.metadata["choice_reason"]
    # holdout actuals are real purchase days: the same for every model
    assert purchase["holdout_actual_total"].nunique() == 1
    assert ((purchase["holdout_predicted_total"] / purchase["holdout_actual_total"]).between(0.7, 1.3)).all()
    bins = res.holdout_bins
    assert list(bins.loc[bins["model"] == "bg_nbd", "frequency_bin"]) == ["0", "1", "2", "3", "4", "5", "6", "7+"]
    n_bins = bins.groupby("model")["n_customers"].sum()
    assert (n_bins == purchase["holdout_n_customers"].astype(int)).all()
    # heavy buyers exist here (170 repeat days); every model still gives finite numbers
    assert res.customers["frequency"].max() > 100
    assert not any("could not be fitted" in msg for msg in res.messages)


def test_predict_clv_is_independent_of_input_order(cdnow_orders):
    """Customers aligned by customer_id: shuffled orders give identical tables."""
    ids = sorted(cdnow_orders["customer_id"].unique())[:1500]
    subset = cdnow_orders[cdnow_orders["customer_id"].isin(ids)]
    shuffled = subset.sample(frac=1.0, random_state=7).reset_index(drop=True)
    con = duckdb.connect()
    a = cp.predict_clv(con, subset, date(1997, 12, 31), holdout_weeks=0)
    b = cp.predict_clv(con, shuffled, date(1997, 12, 31), holdout_weeks=0)
    _assert_sane(a)
    pd.testing.assert_frame_equal(a.customers, b.customers, rtol=1e-9)
    pd.testing.assert_frame_equal(a.models, b.models, rtol=1e-9)
    assert any("holdout disabled" in m for m in a.messages)


# --------------------------------------------------------------------- 5. never nonsense


def _repeat_buyers(n: int, seed: int = 0, start: str = "2023-01-01", weeks: int = 52) -> list[tuple]:
    """BG/NBD-like customers: gamma-distributed weekly rates, beta dropout after each purchase,
    first purchases spread over the first 8 weeks, gamma spend per order."""
    rng = np.random.default_rng(seed)
    t0 = pd.Timestamp(start)
    rows = []
    for i in range(n):
        lam = rng.gamma(0.6, 1 / 4.0)          # purchases per week
        p_drop = rng.beta(0.8, 2.5)
        t = rng.uniform(0, 8)                   # weeks
        rows.append((f"c{i:04d}", t0 + pd.Timedelta(days=7 * t), float(rng.gamma(5, 8))))
        while True:
            t += rng.exponential(1 / lam)
            if t >= weeks:
                break
            rows.append((f"c{i:04d}", t0 + pd.Timedelta(days=7 * t), float(rng.gamma(5, 8))))
            if rng.random() < p_drop:
                break
    return rows


def test_non_positive_repeat_spend_is_excluded_and_flagged():
    rows = _repeat_buyers(300)
    rows += [("zz_zero", "2023-01-05", 25.0), ("zz_zero", "2023-02-05", 0.0), ("zz_zero", "2023-03-05", 0.0)]
    rows += [("zz_neg", "2023-01-05", 25.0), ("zz_neg", "2023-02-05", -3.0)]  # a negative "purchase" line
    res = cp.predict_clv(duckdb.connect(), _orders(rows), date(2023, 12, 31), holdout_weeks=0)
    _assert_sane(res)
    c = res.customers.set_index("customer_id")
    for cid in ["zz_zero", "zz_neg"]:
        assert c.loc[cid, "order_value_basis"] == "population_mean_non_positive_spend"
        assert c.loc[cid, "expected_order_value"] == pytest.approx(res.metadata["gamma_gamma_population_mean"])
    gg_n = res.models.loc[res.models["model"] == "gamma_gamma", "n_customers"].iloc[0]
    assert gg_n == int(((c["frequency"] > 0) & (c["monetary_value"] > 0)).sum())
    assert any("zero/negative repeat spend" in m for m in res.messages)


def test_no_repeat_buyers_gives_insufficient_data():
    rows = [(f"c{i}", f"2023-0{1 + i % 9}-1{i % 10}", 10.0 + i) for i in range(40)]
    res = cp.predict_clv(duckdb.connect(), _orders(rows), date(2023, 12, 31))
    _assert_sane(res)
    c = res.customers
    assert (c["model"] == "insufficient_data").all()
    assert (c["predicted_purchases_12m"] == 0).all() and (c["clv_12m"] == 0).all()
    assert c["probability_alive"].isna().all()
    assert (c["order_value_basis"] == "fallback_mean_first_purchase").all()
    assert c["expected_order_value"].iloc[0] == pytest.approx(np.mean([10.0 + i for i in range(40)]))
    text = " ".join(res.messages)
    assert "no repeat buyers" in text and "Gamma-Gamma not usable" in text and "insufficient_data" in text
    assert (res.models["fit_status"] == "failed").all() and not res.models["is_chosen"].any()


def test_gamma_gamma_q_not_above_one_falls_back():
    """Very heavy-tailed spend makes q <= 1 (no finite mean): GG rejected, fallback, message."""
    rng = np.random.default_rng(3)
    n = 3000
    nu = rng.gamma(0.6, 1 / 10.0, size=n)           # q = 0.6 < 1
    freq = rng.integers(1, 6, size=n)
    spend = rng.gamma(freq * 4.0, 1.0 / nu) / freq  # mean of x Gamma(p=4, nu) spends
    gg = cp.fit_gamma_gamma(freq, spend)
    assert not gg.ok and "q =" in gg.detail and gg.params["q"] <= 1
    eov, basis = cp.expected_order_value(
        pd.DataFrame({"frequency": freq, "monetary_value": spend}), gg, fallback_value=12.5)
    assert (eov == 12.5).all() and (basis == "fallback_mean_first_purchase").all()


def test_fit_retries_with_penalizer_then_fails_cleanly(monkeypatch):
    """A fit that raises is retried with penalizer 0.001, then 0.01; total failure is flagged."""
    from lifetimes.utils import ConvergenceError

    real = cp._make_purchase_fitter
    calls = []

    def flaky(name, pen):
        fitter = real(name, pen)
        calls.append((name, pen))
        if name == "bg_nbd" and pen < 0.001 or name == "mbg_nbd":
            def boom(*a, **k):
                raise ConvergenceError("The model did not converge.")
            fitter.fit = boom
        return fitter

    monkeypatch.setattr(cp, "_make_purchase_fitter", flaky)
    rows = _repeat_buyers(200, seed=1)
    con = duckdb.connect()
    comp = cp.compress_summary(cp.btyd_summary(con, _orders(rows), date(2023, 12, 31)))
    bg = cp.fit_purchase_model("bg_nbd", comp["frequency"], comp["recency"], comp["T"], comp["weight"])
    assert bg.ok and bg.penalizer_coef == 0.001 and "ConvergenceError" in bg.attempts[0]
    mbg = cp.fit_purchase_model("mbg_nbd", comp["frequency"], comp["recency"], comp["T"], comp["weight"])
    assert not mbg.ok and len(mbg.attempts) == 3
    assert [p for n, p in calls if n == "mbg_nbd"] == [0.0, 0.001, 0.01]
    # in the stage: bg_nbd penalised (message), mbg_nbd failed (message, NaN params, not chosen)
    res = cp.predict_clv(con, _orders(rows), date(2023, 12, 31), holdout_weeks=0)
    _assert_sane(res)
    text = " ".join(res.messages)
    assert "bg_nbd converged only with penalizer_coef=0.001" in text
    assert "mbg_nbd could not be fitted" in text
    mrow = res.models[res.models["model"] == "mbg_nbd"]
    assert mrow["value"].isna().all() and (mrow["fit_status"] == "failed").all()

    # when every purchase model fails: insufficient_data, not a crash
    def always_fail(name, pen):
        fitter = real(name, pen)
        fitter.fit = lambda *a, **k: (_ for _ in ()).throw(ConvergenceError("no"))
        return fitter

    monkeypatch.setattr(cp, "_make_purchase_fitter", always_fail)
    res = cp.predict_clv(con, _orders(rows), date(2023, 12, 31), holdout_weeks=0)
    _assert_sane(res)
    assert (res.customers["model"] == "insufficient_data").all()


@pytest.mark.parametrize("n_customers", [1, 2, 10])
def test_tiny_datasets_do_not_crash(n_customers):
    rows = _repeat_buyers(n_customers, seed=n_customers)
    rows.append(("c0000", "2023-06-01", 12.0))  # at least one repeat buyer
    res = cp.predict_clv(duckdb.connect(), _orders(rows), date(2023, 12, 31))
    _assert_sane(res)
    assert len(res.customers) == n_customers
    assert any("holdout skipped" in m for m in res.messages)
    assert any("unreliable" in m for m in res.messages)


def test_empty_snapshot():
    rows = [("a", "2024-05-01", 10.0)]
    res = cp.predict_clv(duckdb.connect(), _orders(rows), date(2024, 1, 1))
    assert res.customers.empty and "predicted_purchases_12m" in res.customers.columns
    assert any("no purchases" in m for m in res.messages)


def test_heavy_buyers_give_finite_results():
    """Hundreds of purchase days (and the last one on as_of) must not overflow any model."""
    rows = _repeat_buyers(400, seed=5)
    start = pd.Timestamp("2023-01-02")
    for j in range(3):
        rows += [(f"heavy{j}", start + pd.Timedelta(days=d), 30.0 + j) for d in range(0, 363, 1 + j)]
    con = duckdb.connect()
    summary = cp.btyd_summary(con, _orders(rows), date(2023, 12, 31))
    assert summary["frequency"].max() == 362
    comp = cp.compress_summary(summary)
    for name in cp.PURCHASE_MODELS:
        fm = cp.fit_purchase_model(name, comp["frequency"], comp["recency"], comp["T"], comp["weight"])
        assert fm.ok, (name, fm.detail)
        _, clv = cp.discounted_clv(fm.fitter, summary["frequency"], summary["recency"], summary["T"],
                                   np.full(len(summary), 30.0), monthly_discount_rate=0.008)
        alive = cp.probability_alive(fm.fitter, summary["frequency"], summary["recency"], summary["T"])
        assert np.all(np.isfinite(clv)) and np.all(clv >= 0), name
        assert np.all(np.isfinite(alive)), name
        heavy = summary["customer_id"].str.startswith("heavy").to_numpy()
        assert clv[heavy].min() > clv[~heavy].max() * 0.5, name
    res = cp.predict_clv(con, _orders(rows), date(2023, 12, 31), holdout_weeks=0)
    _assert_sane(res)


def test_pareto_likelihood_is_finite_for_heavy_buyers():
    """lifetimes' Pareto/NBD _log_A_0 gives NaN when recency == T for heavy buyers (SciPy's
    logsumexp with b=[1,-1] on equal large terms) and +inf when hyp2f1 overflows (x in the
    hundreds, z near 1); our subclass returns finite values and agrees elsewhere."""
    robust_cls = cp._robust_pareto_class()
    cases = [
        ([0.61, 13.6, 0.31, 6.15], 170.0, 70.857, 70.857),    # recency == T (CDNOW 1998-06-30)
        ([0.51, 7.64, 0.83, 370.0], 362.0, 51.57, 51.71),     # daily buyer, alpha < beta
    ]
    for params, x, rec, T in cases:
        ll = robust_cls._conditional_log_likelihood(params, np.array([x]), np.array([rec]), np.array([T]))
        assert np.isfinite(ll).all(), (params, x)
    # ordinary customers: identical to lifetimes
    params = [0.553, 10.578, 0.606, 11.669]
    x, rec, T = np.array([0.0, 2.0, 7.0]), np.array([0.0, 30.43, 36.7]), np.array([38.86, 38.86, 38.86])
    with np.errstate(all="ignore"):
        np.testing.assert_allclose(robust_cls._conditional_log_likelihood(params, x, rec, T),
                                   ParetoNBDFitter._conditional_log_likelihood(params, x, rec, T), rtol=1e-10)


def test_mixed_time_zones_in_predict_clv():
    rows = _repeat_buyers(120, seed=9)
    naive = _orders(rows)
    mixed = naive.copy()
    zones = ["UTC", "Europe/Berlin", "America/Chicago", "Asia/Kolkata"]
    mixed["order_ts"] = pd.Series(
        [ts.tz_localize("UTC").tz_convert(zones[i % 4]) for i, ts in enumerate(naive["order_ts"])], dtype=object)
    con = duckdb.connect()
    a = cp.predict_clv(con, naive, date(2023, 12, 31), holdout_weeks=0)
    b = cp.predict_clv(con, mixed, date(2023, 12, 31), holdout_weeks=0)
    pd.testing.assert_frame_equal(a.customers, b.customers)


def test_frequency_monetary_correlation():
    s = pd.DataFrame({"frequency": [0, 1, 2, 3, 4, 5], "monetary_value": [0.0, 10.0, 12.0, 11.0, 15.0, 0.0]})
    rep = s[(s["frequency"] > 0) & (s["monetary_value"] > 0)]
    assert cp.frequency_monetary_correlation(s) == pytest.approx(np.corrcoef(rep["frequency"],
                                                                             rep["monetary_value"])[0, 1])
    assert np.isnan(cp.frequency_monetary_correlation(s.iloc[:3]))


def test_frequency_monetary_correlation_cdnow(cdnow_sample_spend):
    corr = cp.frequency_monetary_correlation(cdnow_sample_spend)
    assert abs(corr) < 0.3  # the Gamma-Gamma independence assumption holds on CDNOW (~0.11)


# -------------------------------------------------------------------- 6. subscription CLV


def test_subscription_clv():
    assert subscription_clv(200, 0.75, 0.02) == pytest.approx(7500.0)          # the seed's example
    assert subscription_clv(200, 0.75, 0.0) == pytest.approx(200 * 0.75 * 60)  # cap on zero churn
    assert subscription_clv(200, 0.75, 0.01) == pytest.approx(200 * 0.75 * 60)  # 1/c = 100 > cap
    assert subscription_clv(200, 0.75, 0.01, max_lifetime_months=120) == pytest.approx(15000.0)
    assert np.isnan(subscription_clv(200, 0.75, -0.1)) and np.isnan(subscription_clv(200, 0.75, np.nan))
    mrr = pd.Series([200.0, 100.0, 50.0], index=["x", "y", "z"])
    churn = pd.Series([0.0, 0.05, 0.02], index=["z", "y", "x"])  # aligned by index, not position
    out = subscription_clv(mrr, 0.75, churn)
    assert list(out.index) == ["x", "y", "z"]
    np.testing.assert_allclose(out.to_numpy(), [7500.0, 100 * 0.75 * 20, 50 * 0.75 * 60])
    np.testing.assert_allclose(expected_lifetime_months(np.array([0.02, 0.0, 0.5])), [50, 60, 2])
    assert survival_lifetime_months(0.02) == pytest.approx((1 - 0.98 ** 60) / 0.02)
    assert survival_lifetime_months(0.0) == 60
