"""Pandera models: the contract of every table the pipeline writes.

The same models (1) validate each frame before it is written, (2) give the DuckDB column types
(so an all-NULL first write never creates a column of type NULL), (3) publish
``dagster/column_schema`` metadata and (4) generate docs/tables.md. Change a column's meaning
here and everywhere follows; never change it silently.
"""
from __future__ import annotations

import pandas as pd
import pandera.pandas as pa
from pandera.typing import Series

DATE = {"sql_type": "DATE"}


def _date(description: str, nullable: bool = False) -> object:
    return pa.Field(nullable=nullable, description=description, metadata=DATE)


class _Base(pa.DataFrameModel):
    class Config:
        strict = True  # an unexpected column is a contract change, not something to pass along
        coerce = True


# ----------------------------------------------------------------------------------------- raw
class RawOrders(_Base):
    """One row per order (an invoice or a purchase line), partitioned by month of ``order_ts``."""

    order_id: Series[str] = pa.Field(unique=True, description="Order (invoice) identifier, unique per source.")
    customer_id: Series[str] = pa.Field(description="Customer identifier as written in the source (normalised: no '.0').")
    order_ts: Series[pd.Timestamp] = pa.Field(description="Order timestamp, naive, in the source's local time; earliest line of the order.")
    order_date: Series[pd.Timestamp] = _date("Calendar day of order_ts.")
    order_type: Series[str] = pa.Field(isin=["purchase", "cancellation"], description="'purchase', or 'cancellation' (a negative order that reverses earlier purchases).")
    amount: Series[float] = pa.Field(description="Net product revenue of the order (sum of quantity x unit price of product lines); negative for cancellations.")
    quantity: Series[int] = pa.Field(description="Sum of item quantities (negative for cancellations).")
    line_count: Series[int] = pa.Field(ge=1, description="Source lines folded into this order.")
    country: Series[str] = pa.Field(nullable=True, description="Country on the order, where the source has one.")
    source: Series[str] = pa.Field(description="Dataset profile the row came from.")
    source_row: Series[int] = pa.Field(ge=1, description="1-based data row number (header excluded) of the order's first line in the source file.")


class RawCustomers(_Base):
    """One row per customer, partitioned by the month the customer first appears."""

    customer_id: Series[str] = pa.Field(unique=True, description="Customer identifier.")
    first_seen_date: Series[pd.Timestamp] = _date("Day of the customer's first order of any type.")
    acquisition_date: Series[pd.Timestamp] = _date("Day of the first purchase; NULL for customers seen only through cancellations of purchases made before the data starts.", nullable=True)
    acquisition_channel: Series[str] = pa.Field(nullable=True, description="Marketing channel of acquisition; NULL where the source does not say.")
    plan_type: Series[str] = pa.Field(nullable=True, description="Subscription plan; NULL for order-only businesses.")
    country: Series[str] = pa.Field(nullable=True, description="Country of the customer's first order.")
    source: Series[str] = pa.Field(description="Dataset profile the row came from.")


class LoadLog(_Base):
    """One row per source x monthly partition load. Counts reconcile:
    rows_read = rows_accepted + rows_quarantined + rows_excluded and
    rows_accepted = orders_written + rows_aggregated."""

    source: Series[str] = pa.Field(description="Dataset profile.")
    source_table: Series[str] = pa.Field(description="Source table the counts are for ('orders' for the order ledger).")
    source_file: Series[str] = pa.Field(description="File the rows were read from.")
    partition_month: Series[pd.Timestamp] = _date("First day of the partition's month.")
    rows_read: Series[int] = pa.Field(ge=0, description="Source rows (lines) belonging to this month.")
    rows_accepted: Series[int] = pa.Field(ge=0, description="Rows that passed every rule and went into raw.orders.")
    rows_quarantined: Series[int] = pa.Field(ge=0, description="Rows written to quarantine.orders with a reason.")
    rows_excluded: Series[int] = pa.Field(ge=0, description="Rows removed by a documented business rule (see excluded_by_rule).")
    excluded_by_rule: Series[str] = pa.Field(description="JSON object: rule name -> rows excluded by it.")
    rows_aggregated: Series[int] = pa.Field(ge=0, description="Accepted rows folded into an order together with another row (accepted lines - orders).")
    orders_written: Series[int] = pa.Field(ge=0, description="Rows written to raw.orders.")
    loaded_at: Series[pd.Timestamp] = pa.Field(description="Audit: when the load ran (UTC). The only column that differs between two loads of the same data.")


