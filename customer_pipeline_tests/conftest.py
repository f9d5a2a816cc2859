"""Shared fixtures: the real datasets in ../shared/data (skip, or fail in CI, when absent)."""
from __future__ import annotations

import os
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from customer_pipeline.settings import shared_data_dir


def shared_file(name: str) -> Path:
    """A file of ../shared/data; skips with a reason locally, fails under CUSTOMER_PIPELINE_REQUIRE_SHARED_DATA=1."""
    path = shared_data_dir() / name
    if not path.exists():
        msg = f"{path} not found (set CUSTOMER_PIPELINE_SHARED_DATA to the folder holding the shared datasets)"
        if os.environ.get("CUSTOMER_PIPELINE_REQUIRE_SHARED_DATA") == "1":
            pytest.fail(msg)
        pytest.skip(msg)
    return path


@pytest.fixture(scope="session")
def online_retail_file() -> Path:
    return shared_file("online_retail_uci.csv.gz")


def orders_frame(rows: list[tuple]) -> pd.DataFrame:
    """Orders in the raw.orders shape from (customer_id, timestamp, amount[, order_type]) tuples."""
    out = []
    for i, r in enumerate(rows, start=1):
        cid, ts, amount = r[:3]
        kind = r[3] if len(r) > 3 else ("cancellation" if amount < 0 else "purchase")
        out.append({"order_id": str(i), "customer_id": cid, "order_ts": pd.Timestamp(ts), "order_type": kind,
                    "amount": float(amount), "quantity": 1 if amount >= 0 else -1, "line_count": 1,
                    "country": None, "source": "test", "source_row": i})
    df = pd.DataFrame(out)
    df["order_date"] = df["order_ts"].dt.normalize()
    return df


def connection_with_orders(rows: list[tuple]) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    con.execute("CREATE SCHEMA raw")
    con.register("_o", orders_frame(rows))
    con.execute("CREATE TABLE raw.orders AS SELECT * FROM _o")
    con.unregister("_o")
    return con


@pytest.fixture(scope="session")
def cdnow_source():
    from customer_pipeline.settings import PROFILES
    from customer_pipeline.sources import cdnow

    return cdnow.load(None, PROFILES["cdnow"])


@pytest.fixture(scope="session")
def cdnow_orders(cdnow_source):
    """raw.orders of the whole CDNOW ledger (all partitions)."""
    from customer_pipeline.sources.base import orders_for_partition

    months = sorted(cdnow_source.lines["partition_month"].unique())
    return pd.concat([orders_for_partition(cdnow_source, m.date()) for m in months], ignore_index=True)
