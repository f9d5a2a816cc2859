"""A deterministic synthetic subscription (SaaS) business: the ``saas_demo`` dataset profile.

Why synthetic: the real public datasets the project ships with (CDNOW, Online Retail) are order
ledgers with no subscriptions, product usage, support tickets or NPS answers, so without this
dataset half of the assets (MRR, churn model, health score, NRR/GRR, CAC) would have nothing to
compute. The generator is built so that those assets have *real* work to do:

* Churn is driven by the signals a customer team watches - declining logins, few features used,
  open support tickets, detractor NPS answers, month-to-month contracts - plus noise, so a churn
  model can learn something but not everything.
* The signals come *before* the cancellation (a declining customer drifts down for months), so a
  point-in-time model that only sees the past can still predict the future.
* Everything is consistent the way real data is: no usage, tickets, NPS answers or invoices after
  a subscription has ended; tickets close after they open (or are still open at the end of data);
  NPS answers are integers 0..10; invoices equal the MRR in force on the billing date.

Determinism: one ``numpy.random.default_rng(seed)`` drives every draw in a fixed order, and nothing
reads the wall clock, so the same arguments always give identical frames.

Time model. Each customer signs up on a day 1..28 of some month (so every monthly anniversary
exists) and is billed on that day each month ("billing period" k runs from the k-th anniversary
to the next). At the end of each billing period a month-to-month customer may decide to leave,
with a hazard driven by that period's signals; the cancellation takes effect one period later
(a notice period during which most leavers wind their usage down, and about a third - budget
cuts, acquisitions - do not). An annual customer can only leave at a 12-month renewal, so it
decides one period before it. ``end_date`` is the first day *without* service (usage and
invoices are strictly before it). Data ends on the last day of the final month (2024-12-31 with
the defaults); periods running past that are truncated, and cancellations that would take effect
after it are not in the data (``end_date`` NULL).

Tables (all date/time columns are naive ``datetime64[ns]``; ids are strings):

``customers``         customer_id, signup_date, acquisition_channel, plan_type, country, email
``subscriptions``     subscription_id, customer_id, plan_type, contract_type ('monthly'|'annual'),
                      start_date, end_date (NULL while active: effective cancellation date),
                      contract_end_date (end of the last committed term: the cancellation date for
                      ended subscriptions, the next renewal/billing date after data end for active
                      ones - it is a data-end view, point-in-time features recompute the term from
                      start_date and contract_type instead of reading it), mrr (at start)
``mrr_changes``       change_id, subscription_id, customer_id, effective_date,
                      change_type ('new'|'expansion'|'contraction'|'churn'), mrr_before,
                      mrr_after, mrr_delta. An event log: the MRR in force at any instant is the
                      ``mrr_after`` of the latest change effective at or before it, which makes
                      month-end MRR, NRR and GRR a simple as-of lookup and keeps it point-in-time.
``usage_daily``       customer_id, usage_date, logins, features_used, sessions. Only days with at
                      least one login have a row (a missing day means no activity), which keeps
                      the table compact. features_used = distinct features used that day.
``support_tickets``   ticket_id, customer_id, opened_at, closed_at (NULL = still open at data end),
                      priority ('low'|'normal'|'high'|'urgent')
``nps_responses``     response_id, customer_id, responded_at, score (integer 0..10; sparse)
``marketing_spend``   month (first day), channel, spend
``orders``            the project's orders convention: one monthly invoice per billing period,
                      order_id, customer_id, order_ts, amount (= MRR in force), order_type
                      'purchase', quantity (seats), line_count 1, country, channel ('self_serve'
                      or 'sales' - how the account is sold, not how it was acquired)
"""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd

__all__ = ["generate_saas_demo", "PLANS", "ACQUISITION_CHANNELS", "TABLE_NAMES"]

TABLE_NAMES = (
    "customers",
    "subscriptions",
    "mrr_changes",
    "usage_daily",
    "support_tickets",
    "nps_responses",
    "marketing_spend",
    "orders",
)

