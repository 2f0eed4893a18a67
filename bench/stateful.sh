#!/usr/bin/env bash
# The stateful operators' benchmarks (issue 9). Prints one JSON line per measurement
# (rows/s, peak RSS) and the medians:
#   - the operators alone, on generated rows (10M by default): 10 s tumbling windows
#     over ~1,250 groups with count, sum and avg; dedup of 10M rows holding 1M ids;
#   - the peers' Spark queries and ferry's on the same JSON files (1M rows, 20 files):
#     10 s tumbling counts per event type, and dropDuplicatesWithinWatermark;
#   - the same for the queries of bench/parity/spark_queries.py: 1 h sliding windows
#     every 10 min and 10 s session windows per event type, and the stream-stream inner
#     join of the sent messages with the opened ones (its rows: both sides' rows), on
#     the first JOIN_FILES (4) of the 20 files.
#
#   bash bench/stateful.sh                 # ferry only
#   SPARK=1 bash bench/stateful.sh         # also Spark Structured Streaming
#   OPERATOR_ROWS=2000000 bash bench/stateful.sh
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/common.sh
export WORK="$PWD/bench/out/stateful"
results="$WORK/results.jsonl"
rm -rf "$WORK" && mkdir -p "$WORK"
cargo build --release --quiet -p ferry -p ferry-datagen -p ferry-file -p ferry-console \
  -p ferry-dedup -p ferry-window -p ferry-join
messages_input
whole_split="$DATA-split"
[ -d "$whole_split" ] || python3 bench/parity/split.py "$DATA" "$whole_split"
# The join runs on the first JOIN_FILES of the 20 files: Spark reads them in one batch
# and compares every pair of rows per key, so on all 20 it did not finish in 22 minutes.
JOIN_FILES=${JOIN_FILES:-4}
export SPLIT="$WORK/split-$JOIN_FILES"
for side in sent opened; do
  mkdir -p "$SPLIT/$side"
  for f in $(ls "$whole_split/$side" | head -n "$JOIN_FILES"); do
    ln -s "$whole_split/$side/$f" "$SPLIT/$side/$f"
  done
done
join_rows=$(cat "$SPLIT"/sent/*.jsonl "$SPLIT"/opened/*.jsonl | wc -l)

operator_rows=${OPERATOR_ROWS:-10000000}
echo "== operators on generated rows ($operator_rows rows)"
for i in $(seq "$REPEAT"); do
  for p in datagen-console datagen-window-console datagen-dedup-console; do
    rm -rf "$WORK/state"
    ROWS=$operator_rows measure "$p" "$operator_rows" -- "$FERRY" run "bench/pipelines/$p.toml"
  done
done

echo "== the peers' queries on JSON files ($ROWS rows, 20 files)"
for i in $(seq "$REPEAT"); do
  for p in json-console json-window-console json-dedup-console json-sliding-console \
    json-session-console; do
    rm -rf "$WORK/state"
    measure "$p" "$ROWS" -- "$FERRY" run "bench/pipelines/$p.toml"
  done
  rm -rf "$WORK/state"
  measure json-join-console "$join_rows" -- "$FERRY" run bench/pipelines/json-join-console.toml
done
if [ "${SPARK:-0}" = 1 ]; then
  for mode in window dedup_within; do
    measure "spark-$mode" "$ROWS" -- bash "$PEERS/run_spark.sh" "$DATA" "$WORK/spark" "$mode"
  done
  queries=bench/parity/spark_queries.py
  for mode in sliding_1h session; do
    measure "spark-$mode" "$ROWS" -- python3 "$queries" "$mode" "$DATA" "$WORK/spark/$mode"
  done
  measure spark-join_inner "$join_rows" -- \
    python3 "$queries" join_inner "$SPLIT" "$WORK/spark/join_inner"
fi
python3 bench/summary.py "$results"
