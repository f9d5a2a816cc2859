"""Read the raw tables as they were known on a date, for the per-customer (pandas) models.

Everything with an event timestamp after the cutoff is left out, and facts the raw tables record
about the future are masked: a subscription's end_date (or a ticket's closed_at) after the cutoff
was not known yet, so it reads as NULL (still active / still open). This makes a snapshot
independent of when it is (re)computed.
"""
from __future__ import annotations

from datetime import date

import duckdb
import pandas as pd

from customer_pipeline.analytics.common import cutoff
from customer_pipeline.storage.warehouse import table_exists

# table -> (event column, columns masked to NULL when after the cutoff)
SUBSCRIPTION_TABLES = {
    "subscriptions": ("start_date", ["end_date"]),
    "mrr_changes": ("effective_date", []),
    "usage_daily": ("usage_date", []),
    "support_tickets": ("opened_at", ["closed_at"]),
    "nps_responses": ("responded_at", []),
    "marketing_spend": ("month", []),
}


def tables_as_of(con: duckdb.DuckDBPyConnection, as_of: date, kind: str) -> dict[str, pd.DataFrame]:
    """orders (and, for subscription businesses, the subscription tables) known at the end of ``as_of``."""
    end = pd.Timestamp(cutoff(as_of))
    out = {"orders": con.execute(
        "SELECT order_id, customer_id, order_ts, amount, order_type, quantity, line_count, country "
        "FROM raw.orders WHERE order_ts < ? ORDER BY order_ts, order_id", [end.to_pydatetime()]).df()}
    if kind == "subscription":
        for table, (event, masked) in SUBSCRIPTION_TABLES.items():
            if not table_exists(con, f"raw.{table}"):
                continue
            df = con.execute(f'SELECT * FROM raw.{table} WHERE "{event}" < ?', [end.to_pydatetime()]).df()
            for col in masked:
                df[col] = pd.to_datetime(df[col]).where(pd.to_datetime(df[col]) < end)
            out[table] = df
        out["customers"] = con.execute("SELECT * FROM raw.customers WHERE first_seen_date < ?", [end.to_pydatetime()]).df()
    for df in out.values():  # DuckDB hands back datetime64[us]; the models expect [ns]
        for col in df.columns:
            if str(df[col].dtype).startswith("datetime64") and str(df[col].dtype) != "datetime64[ns]":
                df[col] = df[col].astype("datetime64[ns]")
    return out
