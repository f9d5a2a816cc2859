"""Small shared helpers for the analytics core (no Dagster here)."""
from __future__ import annotations

from datetime import date, timedelta

import pandas as pd


def cutoff(as_of: date) -> date:
    """First instant not seen by a snapshot as of ``as_of`` (the snapshot includes the whole day)."""
    return as_of + timedelta(days=1)


def month_end(month_start: date) -> date:
    y, m = month_start.year, month_start.month
    return date(y + (m == 12), m % 12 + 1, 1) - timedelta(days=1)


def snapshot_date(month_start: date, data_end: date) -> date:
    """As-of date of a monthly partition: its month end, or the last day with data for the open month."""
    return min(month_end(month_start), data_end)


def to_dates(s: pd.Series) -> pd.Series:
    """DuckDB DATE columns arrive as datetime64; keep them as midnight timestamps."""
    return pd.to_datetime(s).dt.normalize()
