"""Analytics snapshots, one per monthly partition, as of the month's end (thin: the logic is in analytics/)."""

import dagster as dg
import pandas as pd

from customer_pipeline import schemas
from customer_pipeline.analytics.clv import historical_clv
from customer_pipeline.analytics.cohorts import add_sbg_projection, cohort_retention as build_cohorts, weighted_retention_curve
from customer_pipeline.analytics.customer_360 import add_subscription_profile, customer_360 as build_customer_360
from customer_pipeline.analytics.rfm import SEGMENTS, score_rfm, segment_map
from customer_pipeline.assets import charts
from customer_pipeline.assets.common import OWNERS, all_earlier_partitions, as_of_of, partitions_def
from customer_pipeline.assets.metadata import preview, table_metadata
from customer_pipeline.assets.raw import RAW_CUSTOMERS, RAW_ORDERS
from customer_pipeline.analytics.clv_predictive import predict_clv
from customer_pipeline.assets.common import profile
from customer_pipeline.settings import annual_discount_rate, gross_margin
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
        df = add_subscription_profile(con, df, as_of, has_subscriptions=profile().kind == "subscription")
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
                "Full grid: 0 when observed and empty, NULL when not observable yet; a partial last month is flagged. "
                "projected_retention_rate: a shifted-beta-geometric fit per cohort, projected to unobserved periods.",
)
def cohort_retention(context: dg.AssetExecutionContext, warehouse: Warehouse) -> pd.DataFrame:
    as_of = as_of_of(context)
    with warehouse.connect() as con:
        df = add_sbg_projection(build_cohorts(con, as_of))
    df = schemas.validate(df, schemas.CohortRetention, f"cohort_retention as of {as_of}")
    curve = weighted_retention_curve(df)
    context.add_output_metadata({
        **_snapshot_md(df, as_of),
        "cohorts": int(df["cohort_month"].nunique()),
        "partial_period_flagged": bool((df["is_observable"] & ~df["is_complete_period"]).any()),
        "retention_curve_weighted_by_cohort_size": dg.MetadataValue.md(curve.head(24).to_markdown(index=False)),
        "heatmap": charts.cohort_heatmap(df, as_of),
        "sbg_fits": dg.MetadataValue.md(df.drop_duplicates("cohort_month")[["cohort_month", "cohort_customers", "sbg_alpha", "sbg_beta", "sbg_status"]].tail(24).to_markdown(index=False)),
    })
    return df


def _saas_clv(con, as_of, margin: float) -> pd.Series | None:
    """Subscription CLV per customer where the dataset has subscriptions (None otherwise)."""
    from customer_pipeline.analytics.point_in_time import tables_as_of
    from customer_pipeline.analytics.subscription_clv import monthly_churn_by_plan, mrr_at, subscription_clv

    if profile().kind != "subscription":
        return None
    t = tables_as_of(con, as_of, "subscription")
    mrr = mrr_at(t["mrr_changes"], t["subscriptions"], as_of)
    churn = monthly_churn_by_plan(t["subscriptions"], as_of)
    value = subscription_clv(mrr["mrr"], margin, mrr["plan_type"].map(churn).fillna(0.0))
    return pd.Series(value.to_numpy(), index=mrr["customer_id"].astype(str))


CLV_KEY = dg.AssetKey(["analytics", "clv"])