class QuarantineOrders(_Base):
    """Source rows rejected by validation, with the reason; nothing is dropped silently."""

    source: Series[str] = pa.Field(description="Dataset profile.")
    source_row: Series[int] = pa.Field(ge=1, description="1-based data row number in the source file.")
    partition_month: Series[pd.Timestamp] = _date("Month the row was loaded with (month of its order; the first partition when its date is unreadable).")
    reason: Series[str] = pa.Field(description="Every failed rule for this row, '; '-separated, naming the column and the value.")
    customer_id: Series[str] = pa.Field(nullable=True, description="Customer id as written, if any.")
    raw_record: Series[str] = pa.Field(description="The source row as JSON of its original text fields.")
    loaded_at: Series[pd.Timestamp] = pa.Field(description="Audit: when the load ran (UTC).")


class SaasQuarantine(_Base):
    """Rows of the subscription tables (subscriptions, usage, tickets, NPS, ...) that failed their contract."""

    source: Series[str] = pa.Field(description="Dataset profile.")
    source_table: Series[str] = pa.Field(description="Which source table the row came from.")
    source_row: Series[int] = pa.Field(ge=1, description="1-based row number within the source table.")
    partition_month: Series[pd.Timestamp] = _date("Month the row was loaded with.")
    reason: Series[str] = pa.Field(description="Every failed rule for this row.")
    customer_id: Series[str] = pa.Field(nullable=True, description="Customer id as written, if any.")
    raw_record: Series[str] = pa.Field(description="The source row as JSON.")
    loaded_at: Series[pd.Timestamp] = pa.Field(description="Audit: when the load ran (UTC).")


class RawSubscriptions(_Base):
    """Subscriptions, partitioned by month of start_date. end_date is the first day without service."""

    subscription_id: Series[str] = pa.Field(unique=True, description="Subscription identifier.")
    customer_id: Series[str] = pa.Field(description="Customer identifier.")
    plan_type: Series[str] = pa.Field(description="Plan (basic, pro, enterprise).")
    contract_type: Series[str] = pa.Field(isin=["monthly", "annual"], description="'monthly' (month-to-month) or 'annual'.")
    start_date: Series[pd.Timestamp] = pa.Field(description="First day of service.")
    end_date: Series[pd.Timestamp] = pa.Field(nullable=True, description="First day without service (cancellation effective); NULL while active.")
    contract_end_date: Series[pd.Timestamp] = pa.Field(description="End of the last committed term, as known at the end of the data (not point-in-time).")
    mrr: Series[float] = pa.Field(ge=0, description="Monthly recurring revenue at start.")


class RawMrrChanges(_Base):
    """MRR event log, partitioned by month of effective_date: the MRR in force is the latest mrr_after."""

    change_id: Series[str] = pa.Field(unique=True, description="Change identifier.")
    subscription_id: Series[str] = pa.Field(description="Subscription changed.")
    customer_id: Series[str] = pa.Field(description="Customer identifier.")
    effective_date: Series[pd.Timestamp] = pa.Field(description="When the change takes effect.")
    change_type: Series[str] = pa.Field(isin=["new", "expansion", "contraction", "churn"], description="new, expansion, contraction or churn.")
    mrr_before: Series[float] = pa.Field(ge=0, description="MRR before the change.")
    mrr_after: Series[float] = pa.Field(ge=0, description="MRR after the change.")
    mrr_delta: Series[float] = pa.Field(description="mrr_after - mrr_before.")


class RawUsageDaily(_Base):
    """Product usage per customer and active day, partitioned by month of usage_date (no row = no activity)."""

    customer_id: Series[str] = pa.Field(description="Customer identifier.")
    usage_date: Series[pd.Timestamp] = pa.Field(description="Day of activity.")
    logins: Series[int] = pa.Field(ge=0, description="Logins that day.")
    features_used: Series[int] = pa.Field(ge=0, description="Distinct product features used that day.")
    sessions: Series[int] = pa.Field(ge=0, description="Sessions that day.")


