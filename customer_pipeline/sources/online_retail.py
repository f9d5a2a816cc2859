"""UCI Online Retail: every invoice line of a UK online gift retailer (2010-12 .. 2011-12).

Rules, applied in this order; each source line ends in exactly one place (see README):

1. ``exact_duplicate`` (excluded): a line identical in all 8 fields to an earlier line is a
   double-recorded line, not a second purchase; the first copy is kept.
2. Validation (quarantined, with the failed rules as reason): CustomerID present; Quantity an
   integer and not 0; InvoiceDate a timestamp; UnitPrice a number >= 0; a ``C`` invoice
   (cancellation) has negative quantities and any other invoice positive ones (negative lines
   outside cancellations are stock adjustments, not customer activity); the invoice number is
   numeric, optionally with the ``C`` prefix (``A`` bad-debt adjustments are bookkeeping).
3. ``non_product_line`` (excluded): postage, carriage, bank charges, marketplace fees, charity
   commission, discounts, samples and manual adjustments are not product revenue.
4. ``zero_unit_price`` (excluded): free lines carry no revenue.

Accepted lines are folded into one order per invoice: a ``C`` invoice is a cancellation, a
negative order of the same customer; an invoice's timestamp is its earliest line's.
"""
from __future__ import annotations

import functools
import os
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pandera.pandas as pa

from customer_pipeline.settings import Profile
from customer_pipeline.sources.base import (
    ACCEPTED, EXCLUDED, QUARANTINED, ClassifiedSource, assign_partitions, failure_reasons,
)

SOURCE_NAMES = {"customer_id": "CustomerID", "invoice_no": "InvoiceNo", "quantity": "Quantity",
                "order_ts": "InvoiceDate", "unit_price": "UnitPrice"}
SOURCE_COLUMNS = ["InvoiceNo", "StockCode", "Description", "Quantity", "InvoiceDate", "UnitPrice", "CustomerID", "Country"]

# Stock codes that are not products (compared upper-cased).
NON_PRODUCT_STOCK_CODES = frozenset({
    "POST", "DOT", "C2", "M", "D", "S", "B", "BANK CHARGES", "AMAZONFEE", "CRUK",
})

RULE_DOCS = {
    "exact_duplicate": "line identical in all fields to an earlier line (double-recorded)",
    "non_product_line": "postage, carriage, fees, commission, discount, samples or manual adjustment: not product revenue",
    "zero_unit_price": "free line (UnitPrice = 0): no revenue",
}

# Plausibility bounds: beyond them a value is a data error (and would overflow the exact DECIMAL
# money sums downstream), so the line is quarantined rather than loaded.
MAX_QUANTITY = 1_000_000
MAX_UNIT_PRICE = 1_000_000.0

LINE_SCHEMA = pa.DataFrameSchema(
    {
        "customer_id": pa.Column(str, nullable=False),
        "invoice_no": pa.Column(str, pa.Check.str_matches(r"^C?[0-9]+$", error="invoice number is numeric with an optional C prefix")),
        "quantity": pa.Column(float, [pa.Check(lambda s: s != 0, error="quantity must not be 0"),
                                      pa.Check(lambda s: s.abs() <= MAX_QUANTITY, error=f"|quantity| must be <= {MAX_QUANTITY:,}"),
                                      pa.Check(lambda s: s == np.round(s), error="quantity must be an integer")], nullable=False),
        "order_ts": pa.Column("datetime64[ns]", nullable=False),
        "unit_price": pa.Column(float, [pa.Check.ge(0, error="unit price must be >= 0"),
                                        pa.Check.le(MAX_UNIT_PRICE, error=f"unit price must be <= {MAX_UNIT_PRICE:,}")],
                                nullable=False),
    },
    checks=[
        pa.Check(lambda df: ~df["invoice_no"].str.startswith("C") | ~(df["quantity"] > 0),
                 error="a cancellation (C) invoice line must have a negative quantity"),
        pa.Check(lambda df: df["invoice_no"].str.startswith("C") | ~(df["quantity"] < 0),
                 error="a negative quantity is only allowed on a cancellation (C) invoice"),
        pa.Check(lambda df: df.groupby("invoice_no")["customer_id"].transform("nunique") <= 1,
                 error="the invoice has lines for more than one CustomerID"),
    ],
    coerce=False,
)


