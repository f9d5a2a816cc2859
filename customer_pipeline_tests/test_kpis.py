"""Monthly KPIs: hand-worked tiny tables (expected numbers computed by hand in the comments),
point-in-time behaviour, and a smoke test on the saas_demo dataset."""

from __future__ import annotations

import math
from datetime import date

import numpy as np
import pandas as pd
import pytest

from customer_pipeline.analytics.common import month_end
from customer_pipeline.analytics.kpis import KPI_COLUMNS, KPI_DTYPES, kpis_for_months, monthly_kpis
from customer_pipeline.sources.saas_demo import generate_saas_demo



# ------------------------------------------------------------------------------------ builders


def subs(rows: list[tuple]) -> pd.DataFrame:
    """(subscription_id, customer_id, start_date, end_date|None[, mrr])."""
    out = [{"subscription_id": r[0], "customer_id": r[1], "start_date": pd.Timestamp(r[2]),
            "end_date": pd.Timestamp(r[3]) if r[3] else pd.NaT, "mrr": float(r[4]) if len(r) > 4 else 0.0}
           for r in rows]
    return pd.DataFrame(out).astype({"start_date": "datetime64[ns]", "end_date": "datetime64[ns]"})


def mrr_changes(rows: list[tuple]) -> pd.DataFrame:
    """(subscription_id, customer_id, effective_date, change_type, mrr_before, mrr_after)."""
    df = pd.DataFrame(rows, columns=["subscription_id", "customer_id", "effective_date", "change_type",
                                     "mrr_before", "mrr_after"])
    df["effective_date"] = pd.to_datetime(df["effective_date"], format="mixed")
    df[["mrr_before", "mrr_after"]] = df[["mrr_before", "mrr_after"]].astype(float)
    df["mrr_delta"] = df["mrr_after"] - df["mrr_before"]
    df.insert(0, "change_id", [f"M{i}" for i in range(len(df))])
    return df


def orders(rows: list[tuple]) -> pd.DataFrame:
    """(customer_id, order_ts, amount); negative amounts are cancellations."""
    df = pd.DataFrame(rows, columns=["customer_id", "order_ts", "amount"])
    df["order_ts"] = pd.to_datetime(df["order_ts"], format="mixed")
    df["amount"] = df["amount"].astype(float)
    df["order_type"] = np.where(df["amount"] < 0, "cancellation", "purchase")
    df.insert(0, "order_id", [f"O{i}" for i in range(len(df))])
    return df


def nps(rows: list[tuple]) -> pd.DataFrame:
    """(customer_id, responded_at, score)."""
    df = pd.DataFrame(rows, columns=["customer_id", "responded_at", "score"])
    df["responded_at"] = pd.to_datetime(df["responded_at"], format="mixed")
    df["score"] = df["score"].astype("int64")
    return df


def spend(rows: list[tuple]) -> pd.DataFrame:
    """(month first day, channel, spend)."""
    df = pd.DataFrame(rows, columns=["month", "channel", "spend"])
    df["month"] = pd.to_datetime(df["month"], format="mixed")
    df["spend"] = df["spend"].astype(float)
    return df


def one(tables, month, as_of, kind="subscription", **kw) -> pd.Series:
    df = monthly_kpis(tables, month, kind=kind, as_of=as_of, **kw)
    assert len(df) == 1 and list(df.columns) == KPI_COLUMNS
    return df.iloc[0]


# ------------------------------------------------------------------ subscription: counts and churn

# Month 2024-03 (leap year: the day before the month is 2024-02-29).
SUB_ROWS = [
    ("S1", "A", "2024-01-10", None),          # in force all month
    ("S2", "B", "2024-01-05", "2024-03-15"),  # in the start base, ends in March -> churned
    ("S3", "C", "2024-02-01", "2024-03-01"),  # last service day Feb 29: in the base, churn of March
    ("S4", "D", "2024-03-05", None),          # new
    ("S5", "E", "2024-03-10", "2024-03-20"),  # new and churned in March, not in the start base
    ("S6", "F", "2023-12-01", "2024-02-29"),  # ended Feb 29: not in force on Feb 29, February's churn
    ("S7", "G", "2023-11-01", "2024-03-10"),  # plan switch: S7 ends the day S8 starts -> not churn
    ("S8", "G", "2024-03-10", None),
    ("S9", "H", "2024-01-01", "2024-03-31"),  # end_date = Mar 31 = as_of: not in force on as_of -> churned
    ("S10", "I", "2024-04-02", None),         # starts after as_of: invisible
]


