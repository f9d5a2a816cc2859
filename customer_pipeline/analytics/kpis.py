"""Monthly KPIs (the ``kpis_monthly`` table): one row per calendar month, point in time.

Pure core: no Dagster import, no wall-clock reads. Every number of a month's row is computed from
the data visible at its snapshot date ``as_of`` (timestamps strictly before ``as_of + 1 day``):
rows after it are ignored, a subscription starting after it does not exist yet and an ``end_date``
after it is treated as NULL (the cancellation is not known yet). So appending future rows never
changes a row, and the same inputs always give the same row.

``as_of`` is the month's last day for a closed month, or an earlier last day of data for the month
still open (``is_complete_month`` is then False, and flow numbers - revenue, new, churned, spend -
cover only the days up to ``as_of``).

Day conventions. Subscription dates are days; ``end_date`` is the first day *without* service, so
a subscription is *in force on day d* when ``start_date <= d`` and (``end_date`` is NULL or
``end_date > d``). "Month start" for stock numbers means the day before the month's first day
(``d0``), i.e. the previous month's close, so a cancellation with ``end_date`` = the 1st is churn
of this month, and a change effective on the 1st is a movement of this month.

Numbers are NULL (NaN) where the data does not allow them - never 0-filled: no customers at month
start -> churn_rate, nrr, grr, ltv NULL; no NPS answers -> nps NULL; no spend rows -> marketing_spend
and cac NULL; no new customers -> cac NULL; no orders table -> revenue NULL. A zero is a real,
observed zero (e.g. revenue 0.0 for a month with an orders table but no orders in it).

Definitions, kind="subscription" (tables ``subscriptions`` [+ ``mrr_changes``, ``orders``,
``nps_responses``, ``marketing_spend``]):

* active_customers: distinct customers with a subscription in force on ``as_of``.
* new_customers: customers whose first subscription (``min(start_date)``) lies in the month, up to
  ``as_of``.
* churned_customers: customers whose service ended in the month: a subscription ``end_date`` in
  [month start, as_of] and no subscription in force on ``as_of`` (a plan switch - one subscription
  ending the day another starts - or a return within the month is not churn). This includes a
  customer who joined and left within the month.
* churn_rate: churned customers who were in force on ``d0`` / customers in force on ``d0``.
  The numerator is restricted to the start-of-month base (a customer who joined and left inside
  the month is in ``churned_customers`` but not in the rate), so the rate is a proper share in
  [0, 1]. NULL when nobody was in force on ``d0``.
* revenue: sum of ``orders.amount`` (net: cancellations are negative) with ``order_ts`` in the
  month and before the cutoff, including orders without a customer id.
* arpu: revenue / active_customers (NULL when no active customer).
* mrr: MRR in force on ``as_of`` summed over the subscriptions in force on it. A subscription's MRR
  on day d is the ``mrr_after`` of its latest ``mrr_changes`` row effective on or before d (ties:
  the later row in table order); a subscription in force without any such row falls back to
  ``subscriptions.mrr`` (its MRR at start). NULL if some MRR is unknown or neither source exists.
* nrr: MRR on ``as_of`` of the customers in force on ``d0`` (all their subscriptions in force on
  ``as_of``; churned customers count 0, expansions and added subscriptions count) / their MRR on
  ``d0``. New customers of the month are excluded. NULL if that base MRR is not > 0.
* grr: the same with each customer's ``as_of`` MRR capped at its ``d0`` MRR (so grr <= 1).
* nps: 100 x (promoters (9-10) - detractors (0-6)) / answers, over the answers (scores 0..10)
  given in the month up to ``as_of``; NULL without answers. nps_responses: that number of answers.
* marketing_spend: sum of ``marketing_spend.spend`` whose ``month`` lies in the month (NULL when
  the table has no row for it, or any of its spends is NULL).
* cac: marketing_spend / new_customers (NULL if no new customers or spend unknown).
* ltv: arpu x gross_margin x lifetime, lifetime = min(1 / churn_rate, max_lifetime_months), the
  cap when churn_rate == 0 (never infinite). NULL when arpu or churn_rate is NULL.
* ltv_to_cac: ltv / cac (NULL when either is NULL or cac is not > 0). Rule of thumb: >= 3.

Definitions, kind="orders" (non-contractual: table ``orders`` [+ ``nps_responses``,
``marketing_spend``]): a customer is *active on day d* when their last purchase
(``order_type == 'purchase'``; cancellations are not activity) on or before d is fewer than
``inactivity_days`` days before d (``(d - last_purchase_day).days < inactivity_days``).

* active_customers: active on ``as_of``.  new_customers: first purchase ever in the month.
* churned_customers: active on ``d0`` and not active on ``as_of`` - they lapsed in the month.
  Churn here is lapse-based (an inferred, not an observed, cancellation): a customer who is
  simply between purchases longer than ``inactivity_days`` counts as churned.
* churn_rate: churned / active on ``d0``.  revenue, arpu: as above.
* ltv: arpu x gross_margin x min(1 / churn_rate, max_lifetime_months), lapse-based churn.
* mrr, nrr, grr: NULL (no subscriptions). nps, marketing_spend, cac, ltv_to_cac: NULL unless the
  ``nps_responses`` / ``marketing_spend`` tables are present, then as above.
"""

