from __future__ import annotations

from datetime import date

import duckdb
import pandas as pd
import pytest

from customer_pipeline.analytics.cohorts import cohort_retention, weighted_retention_curve
from customer_pipeline_tests.conftest import connection_with_orders


def _cell(df, cohort, period):
    row = df[(df["cohort_month"] == pd.Timestamp(cohort)) & (df["period_number"] == period)]
    assert len(row) == 1
    return row.iloc[0]


@pytest.fixture
def small():
    con = connection_with_orders([
        ("X", "2020-12-15", 10), ("X", "2021-01-10", 20),       # December cohort, active in January
        ("Y", "2020-12-20", 30),                                  # December cohort, never back
        ("Z", "2021-01-05", 40), ("Z", "2021-01-25", -40),       # January cohort; a cancellation
        ("W", "2021-02-28", 5), ("W", "2021-03-02", 5),          # after as-of: not seen
    ])
    return cohort_retention(con, date(2021, 2, 28))


def test_december_cohort_january_is_period_1(small):
    cell = _cell(small, "2020-12-01", 1)
    assert cell["period_month"] == pd.Timestamp("2021-01-01")
    assert cell["active_customers"] == 1 and cell["retention_rate"] == pytest.approx(0.5)
    assert cell["revenue"] == 20 and cell["revenue_retention_rate"] == pytest.approx(20 / 40)


def test_full_grid_zero_when_observed_null_when_not(small):
    # as of 2021-02-28: cohorts Dec, Jan, Feb (W); periods 0..2
    assert set(small["cohort_month"]) == {pd.Timestamp("2020-12-01"), pd.Timestamp("2021-01-01"), pd.Timestamp("2021-02-01")}
    assert len(small) == 3 * 3
    dec2 = _cell(small, "2020-12-01", 2)  # February: observed, nobody bought
    assert dec2["active_customers"] == 0 and dec2["retention_rate"] == 0 and dec2["revenue"] == 0
    assert dec2["is_observable"] and dec2["is_complete_period"]
    jan2 = _cell(small, "2021-01-01", 2)  # March: after as-of
    assert pd.isna(jan2["active_customers"]) and pd.isna(jan2["retention_rate"]) and pd.isna(jan2["revenue"])
    assert not jan2["is_observable"] and not jan2["is_complete_period"]
    jan0 = _cell(small, "2021-01-01", 0)
    assert jan0["revenue"] == 0  # net of the cancellation
    assert pd.isna(jan0["revenue_retention_rate"])  # no positive base revenue to compare with


def test_partial_last_month_is_flagged_not_dropped():
    con = connection_with_orders([("X", "2020-12-15", 10), ("X", "2021-01-05", 20)])
    df = cohort_retention(con, date(2021, 1, 9))
    cell = _cell(df, "2020-12-01", 1)
    assert cell["is_observable"] and not cell["is_complete_period"]
    assert cell["active_customers"] == 1
    assert _cell(df, "2020-12-01", 0)["is_complete_period"]


def test_weighted_curve_weights_by_cohort_size():
    grid = pd.DataFrame({
        "period_number": [1, 1], "cohort_customers": [100, 10], "active_customers": [10, 5],
        "is_observable": [True, True], "is_complete_period": [True, True]})
    curve = weighted_retention_curve(grid)
    assert curve.loc[0, "retention_rate"] == pytest.approx(15 / 110)  # not the mean of 0.1 and 0.5


def test_cdnow_cells_match_brute_force_count(cdnow_orders):
    con = duckdb.connect()
    con.execute("CREATE SCHEMA raw")
    con.register("_o", cdnow_orders)
    con.execute("CREATE TABLE raw.orders AS SELECT * FROM _o")
    as_of = date(1998, 6, 30)
    table = cohort_retention(con, as_of)
    # brute force in plain Python over the source rows
    first: dict[str, pd.Period] = {}
    months_by_customer: dict[str, set] = {}
    for cid, ts in zip(cdnow_orders["customer_id"], cdnow_orders["order_ts"]):
        m = ts.to_period("M")
        first[cid] = min(first.get(cid, m), m)
        months_by_customer.setdefault(cid, set()).add(m)
    for cohort, period in [("1997-01", 0), ("1997-01", 1), ("1997-02", 3), ("1997-03", 9), ("1997-01", 11), ("1997-03", 15)]:
        c = pd.Period(cohort, "M")
        members = [k for k, v in first.items() if v == c]
        active = sum(1 for k in members if (c + period) in months_by_customer[k])
        cell = _cell(table, c.to_timestamp(), period)
        assert cell["cohort_customers"] == len(members)
        assert cell["active_customers"] == active, (cohort, period)
    assert table["cohort_month"].nunique() == 3  # CDNOW acquired customers in Jan-Mar 1997 only
