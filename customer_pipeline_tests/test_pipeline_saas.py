"""End to end on saas_demo."""
from __future__ import annotations

import duckdb
import pandas as pd
import pytest

from customer_pipeline_tests.pipeline_helpers import ANALYTICS, checksums, run_cli  # noqa: F401


@pytest.fixture(scope="module")
def saas_db(tmp_path_factory, monkeypatch_module):
    db = tmp_path_factory.mktemp("saas") / "saas_demo.duckdb"
    run_cli(db, "saas_demo")
    return db


@pytest.fixture(scope="module")
def monkeypatch_module():
    mp = pytest.MonkeyPatch()
    mp.setenv("CUSTOMER_PIPELINE_SAAS_CUSTOMERS", "1200")  # smaller than the default 5,000: keeps the suite fast
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