class RawSupportTickets(_Base):
    """Support tickets, partitioned by month opened."""

    ticket_id: Series[str] = pa.Field(unique=True, description="Ticket identifier.")
    customer_id: Series[str] = pa.Field(description="Customer identifier.")
    opened_at: Series[pd.Timestamp] = pa.Field(description="When the ticket was opened.")
    closed_at: Series[pd.Timestamp] = pa.Field(nullable=True, description="When it was closed; NULL if still open at the end of the data.")
    priority: Series[str] = pa.Field(isin=["low", "normal", "high", "urgent"], description="Priority.")


class RawNpsResponses(_Base):
    """NPS survey answers, one per person and answer (0-10), partitioned by month answered."""

    response_id: Series[str] = pa.Field(unique=True, description="Response identifier.")
    customer_id: Series[str] = pa.Field(description="Customer identifier.")
    responded_at: Series[pd.Timestamp] = pa.Field(description="When answered.")
    score: Series[int] = pa.Field(ge=0, le=10, description="Answer 0-10 (0-6 detractor, 7-8 passive, 9-10 promoter).")


class RawMarketingSpend(_Base):
    """Marketing spend by month and acquisition channel."""

    month: Series[pd.Timestamp] = _date("First day of the month.")
    channel: Series[str] = pa.Field(description="Acquisition channel.")
    spend: Series[float] = pa.Field(ge=0, description="Spend in the month.")


# ----------------------------------------------------------------------------------- analytics
class Customer360(_Base):
    """Order-based customer profile, one row per customer seen by the as-of date."""

    as_of_date: Series[pd.Timestamp] = _date("Snapshot date: everything up to the end of this day is seen, nothing after.")
    customer_id: Series[str] = pa.Field(description="Customer identifier.")
    acquisition_date: Series[pd.Timestamp] = _date("Day of the first purchase (NULL if only cancellations are seen).", nullable=True)
    acquisition_channel: Series[str] = pa.Field(nullable=True, description="Acquisition channel where the source knows it.")
    plan_type: Series[str] = pa.Field(nullable=True, description="Subscription plan where the business has one.")
    country: Series[str] = pa.Field(nullable=True, description="Country of the first order.")
    total_orders: Series[int] = pa.Field(ge=0, description="Purchase orders (cancellations not counted).")
    cancelled_orders: Series[int] = pa.Field(ge=0, description="Cancellation orders.")
    gross_revenue: Series[float] = pa.Field(description="Sum of purchase order amounts.")
    cancelled_revenue: Series[float] = pa.Field(le=0, description="Sum of cancellation amounts (<= 0).")
    total_revenue: Series[float] = pa.Field(description="Net revenue: gross_revenue + cancelled_revenue. Sums to raw.orders.amount up to the as-of date.")
    avg_order_value: Series[float] = pa.Field(nullable=True, description="gross_revenue / total_orders; NULL without purchases.")
    first_order_date: Series[pd.Timestamp] = _date("Day of the first purchase.", nullable=True)
    last_order_date: Series[pd.Timestamp] = _date("Day of the latest purchase.", nullable=True)
    days_since_last_order: Series[pd.Int64Dtype] = pa.Field(nullable=True, ge=0, description="as_of_date - last_order_date in days.")
    tenure_days: Series[pd.Int64Dtype] = pa.Field(nullable=True, ge=0, description="as_of_date - first_order_date in days.")
    orders_last_90d: Series[int] = pa.Field(ge=0, description="Purchase orders in the 90 days ending at as_of_date.")
    revenue_last_90d: Series[float] = pa.Field(description="Net revenue in the 90 days ending at as_of_date.")
    is_subscribed: Series[pd.BooleanDtype] = pa.Field(nullable=True, description="Subscription businesses: a subscription is in force at as-of. NULL for order-only data.")
    mrr: Series[float] = pa.Field(nullable=True, ge=0, description="MRR in force at as-of (latest change effective by then). NULL for order-only data.")
    logins_last_30d: Series[float] = pa.Field(nullable=True, ge=0, description="Logins in the 30 days to as-of. NULL without usage data.")
    last_login_date: Series[pd.Timestamp] = _date("Last day with a login. NULL without usage data or logins.", nullable=True)
    open_tickets: Series[float] = pa.Field(nullable=True, ge=0, description="Support tickets open at as-of. NULL without ticket data.")
    tickets_last_90d: Series[float] = pa.Field(nullable=True, ge=0, description="Tickets opened in the 90 days to as-of. NULL without ticket data.")
    last_nps_score: Series[float] = pa.Field(nullable=True, ge=0, le=10, description="The customer's last NPS answer (0-10); NULL when never answered.")
    last_nps_date: Series[pd.Timestamp] = _date("Day of the last NPS answer.", nullable=True)