def test_subscription_active_new_churned_churn_rate():
    t = {"subscriptions": subs(SUB_ROWS)}
    r = one(t, date(2024, 3, 1), date(2024, 3, 31))
    # in force on 2024-02-29 (start <= d and (end NULL or end > d)): A, B, C, G, H = 5
    # in force on 2024-03-31: A, D, G (S8) = 3
    assert r["active_customers"] == 3
    # first subscription started in March: D, E
    assert r["new_customers"] == 2
    # an end_date in [Mar 1, Mar 31] and nothing in force on Mar 31: B, C, E, H (G switched plans)
    assert r["churned_customers"] == 4
    # rate: churned customers of the start base (B, C, H; E joined in March) / base 5 = 0.6
    assert r["churn_rate"] == pytest.approx(0.6)
    assert bool(r["is_complete_month"]) is True
    assert r["month"] == pd.Timestamp("2024-03-01") and r["as_of_date"] == pd.Timestamp("2024-03-31")
    # no orders / NPS / spend tables: NULL, not 0
    for col in ["revenue", "arpu", "nps", "marketing_spend", "cac", "ltv", "ltv_to_cac"]:
        assert math.isnan(r[col]), col
    assert r["nps_responses"] == 0
    assert "in force" in r["definitions"]


def test_subscription_partial_month_uses_only_data_up_to_as_of():
    t = {"subscriptions": subs(SUB_ROWS)}
    r = one(t, date(2024, 3, 1), date(2024, 3, 12))
    # visible on 2024-03-12: end dates after it (B Mar 15, E Mar 20, H Mar 31) are not known yet.
    # in force on Mar 12: A, B, D, E, G (S8 from Mar 10), H = 6
    assert r["active_customers"] == 6
    assert r["new_customers"] == 2  # D (Mar 5), E (Mar 10)
    # ended up to Mar 12 and not in force: only C (Mar 1); G's S7 ended Mar 10 but S8 is in force
    assert r["churned_customers"] == 1
    assert r["churn_rate"] == pytest.approx(1 / 5)
    assert bool(r["is_complete_month"]) is False


# ------------------------------------------------------------------------- MRR, NRR, GRR


def test_mrr_with_expansion_and_contraction():
    t = {
        "subscriptions": subs([
            ("S1", "X", "2024-01-01", None, 100),
            ("S2", "Y", "2024-02-01", None, 200),
            ("S3", "Z", "2024-03-01", "2024-05-15", 50),
            ("S4", "W", "2024-05-03", None, 80),
            ("S5", "V", "2024-02-01", None, 40),
        ]),
        "mrr_changes": mrr_changes([
            ("S1", "X", "2024-01-01", "new", 0, 100),
            ("S2", "Y", "2024-02-01", "new", 0, 200),
            ("S5", "V", "2024-02-01", "new", 0, 40),
            ("S3", "Z", "2024-03-01", "new", 0, 50),
            ("S4", "W", "2024-05-03", "new", 0, 80),
            ("S1", "X", "2024-05-10", "expansion", 100, 150),
            ("S3", "Z", "2024-05-15", "churn", 50, 0),
            ("S2", "Y", "2024-05-20", "contraction", 200, 120),
            ("S5", "V", "2024-06-01", "expansion", 40, 60),  # after as_of: ignored
        ]),
    }
    r = one(t, date(2024, 5, 1), date(2024, 5, 31))
    # MRR in force on May 31: X 150 + Y 120 + W 80 + V 40 = 390 (Z churned)
    assert r["mrr"] == pytest.approx(390.0)
    # start base on Apr 30: X 100, Y 200, Z 50, V 40 = 390; their May 31 MRR: 150 + 120 + 0 + 40 = 310
    assert r["nrr"] == pytest.approx(310 / 390)
    # capped at start: min(150,100) + min(120,200) + 0 + min(40,40) = 100 + 120 + 0 + 40 = 260
    assert r["grr"] == pytest.approx(260 / 390)
    # mid-month: on May 12 only X's expansion is visible: 150 + 200 + 50 + 80 + 40 = 520
    assert one(t, date(2024, 5, 1), date(2024, 5, 12))["mrr"] == pytest.approx(520.0)


