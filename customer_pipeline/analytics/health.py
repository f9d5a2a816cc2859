"""Customer health score: 0-100 from a few components on FIXED scales.

Why fixed scales: a health score is compared across days and across customers. Min-max or rank
scaling over the current batch would move every customer's score when one new customer arrives,
and "72" would mean something different each night. Every component here maps a raw number to
0..100 with constants written below, so a customer's score depends only on that customer's data.

Why renormalise instead of zero-fill: a component with no data for a customer (never answered the
NPS survey; the dataset has no ticket table) is left out and the remaining weights are scaled back
up to 100. Zero-filling would call "we did not ask" a 0/10 detractor. How much of the full weight
was available is reported as ``coverage`` (0..1), so consumers can discount thin scores.

Inputs are the point-in-time feature frame from ``churn.build_churn_features`` (same as_of), so
health and churn risk are computed from the same view of the data. In that frame NaN means
"no data" and 0 means "observed zero" (e.g. a ticket table exists and the customer has no open
tickets), and this module keeps that distinction.

Subscription components (weights sum to 100):

=============  ======  ==============================================================================
engagement     40      logins in the last 30 days, linear, saturating: 100 * min(logins, 20) / 20.
                       20 logins a month (about one per working day) is a fully engaged account.
features       20      mean distinct features used per active day in the last 30 days:
                       100 * min(x, 5) / 5. No logins -> 0 (observed: nothing used).
support        20      100 - 30 per open ticket - 10 per ticket opened in the last 90 days
                       (open ones counted in both), floored at 0. No tickets -> 100: when the dataset
                       has a ticket table, "no tickets" is real information (no friction); low
                       engagement, not the support component, catches customers too disengaged to
                       complain. Only a dataset without any ticket table makes it "no data".
nps            20      the customer's last NPS answer (0..10) * 10, if answered within the last 365
                       days. Older answers are stale and count as no data. Per person, never the
                       -100..100 group NPS.
=============  ======  ==============================================================================

Orders-only components (non-contractual retailers; weights sum to 100):

=============  ======  ==============================================================================
recency        50      days since the last purchase: 100 up to 30 days, falling linearly to 0 at
                       365 days.
frequency      25      purchases in the last 90 days: 100 * min(n, 3) / 3.
spend_trend    25      net spend last 90 days vs the 90 days before (the churn feature spend_trend,
                       -1..3): 100 if not falling, else 100 * (1 + trend), so spending nothing after
                       spending something -> 0. No data when the customer spent nothing in either
                       window (recency already says they are inactive).
=============  ======  ==============================================================================

Bands: red <= 50, yellow <= 75, green > 75. ``change_vs_previous`` = score - the previous
snapshot's score for the same customer, NULL when there is no previous score.
"""

from __future__ import annotations

from typing import Callable

import numpy as np
import pandas as pd

__all__ = [
    "SUBSCRIPTION_COMPONENTS",
    "ORDER_COMPONENTS",
    "health_scores",
    "health_band",
    "engagement_component",
    "features_component",
    "support_component",
    "nps_component",
    "recency_component",
    "frequency_component",
    "spend_trend_component",
]

ENGAGEMENT_FULL_LOGINS = 20.0
FEATURES_FULL = 5.0
SUPPORT_OPEN_PENALTY = 30.0
SUPPORT_RECENT_PENALTY = 10.0
NPS_MAX_AGE_DAYS = 365.0
RECENCY_FULL_DAYS = 30.0
RECENCY_ZERO_DAYS = 365.0
FREQUENCY_FULL_90D = 3.0


def _col(f: pd.DataFrame, name: str) -> pd.Series:
    """A column as float, or all-NaN (no data) when the frame does not have it."""
    if name in f.columns:
        return pd.to_numeric(f[name], errors="coerce").astype(float)
    return pd.Series(np.nan, index=f.index)


def engagement_component(f: pd.DataFrame) -> pd.Series:
    return 100.0 * np.minimum(_col(f, "logins_last_30d"), ENGAGEMENT_FULL_LOGINS) / ENGAGEMENT_FULL_LOGINS


def features_component(f: pd.DataFrame) -> pd.Series:
    return 100.0 * np.minimum(_col(f, "features_used_last_30d"), FEATURES_FULL) / FEATURES_FULL


def support_component(f: pd.DataFrame) -> pd.Series:
    open_t, recent = _col(f, "open_tickets"), _col(f, "tickets_last_90d")
    # NaN in either -> NaN: the dataset has no ticket data
    return (100.0 - SUPPORT_OPEN_PENALTY * open_t - SUPPORT_RECENT_PENALTY * recent).clip(lower=0.0)


