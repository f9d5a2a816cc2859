from datetime import date

import duckdb
import pandas as pd
import pytest

from customer_pipeline.analytics.customer_360 import customer_360
from customer_pipeline_tests.conftest import connection_with_orders


def test_hand_worked_profile():
    con = connection_with_orders([
        ("A", "2021-01-01 10:00", 100), ("A", "2021-03-01", 50), ("A", "2021-03-05", -20),
        ("B", "2021-03-30 23:59", 10), ("B", "2021-04-01", 999),  # after as-of
        ("C", "2021-02-01", -5),  # only a cancellation (of a purchase before the data starts)
    ])
    out = customer_360(con, date(2021, 3, 31), customers=None).set_index("customer_id")
    a = out.loc["A"]
    assert (a.total_orders, a.cancelled_orders) == (2, 1)
    assert (a.gross_revenue, a.cancelled_revenue, a.total_revenue) == (150, -20, 130)
    assert a.avg_order_value == 75
    assert a.first_order_date == pd.Timestamp("2021-01-01") and a.last_order_date == pd.Timestamp("2021-03-01")
    assert a.days_since_last_order == 30 and a.tenure_days == 89
    assert a.orders_last_90d == 2  # 2021-01-01 is 89 days before as-of
    b = out.loc["B"]
    assert b.total_orders == 1 and b.total_revenue == 10 and b.days_since_last_order == 1
    c = out.loc["C"]
    assert c.total_orders == 0 and pd.isna(c.avg_order_value) and pd.isna(c.days_since_last_order)
    assert out["total_revenue"].sum() == pytest.approx(135)


def test_revenue_reconciles_with_orders_on_cdnow_for_every_month(cdnow_orders):
    con = duckdb.connect()
    con.execute("CREATE SCHEMA raw")
    con.register("_o", cdnow_orders)
    con.execute("CREATE TABLE raw.orders AS SELECT * FROM _o")
    for month_end in pd.date_range("1997-01-31", "1998-06-30", freq="ME"):
        out = customer_360(con, month_end.date(), customers=None)
        expected = cdnow_orders.loc[cdnow_orders["order_ts"] <= month_end, "amount"].sum()
        assert out["total_revenue"].sum() == pytest.approx(expected, rel=1e-12)
    assert len(out) == 23570


def test_subscription_columns_are_point_in_time():
    from customer_pipeline.analytics.customer_360 import add_subscription_profile

    con = duckdb.connect()
    con.execute("CREATE SCHEMA raw")
    con.execute("CREATE TABLE raw.customers AS SELECT * FROM (VALUES ('A', DATE '2021-01-01'), ('B', DATE '2021-01-01')) t(customer_id, first_seen_date)")
    con.execute("""CREATE TABLE raw.subscriptions AS SELECT * FROM (VALUES
        ('S1', 'A', TIMESTAMP '2021-01-01', NULL::TIMESTAMP, 100.0),
        ('S2', 'B', TIMESTAMP '2021-01-01', TIMESTAMP '2021-03-01', 50.0)) t(subscription_id, customer_id, start_date, end_date, mrr)""")
    con.execute("""CREATE TABLE raw.mrr_changes AS SELECT * FROM (VALUES
        ('c1', 'S1', TIMESTAMP '2021-02-01', 150.0), ('c2', 'S1', TIMESTAMP '2021-04-01', 400.0)) t(change_id, subscription_id, effective_date, mrr_after)""")
    con.execute("""CREATE TABLE raw.usage_daily AS SELECT * FROM (VALUES
        ('A', TIMESTAMP '2021-03-01', 3), ('A', TIMESTAMP '2021-03-30', 4), ('A', TIMESTAMP '2021-04-01', 99),
        ('A', TIMESTAMP '2021-02-01', 7)) t(customer_id, usage_date, logins)""")
    con.execute("""CREATE TABLE raw.support_tickets AS SELECT * FROM (VALUES
        ('A', TIMESTAMP '2021-03-10', TIMESTAMP '2021-04-02'), ('A', TIMESTAMP '2021-01-05', TIMESTAMP '2021-01-06')) t(customer_id, opened_at, closed_at)""")
    con.execute("""CREATE TABLE raw.nps_responses AS SELECT * FROM (VALUES
        ('A', TIMESTAMP '2021-02-01', 9), ('A', TIMESTAMP '2021-03-15', 3), ('A', TIMESTAMP '2021-04-15', 10)) t(customer_id, responded_at, score)""")
    base = pd.DataFrame({"customer_id": ["A", "B"]})
    out = add_subscription_profile(con, base, pd.Timestamp("2021-03-31").date(), True).set_index("customer_id")
    a, b = out.loc["A"], out.loc["B"]
    assert a.is_subscribed and a.mrr == 150.0  # the 2021-04-01 expansion is after as-of
    assert a.logins_last_30d == 4  # the 30 days ending on as-of are 03-02..03-31: 03-01 and 04-01 are outside
    # closed 2021-04-02: still open at as-of; both were opened within the 90 days to as-of (01-05 is 85 days before)
    assert a.open_tickets == 1 and a.tickets_last_90d == 2
    assert a.last_nps_score == 3 and a.last_nps_date == pd.Timestamp("2021-03-15")
    assert not b.is_subscribed and b.mrr == 0 and pd.isna(b.last_nps_score)
