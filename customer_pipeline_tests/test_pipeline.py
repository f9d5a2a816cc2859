"""End to end: the CLI materialises every asset and partition of a profile into a fresh database."""
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


@pytest.fixture(scope="module")
def cdnow_db(tmp_path_factory):
    db = tmp_path_factory.mktemp("cdnow") / "cdnow.duckdb"
    proc = run_cli(db, "cdnow")
    assert "materialised every asset for 18 partitions" in proc.stdout
    return db


def test_cdnow_fills_every_table_for_all_18_partitions(cdnow_db):
    with duckdb.connect(str(cdnow_db), read_only=True) as con:
        for t in ANALYTICS:
            assert con.execute(f"SELECT count(DISTINCT as_of_date) FROM analytics.{t}").fetchone()[0] == 18, t
        assert con.execute("SELECT count(*), sum(rows_read) FROM raw.load_log").fetchone() == (18, 69_659)
        assert con.execute("SELECT count(*) FROM raw.orders").fetchone()[0] == 69_659
        assert con.execute("SELECT count(*) FROM raw.customers").fetchone()[0] == 23_570
        assert con.execute("SELECT count(*) FROM analytics.rfm_segment_map").fetchone()[0] == 125
        assert con.execute("SELECT max(as_of_date) FROM analytics.customer_360").fetchone()[0] == pd.Timestamp("1998-06-30").date()
        # the most recent buyer of the last snapshot is an R5, the biggest spender an M5
        top = con.execute("""SELECT min(r_score) FILTER (WHERE recency_days = (SELECT min(recency_days) FROM analytics.rfm WHERE as_of_date = '1998-06-30')),
                                    min(m_score) FILTER (WHERE monetary = (SELECT max(monetary) FROM analytics.rfm WHERE as_of_date = '1998-06-30'))
                             FROM analytics.rfm WHERE as_of_date = '1998-06-30'""").fetchone()
        assert top == (5, 5)


def test_cdnow_clv_snapshot_1997_09_30_has_bgnbd_on_all_customers_and_holdout_metrics(cdnow_db):
    with duckdb.connect(str(cdnow_db), read_only=True) as con:
        bg = con.execute("SELECT parameter, value, n_customers, time_unit, holdout_status, holdout_mae, "
                         "holdout_actual_total, holdout_predicted_total FROM analytics.clv_models "
                         "WHERE as_of_date = '1997-09-30' AND model = 'bg_nbd' ORDER BY parameter").df()
        assert sorted(bg["parameter"]) == ["a", "alpha", "b", "r"]
        assert (bg["n_customers"] == 23_570).all() and (bg["time_unit"] == "week").all()
        assert (bg["holdout_status"] == "ok").all() and bg["holdout_mae"].notna().all()
        assert (bg["holdout_actual_total"] > 0).all() and (bg["holdout_predicted_total"] > 0).all()
        # every snapshot: exactly one chosen purchase model, and no nonsense in the clv columns
        chosen = con.execute("SELECT as_of_date, count(DISTINCT model) FROM analytics.clv_models "
                             "WHERE is_chosen AND model <> 'gamma_gamma' GROUP BY 1").fetchall()
        assert len(chosen) == 18 and all(n == 1 for _, n in chosen)
        bad = con.execute("SELECT count(*) FROM analytics.clv WHERE clv_12m < 0 OR isnan(clv_12m) OR isinf(clv_12m) "
                          "OR probability_alive < 0 OR probability_alive > 1").fetchone()[0]
        assert bad == 0


def test_cdnow_customer_360_revenue_reconciles_with_raw_orders_for_every_snapshot(cdnow_db):
    with duckdb.connect(str(cdnow_db), read_only=True) as con:
        rows = con.execute("""
            SELECT c.as_of_date, c.revenue,
                   (SELECT sum(amount) FROM raw.orders o WHERE o.order_date <= c.as_of_date) AS raw_revenue
            FROM (SELECT as_of_date, sum(total_revenue) AS revenue FROM analytics.customer_360 GROUP BY 1) c""").fetchall()
    assert len(rows) == 18
    for as_of, revenue, raw_revenue in rows:
        assert revenue == pytest.approx(raw_revenue, rel=1e-12), as_of


def test_rerunning_partitions_changes_no_table(cdnow_db):
    before = checksums(cdnow_db)
    run_cli(cdnow_db, "cdnow", "--partition", "1997-03-01", "--partition", "1998-06-01")
    assert checksums(cdnow_db) == before


