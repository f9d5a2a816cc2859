"""CDNOW master ledger, read from the data file inside the installed lifetimes wheel.

Each line is one purchase (customer_id, date YYYYMMDD, number_of_cds, dollar_value); the file has
no invoice id, so each line is its own order, identified by its row number. $0 lines are valid
(free CDs) and kept. Lines that fail validation go to quarantine; none are excluded by rule.
We read the file by path: ``import lifetimes.datasets`` needs pkg_resources, which recent
setuptools no longer ships.
"""
from __future__ import annotations

import functools
import os
from pathlib import Path

import numpy as np
import pandas as pd
import pandera.pandas as pa

from customer_pipeline.settings import Profile
from customer_pipeline.sources.base import (
    ACCEPTED, QUARANTINED, ClassifiedSource, assign_partitions, failure_reasons,
)

SOURCE_COLUMNS = ["customer_id", "date", "number_of_cds", "dollar_value"]
# parsed column -> the file's column, so quarantine reasons name what the user sees in the file
SOURCE_NAMES = {"order_ts": "date", "quantity": "number_of_cds", "amount": "dollar_value"}

LINE_SCHEMA = pa.DataFrameSchema(
    {
        "customer_id": pa.Column(str, pa.Check.str_matches(r"^\d+$", error="customer id is numeric"), nullable=False),
        "order_ts": pa.Column("datetime64[ns]", nullable=False),
        "quantity": pa.Column(float, [pa.Check.ge(1, error="number_of_cds >= 1"),
                                      pa.Check.le(1_000_000, error="number_of_cds <= 1,000,000"),
                                      pa.Check(lambda s: s == np.round(s), error="number_of_cds is an integer")], nullable=False),
        "amount": pa.Column(float, [pa.Check.ge(0, error="dollar_value >= 0"),
                                    pa.Check.le(1e9, error="dollar_value <= 1e9")], nullable=False),
    },
    coerce=False,
)


def default_path() -> Path:
    import lifetimes  # the package itself imports fine; only lifetimes.datasets needs pkg_resources

    return Path(lifetimes.__file__).parent / "datasets" / "CDNOW_master.txt"


def read_text(path: Path) -> pd.DataFrame:
    if not path.exists():
        raise FileNotFoundError(f"CDNOW master file not found: {path} (is lifetimes==0.11.3 installed?)")
    with open(path, encoding="ascii") as fh:
        header = fh.readline().split()
        if header != SOURCE_COLUMNS:
            raise ValueError(f"{path}: header {header} is not {SOURCE_COLUMNS}")
        rows = [line.split() for line in fh]
    bad = [i + 1 for i, r in enumerate(rows) if len(r) != len(SOURCE_COLUMNS)]
    text = pd.DataFrame([r if len(r) == 4 else (r + [None] * 4)[:4] for r in rows], columns=SOURCE_COLUMNS, dtype=object)
    text.index = pd.RangeIndex(1, len(text) + 1)  # = source_row
    text.attrs["bad_field_count_rows"] = bad
    return text


def classify(text: pd.DataFrame, profile: Profile, source_file: str) -> ClassifiedSource:
    parsed = pd.DataFrame({
        "customer_id": text["customer_id"],
        "order_ts": pd.to_datetime(text["date"], format="%Y%m%d", errors="coerce"),
        "quantity": pd.to_numeric(text["number_of_cds"], errors="coerce"),
        "amount": pd.to_numeric(text["dollar_value"], errors="coerce"),
    }, index=text.index)
    status = pd.Series(ACCEPTED, index=text.index, dtype=object)
    reason = pd.Series(None, index=text.index, dtype=object)
    reasons = failure_reasons(parsed, LINE_SCHEMA, SOURCE_NAMES, text)
    bad_fields = pd.Index(text.attrs.get("bad_field_count_rows", []))
    if len(bad_fields):
        msg = "line does not have exactly 4 whitespace-separated fields"
        reasons = reasons.reindex(reasons.index.union(bad_fields))
        reasons[bad_fields] = [msg if pd.isna(r) else f"{msg}; {r}" for r in reasons[bad_fields]]
    status[reasons.index] = QUARANTINED
    reason[reasons.index] = reasons

    order_id = pd.Series(text.index.astype(str), index=text.index)
    partition, problem = assign_partitions(parsed["order_ts"], order_id, profile)
    flagged = problem.notna()
    reason[flagged] = np.where(reason[flagged].isna(), problem[flagged], reason[flagged].astype(str) + "; " + problem[flagged])
    status[flagged] = QUARANTINED
    accepted = status == ACCEPTED
    lines = pd.DataFrame({
        "source_row": text.index.to_numpy(),
        "partition_month": partition,
        "status": status,
        "rule": pd.Series(None, index=text.index, dtype=object),
        "reason": reason,
        "order_id": order_id,
        "customer_id": parsed["customer_id"],
        "order_ts": parsed["order_ts"],
        "order_type": "purchase",
        "amount": parsed["amount"].where(accepted),
        "quantity": parsed["quantity"].where(accepted),
        "country": pd.Series(None, index=text.index, dtype=object),
    }, index=text.index)
    return ClassifiedSource("cdnow", source_file, lines, text, {})


@functools.lru_cache(maxsize=2)
def _load_cached(path: str, mtime: float, size: int, profile: Profile) -> ClassifiedSource:
    return classify(read_text(Path(path)), profile, path)


def load(path: Path | None, profile: Profile) -> ClassifiedSource:
    path = Path(path or os.environ.get("CUSTOMER_PIPELINE_CDNOW_PATH") or default_path())
    if not path.exists():
        read_text(path)
    st = os.stat(path)
    return _load_cached(str(path), st.st_mtime, st.st_size, profile)
