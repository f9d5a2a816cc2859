from customer_pipeline.docs import TABLES_DOC
from customer_pipeline.schemas import describe_tables_markdown


def test_table_reference_is_generated_from_the_contracts():
    """docs/tables.md must match schemas.py: run `make docs` after changing a contract."""
    assert TABLES_DOC.read_text() == describe_tables_markdown() + "\n"
