"""Write docs/tables.md from the pandera contracts: `python -m customer_pipeline.docs`."""
from __future__ import annotations

from customer_pipeline.schemas import describe_tables_markdown
from customer_pipeline.settings import PROJECT_ROOT

TABLES_DOC = PROJECT_ROOT / "docs" / "tables.md"


def main() -> None:
    TABLES_DOC.parent.mkdir(exist_ok=True)
    TABLES_DOC.write_text(describe_tables_markdown() + "\n")
    print(f"wrote {TABLES_DOC}")


if __name__ == "__main__":
    main()
