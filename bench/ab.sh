#!/usr/bin/env bash
# Before/after: bench/run.sh's pipelines with two release builds of ferry (each folder
# holding a `ferry` and its plugin libraries), interleaved run by run so that drift in
# the machine's speed hits both alike. Prints measure.py's JSON lines and the medians.
#
#   bash bench/ab.sh BEFORE_RELEASE_DIR AFTER_RELEASE_DIR        # e.g. .../target/release
#   ROWS=200000 REPEAT=5 bash bench/ab.sh A B
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/common.sh
before=$1 after=$2
export WORK="$PWD/bench/out-ab"
results="$WORK/results.jsonl"
rm -rf "$WORK" && mkdir -p "$WORK"
messages_input
chain_rows=$((ROWS * 10))
for i in $(seq "$REPEAT"); do
  for side in before after; do
    bin="${!side}/ferry"
    for p in datagen-console datagen-passthrough10-console; do
      rm -rf "$WORK/state"
      ROWS=$chain_rows measure "$side:$p" "$chain_rows" -- "$bin" run "bench/pipelines/$p.toml"
    done
    rm -rf "$WORK/state"
    measure "$side:json-console" "$ROWS" -- "$bin" run bench/pipelines/json-console.toml
  done
done
python3 bench/summary.py "$results"
