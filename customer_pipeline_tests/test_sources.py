"""Raw-layer rules on the real files and on small broken files."""
from __future__ import annotations

import gzip
import json
from datetime import date

import pandas as pd
import pytest

from customer_pipeline.settings import PROFILES
from customer_pipeline.sources import cdnow, online_retail
from customer_pipeline.sources.base import (
    customers_for_partition, load_log_for_partition, orders_for_partition, quarantine_for_partition,
)

OR = PROFILES["online_retail"]
LOADED = pd.Timestamp("2026-01-01")


@pytest.fixture(scope="module")
def retail(online_retail_file):
    return online_retail.load(online_retail_file, OR)


def _months(profile):
    return [d.date() for d in pd.date_range(profile.first_month, profile.last_month, freq="MS")]


def test_online_retail_every_source_line_is_accounted_for(retail):
    logs = pd.concat([load_log_for_partition(retail, m, len(orders_for_partition(retail, m)), LOADED)
                      for m in _months(OR)])
    assert logs["rows_read"].sum() == 541_909
    assert (logs["rows_read"] == logs["rows_accepted"] + logs["rows_quarantined"] + logs["rows_excluded"]).all()
    assert (logs["rows_accepted"] == logs["orders_written"] + logs["rows_aggregated"]).all()
    rules = pd.DataFrame([json.loads(s) for s in logs["excluded_by_rule"]]).fillna(0).sum()
    assert rules["exact_duplicate"] == 5268  # published count of exact duplicate lines
    assert rules.sum() == logs["rows_excluded"].sum()
    q = pd.concat([quarantine_for_partition(retail, m, LOADED) for m in _months(OR)])
    assert len(q) == logs["rows_quarantined"].sum()
    assert q["source_row"].is_unique
    # 135,080 lines have no CustomerID; those that are exact duplicates were excluded first
    no_id = retail.raw_text["CustomerID"].isna()
    dup = retail.lines["rule"].eq("exact_duplicate")
    assert no_id.sum() == 135_080
    assert q["reason"].str.contains("CustomerID is missing").sum() == (no_id & ~dup).sum()
    # the A (bad debt) invoices are quarantined with the reason naming the column
    a_rows = retail.raw_text.index[retail.raw_text["InvoiceNo"].str.startswith("A")]
    assert set(a_rows) <= set(q["source_row"])
    assert q.set_index("source_row").loc[a_rows, "reason"].str.contains("InvoiceNo").all()


def test_online_retail_cancellations_are_negative_orders_and_partial_december(retail):
    orders = pd.concat([orders_for_partition(retail, m) for m in _months(OR)], ignore_index=True)
    assert orders["order_id"].is_unique
    canc = orders[orders["order_type"] == "cancellation"]
    assert (canc["order_id"].str.startswith("C")).all() and (canc["amount"] <= 0).all()
    assert (orders.loc[orders["order_type"] == "purchase", "amount"] > 0).all()
    assert not orders["customer_id"].str.contains(r"\.").any()  # '17850.0' -> '17850'
    assert "17850" in set(orders["customer_id"])
    # non-product lines contribute no revenue: the invoice total equals its product lines only
    assert orders["order_ts"].max() == pd.Timestamp("2011-12-09 12:50:00")
    # invoices with more than one timestamp take the earliest and stay in one partition
    assert orders["order_ts"].dt.to_period("M").astype(str).isin([m.strftime("%Y-%m") for m in _months(OR)]).all()


def test_online_retail_revenue_matches_independent_line_sum(retail, online_retail_file):
    """Recompute accepted revenue from the file with plain pandas and the documented rules."""
    raw = pd.read_csv(online_retail_file, dtype=str, keep_default_na=False, na_values=[""])
    raw = raw[~raw.duplicated(keep="first")]
    raw = raw[raw["CustomerID"].notna()]
    raw = raw[~raw["InvoiceNo"].str.startswith("A")]
    raw = raw[~raw["StockCode"].str.upper().isin(online_retail.NON_PRODUCT_STOCK_CODES)]
    price, qty = raw["UnitPrice"].astype(float), raw["Quantity"].astype(int)
    raw = raw[price > 0]
    expected = (raw["Quantity"].astype(int) * raw["UnitPrice"].astype(float)).sum()
    orders = pd.concat([orders_for_partition(retail, m) for m in _months(OR)], ignore_index=True)
    assert orders["amount"].sum() == pytest.approx(expected, rel=1e-9)