class Rfm(_Base):
    """RFM scores of customers with at least one purchase, 5 best on every axis, ties share a score."""

    as_of_date: Series[pd.Timestamp] = _date("Snapshot date.")
    customer_id: Series[str] = pa.Field(description="Customer identifier.")
    recency_days: Series[int] = pa.Field(ge=0, description="Days from the last purchase to as_of_date.")
    frequency: Series[int] = pa.Field(ge=1, description="Purchase orders.")
    monetary: Series[float] = pa.Field(description="Net revenue (purchases less cancellations).")
    r_score: Series[int] = pa.Field(ge=1, le=5, description="Recency quintile score, 5 = most recent.")
    f_score: Series[int] = pa.Field(ge=1, le=5, description="Frequency quintile score, 5 = most orders.")
    m_score: Series[int] = pa.Field(ge=1, le=5, description="Monetary quintile score, 5 = highest net revenue.")
    rfm_code: Series[str] = pa.Field(str_matches=r"^[1-5]{3}$", description="r, f and m scores as a 3-character code, e.g. '545'.")
    rfm_total: Series[int] = pa.Field(ge=3, le=15, description="r_score + f_score + m_score.")
    segment: Series[str] = pa.Field(description="Segment from analytics.rfm_segment_map.")
    recommended_action: Series[str] = pa.Field(description="What to do with the segment.")


class RfmSegmentMap(_Base):
    """All 125 (r, f, m) score triples and the one segment each maps to."""

    r_score: Series[int] = pa.Field(ge=1, le=5, description="Recency score.")
    f_score: Series[int] = pa.Field(ge=1, le=5, description="Frequency score.")
    m_score: Series[int] = pa.Field(ge=1, le=5, description="Monetary score.")
    segment: Series[str] = pa.Field(description="Segment name.")
    recommended_action: Series[str] = pa.Field(description="What to do with the segment.")
    rule: Series[str] = pa.Field(description="The rule (first match in order) that assigned the segment.")


class CohortRetention(_Base):
    """Monthly acquisition cohorts x months since acquisition, the full grid as of a snapshot."""

    as_of_date: Series[pd.Timestamp] = _date("Snapshot date.")
    cohort_month: Series[pd.Timestamp] = _date("Month of the customers' first purchase (first day).")
    period_number: Series[int] = pa.Field(ge=0, description="Calendar months since cohort_month (0 = acquisition month).")
    period_month: Series[pd.Timestamp] = _date("cohort_month + period_number months.")
    cohort_customers: Series[int] = pa.Field(ge=1, description="Customers acquired in cohort_month.")
    active_customers: Series[pd.Int64Dtype] = pa.Field(nullable=True, ge=0, description="Cohort customers with a purchase in period_month; 0 when observed and empty, NULL when not observable yet.")
    retention_rate: Series[float] = pa.Field(nullable=True, ge=0, le=1, description="active_customers / cohort_customers; NULL when not observable.")
    revenue: Series[float] = pa.Field(nullable=True, description="Net revenue of the cohort in period_month; NULL when not observable.")
    revenue_retention_rate: Series[float] = pa.Field(nullable=True, description="revenue / revenue of period 0; NULL when not observable or period 0 revenue is not positive.")
    is_observable: Series[bool] = pa.Field(description="period_month is on or before the as-of month.")
    is_complete_period: Series[bool] = pa.Field(description="The whole period_month is observed (false for the partial month at the end of the data and for unobservable cells).")
    projected_retention_rate: Series[float] = pa.Field(nullable=True, ge=0, le=1, description="Shifted-beta-geometric survival S(t) fitted on the cohort's complete observed periods: the fit where observed, the projection where not. NULL when the cohort cannot be fitted (see sbg_status).")
    sbg_alpha: Series[float] = pa.Field(nullable=True, description="sBG alpha of the cohort.")
    sbg_beta: Series[float] = pa.Field(nullable=True, description="sBG beta of the cohort.")
    sbg_status: Series[str] = pa.Field(description="ok, or why the cohort was not fitted.")


