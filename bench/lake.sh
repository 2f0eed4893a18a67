#!/usr/bin/env bash
# The lake benchmark, with the peers on the same input in the same run: JSON lines (~1M
# rows, 20 files) -> the sql transform doing the peers' whole filter/derive (ts,
# event_date, value_bucket, is_engagement) -> Parquet partitioned by event_date
# (bench/lake-etl.toml). Also ferry without the transform (bench/lake-raw.toml) and the
# transform thread's own CPU time, for the transform's cost. Checks that every engine
# writes the same rows as the pyarrow peer (and Spark's, when it runs), value for value.
# Prints one JSON line per measurement and files per GB for short epochs (100 ms
# checkpoints, with open files kept across checkpoints and with every file closed at
# every checkpoint).
#
#   bash bench/lake.sh              # 1M rows, 3 repeats, pyarrow peer
#   SPARK=1 bash bench/lake.sh      # also Spark Structured Streaming (pip installs pyspark)
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/common.sh
export WORK="$PWD/bench/out/lake"
results="$WORK/results.jsonl"
rm -rf "$WORK" && mkdir -p "$WORK"

cargo build --release --quiet -p ferry -p ferry-file -p ferry-sql -p ferry-lake
messages_input

lake_stats() {  # rows, files, bytes, files per GB of a lake folder (data files only)
  python3 - "$1" "$2" <<'PY'
import json, os, sys
import pyarrow.dataset as ds
lake, name = sys.argv[1], sys.argv[2]
files = [os.path.join(d, f) for d, dirs, fs in os.walk(lake)
         for f in fs if f.endswith(".parquet") and "/_" not in d[len(lake):] and "/." not in d[len(lake):]]
size = sum(os.path.getsize(f) for f in files)
rows = ds.dataset(lake, format="parquet", partitioning="hive").count_rows()
print(json.dumps({"name": name, "output_rows": rows, "files": len(files), "mb": round(size / 1e6, 1),
                  "files_per_gb": round(len(files) / (size / 1e9), 1) if size else 0}))
PY
}

same_rows() {  # LAKE PEER_LAKE NAME TS: the two lakes hold the same rows, all columns
  python3 - "$@" <<'PY'
import sys, duckdb
ours, peer, name, unit = sys.argv[1:]
# pyarrow's peer keeps ts to the second (it parses the first 19 characters); Spark's and
# ferry's keep the milliseconds, so against pyarrow ferry's ts is compared truncated.
ts = {"s": "epoch_ms(date_trunc('second', ts))", "ms": "epoch_ms(ts)"}
def rows(lake, t):
    return (f"SELECT timestamp, value, event_type, message_id, channel, country_id, user_id, "
            f"{t} AS ts, CAST(event_date AS DATE) AS event_date, value_bucket, is_engagement "
            f"FROM read_parquet('{lake}/event_date=*/*.parquet', hive_partitioning = true)")
a, b = rows(ours, ts[unit]), rows(peer, ts["ms"])
n_a, n_b = (duckdb.sql(f"SELECT count(*) FROM ({q})").fetchall()[0][0] for q in (a, b))
only_a, only_b = (duckdb.sql(f"SELECT count(*) FROM ({x} EXCEPT ALL {y})").fetchall()[0][0]
                  for x, y in ((a, b), (b, a)))
print(f"== ferry vs {name}: {n_a} vs {n_b} rows, {only_a} only in ferry's, {only_b} only in {name}'s")
sys.exit(0 if n_a == n_b and only_a == only_b == 0 else 1)
PY
}

transform_cpu() {  # the sql node's thread's CPU seconds against the whole process's, one run
  python3 - "$@" <<'PY'
import json, os, resource, subprocess, sys, time
cmd = sys.argv[1:]
tick = os.sysconf("SC_CLK_TCK")
env = {k: v for k, v in os.environ.items() if k != "CARGO_TARGET_DIR"}  # as measure.py
p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
threads = {}  # tid -> (name, CPU seconds), sampled until the process ends
while p.poll() is None:
    try:
        for tid in os.listdir(f"/proc/{p.pid}/task"):
            stat = open(f"/proc/{p.pid}/task/{tid}/stat").read()
            fields = stat[stat.rindex(")") + 2:].split()
            threads[tid] = (stat[stat.index("(") + 1:stat.rindex(")")],
                            (int(fields[11]) + int(fields[12])) / tick)
    except (FileNotFoundError, ProcessLookupError):
        pass
    time.sleep(0.02)
used = resource.getrusage(resource.RUSAGE_CHILDREN)
total = used.ru_utime + used.ru_stime
sql = sum(s for name, s in threads.values() if name == "lake-etl/clean")
print(json.dumps({"name": "ferry-lake-etl sql thread CPU", "sql_cpu_s": round(sql, 2),
                  "ferry_cpu_s": round(total, 2), "share": round(sql / total, 3), "exit": p.returncode}))
PY
}

