"""Pictures for the Dagster UI (matplotlib, rendered off-screen)."""
from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from customer_pipeline.assets.metadata import png  # noqa: E402


def segment_bars(sizes: pd.DataFrame, as_of):
    fig, ax = plt.subplots(figsize=(7, 3.5))
    ax.barh(sizes.index[::-1], sizes["customers"][::-1], color="#4472c4")
    ax.set_xlabel("customers")
    ax.set_title(f"RFM segments as of {as_of}")
    return png(fig)


def cohort_heatmap(grid: pd.DataFrame, as_of):
    pivot = grid.pivot(index="cohort_month", columns="period_number", values="retention_rate").astype(float)
    pivot = pivot.tail(24)
    fig, ax = plt.subplots(figsize=(9, max(3, 0.3 * len(pivot) + 1)))
    data = np.ma.masked_invalid(pivot.to_numpy())
    im = ax.imshow(data, aspect="auto", cmap="Blues", vmin=0, vmax=max(0.05, float(np.nanmax(pivot.iloc[:, 1:].to_numpy()) if pivot.shape[1] > 1 and np.isfinite(pivot.iloc[:, 1:].to_numpy()).any() else 1)))
    ax.set_yticks(range(len(pivot)), [d.strftime("%Y-%m") for d in pivot.index])
    ax.set_xlabel("months since acquisition")
    ax.set_title(f"Retention by cohort as of {as_of} (period 0 = 100 %, colour scaled to later periods; blank = not observable)")
    fig.colorbar(im, ax=ax, fraction=0.03)
    return png(fig)


def histogram(values: pd.Series, label: str, as_of):
    v = values.astype(float)
    v = v[np.isfinite(v)]
    fig, ax = plt.subplots(figsize=(6, 3))
    if len(v):
        hi = np.quantile(v, 0.99)
        ax.hist(v.clip(upper=hi), bins=50, color="#4472c4")
    ax.set_xlabel(f"{label} (clipped at the 99th percentile)")
    ax.set_ylabel("customers")
    ax.set_title(f"as of {as_of}")
    return png(fig)


def holdout_bins(bins: pd.DataFrame, as_of):
    """Mean actual vs predicted holdout purchases by calibration frequency, one line per model."""
    fig, ax = plt.subplots(figsize=(6.5, 3.5))
    order = [str(i) for i in range(7)] + ["7+"]
    first = True
    for model, g in bins.groupby("model"):
        g = g.set_index("frequency_bin").reindex(order)
        if first:
            ax.plot(order, g["mean_actual"], "k-o", label="actual")
            first = False
        ax.plot(order, g["mean_predicted"], "--", marker=".", label=f"{model} predicted")
    ax.set_xlabel("repeat purchases in calibration")
    ax.set_ylabel("mean purchases in holdout")
    ax.set_title(f"Holdout: predicted vs actual, as of {as_of}")
    ax.legend(fontsize=8)
    return png(fig)