# plan -> (share of new customers, price per seat per month, number of product features,
#          probability of an annual contract, base seats, extra seats (Poisson mean))
PLANS = {
    "basic": dict(share=0.55, seat_price=15.0, n_features=6, p_annual=0.20, seats0=1, seats_extra=1.0),
    "pro": dict(share=0.33, seat_price=35.0, n_features=12, p_annual=0.40, seats0=2, seats_extra=4.0),
    "enterprise": dict(share=0.12, seat_price=60.0, n_features=20, p_annual=0.70, seats0=10, seats_extra=25.0),
}
ANNUAL_DISCOUNT = 0.85

# channel -> (share of new customers, acquisition cost per new customer, churn log-odds shift)
ACQUISITION_CHANNELS = {
    "organic": (0.30, 90.0, 0.0),
    "paid_search": (0.20, 380.0, 0.1),
    "paid_social": (0.15, 290.0, 0.3),
    "referral": (0.15, 140.0, -0.3),
    "partner": (0.10, 520.0, 0.0),
    "outbound": (0.10, 1400.0, -0.1),
}

COUNTRIES = ("US", "GB", "DE", "FR", "CA", "AU", "NL", "IN")
COUNTRY_SHARES = (0.45, 0.12, 0.10, 0.07, 0.08, 0.05, 0.05, 0.08)

PRIORITIES = ("low", "normal", "high", "urgent")
PRIORITY_SHARES = (0.30, 0.45, 0.18, 0.07)
PRIORITY_MEAN_RESOLUTION_DAYS = (6.0, 4.0, 2.0, 0.7)

_DAY = np.timedelta64(1, "D")
_SEC_PER_DAY = 86_400


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def _to_ns(days: np.ndarray) -> np.ndarray:
    """datetime64[D] -> datetime64[ns] (pandas' native unit)."""
    return days.astype("datetime64[ns]")


