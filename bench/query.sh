#!/usr/bin/env bash
# `ferry query` beside DuckDB on the same files: the pivot report (event types per date
# and channel) over the lake bench/lake.sh makes (~1M rows of JSON lines -> the sql
# transform's filter/derive -> Parquet partitioned by event_date, bench/lake-etl.toml).
# Prints one JSON line per measurement (seconds, peak RSS) and checks once that both
# answers are the same.
#
#   bash bench/query.sh              # 1M rows, 3 repeats
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/common.sh
export WORK="$PWD/bench/out/query"
results="$WORK/results.jsonl"
rm -rf "$WORK" && mkdir -p "$WORK"

cargo build --release --quiet -p ferry -p ferry-file -p ferry-sql -p ferry-lake
messages_input
INTERVAL=10s "$FERRY" run bench/lake-etl.toml 2>"$WORK/lake-etl.log"
lake="$WORK/lake-10s"

pivot="SELECT event_date, channel,
  SUM(CASE WHEN event_type = 'OPEN' THEN 1 ELSE 0 END) AS open,
  SUM(CASE WHEN event_type = 'RECEIVED' THEN 1 ELSE 0 END) AS received,
  SUM(CASE WHEN event_type = 'SENT' THEN 1 ELSE 0 END) AS sent,
  SUM(CASE WHEN event_type = 'CREATED' THEN 1 ELSE 0 END) AS created,
  SUM(CASE WHEN event_type = 'CLICKED' THEN 1 ELSE 0 END) AS clicked,
  count(*) AS total
FROM {t} GROUP BY event_date, channel ORDER BY event_date, channel"
# (The quote is a variable: bash 5.2 takes a quote in a replacement as quoting.)
q="'"
ours="${pivot//\{t\}/lake(${q}$lake${q})}"
theirs="${pivot//\{t\}/read_parquet(${q}$lake/**/*.parquet${q}, hive_partitioning = true)}"
# DuckDB's peer prints CSV as ferry does, so the two answers can be compared as text.
duck='import csv, sys, duckdb
csv.writer(sys.stdout, lineterminator="\n").writerows(
    ["" if v is None else v for v in r] for r in duckdb.sql(sys.argv[1]).fetchall())'

"$FERRY" query --format csv "$ours" | tail -n +2 | tr -d '"' >"$WORK/ferry.csv"
python3 -c "$duck" "$theirs" | tr -d '"' >"$WORK/duckdb.csv"
cmp -s "$WORK/ferry.csv" "$WORK/duckdb.csv" \
  && echo "== same answer: $(wc -l <"$WORK/ferry.csv") rows (date, channel)" \
  || { echo "answers differ: diff $WORK/ferry.csv $WORK/duckdb.csv" >&2; exit 1; }

echo "== pivot of event types per date and channel over the lake ($ROWS input rows), load: $(uptime)"
for i in $(seq "$REPEAT"); do
  measure ferry-query-pivot "$ROWS" -- "$FERRY" query --format csv "$ours"
  measure duckdb-pivot "$ROWS" -- python3 -c "$duck" "$theirs"
done
python3 bench/summary.py "$results"