from __future__ import annotations

import math
from datetime import date, datetime, timedelta
from typing import Any, Callable, Literal, Mapping

import numpy as np
import pandas as pd

__all__ = ["KPI_COLUMNS", "KPI_DTYPES", "DEFINITIONS", "monthly_kpis", "kpis_for_months"]

Kind = Literal["subscription", "orders"]
DAY = pd.Timedelta(days=1)

KPI_DTYPES: dict[str, str] = {
    "month": "datetime64[ns]",
    "as_of_date": "datetime64[ns]",
    "is_complete_month": "bool",
    "active_customers": "int64",
    "new_customers": "int64",
    "churned_customers": "int64",
    "churn_rate": "float64",
    "revenue": "float64",
    "arpu": "float64",
    "mrr": "float64",
    "nrr": "float64",
    "grr": "float64",
    "nps": "float64",
    "nps_responses": "int64",
    "marketing_spend": "float64",
    "cac": "float64",
    "ltv": "float64",
    "ltv_to_cac": "float64",
    "definitions": "object",
}
KPI_COLUMNS = list(KPI_DTYPES)

_COMMON = ("revenue = net order amounts in the month up to as_of; arpu = revenue / active; "
           "nps = 100*(promoters 9-10 - detractors 0-6)/answers in the month, NULL without answers; "
           "marketing_spend = spend rows of the month; cac = spend / new (NULL if 0 new); "
           "ltv = arpu x gross_margin x min(1/churn_rate, {cap} months); ltv_to_cac = ltv / cac; "
           "only data before as_of + 1 day.")
DEFINITIONS: dict[str, str] = {
    "subscription": (
        "kind=subscription. active = customers with a subscription in force on as_of "
        "(start_date <= as_of < end_date or end_date NULL); new = first subscription started in the month; "
        "churned = a subscription ended in the month and none in force on as_of; "
        "churn_rate = churned among customers in force on the day before the month / those customers; "
        "mrr = MRR in force on as_of (latest mrr_changes.mrr_after per subscription); "
        "nrr = as_of MRR / day-before-month MRR of the customers in force the day before the month "
        "(churn = 0); grr = same with each customer capped at its start MRR; " + _COMMON),
    "orders": (
        "kind=orders. active on day d = last purchase fewer than {inactivity} days before d; "
        "active = active on as_of; new = first purchase in the month; churned = active on the day "
        "before the month and not on as_of (lapse-based churn); churn_rate = churned / active on the day "
        "before the month; mrr, nrr, grr NULL (no subscriptions); " + _COMMON),
}