def read_text(path: Path) -> pd.DataFrame:
    """The file as text, every field verbatim (nothing coerced yet), in file order."""
    if not path.exists():
        raise FileNotFoundError(
            f"Online Retail file not found: {path}. Set CUSTOMER_PIPELINE_ONLINE_RETAIL_PATH or "
            f"CUSTOMER_PIPELINE_SHARED_DATA to the folder holding online_retail_uci.csv.gz.")
    con = duckdb.connect()
    try:
        df = con.execute(
            "SELECT * FROM read_csv(?, header=true, all_varchar=true, delim=',', quote='\"', escape='\"', "
            "strict_mode=true)", [str(path)]).df()
    except duckdb.Error as err:  # structural CSV errors: name the file, keep DuckDB's line number
        raise ValueError(f"{path}: not a well-formed comma-separated file with the columns {SOURCE_COLUMNS}: "
                         f"{str(err).splitlines()[0]}") from err
    finally:
        con.close()
    missing = [c for c in SOURCE_COLUMNS if c not in df.columns]
    if missing:
        raise ValueError(f"{path}: missing column(s) {missing}; expected {SOURCE_COLUMNS}, found {list(df.columns)} "
                         f"(a line with a different number of fields also makes the header unreadable)")
    df = df[SOURCE_COLUMNS]
    df.index = pd.RangeIndex(1, len(df) + 1)  # = source_row: 1-based data rows, header excluded
    return df


def normalise_customer_id(s: pd.Series) -> pd.Series:
    """'17850.0' -> '17850' (the file writes the integer id as a float); anything else verbatim."""
    s = s.str.strip()
    s = s.where(s != "", None)  # a blank id is a missing id
    return s.str.replace(r"^(\d+)\.0+$", r"\1", regex=True)


def classify(text: pd.DataFrame, profile: Profile, source_file: str) -> ClassifiedSource:
    n = len(text)
    status = pd.Series(ACCEPTED, index=text.index, dtype=object)
    rule = pd.Series(None, index=text.index, dtype=object)
    reason = pd.Series(None, index=text.index, dtype=object)

    parsed = pd.DataFrame({
        "invoice_no": text["InvoiceNo"].fillna("").str.strip(),
        "customer_id": normalise_customer_id(text["CustomerID"]),
        "quantity": pd.to_numeric(text["Quantity"], errors="coerce"),  # unreadable -> NaN -> quarantined
        "order_ts": pd.to_datetime(text["InvoiceDate"], errors="coerce", format="%Y-%m-%d %H:%M:%S"),
        "unit_price": pd.to_numeric(text["UnitPrice"], errors="coerce"),
    }, index=text.index)

    dup = text.duplicated(keep="first")
    status[dup] = EXCLUDED
    rule[dup] = "exact_duplicate"

    live = status == ACCEPTED
    reasons = failure_reasons(parsed[live], LINE_SCHEMA, SOURCE_NAMES, text)
    status[reasons.index] = QUARANTINED
    reason[reasons.index] = reasons

    stock = text["StockCode"].fillna("").str.strip().str.upper()
    live = status == ACCEPTED
    non_product = live & stock.isin(NON_PRODUCT_STOCK_CODES)
    status[non_product] = EXCLUDED
    rule[non_product] = "non_product_line"
    live = status == ACCEPTED
    free = live & (parsed["unit_price"] == 0)
    status[free] = EXCLUDED
    rule[free] = "zero_unit_price"

    order_ts = parsed["order_ts"].groupby(parsed["invoice_no"], sort=False).transform("min")
    partition, problem = assign_partitions(parsed["order_ts"], parsed["invoice_no"], profile)
    out_of_window = problem.notna() & (status != EXCLUDED)
    reason[out_of_window] = np.where(reason[out_of_window].isna(), problem[out_of_window],
                                     reason[out_of_window].astype(str) + "; " + problem[out_of_window])
    status[out_of_window] = QUARANTINED

    accepted = status == ACCEPTED
    lines = pd.DataFrame({
        "source_row": text.index.to_numpy(),
        "partition_month": partition,
        "status": status,
        "rule": rule,
        "reason": reason,
        "order_id": parsed["invoice_no"],
        "customer_id": parsed["customer_id"],
        "order_ts": order_ts,
        "order_type": np.where(parsed["invoice_no"].str.startswith("C"), "cancellation", "purchase"),
        "amount": (parsed["quantity"] * parsed["unit_price"]).where(accepted),
        "quantity": parsed["quantity"].where(accepted),
        "country": text["Country"].str.strip(),
    }, index=text.index)
    assert len(lines) == n
    return ClassifiedSource("online_retail", source_file, lines, text, dict(RULE_DOCS))


@functools.lru_cache(maxsize=2)
def _load_cached(path: str, mtime: float, size: int, profile: Profile) -> ClassifiedSource:
    return classify(read_text(Path(path)), profile, path)


def load(path: Path, profile: Profile) -> ClassifiedSource:
    """Classified source, cached per (file, modification time) so each partition does not re-read it."""
    st = os.stat(path) if Path(path).exists() else None
    if st is None:
        read_text(Path(path))  # raises the clear "file not found" error
    return _load_cached(str(path), st.st_mtime, st.st_size, profile)
