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


SUBSCRIPTION_SQL = """
WITH usage AS (
    SELECT customer_id,
           sum(logins) FILTER (WHERE usage_date > $as_of::TIMESTAMP - INTERVAL 30 DAY) AS logins_last_30d,
           max(usage_date) AS last_login_date
    FROM raw.usage_daily WHERE usage_date < $cutoff GROUP BY 1
), tickets AS (
    SELECT customer_id,
           count(*) FILTER (WHERE closed_at IS NULL OR closed_at >= $cutoff) AS open_tickets,
           count(*) FILTER (WHERE opened_at > $as_of::TIMESTAMP - INTERVAL 90 DAY) AS tickets_last_90d
    FROM raw.support_tickets WHERE opened_at < $cutoff GROUP BY 1
), nps AS (
    SELECT customer_id, arg_max(score, responded_at) AS last_nps_score, max(responded_at) AS last_nps_date
    FROM raw.nps_responses WHERE responded_at < $cutoff GROUP BY 1
), subs AS (
    SELECT customer_id,
           bool_or(start_date < $cutoff AND (end_date IS NULL OR end_date >= $cutoff)) AS is_subscribed
    FROM raw.subscriptions WHERE start_date < $cutoff GROUP BY 1
), mrr AS (
    SELECT s.customer_id, sum(coalesce(m.mrr_after, s.mrr)) AS mrr
    FROM raw.subscriptions s
    LEFT JOIN (SELECT subscription_id, arg_max(mrr_after, (effective_date, change_id)) AS mrr_after
               FROM raw.mrr_changes WHERE effective_date < $cutoff GROUP BY 1) m USING (subscription_id)
    WHERE s.start_date < $cutoff AND (s.end_date IS NULL OR s.end_date >= $cutoff)
    GROUP BY 1
)
SELECT c.customer_id,
       coalesce(subs.is_subscribed, false) AS is_subscribed,
       coalesce(mrr.mrr, 0) AS mrr,
       coalesce(usage.logins_last_30d, 0) AS logins_last_30d,
       usage.last_login_date::DATE AS last_login_date,
       coalesce(tickets.open_tickets, 0) AS open_tickets,
       coalesce(tickets.tickets_last_90d, 0) AS tickets_last_90d,
       nps.last_nps_score, nps.last_nps_date::DATE AS last_nps_date
FROM (SELECT DISTINCT customer_id FROM raw.customers WHERE first_seen_date < $cutoff) c
LEFT JOIN subs USING (customer_id) LEFT JOIN mrr USING (customer_id) LEFT JOIN usage USING (customer_id)
LEFT JOIN tickets USING (customer_id) LEFT JOIN nps USING (customer_id)
"""

SUBSCRIPTION_COLUMNS = ["is_subscribed", "mrr", "logins_last_30d", "last_login_date", "open_tickets",
                        "tickets_last_90d", "last_nps_score", "last_nps_date"]


def add_subscription_profile(con: duckdb.DuckDBPyConnection, profile: pd.DataFrame, as_of: date,
                             has_subscriptions: bool) -> pd.DataFrame:
    """Usage, support, NPS and MRR columns (as known at the end of as-of); NULL for order-only data.

    A ticket closed after as-of was still open then; MRR is the latest change effective by as-of.
    """
    out = profile.copy()
    if not has_subscriptions:
        for c in SUBSCRIPTION_COLUMNS:
            out[c] = pd.Series([None] * len(out), index=out.index, dtype=object)
        out["last_login_date"] = pd.Series(pd.NaT, index=out.index, dtype="datetime64[ns]")
        out["last_nps_date"] = pd.Series(pd.NaT, index=out.index, dtype="datetime64[ns]")
        for c in ("mrr", "logins_last_30d", "open_tickets", "tickets_last_90d", "last_nps_score"):
            out[c] = out[c].astype(float)
        out["is_subscribed"] = out["is_subscribed"].astype("boolean")
        return out
    sub = con.execute(SUBSCRIPTION_SQL, {"as_of": as_of, "cutoff": pd.Timestamp(cutoff(as_of)).to_pydatetime()}).df()
    out = out.merge(sub, on="customer_id", how="left", validate="one_to_one")
    for col in ("last_login_date", "last_nps_date"):
        out[col] = to_dates(out[col])
    out["is_subscribed"] = out["is_subscribed"].astype("boolean")
    for c in ("mrr", "logins_last_30d", "open_tickets", "tickets_last_90d", "last_nps_score"):
        out[c] = out[c].astype(float)
    return out
