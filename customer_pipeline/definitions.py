"""The Definitions object: assets, jobs, the nightly schedule and the DuckDB resources.

The dataset profile (CUSTOMER_PIPELINE_DATASET) is read when this module loads: it fixes the
partition window and the database file (data/<dataset>.duckdb unless CUSTOMER_PIPELINE_DB says).
"""

import dagster as dg

from customer_pipeline.assets import analytics, churn, raw
from customer_pipeline.assets.common import partitions_def, profile
from customer_pipeline.settings import database_path
from customer_pipeline.storage.io_manager import DuckDBContractIOManager, Warehouse

PARTITIONED_ASSETS = [
    raw.load_sources, analytics.customer_360, analytics.rfm, analytics.cohort_retention, analytics.customer_lifetime_value,
    churn.churn_features, churn.churn_model, churn.health_scores, churn.kpis_monthly,
]
REFERENCE_ASSETS = [analytics.rfm_segment_map]

main_job = dg.define_asset_job(
    "main_job",
    selection=dg.AssetSelection.assets(*PARTITIONED_ASSETS),
    partitions_def=partitions_def(),
    description="Every monthly asset for one partition: raw load, then the snapshots as of the month's end.",
    # One process: DuckDB allows one writer process per file, and steps run in dependency order.
    executor_def=dg.in_process_executor,
)

reference_job = dg.define_asset_job(
    "reference_job",
    selection=dg.AssetSelection.assets(*REFERENCE_ASSETS),
    description="Unpartitioned reference tables (the RFM segment map).",
    executor_def=dg.in_process_executor,
)


@dg.schedule(job=main_job, cron_schedule="0 2 * * *", execution_timezone="UTC",
             description="Nightly at 02:00 UTC: refresh the newest (open) month's partition of every asset.")
def nightly_refresh(context: dg.ScheduleEvaluationContext):
    keys = partitions_def().get_partition_keys(current_time=context.scheduled_execution_time)
    if not keys:
        return dg.SkipReason("no partition exists yet for this dataset's window")
    day = context.scheduled_execution_time.strftime("%Y-%m-%d")
    return dg.RunRequest(run_key=f"{keys[-1]}@{day}", partition_key=keys[-1])


def build_definitions() -> dg.Definitions:
    db = str(database_path(profile()))
    return dg.Definitions(
        assets=[*PARTITIONED_ASSETS, *REFERENCE_ASSETS],
        jobs=[main_job, reference_job],
        schedules=[nightly_refresh],
        resources={"io_manager": DuckDBContractIOManager(database=db), "warehouse": Warehouse(database=db)},
    )


defs = build_definitions()