echo "== JSON lines -> sql (filter, derive) -> lake(parquet, by event_date) ($ROWS rows, 20 files), load: $(uptime)"
for i in $(seq "$REPEAT"); do
  rm -rf "$WORK/state" "$WORK/lake-10s" "$WORK/lake-raw"
  INTERVAL=10s measure ferry-lake-etl "$ROWS" -- "$FERRY" run bench/lake-etl.toml
  measure ferry-lake-raw-no-transform "$ROWS" -- "$FERRY" run bench/lake-raw.toml
  measure pyarrow-oneshot-etl "$ROWS" -- python3 "$PEERS/pyarrow_oneshot.py" "$DATA" "$WORK/pyarrow"
done
lake_stats "$WORK/lake-10s" "ferry checkpoint_interval=10s" | tee -a "$WORK/files.jsonl"
lake_stats "$WORK/lake-raw" "ferry without the sql transform" | tee -a "$WORK/files.jsonl"
lake_stats "$WORK/pyarrow" "pyarrow one-shot" | tee -a "$WORK/files.jsonl"
same_rows "$WORK/lake-10s" "$WORK/pyarrow" "pyarrow one-shot" s
rm -rf "$WORK/state" "$WORK/lake-10s"
INTERVAL=10s transform_cpu "$FERRY" run bench/lake-etl.toml | tee -a "$WORK/cpu.jsonl"
if [ "${SPARK:-0}" = 1 ]; then
  measure spark-etl "$ROWS" -- bash "$PEERS/run_spark.sh" "$DATA" "$WORK/spark" etl
  lake_stats "$WORK/spark/etl/out" "spark etl" | tee -a "$WORK/files.jsonl"
  same_rows "$WORK/lake-10s" "$WORK/spark/etl/out" "spark" ms
fi
echo "== load after: $(uptime)"

echo "== small files: many short epochs (checkpoint_interval = 100ms)"
rm -rf "$WORK/state"
INTERVAL=100ms measure ferry-lake-etl-100ms "$ROWS" -- "$FERRY" run bench/lake-etl.toml
lake_stats "$WORK/lake-100ms" "ferry checkpoint_interval=100ms" | tee -a "$WORK/files.jsonl"
# The same with every file closed at every checkpoint (roll_on_every_checkpoint = true):
# what the sink did before open files were kept across checkpoints, one file per epoch
# per partition.
rm -rf "$WORK/state"
INTERVAL=100ms ROLL_EVERY_CHECKPOINT=true LAKE_SUFFIX=-every \
  measure ferry-lake-etl-100ms-roll-every "$ROWS" -- "$FERRY" run bench/lake-etl.toml
lake_stats "$WORK/lake-100ms-every" "ferry checkpoint_interval=100ms roll_on_every_checkpoint" \
  | tee -a "$WORK/files.jsonl"

python3 bench/summary.py "$results"
python3 - "$results" <<'PY'
import json, statistics, sys
from collections import defaultdict
runs = defaultdict(list)
for line in open(sys.argv[1]):
    r = json.loads(line)
    if r["exit"] == 0:
        runs[r["name"]].append(r["seconds"])
med = {name: statistics.median(s) for name, s in runs.items()}
ferry = med["ferry-lake-etl"]
print(f"\nsql transform's cost: with / without = {ferry / med['ferry-lake-raw-no-transform'] - 1:+.1%} of end-to-end time")
print(f"ferry / pyarrow one-shot = {med['pyarrow-oneshot-etl'] / ferry:.2f}x rows/s")
if "spark-etl" in med:
    print(f"ferry / Spark = {med['spark-etl'] / ferry:.1f}x rows/s")
PY
