"""Subscription (MRR-based) customer lifetime value.

Pure core: no Dagster import.

    saas_clv = MRR x gross_margin x expected_lifetime_months
    expected_lifetime_months = min(1 / monthly_churn, max_lifetime_months)   (cap when churn == 0)

Why this lifetime: it is the textbook "1 / churn" lifetime the product's worked example uses
(MRR 200, margin 0.75, churn 2 % -> 200 x 0.75 x 50 = 7,500), with a cap so that a customer
with (near-)zero observed churn does not get an infinite or absurd value. (The exact sum of
monthly survival over the cap, (1 - (1 - c)^cap) / c, would give 200 x 0.75 x 35.1 = 5,268 for
the same example; it is available as :func:`survival_lifetime_months` for comparison but is not
what the published example, and therefore the consumer table, uses.)
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["expected_lifetime_months", "survival_lifetime_months", "subscription_clv"]


def _as_array(x) -> np.ndarray:
    return np.asarray(x, dtype=float)


def expected_lifetime_months(monthly_churn, max_lifetime_months: float = 60) -> np.ndarray | float:
    """min(1 / churn, cap); the cap when churn == 0. NaN for churn outside [0, 1] or NaN."""
    c = _as_array(monthly_churn)
    with np.errstate(divide="ignore", invalid="ignore"):
        life = np.where(c > 0, np.minimum(1.0 / c, max_lifetime_months), float(max_lifetime_months))
    life = np.where(np.isfinite(c) & (c >= 0) & (c <= 1), life, np.nan)
    return float(life) if life.ndim == 0 else life


def survival_lifetime_months(monthly_churn, max_lifetime_months: float = 60) -> np.ndarray | float:
    """Sum of monthly survival over the cap: (1 - (1 - c)^cap) / c, the cap when c == 0."""
    c = _as_array(monthly_churn)
    with np.errstate(divide="ignore", invalid="ignore"):
        life = np.where(c > 0, (1.0 - (1.0 - c) ** max_lifetime_months) / c, float(max_lifetime_months))
    life = np.where(np.isfinite(c) & (c >= 0) & (c <= 1), life, np.nan)
    return float(life) if life.ndim == 0 else life


def subscription_clv(mrr, gross_margin, monthly_churn, max_lifetime_months: float = 60):
    """MRR x gross_margin x min(1 / monthly_churn, max_lifetime_months); vectorised.

    Scalars give a float; pandas Series give a Series aligned on the first Series' index
    (inputs are aligned by index, like pandas arithmetic). Invalid churn (NaN, < 0, > 1) gives
    NaN rather than a misleading number; negative MRR or margin are kept (a refund is a real
    negative value) but callers normally pass MRR >= 0.
    """
    if max_lifetime_months <= 0:
        raise ValueError("max_lifetime_months must be positive")
    series = [x for x in (mrr, gross_margin, monthly_churn) if isinstance(x, pd.Series)]
    if series:
        frame = pd.concat(
            {
                "mrr": mrr if isinstance(mrr, pd.Series) else pd.Series(mrr, index=series[0].index),
                "margin": gross_margin if isinstance(gross_margin, pd.Series)
                else pd.Series(gross_margin, index=series[0].index),
                "churn": monthly_churn if isinstance(monthly_churn, pd.Series)
                else pd.Series(monthly_churn, index=series[0].index),
            },
            axis=1,
        )
        life = expected_lifetime_months(frame["churn"].to_numpy(dtype=float), max_lifetime_months)
        out = frame["mrr"].astype(float) * frame["margin"].astype(float) * life
        return out.rename("saas_clv").reindex(series[0].index)
    life = expected_lifetime_months(monthly_churn, max_lifetime_months)
    value = _as_array(mrr) * _as_array(gross_margin) * life
    return float(value) if np.ndim(value) == 0 else value


def mrr_at(mrr_changes: pd.DataFrame, subscriptions: pd.DataFrame, as_of) -> pd.DataFrame:
    """MRR in force at the end of ``as_of`` per customer, over subscriptions in force then.

    The MRR of a subscription is the mrr_after of its latest change effective on or before as-of
    (falling back to its starting MRR). Returns customer_id, mrr, plan_type (of the largest
    subscription).
    """
    end = pd.Timestamp(as_of) + pd.Timedelta(days=1)
    subs = subscriptions[(subscriptions["start_date"] < end)
                         & (subscriptions["end_date"].isna() | (subscriptions["end_date"] >= end))]
    ch = mrr_changes[mrr_changes["effective_date"] < end].sort_values(["effective_date", "change_id"], kind="stable")
    last = ch.groupby("subscription_id")["mrr_after"].last()
    mrr = subs["subscription_id"].map(last).fillna(subs["mrr"])
    per = subs.assign(mrr_now=mrr.to_numpy()).sort_values("mrr_now", ascending=False, kind="stable")
    out = per.groupby("customer_id", sort=True).agg(mrr=("mrr_now", "sum"), plan_type=("plan_type", "first"))
    return out.reset_index()


def monthly_churn_by_plan(subscriptions: pd.DataFrame, as_of, window_months: int = 12) -> pd.Series:
    """Monthly churn hazard per plan over the trailing window: cancellations / subscription-months.

    Exposure counts each subscription's months in force inside the window, so a growing base does
    not make churn look lower (dividing by the month-end count would). Plans with no exposure get NaN.
    """
    end = pd.Timestamp(as_of) + pd.Timedelta(days=1)
    start = end - pd.DateOffset(months=window_months)
    s = subscriptions[subscriptions["start_date"] < end]
    stop = s["end_date"].where(s["end_date"].notna() & (s["end_date"] < end), end)
    begin = s["start_date"].where(s["start_date"] > start, start)
    months = ((stop - begin).dt.days.clip(lower=0)) / (365.25 / 12)
    ended = s["end_date"].notna() & (s["end_date"] >= start) & (s["end_date"] < end)
    g = pd.DataFrame({"plan_type": s["plan_type"], "months": months, "ended": ended.astype(int)}).groupby("plan_type")
    exposure = g["months"].sum()
    return (g["ended"].sum() / exposure.where(exposure > 0)).rename("monthly_churn")
