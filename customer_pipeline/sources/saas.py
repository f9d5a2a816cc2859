"""The saas_demo profile as a source: the generated tables, validated like any file would be.

Invoices become raw.orders through the same classification as the file sources (each invoice one
order); the other tables (subscriptions, MRR changes, usage, tickets, NPS, marketing spend) are
partitioned by the month of their event column and validated against their contracts, failing
rows going to quarantine.saas_tables with the reason.
"""
from __future__ import annotations

import functools

import pandas as pd
import pandera.pandas as pa

from customer_pipeline.settings import Profile
from customer_pipeline.sources.base import ACCEPTED, QUARANTINED, ClassifiedSource, assign_partitions, failure_reasons

# raw table -> the column whose month is its partition
EVENT_TABLES = {
    "subscriptions": "start_date",
    "mrr_changes": "effective_date",
    "usage_daily": "usage_date",
    "support_tickets": "opened_at",
    "nps_responses": "responded_at",
    "marketing_spend": "month",
}

INVOICE_SCHEMA = pa.DataFrameSchema(
    {
        "customer_id": pa.Column(str, nullable=False),
        "order_ts": pa.Column("datetime64[ns]", nullable=False),
        "amount": pa.Column(float, pa.Check.ge(0, error="invoice amount >= 0"), nullable=False),
        "quantity": pa.Column("int64", nullable=False),
    },
)


@functools.lru_cache(maxsize=2)
def generated_tables(n_customers: int, seed: int, first_month, months: int) -> dict[str, pd.DataFrame]:
    from customer_pipeline.sources.saas_demo import generate_saas_demo

    return generate_saas_demo(n_customers=n_customers, seed=seed, start=first_month, months=months)


def tables_for(profile: Profile) -> dict[str, pd.DataFrame]:
    from customer_pipeline.settings import saas_demo_size

    n, seed = saas_demo_size()
    months = (profile.last_month.year - profile.first_month.year) * 12 + profile.last_month.month - profile.first_month.month + 1
    return generated_tables(n, seed, profile.first_month, months)


@functools.lru_cache(maxsize=2)
def _classified(profile: Profile, n: int, seed: int) -> ClassifiedSource:
    inv = tables_for(profile)["orders"].reset_index(drop=True)
    inv.index = pd.RangeIndex(1, len(inv) + 1)
    reasons = failure_reasons(inv[["customer_id", "order_ts", "amount", "quantity"]], INVOICE_SCHEMA)
    status = pd.Series(ACCEPTED, index=inv.index, dtype=object)
    status[reasons.index] = QUARANTINED
    partition, problem = assign_partitions(inv["order_ts"], inv["order_id"], profile)
    reason = pd.Series(None, index=inv.index, dtype=object)
    reason[reasons.index] = reasons
    flagged = problem.notna()
    reason[flagged] = problem[flagged]
    status[flagged] = QUARANTINED
    accepted = status == ACCEPTED
    lines = pd.DataFrame({
        "source_row": inv.index.to_numpy(), "partition_month": partition, "status": status,
        "rule": pd.Series(None, index=inv.index, dtype=object), "reason": reason,
        "order_id": inv["order_id"], "customer_id": inv["customer_id"], "order_ts": inv["order_ts"],
        "order_type": inv["order_type"], "amount": inv["amount"].where(accepted),
        "quantity": inv["quantity"].where(accepted), "country": inv["country"],
    }, index=inv.index)
    text = inv.astype(str)
    return ClassifiedSource("saas_demo", f"generated:saas_demo(n_customers={n}, seed={seed})", lines, text, {})


def load(profile: Profile) -> ClassifiedSource:
    from customer_pipeline.settings import saas_demo_size

    n, seed = saas_demo_size()
    return _classified(profile, n, seed)


def customers_for_partition(profile: Profile, month) -> pd.DataFrame:
    """raw.customers straight from the customer table (acquisition date and channel are known)."""
    c = tables_for(profile)["customers"]
    c = c[c["signup_date"].dt.to_period("M").dt.to_timestamp() == pd.Timestamp(month)]
    c = c.sort_values(["signup_date", "customer_id"], kind="stable")
    return pd.DataFrame({
        "customer_id": c["customer_id"].astype(str),
        "first_seen_date": c["signup_date"].dt.normalize(),
        "acquisition_date": c["signup_date"].dt.normalize(),
        "acquisition_channel": c["acquisition_channel"],
        "plan_type": c["plan_type"],
        "country": c["country"],
        "source": "saas_demo",
    }).reset_index(drop=True)


def event_table_for_partition(profile: Profile, table: str, month) -> pd.DataFrame:
    """Rows of a generated table whose event falls in the month, in the generator's order."""
    df = tables_for(profile)[table]
    col = EVENT_TABLES[table]
    out = df[df[col].dt.to_period("M").dt.to_timestamp() == pd.Timestamp(month)].copy()
    return out.reset_index(drop=True)
