"""Monthly acquisition cohorts x calendar months since acquisition.

A cohort is the calendar month of a customer's first purchase; period n is the n-th calendar
month after it (so a December cohort's January is period 1, across the year end). The output is
the full cohort x period grid up to the as-of month: 0 where a month is observed and the cohort
bought nothing, NULL where the month lies after the as-of date (not observable yet). The month
holding the as-of date is flagged incomplete when the as-of date is not its last day, so a
partial last month reads as partial, not as a drop in retention.
"""
from __future__ import annotations

from datetime import date

import duckdb
import pandas as pd

from customer_pipeline.analytics.common import cutoff, month_end, to_dates

SQL = """
WITH o AS (
    SELECT customer_id, order_type, amount, date_trunc('month', order_date)::DATE AS month
    FROM {orders} WHERE order_ts < $cutoff
), firsts AS (
    SELECT customer_id, min(month) AS cohort_month FROM o WHERE order_type = 'purchase' GROUP BY 1
), sizes AS (
    SELECT cohort_month, count(*) AS cohort_customers FROM firsts GROUP BY 1
), activity AS (
    SELECT f.cohort_month,
           date_diff('month', f.cohort_month, o.month) AS period_number,
           count(DISTINCT o.customer_id) FILTER (WHERE o.order_type = 'purchase') AS active_customers,
           sum(o.amount::DECIMAL(38, 6))::DOUBLE AS revenue  -- exact, so re-runs are bit-identical
    FROM o JOIN firsts f USING (customer_id)
    WHERE o.month >= f.cohort_month  -- cancellations of purchases made before the first seen purchase are not cohort activity
    GROUP BY 1, 2
), grid AS (
    SELECT s.cohort_month, s.cohort_customers, p.period_number,
           (s.cohort_month + to_months(p.period_number))::DATE AS period_month
    FROM sizes s
    CROSS JOIN range(0, (SELECT date_diff('month', min(cohort_month), date_trunc('month', $as_of::DATE)) + 1 FROM sizes)) p(period_number)
)
SELECT $as_of::DATE AS as_of_date, g.cohort_month, g.period_number::BIGINT AS period_number, g.period_month,
       g.cohort_customers,
       g.period_month <= date_trunc('month', $as_of::DATE) AS is_observable,
       coalesce(a.active_customers, 0) AS active_customers,
       coalesce(a.revenue, 0) AS revenue
FROM grid g LEFT JOIN activity a USING (cohort_month, period_number)
ORDER BY g.cohort_month, g.period_number
"""


def cohort_retention(con: duckdb.DuckDBPyConnection, as_of: date, orders: str = "raw.orders") -> pd.DataFrame:
    df = con.execute(SQL.format(orders=orders), {"as_of": as_of, "cutoff": cutoff(as_of)}).df()
    for col in ("as_of_date", "cohort_month", "period_month"):
        df[col] = to_dates(df[col])
    observable = df["is_observable"].astype(bool)
    as_of_month = pd.Timestamp(as_of).to_period("M").to_timestamp()
    partial_month = as_of < month_end(as_of.replace(day=1))
    df["is_complete_period"] = observable & ~((df["period_month"] == as_of_month) & partial_month)
    df["active_customers"] = df["active_customers"].astype("Int64").where(observable, pd.NA)
    df["revenue"] = df["revenue"].astype(float).where(observable)
    df["retention_rate"] = (df["active_customers"].astype(float) / df["cohort_customers"]).where(observable)
    base = df.loc[df["period_number"] == 0].set_index("cohort_month")["revenue"]
    base = df["cohort_month"].map(base)
    df["revenue_retention_rate"] = (df["revenue"] / base).where(observable & (base > 0))
    df["cohort_customers"] = df["cohort_customers"].astype("int64")
    df["is_observable"] = observable
    cols = ["as_of_date", "cohort_month", "period_number", "period_month", "cohort_customers", "active_customers",
            "retention_rate", "revenue", "revenue_retention_rate", "is_observable", "is_complete_period"]
    return df[cols].reset_index(drop=True)


def weighted_retention_curve(grid: pd.DataFrame) -> pd.DataFrame:
    """Average retention by period across cohorts, weighted by cohort size (observable cells only)."""
    obs = grid[grid["is_observable"] & grid["is_complete_period"]]
    g = obs.groupby("period_number")
    out = pd.DataFrame({
        "cohorts": g.size(),
        "customers": g["cohort_customers"].sum(),
        "active": g["active_customers"].sum().astype(float),
    })
    out["retention_rate"] = out["active"] / out["customers"]
    return out.reset_index()


def add_sbg_projection(grid: pd.DataFrame, min_observed_periods: int = 3) -> pd.DataFrame:
    """Add the shifted-beta-geometric fit per cohort (Fader & Hardie 2007) to the grid.

    Only complete observed periods feed the fit (a partial last month would read as churn).
    ``projected_retention_rate`` is the fitted survival S(t): on observed cells it shows the fit,
    on unobservable cells it is the projection; observed values are never overwritten. For an
    order-only business "active in the month" is not "still a customer", so the curve is made
    non-increasing before fitting (fit_cohort_sbg flags that) and reads as a retention envelope.
    """
    from customer_pipeline.analytics.sbg import fit_cohort_sbg

    fit_input = grid[["cohort_month", "period_number", "cohort_customers", "active_customers"]].copy()
    fit_input["active_customers"] = fit_input["active_customers"].astype(float).where(grid["is_complete_period"])
    out = grid.copy()
    if out.empty:
        for c in ("projected_retention_rate", "sbg_alpha", "sbg_beta"):
            out[c] = pd.Series(dtype=float)
        out["sbg_status"] = pd.Series(dtype=str)
        return out
    res = fit_cohort_sbg(fit_input, min_observed_periods=min_observed_periods)
    proj = res.projections[["cohort_month", "period_number", "projected_survival_rate"]]
    out = out.merge(proj, on=["cohort_month", "period_number"], how="left")
    out["projected_retention_rate"] = out["projected_survival_rate"].where(out["period_number"] > 0, 1.0)
    params = res.params.set_index("cohort_month")
    out["sbg_alpha"] = out["cohort_month"].map(params["alpha"]).astype(float)
    out["sbg_beta"] = out["cohort_month"].map(params["beta"]).astype(float)
    status = params["status"].where(params["status"] == "ok", params["status"] + ": " + params["reason"].astype(str))
    out["sbg_status"] = out["cohort_month"].map(status).astype(str)
    out.loc[out["sbg_alpha"].isna(), "projected_retention_rate"] = float("nan")
    return out.drop(columns=["projected_survival_rate"])
