#!/usr/bin/env python3
"""Window queries ../shared/peers/spark_job.py has no mode for, run by Spark Structured
Streaming the same way (JSON files with an explicit schema, availableNow, Parquet out,
append mode), for bench/parity.sh to compare with ferry's answers.

Usage: spark_windows.py MODE INPUT_DIR OUT_DIR
MODE:
  sliding  withWatermark(ts, 10 s).groupBy(window(ts, 30 s, 10 s), event_type).count()
  session  withWatermark(ts, 10 s).groupBy(session_window(ts, 10 s), event_type)
           .agg(count, sum(value), min(value), max(value))
"""
import shutil
import sys

from pyspark.sql import SparkSession, functions as F, types as T

mode, source, out = sys.argv[1:4]
shutil.rmtree(out, ignore_errors=True)
spark = (SparkSession.builder.master("local[2]").appName(f"parity-{mode}")
         .config("spark.sql.shuffle.partitions", 4)
         .config("spark.ui.enabled", "false")
         .config("spark.sql.session.timeZone", "UTC")
         .getOrCreate())
spark.sparkContext.setLogLevel("WARN")
schema = T.StructType([
    T.StructField("timestamp", T.StringType()),
    T.StructField("value", T.IntegerType()),
    T.StructField("event_type", T.StringType()),
    T.StructField("message_id", T.StringType()),
    T.StructField("channel", T.StringType()),
    T.StructField("country_id", T.IntegerType()),
    T.StructField("user_id", T.IntegerType()),
])
rows = (spark.readStream.format("json").schema(schema).load(source)
        .withColumn("ts", F.to_timestamp("timestamp"))
        .withWatermark("ts", "10 seconds"))
if mode == "sliding":
    window = F.window("ts", "30 seconds", "10 seconds")
    result = rows.groupBy(window.alias("w"), "event_type").agg(F.count("*").alias("count"))
elif mode == "session":
    window = F.session_window("ts", "10 seconds")
    result = rows.groupBy(window.alias("w"), "event_type").agg(
        F.count("*").alias("count"), F.sum("value").alias("total"),
        F.min("value").alias("lo"), F.max("value").alias("hi"))
else:
    raise SystemExit(f"unknown mode {mode}")
result = result.select(F.col("w.start").alias("window_start"), F.col("w.end").alias("window_end"),
                       *[c for c in result.columns if c != "w"])
query = (result.writeStream.format("parquet").option("path", f"{out}/out")
         .option("checkpointLocation", f"{out}/chk").outputMode("append")
         .trigger(availableNow=True).start())
query.awaitTermination()
print(f"RESULT {mode}: {spark.read.parquet(f'{out}/out').count()} rows")
spark.stop()
