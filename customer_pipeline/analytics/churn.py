"""Churn: point-in-time features, forward-looking labels, a calibrated model, scoring with reasons.

Why it is built this way:

* **Point in time.** A snapshot "as of" day D sees only rows with a timestamp before D + 1 day
  (the whole of day D, nothing later). Features are computed from that view only, so a model
  trained on past snapshots sees exactly what it will see in production. Labels look only at
  (D, D + horizon]: the future the model must predict. The test suite checks both directions.
* **Only observed labels.** A snapshot whose label window runs past the end of the data gets no
  label (NaN), never a "did not churn" that merely means "we have not seen it yet".
* **Time-ordered evaluation.** The model is evaluated on the latest labelled snapshot and trained
  only on snapshots whose labels were already known on that date (as_of + horizon <= test as_of),
  never on a random split across time, so the reported metrics are what a deployed model gets.
* **Calibrated probabilities.** Account managers act on "60 % likely to leave"; histogram gradient
  boosting is wrapped in Platt (sigmoid) calibration so the numbers mean what they say. Sigmoid
  rather than isotonic: it is monotone and smooth, so the per-customer attributions below do not
  vanish on isotonic plateaus, and it is stable with a few hundred positives.
* **Reasons in words.** Every scored customer gets 1-3 factors that push *their* risk up most,
  measured by replacing a group of related features with the training population's typical value
  and seeing how far the probability falls, then rendered in an account manager's words.

Nothing here imports Dagster or reads the wall clock.
"""

from __future__ import annotations

import hashlib
import io
import json
import math
import pickle
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any, Iterable, Mapping

import numpy as np
import pandas as pd
import sklearn
from sklearn.calibration import CalibratedClassifierCV
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.metrics import average_precision_score, brier_score_loss, roc_auc_score
from sklearn.model_selection import StratifiedKFold
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OrdinalEncoder
from threadpoolctl import threadpool_limits

__all__ = [
    "SUBSCRIPTION_FEATURES",
    "ORDER_FEATURES",
    "RISK_TIERS",
    "ChurnModel",
    "ChurnModelError",
    "InsufficientLabelsError",
    "ModelFormatError",
    "build_churn_features",
    "build_churn_labels",
    "build_training_snapshots",
    "fit_churn_estimator",
    "ChurnEstimator",
    "classification_metrics",
    "train_churn_model",
    "score_customers",
    "risk_level",
    "model_to_bytes",
    "model_from_bytes",
]

DAY = pd.Timedelta(days=1)
# Order-only businesses: customers whose last purchase is older than this are already lapsed.
ORDERS_ACTIVE_WITHIN_DAYS = 365
MONTH_DAYS = 30.4375  # average month length, used to express day counts in months

ORDER_FEATURES = [
    "recency_days",
    "tenure_days",
    "frequency",
    "monetary",
    "orders_last_90d",
    "orders_prev_90d",
    "spend_last_90d",
    "spend_prev_90d",
    "spend_trend",
]
SUBSCRIPTION_FEATURES = [
    "days_since_last_login",
    "logins_last_30d",
    "logins_prev_30d",
    "login_trend",
    "features_used_last_30d",
    "open_tickets",
    "tickets_last_90d",
    "days_since_last_nps",
    "last_nps_score",
    "last_nps_state",
    "is_monthly_contract",
    "contract_months_remaining",
    "plan_age_months",
    "mrr",
    "mrr_change_pct_90d",
]
# Columns that can sit in a feature/label frame but are never model inputs.
NON_FEATURE_COLUMNS = {"customer_id", "as_of_date", "churned", "label_observed"}
TREND_CLIP = (-1.0, 3.0)  # trends are "pct change / 100": -1 = fell to zero, capped at +300 %

# (name, lower bound inclusive, upper bound exclusive, recommended action); probabilities exactly
# on a boundary go to the higher tier except 0.80, which is still "high" ("very high" is > 0.80).
RISK_TIERS = [
    ("very high", "Executive outreach within 48h with a retention offer (discount or contract "
                  "flexibility) and a named owner for every open issue"),
    ("high", "Customer success call this week: review goals, blockers and open tickets; agree "
             "a success plan"),
    ("medium", "Re-engagement: targeted feature-adoption campaign and a check-in from the account "
               "manager this month"),
    ("low", "Business as usual: keep nurturing, look for expansion and referral opportunities"),
]
_ACTIONS = dict(RISK_TIERS)


class ChurnModelError(Exception):
    """Base class for churn-model errors a caller may want to handle."""


class InsufficientLabelsError(ChurnModelError):
    """Too few labelled rows/churners to train or evaluate a model.

    Raised instead of fitting a meaningless model, so the caller can keep serving the last good
    model (and say so in its metadata) until enough history has accumulated.
    """


class ModelFormatError(ChurnModelError):
    """Serialized model bytes are not a churn model of a format this code can read."""


# --------------------------------------------------------------------------------------------
# point-in-time features
# --------------------------------------------------------------------------------------------


def _cutoff(as_of: date) -> pd.Timestamp:
    """First instant *not* visible in the as_of snapshot (as_of + 1 day, midnight)."""
    return pd.Timestamp(as_of).normalize() + DAY


def _safe_trend(last: pd.Series, prev: pd.Series) -> pd.Series:
    """Relative change last vs prev, defined everywhere: (last - prev) / max(|prev|, 1).

    The max(.., 1) floor avoids division by zero and keeps tiny denominators from exploding; the
    result is clipped to [-1, 3] (-100 % .. +300 %), and 0 when both windows are empty.
    """
    trend = (last - prev) / np.maximum(prev.abs(), 1.0)
    return trend.clip(*TREND_CLIP).astype(float)


