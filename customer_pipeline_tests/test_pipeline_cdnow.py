"""End to end on CDNOW: every asset and partition into a fresh database."""
from __future__ import annotations

import duckdb
import pandas as pd
import pytest

from customer_pipeline_tests.pipeline_helpers import ANALYTICS, checksums, run_cli  # noqa: F401


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
