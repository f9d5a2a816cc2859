"""End to end on Online Retail."""
from __future__ import annotations

import duckdb
import pandas as pd
import pytest

from customer_pipeline_tests.pipeline_helpers import ANALYTICS, checksums, run_cli  # noqa: F401


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