def _order_features(orders: pd.DataFrame | None, cutoff: pd.Timestamp, as_of_ts: pd.Timestamp) -> pd.DataFrame:
    """Per-customer order features from orders strictly before ``cutoff``.

    recency_days: as_of minus the date of the last purchase; tenure_days: as_of minus the first
    purchase; frequency: distinct purchase orders; monetary: net spend (cancellations are negative
    amounts and count against it); orders/spend in the last 90 days vs the 90 days before.
    """
    cols = ["customer_id"] + ORDER_FEATURES
    if orders is None or len(orders) == 0:
        return pd.DataFrame(columns=cols)
    o = orders.loc[(orders["order_ts"] < cutoff) & orders["customer_id"].notna(),
                   ["order_id", "customer_id", "order_ts", "amount", "order_type"]]
    if o.empty:
        return pd.DataFrame(columns=cols)
    o = o.assign(customer_id=o["customer_id"].astype(str))
    purchases = o[o["order_type"] == "purchase"]
    last90 = cutoff - 90 * DAY
    prev90 = cutoff - 180 * DAY
    g = purchases.groupby("customer_id")
    out = pd.DataFrame({
        "last_ts": g["order_ts"].max(),
        "first_ts": g["order_ts"].min(),
        "frequency": g["order_id"].nunique().astype(float),
    })
    out["recency_days"] = (as_of_ts - out["last_ts"].dt.normalize()).dt.days.astype(float)
    out["tenure_days"] = (as_of_ts - out["first_ts"].dt.normalize()).dt.days.astype(float)
    out["monetary"] = o.groupby("customer_id")["amount"].sum()
    in_last = purchases[purchases["order_ts"] >= last90]
    in_prev = purchases[(purchases["order_ts"] >= prev90) & (purchases["order_ts"] < last90)]
    out["orders_last_90d"] = in_last.groupby("customer_id")["order_id"].nunique()
    out["orders_prev_90d"] = in_prev.groupby("customer_id")["order_id"].nunique()
    all_last = o[o["order_ts"] >= last90]
    all_prev = o[(o["order_ts"] >= prev90) & (o["order_ts"] < last90)]
    out["spend_last_90d"] = all_last.groupby("customer_id")["amount"].sum()
    out["spend_prev_90d"] = all_prev.groupby("customer_id")["amount"].sum()
    fill = ["monetary", "orders_last_90d", "orders_prev_90d", "spend_last_90d", "spend_prev_90d"]
    out[fill] = out[fill].fillna(0.0).astype(float)
    out["spend_trend"] = _safe_trend(out["spend_last_90d"], out["spend_prev_90d"])
    return out.reset_index()[cols]


def _active_subscriptions(subs: pd.DataFrame, as_of_ts: pd.Timestamp) -> pd.DataFrame:
    """Subscriptions in force on as_of: started on/before it, ending (first day without service)
    after it. A future end_date is treated exactly like NULL, so it cannot leak into features.
    One row per customer: the most recently started active subscription."""
    s = subs.assign(customer_id=subs["customer_id"].astype(str))
    active = s[(s["start_date"] <= as_of_ts) & (s["end_date"].isna() | (s["end_date"] > as_of_ts))]
    return (active.sort_values(["customer_id", "start_date", "subscription_id"], kind="stable")
            .groupby("customer_id", sort=False).tail(1))


