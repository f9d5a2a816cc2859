"""RFM scoring and segmentation.

Scores are 1-5 with 5 best on every axis: most recent, most orders, highest net revenue.
Each score comes from the percentile rank of the customer's value among all scored customers,
with ties sharing the lowest rank (so equal values always get equal scores, unlike NTILE or qcut,
which split ties arbitrarily or fail on skewed data such as Online Retail, where a third of
customers bought once):

    pr = (rank_min - 1) / (n - 1);  score = 1 + min(4, floor(5 * pr));  the best value scores 5.

Forcing the best value to 5 keeps the promise "the most recent/frequent/valuable customer is a 5"
even when many customers tie at the top; the worst value scores 1 unless it is also the best.
The segment map is data (SEGMENT_RULES): an ordered list of score ranges, first match wins;
``segment_map()`` expands it to all 125 triples and tests check it is complete and every segment
is reachable.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

# (segment, r range, f range, m range, recommended action); ranges are inclusive.
SEGMENT_RULES: list[tuple[str, tuple[int, int], tuple[int, int], tuple[int, int], str]] = [
    ("Champions", (4, 5), (4, 5), (4, 5),
     "Reward them: early access, loyalty perks; ask for reviews and referrals."),
    ("Loyal Customers", (3, 5), (4, 5), (1, 5),
     "Upsell higher-value products; invite them into the loyalty programme."),
    ("Cant Lose Them", (1, 2), (4, 5), (4, 5),
     "Win them back personally: account-manager outreach, best offers, ask what went wrong."),
    ("At Risk", (1, 2), (3, 5), (1, 5),
     "Send personalised win-back offers based on past purchases; find out what changed."),
    ("At Risk", (1, 2), (1, 2), (4, 5),
     "Send personalised win-back offers based on past purchases; find out what changed."),
    ("Potential Loyalist", (4, 5), (2, 3), (1, 5),
     "Offer membership or a loyalty programme; recommend related products."),
    ("Recent Customers", (5, 5), (1, 1), (1, 5),
     "Onboard well: welcome series and help getting value from the first purchase."),
    ("Promising", (4, 4), (1, 1), (1, 5),
     "Build the relationship: a targeted offer to earn the second order."),
    ("Need Attention", (3, 3), (2, 3), (1, 5),
     "Re-engage with limited-time offers based on their purchase history."),
    ("About to Sleep", (3, 3), (1, 1), (1, 5),
     "Reconnect before they lapse: popular products and a time-limited discount."),
    ("Hibernating", (1, 2), (2, 2), (1, 3),
     "Offer relevant products and special discounts on low-cost channels."),
    ("Lost", (1, 2), (1, 1), (1, 3),
     "Try one reactivation campaign; otherwise stop spending on them."),
]

SEGMENTS = list(dict.fromkeys(rule[0] for rule in SEGMENT_RULES))


def segment_map() -> pd.DataFrame:
    """All 125 (r, f, m) triples with the first rule that matches each."""
    rows = []
    for r in range(1, 6):
        for f in range(1, 6):
            for m in range(1, 6):
                for i, (name, rr, fr, mr, action) in enumerate(SEGMENT_RULES):
                    if rr[0] <= r <= rr[1] and fr[0] <= f <= fr[1] and mr[0] <= m <= mr[1]:
                        rule = f"#{i + 1}: R {rr[0]}-{rr[1]}, F {fr[0]}-{fr[1]}, M {mr[0]}-{mr[1]}"
                        rows.append((r, f, m, name, action, rule))
                        break
                else:
                    raise ValueError(f"RFM segment map has no rule for ({r}, {f}, {m})")
    return pd.DataFrame(rows, columns=["r_score", "f_score", "m_score", "segment", "recommended_action", "rule"])


def quintile_score(values: pd.Series, higher_is_better: bool = True) -> pd.Series:
    """1-5 score from the tie-aware percentile rank (see module docstring)."""
    v = values.astype(float)
    if v.isna().any():
        raise ValueError(f"cannot score {values.name}: {int(v.isna().sum())} missing value(s)")
    if not higher_is_better:
        v = -v
    n = len(v)
    if n == 0:
        return pd.Series(dtype="int64", index=values.index)
    rank_min = v.rank(method="min")
    pr = (rank_min - 1) / (n - 1) if n > 1 else pd.Series(1.0, index=v.index)
    score = 1 + np.minimum(4, np.floor(5 * pr)).astype("int64")
    score[v == v.max()] = 5
    return score.astype("int64")


def score_rfm(profile: pd.DataFrame) -> pd.DataFrame:
    """RFM for customers with at least one purchase, from a customer_360 snapshot."""
    buyers = profile[profile["total_orders"] > 0]
    out = pd.DataFrame({
        "as_of_date": buyers["as_of_date"],
        "customer_id": buyers["customer_id"].astype(str),
        "recency_days": buyers["days_since_last_order"].astype("int64"),
        "frequency": buyers["total_orders"].astype("int64"),
        "monetary": buyers["total_revenue"].astype(float),
    })
    out["r_score"] = quintile_score(out["recency_days"], higher_is_better=False)
    out["f_score"] = quintile_score(out["frequency"])
    out["m_score"] = quintile_score(out["monetary"])
    out["rfm_code"] = out["r_score"].astype(str) + out["f_score"].astype(str) + out["m_score"].astype(str)
    out["rfm_total"] = out["r_score"] + out["f_score"] + out["m_score"]
    seg = segment_map()[["r_score", "f_score", "m_score", "segment", "recommended_action"]]
    out = out.merge(seg, on=["r_score", "f_score", "m_score"], how="left", validate="many_to_one")
    return out.sort_values("customer_id", kind="stable").reset_index(drop=True)