def test_nrr_above_one_with_expansion_and_grr_at_most_one():
    t = {
        "subscriptions": subs([
            ("S1", "P", "2024-01-01", None, 100),
            ("S2", "Q", "2024-01-01", None, 100),
            ("S3", "R", "2024-01-01", None, 100),
            ("S4", "P2", "2024-01-01", None, 50),
            ("S5", "P2", "2024-05-05", None, 30),   # P2 adds a second subscription: expansion
            ("S6", "K", "2024-01-01", "2024-05-15", 100),  # churns: counts 0
            ("S7", "N", "2024-05-03", None, 500),   # new in May: not part of NRR
        ]),
        "mrr_changes": mrr_changes([
            ("S1", "P", "2024-01-01", "new", 0, 100),
            ("S2", "Q", "2024-01-01", "new", 0, 100),
            ("S3", "R", "2024-01-01", "new", 0, 100),
            ("S4", "P2", "2024-01-01", "new", 0, 50),
            ("S6", "K", "2024-01-01", "new", 0, 100),
            ("S2", "Q", "2024-05-01", "contraction", 100, 80),  # on the 1st: a movement of May
            ("S7", "N", "2024-05-03", "new", 0, 500),
            ("S5", "P2", "2024-05-05", "new", 0, 30),
            ("S1", "P", "2024-05-10", "expansion", 100, 250),
            ("S6", "K", "2024-05-15", "churn", 100, 0),
        ]),
    }
    r = one(t, date(2024, 5, 1), date(2024, 5, 31))
    # base on Apr 30: P 100, Q 100, R 100, P2 50, K 100 = 450
    # May 31: P 250, Q 80, R 100, P2 50 + 30 = 80, K 0 = 510  -> NRR 510/450 = 1.1333
    assert r["nrr"] == pytest.approx(510 / 450)
    assert r["nrr"] > 1
    # GRR: min(250,100) + min(80,100) + 100 + min(80,50) + 0 = 100 + 80 + 100 + 50 = 330 -> 0.7333
    assert r["grr"] == pytest.approx(330 / 450)
    assert r["grr"] <= 1
    # MRR on May 31 includes the new customer: 250 + 80 + 100 + 80 + 500 = 1010
    assert r["mrr"] == pytest.approx(1010.0)
    assert r["churned_customers"] == 1 and r["churn_rate"] == pytest.approx(1 / 5)


# --------------------------------------------------------------------------------------- NPS


def _nps_tables(scores_june: list[int]) -> dict:
    rows = [("A", "2024-05-31 23:00", 0), ("A", "2024-07-01 00:00", 10)]  # outside June: ignored
    rows += [("A", f"2024-06-{i + 1:02d} 12:00", s) for i, s in enumerate(scores_june)]
    return {"subscriptions": subs([("S1", "A", "2024-01-01", None)]), "nps_responses": nps(rows)}


def test_nps_is_a_group_score():
    # [10, 9, 8, 0, 6]: promoters 2 (10, 9), detractors 2 (0, 6), passive 1 -> 100 * (2 - 2) / 5 = 0
    r = one(_nps_tables([10, 9, 8, 0, 6]), date(2024, 6, 1), date(2024, 6, 30))
    assert r["nps"] == pytest.approx(0.0) and r["nps_responses"] == 5
    # [10, 10, 7]: promoters 2, detractors 0 -> 100 * 2 / 3 = 66.67
    r = one(_nps_tables([10, 10, 7]), date(2024, 6, 1), date(2024, 6, 30))
    assert r["nps"] == pytest.approx(200 / 3) and r["nps_responses"] == 3
    # no answers in June: NULL, not 0
    r = one(_nps_tables([]), date(2024, 6, 1), date(2024, 6, 30))
    assert math.isnan(r["nps"]) and r["nps_responses"] == 0


