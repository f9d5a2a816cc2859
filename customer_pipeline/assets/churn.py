"""Churn features, the churn model with its metrics and scores, and the health score."""
import json
from datetime import date

import dagster as dg
import pandas as pd

from customer_pipeline import schemas
from customer_pipeline.analytics import churn as churn_core
from customer_pipeline.analytics.health import health_scores as build_health
from customer_pipeline.analytics.point_in_time import tables_as_of
from customer_pipeline.assets import charts
from customer_pipeline.assets.common import OWNERS, all_earlier_partitions, as_of_of, partitions_def, profile
from customer_pipeline.assets.metadata import preview, table_metadata
from customer_pipeline.assets.raw import RAW_ORDERS
from customer_pipeline.storage.io_manager import Warehouse
from customer_pipeline.storage.warehouse import table_exists

KINDS = {"duckdb", "pandas", "scikitlearn"}
CHURN_FEATURES = dg.AssetKey(["analytics", "churn_features"])
HORIZON_DAYS = 90
# Labelled monthly snapshots the model sees: the latest is the test set, those at least 90 days
# before it train the evaluated model (about 6), and all of them the served one. Bounds the cost.
LABELLED_SNAPSHOTS = 9


def feature_columns(kind: str) -> list[str]:
    return churn_core.ORDER_FEATURES if kind == "orders" else churn_core.SUBSCRIPTION_FEATURES + churn_core.ORDER_FEATURES


def _raw_deps() -> list[dg.AssetDep]:
    keys = [RAW_ORDERS]
    if profile().kind == "subscription":
        from customer_pipeline.assets.raw import SAAS_TABLES, saas_key

        keys += [saas_key(t) for t in SAAS_TABLES]
    return [dg.AssetDep(k, partition_mapping=all_earlier_partitions()) for k in keys]


def _with_contract_columns(df: pd.DataFrame, model) -> pd.DataFrame:
    """Add the contract's columns this dataset kind does not have, as NULL."""
    for col in model.to_schema().columns:
        if col not in df.columns:
            df[col] = None
    return df[list(model.to_schema().columns)]


@dg.asset(
    key=CHURN_FEATURES, group_name="churn", owners=OWNERS, kinds={"duckdb", "pandas"},
    partitions_def=partitions_def(), deps=_raw_deps(),
    metadata=table_metadata("analytics.churn_features", "as_of_date"),
    description="Point-in-time churn features per customer active at the as-of date (subscription in force, or "
                "any purchase to date for order-only businesses), from data up to the as-of date only.",
)
def churn_features(context: dg.AssetExecutionContext, warehouse: Warehouse) -> pd.DataFrame:
    as_of = as_of_of(context)
    kind = profile().kind
    with warehouse.connect() as con:
        tables = tables_as_of(con, as_of, kind)
    df = churn_core.build_churn_features(tables, as_of, kind)
    df.insert(0, "as_of_date", pd.Timestamp(as_of))
    df = schemas.validate(_with_contract_columns(df, schemas.ChurnFeatures), schemas.ChurnFeatures, f"churn_features {as_of}")
    cols = feature_columns(kind)
    context.add_output_metadata({
        "dagster/row_count": len(df), "as_of_date": str(as_of), "kind": kind, "features": cols,
        "missing_share": dg.MetadataValue.md(df[cols].isna().mean().round(3).to_frame("share NULL").to_markdown()),
        "preview": preview(df),
    })
    return df


def _previous_model(con, as_of: date):
    row = con.execute("SELECT model_bytes FROM analytics.churn_models WHERE as_of_date < ? ORDER BY as_of_date DESC LIMIT 1",
                      [as_of]).fetchone() if table_exists(con, "analytics.churn_models") else None
    return churn_core.model_from_bytes(bytes(row[0])) if row else None


def _metrics_row(as_of: date, model, status: str, message: str) -> pd.DataFrame:
    m = model.metrics if model is not None else {}
    row = {
        "as_of_date": pd.Timestamp(as_of), "model_version": model.model_version if model else None,
        "status": status, "message": message,
        **{k: m.get(k) for k in ("roc_auc", "pr_auc", "brier", "positive_rate", "lift_top_decile")},
        "n_train": m.get("n_train"), "n_test": m.get("n_test"),
        "features": json.dumps(m.get("features")) if m.get("features") else None,
        "train_window_start": pd.Timestamp(m["train_window_start"]) if m.get("train_window_start") else pd.NaT,
        "train_window_end": pd.Timestamp(m["train_window_end"]) if m.get("train_window_end") else pd.NaT,
        "test_as_of": pd.Timestamp(m["test_as_of"]) if m.get("test_as_of") else pd.NaT,
        "served_window_end": pd.Timestamp(m["served_model_window_end"]) if m.get("served_model_window_end") else pd.NaT,
    }
    df = pd.DataFrame([row])
    for c in ("n_train", "n_test"):
        df[c] = df[c].astype("Int64")
    for c in ("roc_auc", "pr_auc", "brier", "positive_rate", "lift_top_decile"):
        df[c] = df[c].astype(float)
    return df


