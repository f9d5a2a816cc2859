"""Historical customer value, every cash flow valued at one common date (the as-of date).

historical_value = sum over orders of amount x (1 + annual_rate) ^ (years from the order to as-of),
with years = days / 365.25. Compounding everything to the same date makes customers comparable:
discounting each customer to their own first purchase (as the seed did) values an old customer's
spend in older money than a new customer's.
"""
from __future__ import annotations

from datetime import date

import duckdb
import pandas as pd

from customer_pipeline.analytics.common import cutoff, to_dates

DAYS_PER_YEAR = 365.25

SQL = """
SELECT $as_of::DATE AS as_of_date, customer_id,
       sum(amount::DECIMAL(38, 6))::DOUBLE AS historical_revenue,
       -- each term rounded to DECIMAL before summing: exact sums make re-runs bit-identical
       sum((amount * power(1 + $rate, date_diff('day', order_date, $as_of::DATE) / $days_per_year))::DECIMAL(38, 8))::DOUBLE AS historical_value,
       $rate::DOUBLE AS annual_discount_rate
FROM {orders}
WHERE order_ts < $cutoff
GROUP BY customer_id
ORDER BY customer_id
"""


def historical_clv(con: duckdb.DuckDBPyConnection, as_of: date, annual_discount_rate: float = 0.10,
                   orders: str = "raw.orders") -> pd.DataFrame:
    if not 0 <= annual_discount_rate < 1:
        raise ValueError(f"annual_discount_rate must be in [0, 1), got {annual_discount_rate}")
    df = con.execute(SQL.format(orders=orders), {
        "as_of": as_of, "cutoff": cutoff(as_of), "rate": annual_discount_rate, "days_per_year": DAYS_PER_YEAR,
    }).df()
    df["as_of_date"] = to_dates(df["as_of_date"])
    return df