class Clv(_Base):
    """Customer lifetime value per customer and snapshot: historical (valued at as-of), predictive
    (BTYD purchase model chosen on a holdout + Gamma-Gamma spend) and, where MRR exists, subscription CLV."""

    as_of_date: Series[pd.Timestamp] = _date("Snapshot date; every cash flow is valued at this date.")
    customer_id: Series[str] = pa.Field(description="Customer identifier.")
    historical_revenue: Series[float] = pa.Field(description="Undiscounted net revenue up to as_of_date.")
    historical_value: Series[float] = pa.Field(description="Net revenue compounded to as_of_date at annual_discount_rate: sum of amount x (1 + rate)^(years from order to as-of).")
    annual_discount_rate: Series[float] = pa.Field(ge=0, description="Annual rate used for historical_value and clv_12m.")
    predicted_purchases_12m: Series[float] = pa.Field(ge=0, description="Expected repeat purchases (distinct purchase days) in the next 12 months, from the chosen model.")
    probability_alive: Series[float] = pa.Field(nullable=True, ge=0, le=1, description="P(customer still active) from the chosen model; NULL when no model could be fitted.")
    expected_order_value: Series[float] = pa.Field(nullable=True, ge=0, description="Gamma-Gamma expected spend per purchase day (population mean for customers without positive repeat spend).")
    clv_12m: Series[float] = pa.Field(ge=0, description="Margin x expected order value x expected purchases per month over 12 months, discounted monthly; never NaN or negative.")
    margin: Series[float] = pa.Field(ge=0, description="Gross margin applied to clv_12m and saas_clv.")
    model: Series[str] = pa.Field(description="Purchase model used (bg_nbd, mbg_nbd, pareto_nbd), 'insufficient_data', or 'no_purchases' (only cancellations seen).")
    order_value_basis: Series[str] = pa.Field(nullable=True, description="Where expected_order_value comes from (gamma_gamma, or a flagged fallback).")
    saas_clv: Series[float] = pa.Field(nullable=True, ge=0, description="Subscription CLV: MRR x margin x min(1 / monthly churn of the plan, 60 months); NULL without MRR.")


class ClvModels(_Base):
    """Every fitted CLV model per snapshot: one row per model x parameter, with fit and holdout metrics."""

    as_of_date: Series[pd.Timestamp] = _date("Snapshot date.")
    model: Series[str] = pa.Field(description="bg_nbd, mbg_nbd, pareto_nbd or gamma_gamma.")
    parameter: Series[str] = pa.Field(description="Parameter name (r, alpha, a, b, s, beta, p, q, v).")
    value: Series[float] = pa.Field(nullable=True, description="Fitted value.")
    time_unit: Series[str] = pa.Field(description="Time unit of the purchase model (week by default); 'currency' for Gamma-Gamma.")
    time_unit_days: Series[float] = pa.Field(nullable=True, description="Days per time unit.")
    log_likelihood: Series[float] = pa.Field(nullable=True, description="Total log-likelihood of the fit.")
    n_customers: Series[int] = pa.Field(ge=0, description="Customers the model was fitted on.")
    fit_status: Series[str] = pa.Field(description="ok, or why the fit failed / was rejected.")
    penalizer_coef: Series[float] = pa.Field(nullable=True, description="L2 penalizer used (retries add one when a fit does not converge).")
    holdout_status: Series[str] = pa.Field(nullable=True, description="ok, not_run (with the reason in the asset metadata) or not_applicable.")
    holdout_weeks: Series[float] = pa.Field(nullable=True, description="Length of the holdout window inside the snapshot.")
    holdout_actual_total: Series[float] = pa.Field(nullable=True, description="Actual repeat purchases in the holdout.")
    holdout_predicted_total: Series[float] = pa.Field(nullable=True, description="Predicted repeat purchases in the holdout.")
    holdout_mae: Series[float] = pa.Field(nullable=True, description="Mean absolute error per customer in the holdout.")
    holdout_rmse: Series[float] = pa.Field(nullable=True, description="Root mean squared error per customer in the holdout.")
    is_chosen: Series[bool] = pa.Field(description="This model feeds the clv columns (lowest holdout MAE; BG/NBD without holdout).")


class ClvHoldoutBins(_Base):
    """Holdout check per model: mean actual vs predicted repeat purchases by calibration frequency."""

    as_of_date: Series[pd.Timestamp] = _date("Snapshot date.")
    model: Series[str] = pa.Field(description="Purchase model.")
    frequency_bin: Series[str] = pa.Field(description="Repeat purchases in calibration: 0..6 or 7+.")
    n_customers: Series[int] = pa.Field(ge=0, description="Customers in the bin.")
    mean_actual: Series[float] = pa.Field(nullable=True, description="Mean actual holdout purchases; NULL for an empty bin.")
    mean_predicted: Series[float] = pa.Field(nullable=True, description="Mean predicted holdout purchases; NULL for an empty bin.")


