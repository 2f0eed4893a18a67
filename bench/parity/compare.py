#!/usr/bin/env python3
"""Compares a ferry output folder with a Spark one, row for row (pyarrow reads both).

Usage: compare.py FERRY_DIR SPARK_DIR COLUMNS [HELD_DELAY_S]   (COLUMNS comma-separated).
Spark's jobs read `timestamp` as a string and parse it into `ts`; ferry declares
`timestamp` a TIMESTAMP, so Spark's `ts` is compared as `timestamp`. With HELD_DELAY_S,
ferry holds rows until the watermark (the maximum time less that delay) reaches them,
and an `available_now` run ends with the newest still held for the next run, where Spark
emits at once: Spark's rows newer than that watermark are left out. Prints one JSON
line; exits 1 on any difference.
"""
import json
import sys

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds

ferry_dir, spark_dir, columns = sys.argv[1], sys.argv[2], sys.argv[3].split(",")
held_delay = float(sys.argv[4]) if len(sys.argv) > 4 else None


def rows(table):
    table = table.select(columns)
    for name in ("timestamp", "window_start", "window_end"):
        if name in columns:
            cast = pc.cast(table[name], pa.timestamp("us", tz="UTC"))
            table = table.set_column(columns.index(name), name, cast)
    return sorted(tuple(map(str, r.values())) for r in table.to_pylist())


ferry = rows(ds.dataset(ferry_dir, format="parquet").to_table())
spark = ds.dataset(spark_dir, format="parquet").to_table()
if "ts" in spark.column_names:
    spark = spark.drop_columns(["timestamp"])
    spark = spark.rename_columns(["timestamp" if c == "ts" else c for c in spark.column_names])
if held_delay is not None:
    times = pc.cast(spark["timestamp"], pa.timestamp("us", tz="UTC"))
    watermark = pc.subtract(pc.max(times), pa.scalar(int(held_delay * 1e6), pa.duration("us")))
    spark = spark.filter(pc.less_equal(times, watermark))
spark = rows(spark)
print(json.dumps({
    "ferry_rows": len(ferry), "spark_rows": len(spark), "same": ferry == spark,
    "only_ferry": sorted(set(ferry) - set(spark))[:5],
    "only_spark": sorted(set(spark) - set(ferry))[:5],
}))
sys.exit(0 if ferry == spark else 1)
