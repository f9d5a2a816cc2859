"""The DuckDB writes: one partition per transaction, by name, typed from the contract."""
from __future__ import annotations

from datetime import datetime

import duckdb
import pandas as pd
import pytest

from customer_pipeline.storage import warehouse
from customer_pipeline_tests.conftest import orders_frame

JAN = (datetime(2021, 1, 1), datetime(2021, 2, 1))
FEB = (datetime(2021, 2, 1), datetime(2021, 3, 1))


def _orders(rows):
    df = orders_frame(rows)
    return df[["order_id", "customer_id", "order_ts", "order_date", "order_type", "amount", "quantity",
               "line_count", "country", "source", "source_row"]]


def _write(con, df, window):
    return warehouse.replace_rows(con, "raw.orders", df, partition_column="order_ts", start=window[0], end=window[1])


@pytest.fixture
def con(tmp_path):
    with warehouse.connect(tmp_path / "w.duckdb") as c:
        yield c


def test_rewrite_replaces_only_its_partition_and_is_idempotent(con):
    jan = _orders([("A", "2021-01-05", 10), ("B", "2021-01-31 23:59", 5)])
    feb = _orders([("A", "2021-02-05", 7)]).assign(order_id="f1")
    _write(con, jan, JAN)
    _write(con, feb, FEB)
    _write(con, jan, JAN)
    got = con.execute("SELECT order_id, amount FROM raw.orders ORDER BY order_ts").fetchall()
    assert got == [("1", 10.0), ("2", 5.0), ("f1", 7.0)]


def test_failed_write_leaves_the_partition_as_it_was(con):
    _write(con, _orders([("A", "2021-01-05", 10)]), JAN)
    bad = _orders([("A", "2021-01-06", 11)])
    bad["quantity"] = ["not a number"]  # the insert fails half way, after the delete
    with pytest.raises(duckdb.Error):
        _write(con, bad, JAN)
    assert con.execute("SELECT order_id, amount FROM raw.orders").fetchall() == [("1", 10.0)]


def test_rows_outside_the_partition_are_refused(con):
    with pytest.raises(ValueError, match="outside the partition"):
        _write(con, _orders([("A", "2021-02-05", 10)]), JAN)


def test_columns_in_another_order_land_by_name(con):
    df = _orders([("A", "2021-01-05", 10)])
    _write(con, df[list(reversed(df.columns))], JAN)
    assert con.execute("SELECT customer_id, amount, quantity FROM raw.orders").fetchall() == [("A", 10.0, 1)]


def test_all_null_first_write_gets_contract_types_and_categoricals_are_plain_text(con):
    df = _orders([("A", "2021-01-05", 10)])
    df["country"] = pd.Categorical([None])
    _write(con, df, JAN)
    types = dict(con.execute("SELECT column_name, data_type FROM information_schema.columns "
                             "WHERE table_name = 'orders'").fetchall())
    assert types["country"] == "VARCHAR" and types["order_date"] == "DATE" and types["order_ts"] == "TIMESTAMP"
    df2 = _orders([("B", "2021-02-05", 1)]).assign(order_id="x", country=pd.Categorical(["France"]))
    _write(con, df2, FEB)  # a new category value is fine: no ENUM was created
    assert con.execute("SELECT country FROM raw.orders WHERE order_id = 'x'").fetchone() == ("France",)


def test_frame_must_match_the_contract(con):
    df = _orders([("A", "2021-01-05", 10)])
    with pytest.raises(ValueError, match="extra \\['surprise'\\]"):
        _write(con, df.assign(surprise=1), JAN)
    with pytest.raises(ValueError, match="missing \\['country'\\]"):
        _write(con, df.drop(columns="country"), JAN)


def test_time_zone_aware_timestamps_are_refused(con):
    df = _orders([("A", "2021-01-05", 10)])
    df["order_ts"] = df["order_ts"].dt.tz_localize("Europe/London")
    with pytest.raises(ValueError, match="time-zone-aware"):
        _write(con, df, JAN)


def test_empty_frame_empties_only_its_partition(con):
    _write(con, _orders([("A", "2021-01-05", 10)]), JAN)
    _write(con, _orders([("A", "2021-02-05", 10)]).assign(order_id="f"), FEB)
    _write(con, _orders([("A", "2021-01-05", 10)]).iloc[:0], JAN)
    assert con.execute("SELECT order_id FROM raw.orders").fetchall() == [("f",)]


def test_unknown_table_has_no_contract(con):
    with pytest.raises(KeyError, match="no pandera contract"):
        warehouse.replace_rows(con, "raw.nope", pd.DataFrame({"a": [1]}))


def test_locked_database_reports_path(tmp_path):
    """A second process holding the file: we wait, then fail with a message naming the file."""
    import subprocess
    import sys
    import time

    path = tmp_path / "locked.duckdb"
    holder = subprocess.Popen([sys.executable, "-c",
                               f"import duckdb, time; c = duckdb.connect({str(path)!r}); print('ok', flush=True); time.sleep(30)"],
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "ok"
        t = time.monotonic()
        with pytest.raises(warehouse.WarehouseLockedError, match="locked.duckdb"):
            with warehouse.connect(path, timeout_s=1.0):
                pass
        assert time.monotonic() - t < 15
    finally:
        holder.kill()
        holder.wait()