@dg.multi_asset(
    name="churn_model",
    partitions_def=partitions_def(),
    ins={},
    deps=[dg.AssetDep(CHURN_FEATURES, partition_mapping=all_earlier_partitions()), *_raw_deps()],
    outs={
        "churn_model_metrics": dg.AssetOut(
            key=["analytics", "churn_model_metrics"], group_name="churn", owners=OWNERS, kinds=KINDS,
            metadata=table_metadata("analytics.churn_model_metrics", "as_of_date"),
            description="The churn model serving each snapshot and its time-based holdout metrics (ROC-AUC, PR-AUC, "
                        "Brier, base rate, top-decile lift), or why the last good model was kept."),
        "churn_models": dg.AssetOut(
            key=["analytics", "churn_models"], group_name="churn", owners=OWNERS, kinds=KINDS,
            metadata=table_metadata("analytics.churn_models", "as_of_date"),
            description="Fitted churn models (pickled with their version) so every score can be traced and reloaded."),
        "churn_scores": dg.AssetOut(
            key=["analytics", "churn_scores"], group_name="churn", owners=OWNERS, kinds=KINDS,
            metadata=table_metadata("analytics.churn_scores", "as_of_date"),
            description="Churn probability in the next 90 days, risk tier, recommended action and the top 3 risk factors "
                        "in plain words, per customer active at the as-of date."),
    },
    can_subset=False,
)
def churn_model(context: dg.AssetExecutionContext, warehouse: Warehouse):
    """Train on earlier snapshots, test on the latest fully labelled one, then score this snapshot."""
    as_of = as_of_of(context)
    kind = profile().kind
    cols = feature_columns(kind)
    with warehouse.connect() as con:
        tables = tables_as_of(con, as_of, kind)
        feats = con.execute("SELECT * FROM analytics.churn_features WHERE as_of_date <= ? ORDER BY as_of_date, customer_id",
                            [as_of]).df()
        previous = _previous_model(con, as_of)
    feats["as_of_date"] = pd.to_datetime(feats["as_of_date"])
    current = feats[feats["as_of_date"] == pd.Timestamp(as_of)]
    labelled = [pd.Timestamp(d).date() for d in sorted(feats["as_of_date"].unique())
                if pd.Timestamp(d) + pd.Timedelta(days=HORIZON_DAYS) <= pd.Timestamp(as_of)]
    snapshot_dates = labelled[-LABELLED_SNAPSHOTS:]
    snapshots = {}
    for d in snapshot_dates:
        f = feats[feats["as_of_date"] == pd.Timestamp(d)][["customer_id", *cols]]
        labels = churn_core.build_churn_labels(tables, d, kind, HORIZON_DAYS, data_end=as_of)
        snapshots[d] = f.merge(labels[["customer_id", "churned"]], on="customer_id", how="left")

    model_rows = pd.DataFrame({c: pd.Series(dtype=object) for c in ("as_of_date", "model_version", "sklearn_version", "model_bytes")})
    try:
        model = churn_core.train_churn_model(snapshots, kind=kind, horizon_days=HORIZON_DAYS, as_of=as_of)
        status, message = "trained", f"trained on snapshots {model.metrics['train_window_start']}..{model.metrics['train_window_end']}, tested on {model.metrics['test_as_of']}"
        model_rows = pd.DataFrame([{"as_of_date": pd.Timestamp(as_of), "model_version": model.model_version,
                                    "sklearn_version": model.sklearn_version, "model_bytes": model.to_bytes()}])
    except churn_core.InsufficientLabelsError as err:
        model = previous
        if model is not None:
            status, message = "kept_previous", f"kept {model.model_version}: {err}"
        else:
            status, message = "no_model", f"no churn model yet: {err}"
        context.log.warning(message)
    metrics = schemas.validate(_metrics_row(as_of, model, status, message), schemas.ChurnModelMetrics, "churn_model_metrics")

    if model is not None and len(current):
        scores = churn_core.score_customers(model, current[["customer_id", *cols]].reset_index(drop=True))
        scores.insert(0, "as_of_date", pd.Timestamp(as_of))
    else:
        scores = pd.DataFrame({c: pd.Series(dtype=object) for c in schemas.ChurnScores.to_schema().columns})
        scores["as_of_date"] = pd.Series(dtype="datetime64[ns]")
        scores["churn_probability"] = pd.Series(dtype=float)
    scores = schemas.validate(scores[list(schemas.ChurnScores.to_schema().columns)], schemas.ChurnScores, f"churn_scores {as_of}")

    m = model.metrics if model is not None else {}
    yield dg.Output(metrics, "churn_model_metrics", metadata={
        "status": status, "message": message, "model_version": model.model_version if model else "none",
        **{k: float(m[k]) for k in ("roc_auc", "pr_auc", "brier", "positive_rate", "lift_top_decile") if m.get(k) is not None},
        "n_train": int(m.get("n_train", 0)), "n_test": int(m.get("n_test", 0)),
        "features": m.get("features", []),
    })
    yield dg.Output(schemas.validate(model_rows, schemas.ChurnModels, "churn_models") if len(model_rows) else model_rows,
                    "churn_models", metadata={"dagster/row_count": len(model_rows), "status": status})
    tiers = scores["risk_level"].value_counts().reindex(["very high", "high", "medium", "low"], fill_value=0)
    yield dg.Output(scores, "churn_scores", metadata={
        "dagster/row_count": len(scores), "as_of_date": str(as_of), "model_version": model.model_version if model else "none",
        "model_status": message,
        "risk_tiers": dg.MetadataValue.md(tiers.to_frame("customers").to_markdown()),
        "mean_churn_probability": float(scores["churn_probability"].mean()) if len(scores) else 0.0,
        "probability_distribution": charts.histogram(scores["churn_probability"], "churn probability", as_of),
        "preview": preview(scores),
    })


