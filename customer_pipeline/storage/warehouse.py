"""DuckDB writes that replace exactly one partition in one transaction, or change nothing.

Why not dagster-duckdb's IO manager as shipped: it deletes the partition and then inserts
positionally outside a transaction, so a failing insert leaves the partition (or a whole table)
empty, columns in another order land in the wrong columns, an all-NULL first write creates
columns of type NULL and a pandas Categorical becomes an ENUM. Here:

* tables are created from the pandera contract (exact types, contract column order);
* rows are inserted BY NAME after the frame's columns are checked against the table;
* delete + insert run in one transaction, rolled back on any error;
* a column the contract gained is added (ALTER TABLE ADD COLUMN) inside the same transaction;
* time-zone-aware timestamps are refused (the contract is naive timestamps);
* the connection is always closed, and a lock held by another process is retried, then
  reported with the database path.
"""
from __future__ import annotations

import time
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Iterator

import duckdb
import pandas as pd

from customer_pipeline import schemas


class WarehouseLockedError(RuntimeError):
    pass


@contextmanager
def connect(path: Path | str, *, read_only: bool = False, timeout_s: float = 60.0) -> Iterator[duckdb.DuckDBPyConnection]:
    """Open the database, retrying while another process holds its lock; always close it."""
    path = Path(path)
    if not read_only:
        path.parent.mkdir(parents=True, exist_ok=True)
    deadline = time.monotonic() + timeout_s
    delay = 0.2
    while True:
        try:
            con = duckdb.connect(str(path), read_only=read_only)
            break
        except duckdb.IOException as err:
            if "lock" not in str(err).lower():
                raise  # not a lock: DuckDB's own message names the file and the problem
            if time.monotonic() > deadline:
                raise WarehouseLockedError(
                    f"could not open {path}: {err}. Another process (a notebook, a second run) holds "
                    f"the database; close it and retry.") from err
            time.sleep(delay)
            delay = min(delay * 2, 5.0)
    try:
        yield con
    finally:
        con.close()


def _split(table: str) -> tuple[str, str]:
    schema, name = table.split(".")
    return schema, name


def table_exists(con: duckdb.DuckDBPyConnection, table: str) -> bool:
    schema, name = _split(table)
    return bool(con.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_schema = ? AND table_name = ?",
        [schema, name]).fetchone()[0])


def _existing_columns(con: duckdb.DuckDBPyConnection, table: str) -> dict[str, str]:
    schema, name = _split(table)
    rows = con.execute(
        "SELECT column_name, data_type FROM information_schema.columns WHERE table_schema = ? AND table_name = ? "
        "ORDER BY ordinal_position", [schema, name]).fetchall()
    return {c: t for c, t in rows}


def _prepare(frame: pd.DataFrame, table: str) -> pd.DataFrame:
    frame = frame.copy()
    for col in frame.columns:
        s = frame[col]
        if isinstance(s.dtype, pd.CategoricalDtype):  # would become an ENUM that rejects new values
            frame[col] = s.astype(object).where(s.notna(), None)
        elif isinstance(s.dtype, pd.DatetimeTZDtype):
            raise ValueError(f"{table}.{col} has time-zone-aware timestamps; convert to naive before writing")
    return frame


def ensure_table(con: duckdb.DuckDBPyConnection, table: str) -> dict[str, str]:
    """Create the table from its contract, or add contract columns it lacks. Returns name -> type."""
    schema, _ = _split(table)
    contract = schemas.sql_columns(schemas.model_for(table))
    con.execute(f'CREATE SCHEMA IF NOT EXISTS "{schema}"')
    if not table_exists(con, table):
        cols = ", ".join(f'"{c}" {t}' for c, t in contract.items())
        con.execute(f"CREATE TABLE {table} ({cols})")
        return contract
    existing = _existing_columns(con, table)
    for c, t in contract.items():
        if c not in existing:
            con.execute(f'ALTER TABLE {table} ADD COLUMN "{c}" {t}')
    return _existing_columns(con, table)


def replace_rows(
    con: duckdb.DuckDBPyConnection,
    table: str,
    frame: pd.DataFrame,
    *,
    partition_column: str | None = None,
    start: datetime | None = None,
    end: datetime | None = None,
) -> int:
    """Replace one partition ([start, end) on partition_column) or the whole table, atomically.

    The frame must hold exactly the contract's columns (in any order). Returns rows written.
    """
    frame = _prepare(frame, table)
    contract = list(schemas.sql_columns(schemas.model_for(table)))
    extra, missing = set(frame.columns) - set(contract), set(contract) - set(frame.columns)
    if extra or missing:
        raise ValueError(f"{table}: frame columns differ from the contract (extra {sorted(extra)}, missing {sorted(missing)})")
    if partition_column is not None and len(frame):
        values = pd.to_datetime(frame[partition_column])
        outside = (values < pd.Timestamp(start)) | (values >= pd.Timestamp(end))
        if outside.any():
            raise ValueError(
                f"{table}: {int(outside.sum())} row(s) have {partition_column} outside the partition "
                f"[{start:%Y-%m-%d}, {end:%Y-%m-%d}), e.g. {values[outside].iloc[0]}")
    con.execute("BEGIN TRANSACTION")
    try:
        ensure_table(con, table)
        if partition_column is None:
            con.execute(f"DELETE FROM {table}")
        else:
            con.execute(f'DELETE FROM {table} WHERE "{partition_column}" >= ? AND "{partition_column}" < ?',
                        [pd.Timestamp(start).to_pydatetime(), pd.Timestamp(end).to_pydatetime()])
        if len(frame):
            con.register("_incoming", frame[contract])
            try:
                con.execute(f"INSERT INTO {table} BY NAME SELECT * FROM _incoming")
            finally:
                con.unregister("_incoming")
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    return len(frame)


def read_rows(
    con: duckdb.DuckDBPyConnection,
    table: str,
    *,
    partition_column: str | None = None,
    start: datetime | None = None,
    end: datetime | None = None,
) -> pd.DataFrame:
    if not table_exists(con, table):
        raise LookupError(f"{table} does not exist yet: materialise its asset first")
    if partition_column is None:
        return con.execute(f"SELECT * FROM {table}").df()
    return con.execute(
        f'SELECT * FROM {table} WHERE "{partition_column}" >= ? AND "{partition_column}" < ?',
        [pd.Timestamp(start).to_pydatetime(), pd.Timestamp(end).to_pydatetime()]).df()