def nps_component(f: pd.DataFrame) -> pd.Series:
    score, age = _col(f, "last_nps_score"), _col(f, "days_since_last_nps")
    fresh = age <= NPS_MAX_AGE_DAYS
    return (10.0 * score.clip(0, 10)).where(fresh)


def recency_component(f: pd.DataFrame) -> pd.Series:
    r = _col(f, "recency_days")
    span = RECENCY_ZERO_DAYS - RECENCY_FULL_DAYS
    return (100.0 * (RECENCY_ZERO_DAYS - r) / span).clip(0.0, 100.0)


def frequency_component(f: pd.DataFrame) -> pd.Series:
    return 100.0 * np.minimum(_col(f, "orders_last_90d"), FREQUENCY_FULL_90D) / FREQUENCY_FULL_90D


def spend_trend_component(f: pd.DataFrame) -> pd.Series:
    trend = _col(f, "spend_trend")
    inactive = (_col(f, "spend_last_90d").fillna(0) == 0) & (_col(f, "spend_prev_90d").fillna(0) == 0)
    return (100.0 * (1.0 + trend.clip(-1.0, 0.0))).where(~inactive)


# name -> (weight, component function)
SUBSCRIPTION_COMPONENTS: dict[str, tuple[float, Callable[[pd.DataFrame], pd.Series]]] = {
    "engagement": (40.0, engagement_component),
    "features": (20.0, features_component),
    "support": (20.0, support_component),
    "nps": (20.0, nps_component),
}
ORDER_COMPONENTS: dict[str, tuple[float, Callable[[pd.DataFrame], pd.Series]]] = {
    "recency": (50.0, recency_component),
    "frequency": (25.0, frequency_component),
    "spend_trend": (25.0, spend_trend_component),
}


def health_band(score) -> np.ndarray:
    """red <= 50, yellow <= 75, green > 75 (NaN score -> None)."""
    s = np.asarray(score, dtype=float)
    band = np.select([s <= 50, s <= 75, s > 75], ["red", "yellow", "green"], "")
    return np.where(np.isnan(s), None, band)


def health_scores(
    features: pd.DataFrame,
    previous: pd.DataFrame | None = None,
    *,
    kind: str = "subscription",
) -> pd.DataFrame:
    """Health score per customer from a point-in-time feature frame.

    Returns customer_id, health_score (0-100), band, one ``<component>_score`` column per
    component (0-100, NaN = no data), coverage (available weight / 100) and change_vs_previous
    (vs ``previous``'s health_score for the same customer_id; NaN when absent). A customer with
    no data for any component gets health_score NaN, band None and coverage 0 rather than a
    made-up number. ``as_of_date`` is passed through when present in ``features``.
    """
    if kind == "subscription":
        components = SUBSCRIPTION_COMPONENTS
    elif kind == "orders":
        components = ORDER_COMPONENTS
    else:
        raise ValueError(f"kind must be 'subscription' or 'orders', got {kind!r}")
    f = features.reset_index(drop=True)
    out = pd.DataFrame({"customer_id": f["customer_id"].astype(str)})
    weighted = pd.Series(0.0, index=f.index)
    available = pd.Series(0.0, index=f.index)
    for name, (weight, fn) in components.items():
        comp = fn(f).astype(float)
        out[f"{name}_score"] = comp
        has = comp.notna()
        weighted = weighted + np.where(has, weight * comp.fillna(0.0), 0.0)
        available = available + np.where(has, weight, 0.0)
    out["health_score"] = (weighted / available.where(available > 0)).clip(0.0, 100.0)
    out["band"] = health_band(out["health_score"])
    out["coverage"] = available / sum(w for w, _ in components.values())
    if previous is not None and len(previous):
        prev = (previous.assign(customer_id=previous["customer_id"].astype(str))
                .drop_duplicates("customer_id", keep="last")
                .set_index("customer_id")["health_score"].astype(float))
        out["change_vs_previous"] = out["health_score"] - out["customer_id"].map(prev)
    else:
        out["change_vs_previous"] = np.nan
    cols = ["customer_id", "health_score", "band"] + [f"{n}_score" for n in components] + [
        "coverage", "change_vs_previous"]
    out = out[cols]
    if "as_of_date" in f.columns:
        out.insert(0, "as_of_date", f["as_of_date"].to_numpy())
    return out
