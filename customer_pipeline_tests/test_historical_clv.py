from datetime import date

import pytest

from customer_pipeline.analytics.clv import historical_clv
from customer_pipeline_tests.conftest import connection_with_orders


def test_worked_example_values_both_customers_at_the_same_date():
    # A buys 100 on 2020-01-01 and 2021-01-01; B on 2021-01-01 and 2022-01-01; 10 % a year; as of 2022-01-01.
    con = connection_with_orders([("A", "2020-01-01", 100), ("A", "2021-01-01", 100),
                                  ("B", "2021-01-01", 100), ("B", "2022-01-01", 100)])
    out = historical_clv(con, date(2022, 1, 1), 0.10).set_index("customer_id")
    # 100 * 1.1^2 + 100 * 1.1 = 231 and 100 * 1.1 + 100 = 210 (years measured as days / 365.25)
    assert out.loc["A", "historical_value"] == pytest.approx(231.0, abs=0.05)
    assert out.loc["B", "historical_value"] == pytest.approx(210.0, abs=0.05)
    assert out.loc["A", "historical_revenue"] == 200


def test_orders_after_as_of_are_not_seen_and_zero_rate_is_plain_revenue():
    con = connection_with_orders([("A", "2020-01-01", 100), ("A", "2020-06-01 13:00", 50), ("A", "2020-06-02", 70)])
    out = historical_clv(con, date(2020, 6, 1), 0.0).set_index("customer_id")
    assert out.loc["A", "historical_value"] == pytest.approx(150.0)


def test_rejects_nonsense_rate():
    con = connection_with_orders([("A", "2020-01-01", 100)])
    with pytest.raises(ValueError, match="annual_discount_rate"):
        historical_clv(con, date(2020, 6, 1), -0.1)