def generate_saas_demo(
    n_customers: int = 5000,
    seed: int = 7,
    start: date = date(2023, 1, 1),
    months: int = 24,
) -> dict[str, pd.DataFrame]:
    """Generate the saas_demo tables (see the module docstring for their columns and rules).

    ``start`` is normalised to the first of its month; customers sign up over ``months`` calendar
    months and the data ends on the last day of the final month (2024-12-31 for the defaults).
    The simulation loops over calendar months (24 steps) and is vectorised across customers and
    days inside each step, so 5,000 customers (~1.5 M usage rows) take a few seconds.
    """
    if n_customers < 1 or months < 2:
        raise ValueError("need n_customers >= 1 and months >= 2")
    rng = np.random.default_rng(seed)
    n = int(n_customers)
    start_m = np.datetime64(f"{start.year:04d}-{start.month:02d}", "M")
    data_end = (start_m + months).astype("datetime64[D]") - _DAY  # last day with data

    # ---------------------------------------------------------------- customers
    month_w = 1.04 ** np.arange(months)  # a growing business: more signups later
    signup_m = rng.choice(months, size=n, p=month_w / month_w.sum())
    signup_d = rng.integers(1, 29, size=n)  # 1..28: every monthly anniversary exists
    order = np.lexsort((signup_d, signup_m))  # ids follow signup order, like a real system
    signup_m, signup_d = signup_m[order], signup_d[order]
    signup_date = (start_m + signup_m).astype("datetime64[D]") + (signup_d - 1) * _DAY

    plan_names = np.array(list(PLANS))
    plan_idx = rng.choice(len(PLANS), size=n, p=[p["share"] for p in PLANS.values()])
    plan = plan_names[plan_idx]
    p_annual = np.array([p["p_annual"] for p in PLANS.values()])[plan_idx]
    annual = rng.random(n) < p_annual
    ch_names = np.array(list(ACQUISITION_CHANNELS))
    ch_idx = rng.choice(len(ch_names), size=n, p=[c[0] for c in ACQUISITION_CHANNELS.values()])
    channel = ch_names[ch_idx]
    ch_shift = np.array([c[2] for c in ACQUISITION_CHANNELS.values()])[ch_idx]
    country = np.array(COUNTRIES)[rng.choice(len(COUNTRIES), size=n, p=COUNTRY_SHARES)]
    cust_ids = np.array([f"C{i:06d}" for i in range(1, n + 1)])

    # ---------------------------------------------------------------- latent traits
    n_feat = np.array([p["n_features"] for p in PLANS.values()])[plan_idx]
    seat_price = np.array([p["seat_price"] for p in PLANS.values()])[plan_idx]
    seat_price = np.where(annual, seat_price * ANNUAL_DISCOUNT, seat_price)
    seats = (np.array([p["seats0"] for p in PLANS.values()])[plan_idx]
             + rng.poisson(np.array([p["seats_extra"] for p in PLANS.values()])[plan_idx]))
    L0 = rng.normal(np.log(22.0), 0.45, n) + 0.2 * (plan == "enterprise")  # log logins/month
    declining = rng.random(n) < 0.30  # the accounts that will slowly drift away
    drift = np.where(declining, rng.normal(-0.18, 0.07, n), rng.normal(0.01, 0.03, n))
    breadth0 = rng.normal(0.0, 0.8, n)  # logit of the share of features a customer uses
    friction = rng.gamma(1.5, 1.0 / 1.5, n)  # mean 1: how much trouble the product gives them

    # ---------------------------------------------------------------- state
    L = L0.copy()
    alive = np.ones(n, dtype=bool)
    pending = np.zeros(n, dtype=bool)  # decided to leave; cancellation effective at period end
    # how much of their usage a leaving customer keeps during the notice period: most wind down,
    # about a third leave for reasons that do not show in usage (budget cuts, acquisitions)
    notice_factor = np.where(rng.random(n) < 0.35, 1.0, rng.uniform(0.15, 0.6, n))
    end_date = np.full(n, np.datetime64("NaT"), dtype="datetime64[D]")
    prev_logins = np.full(n, np.nan)
    last_nps = np.full(n, np.nan)
    mrr = seats * seat_price

    usage_parts, ticket_parts, nps_parts, invoice_parts, mrr_parts = [], [], [], [], []
    # "new" MRR events
    mrr_parts.append(dict(cust=np.arange(n), eff=signup_date, kind=np.full(n, "new"),
                          before=np.zeros(n), after=mrr.copy()))
    # running ticket register, used for "open tickets at the decision date"
    tk_cust = np.empty(0, dtype=np.int64)
    tk_open = np.empty(0, dtype="datetime64[s]")
    tk_close = np.empty(0, dtype="datetime64[s]")

    offsets = np.arange(31)
    for t in range(months):
        act = np.flatnonzero(alive & (signup_m <= t))
        if act.size == 0:
            continue
        k = t - signup_m[act]  # billing period number
        p0 = (start_m + t).astype("datetime64[D]") + (signup_d[act] - 1) * _DAY
        p1 = (start_m + t + 1).astype("datetime64[D]") + (signup_d[act] - 1) * _DAY
        plen = (p1 - p0).astype(int)
        # days of the period that the data can see
        vis_len = np.minimum(plen, (data_end - p0).astype(int) + 1)

        # engagement evolves from the second period on: drift, noise and rare shocks
        # (a champion leaves, a reorganisation) that push usage down abruptly
        later = k > 0
        shock = (rng.random(act.size) < 0.03) * rng.uniform(0.7, 1.5, act.size)
        L[act] = np.where(later, L[act] + drift[act] + rng.normal(0, 0.12, act.size) - shock, L[act])
        rel = L[act] - L0[act]  # engagement relative to the customer's own start
        leaving = pending[act]
        wind_down = np.where(leaving, notice_factor[act], 1.0)

        # ---- daily usage
        days = p0[:, None] + offsets[None, :] * _DAY
        valid = offsets[None, :] < vis_len[:, None]
        wday = (days.astype(np.int64) + 3) % 7  # 0 = Monday
        wfac = np.where(wday < 5, 1.25, 0.35)
        lam = (np.exp(L[act]) * wind_down)[:, None] / 30.4 * wfac
        logins = rng.poisson(lam) * valid
        p_feat = _sigmoid(breadth0[act] + 0.6 * rel + 1.5 * np.log(wind_down))
        feats = rng.binomial(n_feat[act][:, None], p_feat[:, None] * np.ones_like(lam))
        feats = np.where(logins > 0, np.maximum(feats, 1), 0)
        sessions = logins + rng.poisson(0.4 * logins)
        r, c = np.nonzero(logins > 0)
        usage_parts.append((act[r], days[r, c], logins[r, c], feats[r, c], sessions[r, c]))
        logins_k = logins.sum(axis=1).astype(float)
        # scale a truncated last period up so the hazard compares like with like
        logins_rate = logins_k * plen / np.maximum(vis_len, 1)

        # ---- invoices: one per period, on the billing date, for the MRR in force
        invoice_parts.append((act, p0, mrr[act].copy(), seats[act].copy()))

        # ---- support tickets: friction-driven, more of them while an account is declining
        tk_rate = 0.22 * friction[act] * (1.0 + 0.8 * (rel < -0.4))
        n_tk = rng.poisson(tk_rate)
        n_tk = np.where(vis_len > 0, n_tk, 0)
        if n_tk.sum():
            owner = np.repeat(np.arange(act.size), n_tk)
            opened = (p0[owner].astype("datetime64[s]")
                      + (rng.random(owner.size) * vis_len[owner] * _SEC_PER_DAY).astype(np.int64)
                      * np.timedelta64(1, "s"))
            prio = rng.choice(len(PRIORITIES), size=owner.size, p=PRIORITY_SHARES)
            res_days = rng.exponential(np.array(PRIORITY_MEAN_RESOLUTION_DAYS)[prio]) * friction[act][owner]
            stuck = rng.random(owner.size) < 0.08  # some tickets linger for weeks
            res_days = np.where(stuck, rng.exponential(30.0, owner.size), res_days)
            closed = opened + (np.maximum(res_days, 0.01) * _SEC_PER_DAY).astype(np.int64) * np.timedelta64(1, "s")
            ticket_parts.append((act[owner], opened, closed, prio))
            tk_cust = np.concatenate([tk_cust, act[owner]])
            tk_open = np.concatenate([tk_open, opened])
            tk_close = np.concatenate([tk_close, closed])
            tk_this = np.bincount(owner, minlength=act.size)
        else:
            tk_this = np.zeros(act.size, dtype=np.int64)

        # ---- NPS: sparse answers; happier when engagement grew, unhappier with friction/tickets
        answers = (rng.random(act.size) < np.where(plan[act] == "enterprise", 0.15, 0.10)) & (vis_len > 0)
        raw = (7.6 + 1.8 * np.clip(rel, -2, 1) - 0.9 * tk_this - 0.8 * (friction[act] - 1.0)
               - 2.0 * leaving + rng.normal(0, 1.6, act.size))
        score = np.clip(np.rint(raw), 0, 10).astype(np.int64)
        if answers.any():
            a = np.flatnonzero(answers)
            when = (p0[a].astype("datetime64[s]")
                    + (rng.random(a.size) * vis_len[a] * _SEC_PER_DAY).astype(np.int64) * np.timedelta64(1, "s"))
            nps_parts.append((act[a], when, score[a]))
            last_nps[act[a]] = score[a]

        # ---- end of period: churn decision and MRR movements (only if the data can see it)
        decide = p1 <= data_end
        p1s = p1.astype("datetime64[s]")
        # open tickets at the decision date, across all periods so far
        open_now = np.zeros(act.size)
        if tk_cust.size:
            pos = np.full(n, -1)
            pos[act] = np.arange(act.size)
            owner_pos = pos[tk_cust]
            is_open = (owner_pos >= 0) & (tk_open < p1s[np.maximum(owner_pos, 0)]) & (
                tk_close >= p1s[np.maximum(owner_pos, 0)])
            open_now = np.bincount(owner_pos[is_open], minlength=act.size).astype(float)
        prev = prev_logins[act]
        decline = np.where(np.isfinite(prev), np.clip(1.0 - logins_rate / np.maximum(prev, 1.0), 0.0, 1.0), 0.0)
        breadth = _sigmoid(breadth0[act] + 0.6 * rel)
        nps_a = last_nps[act]
        x = (-3.7
             + 1.8 * decline
             + 1.0 * (logins_rate < 5)
             + 1.2 * (0.5 - breadth)
             + 0.45 * np.minimum(open_now, 4)
             + np.where(nps_a <= 6, 0.9, 0.0) - np.where(nps_a >= 9, 0.6, 0.0)
             + ch_shift[act]
             + 0.3 * (k < 3)
             + rng.normal(0, 0.6, act.size))
        # A customer decides at the end of a period and gives one period's notice: the
        # cancellation is effective at the end of the *next* period, during which usage winds
        # down. Annual customers can only leave at a 12-month renewal, so they decide one
        # period before it. Cancellations effective after data end stay invisible (end_date NULL).
        renewal = (k + 1) % 12 == 0
        decides_before_renewal = (k + 2) % 12 == 0
        x = np.where(annual[act], x + 1.4, x)  # one decision a year weighs more than one a month
        may_decide = ~leaving & (~annual[act] | decides_before_renewal)
        newly = decide & may_decide & (rng.random(act.size) < _sigmoid(x))
        churn = decide & leaving
        gone = act[churn]
        alive[gone] = False
        end_date[gone] = p1[churn]
        if gone.size:
            mrr_parts.append(dict(cust=gone, eff=p1[churn], kind=np.full(gone.size, "churn"),
                                  before=mrr[gone].copy(), after=np.zeros(gone.size)))
        pending[act[newly]] = True
        can_leave = ~annual[act] | renewal

        stay = decide & ~churn & ~leaving & ~newly
        p_exp = _sigmoid(-3.6 + 1.0 * np.clip(rel, -2, 1) + 0.5 * (plan[act] == "enterprise"))
        p_con = _sigmoid(-4.0 + 1.5 * decline + 0.8 * (logins_rate < 5))
        expand = stay & (rng.random(act.size) < p_exp)
        contract = stay & ~expand & can_leave & (seats[act] > 1) & (rng.random(act.size) < p_con)
        new_seats = seats[act].copy()
        new_seats = np.where(expand, new_seats + 1 + rng.poisson(0.2 * new_seats), new_seats)
        new_seats = np.where(contract, np.maximum(1, new_seats - 1 - rng.poisson(0.15 * new_seats)), new_seats)
        changed = new_seats != seats[act]
        if changed.any():
            idx = act[changed]
            new_mrr = new_seats[changed] * seat_price[idx]
            mrr_parts.append(dict(cust=idx, eff=p1[changed],
                                  kind=np.where(new_mrr > mrr[idx], "expansion", "contraction"),
                                  before=mrr[idx].copy(), after=new_mrr))
            seats[idx] = new_seats[changed]
            mrr[idx] = new_mrr
        prev_logins[act] = logins_rate

    # ---------------------------------------------------------------- assemble tables
    customers = pd.DataFrame({
        "customer_id": cust_ids,
        "signup_date": _to_ns(signup_date),
        "acquisition_channel": channel,
        "plan_type": plan,
        "country": country,
        "email": np.char.add(np.char.lower(cust_ids.astype(str)), "@example.com"),
    })

    # contract_end_date: end of the last committed term (see module docstring)
    # number of monthly anniversaries after the start on or before data_end, then the first term
    # boundary strictly after data_end
    month_diff = (data_end.astype("datetime64[M]") - signup_date.astype("datetime64[M]")).astype(int)
    end_day = int((data_end - data_end.astype("datetime64[M]").astype("datetime64[D]")).astype(int)) + 1
    passed = month_diff - (end_day < signup_d).astype(int)
    term = np.where(annual, 12, 1)
    next_boundary = (passed // term + 1) * term
    next_renewal = ((signup_date.astype("datetime64[M]") + next_boundary).astype("datetime64[D]")
                    + (signup_d - 1) * _DAY)
    contract_end = np.where(np.isnat(end_date), next_renewal, end_date)
    first = mrr_parts[0]
    subscriptions = pd.DataFrame({
        "subscription_id": np.char.replace(cust_ids.astype(str), "C", "S"),
        "customer_id": cust_ids,
        "plan_type": plan,
        "contract_type": np.where(annual, "annual", "monthly"),
        "start_date": _to_ns(signup_date),
        "end_date": _to_ns(end_date),
        "contract_end_date": _to_ns(contract_end),
        "mrr": first["after"].astype(float),
    })

    mc = {key: np.concatenate([p[key] for p in mrr_parts]) for key in ("cust", "eff", "kind", "before", "after")}
    mrr_changes = pd.DataFrame({
        "subscription_id": subscriptions["subscription_id"].to_numpy()[mc["cust"]],
        "customer_id": cust_ids[mc["cust"]],
        "effective_date": _to_ns(mc["eff"]),
        "change_type": mc["kind"],
        "mrr_before": mc["before"].astype(float),
        "mrr_after": mc["after"].astype(float),
    })
    mrr_changes["mrr_delta"] = mrr_changes["mrr_after"] - mrr_changes["mrr_before"]
    kind_order = mrr_changes["change_type"].map({"new": 0, "expansion": 1, "contraction": 1, "churn": 2})
    mrr_changes = (mrr_changes.assign(_k=kind_order)
                   .sort_values(["effective_date", "customer_id", "_k"], kind="stable")
                   .drop(columns="_k").reset_index(drop=True))
    mrr_changes.insert(0, "change_id", [f"M{i:07d}" for i in range(1, len(mrr_changes) + 1)])

    u = [np.concatenate(x) for x in zip(*usage_parts)]
    usage_daily = pd.DataFrame({
        "customer_id": cust_ids[u[0]],
        "usage_date": _to_ns(u[1]),
        "logins": u[2].astype(np.int64),
        "features_used": u[3].astype(np.int64),
        "sessions": u[4].astype(np.int64),
    }).sort_values(["customer_id", "usage_date"], kind="stable").reset_index(drop=True)

    if ticket_parts:
        tp = [np.concatenate(x) for x in zip(*ticket_parts)]
    else:
        tp = [np.empty(0, np.int64), np.empty(0, "datetime64[s]"), np.empty(0, "datetime64[s]"), np.empty(0, np.int64)]
    visible_end = (data_end + _DAY).astype("datetime64[s]")
    closed = np.where(tp[2] < visible_end, tp[2], np.datetime64("NaT"))  # not closed yet at data end
    support_tickets = pd.DataFrame({
        "customer_id": cust_ids[tp[0]],
        "opened_at": tp[1].astype("datetime64[ns]"),
        "closed_at": closed.astype("datetime64[ns]"),
        "priority": np.array(PRIORITIES)[tp[3]],
    }).sort_values(["opened_at", "customer_id"], kind="stable").reset_index(drop=True)
    support_tickets.insert(0, "ticket_id", [f"T{i:07d}" for i in range(1, len(support_tickets) + 1)])

    if nps_parts:
        npp = [np.concatenate(x) for x in zip(*nps_parts)]
    else:
        npp = [np.empty(0, np.int64), np.empty(0, "datetime64[s]"), np.empty(0, np.int64)]
    nps_responses = pd.DataFrame({
        "customer_id": cust_ids[npp[0]],
        "responded_at": npp[1].astype("datetime64[ns]"),
        "score": npp[2].astype(np.int64),
    }).sort_values(["responded_at", "customer_id"], kind="stable").reset_index(drop=True)
    nps_responses.insert(0, "response_id", [f"N{i:07d}" for i in range(1, len(nps_responses) + 1)])

    # marketing spend: what each channel cost per month, roughly CAC x new customers + a floor
    new_by = np.zeros((months, len(ch_names)))
    np.add.at(new_by, (signup_m, ch_idx), 1)
    cac = np.array([c[1] for c in ACQUISITION_CHANNELS.values()])
    scale = n / 5000.0
    spend = new_by * cac * rng.lognormal(0.0, 0.15, new_by.shape) + 500.0 * scale * (cac > 100)
    mm, cc = np.meshgrid(np.arange(months), np.arange(len(ch_names)), indexing="ij")
    marketing_spend = pd.DataFrame({
        "month": _to_ns((start_m + mm.ravel()).astype("datetime64[D]")),
        "channel": ch_names[cc.ravel()],
        "spend": np.round(spend.ravel(), 2),
    })

    iv = [np.concatenate(x) for x in zip(*invoice_parts)]
    sales = np.where(plan == "enterprise", "sales", "self_serve")
    orders = pd.DataFrame({
        "customer_id": cust_ids[iv[0]],
        "order_ts": _to_ns(iv[1]),
        "amount": np.round(iv[2].astype(float), 2),
        "order_type": "purchase",
        "quantity": iv[3].astype(np.int64),
        "line_count": np.int64(1),
        "country": country[iv[0]],
        "channel": sales[iv[0]],
    }).sort_values(["order_ts", "customer_id"], kind="stable").reset_index(drop=True)
    orders.insert(0, "order_id", [f"INV{i:08d}" for i in range(1, len(orders) + 1)])

    return {
        "customers": customers,
        "subscriptions": subscriptions,
        "mrr_changes": mrr_changes,
        "usage_daily": usage_daily,
        "support_tickets": support_tickets,
        "nps_responses": nps_responses,
        "marketing_spend": marketing_spend,
        "orders": orders,
    }
