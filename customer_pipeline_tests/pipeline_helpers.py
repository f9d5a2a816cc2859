"""Shared helpers of the end-to-end tests (one test file per dataset profile, so they can run in parallel)."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from customer_pipeline.settings import PROJECT_ROOT

ANALYTICS = ["customer_360", "rfm", "cohort_retention", "clv", "clv_models", "churn_features", "health_scores",
             "churn_model_metrics"]
# loaded_at is an audit timestamp; model_bytes is a pickle, whose encoding is not canonical (the same
# fitted model can pickle to different bytes), so the model is compared through model_version (a hash
# of its training data and parameters) and through the identical churn_scores it produces.
AUDIT_COLUMNS = {"loaded_at", "model_bytes"}


def run_cli(db: Path, dataset: str, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "CUSTOMER_PIPELINE_DB": str(db), "CUSTOMER_PIPELINE_DATASET": dataset}
    env.pop("DAGSTER_HOME", None)  # ephemeral instance: the test leaves no run history behind
    proc = subprocess.run([sys.executable, "-m", "customer_pipeline.cli", "run", "--dataset", dataset, *args],
                          cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-5000:]
    return proc


def checksums(db: Path) -> dict[str, tuple]:
    """Row count and an order-independent digest of every table, audit columns left out."""
    out = {}
    with duckdb.connect(str(db), read_only=True) as con:
        for schema, name in con.execute("SELECT table_schema, table_name FROM information_schema.tables").fetchall():
            cols = [c for (c,) in con.execute("SELECT column_name FROM information_schema.columns WHERE table_schema=? "
                                              "AND table_name=? ORDER BY ordinal_position", [schema, name]).fetchall()
                    if c not in AUDIT_COLUMNS]
            sel = ", ".join(f'"{c}"' for c in cols)
            out[f"{schema}.{name}"] = con.execute(
                f"SELECT count(*), md5(coalesce(string_agg(r, '|' ORDER BY r), '')) FROM "
                f"(SELECT CAST(ROW({sel}) AS VARCHAR) AS r FROM \"{schema}\".\"{name}\")").fetchone()
    return out