def test_online_retail_customers_are_unique_and_come_from_first_orders(retail):
    customers = pd.concat([customers_for_partition(retail, m) for m in _months(OR)], ignore_index=True)
    assert customers["customer_id"].is_unique
    orders = pd.concat([orders_for_partition(retail, m) for m in _months(OR)], ignore_index=True)
    assert set(customers["customer_id"]) == set(orders["customer_id"])
    first = orders.groupby("customer_id")["order_date"].min()
    assert (customers.set_index("customer_id")["first_seen_date"] == first.reindex(customers["customer_id"]).to_numpy()).all()


def _write_retail(tmp_path, lines):
    path = tmp_path / "retail.csv.gz"
    with gzip.open(path, "wt") as fh:
        fh.write(",".join(online_retail.SOURCE_COLUMNS) + "\n")
        fh.write("\n".join(lines) + "\n")
    return path


def test_online_retail_bad_rows_are_quarantined_with_reasons(tmp_path):
    path = _write_retail(tmp_path, [
        "536365,85123A,HEART,6,2010-12-01 08:26:00,2.55,17850.0,United Kingdom",
        "536365,85123A,HEART,6,2010-12-01 08:26:00,2.55,17850.0,United Kingdom",   # duplicate
        "536366,22633,HAND WARMER,six,2010-12-01 08:28:00,1.85,17850.0,United Kingdom",  # bad quantity
        "536367,22633,HAND WARMER,3,not a date,1.85,13047.0,United Kingdom",  # bad date
        "536368,POST,POSTAGE,1,2010-12-01 09:00:00,18.00,12583.0,France",  # non-product
        "C536369,22633,HAND WARMER,3,2010-12-02 10:00:00,1.85,17850.0,United Kingdom",  # positive qty on C
        "C536370,22633,HAND WARMER,-2,2010-12-02 11:00:00,1.85,17850.0,United Kingdom",  # cancellation
    ])
    cs = online_retail.classify(online_retail.read_text(path), OR, str(path))
    by_row = cs.lines.set_index("source_row")
    assert by_row.loc[2, "rule"] == "exact_duplicate"
    assert "Quantity: unreadable value 'six'" in by_row.loc[3, "reason"]
    assert "InvoiceDate: unreadable value 'not a date'" in by_row.loc[4, "reason"] and "unreadable" in by_row.loc[4, "reason"]
    assert by_row.loc[5, "rule"] == "non_product_line"
    assert "a cancellation (C) invoice line must have a negative quantity" in by_row.loc[6, "reason"]
    orders = orders_for_partition(cs, date(2010, 12, 1))
    assert orders.set_index("order_id").loc["C536370", "amount"] == pytest.approx(-3.70)
    log = load_log_for_partition(cs, date(2010, 12, 1), len(orders), LOADED).iloc[0]
    assert (log.rows_read, log.rows_accepted, log.rows_quarantined, log.rows_excluded) == (7, 2, 3, 2)
    q = quarantine_for_partition(cs, date(2010, 12, 1), LOADED)
    assert json.loads(q.set_index("source_row").loc[3, "raw_record"])["Quantity"] == "six"


def test_missing_file_names_the_path(tmp_path):
    with pytest.raises(FileNotFoundError, match="nope.csv.gz"):
        online_retail.load(tmp_path / "nope.csv.gz", OR)


def test_cdnow_is_complete_and_matches_published_counts(cdnow_source, cdnow_orders):
    assert len(cdnow_source.lines) == 69_659
    assert (cdnow_source.lines["status"] == "accepted").all()
    assert cdnow_orders["customer_id"].nunique() == 23_570
    assert (cdnow_orders["amount"] == 0).sum() == 80
    firsts = cdnow_orders.groupby("customer_id")["order_date"].min()
    assert firsts.min() == pd.Timestamp("1997-01-01") and firsts.max() == pd.Timestamp("1997-03-25")
    assert cdnow_orders["order_date"].max() == pd.Timestamp("1998-06-30")