@dg.multi_asset(
    name="customer_lifetime_value",
    partitions_def=partitions_def(), deps=_history_deps(RAW_ORDERS),
    outs={
        "clv": dg.AssetOut(
            key=CLV_KEY, group_name="clv", owners=OWNERS, kinds=KINDS,
            metadata=table_metadata("analytics.clv", "as_of_date"),
            description="Customer lifetime value per customer: historical value compounded to the as-of date; 12-month "
                        "predictive CLV from the BTYD purchase model with the best holdout error (BG/NBD, MBG/NBD, "
                        "Pareto/NBD) and Gamma-Gamma spend; subscription CLV where MRR exists."),
        "clv_models": dg.AssetOut(
            key=["analytics", "clv_models"], group_name="clv", owners=OWNERS, kinds=KINDS,
            metadata=table_metadata("analytics.clv_models", "as_of_date"),
            description="Every CLV model fitted for the snapshot: parameters with their time unit, log-likelihood, "
                        "customers, holdout error metrics and which model was chosen."),
        "clv_holdout_bins": dg.AssetOut(
            key=["analytics", "clv_holdout_bins"], group_name="clv", owners=OWNERS, kinds=KINDS,
            metadata=table_metadata("analytics.clv_holdout_bins", "as_of_date"),
            description="Holdout check of each purchase model: mean actual vs predicted repeat purchases by "
                        "calibration frequency (the chart of the BTYD literature)."),
    },
    check_specs=[dg.AssetCheckSpec("gamma_gamma_independence", asset=CLV_KEY,
                                   description="Gamma-Gamma assumes spend is independent of frequency: warn when "
                                               "|corr(frequency, monetary)| among repeat buyers exceeds 0.3.")],
    can_subset=False,
)
def customer_lifetime_value(context: dg.AssetExecutionContext, warehouse: Warehouse):
    as_of = as_of_of(context)
    rate, margin = annual_discount_rate(), gross_margin()
    with warehouse.connect() as con:
        hist = historical_clv(con, as_of, rate)
        pred = predict_clv(con, "raw.orders", as_of, annual_discount_rate=rate, margin=margin)
        saas = _saas_clv(con, as_of, margin)
    df = hist.merge(pred.customers[["customer_id", "predicted_purchases_12m", "probability_alive", "expected_order_value",
                                    "clv_12m", "model", "order_value_basis"]], on="customer_id", how="left",
                    validate="one_to_one")
    no_purchase = df["model"].isna()  # seen only through cancellations: nothing to predict from
    df.loc[no_purchase, ["predicted_purchases_12m", "clv_12m"]] = 0.0
    df.loc[no_purchase, "model"] = "no_purchases"
    df["margin"] = margin
    df["saas_clv"] = df["customer_id"].map(saas) if saas is not None else float("nan")
    df = schemas.validate(df[list(schemas.Clv.to_schema().columns)], schemas.Clv, f"clv as of {as_of}")

    models = pred.models.copy()
    models.insert(0, "as_of_date", pd.Timestamp(as_of))
    models["holdout_weeks"] = float(pred.metadata.get("holdout_weeks") or 0) or float("nan")
    models.loc[models["model"] == "gamma_gamma", "holdout_weeks"] = float("nan")
    models = schemas.validate(models[list(schemas.ClvModels.to_schema().columns)], schemas.ClvModels, f"clv_models {as_of}")
    bins = pred.holdout_bins.copy()
    bins.insert(0, "as_of_date", pd.Timestamp(as_of))
    bins["frequency_bin"] = bins["frequency_bin"].astype(str)
    bins = schemas.validate(bins[list(schemas.ClvHoldoutBins.to_schema().columns)], schemas.ClvHoldoutBins, f"clv_holdout_bins {as_of}")

    md = pred.metadata
    messages = "\n".join(f"- {m}" for m in pred.messages) or "- (none)"
    yield dg.Output(df, "clv", metadata={
        **_snapshot_md(df, as_of),
        "annual_discount_rate": rate, "margin": margin,
        "chosen_model": md.get("chosen_model"), "choice_reason": md.get("choice_reason"),
        "time_unit": md.get("time_unit"), "horizon_months": md.get("horizon_months"),
        "messages": dg.MetadataValue.md(messages),
        "total_clv_12m": float(df["clv_12m"].sum()),
        "total_historical_value": float(df["historical_value"].sum()),
        "customers_by_model": dg.MetadataValue.md(df["model"].value_counts().to_frame("customers").to_markdown()),
        "clv_12m_distribution": charts.histogram(df["clv_12m"], "12-month CLV", as_of),
        "historical_value_distribution": charts.histogram(df["historical_value"], "historical value at as-of", as_of),
    })
    shown = models.pivot_table(index=["model", "parameter"], values="value", aggfunc="first").round(4)
    yield dg.Output(models, "clv_models", metadata={
        "dagster/row_count": len(models), "as_of_date": str(as_of),
        "parameters": dg.MetadataValue.md(shown.to_markdown()),
        "holdout": dg.MetadataValue.md(models.drop_duplicates("model")[
            ["model", "log_likelihood", "n_customers", "holdout_status", "holdout_weeks", "holdout_actual_total",
             "holdout_predicted_total", "holdout_mae", "is_chosen"]].to_markdown(index=False)),
        "messages": dg.MetadataValue.md(messages),
    })
    yield dg.Output(bins, "clv_holdout_bins", metadata={
        "dagster/row_count": len(bins),
        "predicted_vs_actual": charts.holdout_bins(bins, as_of) if len(bins) else dg.MetadataValue.md("_no holdout: " + messages + "_"),
    })
    corr = md.get("frequency_monetary_correlation")
    ok = corr is None or not pd.notna(corr) or abs(corr) <= 0.3
    yield dg.AssetCheckResult(
        check_name="gamma_gamma_independence", asset_key=CLV_KEY, passed=bool(ok), severity=dg.AssetCheckSeverity.WARN,
        metadata={"correlation": float(corr) if corr is not None and pd.notna(corr) else float("nan"),
                  "threshold": 0.3, "repeat_buyers": int(md.get("n_repeat_buyers", 0))},
        description="Pearson correlation of frequency and mean repeat spend among repeat buyers.")
