"""What every source adapter produces, and the per-partition raw layer built from it.

An adapter reads its whole source once and classifies every row as exactly one of
``accepted`` (goes into an order), ``quarantined`` (failed validation; reason recorded) or
``excluded`` (removed by a named business rule). Everything below works on that classification,
so for every partition: rows_read = accepted + quarantined + excluded, by construction and by test.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date, datetime

import numpy as np
import pandas as pd
import pandera.pandas as pa

from customer_pipeline.settings import Profile

ACCEPTED, QUARANTINED, EXCLUDED = "accepted", "quarantined", "excluded"

# Columns an adapter's classified line frame carries (accepted rows have them all filled).
LINE_COLUMNS = [
    "source_row", "partition_month", "status", "rule", "reason", "order_id", "customer_id",
    "order_ts", "order_type", "amount", "quantity", "country",
]


@dataclass
class ClassifiedSource:
    source: str
    source_file: str
    lines: pd.DataFrame  # LINE_COLUMNS, one row per source row
    raw_text: pd.DataFrame  # the original text fields, same index as lines (for quarantine records)
    notes: dict[str, str] = field(default_factory=dict)  # rule name -> documentation


def month_start(ts: pd.Series) -> pd.Series:
    return ts.dt.to_period("M").dt.to_timestamp()


def assign_partitions(order_ts: pd.Series, group: pd.Series, profile: Profile) -> tuple[pd.Series, pd.Series]:
    """Partition month of each row: the month of its order's earliest timestamp.

    All rows of one order land in one partition, so an order is never split across partitions.
    Rows whose order has no readable date, or falls outside the profile's window, are put in the
    first (or last) partition and flagged, so they are still counted exactly once.
    """
    order_min = order_ts.groupby(group, sort=False).transform("min")
    months = month_start(order_min)
    first, last = pd.Timestamp(profile.first_month), pd.Timestamp(profile.last_month)
    end = pd.Timestamp(profile.data_end) + pd.Timedelta(days=1)
    problem = pd.Series(None, index=order_ts.index, dtype=object)
    problem[months.isna()] = "order date unreadable; loaded with the first partition"
    # each line's own date counts too: one stray line must not ride in on its invoice's date
    problem[(order_ts >= end) | (month_start(order_ts) > last)] = (
        f"order date after the dataset's last day ({profile.data_end}): no snapshot would ever see it")
    problem[(months < first) | (month_start(order_ts) < first)] = f"order date before the profile window ({profile.first_month:%Y-%m})"
    months = months.fillna(first).clip(lower=first, upper=last)
    return months, problem


def failure_reasons(frame: pd.DataFrame, schema: pa.DataFrameSchema, source_names: dict[str, str] | None = None,
                    raw_text: pd.DataFrame | None = None) -> pd.Series:
    """Run a pandera schema lazily; return one reason string per failing row (index-aligned).

    Reasons name the source file's column (``source_names`` maps parsed -> source column) and value.
    """
    try:
        schema.validate(frame, lazy=True)
    except pa.errors.SchemaErrors as err:
        fc = err.failure_cases
        fc = fc[fc["index"].notna()].copy()
        col = fc["column"].map(lambda c: (source_names or {}).get(c, c)).where(fc["column"].notna(), "row")
        check = fc["check"].astype(str).replace({"not_nullable": "is missing"})
        value = fc["failure_case"].astype(str)
        wide = fc["schema_context"].eq("DataFrameSchema")  # a rule about the row, not one column
        missing = check.eq("is missing")
        if raw_text is not None:  # "missing" after parsing may be text that did not parse: show it
            original = [raw_text.at[i, c] if c in raw_text.columns and i in raw_text.index else None
                        for i, c in zip(fc["index"], col)]
            unreadable = missing & pd.Series([o is not None and not pd.isna(o) and str(o).strip() != "" for o in original], index=fc.index)
            shown = pd.Series([repr(o) for o in original], index=fc.index)
        else:
            unreadable, shown = pd.Series(False, index=fc.index), value
        fc["text"] = np.where(unreadable, col + ": unreadable value " + shown,
                              np.where(missing, col + " is missing",
                                       np.where(wide, check, col + ": " + check + " (value " + value + ")")))
        return fc.groupby("index", sort=True)["text"].agg(lambda s: "; ".join(dict.fromkeys(s)))
    return pd.Series(dtype=str)


def raw_records(raw_text: pd.DataFrame) -> pd.Series:
    """Each row's original text fields as a JSON object (kept verbatim in quarantine)."""
    cols = list(raw_text.columns)
    values = raw_text.to_numpy(dtype=object)
    return pd.Series(
        [json.dumps(dict(zip(cols, (None if v is None or v is pd.NA or (isinstance(v, float) and np.isnan(v)) else v for v in row))))
         for row in values],
        index=raw_text.index, dtype=object,
    )


# --------------------------------------------------------------------------- per-partition layer
def partition_lines(cs: ClassifiedSource, month: date) -> pd.DataFrame:
    return cs.lines[cs.lines["partition_month"] == pd.Timestamp(month)]


def orders_for_partition(cs: ClassifiedSource, month: date) -> pd.DataFrame:
    """Accepted lines folded into orders (one row per order_id)."""
    lines = partition_lines(cs, month)
    acc = lines[lines["status"] == ACCEPTED]
    if acc.empty:
        return _empty_orders()
    g = acc.groupby("order_id", sort=False)
    orders = pd.DataFrame({
        "customer_id": g["customer_id"].first(),
        "order_ts": g["order_ts"].min(),
        "order_type": g["order_type"].first(),
        "amount": g["amount"].sum(),
        "quantity": g["quantity"].sum().astype("int64"),
        "line_count": g.size().astype("int64"),
        "country": g["country"].first(),
        "source_row": g["source_row"].min().astype("int64"),
    }).reset_index()
    orders["order_date"] = orders["order_ts"].dt.normalize()
    orders["source"] = cs.source
    orders = orders.sort_values(["order_ts", "source_row"], kind="stable").reset_index(drop=True)
    return orders[["order_id", "customer_id", "order_ts", "order_date", "order_type", "amount", "quantity",
                   "line_count", "country", "source", "source_row"]]