def test_cdnow_bad_lines_go_to_quarantine(tmp_path):
    path = tmp_path / "cdnow.txt"
    path.write_text(" customer_id  date number_of_cds dollar_value\n"
                    " 00001 19970101  1   11.77\n"
                    " 00002 19971340  1   12.00\n"     # bad date
                    " 00003 19970102  x   -1.00\n"     # bad quantity, negative value
                    " 00004 19970102  1\n")            # missing field
    cs = cdnow.classify(cdnow.read_text(path), PROFILES["cdnow"], str(path))
    st = cs.lines.set_index("source_row")
    assert st.loc[1, "status"] == "accepted"
    assert "date: unreadable value '19971340'" in st.loc[2, "reason"]
    assert "dollar_value: dollar_value >= 0 (value -1.0)" in st.loc[3, "reason"] and "number_of_cds: unreadable value 'x'" in st.loc[3, "reason"]
    assert "exactly 4" in st.loc[4, "reason"]
    assert (st.loc[[2, 3, 4], "status"] == "quarantined").all()


def test_online_retail_implausible_values_are_quarantined_not_loaded(tmp_path):
    """Found by trying to break the loader: each of these used to reach raw.orders or crash it."""
    path = _write_retail(tmp_path, [
        "536400,22633,HAND WARMER,inf,2010-12-01 08:28:00,1.85,17850.0,United Kingdom",
        "536401,22633,HAND WARMER,1,2010-12-01 08:28:00,1e308,17850.0,United Kingdom",
        "536402,22633,HAND WARMER,99999999999999999999,2010-12-01 08:28:00,1.85,17850.0,United Kingdom",
        "536403,22633,HAND WARMER,1,2010-12-01 08:28:00,1.85,   ,United Kingdom",
        "536404,22633,HAND WARMER,1,2010-12-06 08:28:00,5.00,12346.0,United Kingdom",
        "536404,22634,HAND WARMER,1,2010-12-06 08:28:00,7.00,12347.0,United Kingdom",
        "536405,22633,HAND WARMER,1,2011-12-20 08:28:00,1.85,17850.0,United Kingdom",
        "536406,22633,HAND WARMER,1,2010-12-06 08:28:00,1.85,17850.0,United Kingdom",
        "536406,22633,HAND WARMER,2,2012-02-06 08:28:00,1.85,17850.0,United Kingdom",
        "536407,22633,HAND WARMER,0,2010-12-06 08:28:00,1.85,17850.0,United Kingdom",
    ])
    cs = online_retail.classify(online_retail.read_text(path), OR, str(path))
    st = cs.lines.set_index("source_row")
    # row 8 is a valid line; its invoice's stray line (row 9) is quarantined on its own date
    assert st.loc[8, "status"] == "accepted"
    assert (st.drop(index=8)["status"] == "quarantined").all(), st[["status", "reason"]]
    assert "|quantity| must be <=" in st.loc[1, "reason"]
    assert "unit price must be <=" in st.loc[2, "reason"]
    assert "|quantity| must be <=" in st.loc[3, "reason"]
    assert "CustomerID is missing" in st.loc[4, "reason"]
    assert "more than one CustomerID" in st.loc[5, "reason"] and "more than one CustomerID" in st.loc[6, "reason"]
    assert "after the dataset's last day" in st.loc[7, "reason"]
    assert "after the dataset's last day" in st.loc[9, "reason"]
    assert "quantity must not be 0" in st.loc[10, "reason"] and "negative quantity" not in st.loc[10, "reason"]
    log = pd.concat([load_log_for_partition(cs, m, 0, LOADED) for m in _months(OR)])
    assert log["rows_read"].sum() == 10 and log["rows_quarantined"].sum() == 9 and log["rows_accepted"].sum() == 1


def test_online_retail_broken_csv_structure_names_the_file(tmp_path):
    path = _write_retail(tmp_path, ["536365,85123A,HEART,6,2010-12-01 08:26:00,2.55,17850.0,United Kingdom,EXTRA"])
    with pytest.raises(ValueError, match=r"retail.csv.gz: (not a well-formed comma-separated file|missing column.*found)"):
        online_retail.read_text(path)