# ---------------------------------------------------------------------------------------------
# small helpers
# ---------------------------------------------------------------------------------------------


def _as_date(value: date | datetime | str | pd.Timestamp) -> date:
    ts = pd.Timestamp(value)
    if ts.tzinfo is not None:
        raise ValueError(f"expected a naive date, got {value!r}")
    return ts.date()


def _next_month(d: date) -> date:
    return date(d.year + (d.month == 12), d.month % 12 + 1, 1)


def _days(s: pd.Series) -> pd.Series:
    """A date/time column as midnight timestamps (naive datetime64[ns])."""
    return pd.to_datetime(s).dt.normalize()


def _nan_if(cond: bool, value: float) -> float:
    return float("nan") if cond else float(value)


def _lifetime_months(churn_rate: float, cap: float) -> float:
    """min(1 / churn, cap); the cap when churn == 0; NaN when churn is NaN or outside [0, 1]."""
    if not np.isfinite(churn_rate) or churn_rate < 0 or churn_rate > 1:
        return float("nan")
    return float(cap) if churn_rate == 0 else min(1.0 / churn_rate, float(cap))


def _require(tables: Mapping[str, pd.DataFrame], name: str, columns: list[str]) -> pd.DataFrame:
    if name not in tables or tables[name] is None:
        raise ValueError(f"monthly_kpis needs table {name!r}")
    df = tables[name]
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise ValueError(f"table {name!r} lacks columns {missing}")
    return df


def _optional(tables: Mapping[str, pd.DataFrame], name: str, columns: list[str]) -> pd.DataFrame | None:
    if tables.get(name) is None:
        return None
    return _require(tables, name, columns)


# ---------------------------------------------------------------------------------------------
# pieces shared by both kinds
# ---------------------------------------------------------------------------------------------


def _revenue(tables: Mapping[str, pd.DataFrame], m0: pd.Timestamp, end: pd.Timestamp) -> float:
    """Net order amounts with m0 <= order_ts < end; NaN without an orders table."""
    orders = _optional(tables, "orders", ["order_ts", "amount"])
    if orders is None:
        return float("nan")
    ts = pd.to_datetime(orders["order_ts"])
    amounts = orders.loc[(ts >= m0) & (ts < end), "amount"].astype(float)
    if amounts.isna().any():
        return float("nan")
    return math.fsum(amounts.to_numpy())  # exact, independent of row order


def _nps(tables: Mapping[str, pd.DataFrame], m0: pd.Timestamp, end: pd.Timestamp) -> tuple[float, int]:
    nps = _optional(tables, "nps_responses", ["responded_at", "score"])
    if nps is None:
        return float("nan"), 0
    ts = pd.to_datetime(nps["responded_at"])
    scores = nps.loc[(ts >= m0) & (ts < end), "score"].dropna().astype(float)
    if ((scores < 0) | (scores > 10) | (scores != np.round(scores))).any():
        raise ValueError("NPS scores must be integers 0..10")
    n = int(len(scores))
    if n == 0:
        return float("nan"), 0
    promoters = int((scores >= 9).sum())
    detractors = int((scores <= 6).sum())
    return 100.0 * (promoters - detractors) / n, n


def _marketing_spend(tables: Mapping[str, pd.DataFrame], m0: pd.Timestamp, end: pd.Timestamp) -> float:
    spend = _optional(tables, "marketing_spend", ["month", "spend"])
    if spend is None:
        return float("nan")
    month = _days(spend["month"])
    rows = spend.loc[(month >= m0) & (month < end), "spend"]
    if rows.empty or rows.isna().any():
        return float("nan")
    return math.fsum(rows.astype(float).to_numpy())


# ---------------------------------------------------------------------------------------------
# subscription kind
# ---------------------------------------------------------------------------------------------