def _num(description: str) -> object:
    return pa.Field(nullable=True, description=description)


class ChurnFeatures(_Base):
    """Point-in-time churn features, one row per customer active at as_of_date; data after as-of is never used.
    Subscription columns are NULL for orders-only datasets; NULL means no data, never an imputed value."""

    as_of_date: Series[pd.Timestamp] = _date("Snapshot date.")
    customer_id: Series[str] = pa.Field(description="Customer identifier.")
    days_since_last_login: Series[float] = _num("Days since the last login.")
    logins_last_30d: Series[float] = _num("Logins in the 30 days to as-of.")
    logins_prev_30d: Series[float] = _num("Logins in the 30 days before those.")
    login_trend: Series[float] = _num("Relative change of logins, last 30 d vs previous 30 d (-1 = fell to zero, capped at +3).")
    features_used_last_30d: Series[float] = _num("Mean distinct features used per active day, last 30 days.")
    open_tickets: Series[float] = _num("Support tickets open at as-of.")
    tickets_last_90d: Series[float] = _num("Tickets opened in the last 90 days.")
    days_since_last_nps: Series[float] = _num("Days since the last NPS answer.")
    last_nps_score: Series[float] = _num("Last NPS answer 0-10; NULL when never answered.")
    last_nps_state: Series[str] = pa.Field(nullable=True, description="promoter, passive, detractor or none (never answered: its own state, not imputed).")
    is_monthly_contract: Series[float] = _num("1 for month-to-month, 0 for annual.")
    contract_months_remaining: Series[float] = _num("Months to the end of the committed term.")
    plan_age_months: Series[float] = _num("Months since the subscription started.")
    mrr: Series[float] = _num("MRR in force at as-of.")
    mrr_change_pct_90d: Series[float] = _num("Relative MRR change over the last 90 days.")
    recency_days: Series[float] = _num("Days since the last purchase/invoice.")
    tenure_days: Series[float] = _num("Days since the first purchase.")
    frequency: Series[float] = _num("Purchases (invoices) to date.")
    monetary: Series[float] = _num("Net spend to date.")
    orders_last_90d: Series[float] = _num("Purchases in the last 90 days.")
    orders_prev_90d: Series[float] = _num("Purchases in the 90 days before those.")
    spend_last_90d: Series[float] = _num("Net spend in the last 90 days.")
    spend_prev_90d: Series[float] = _num("Net spend in the 90 days before those.")
    spend_trend: Series[float] = _num("Relative change of spend, last 90 d vs previous 90 d.")


class ChurnScores(_Base):
    """Churn risk per customer active at the as-of date, from the model named in model_version."""

    as_of_date: Series[pd.Timestamp] = _date("Snapshot date.")
    customer_id: Series[str] = pa.Field(description="Customer identifier.")
    churn_probability: Series[float] = pa.Field(ge=0, le=1, description="Calibrated probability of churning in the next 90 days.")
    risk_level: Series[str] = pa.Field(isin=["very high", "high", "medium", "low"], description="very high > 80 %, high 60-80 %, medium 40-60 %, low < 40 %.")
    top_risk_factors: Series[str] = pa.Field(description="1-3 factors pushing this customer's risk up most, '; '-separated, in plain words.")
    recommended_action: Series[str] = pa.Field(description="What to do at this risk level.")
    model_version: Series[str] = pa.Field(description="Model that produced the score (analytics.churn_models).")


