"""Shifted-Beta-Geometric (sBG) retention model, Fader & Hardie (2007).

Pure core: no Dagster import.

Why: for contractual (subscription) customers, observed retention rates rise with tenure
because the least loyal leave first. The sBG model explains that with a customer-level
churn probability theta ~ Beta(alpha, beta): with two parameters fitted by maximum likelihood
on a few periods of a survival curve it projects later survival far better than a straight
line or a constant churn rate ("How to project customer retention", J. Interactive Marketing
21(1), 2007).

    P(T = t)  = B(alpha + 1, beta + t - 1) / B(alpha, beta)      churn in period t (t >= 1)
    S(t)      = B(alpha, beta + t) / B(alpha, beta)               still active after period t
    r(t)      = (beta + t - 1) / (alpha + beta + t - 1)           retention from t-1 to t

Likelihood of a survival curve n_0 >= n_1 >= ... >= n_k (counts still active at the end of
each period, n_0 = the starting cohort): sum_t (n_{t-1} - n_t) log P(T = t) + n_k log S(k).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import NamedTuple, Sequence

import numpy as np
import pandas as pd
from scipy.optimize import minimize
from scipy.special import betaln

__all__ = [
    "SbgFit",
    "CohortSbgResult",
    "sbg_survival",
    "sbg_churn_probability",
    "sbg_retention",
    "sbg_log_likelihood",
    "fit_sbg",
    "survival_counts_from_churn_periods",
    "fit_cohort_sbg",
]


@dataclass(frozen=True)
class SbgFit:
    """Fitted sBG model. ``n_periods`` is the number of observed periods after period 0."""

    alpha: float
    beta: float
    log_likelihood: float
    n_periods: int
    n_customers: float
    converged: bool
    message: str = ""

    def survival(self, periods: Sequence[int] | np.ndarray) -> np.ndarray:
        """Projected share of the starting cohort still active after each period."""
        return sbg_survival(self.alpha, self.beta, periods)

    def retention(self, periods: Sequence[int] | np.ndarray) -> np.ndarray:
        """Projected period-on-period retention rate r(t) = S(t) / S(t-1)."""
        return sbg_retention(self.alpha, self.beta, periods)


def _log_survival(alpha: float, beta: float, t_max: int) -> np.ndarray:
    """log S(t) for t = 0..t_max by the product form S(t) = prod_{i<t} (beta + i) / (alpha + beta + i).

    Equal to betaln(alpha, beta + t) - betaln(alpha, beta), but stable when alpha and beta are
    huge (homogeneous churn, the geometric limit), where the difference of two enormous betaln
    values loses every digit and gave "survival" above 1.
    """
    i = np.arange(int(t_max), dtype=float)
    steps = np.log1p(-alpha / (alpha + beta + i))
    return np.concatenate([[0.0], np.cumsum(steps)])


def sbg_survival(alpha: float, beta: float, periods: Sequence[int] | np.ndarray) -> np.ndarray:
    """S(t) = B(alpha, beta + t) / B(alpha, beta); S(0) = 1 (t whole periods)."""
    t = np.asarray(periods, dtype=float)
    if t.size == 0:
        return t.copy()
    ti = np.rint(t).astype(int)
    if np.any(ti < 0) or not np.allclose(ti, t):
        return np.exp(betaln(alpha, beta + t) - betaln(alpha, beta))  # non-integer periods
    return np.exp(_log_survival(alpha, beta, int(ti.max()))[ti])


def sbg_churn_probability(alpha: float, beta: float, periods: Sequence[int] | np.ndarray) -> np.ndarray:
    """P(T = t) = B(alpha + 1, beta + t - 1) / B(alpha, beta) = S(t - 1) alpha / (alpha + beta + t - 1), t >= 1."""
    t = np.asarray(periods, dtype=float)
    return sbg_survival(alpha, beta, t - 1.0) * alpha / (alpha + beta + t - 1.0)


def sbg_retention(alpha: float, beta: float, periods: Sequence[int] | np.ndarray) -> np.ndarray:
    """r(t) = (beta + t - 1) / (alpha + beta + t - 1) for t >= 1."""
    t = np.asarray(periods, dtype=float)
    return (beta + t - 1.0) / (alpha + beta + t - 1.0)


def _validate_survivors(survivors: Sequence[float]) -> np.ndarray:
    n = np.asarray(survivors, dtype=float)
    if n.ndim != 1 or n.size < 2:
        raise ValueError("need survivor counts for period 0 and at least one later period")
    if not np.all(np.isfinite(n)) or np.any(n < 0):
        raise ValueError("survivor counts must be finite and >= 0")
    if n[0] <= 0:
        raise ValueError("period-0 cohort size must be positive")
    if np.any(np.diff(n) > 1e-9 * n[0]):
        raise ValueError("survivor counts must not increase (a survival curve)")
    return n


def sbg_log_likelihood(alpha: float, beta: float, survivors: Sequence[float]) -> float:
    """Log-likelihood of survivor counts n_0..n_k under sBG(alpha, beta)."""
    n = _validate_survivors(survivors)
    k = n.size - 1
    t = np.arange(1, k + 1)
    lost = n[:-1] - n[1:]
    log_surv = _log_survival(alpha, beta, k)  # stable product form (see _log_survival)
    log_p = log_surv[t - 1] + np.log(alpha / (alpha + beta + t - 1.0))
    log_s = log_surv[k]
    return float(np.sum(lost * log_p) + n[-1] * log_s)


def fit_sbg(survivors: Sequence[float]) -> SbgFit:
    """Maximum-likelihood alpha, beta from counts still active at periods 0..k.

    Optimised on log(alpha), log(beta) (both must be positive) with L-BFGS-B from
    alpha = beta = 1, so the same curve always gives the same fit. Raises ValueError for a
    curve that is not a survival curve (increasing counts, empty cohort).
    """
    n = _validate_survivors(survivors)

    def nll(x: np.ndarray) -> float:
        a, b = np.exp(np.clip(x, -30, 30))
        return -sbg_log_likelihood(a, b, n)

    res = minimize(nll, x0=np.zeros(2), method="L-BFGS-B", bounds=[(-20, 20), (-20, 20)],
                   options={"ftol": 1e-14, "gtol": 1e-10, "maxiter": 2000})
    if not res.success:
        # With so tight a tolerance L-BFGS-B often stops with "ABNORMAL" (its line search cannot
        # improve on an already flat optimum). Polish with Nelder-Mead from there; it needs no
        # gradient and reports convergence on the function value itself.
        nm = minimize(nll, x0=np.clip(res.x, -19.9, 19.9), method="Nelder-Mead",
                      options={"xatol": 1e-9, "fatol": 1e-12, "maxiter": 4000})
        if nm.success and nm.fun <= res.fun + 1e-9:
            res = nm
    alpha, beta = (float(v) for v in np.exp(res.x))
    at_bound = bool(np.any(np.abs(res.x) >= 19.99))
    msg = str(res.message)
    if at_bound:
        msg = "parameter at optimiser bound (curve too flat/steep to identify alpha, beta); " + msg
    return SbgFit(alpha=alpha, beta=beta, log_likelihood=float(-res.fun), n_periods=int(n.size - 1),
                  n_customers=float(n[0]), converged=bool(res.success) and not at_bound, message=msg)


def survival_counts_from_churn_periods(churn_period: Sequence[float], n_periods: int) -> np.ndarray:
    """Counts still active at periods 0..n_periods from per-customer churn periods.

    ``churn_period`` is the period in which each customer left (1 = during the first period);
    a value > ``n_periods`` (or NaN) means still active at the end of observation (censored).
    Active at t = number of customers with churn_period > t.
    """
    c = np.asarray(churn_period, dtype=float)
    c = np.where(np.isnan(c), np.inf, c)
    t = np.arange(0, int(n_periods) + 1)
    return (c[None, :] > t[:, None]).sum(axis=1).astype(float)


class CohortSbgResult(NamedTuple):
    """``params``: one row per cohort (alpha, beta or NaN with a reason).
    ``projections``: cohort x period (1..through_period) with observed and projected rates."""

    params: pd.DataFrame
    projections: pd.DataFrame


def fit_cohort_sbg(
    cohort_survival: pd.DataFrame,
    *,
    through_period: int | None = None,
    min_observed_periods: int = 3,
) -> CohortSbgResult:
    """Fit sBG per cohort from a cohort x period table and project the unobserved periods.

    Input columns: ``cohort_month``, ``period_number`` (0-based), ``cohort_customers`` and
    either ``survivors`` (customers still subscribed: a true survival curve) or
    ``active_customers`` (customers active in the period, as in ``cohort_retention``). Rows whose
    count is NULL are periods the data cannot see yet. Period 0 is the cohort size.

    Only cohorts with at least ``min_observed_periods`` observed periods after period 0 are
    fitted (two parameters from fewer points are not identified); others get NaN with a reason.
    ``active_customers`` is not a survival curve (customers can skip a month and return), so it
    is made non-increasing with a running minimum before fitting and the cohort is flagged
    ``monotone_adjusted``. Projections cover periods 1..``through_period`` (default: the largest
    period_number in the table), so the unobserved cells of the grid can be filled.
    """
    count_col = "survivors" if "survivors" in cohort_survival.columns else "active_customers"
    need = {"cohort_month", "period_number", "cohort_customers", count_col}
    missing = need - set(cohort_survival.columns)
    if missing:
        raise ValueError(f"cohort table lacks columns {sorted(missing)}")
    frame = cohort_survival.sort_values(["cohort_month", "period_number"], kind="mergesort")
    if through_period is None:
        through_period = int(frame["period_number"].max()) if len(frame) else 0
    param_rows, proj_rows = [], []
    for cohort, grp in frame.groupby("cohort_month", sort=True):
        size = float(grp["cohort_customers"].dropna().iloc[0]) if grp["cohort_customers"].notna().any() else math.nan
        obs = grp[(grp["period_number"] >= 1) & grp[count_col].notna()]
        periods = obs["period_number"].astype(int).to_numpy()
        row = {"cohort_month": cohort, "cohort_customers": size, "n_observed_periods": int(len(obs)),
               "alpha": math.nan, "beta": math.nan, "log_likelihood": math.nan, "monotone_adjusted": False,
               "status": "not_fitted", "reason": ""}
        fit: SbgFit | None = None
        if not (size > 0):
            row["reason"] = "cohort has no customers"
        elif len(obs) < min_observed_periods:
            row["reason"] = f"only {len(obs)} observed periods after period 0 (< {min_observed_periods})"
        elif not np.array_equal(periods, np.arange(1, len(obs) + 1)):
            row["reason"] = "observed periods are not contiguous from period 1"
        else:
            counts = np.concatenate([[size], obs[count_col].to_numpy(dtype=float)])
            counts = np.minimum(counts, size)
            mono = np.minimum.accumulate(counts)
            row["monotone_adjusted"] = bool(np.any(mono != counts))
            if mono[-1] >= size:
                row["reason"] = "nobody left the cohort: churn not identified"
            else:
                fit = fit_sbg(mono)
                # alpha, beta running off together means no heterogeneity: sBG tends to the
                # geometric with churn alpha / (alpha + beta), which the large values already
                # reproduce; the projection is sound even though the optimiser never "converges".
                homogeneous = (not fit.converged and np.isfinite(fit.log_likelihood)
                               and fit.alpha + fit.beta > 100 and 0 < fit.alpha / (fit.alpha + fit.beta) < 1)
                row.update(alpha=fit.alpha, beta=fit.beta, log_likelihood=fit.log_likelihood,
                           status="ok" if fit.converged else ("ok_homogeneous" if homogeneous else "not_converged"),
                           reason="" if fit.converged else (
                               f"churn homogeneous across customers: geometric limit, churn "
                               f"{fit.alpha / (fit.alpha + fit.beta):.4f} per period" if homogeneous else fit.message))
                if not fit.converged and not homogeneous:
                    fit = None
                    row["alpha"] = row["beta"] = math.nan
        param_rows.append(row)
        observed_rate = dict(zip(periods, obs[count_col].to_numpy(dtype=float) / size)) if size > 0 else {}
        t_all = np.arange(1, int(through_period) + 1)
        surv = fit.survival(t_all) if fit is not None else np.full(t_all.size, np.nan)
        ret = fit.retention(t_all) if fit is not None else np.full(t_all.size, np.nan)
        for t, s_t, r_t in zip(t_all, surv, ret):
            proj_rows.append({
                "cohort_month": cohort, "period_number": int(t), "observed": int(t) in observed_rate,
                "observed_survival_rate": observed_rate.get(int(t), math.nan),
                "projected_survival_rate": float(s_t), "projected_retention_rate": float(r_t),
                "projected_survivors": float(s_t * size) if size > 0 else math.nan,
            })
    params = pd.DataFrame(param_rows, columns=["cohort_month", "cohort_customers", "n_observed_periods", "alpha",
                                               "beta", "log_likelihood", "monotone_adjusted", "status", "reason"])
    projections = pd.DataFrame(proj_rows, columns=["cohort_month", "period_number", "observed",
                                                   "observed_survival_rate", "projected_survival_rate",
                                                   "projected_retention_rate", "projected_survivors"])
    return CohortSbgResult(params=params, projections=projections)
