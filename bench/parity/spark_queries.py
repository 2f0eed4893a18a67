#!/usr/bin/env python3
"""Queries ../shared/peers/spark_job.py has no mode for, run by Spark Structured
Streaming the same way (JSON files with an explicit schema, availableNow, Parquet out,
append mode), for bench/parity.sh to compare with ferry's answers.

Usage: spark_queries.py MODE INPUT_DIR OUT_DIR
MODE:
  sliding     withWatermark(ts, 10 s).groupBy(window(ts, 30 s, 10 s), event_type).count()
  sliding_1h  the same with window(ts, 1 h, 10 min) (bench/stateful.sh)
  session     withWatermark(ts, 10 s).groupBy(session_window(ts, 10 s), event_type)
              .agg(count, sum(value), min(value), max(value))
  join_inner  INPUT_DIR/sent joined with INPUT_DIR/opened (both watermarked 10 s) on
  join_left   channel, opened.ts BETWEEN sent.ts - 10 s AND sent.ts + 10 s; inner or
              left outer; the two message ids
  wordcount   JSON lines {"value": line}: explode(split(value, " ")) as word,
              groupBy(word).count(), complete mode (a memory sink, then Parquet)
Prints one line, RESULT {json}: mode, output_rows, end_to_end_s and jvm_peak_rss_mb
(the RSS of this process's children, sampled every 0.5 s, as the peers' spark_job.py).
"""
import json
import os
import shutil
import sys
import threading
import time

from pyspark.sql import SparkSession, functions as F, types as T

PEAK_KB = [0]


def descendants(root):
    kids = {}
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                ppid = int(open(f"/proc/{d}/stat").read().rsplit(")", 1)[1].split()[1])
                kids.setdefault(ppid, []).append(int(d))
            except Exception:
                pass
    found, todo = [], [root]
    while todo:
        for kid in kids.get(todo.pop(), []):
            found.append(kid)
            todo.append(kid)
    return found


def sample_rss():
    while True:
        total = 0
        for pid in descendants(os.getpid()):
            try:
                total += sum(int(line.split()[1]) for line in open(f"/proc/{pid}/status")
                             if line.startswith("VmRSS"))
            except Exception:
                pass
        PEAK_KB[0] = max(PEAK_KB[0], total)
        time.sleep(0.5)


threading.Thread(target=sample_rss, daemon=True).start()
started = time.perf_counter()
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


def report():
    rows = spark.read.parquet(f"{out}/out").count()
    spark.stop()
    print("RESULT " + json.dumps({
        "mode": mode, "output_rows": rows,
        "end_to_end_s": round(time.perf_counter() - started, 3),
        "jvm_peak_rss_mb": round(PEAK_KB[0] / 1024)}), flush=True)


def stream(path):
    return (spark.readStream.format("json").schema(schema).load(path)
            .withColumn("ts", F.to_timestamp("timestamp"))
            .withWatermark("ts", "10 seconds"))


if mode.startswith("join_"):
    sent, opened = stream(f"{source}/sent").alias("l"), stream(f"{source}/opened").alias("r")
    on = (F.col("l.channel") == F.col("r.channel")) & F.expr(
        "r.ts BETWEEN l.ts - INTERVAL 10 SECONDS AND l.ts + INTERVAL 10 SECONDS")
    how = "inner" if mode == "join_inner" else "leftOuter"
    result = sent.join(opened, on, how).select(
        F.col("l.message_id").alias("message_id"), F.col("r.message_id").alias("right_message_id"))
    query = (result.writeStream.format("parquet").option("path", f"{out}/out")
             .option("checkpointLocation", f"{out}/chk").outputMode("append")
             .trigger(availableNow=True).start())
    query.awaitTermination()
    report()
    sys.exit(0)
if mode == "wordcount":
    lines = spark.readStream.format("json").schema("value STRING").load(source)
    words = lines.select(F.explode(F.split("value", " ")).alias("word"))
    query = (words.groupBy("word").count().writeStream.format("memory").queryName("counts")
             .outputMode("complete").trigger(availableNow=True).start())
    query.awaitTermination()
    spark.table("counts").write.parquet(f"{out}/out")
    report()
    sys.exit(0)
rows = stream(source)
if mode in ("sliding", "sliding_1h"):
    window = (F.window("ts", "30 seconds", "10 seconds") if mode == "sliding"
              else F.window("ts", "1 hour", "10 minutes"))
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
report()
