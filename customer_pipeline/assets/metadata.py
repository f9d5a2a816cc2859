"""Metadata helpers: column schemas from the pandera contract, previews and pictures."""
from __future__ import annotations

import base64
import io

import dagster as dg
import pandas as pd

from customer_pipeline import schemas


def column_schema(table: str) -> dg.TableSchema:
    model = schemas.model_for(table)
    types = schemas.sql_columns(model)
    cols = []
    for name, col in model.to_schema().columns.items():
        cols.append(dg.TableColumn(name=name, type=types[name], description=col.description,
                                   constraints=dg.TableColumnConstraints(nullable=bool(col.nullable))))
    return dg.TableSchema(columns=cols)


def table_metadata(table: str, partition_column: str | None) -> dict:
    """Static metadata attached to an asset definition."""
    md = {"dagster/column_schema": column_schema(table), "dagster/table_name": table}
    if partition_column:
        md["partition_column"] = partition_column
    return md


def preview(df: pd.DataFrame, rows: int = 10) -> dg.MetadataValue:
    head = df.head(rows).copy()
    for c in head.columns:
        if pd.api.types.is_float_dtype(head[c]):
            head[c] = head[c].round(4)
    return dg.MetadataValue.md(head.to_markdown(index=False) if len(head) else "_(no rows)_")


def png(fig) -> dg.MetadataValue:
    """A matplotlib figure as an inline picture in the asset's metadata."""
    import matplotlib.pyplot as plt

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90, bbox_inches="tight")
    plt.close(fig)
    return dg.MetadataValue.md(f"![chart](data:image/png;base64,{base64.b64encode(buf.getvalue()).decode()})")