def _visible_subscriptions(tables: Mapping[str, pd.DataFrame], cutoff: pd.Timestamp) -> pd.DataFrame:
    s = _require(tables, "subscriptions", ["customer_id", "start_date", "end_date"])
    s = s.loc[s["customer_id"].notna()].copy()
    s["customer_id"] = s["customer_id"].astype(str)
    if "subscription_id" not in s.columns:
        raise ValueError("table 'subscriptions' lacks columns ['subscription_id']")
    s["subscription_id"] = s["subscription_id"].astype(str)
    s["start_date"] = _days(s["start_date"])
    s["end_date"] = _days(s["end_date"])
    s = s.loc[s["start_date"] < cutoff].copy()  # not started yet at as_of: does not exist yet
    s.loc[s["end_date"] >= cutoff, "end_date"] = pd.NaT  # a cancellation after as_of is not known yet
    return s


def _in_force(s: pd.DataFrame, day: pd.Timestamp) -> pd.Series:
    return (s["start_date"] <= day) & (s["end_date"].isna() | (s["end_date"] > day))


def _mrr_on(tables: Mapping[str, pd.DataFrame], subs: pd.DataFrame, day: pd.Timestamp) -> pd.DataFrame | None:
    """customer_id, subscription_id, mrr of the subscriptions in force on ``day``; None if unknown."""
    live = subs.loc[_in_force(subs, day), ["customer_id", "subscription_id"]].copy()
    mc = _optional(tables, "mrr_changes", ["subscription_id", "effective_date", "mrr_after"])
    known = pd.Series(dtype=float)
    if mc is not None and len(mc):
        eff = _days(mc["effective_date"])
        m = pd.DataFrame({"subscription_id": mc["subscription_id"].astype(str), "eff": eff,
                          "mrr_after": mc["mrr_after"].astype(float)}).loc[eff <= day]
        m = m.sort_values("eff", kind="stable")  # ties keep table order: the later row wins
        known = m.drop_duplicates("subscription_id", keep="last").set_index("subscription_id")["mrr_after"]
    mrr = live["subscription_id"].map(known).astype(float)
    fallback = ~live["subscription_id"].isin(known.index)
    if fallback.any() and "mrr" in subs.columns:  # no change row yet: the subscription's MRR at start
        start_mrr = subs.drop_duplicates("subscription_id").set_index("subscription_id")["mrr"].astype(float)
        mrr = mrr.where(~fallback, live["subscription_id"].map(start_mrr))
    live["mrr"] = mrr.astype(float)
    if live["mrr"].isna().any():
        return None
    return live


def _subscription_kpis(tables, m0, d0, as_of_ts, cutoff) -> dict[str, Any]:
    s = _visible_subscriptions(tables, cutoff)
    base = set(s.loc[_in_force(s, d0), "customer_id"])
    active = set(s.loc[_in_force(s, as_of_ts), "customer_id"])
    first_start = s.groupby("customer_id")["start_date"].min()
    new = int(((first_start >= m0) & (first_start <= as_of_ts)).sum())
    ended = set(s.loc[s["end_date"].notna() & (s["end_date"] >= m0) & (s["end_date"] <= as_of_ts), "customer_id"])
    churned = ended - active
    churn_rate = _nan_if(not base, len(churned & base) / max(len(base), 1))

    mrr = nrr = grr = float("nan")
    at_end = _mrr_on(tables, s, as_of_ts)
    if at_end is not None:
        mrr = math.fsum(at_end["mrr"].to_numpy())
    at_start = _mrr_on(tables, s, d0)
    if at_end is not None and at_start is not None and base:
        start_c = at_start.groupby("customer_id")["mrr"].sum()
        end_c = at_end.groupby("customer_id")["mrr"].sum().reindex(start_c.index).fillna(0.0)  # churn = 0
        denom = math.fsum(start_c.to_numpy())
        if denom > 0:
            nrr = math.fsum(end_c.to_numpy()) / denom
            grr = math.fsum(np.minimum(end_c, start_c).to_numpy()) / denom
    return dict(active_customers=len(active), new_customers=new, churned_customers=len(churned),
                churn_rate=churn_rate, mrr=mrr, nrr=nrr, grr=grr)


