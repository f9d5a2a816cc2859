"""Analytics snapshots, one per monthly partition, as of the month's end (thin: the logic is in analytics/)."""

import dagster as dg
import pandas as pd

from customer_pipeline import schemas
from customer_pipeline.analytics.clv import historical_clv
from customer_pipeline.analytics.cohorts import cohort_retention as build_cohorts, weighted_retention_curve
from customer_pipeline.analytics.customer_360 import customer_360 as build_customer_360
from customer_pipeline.analytics.rfm import SEGMENTS, score_rfm, segment_map
from customer_pipeline.assets import charts
from customer_pipeline.assets.common import OWNERS, all_earlier_partitions, as_of_of, partitions_def
from customer_pipeline.assets.metadata import preview, table_metadata
from customer_pipeline.assets.raw import RAW_CUSTOMERS, RAW_ORDERS
from customer_pipeline.settings import annual_discount_rate
from customer_pipeline.storage.io_manager import Warehouse

KINDS = {"duckdb", "pandas"}


def _history_deps(*keys: dg.AssetKey) -> list[dg.AssetDep]:
    return [dg.AssetDep(k, partition_mapping=all_earlier_partitions()) for k in keys]


def _snapshot_md(df: pd.DataFrame, as_of) -> dict:
    return {"dagster/row_count": len(df), "as_of_date": str(as_of), "preview": preview(df)}


@dg.asset(
    key=["analytics", "customer_360"], group_name="customers", owners=OWNERS, kinds=KINDS,
    partitions_def=partitions_def(), deps=_history_deps(RAW_ORDERS, RAW_CUSTOMERS),
    metadata=table_metadata("analytics.customer_360", "as_of_date"),
    description="Customer 360: orders, net revenue (purchases less cancellations), AOV, first/last order, "
                "days since last order, acquisition; one row per customer seen by the as-of date.",
)
def customer_360(context: dg.AssetExecutionContext, warehouse: Warehouse) -> pd.DataFrame:
    as_of = as_of_of(context)
    with warehouse.connect() as con:
        df = build_customer_360(con, as_of)
        raw_revenue = con.execute("SELECT coalesce(sum(amount), 0) FROM raw.orders WHERE order_ts < ?",
                                  [pd.Timestamp(as_of) + pd.Timedelta(days=1)]).fetchone()[0]
    df = schemas.validate(df, schemas.Customer360, f"customer_360 as of {as_of}")
    gap = abs(df["total_revenue"].sum() - raw_revenue)
    if gap > 1e-6 * max(1.0, abs(raw_revenue)):
        raise RuntimeError(f"customer_360 revenue {df['total_revenue'].sum():.2f} != raw.orders {raw_revenue:.2f} as of {as_of}")
    context.add_output_metadata({
        **_snapshot_md(df, as_of),
        "customers": len(df),
        "buyers": int((df["total_orders"] > 0).sum()),
        "total_revenue": float(df["total_revenue"].sum()),
        "revenue_reconciles_with_raw_orders": True,
    })
    return df


@dg.asset(
    key=["analytics", "rfm_segment_map"], group_name="segments", owners=OWNERS, kinds={"duckdb", "pandas"},
    metadata=table_metadata("analytics.rfm_segment_map", None),
    description="Reference data: every one of the 125 (R, F, M) score triples and the single segment it maps to.",
)
def rfm_segment_map(context: dg.AssetExecutionContext) -> pd.DataFrame:
    df = schemas.validate(segment_map(), schemas.RfmSegmentMap, "rfm_segment_map")
    counts = df["segment"].value_counts().reindex(SEGMENTS)
    context.add_output_metadata({"dagster/row_count": len(df), "segments": len(counts),
                                 "triples_per_segment": dg.MetadataValue.md(counts.to_frame("triples").to_markdown())})
    return df


@dg.asset(
    key=["analytics", "rfm"], group_name="segments", owners=OWNERS, kinds=KINDS,
    partitions_def=partitions_def(), ins={"profile": dg.AssetIn(key=["analytics", "customer_360"])},
    metadata=table_metadata("analytics.rfm", "as_of_date"),
    description="RFM scores (1-5, 5 best on every axis, equal values share a score) and segments with "
                "recommended actions, for customers with at least one purchase.",
)
def rfm(context: dg.AssetExecutionContext, profile: pd.DataFrame) -> pd.DataFrame:
    as_of = as_of_of(context)
    df = schemas.validate(score_rfm(profile), schemas.Rfm, f"rfm as of {as_of}")
    sizes = df.groupby("segment").agg(customers=("customer_id", "size"), revenue=("monetary", "sum")).reindex(SEGMENTS).fillna(0)
    context.add_output_metadata({
        **_snapshot_md(df, as_of),
        "segment_sizes": dg.MetadataValue.md(sizes.to_markdown()),
        "segment_chart": charts.segment_bars(sizes, as_of),
        "score_distribution": dg.MetadataValue.md(pd.DataFrame({
            a: df[f"{a}_score"].value_counts().reindex(range(1, 6), fill_value=0) for a in "rfm"}).to_markdown()),
    })
    return df


@dg.asset(
    key=["analytics", "cohort_retention"], group_name="cohorts", owners=OWNERS, kinds=KINDS,
    partitions_def=partitions_def(), deps=_history_deps(RAW_ORDERS),
    metadata=table_metadata("analytics.cohort_retention", "as_of_date"),
    description="Monthly acquisition cohorts x months since acquisition: customers and revenue retention. "
                "Full grid: 0 when observed and empty, NULL when not observable yet; a partial last month is flagged.",
)
def cohort_retention(context: dg.AssetExecutionContext, warehouse: Warehouse) -> pd.DataFrame:
    as_of = as_of_of(context)
    with warehouse.connect() as con:
        df = build_cohorts(con, as_of)
    df = schemas.validate(df, schemas.CohortRetention, f"cohort_retention as of {as_of}")
    curve = weighted_retention_curve(df)
    context.add_output_metadata({
        **_snapshot_md(df, as_of),
        "cohorts": int(df["cohort_month"].nunique()),
        "partial_period_flagged": bool((df["is_observable"] & ~df["is_complete_period"]).any()),
        "retention_curve_weighted_by_cohort_size": dg.MetadataValue.md(curve.head(24).to_markdown(index=False)),
        "heatmap": charts.cohort_heatmap(df, as_of),
    })
    return df


@dg.asset(
    key=["analytics", "clv"], group_name="clv", owners=OWNERS, kinds=KINDS,
    partitions_def=partitions_def(), deps=_history_deps(RAW_ORDERS),
    metadata=table_metadata("analytics.clv", "as_of_date"),
    description="Customer lifetime value: historical value with every order compounded to the as-of date "
                "at the configured annual discount rate (CUSTOMER_PIPELINE_ANNUAL_DISCOUNT_RATE, default 10 %).",
)
def clv(context: dg.AssetExecutionContext, warehouse: Warehouse) -> pd.DataFrame:
    as_of = as_of_of(context)
    rate = annual_discount_rate()
    with warehouse.connect() as con:
        df = historical_clv(con, as_of, rate)
    df = schemas.validate(df, schemas.Clv, f"clv as of {as_of}")
    context.add_output_metadata({
        **_snapshot_md(df, as_of),
        "annual_discount_rate": rate,
        "total_historical_value": float(df["historical_value"].sum()),
        "total_historical_revenue": float(df["historical_revenue"].sum()),
        "clv_distribution": charts.histogram(df["historical_value"], "historical value at as-of", as_of),
    })
    return df