def _empty_orders() -> pd.DataFrame:
    return pd.DataFrame({
        "order_id": pd.Series(dtype=str), "customer_id": pd.Series(dtype=str),
        "order_ts": pd.Series(dtype="datetime64[ns]"), "order_date": pd.Series(dtype="datetime64[ns]"),
        "order_type": pd.Series(dtype=str), "amount": pd.Series(dtype=float), "quantity": pd.Series(dtype="int64"),
        "line_count": pd.Series(dtype="int64"), "country": pd.Series(dtype=str), "source": pd.Series(dtype=str),
        "source_row": pd.Series(dtype="int64"),
    })


def quarantine_for_partition(cs: ClassifiedSource, month: date, loaded_at: datetime) -> pd.DataFrame:
    lines = partition_lines(cs, month)
    q = lines[lines["status"] == QUARANTINED]
    return pd.DataFrame({
        "source": cs.source,
        "source_row": q["source_row"].astype("int64"),
        "partition_month": q["partition_month"],
        "reason": q["reason"].astype(str),
        "customer_id": q["customer_id"],
        "raw_record": raw_records(cs.raw_text.loc[q.index]),
        "loaded_at": pd.Timestamp(loaded_at),
    }).reset_index(drop=True)


def load_log_for_partition(cs: ClassifiedSource, month: date, orders_written: int, loaded_at: datetime) -> pd.DataFrame:
    lines = partition_lines(cs, month)
    status = lines["status"].value_counts()
    excluded = lines.loc[lines["status"] == EXCLUDED, "rule"].value_counts().sort_index()
    accepted = int(status.get(ACCEPTED, 0))
    return pd.DataFrame([{
        "source": cs.source,
        "source_table": "orders",
        "source_file": cs.source_file,
        "partition_month": pd.Timestamp(month),
        "rows_read": int(len(lines)),
        "rows_accepted": accepted,
        "rows_quarantined": int(status.get(QUARANTINED, 0)),
        "rows_excluded": int(status.get(EXCLUDED, 0)),
        "excluded_by_rule": json.dumps({k: int(v) for k, v in excluded.items()}, sort_keys=True),
        "rows_aggregated": accepted - orders_written,
        "orders_written": orders_written,
        "loaded_at": pd.Timestamp(loaded_at),
    }])


def customers_for_partition(cs: ClassifiedSource, month: date) -> pd.DataFrame:
    """Customers whose first accepted order (any type) falls in this month, from the whole source.

    The source has no customer table, so the customer is derived from its first orders:
    acquisition is the first purchase; country is the first order's country.
    """
    acc = cs.lines[cs.lines["status"] == ACCEPTED]
    acc = acc.sort_values(["order_ts", "source_row"], kind="stable")
    first = acc.groupby("customer_id", sort=False).agg(
        first_seen_ts=("order_ts", "min"), country=("country", "first"))
    purchases = acc[acc["order_type"] == "purchase"]
    first["acquisition_ts"] = purchases.groupby("customer_id", sort=False)["order_ts"].min()
    first = first[month_start(first["first_seen_ts"]) == pd.Timestamp(month)].reset_index()
    first = first.sort_values(["first_seen_ts", "customer_id"], kind="stable")
    return pd.DataFrame({
        "customer_id": first["customer_id"].astype(str),
        "first_seen_date": first["first_seen_ts"].dt.normalize(),
        "acquisition_date": first["acquisition_ts"].dt.normalize(),
        "acquisition_channel": pd.Series(None, index=first.index, dtype=object),
        "plan_type": pd.Series(None, index=first.index, dtype=object),
        "country": first["country"],
        "source": cs.source,
    }).reset_index(drop=True)


def split_by_contract(frame: pd.DataFrame, schema: pa.DataFrameSchema, *, source: str, table: str,
                      source_file: str, month: date, loaded_at: datetime,
                      first_row: int = 1) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Validate a table's rows for one partition: (valid rows, quarantine rows, load-log row).

    Used for source tables that are loaded row for row (no aggregation, no exclusion rules).
    ``first_row`` is the 1-based source row number of the frame's first row.
    """
    frame = frame.reset_index(drop=True)
    reasons = failure_reasons(frame, schema)
    bad = frame.loc[reasons.index]
    good = frame.drop(index=reasons.index).reset_index(drop=True)
    quarantine = pd.DataFrame({
        "source": source, "source_table": table,
        "source_row": (bad.index.to_numpy() + first_row).astype("int64"),
        "partition_month": pd.Timestamp(month),
        "reason": reasons.astype(str).to_numpy(),
        "customer_id": bad["customer_id"].astype(object).to_numpy() if "customer_id" in bad else None,
        "raw_record": raw_records(bad.astype(str)).to_numpy(),
        "loaded_at": pd.Timestamp(loaded_at),
    })
    log = pd.DataFrame([{
        "source": source, "source_table": table, "source_file": source_file, "partition_month": pd.Timestamp(month),
        "rows_read": len(frame), "rows_accepted": len(good), "rows_quarantined": len(bad), "rows_excluded": 0,
        "excluded_by_rule": "{}", "rows_aggregated": 0, "orders_written": 0, "loaded_at": pd.Timestamp(loaded_at),
    }])
    return good, quarantine, log