# ------------------------------------------------------------------------------ LTV and CAC


def _steady_tables() -> dict:
    # two customers in force all of March 2024, nobody joins or leaves
    return {
        "subscriptions": subs([("S1", "A", "2023-06-01", None, 100), ("S2", "B", "2023-07-01", None, 100)]),
        "orders": orders([("A", "2024-03-01 10:00", 100), ("B", "2024-03-01 11:00", 100),
                          ("A", "2024-02-01", 100), ("B", "2024-04-01", 100)]),
        "marketing_spend": spend([("2024-03-01", "paid_search", 1000)]),
    }


def test_zero_churn_gives_capped_lifetime_not_infinity():
    r = one(_steady_tables(), date(2024, 3, 1), date(2024, 3, 31), gross_margin=0.8)
    # revenue (March orders) 200, active 2 -> arpu 100; churn 0 -> lifetime = cap 60
    assert r["churn_rate"] == 0.0
    assert r["revenue"] == pytest.approx(200.0) and r["arpu"] == pytest.approx(100.0)
    assert r["ltv"] == pytest.approx(100 * 0.8 * 60)  # 4800
    assert np.isfinite(r["ltv"])
    r = one(_steady_tables(), date(2024, 3, 1), date(2024, 3, 31), gross_margin=0.8, max_lifetime_months=24)
    assert r["ltv"] == pytest.approx(100 * 0.8 * 24)  # 1920


def test_cac_null_without_new_customers():
    r = one(_steady_tables(), date(2024, 3, 1), date(2024, 3, 31))
    # spend 1000 but no new customers -> cac and ltv_to_cac NULL (not 0, not inf)
    assert r["marketing_spend"] == pytest.approx(1000.0)
    assert r["new_customers"] == 0
    assert math.isnan(r["cac"]) and math.isnan(r["ltv_to_cac"])


def test_cac_ltv_and_ratio_hand_worked():
    t = {
        "subscriptions": subs([
            ("S1", "A", "2024-01-01", None), ("S2", "B", "2024-01-01", None), ("S3", "C", "2024-01-01", None),
            ("S4", "D", "2024-01-01", "2024-03-10"),  # churns
            ("S5", "E", "2024-03-05", None), ("S6", "F", "2024-03-20", None),  # new
        ]),
        "orders": orders([
            ("A", "2024-03-01", 100), ("B", "2024-03-01", 100), ("C", "2024-03-01", 100),
            ("D", "2024-03-01", 50), ("E", "2024-03-05", 100), ("F", "2024-03-20", 100),
            ("A", "2024-03-25", -50),                            # a cancellation nets off
            ("A", "2024-02-01", 100), ("A", "2024-04-01", 100),  # other months
        ]),
        "marketing_spend": spend([("2024-02-01", "x", 999), ("2024-03-01", "paid_search", 400),
                                  ("2024-03-01", "paid_social", 200), ("2024-04-01", "x", 999)]),
    }
    r = one(t, date(2024, 3, 1), date(2024, 3, 31), gross_margin=0.5)
    # base on Feb 29: A, B, C, D = 4; churned D -> churn 0.25 -> lifetime 4 months
    # active on Mar 31: A, B, C, E, F = 5; revenue 100+100+100+50+100+100-50 = 500 -> arpu 100
    # ltv = 100 * 0.5 * 4 = 200; spend 400 + 200 = 600, new 2 -> cac 300; ltv/cac = 0.6667
    assert (r["active_customers"], r["new_customers"], r["churned_customers"]) == (5, 2, 1)
    assert r["churn_rate"] == pytest.approx(0.25)
    assert r["revenue"] == pytest.approx(500.0) and r["arpu"] == pytest.approx(100.0)
    assert r["ltv"] == pytest.approx(200.0)
    assert r["marketing_spend"] == pytest.approx(600.0) and r["cac"] == pytest.approx(300.0)
    assert r["ltv_to_cac"] == pytest.approx(2 / 3)