def test_online_retail_profile_fills_its_own_database(tmp_path_factory, online_retail_file):
    db = tmp_path_factory.mktemp("retail") / "online_retail.duckdb"
    run_cli(db, "online_retail")
    with duckdb.connect(str(db), read_only=True) as con:
        assert con.execute("SELECT count(*), sum(rows_read), sum(rows_accepted + rows_quarantined + rows_excluded) "
                           "FROM raw.load_log").fetchone() == (13, 541_909, 541_909)
        assert con.execute("SELECT count(*) FROM quarantine.orders").fetchone()[0] == \
            con.execute("SELECT sum(rows_quarantined) FROM raw.load_log").fetchone()[0]
        for t in ANALYTICS:
            assert con.execute(f"SELECT count(DISTINCT as_of_date) FROM analytics.{t}").fetchone()[0] == 13, t
        # the data ends on 2011-12-09: the last snapshot is as of that day and December 2011 is flagged partial
        assert con.execute("SELECT max(as_of_date) FROM analytics.cohort_retention").fetchone()[0] == pd.Timestamp("2011-12-09").date()
        flags = con.execute("""SELECT DISTINCT is_complete_period FROM analytics.cohort_retention
                               WHERE as_of_date = '2011-12-09' AND period_month = '2011-12-01'""").fetchall()
        assert flags == [(False,)]
        gap = con.execute("""SELECT max(abs(c.revenue - (SELECT sum(amount) FROM raw.orders o WHERE o.order_date <= c.as_of_date)))
                             FROM (SELECT as_of_date, sum(total_revenue) AS revenue FROM analytics.customer_360 GROUP BY 1) c""").fetchone()[0]
        assert gap < 1e-6


def test_definitions_load_and_validate():
    import dagster as dg

    from customer_pipeline.definitions import defs

    dg.Definitions.validate_loadable(defs)
    repo = defs.get_repository_def()
    keys = {k.to_user_string() for k in repo.asset_graph.get_all_asset_keys()}
    assert {"raw/orders", "raw/customers", "raw/load_log", "quarantine/orders", "analytics/customer_360",
            "analytics/rfm", "analytics/rfm_segment_map", "analytics/cohort_retention", "analytics/clv"} <= keys
    for key in repo.asset_graph.get_all_asset_keys():
        node = repo.asset_graph.get(key)
        assert node.description, key
        assert "dagster/column_schema" in node.metadata, key
    assert defs.get_schedule_def("nightly_refresh")


@pytest.fixture(scope="module")
def saas_db(tmp_path_factory, monkeypatch_module):
    db = tmp_path_factory.mktemp("saas") / "saas_demo.duckdb"
    run_cli(db, "saas_demo")
    return db


@pytest.fixture(scope="module")
def monkeypatch_module():
    mp = pytest.MonkeyPatch()
    mp.setenv("CUSTOMER_PIPELINE_SAAS_CUSTOMERS", "2000")  # smaller than the default 5,000: keeps the suite fast
    yield mp
    mp.undo()


def test_saas_demo_fills_raw_churn_and_health_tables_for_every_partition(saas_db):
    with duckdb.connect(str(saas_db), read_only=True) as con:
        for t in ["subscriptions", "mrr_changes", "usage_daily", "support_tickets", "nps_responses", "marketing_spend"]:
            assert con.execute(f"SELECT count(*) FROM raw.{t}").fetchone()[0] > 0, t
        for t in ANALYTICS + ["churn_features", "health_scores", "churn_model_metrics"]:
            assert con.execute(f"SELECT count(DISTINCT as_of_date) FROM analytics.{t}").fetchone()[0] == 24, t
        status = dict(con.execute("SELECT status, count(*) FROM analytics.churn_model_metrics GROUP BY 1").fetchall())
        assert status.get("trained", 0) >= 12
        # the latest model: trained on earlier snapshots, tested on the latest fully labelled one
        auc, n_train, n_test, test_as_of = con.execute(
            "SELECT roc_auc, n_train, n_test, test_as_of FROM analytics.churn_model_metrics "
            "WHERE as_of_date = '2024-12-31'").fetchone()
        assert 0.7 < auc < 0.98  # above 0.98 would be a leakage alarm
        assert test_as_of <= pd.Timestamp("2024-10-02").date()  # its 90-day labels are observed by 2024-12-31
        scores = con.execute("SELECT * FROM analytics.churn_scores WHERE as_of_date = '2024-12-31'").df()
        assert len(scores) == con.execute("SELECT count(*) FROM analytics.churn_features WHERE as_of_date = '2024-12-31'").fetchone()[0]
        assert scores["churn_probability"].between(0, 1).all()
        tiers = pd.cut(scores["churn_probability"], [-0.01, 0.4 - 1e-12, 0.6 - 1e-12, 0.8, 1.0],
                       labels=["low", "medium", "high", "very high"]).astype(str)
        assert (tiers == scores["risk_level"]).all()
        n_reasons = scores["top_risk_factors"].str.split("; ").str.len()
        assert n_reasons.between(1, 3).all()
        # every score traces back to a stored model
        versions = {v for (v,) in con.execute("SELECT model_version FROM analytics.churn_models").fetchall()}
        assert set(scores["model_version"]) <= versions
        h = con.execute("SELECT min(health_score), max(health_score), min(coverage), max(coverage), "
                        "count(*) FILTER (WHERE change_vs_previous IS NOT NULL) FROM analytics.health_scores "
                        "WHERE as_of_date = '2024-12-31'").fetchone()
        assert 0 <= h[0] <= h[1] <= 100 and 0 < h[2] <= h[3] <= 1 and h[4] > 0


def test_saas_demo_rerun_gives_identical_tables(saas_db):
    before = checksums(saas_db)
    run_cli(saas_db, "saas_demo", "--partition", "2024-12-01")
    assert checksums(saas_db) == before
