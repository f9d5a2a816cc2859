"""Dataset profiles and paths, read from environment variables.

A profile fixes everything that makes a run reproducible: which source, which monthly partition
window, and the date the data ends (the "as of" of the still-open last month). Nothing here reads
the wall clock, so the same profile always yields the same tables.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import date
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def shared_data_dir() -> Path:
    """Folder of the real public datasets (``../shared/data`` next to the project by default)."""
    return Path(os.environ.get("CUSTOMER_PIPELINE_SHARED_DATA", PROJECT_ROOT.parent / "shared" / "data"))


def online_retail_path() -> Path:
    return Path(
        os.environ.get("CUSTOMER_PIPELINE_ONLINE_RETAIL_PATH", shared_data_dir() / "online_retail_uci.csv.gz")
    )


@dataclass(frozen=True)
class Profile:
    name: str
    first_month: date  # first day of the first monthly partition
    last_month: date  # first day of the last monthly partition
    data_end: date  # last day with data: the as-of date of the (possibly partial) last month
    description: str
    kind: str = "orders"  # "orders" (non-contractual retailer) or "subscription"

    @property
    def partitions_end_exclusive(self) -> date:
        y, m = self.last_month.year, self.last_month.month
        return date(y + (m == 12), m % 12 + 1, 1)


PROFILES: dict[str, Profile] = {
    "cdnow": Profile(
        name="cdnow",
        first_month=date(1997, 1, 1),
        last_month=date(1998, 6, 1),
        data_end=date(1998, 6, 30),
        description="CDNOW master ledger (lifetimes wheel): a non-contractual music retailer, orders only.",
    ),
    "online_retail": Profile(
        name="online_retail",
        first_month=date(2010, 12, 1),
        last_month=date(2011, 12, 1),
        data_end=date(2011, 12, 9),
        description="UCI Online Retail: invoice lines of a UK online gift retailer, with cancellations.",
    ),
    "saas_demo": Profile(
        name="saas_demo",
        first_month=date(2023, 1, 1),
        last_month=date(2024, 12, 1),
        data_end=date(2024, 12, 31),
        description="Deterministic synthetic subscription business: customers, subscriptions with MRR, usage, "
                    "support tickets, NPS answers, marketing spend and invoices.",
        kind="subscription",
    ),
}

DEFAULT_DATASET = "cdnow"


def dataset_name() -> str:
    return os.environ.get("CUSTOMER_PIPELINE_DATASET", DEFAULT_DATASET)


def active_profile() -> Profile:
    name = dataset_name()
    if name not in PROFILES:
        raise ValueError(
            f"CUSTOMER_PIPELINE_DATASET={name!r} is not a known dataset profile; choose one of {sorted(PROFILES)}"
        )
    return PROFILES[name]


def database_path(profile: Profile | None = None) -> Path:
    profile = profile or active_profile()
    return Path(os.environ.get("CUSTOMER_PIPELINE_DB", PROJECT_ROOT / "data" / f"{profile.name}.duckdb"))


def annual_discount_rate() -> float:
    """Rate used to value past cash flows at the as-of date (historical CLV)."""
    return float(os.environ.get("CUSTOMER_PIPELINE_ANNUAL_DISCOUNT_RATE", "0.10"))


def saas_demo_size() -> tuple[int, int]:
    """(customers, seed) of the synthetic subscription business."""
    return (int(os.environ.get("CUSTOMER_PIPELINE_SAAS_CUSTOMERS", "5000")),
            int(os.environ.get("CUSTOMER_PIPELINE_SAAS_SEED", "7")))


def gross_margin() -> float:
    """Gross margin applied to revenue in CLV and LTV (1.0 = revenue is value)."""
    return float(os.environ.get("CUSTOMER_PIPELINE_GROSS_MARGIN", "1.0"))