# ---------------------------------------------------------------------------------------------
# orders kind
# ---------------------------------------------------------------------------------------------


def _orders_kpis(tables, m0, d0, as_of_ts, cutoff, inactivity_days: int) -> dict[str, Any]:
    o = _require(tables, "orders", ["customer_id", "order_ts", "amount"])
    ts = pd.to_datetime(o["order_ts"])
    keep = (ts < cutoff) & o["customer_id"].notna()
    if "order_type" in o.columns:
        keep &= o["order_type"] == "purchase"
    else:  # no order type: a positive amount is a purchase
        keep &= o["amount"] > 0
    p = pd.DataFrame({"customer_id": o.loc[keep, "customer_id"].astype(str), "day": ts[keep].dt.normalize()})

    def active_on(day: pd.Timestamp) -> set[str]:
        last = p.loc[p["day"] <= day].groupby("customer_id")["day"].max()
        return set(last.index[(day - last).dt.days < inactivity_days])

    base, active = active_on(d0), active_on(as_of_ts)
    first = p.groupby("customer_id")["day"].min()
    new = int(((first >= m0) & (first <= as_of_ts)).sum())
    churned = base - active
    churn_rate = _nan_if(not base, len(churned) / max(len(base), 1))
    nan = float("nan")
    return dict(active_customers=len(active), new_customers=new, churned_customers=len(churned),
                churn_rate=churn_rate, mrr=nan, nrr=nan, grr=nan)


# ---------------------------------------------------------------------------------------------
# public API
# ---------------------------------------------------------------------------------------------


def _empty_frame() -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype=t) for c, t in KPI_DTYPES.items()})


