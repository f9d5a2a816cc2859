"""Raw layer: validated source tables, quarantine and the load log, per monthly partition."""
from datetime import datetime, timezone

import dagster as dg
import pandas as pd

from customer_pipeline import schemas
from customer_pipeline.assets.common import OWNERS, month_of, partitions_def, profile
from customer_pipeline.assets.metadata import preview, table_metadata
from customer_pipeline.sources import load_source
from customer_pipeline.sources.base import (
    customers_for_partition, load_log_for_partition, orders_for_partition, quarantine_for_partition,
    split_by_contract,
)

RAW_ORDERS = dg.AssetKey(["raw", "orders"])
RAW_CUSTOMERS = dg.AssetKey(["raw", "customers"])
LOAD_LOG = dg.AssetKey(["raw", "load_log"])
QUARANTINE = dg.AssetKey(["quarantine", "orders"])
SAAS_QUARANTINE = dg.AssetKey(["quarantine", "saas_tables"])

# subscription-business tables: raw table -> (contract, partition column, description)
SAAS_TABLES = {
    "subscriptions": (schemas.RawSubscriptions, "start_date", "Subscriptions with plan, contract type, MRR at start and cancellation, by month started."),
    "mrr_changes": (schemas.RawMrrChanges, "effective_date", "MRR event log (new, expansion, contraction, churn), by month effective."),
    "usage_daily": (schemas.RawUsageDaily, "usage_date", "Daily product usage (logins, features used, sessions) per active customer-day."),
    "support_tickets": (schemas.RawSupportTickets, "opened_at", "Support tickets with priority, opened and closed times, by month opened."),
    "nps_responses": (schemas.RawNpsResponses, "responded_at", "NPS answers 0-10 per person, by month answered."),
    "marketing_spend": (schemas.RawMarketingSpend, "month", "Marketing spend by month and acquisition channel."),
}


def saas_key(table: str) -> dg.AssetKey:
    return dg.AssetKey(["raw", table])


def _out(key: dg.AssetKey, description: str, partition_column: str) -> dg.AssetOut:
    table = ".".join(key.path)
    return dg.AssetOut(
        key=key, description=description, group_name="raw", owners=OWNERS, kinds={"duckdb", "pandas"},
        metadata=table_metadata(table, partition_column), io_manager_key="io_manager",
    )


def _outs() -> dict[str, dg.AssetOut]:
    outs = {
        "orders": _out(RAW_ORDERS, "Validated orders (one row per invoice/purchase), by month of the order.", "order_ts"),
        "customers": _out(RAW_CUSTOMERS, "Customers (from the customer table, or derived from first orders), by month first seen.", "first_seen_date"),
        "load_log": _out(LOAD_LOG, "One row per source table and month: rows read, accepted, quarantined, excluded by rule, aggregated.", "partition_month"),
        "quarantine": _out(QUARANTINE, "Order rows that failed validation, with every failed rule as the reason.", "partition_month"),
    }
    if profile().kind == "subscription":
        for table, (_, pcol, desc) in SAAS_TABLES.items():
            outs[table] = _out(saas_key(table), desc, pcol)
        outs["saas_quarantine"] = _out(SAAS_QUARANTINE, "Rows of the subscription tables that failed their contract, with the reason.", "partition_month")
    return outs


@dg.multi_asset(name="load_sources", partitions_def=partitions_def(), outs=_outs(), can_subset=False)
def load_sources(context: dg.AssetExecutionContext):
    """Read the dataset's sources, classify every row, and write this month's share of each table."""
    month = month_of(context)
    prof = profile()
    source = load_source(prof)
    loaded_at = datetime.now(timezone.utc).replace(tzinfo=None)  # audit column only

    orders = schemas.validate(orders_for_partition(source, month), schemas.RawOrders, f"raw.orders {month:%Y-%m}")
    if prof.kind == "subscription":
        from customer_pipeline.sources import saas

        customers = saas.customers_for_partition(prof, month)
    else:
        customers = customers_for_partition(source, month)
    customers = schemas.validate(customers, schemas.RawCustomers, f"raw.customers {month:%Y-%m}")
    quarantine = schemas.validate(quarantine_for_partition(source, month, loaded_at), schemas.QuarantineOrders,
                                  f"quarantine.orders {month:%Y-%m}")
    logs = [load_log_for_partition(source, month, len(orders), loaded_at)]
    row = logs[0].iloc[0]
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
    top = quarantine["reason"].value_counts().head(10)
    yield dg.Output(quarantine, "quarantine", metadata={
        "dagster/row_count": len(quarantine),
        "top_reasons": dg.MetadataValue.md(top.to_frame("rows").to_markdown() if len(top) else "_(none)_"),
    })

    if prof.kind == "subscription":
        from customer_pipeline.sources import saas

        rejected = []
        for table, (model, _, _) in SAAS_TABLES.items():
            frame = saas.event_table_for_partition(prof, table, month)
            good, bad, log = split_by_contract(frame, model.to_schema(), source=prof.name, table=table,
                                               source_file=source.source_file, month=month, loaded_at=loaded_at)
            good = schemas.validate(good, model, f"raw.{table} {month:%Y-%m}")
            rejected.append(bad)
            logs.append(log)
            yield dg.Output(good, table, metadata={"dagster/row_count": len(good), "quarantined": len(bad), "preview": preview(good)})
        q = schemas.validate(pd.concat(rejected, ignore_index=True), schemas.SaasQuarantine, "quarantine.saas_tables")
        yield dg.Output(q, "saas_quarantine", metadata={"dagster/row_count": len(q)})

    log = schemas.validate(pd.concat(logs, ignore_index=True), schemas.LoadLog, f"raw.load_log {month:%Y-%m}")
    yield dg.Output(log, "load_log", metadata={
        "dagster/row_count": len(log),
        "rows_read": int(log["rows_read"].sum()), "rows_accepted": int(log["rows_accepted"].sum()),
        "rows_quarantined": int(log["rows_quarantined"].sum()), "rows_excluded": int(log["rows_excluded"].sum()),
        "excluded_by_rule": row.excluded_by_rule, "rows_aggregated": int(log["rows_aggregated"].sum()),
        "source_file": row.source_file,
        "exclusion_rules": dg.MetadataValue.json(source.notes),
        "by_table": dg.MetadataValue.md(log[["source_table", "rows_read", "rows_accepted", "rows_quarantined", "rows_excluded"]].to_markdown(index=False)),
    })
