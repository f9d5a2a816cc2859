"""Dagster wiring of the transactional DuckDB writes in warehouse.py."""
from __future__ import annotations

import dagster as dg
import pandas as pd

from customer_pipeline.storage import warehouse


def table_name(asset_key: dg.AssetKey) -> str:
    """Asset key ["analytics", "rfm"] -> table analytics.rfm."""
    if len(asset_key.path) != 2:
        raise ValueError(f"asset key {asset_key.to_user_string()} must be [schema, table]")
    return ".".join(asset_key.path)


def _window(context: dg.InputContext | dg.OutputContext, partition_column: str | None):
    if partition_column is None or not context.has_asset_partitions:
        return None, None
    tw = context.asset_partitions_time_window
    # Partition bounds arrive time-zone aware (UTC); the tables hold naive timestamps/dates.
    return tw.start.replace(tzinfo=None), tw.end.replace(tzinfo=None)


class DuckDBContractIOManager(dg.ConfigurableIOManager):
    """Writes each asset to the DuckDB table named by its key, one partition per transaction."""

    database: str

    def handle_output(self, context: dg.OutputContext, obj: pd.DataFrame) -> None:
        table = table_name(context.asset_key)
        pcol = (context.definition_metadata or {}).get("partition_column")
        start, end = _window(context, pcol)
        with warehouse.connect(self.database) as con:
            n = warehouse.replace_rows(con, table, obj, partition_column=pcol if start else None, start=start, end=end)
        context.add_output_metadata({
            "table": table,
            "database": self.database,
            "rows_written": n,
            "write": "replaced partition atomically" if start else "replaced table atomically",
        })

    def load_input(self, context: dg.InputContext) -> pd.DataFrame:
        table = table_name(context.asset_key)
        upstream = context.upstream_output
        pcol = (upstream.definition_metadata or {}).get("partition_column") if upstream else None
        start, end = _window(context, pcol)
        with warehouse.connect(self.database) as con:
            return warehouse.read_rows(con, table, partition_column=pcol if start else None, start=start, end=end)


class Warehouse(dg.ConfigurableResource):
    """Read access for SQL-heavy assets (aggregation runs inside DuckDB, not in pandas)."""

    database: str

    def connect(self, read_only: bool = False):
        return warehouse.connect(self.database, read_only=read_only)