def monthly_kpis(
    tables: Mapping[str, pd.DataFrame],
    month: date,
    *,
    kind: Kind,
    as_of: date,
    gross_margin: float = 1.0,
    inactivity_days: int = 90,
    max_lifetime_months: int = 60,
) -> pd.DataFrame:
    """One ``kpis_monthly`` row for the calendar month starting at ``month``, as of ``as_of``.

    ``month`` must be the first day of a month; ``as_of`` a day inside it (its last day for a closed
    month, the last day of data for the open one). Only data with timestamps before ``as_of + 1
    day`` is used. ``kind`` is "subscription" (contractual: subscriptions, MRR) or "orders"
    (non-contractual: activity = a purchase within ``inactivity_days``). See the module docstring
    for every definition; the short version travels in the ``definitions`` column.

    Columns (see ``KPI_DTYPES``): month, as_of_date (Timestamps), is_complete_month (bool),
    active_customers, new_customers, churned_customers, nps_responses (int64), churn_rate, revenue,
    arpu, mrr, nrr, grr, nps, marketing_spend, cac, ltv, ltv_to_cac (float64, NaN where the data
    does not allow the number), definitions (str).

    * subscription: active = customers with a subscription in force on as_of (start_date <= as_of
      and (end_date NULL or end_date > as_of)); new = first subscription started in the month;
      churned = a subscription ended in the month (end_date in [month start, as_of]) and none in
      force on as_of; churn_rate = churned among the customers in force on the day before the
      month / those customers; mrr = sum over subscriptions in force on as_of of the latest
      mrr_changes.mrr_after at or before as_of; nrr = as_of MRR of the customers in force the day
      before the month / their MRR that day (churn counts 0); grr = same, each customer capped at
      its start MRR.
    * orders: active on day d = last purchase fewer than inactivity_days days before d; new = first
      purchase in the month; churned = active the day before the month and not on as_of (lapse-based);
      churn_rate = churned / active the day before the month; mrr, nrr, grr NULL.
    * both: revenue = net order amounts in the month; arpu = revenue / active; nps = 100 x
      (promoters 9-10 - detractors 0-6) / answers in the month (NULL without answers);
      marketing_spend = spend in the month; cac = spend / new (NULL if 0 new); ltv = arpu x
      gross_margin x min(1 / churn_rate, max_lifetime_months) (the cap when churn_rate == 0);
      ltv_to_cac = ltv / cac (rule of thumb >= 3).
    """
    if kind not in ("subscription", "orders"):
        raise ValueError(f"kind must be 'subscription' or 'orders', got {kind!r}")
    if not 0.0 <= float(gross_margin) <= 1.0:
        raise ValueError("gross_margin must be in [0, 1]")
    if int(inactivity_days) < 1:
        raise ValueError("inactivity_days must be >= 1")
    if max_lifetime_months <= 0:
        raise ValueError("max_lifetime_months must be positive")
    month_d, as_of_d = _as_date(month), _as_date(as_of)
    if month_d.day != 1:
        raise ValueError(f"month must be the first day of a month, got {month_d}")
    last_day = _next_month(month_d) - timedelta(days=1)
    if not month_d <= as_of_d <= last_day:
        raise ValueError(f"as_of {as_of_d} must lie in the month {month_d:%Y-%m} ({month_d}..{last_day})")

    m0 = pd.Timestamp(month_d)
    d0 = m0 - DAY  # "month start" for stock numbers: the previous month's close
    as_of_ts = pd.Timestamp(as_of_d)
    cutoff = as_of_ts + DAY  # first instant not visible

    if kind == "subscription":
        core = _subscription_kpis(tables, m0, d0, as_of_ts, cutoff)
    else:
        core = _orders_kpis(tables, m0, d0, as_of_ts, cutoff, int(inactivity_days))

    revenue = _revenue(tables, m0, cutoff)
    active = core["active_customers"]
    arpu = _nan_if(active == 0 or not np.isfinite(revenue), revenue / max(active, 1))
    nps, n_answers = _nps(tables, m0, cutoff)
    spend = _marketing_spend(tables, m0, cutoff)
    new = core["new_customers"]
    cac = _nan_if(new == 0 or not np.isfinite(spend), spend / max(new, 1))
    ltv = arpu * float(gross_margin) * _lifetime_months(core["churn_rate"], max_lifetime_months)
    ratio_defined = bool(np.isfinite(ltv) and np.isfinite(cac) and cac > 0)
    ltv_to_cac = ltv / cac if ratio_defined else float("nan")

    row = dict(
        month=m0,
        as_of_date=as_of_ts,
        is_complete_month=as_of_d == last_day,
        **{k: core[k] for k in ("active_customers", "new_customers", "churned_customers", "churn_rate")},
        revenue=revenue,
        arpu=arpu,
        mrr=core["mrr"],
        nrr=core["nrr"],
        grr=core["grr"],
        nps=nps,
        nps_responses=n_answers,
        marketing_spend=spend,
        cac=cac,
        ltv=ltv,
        ltv_to_cac=ltv_to_cac,
        definitions=DEFINITIONS[kind].format(cap=max_lifetime_months, inactivity=int(inactivity_days)),
    )
    return pd.DataFrame([row], columns=KPI_COLUMNS).astype(KPI_DTYPES)


def kpis_for_months(
    tables: Mapping[str, pd.DataFrame],
    months: list[date],
    kind: Kind,
    as_of_for: Callable[[date], date],
    **kw: Any,
) -> pd.DataFrame:
    """``monthly_kpis`` for each month (as of ``as_of_for(month)``), concatenated in the given order.

    Typical ``as_of_for``: ``lambda m: common.snapshot_date(m, data_end)`` (month end, or the last
    day of data for the open month). An empty ``months`` gives an empty frame with the same columns
    and dtypes.
    """
    rows = [monthly_kpis(tables, m, kind=kind, as_of=as_of_for(m), **kw) for m in months]
    if not rows:
        return _empty_frame()
    return pd.concat(rows, ignore_index=True).astype(KPI_DTYPES)