class ChurnModelMetrics(_Base):
    """One row per snapshot: the model trained (or kept) and its time-based holdout metrics."""

    as_of_date: Series[pd.Timestamp] = _date("Snapshot the model serves.")
    model_version: Series[str] = pa.Field(nullable=True, description="Model serving this snapshot; NULL when no model could be trained yet.")
    status: Series[str] = pa.Field(isin=["trained", "kept_previous", "no_model"], description="trained now, kept the last good model, or none yet.")
    message: Series[str] = pa.Field(description="Why (e.g. too few churners to train).")
    roc_auc: Series[float] = _num("ROC-AUC on the latest fully labelled snapshot (trained on earlier ones).")
    pr_auc: Series[float] = _num("Average precision on the test snapshot.")
    brier: Series[float] = _num("Brier score (calibration) on the test snapshot.")
    positive_rate: Series[float] = _num("Churn rate in the test snapshot (base rate).")
    lift_top_decile: Series[float] = _num("Churn rate of the riskiest 10 % / base rate.")
    n_train: Series[pd.Int64Dtype] = pa.Field(nullable=True, description="Training rows.")
    n_test: Series[pd.Int64Dtype] = pa.Field(nullable=True, description="Test rows.")
    features: Series[str] = pa.Field(nullable=True, description="JSON list of model features.")
    train_window_start: Series[pd.Timestamp] = _date("First training snapshot (evaluation model).", nullable=True)
    train_window_end: Series[pd.Timestamp] = _date("Last training snapshot (evaluation model).", nullable=True)
    test_as_of: Series[pd.Timestamp] = _date("Test snapshot.", nullable=True)
    served_window_end: Series[pd.Timestamp] = _date("Last labelled snapshot the served model was refit on.", nullable=True)


class ChurnModels(_Base):
    """The fitted churn models, so every score can be traced to (and reloaded as) its model."""

    as_of_date: Series[pd.Timestamp] = _date("Snapshot the model was trained at.")
    model_version: Series[str] = pa.Field(description="Deterministic model id.")
    sklearn_version: Series[str] = pa.Field(description="scikit-learn version that pickled it (loading needs the same).")
    model_bytes: Series[object] = pa.Field(description="Pickled model (customer_pipeline.analytics.churn.model_from_bytes).", metadata={"sql_type": "BLOB"})


class HealthScores(_Base):
    """0-100 health score from fixed-scale components; a component without data is left out and the
    others renormalised (coverage says how much weight was available)."""

    as_of_date: Series[pd.Timestamp] = _date("Snapshot date.")
    customer_id: Series[str] = pa.Field(description="Customer identifier.")
    health_score: Series[float] = pa.Field(nullable=True, ge=0, le=100, description="0-100; NULL only when no component has data.")
    band: Series[str] = pa.Field(nullable=True, isin=["red", "yellow", "green"], description="red <= 50, yellow <= 75, green > 75.")
    engagement_score: Series[float] = _num("Subscription: logins last 30 days, 100 at 20+ (weight 40).")
    features_score: Series[float] = _num("Subscription: features used per active day, 100 at 5+ (weight 20).")
    support_score: Series[float] = _num("Subscription: 100 - 30 per open ticket - 10 per ticket in 90 days (weight 20).")
    nps_score: Series[float] = _num("Subscription: last NPS answer x 10 within 365 days (weight 20).")
    recency_score: Series[float] = _num("Orders: 100 up to 30 days since last purchase, 0 at 365 (weight 50).")
    frequency_score: Series[float] = _num("Orders: purchases in 90 days, 100 at 3+ (weight 25).")
    spend_trend_score: Series[float] = _num("Orders: spend last 90 d vs previous 90 d, 100 if not falling (weight 25).")
    coverage: Series[float] = pa.Field(ge=0, le=1, description="Share of the component weight that had data.")
    change_vs_previous: Series[float] = _num("health_score minus the previous snapshot's; NULL for a customer new to the snapshot.")


class KpisMonthly(_Base):
    """Monthly KPIs, one row per calendar month, computed as of the month's end (or the last day of data)."""

    month: Series[pd.Timestamp] = _date("First day of the month.")
    as_of_date: Series[pd.Timestamp] = _date("Last day seen for this month.")
    is_complete_month: Series[bool] = pa.Field(description="as_of_date is the month's last day (false for a partial final month).")
    active_customers: Series[int] = pa.Field(ge=0, description="Subscription: in force at as-of. Orders: purchased within the inactivity window (90 days) before as-of.")
    new_customers: Series[int] = pa.Field(ge=0, description="First subscription / first purchase in the month.")
    churned_customers: Series[int] = pa.Field(ge=0, description="Subscription: service ended in the month. Orders: active at the month start, lapsed by as-of.")
    churn_rate: Series[float] = _num("Churned among customers active the day before the month / those customers.")
    revenue: Series[float] = _num("Net order revenue in the month.")
    arpu: Series[float] = _num("revenue / active_customers.")
    mrr: Series[float] = _num("MRR in force at as-of (subscriptions only).")
    nrr: Series[float] = _num("Net revenue retention: MRR at as-of of the customers active at month start / their MRR then.")
    grr: Series[float] = _num("Gross revenue retention: as nrr with each customer's MRR capped at its start value.")
    nps: Series[float] = _num("Group NPS -100..100 of the answers in the month: % promoters (9-10) - % detractors (0-6).")
    nps_responses: Series[int] = pa.Field(ge=0, description="NPS answers in the month.")
    marketing_spend: Series[float] = _num("Marketing spend in the month.")
    cac: Series[float] = _num("marketing_spend / new_customers.")
    ltv: Series[float] = _num("arpu x gross margin x min(1 / churn_rate, 60 months).")
    ltv_to_cac: Series[float] = _num("ltv / cac; the rule of thumb wants >= 3.")
    definitions: Series[str] = pa.Field(description="The definitions used for this dataset kind.")


