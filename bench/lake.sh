#!/usr/bin/env bash
# The lake sink's benchmark, with the peers on the same input in the same run:
# JSON lines (~1M rows, 20 files) -> filter / derive event_date -> Parquet partitioned by
# event_date. Prints one JSON line per measurement and files per GB for short epochs
# (100 ms checkpoints, with open files kept across checkpoints and with every file closed
# at every checkpoint).
#
#   bash bench/lake.sh              # 1M rows, 3 repeats, pyarrow peer
#   SPARK=1 bash bench/lake.sh      # also Spark Structured Streaming (pip installs pyspark)
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/common.sh
export WORK="$PWD/bench/out/lake"
results="$WORK/results.jsonl"
rm -rf "$WORK" && mkdir -p "$WORK"

cargo build --release --quiet -p ferry -p ferry-file -p ferry-filter-derive -p ferry-lake
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

echo "== JSON lines -> filter_derive -> lake(parquet, by event_date) ($ROWS rows, 20 files)"
for i in $(seq "$REPEAT"); do
  rm -rf "$WORK/state" "$WORK/lake-10s"
  INTERVAL=10s measure ferry-lake-etl "$ROWS" -- "$FERRY" run bench/lake-etl.toml
done
lake_stats "$WORK/lake-10s" "ferry checkpoint_interval=10s" | tee -a "$WORK/files.jsonl"
for i in $(seq "$REPEAT"); do
  measure pyarrow-oneshot-etl "$ROWS" -- python3 "$PEERS/pyarrow_oneshot.py" "$DATA" "$WORK/pyarrow"
done
lake_stats "$WORK/pyarrow" "pyarrow one-shot" | tee -a "$WORK/files.jsonl"
if [ "${SPARK:-0}" = 1 ]; then
  measure spark-etl "$ROWS" -- bash "$PEERS/run_spark.sh" "$DATA" "$WORK/spark" etl
  lake_stats "$WORK/spark/etl/out" "spark etl" | tee -a "$WORK/files.jsonl"
fi

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
