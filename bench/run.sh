#!/usr/bin/env bash
# ferry's benchmarks, with the peer baselines on the same input in the same run.
# Prints one JSON line per measurement (rows/s, peak RSS) and a summary table.
#
#   bash bench/run.sh            # 1M rows
#   ROWS=200000 bash bench/run.sh
#   SPARK=1 bash bench/run.sh    # also Spark Structured Streaming (pip installs pyspark)
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/common.sh
export WORK="$PWD/bench/out"
results="$WORK/results.jsonl"
rm -rf "$WORK" && mkdir -p "$WORK"

cargo build --release --quiet -p ferry -p ferry-datagen -p ferry-file -p ferry-console -p ferry-passthrough

echo "== boundary: one batch crossing the plugin boundary"
cargo bench -p ferry --bench boundary --quiet 2>/dev/null | grep '^boundary' | tee "$WORK/boundary.txt"

# Ten times the rows and more repeats: a 2% difference must stand out of the noise of
# process start-up and scheduling.
chain_rows=$((ROWS * 10))
echo "== datagen -> console(count), direct and through 10 pass-through plugins ($chain_rows rows)"
for i in $(seq $((REPEAT + 2))); do
  for p in datagen-console datagen-passthrough10-console; do
    rm -rf "$WORK/state"
    ROWS=$chain_rows measure "$p" "$chain_rows" -- "$FERRY" run "bench/pipelines/$p.toml"
  done
done

echo "== JSON lines -> console(count) ($ROWS rows, 20 files)"
messages_input
for i in $(seq "$REPEAT"); do
  rm -rf "$WORK/state"
  measure json-console "$ROWS" -- "$FERRY" run bench/pipelines/json-console.toml
done
for i in $(seq "$REPEAT"); do
  measure pyarrow-oneshot-etl "$ROWS" -- python3 "$PEERS/pyarrow_oneshot.py" "$DATA" "$WORK/pyarrow"
done
echo "== CSV -> console(count) ($ROWS rows, 20 files), string fields bare and quoted"
for style in plain quoted; do
  [ -d "$DATA-csv-$style" ] || python3 bench/csv_input.py write "$DATA" "$DATA-csv-$style" "$style"
done
for i in $(seq "$REPEAT"); do
  for style in plain quoted; do
    rm -rf "$WORK/state"
    CSV_DATA="$DATA-csv-$style" measure "csv-console-$style" "$ROWS" -- "$FERRY" run bench/pipelines/csv-console.toml
    measure "pyarrow-csv-read-$style" "$ROWS" -- python3 bench/csv_input.py pyarrow "$DATA-csv-$style"
  done
done
if [ "${SPARK:-0}" = 1 ]; then
  measure spark-etl "$ROWS" -- bash "$PEERS/run_spark.sh" "$DATA" "$WORK/spark" etl
fi

python3 bench/summary.py "$results"