TABLES: dict[str, type[pa.DataFrameModel]] = {
    "raw.orders": RawOrders,
    "raw.customers": RawCustomers,
    "raw.load_log": LoadLog,
    "quarantine.orders": QuarantineOrders,
    "analytics.customer_360": Customer360,
    "analytics.rfm": Rfm,
    "analytics.rfm_segment_map": RfmSegmentMap,
    "analytics.cohort_retention": CohortRetention,
    "analytics.clv": Clv,
    "analytics.clv_models": ClvModels,
    "analytics.clv_holdout_bins": ClvHoldoutBins,
    "raw.subscriptions": RawSubscriptions,
    "raw.mrr_changes": RawMrrChanges,
    "raw.usage_daily": RawUsageDaily,
    "raw.support_tickets": RawSupportTickets,
    "raw.nps_responses": RawNpsResponses,
    "raw.marketing_spend": RawMarketingSpend,
    "quarantine.saas_tables": SaasQuarantine,
    "analytics.churn_features": ChurnFeatures,
    "analytics.churn_scores": ChurnScores,
    "analytics.churn_model_metrics": ChurnModelMetrics,
    "analytics.churn_models": ChurnModels,
    "analytics.health_scores": HealthScores,
    "analytics.kpis_monthly": KpisMonthly,
}

_SQL_TYPES = {
    "str": "VARCHAR",
    "int64": "BIGINT",
    "Int64": "BIGINT",
    "float64": "DOUBLE",
    "bool": "BOOLEAN",
    "boolean": "BOOLEAN",
    "datetime64[ns]": "TIMESTAMP",
    "object": "BLOB",
}


def sql_columns(model: type[pa.DataFrameModel]) -> dict[str, str]:
    """Column name -> DuckDB type, in contract order."""
    out = {}
    for name, col in model.to_schema().columns.items():
        sql_type = (col.metadata or {}).get("sql_type") or _SQL_TYPES[str(col.dtype)]
        out[name] = sql_type
    return out


def model_for(table: str) -> type[pa.DataFrameModel]:
    try:
        return TABLES[table]
    except KeyError:
        raise KeyError(f"no pandera contract for table {table!r}; add it to schemas.TABLES") from None


def validate(frame: pd.DataFrame, model: type[pa.DataFrameModel], what: str) -> pd.DataFrame:
    """Validate lazily (every failure reported at once) and return the coerced frame."""
    try:
        return model.validate(frame, lazy=True)
    except pa.errors.SchemaErrors as err:
        cases = err.failure_cases.head(20).to_string()
        raise ValueError(f"{what} violates its contract {model.__name__} ({len(err.failure_cases)} failures):\n{cases}") from err


def describe_tables_markdown() -> str:
    """The consumer table reference (docs/tables.md), generated from the models above."""
    lines = ["# Table reference", "", "Generated from `customer_pipeline/schemas.py` by "
             "`python -m customer_pipeline.docs`; do not edit by hand.", ""]
    for table, model in TABLES.items():
        lines += [f"## `{table}`", "", (model.__doc__ or "").strip().replace("\n    ", " "), "",
                  "| column | type | nullable | meaning |", "|---|---|---|---|"]
        types = sql_columns(model)
        for name, col in model.to_schema().columns.items():
            lines.append(f"| `{name}` | {types[name]} | {'yes' if col.nullable else 'no'} | {col.description or ''} |")
        lines.append("")
    return "\n".join(lines)