def test_no_customers_at_month_start_gives_null_rates():
    t = {"subscriptions": subs([("S1", "A", "2024-03-05", None, 10)]),
         "mrr_changes": mrr_changes([("S1", "A", "2024-03-05", "new", 0, 10)]),
         "orders": orders([("A", "2024-03-05", 10)])}
    r = one(t, date(2024, 3, 1), date(2024, 3, 31))
    assert r["active_customers"] == 1 and r["new_customers"] == 1 and r["mrr"] == pytest.approx(10.0)
    for col in ["churn_rate", "nrr", "grr", "ltv"]:
        assert math.isnan(r[col]), col


# ------------------------------------------------------------------------------- orders kind

# inactivity 30 days: active on d when (d - last purchase day).days < 30. Month 2024-03.
ORDER_ROWS = [
    ("A", "2024-02-15", 10), ("A", "2024-03-20", 30),  # active on Feb 29 (14 d) and Mar 31 (11 d)
    ("B", "2024-02-10", 10), ("B", "2024-03-15", -10),  # Feb 29: 19 d active; Mar 31: 50 d -> lapsed;
                                                        # the cancellation is not activity
    ("C", "2024-01-31", 10),                           # Feb 29: 29 d -> active; lapsed by Mar 31
    ("D", "2024-01-30", 10),                           # Feb 29: 30 d -> already inactive: not churn
    ("E", "2024-03-05", 50),                           # new, active on Mar 31 (26 d)
    ("F", "2024-03-01", 40), ("F", "2024-03-02", -40),  # new; Mar 31 - Mar 1 = 30 d -> inactive
    ("G", "2023-12-01", 10), ("G", "2024-03-10", 20),  # reactivated: active on Mar 31, not new
    ("H", "2024-02-20", 10), ("H", "2024-04-05", 10),  # Feb 29 active; Mar 31: 40 d -> lapsed
                                                       # (the April purchase is after as_of)
]


def test_orders_kind_lapse_based_churn():
    r = one({"orders": orders(ORDER_ROWS)}, date(2024, 3, 1), date(2024, 3, 31), kind="orders",
            inactivity_days=30)
    # active on Feb 29: A, B, C, H = 4; on Mar 31: A, E, G = 3
    assert r["active_customers"] == 3
    assert r["new_customers"] == 2          # E, F
    assert r["churned_customers"] == 3      # B, C, H lapsed in March
    assert r["churn_rate"] == pytest.approx(3 / 4)
    # March net revenue: A 30, B -10, E 50, F 40 - 40, G 20 = 90 -> arpu 30
    assert r["revenue"] == pytest.approx(90.0) and r["arpu"] == pytest.approx(30.0)
    # ltv = 30 * 1.0 * min(1 / 0.75, 60) = 40
    assert r["ltv"] == pytest.approx(40.0)
    for col in ["mrr", "nrr", "grr", "nps", "marketing_spend", "cac", "ltv_to_cac"]:
        assert math.isnan(r[col]), col
    assert "lapse" in r["definitions"]
    # default 90 days: A, B, C, D, H active on Feb 29 and all still active on Mar 31 -> no churn
    r90 = one({"orders": orders(ORDER_ROWS)}, date(2024, 3, 1), date(2024, 3, 31), kind="orders")
    assert r90["churned_customers"] == 0 and r90["churn_rate"] == 0.0


# ------------------------------------------------------------------------ point in time