@dg.asset(
    key=["analytics", "health_scores"], group_name="churn", owners=OWNERS, kinds={"duckdb", "pandas"},
    partitions_def=partitions_def(), deps=[CHURN_FEATURES],
    metadata=table_metadata("analytics.health_scores", "as_of_date"),
    description="0-100 customer health from fixed-scale components (subscription: engagement 40, features 20, "
                "support 20, NPS 20; orders: recency 50, frequency 25, spend trend 25). Missing components are left "
                "out and the weights renormalised (coverage); bands red <= 50, yellow <= 75, green.",
)
def health_scores(context: dg.AssetExecutionContext, warehouse: Warehouse) -> pd.DataFrame:
    as_of = as_of_of(context)
    kind = profile().kind
    with warehouse.connect() as con:
        feats = con.execute("SELECT * FROM analytics.churn_features WHERE as_of_date = ?", [as_of]).df()
        prev = (con.execute("SELECT customer_id, health_score FROM analytics.health_scores WHERE as_of_date = "
                            "(SELECT max(as_of_date) FROM analytics.health_scores WHERE as_of_date < ?)", [as_of]).df()
                if table_exists(con, "analytics.health_scores") else None)
    feats["as_of_date"] = pd.to_datetime(feats["as_of_date"])
    df = build_health(feats[["as_of_date", "customer_id", *feature_columns(kind)]], prev, kind=kind)
    df = schemas.validate(_with_contract_columns(df, schemas.HealthScores), schemas.HealthScores, f"health_scores {as_of}")
    bands = df["band"].value_counts().reindex(["red", "yellow", "green"], fill_value=0)
    context.add_output_metadata({
        "dagster/row_count": len(df), "as_of_date": str(as_of),
        "bands": dg.MetadataValue.md(bands.to_frame("customers").to_markdown()),
        "mean_health_score": float(df["health_score"].mean()) if len(df) else 0.0,
        "mean_coverage": float(df["coverage"].mean()) if len(df) else 0.0,
        "previous_snapshot_found": prev is not None and len(prev) > 0,
        "distribution": charts.histogram(df["health_score"], "health score", as_of),
        "preview": preview(df),
    })
    return df


@dg.asset(
    key=["analytics", "kpis_monthly"], group_name="kpis", owners=OWNERS, kinds={"duckdb", "pandas"},
    partitions_def=partitions_def(), deps=_raw_deps(),
    metadata=table_metadata("analytics.kpis_monthly", "month"),
    description="Monthly KPIs: active, new and churned customers, churn rate, revenue, ARPU; for subscription "
                "businesses also MRR, NRR, GRR, NPS, CAC, LTV and LTV:CAC (rule of thumb >= 3).",
)
def kpis_monthly(context: dg.AssetExecutionContext, warehouse: Warehouse) -> pd.DataFrame:
    from customer_pipeline.analytics.kpis import monthly_kpis
    from customer_pipeline.assets.common import month_of
    from customer_pipeline.settings import gross_margin

    month, as_of = month_of(context), as_of_of(context)
    kind = profile().kind
    with warehouse.connect() as con:
        tables = tables_as_of(con, as_of, kind)
    df = monthly_kpis(tables, month, kind=kind, as_of=as_of, gross_margin=gross_margin())
    df = schemas.validate(df, schemas.KpisMonthly, f"kpis_monthly {month:%Y-%m}")
    row = df.iloc[0]
    context.add_output_metadata({
        "dagster/row_count": len(df),
        **{k: float(row[k]) for k in ("active_customers", "new_customers", "churned_customers", "churn_rate", "revenue",
                                      "arpu", "mrr", "nrr", "grr", "nps", "cac", "ltv", "ltv_to_cac") if pd.notna(row[k])},
        "ltv_to_cac_at_least_3": bool(pd.notna(row["ltv_to_cac"]) and row["ltv_to_cac"] >= 3),
        "definitions": row["definitions"],
    })
    return df
