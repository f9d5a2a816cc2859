"""Shared pieces of the asset layer: the active profile, its partitions, owners."""
from __future__ import annotations

import functools
import warnings
from datetime import date

import dagster as dg

from customer_pipeline.analytics.common import snapshot_date
from customer_pipeline.settings import Profile, active_profile

OWNERS = ["team:customer-analytics"]


def profile() -> Profile:
    return active_profile()


@functools.lru_cache(maxsize=None)
def _partitions(first: date, end_exclusive: date) -> dg.MonthlyPartitionsDefinition:
    return dg.MonthlyPartitionsDefinition(start_date=first.isoformat(), end_date=end_exclusive.isoformat())


def partitions_def() -> dg.MonthlyPartitionsDefinition:
    """One partition per calendar month of the active profile's window."""
    p = profile()
    return _partitions(p.first_month, p.partitions_end_exclusive)


def all_earlier_partitions() -> dg.TimeWindowPartitionMapping:
    """A snapshot of month M reads every month up to M (it is cumulative), not just M."""
    p = profile()
    months = (p.last_month.year - p.first_month.year) * 12 + p.last_month.month - p.first_month.month + 1
    with warnings.catch_warnings():  # the parameter is marked beta in dagster 1.13; we rely on it knowingly
        warnings.simplefilter("ignore", category=dg.BetaWarning)
        return dg.TimeWindowPartitionMapping(start_offset=-(months - 1), end_offset=0,
                                             allow_nonexistent_upstream_partitions=True)


def month_of(context: dg.AssetExecutionContext) -> date:
    return context.partition_time_window.start.date()


def as_of_of(context: dg.AssetExecutionContext) -> date:
    """The partition's as-of date: its month end, or the last day of data for the open month."""
    return snapshot_date(month_of(context), profile().data_end)