def _with_future_rows(t: dict, as_of: date) -> dict:
    """The same tables plus rows dated after ``as_of`` (and a cancellation learnt after it)."""
    after = pd.Timestamp(as_of) + pd.Timedelta(days=1)  # the first invisible instant
    out = dict(t)
    s = t["subscriptions"].copy()
    open_ = s.index[s["end_date"].isna()]
    s.loc[open_[:1], "end_date"] = after + pd.Timedelta(days=3)  # a cancellation effective later
    s = pd.concat([s, subs([("SF1", "FUT", str(after.date()), None, 999)])], ignore_index=True)
    out["subscriptions"] = s
    if "mrr_changes" in t:
        sid, cid = s.loc[open_[1], ["subscription_id", "customer_id"]] if len(open_) > 1 else ("SF1", "FUT")
        out["mrr_changes"] = pd.concat([t["mrr_changes"], mrr_changes([
            (sid, cid, str(after.date()), "expansion", 1, 9999), ("SF1", "FUT", str(after.date()), "new", 0, 999)])],
            ignore_index=True)
    out["orders"] = pd.concat([t["orders"], orders([("FUT", after, 12345.0), ("A", after + pd.Timedelta(hours=5), -7.0)])],
                              ignore_index=True)
    out["nps_responses"] = pd.concat([t.get("nps_responses", nps([])), nps([("A", after, 0), ("B", after, 0)])],
                                     ignore_index=True)
    out["marketing_spend"] = pd.concat([t.get("marketing_spend", spend([])),
                                        spend([(str((after + pd.offsets.MonthBegin(0)).date()), "x", 5000)])],
                                       ignore_index=True)
    return out


@pytest.mark.parametrize("kind", ["subscription", "orders"])
@pytest.mark.parametrize("as_of", [date(2024, 3, 12), date(2024, 3, 31)])
def test_future_rows_never_change_the_row(kind, as_of):
    t = {
        "subscriptions": subs([("S1", "A", "2024-01-01", None, 100), ("S2", "B", "2024-02-01", None, 50),
                               ("S3", "C", "2024-03-02", None, 70)]),
        "mrr_changes": mrr_changes([("S1", "A", "2024-01-01", "new", 0, 100), ("S2", "B", "2024-02-01", "new", 0, 50),
                                    ("S3", "C", "2024-03-02", "new", 0, 70)]),
        "orders": orders([("A", "2024-03-01", 100), ("B", "2024-03-01", 50), ("C", "2024-03-02", 70)]),
        "nps_responses": nps([("A", "2024-03-03", 9)]),
        "marketing_spend": spend([("2024-03-01", "x", 300)]),
    }
    before = monthly_kpis(t, date(2024, 3, 1), kind=kind, as_of=as_of)
    after = monthly_kpis(_with_future_rows(t, as_of), date(2024, 3, 1), kind=kind, as_of=as_of)
    pd.testing.assert_frame_equal(before, after)


# ------------------------------------------------------------------------ validation, dtypes


def test_validation():
    t = {"subscriptions": subs(SUB_ROWS)}
    with pytest.raises(ValueError):
        monthly_kpis(t, date(2024, 3, 1), kind="subscription", as_of=date(2024, 4, 1))  # after the month
    with pytest.raises(ValueError):
        monthly_kpis(t, date(2024, 3, 1), kind="subscription", as_of=date(2024, 2, 29))  # before it
    with pytest.raises(ValueError):
        monthly_kpis(t, date(2024, 3, 5), kind="subscription", as_of=date(2024, 3, 31))  # not a month start
    with pytest.raises(ValueError):
        monthly_kpis(t, date(2024, 3, 1), kind="retail", as_of=date(2024, 3, 31))
    with pytest.raises(ValueError):
        monthly_kpis({"orders": orders(ORDER_ROWS)}, date(2024, 3, 1), kind="subscription", as_of=date(2024, 3, 31))


def test_kpis_for_months_concatenates_with_stable_dtypes():
    t = {"subscriptions": subs(SUB_ROWS), "orders": orders(ORDER_ROWS)}
    months = [date(2024, 2, 1), date(2024, 3, 1)]
    df = kpis_for_months(t, months, "subscription", lambda m: min(month_end(m), date(2024, 3, 12)))
    assert list(df["month"]) == [pd.Timestamp(m) for m in months]
    assert list(df["as_of_date"]) == [pd.Timestamp("2024-02-29"), pd.Timestamp("2024-03-12")]
    assert list(df["is_complete_month"]) == [True, False]
    assert df.dtypes.astype(str).to_dict() == KPI_DTYPES
    empty = kpis_for_months(t, [], "orders", month_end)
    assert empty.empty and empty.dtypes.astype(str).to_dict() == KPI_DTYPES


