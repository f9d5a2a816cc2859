"""Raw layer: validated orders and customers, quarantine and the load log, per monthly partition."""

from datetime import datetime, timezone

import dagster as dg

from customer_pipeline import schemas
from customer_pipeline.assets.common import OWNERS, month_of, partitions_def, profile
from customer_pipeline.assets.metadata import preview, table_metadata
from customer_pipeline.sources import load_source
from customer_pipeline.sources.base import (
    customers_for_partition, load_log_for_partition, orders_for_partition, quarantine_for_partition,
)

RAW_ORDERS = dg.AssetKey(["raw", "orders"])
RAW_CUSTOMERS = dg.AssetKey(["raw", "customers"])
LOAD_LOG = dg.AssetKey(["raw", "load_log"])
QUARANTINE = dg.AssetKey(["quarantine", "orders"])


def _out(key: dg.AssetKey, description: str, partition_column: str) -> dg.AssetOut:
    table = ".".join(key.path)
    return dg.AssetOut(
        key=key, description=description, group_name="raw", owners=OWNERS, kinds={"duckdb", "pandas"},
        metadata=table_metadata(table, partition_column), io_manager_key="io_manager",
    )


@dg.multi_asset(
    name="load_orders",
    partitions_def=partitions_def(),
    outs={
        "orders": _out(RAW_ORDERS, "Validated orders (one row per invoice/purchase), by month of the order.", "order_ts"),
        "customers": _out(RAW_CUSTOMERS, "Customers derived from their first orders, by month first seen.", "first_seen_date"),
        "load_log": _out(LOAD_LOG, "One row per load of a month: rows read, accepted, quarantined, excluded by rule, aggregated.", "partition_month"),
        "quarantine": _out(QUARANTINE, "Source rows that failed validation, with every failed rule as the reason.", "partition_month"),
    },
    can_subset=False,
)
def load_orders(context: dg.AssetExecutionContext):
    """Read the dataset's source, classify every row, and write this month's share of each table."""
    month = month_of(context)
    prof = profile()
    source = load_source(prof)
    loaded_at = datetime.now(timezone.utc).replace(tzinfo=None)  # audit column only

    orders = schemas.validate(orders_for_partition(source, month), schemas.RawOrders, f"raw.orders {month:%Y-%m}")
    customers = schemas.validate(customers_for_partition(source, month), schemas.RawCustomers, f"raw.customers {month:%Y-%m}")
    quarantine = schemas.validate(quarantine_for_partition(source, month, loaded_at), schemas.QuarantineOrders,
                                  f"quarantine.orders {month:%Y-%m}")
    log = schemas.validate(load_log_for_partition(source, month, len(orders), loaded_at), schemas.LoadLog,
                           f"raw.load_log {month:%Y-%m}")
    row = log.iloc[0]
    if row.rows_read != row.rows_accepted + row.rows_quarantined + row.rows_excluded or row.rows_quarantined != len(quarantine):
        raise RuntimeError(f"load of {month:%Y-%m} does not reconcile: {row.to_dict()}")

    yield dg.Output(orders, "orders", metadata={
        "dagster/row_count": len(orders),
        "revenue": float(orders["amount"].sum()),
        "purchases": int((orders["order_type"] == "purchase").sum()),
        "cancellations": int((orders["order_type"] == "cancellation").sum()),
        "preview": preview(orders),
    })
    yield dg.Output(customers, "customers", metadata={"dagster/row_count": len(customers), "preview": preview(customers)})
    yield dg.Output(log, "load_log", metadata={
        "dagster/row_count": len(log),
        "rows_read": int(row.rows_read), "rows_accepted": int(row.rows_accepted),
        "rows_quarantined": int(row.rows_quarantined), "rows_excluded": int(row.rows_excluded),
        "excluded_by_rule": row.excluded_by_rule, "rows_aggregated": int(row.rows_aggregated),
        "source_file": row.source_file,
        "exclusion_rules": dg.MetadataValue.json(source.notes),
    })
    top = quarantine["reason"].value_counts().head(10)
    yield dg.Output(quarantine, "quarantine", metadata={
        "dagster/row_count": len(quarantine),
        "top_reasons": dg.MetadataValue.md(top.to_frame("rows").to_markdown() if len(top) else "_(none)_"),
    })