def _months_to_next_boundary(start: pd.Series, as_of_ts: pd.Timestamp, term_months: pd.Series) -> pd.Series:
    """Months from as_of to the end of the current committed term (term = 1 or 12 months,
    renewing from start_date). Recomputed from start_date so no data-end column is read."""
    start = pd.to_datetime(start)
    month_diff = (as_of_ts.year - start.dt.year) * 12 + (as_of_ts.month - start.dt.month)
    passed = month_diff - (as_of_ts.day < start.dt.day).astype(int)  # anniversaries <= as_of
    boundary = (passed // term_months + 1) * term_months
    ends = [s + pd.DateOffset(months=int(b)) for s, b in zip(start, boundary)]
    ends = pd.DatetimeIndex(ends) if ends else pd.DatetimeIndex([])
    return pd.Series((ends - as_of_ts).days / MONTH_DAYS, index=start.index).astype(float)


def _subscription_features(tables: Mapping[str, pd.DataFrame], as_of_ts: pd.Timestamp, cutoff: pd.Timestamp) -> pd.DataFrame:
    subs = tables.get("subscriptions")
    if subs is None:
        raise KeyError("kind='subscription' needs a 'subscriptions' table")
    act = _active_subscriptions(subs, as_of_ts)
    f = pd.DataFrame({"customer_id": act["customer_id"].to_numpy()})
    idx = pd.Index(f["customer_id"])
    start = pd.Series(pd.to_datetime(act["start_date"]).to_numpy(), index=idx)
    age_days = (as_of_ts - start).dt.days.astype(float)
    f["plan_age_months"] = (age_days / MONTH_DAYS).to_numpy()

    # ---- usage (a table with only active days: a missing day means no activity)
    usage = tables.get("usage_daily")
    if usage is not None:
        u = usage.loc[(usage["usage_date"] < cutoff) & (usage["logins"] > 0),
                      ["customer_id", "usage_date", "logins", "features_used"]]
        u = u.assign(customer_id=u["customer_id"].astype(str))
        u = u[u["customer_id"].isin(idx)]
        last_login = u.groupby("customer_id")["usage_date"].max().reindex(idx)
        last30 = u[u["usage_date"] >= cutoff - 30 * DAY]
        prev30 = u[(u["usage_date"] >= cutoff - 60 * DAY) & (u["usage_date"] < cutoff - 30 * DAY)]
        l30 = last30.groupby("customer_id")["logins"].sum().reindex(idx).fillna(0).astype(float)
        p30 = prev30.groupby("customer_id")["logins"].sum().reindex(idx).fillna(0).astype(float)
        feat = last30.groupby("customer_id")["features_used"].mean().reindex(idx).fillna(0).astype(float)
        # never logged in: "no login since the subscription started"
        since = (as_of_ts - last_login.dt.normalize()).dt.days.astype(float)
        f["days_since_last_login"] = since.fillna(age_days).to_numpy()
        f["logins_last_30d"] = l30.to_numpy()
        f["logins_prev_30d"] = p30.to_numpy()
        trend = _safe_trend(l30, p30)
        # a trend over a window the customer was not yet subscribed for is meaningless
        f["login_trend"] = trend.where(age_days >= 60).to_numpy()
        f["features_used_last_30d"] = feat.to_numpy()
    else:
        for c in ["days_since_last_login", "logins_last_30d", "logins_prev_30d", "login_trend",
                  "features_used_last_30d"]:
            f[c] = np.nan

    # ---- support tickets: open = opened by the cutoff and not closed before it (a closed_at
    # in the future means "still open" on as_of). No ticket table at all -> NaN (= no data),
    # a table with no tickets for this customer -> 0 (= real information: no friction).
    tickets = tables.get("support_tickets")
    if tickets is not None:
        t = tickets.loc[tickets["opened_at"] < cutoff, ["customer_id", "opened_at", "closed_at"]]
        t = t.assign(customer_id=t["customer_id"].astype(str))
        is_open = t["closed_at"].isna() | (t["closed_at"] >= cutoff)
        f["open_tickets"] = t[is_open].groupby("customer_id").size().reindex(idx).fillna(0).astype(float).to_numpy()
        recent = t[t["opened_at"] >= cutoff - 90 * DAY]
        f["tickets_last_90d"] = recent.groupby("customer_id").size().reindex(idx).fillna(0).astype(float).to_numpy()
    else:
        f["open_tickets"] = np.nan
        f["tickets_last_90d"] = np.nan

    # ---- NPS: the last answer, kept as a score *and* a state; 'none' when never answered, and
    # the score left NaN rather than imputed as if the customer had answered.
    nps = tables.get("nps_responses")
    if nps is not None:
        r = nps.loc[nps["responded_at"] < cutoff, ["customer_id", "responded_at", "score"]]
        r = r.assign(customer_id=r["customer_id"].astype(str))
        last = (r.sort_values(["customer_id", "responded_at"], kind="stable")
                .groupby("customer_id").tail(1).set_index("customer_id").reindex(idx))
        f["days_since_last_nps"] = (as_of_ts - last["responded_at"].dt.normalize()).dt.days.astype(float).to_numpy()
        score = last["score"].astype(float)
        f["last_nps_score"] = score.to_numpy()
        f["last_nps_state"] = np.select([score >= 9, score >= 7, score >= 0],
                                        ["promoter", "passive", "detractor"], "none")
    else:
        f["days_since_last_nps"] = np.nan
        f["last_nps_score"] = np.nan
        f["last_nps_state"] = "none"

    # ---- contract
    contract = act["contract_type"].astype(str).str.lower().to_numpy()
    f["is_monthly_contract"] = (contract != "annual").astype(float)
    term = pd.Series(np.where(contract == "annual", 12, 1), index=idx)
    f["contract_months_remaining"] = _months_to_next_boundary(start, as_of_ts, term).to_numpy()

    # ---- MRR in force now and 90 days ago, from the change log (or the start MRR)
    changes = tables.get("mrr_changes")
    if changes is not None and len(changes):
        ch = changes[["subscription_id", "effective_date", "mrr_after"]]
        ch = ch.sort_values(["subscription_id", "effective_date"], kind="stable")
        sub_ids = pd.Index(act["subscription_id"])

        def mrr_at(instant: pd.Timestamp) -> pd.Series:
            c = ch[ch["effective_date"] < instant]
            return c.groupby("subscription_id")["mrr_after"].last().reindex(sub_ids)

        now = mrr_at(cutoff)
        then = mrr_at(cutoff - 90 * DAY)
        f["mrr"] = now.fillna(pd.Series(act["mrr"].to_numpy(), index=sub_ids)).to_numpy(dtype=float)
        chg = (now - then) / then.where(then > 0)
        f["mrr_change_pct_90d"] = chg.to_numpy(dtype=float)
    else:
        f["mrr"] = act["mrr"].to_numpy(dtype=float)
        f["mrr_change_pct_90d"] = np.nan
    return f


def build_churn_features(tables: Mapping[str, pd.DataFrame], as_of: date, kind: str = "subscription") -> pd.DataFrame:
    """One row per customer in the as_of population, features from data visible on as_of only.

    kind='subscription': customers with a subscription in force on as_of (already churned
    customers are not scored); columns = customer_id, SUBSCRIPTION_FEATURES, ORDER_FEATURES.
    kind='orders': every customer with at least one purchase before the cutoff; columns =
    customer_id, ORDER_FEATURES.

    Visibility: a row is used only if its timestamp is < as_of + 1 day (usage_date, opened_at,
    closed_at, responded_at, effective_date, order_ts). A subscription's future end_date is never
    read beyond "is it after as_of". NaN means "no data" (e.g. no ticket table, never answered
    NPS, trend over a window before the subscription existed); HistGradientBoosting handles NaN
    natively, so nothing is imputed as if it had been observed.
    """
    if kind not in ("subscription", "orders"):
        raise ValueError(f"kind must be 'subscription' or 'orders', got {kind!r}")
    as_of_ts = pd.Timestamp(as_of).normalize()
    cutoff = _cutoff(as_of)
    orders_f = _order_features(tables.get("orders"), cutoff, as_of_ts)
    if kind == "orders":
        # A customer silent for over a year has already lapsed: not scored (and an easy positive
        # that would flatter the metrics).
        out = orders_f[orders_f["recency_days"] <= ORDERS_ACTIVE_WITHIN_DAYS]
    else:
        sub_f = _subscription_features(tables, as_of_ts, cutoff)
        out = sub_f.merge(orders_f, on="customer_id", how="left")
        for c in ["frequency", "monetary", "orders_last_90d", "orders_prev_90d", "spend_last_90d",
                  "spend_prev_90d", "spend_trend"]:
            out[c] = out[c].astype(float).fillna(0.0)
        out = out[["customer_id"] + SUBSCRIPTION_FEATURES + ORDER_FEATURES]
    out = out.sort_values("customer_id", kind="stable").reset_index(drop=True)
    for c in out.columns:
        if c not in ("customer_id", "last_nps_state"):
            out[c] = out[c].astype(float)
    out["customer_id"] = out["customer_id"].astype(str)
    return out


# --------------------------------------------------------------------------------------------
# labels
# --------------------------------------------------------------------------------------------


def build_churn_labels(
    tables: Mapping[str, pd.DataFrame],
    as_of: date,
    kind: str = "subscription",
    horizon_days: int = 90,
    data_end: date | None = None,
) -> pd.DataFrame:
    """Did each as_of customer churn within (as_of, as_of + horizon_days]?

    Returns customer_id, churned (1.0 / 0.0, NaN when the window is not fully observed),
    label_observed. The population is the same as build_churn_features' (customers already
    churned on as_of are not scored). Only data *after* as_of decides the label:
    subscription: the subscription in force ends (first day without service) on a day in
    (as_of, as_of + horizon]; orders: no purchase with timestamp in [as_of + 1 day,
    as_of + horizon + 1 day). ``data_end`` is the last day the data covers; it is required,
    because "no churn seen" only means "retained" if the window is observed.
    """
    if data_end is None:
        raise ValueError("data_end is required: labels exist only where the whole window is observed")
    if kind not in ("subscription", "orders"):
        raise ValueError(f"kind must be 'subscription' or 'orders', got {kind!r}")
    as_of_ts = pd.Timestamp(as_of).normalize()
    cutoff = _cutoff(as_of)
    horizon_end = as_of_ts + horizon_days * DAY  # last day of the window
    observed = horizon_end <= pd.Timestamp(data_end).normalize()
    if kind == "subscription":
        act = _active_subscriptions(tables["subscriptions"], as_of_ts)
        # end of service across all the customer's subscriptions in force on as_of
        subs = tables["subscriptions"].assign(customer_id=tables["subscriptions"]["customer_id"].astype(str))
        in_force = subs[(subs["start_date"] <= as_of_ts) & (subs["end_date"].isna() | (subs["end_date"] > as_of_ts))]
        end = in_force["end_date"].fillna(pd.Timestamp.max)
        last_end = end.groupby(in_force["customer_id"]).max().reindex(act["customer_id"])
        churned = (last_end <= horizon_end).astype(float).to_numpy()
        ids = act["customer_id"].to_numpy()
    else:
        o = tables["orders"]
        o = o[o["customer_id"].notna()]
        o = o.assign(customer_id=o["customer_id"].astype(str))
        purchases = o[o["order_type"] == "purchase"]
        seen = purchases[purchases["order_ts"] < cutoff]
        last = seen.groupby("customer_id")["order_ts"].max()
        # same population as build_churn_features: bought within the last ORDERS_ACTIVE_WITHIN_DAYS
        recent = last[last.dt.normalize() >= as_of_ts - ORDERS_ACTIVE_WITHIN_DAYS * DAY]
        ids = np.sort(recent.index.to_numpy())
        window = purchases[(purchases["order_ts"] >= cutoff) & (purchases["order_ts"] < horizon_end + DAY)]
        bought = pd.Index(ids).isin(window["customer_id"].unique())
        churned = (~bought).astype(float)
    out = pd.DataFrame({"customer_id": ids.astype(str), "churned": churned})
    if not observed:
        out["churned"] = np.nan
    out["label_observed"] = bool(observed)
    return out.sort_values("customer_id", kind="stable").reset_index(drop=True)


def build_training_snapshots(
    tables: Mapping[str, pd.DataFrame],
    as_of_dates: Iterable[date],
    kind: str = "subscription",
    horizon_days: int = 90,
    data_end: date | None = None,
) -> dict[date, pd.DataFrame]:
    """Features joined with labels for each as_of date: the input train_churn_model expects."""
    out = {}
    for d in as_of_dates:
        f = build_churn_features(tables, d, kind)
        lab = build_churn_labels(tables, d, kind, horizon_days, data_end)
        out[d] = f.merge(lab[["customer_id", "churned"]], on="customer_id", how="left")
    return out


# --------------------------------------------------------------------------------------------
# model building (shared by the pipeline and bench/churn_telco.py)
# --------------------------------------------------------------------------------------------

DEFAULT_PARAMS: dict[str, Any] = {
    "learning_rate": 0.05,
    "max_iter": 150,
    "max_leaf_nodes": 15,
    "min_samples_leaf": 40,
    "l2_regularization": 1.0,
    "calibration_folds": 3,
    "seed": 0,
    # OpenMP threads for fitting/predicting. 1 by default: the per-customer frames are small
    # (1e3-1e5 rows), and on a shared machine libgomp's spinning threads were measured ~30x
    # slower than one thread when the cores are busy. Results do not depend on it.
    "n_threads": 1,
    # Rows a single fit sees at most: a stratified, seeded sample beyond that. Boosting gains
    # little past ~10^5 rows, while fit time grows linearly; this keeps a nightly run bounded
    # at millions of customers. n_train still reports every labelled row.
    "max_train_rows": 60_000,
}


def _cap_rows(frame: pd.DataFrame, label_column: str, max_rows: int, seed: int) -> pd.DataFrame:
    """A seeded sample of at most ``max_rows`` rows keeping each class's share (deterministic)."""
    if max_rows is None or len(frame) <= max_rows:
        return frame
    share = max_rows / len(frame)
    parts = [g.sample(n=max(1, int(round(len(g) * share))), random_state=seed)
             for _, g in frame.groupby(frame[label_column].astype(int), sort=True)]
    return pd.concat(parts).sort_index()


def _categorical_columns(X: pd.DataFrame) -> list[str]:
    return [c for c in X.columns
            if isinstance(X[c].dtype, pd.CategoricalDtype) or X[c].dtype == object
            or pd.api.types.is_string_dtype(X[c]) or pd.api.types.is_bool_dtype(X[c])]


def _prepare_X(X: pd.DataFrame, categorical: list[str]) -> pd.DataFrame:
    """Categoricals as plain strings (missing stays NaN), numerics as float."""
    X = X.copy()
    for c in X.columns:
        if c in categorical:
            s = X[c]
            X[c] = s.astype(str).astype(object).where(s.notna(), np.nan)
        else:
            X[c] = pd.to_numeric(X[c], errors="raise").astype(float)
    return X


@dataclass
class ChurnEstimator:
    """A fitted calibrated classifier plus the input columns it expects (and which of them are
    categorical), so prediction applies exactly the preparation used in training."""

    model: CalibratedClassifierCV
    columns: list[str]
    categorical: list[str]
    n_threads: int | None = 1

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        """Probability of churn (class 1) per row of X (extra columns are ignored)."""
        prepared = _prepare_X(X[self.columns], self.categorical)
        with threadpool_limits(limits=self.n_threads, user_api="openmp"):
            return np.clip(self.model.predict_proba(prepared)[:, 1], 0.0, 1.0)


def fit_churn_estimator(X: pd.DataFrame, y, params: Mapping[str, Any] | None = None) -> ChurnEstimator:
    """Fit the churn classifier: ordinal-encoded categoricals + numerics -> HistGradientBoosting,
    wrapped in sigmoid calibration (``calibration_folds``-fold stratified CV, fixed seed).

    Object/category/bool columns are treated as categorical (native HGB categorical splits);
    unseen categories at prediction time become missing. Deterministic for fixed params.
    """
    p = {**DEFAULT_PARAMS, **(params or {})}
    y = np.asarray(y).astype(int)
    if len(np.unique(y)) < 2:
        raise InsufficientLabelsError("training labels contain a single class")
    cat = _categorical_columns(X)
    num = [c for c in X.columns if c not in cat]
    X = _prepare_X(X, cat)
    pre = ColumnTransformer(
        [("cat", OrdinalEncoder(handle_unknown="use_encoded_value", unknown_value=np.nan,
                                encoded_missing_value=np.nan, max_categories=200), cat),
         ("num", "passthrough", num)],
        verbose_feature_names_out=False,
    )
    hgb = HistGradientBoostingClassifier(
        learning_rate=p["learning_rate"], max_iter=p["max_iter"], max_leaf_nodes=p["max_leaf_nodes"],
        min_samples_leaf=p["min_samples_leaf"], l2_regularization=p["l2_regularization"],
        categorical_features=list(range(len(cat))), early_stopping=False, random_state=p["seed"],
    )
    pipe = Pipeline([("pre", pre), ("hgb", hgb)])
    n_pos = int(y.sum())
    folds = max(2, min(int(p["calibration_folds"]), n_pos, len(y) - n_pos))
    cv = StratifiedKFold(n_splits=folds, shuffle=True, random_state=p["seed"])
    model = CalibratedClassifierCV(pipe, method="sigmoid", cv=cv)
    with threadpool_limits(limits=p["n_threads"], user_api="openmp"):
        model.fit(X, y)
    return ChurnEstimator(model=model, columns=list(X.columns), categorical=cat, n_threads=p["n_threads"])


def classification_metrics(y_true, p) -> dict[str, float]:
    """ROC-AUC, PR-AUC (average precision), Brier, positive_rate, lift in the top decile."""
    y = np.asarray(y_true).astype(int)
    p = np.asarray(p, dtype=float)
    base = float(y.mean())
    k = max(1, int(math.ceil(0.1 * len(y))))
    top = np.argsort(-p, kind="stable")[:k]
    return {
        "roc_auc": float(roc_auc_score(y, p)),
        "pr_auc": float(average_precision_score(y, p)),
        "brier": float(brier_score_loss(y, p)),
        "positive_rate": base,
        "lift_top_decile": float(y[top].mean() / base) if base > 0 else float("nan"),
    }


# --------------------------------------------------------------------------------------------
# the model object
# --------------------------------------------------------------------------------------------

MODEL_FORMAT_VERSION = 1


@dataclass
class ChurnModel:
    """A trained churn model with everything needed to score and to explain it.

    estimator: the calibrated classifier; features: model input columns in order; reference:
    per-feature typical value (training median / mode) used for attributions; metrics: holdout
    metrics (see train_churn_model); model_version: deterministic id.
    """

    estimator: Any
    features: list[str]
    categorical: list[str]
    reference: dict[str, Any]
    metrics: dict[str, Any]
    model_version: str
    as_of: date | None
    kind: str
    params: dict[str, Any]
    training_window: tuple[date | None, date | None]
    horizon_days: int = 90
    sklearn_version: str = field(default_factory=lambda: sklearn.__version__)

    def predict_proba(self, features: pd.DataFrame) -> np.ndarray:
        missing = [c for c in self.features if c not in features.columns]
        if missing:
            raise KeyError(f"feature columns missing for scoring: {missing}")
        return self.estimator.predict_proba(features[self.features])

    def to_bytes(self) -> bytes:
        return model_to_bytes(self)

    @staticmethod
    def from_bytes(data: bytes) -> "ChurnModel":
        return model_from_bytes(data)


def model_to_bytes(model: ChurnModel) -> bytes:
    """Pickle the model inside a small envelope that records the format and sklearn versions."""
    buf = io.BytesIO()
    pickle.dump({"format": "customer_pipeline.churn_model", "format_version": MODEL_FORMAT_VERSION,
                 "model_version": model.model_version, "sklearn_version": sklearn.__version__,
                 "model": model}, buf, protocol=pickle.HIGHEST_PROTOCOL)
    return buf.getvalue()


def model_from_bytes(data: bytes) -> ChurnModel:
    """Inverse of model_to_bytes. Refuses other formats and models pickled by another
    scikit-learn version (unpickling across versions is unsupported by sklearn and can give
    silently wrong predictions); retrain instead. Only load bytes you wrote yourself: pickle."""
    try:
        env = pickle.loads(data)
    except Exception as exc:  # noqa: BLE001 - anything unreadable is a format error here
        raise ModelFormatError(f"cannot unpickle churn model: {exc}") from exc
    if not isinstance(env, dict) or env.get("format") != "customer_pipeline.churn_model":
        raise ModelFormatError("bytes are not a customer_pipeline churn model")
    if env.get("format_version") != MODEL_FORMAT_VERSION:
        raise ModelFormatError(f"unsupported churn model format {env.get('format_version')}")
    if env.get("sklearn_version") != sklearn.__version__:
        raise ModelFormatError(
            f"model pickled with scikit-learn {env.get('sklearn_version')}, running {sklearn.__version__}")
    return env["model"]


def _frame_digest(frames: Iterable[pd.DataFrame]) -> str:
    h = hashlib.sha256()
    for f in frames:
        h.update(json.dumps(list(map(str, f.columns))).encode())
        h.update(pd.util.hash_pandas_object(f, index=False).to_numpy().tobytes())
    return h.hexdigest()


def train_churn_model(
    snapshots: Mapping[date, pd.DataFrame],
    *,
    kind: str = "subscription",
    horizon_days: int = 90,
    as_of: date | None = None,
    params: Mapping[str, Any] | None = None,
    min_positives: int = 20,
    refit_on_all: bool = True,
    label_column: str = "churned",
) -> ChurnModel:
    """Train and evaluate a churn model on point-in-time snapshots.

    ``snapshots`` maps as_of date -> frame with customer_id, feature columns and ``churned``
    (NaN = unlabelled; such rows are ignored). Evaluation: test = the latest snapshot with labels;
    train = snapshots whose labels were known by then (as_of + horizon_days <= test as_of), so
    no training label looks past the test date. Metrics come from that holdout. The served
    model is then refit on every labelled snapshot (``refit_on_all``) so it uses the freshest
    labels; ``training_window`` describes the served model, ``metrics`` the evaluation.

    Raises InsufficientLabelsError when the train or test set has fewer than ``min_positives``
    churners (test: fewer than min(min_positives, 5)), or only one class, or no usable earlier
    snapshot: the caller keeps its last good model.
    """
    p = {**DEFAULT_PARAMS, **(params or {})}
    labelled = {}
    for d, f in snapshots.items():
        if label_column not in f.columns:
            continue
        lab = f[f[label_column].notna()]
        if len(lab):
            labelled[pd.Timestamp(d).date()] = lab
    if not labelled:
        raise InsufficientLabelsError("no labelled snapshot: the label windows are not observed yet")
    test_as_of = max(labelled)
    train_dates = sorted(d for d in labelled if d + timedelta(days=horizon_days) <= test_as_of)
    if not train_dates:
        raise InsufficientLabelsError(
            f"no snapshot whose {horizon_days}-day labels were known on the test date {test_as_of}")
    first = labelled[test_as_of]
    features = [c for c in first.columns if c not in NON_FEATURE_COLUMNS]
    train = pd.concat([labelled[d][features + [label_column]] for d in train_dates], ignore_index=True)
    # A feature with no observed value in the training window (e.g. a 90-day trend in the first
    # months of a business) carries no information, and scikit-learn 1.9's HistGradientBoosting
    # crashes on an all-NaN column while binning ("window shape cannot be larger than input array
    # shape"), so it is left out of this model and the omission is recorded.
    all_missing = [c for c in features if train[c].isna().all()]
    features = [c for c in features if c not in all_missing]
    train = train[features + [label_column]]
    test = labelled[test_as_of][features + [label_column]]
    y_train = train[label_column].astype(int).to_numpy()
    y_test = test[label_column].astype(int).to_numpy()
    if len(np.unique(y_train)) < 2 or y_train.sum() < min_positives:
        raise InsufficientLabelsError(
            f"training set has {int(y_train.sum())} churners of {len(y_train)} rows (need >= {min_positives})")
    if len(np.unique(y_test)) < 2 or y_test.sum() < min(min_positives, 5):
        raise InsufficientLabelsError(
            f"test snapshot {test_as_of} has {int(y_test.sum())} churners of {len(y_test)} rows")

    train_fit = _cap_rows(train, label_column, p["max_train_rows"], p["seed"])
    est = fit_churn_estimator(train_fit[features], train_fit[label_column].astype(int).to_numpy(), p)
    p_test = est.predict_proba(test[features])
    metrics = classification_metrics(y_test, p_test)
    metrics.update({
        "n_train": int(len(train)), "n_test": int(len(test)), "n_train_fitted": int(len(train_fit)),
        "n_train_positives": int(y_train.sum()), "n_test_positives": int(y_test.sum()),
        "train_window_start": train_dates[0].isoformat(), "train_window_end": train_dates[-1].isoformat(),
        "test_as_of": test_as_of.isoformat(), "features": list(features),
        "calibration": "sigmoid", "horizon_days": int(horizon_days),
        "features_without_data": all_missing,
    })

    all_dates = sorted(labelled)
    if refit_on_all:
        final_frames = [labelled[d][features + [label_column]] for d in all_dates]
        final = _cap_rows(pd.concat(final_frames, ignore_index=True), label_column, p["max_train_rows"], p["seed"])
        est = fit_churn_estimator(final[features], final[label_column].astype(int).to_numpy(), p)
        window = (all_dates[0], all_dates[-1])
    else:
        final = train
        window = (train_dates[0], train_dates[-1])
    metrics["served_model_window_start"] = window[0].isoformat()
    metrics["served_model_window_end"] = window[1].isoformat()

    cat = est.categorical
    reference: dict[str, Any] = {}
    for c in features:
        col = final[c]
        if c in cat:
            mode = col.dropna().astype(str).mode()
            reference[c] = mode.iloc[0] if len(mode) else np.nan
        else:
            reference[c] = float(pd.to_numeric(col).median()) if col.notna().any() else np.nan

    model_as_of = as_of or max(pd.Timestamp(d).date() for d in snapshots)
    digest = hashlib.sha256()
    version_params = {k: v for k, v in p.items() if k != "n_threads"}  # threads do not change results
    digest.update(json.dumps({"params": version_params, "kind": kind, "horizon": horizon_days, "features": features,
                              "refit_on_all": refit_on_all, "sklearn": sklearn.__version__},
                             sort_keys=True, default=str).encode())
    digest.update(_frame_digest([labelled[d] for d in all_dates]).encode())
    version = f"churn-{kind}-{model_as_of:%Y%m%d}-{digest.hexdigest()[:12]}"
    return ChurnModel(estimator=est, features=list(features), categorical=list(cat), reference=reference,
                      metrics=metrics, model_version=version, as_of=model_as_of, kind=kind, params=p,
                      training_window=window, horizon_days=int(horizon_days))


# --------------------------------------------------------------------------------------------
# scoring and reasons
# --------------------------------------------------------------------------------------------


def risk_level(p) -> np.ndarray:
    """Tier per probability: very high > 0.80; high 0.60-0.80; medium 0.40-0.60 (0.40 included,
    0.60 goes to high); low < 0.40."""
    p = np.asarray(p, dtype=float)
    return np.select([p > 0.80, p >= 0.60, p >= 0.40], ["very high", "high", "medium"], "low")


# Groups of related features are attributed together (changing "last NPS score" without its
# state would be a customer that cannot exist), and each group has one sentence.
_GROUPS: list[tuple[str, list[str]]] = [
    ("login_trend", ["login_trend", "logins_prev_30d"]),
    ("logins", ["logins_last_30d"]),
    ("last_login", ["days_since_last_login"]),
    ("features", ["features_used_last_30d"]),
    ("open_tickets", ["open_tickets"]),
    ("tickets_90d", ["tickets_last_90d"]),
    ("nps", ["last_nps_score", "last_nps_state", "days_since_last_nps"]),
    ("contract", ["is_monthly_contract", "contract_months_remaining"]),
    ("tenure", ["plan_age_months"]),
    ("mrr", ["mrr"]),
    ("mrr_change", ["mrr_change_pct_90d"]),
    ("recency", ["recency_days"]),
    ("order_tenure", ["tenure_days"]),
    ("frequency", ["frequency"]),
    ("monetary", ["monetary"]),
    ("orders_90d", ["orders_last_90d", "orders_prev_90d"]),
    ("spend_trend", ["spend_trend", "spend_last_90d", "spend_prev_90d"]),
]


def _n(v: Any) -> float:
    try:
        return float(v)
    except (TypeError, ValueError):
        return float("nan")


def _plural(n: float, word: str) -> str:
    n = int(round(n))
    return f"{n} {word}" + ("" if n == 1 else "s")


def _pct_sentence(trend: float, what: str, window: str) -> str:
    if not np.isfinite(trend):
        return f"{what}: too little history for a trend"
    if trend <= -0.005:
        return f"{what} down {abs(trend) * 100:.0f} % vs {window}"
    if trend >= 0.005:
        cap = "+" if trend >= TREND_CLIP[1] else ""
        return f"{what} up {trend * 100:.0f}{cap} % vs {window}"
    return f"{what} flat vs {window}"


def _describe(group: str, row: Mapping[str, Any]) -> str:
    """One account-manager sentence for a feature group, from this customer's values."""
    g = lambda c: _n(row.get(c))  # noqa: E731
    if group == "login_trend":
        t, last, prev = g("login_trend"), g("logins_last_30d"), g("logins_prev_30d")
        if not np.isfinite(t):
            return "new customer: under 60 days of login history"
        return _pct_sentence(t, "logins", "previous 30 days") + f" ({prev:.0f} -> {last:.0f})"
    if group == "logins":
        v = g("logins_last_30d")
        return "no logins in the last 30 days" if v == 0 else f"{_plural(v, 'login')} in the last 30 days"
    if group == "last_login":
        return f"no login for {g('days_since_last_login'):.0f} days"
    if group == "features":
        return f"uses {g('features_used_last_30d'):.1f} features per active day (last 30 days)"
    if group == "open_tickets":
        v = g("open_tickets")
        return "no open support tickets" if v == 0 else f"{_plural(v, 'open support ticket')}"
    if group == "tickets_90d":
        return f"{_plural(g('tickets_last_90d'), 'support ticket')} in the last 90 days"
    if group == "nps":
        state = row.get("last_nps_state")
        if state in (None, "none") or (isinstance(state, float) and np.isnan(state)):
            return "never answered the NPS survey"
        return f"last NPS answer {g('last_nps_score'):.0f} ({state}), {g('days_since_last_nps'):.0f} days ago"
    if group == "contract":
        if g("is_monthly_contract") == 1:
            return "month-to-month contract"
        return f"annual contract, renewal in {g('contract_months_remaining'):.1f} months"
    if group == "tenure":
        return f"customer for {g('plan_age_months'):.0f} months"
    if group == "mrr":
        return f"MRR {g('mrr'):,.0f}"
    if group == "mrr_change":
        v = g("mrr_change_pct_90d")
        return "MRR: less than 90 days of history" if not np.isfinite(v) else _pct_sentence(v, "MRR", "90 days ago")
    if group == "recency":
        return f"last purchase {g('recency_days'):.0f} days ago"
    if group == "order_tenure":
        return f"first purchase {g('tenure_days'):.0f} days ago"
    if group == "frequency":
        return f"{_plural(g('frequency'), 'purchase')} in total"
    if group == "monetary":
        return f"total spend {g('monetary'):,.0f}"
    if group == "orders_90d":
        return f"{_plural(g('orders_last_90d'), 'order')} in the last 90 days vs {g('orders_prev_90d'):.0f} in the 90 days before"
    if group == "spend_trend":
        return _pct_sentence(g("spend_trend"), "spend", "previous 90 days")
    # a feature this module does not know (e.g. Telco columns): name = value
    col = group
    v = row.get(col)
    if isinstance(v, (float, np.floating)) and np.isfinite(v) and float(v).is_integer():
        v = int(v)
    elif isinstance(v, (float, np.floating)):
        v = "unknown" if not np.isfinite(v) else f"{v:,.2f}"
    return f"{col} = {v}"


def _groups_for(features: list[str]) -> list[tuple[str, list[str]]]:
    seen: set[str] = set()
    out = []
    for name, cols in _GROUPS:
        present = [c for c in cols if c in features]
        if present:
            out.append((name, present))
            seen.update(present)
    out.extend((c, [c]) for c in features if c not in seen)
    return out


def score_customers(model: ChurnModel, features: pd.DataFrame, *, max_reasons: int = 3,
                    min_contribution: float = 0.005) -> pd.DataFrame:
    """Score customers: churn_probability, risk_level, recommended_action, top_risk_factors.

    Reasons: for each feature group, set it to the training population's typical value
    (median, or mode for categoricals) and measure how much this customer's probability drops;
    the groups with the largest drops (>= ``min_contribution``) are the customer's risk factors,
    at most ``max_reasons``. When nothing pushes the risk up (a very safe customer), the single
    group with the largest effect is named anyway, so every customer has 1-3 reasons.
    top_risk_factors is the reasons joined with '; ' (a plain string keeps the table portable).
    """
    if not 1 <= max_reasons <= 3:
        raise ValueError("max_reasons must be 1..3")
    X = features[model.features].reset_index(drop=True)
    if X.empty:
        cols = ["customer_id", "churn_probability", "risk_level", "recommended_action", "top_risk_factors",
                "model_version"]
        return pd.DataFrame({c: pd.Series(dtype=float if c == "churn_probability" else object) for c in cols})
    p = model.predict_proba(X)
    groups = _groups_for(model.features)
    contrib = np.zeros((len(X), len(groups)))
    for j, (_, cols) in enumerate(groups):
        Xr = X.copy()
        for c in cols:
            Xr[c] = model.reference.get(c, np.nan)
        contrib[:, j] = p - model.predict_proba(Xr)
    order = np.argsort(-contrib, axis=1, kind="stable")
    records = X.to_dict("records")
    reasons = []
    for i in range(len(X)):
        picked = [j for j in order[i, :max_reasons] if contrib[i, j] >= min_contribution]
        if not picked:
            picked = [int(np.argmax(np.abs(contrib[i])))]
        reasons.append("; ".join(_describe(groups[j][0], records[i]) for j in picked))
    tiers = risk_level(p)
    out = pd.DataFrame({
        "customer_id": features["customer_id"].astype(str).to_numpy(),
        "churn_probability": p,
        "risk_level": tiers,
        "recommended_action": [_ACTIONS[t] for t in tiers],
        "top_risk_factors": reasons,
        "model_version": model.model_version,
    })
    if "as_of_date" in features.columns:
        out.insert(0, "as_of_date", features["as_of_date"].to_numpy())
    return out