# ------------------------------------------------------------------------------ saas_demo smoke


@pytest.fixture(scope="module")
def demo():
    return generate_saas_demo(n_customers=500, seed=7)


DEMO_MONTHS = [d.date() for d in pd.date_range("2023-01-01", "2024-12-01", freq="MS")]


@pytest.mark.parametrize("kind", ["subscription", "orders"])
def test_saas_demo_smoke(demo, kind):
    df = kpis_for_months(demo, DEMO_MONTHS, kind, month_end, gross_margin=0.8)
    assert len(df) == 24 and df["is_complete_month"].all()
    assert df.dtypes.astype(str).to_dict() == KPI_DTYPES
    rate = df["churn_rate"].dropna()
    assert len(rate) == 23 and rate.between(0, 1).all()  # undefined only in the first month
    assert math.isnan(df.loc[0, "churn_rate"]) and math.isnan(df.loc[0, "ltv"])
    ratio = df["ltv_to_cac"].dropna()
    assert len(ratio) > 0 and np.isfinite(ratio).all()
    # every order lies in the window: monthly revenue adds up to the whole ledger
    assert df["revenue"].sum() == pytest.approx(demo["orders"]["amount"].sum(), rel=1e-12)
    assert df["marketing_spend"].sum() == pytest.approx(demo["marketing_spend"]["spend"].sum(), rel=1e-12)
    assert df["nps"].dropna().between(-100, 100).all()
    assert df["nps_responses"].sum() == len(demo["nps_responses"])
    if kind == "subscription":
        assert (df["nrr"].dropna() > 0).all() and len(df["nrr"].dropna()) == 23
        assert (df["grr"].dropna() <= df["nrr"].dropna() + 1e-12).all()
        assert df["grr"].dropna().between(0, 1).all()
        # every customer signs up inside the window, each once
        assert df["new_customers"].sum() == len(demo["customers"])
        # on the last day of data: the subscriptions without an end_date are in force
        s = demo["subscriptions"]
        assert df["active_customers"].iloc[-1] == s.loc[s["end_date"].isna(), "customer_id"].nunique()
        # churned over the window: every end_date lies in it
        assert df["churned_customers"].sum() == s["end_date"].notna().sum()
    else:
        assert df[["mrr", "nrr", "grr"]].isna().all().all()


@pytest.mark.parametrize("kind", ["subscription", "orders"])
def test_saas_demo_row_equals_row_on_data_truncated_at_as_of(demo, kind):
    # the full demo holds 6.5 months after as_of; cutting it to what was known on as_of changes nothing
    as_of = date(2024, 6, 15)
    cut = pd.Timestamp(as_of) + pd.Timedelta(days=1)
    s = demo["subscriptions"]
    s = s[s["start_date"] < cut].assign(end_date=s["end_date"].where(s["end_date"] < cut))
    known = {
        "subscriptions": s,
        "mrr_changes": demo["mrr_changes"][demo["mrr_changes"]["effective_date"] < cut],
        "orders": demo["orders"][demo["orders"]["order_ts"] < cut],
        "nps_responses": demo["nps_responses"][demo["nps_responses"]["responded_at"] < cut],
        "marketing_spend": demo["marketing_spend"][demo["marketing_spend"]["month"] < cut],
    }
    full = monthly_kpis(demo, date(2024, 6, 1), kind=kind, as_of=as_of, gross_margin=0.8)
    pd.testing.assert_frame_equal(full, monthly_kpis(known, date(2024, 6, 1), kind=kind, as_of=as_of, gross_margin=0.8))
    assert not bool(full.loc[0, "is_complete_month"])
