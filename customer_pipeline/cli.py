"""`python -m customer_pipeline.cli run`: materialise every asset, every partition, then summarise.

One run per monthly partition, in month order (each snapshot reads all earlier months), plus one
run for the reference tables, all recorded in the Dagster instance ($DAGSTER_HOME) so they show
up in the UI.
"""
from __future__ import annotations

import argparse
import os
import sys
import time

QUIET = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}


def _summary(db: str) -> str:
    from customer_pipeline.storage import warehouse

    lines = [f"database: {db}", f"{'table':34} {'rows':>12}  partitions"]
    with warehouse.connect(db, read_only=True) as con:
        tables = con.execute("SELECT table_schema, table_name FROM information_schema.tables "
                             "ORDER BY table_schema, table_name").fetchall()
        for schema, name in tables:
            n = con.execute(f'SELECT count(*) FROM "{schema}"."{name}"').fetchone()[0]
            cols = {r[0] for r in con.execute(
                "SELECT column_name FROM information_schema.columns WHERE table_schema=? AND table_name=?",
                [schema, name]).fetchall()}
            pcol = next((c for c in ("as_of_date", "partition_month") if c in cols), None)
            parts = con.execute(f'SELECT count(DISTINCT "{pcol}") FROM "{schema}"."{name}"').fetchone()[0] if pcol else "-"
            lines.append(f"{schema + '.' + name:34} {n:>12,}  {parts}")
    return "\n".join(lines)


def run(dataset: str | None, only: list[str] | None = None) -> int:
    if dataset:
        os.environ["CUSTOMER_PIPELINE_DATASET"] = dataset
    import dagster as dg

    from customer_pipeline.definitions import defs
    from customer_pipeline.assets.common import partitions_def, profile
    from customer_pipeline.settings import database_path

    instance = dg.DagsterInstance.get() if os.environ.get("DAGSTER_HOME") else dg.DagsterInstance.ephemeral()
    prof = profile()
    keys = partitions_def().get_partition_keys()
    if only:
        unknown = sorted(set(only) - set(keys))
        if unknown:
            print(f"unknown partition(s) {unknown}; {prof.name} has {keys[0]} .. {keys[-1]}", file=sys.stderr)
            return 2
        keys = [k for k in keys if k in only]
    print(f"dataset {prof.name}: {len(keys)} monthly partitions {keys[0]} .. {keys[-1]}", flush=True)
    t0 = time.monotonic()
    result = defs.resolve_job_def("reference_job").execute_in_process(instance=instance, run_config=QUIET)
    if not result.success:
        return 1
    main = defs.resolve_job_def("main_job")
    for key in keys:
        t = time.monotonic()
        result = main.execute_in_process(partition_key=key, instance=instance, raise_on_error=False, run_config=QUIET)
        print(f"  {key}: {'ok' if result.success else 'FAILED'} in {time.monotonic() - t:.1f}s", flush=True)
        if not result.success:
            for ev in result.all_events:
                if ev.is_step_failure:
                    print(ev.step_failure_data.error.to_string() if ev.step_failure_data else ev, file=sys.stderr)
            return 1
    print(f"materialised every asset for {len(keys)} partitions in {time.monotonic() - t0:.0f}s\n")
    print(_summary(str(database_path(prof))))
    print("\nOpen the UI: make ui   (serves http://127.0.0.1:3000 with these runs)")
    print(f"Query: .venv/bin/python -c \"import duckdb; print(duckdb.connect('{database_path(prof)}', read_only=True).sql('FROM analytics.rfm LIMIT 5'))\"")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="customer_pipeline")
    sub = parser.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("run", help="materialise every asset and partition of a dataset profile")
    p.add_argument("--dataset", default=None, help="profile name (default: $CUSTOMER_PIPELINE_DATASET or cdnow)")
    p.add_argument("--partition", action="append", default=None,
                   help="only this partition key (e.g. 1997-03-01); repeatable. Snapshots read the months before it, "
                        "which must have been loaded already")
    s = sub.add_parser("summary", help="print the tables of a dataset's database")
    s.add_argument("--dataset", default=None)
    args = parser.parse_args(argv)
    if args.cmd == "run":
        return run(args.dataset, args.partition)
    if args.dataset:
        os.environ["CUSTOMER_PIPELINE_DATASET"] = args.dataset
    from customer_pipeline.settings import database_path

    print(_summary(str(database_path())))
    return 0


if __name__ == "__main__":
    sys.exit(main())
