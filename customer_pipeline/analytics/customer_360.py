"""Customer 360: the order-based profile of every customer seen by the as-of date.

Money is summed as DECIMAL(38, 6): exact, so a snapshot is bit-identical however DuckDB
splits the work across threads (a sum of doubles depends on the order it is added in).
Revenue is net (purchases plus negative cancellations) so that, summed over customers, it
equals raw.orders.amount up to the as-of date; order counts and average order value use
purchases only, since a cancellation is not a visit.
"""
from __future__ import annotations

from datetime import date

import duckdb
import pandas as pd

from customer_pipeline.analytics.common import cutoff, to_dates

SQL = """
WITH o AS (
    SELECT * FROM {orders} WHERE order_ts < $cutoff
), agg AS (
    SELECT customer_id,
           count(*) FILTER (WHERE order_type = 'purchase')                      AS total_orders,
           count(*) FILTER (WHERE order_type = 'cancellation')                  AS cancelled_orders,
           coalesce(sum(amount::DECIMAL(38, 6)) FILTER (WHERE order_type = 'purchase'), 0)::DOUBLE     AS gross_revenue,
           coalesce(sum(amount::DECIMAL(38, 6)) FILTER (WHERE order_type = 'cancellation'), 0)::DOUBLE AS cancelled_revenue,
           coalesce(sum(amount::DECIMAL(38, 6)), 0)::DOUBLE                                 AS total_revenue,
           min(order_date) FILTER (WHERE order_type = 'purchase')               AS first_order_date,
           max(order_date) FILTER (WHERE order_type = 'purchase')               AS last_order_date,
           count(*) FILTER (WHERE order_type = 'purchase' AND order_date > $as_of - INTERVAL 90 DAY) AS orders_last_90d,
           coalesce(sum(amount::DECIMAL(38, 6)) FILTER (WHERE order_date > $as_of - INTERVAL 90 DAY), 0)::DOUBLE AS revenue_last_90d,
           arg_min(country, (order_ts, source_row))                             AS first_country
    FROM o GROUP BY customer_id
)
SELECT $as_of::DATE AS as_of_date,
       a.customer_id,
       a.first_order_date AS acquisition_date,
       {channel} AS acquisition_channel,
       {plan} AS plan_type,
       coalesce({country}, a.first_country) AS country,
       a.total_orders, a.cancelled_orders, a.gross_revenue, a.cancelled_revenue, a.total_revenue,
       CASE WHEN a.total_orders > 0 THEN a.gross_revenue / a.total_orders END AS avg_order_value,
       a.first_order_date, a.last_order_date,
       date_diff('day', a.last_order_date, $as_of::DATE)  AS days_since_last_order,
       date_diff('day', a.first_order_date, $as_of::DATE) AS tenure_days,
       a.orders_last_90d, a.revenue_last_90d
FROM agg a {join}
ORDER BY a.customer_id
"""


def customer_360(con: duckdb.DuckDBPyConnection, as_of: date, orders: str = "raw.orders",
                 customers: str | None = "raw.customers") -> pd.DataFrame:
    """Profile as of ``as_of`` from the orders relation (and the customers relation when given)."""
    if customers:
        join = f"LEFT JOIN {customers} c USING (customer_id)"
        channel, plan, country = "c.acquisition_channel", "c.plan_type", "c.country"
    else:
        join, channel, plan, country = "", "NULL::VARCHAR", "NULL::VARCHAR", "NULL::VARCHAR"
    sql = SQL.format(orders=orders, join=join, channel=channel, plan=plan, country=country)
    df = con.execute(sql, {"as_of": as_of, "cutoff": cutoff(as_of)}).df()
    for col in ("as_of_date", "acquisition_date", "first_order_date", "last_order_date"):
        df[col] = to_dates(df[col])
    for col in ("days_since_last_order", "tenure_days"):
        df[col] = df[col].astype("Int64")
    for col in ("total_orders", "cancelled_orders", "orders_last_90d"):
        df[col] = df[col].astype("int64")
    return df
