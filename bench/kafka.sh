#!/usr/bin/env bash
# Kafka benchmarks against a real broker (tansu, sqlite engine, tests/setup/20-kafka.sh
# installs it) started here on a free port:
#   - ferry kafka → console(count), JSON decoded and raw, against the raw consume rate of
#     librdkafka (a confluent-kafka consumer loop) on the same topic in the same run;
#   - datagen → kafka produce rate.
# Prints one JSON line per measurement (rows/s, peak RSS) and a summary.
#
#   bash bench/kafka.sh                 # 1M messages of ~200 bytes, 4 partitions
#   ROWS=200000 bash bench/kafka.sh
set -euo pipefail
cd "$(dirname "$0")/.."
ROWS=${ROWS:-1000000}
REPEAT=${REPEAT:-3}
PARTITIONS=${PARTITIONS:-4}
export FERRY_CACHE="${FERRY_CACHE:-$HOME/.cache/ferry}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$FERRY_CACHE/target}"
export WORK="$PWD/bench/out/kafka" ROWS
FERRY="$CARGO_TARGET_DIR/release/ferry"
results="$WORK/results.jsonl"
rm -rf "$WORK" && mkdir -p "$WORK/broker"

# shellcheck source=/dev/null
source tests/setup/20-kafka.sh
python3 -c "import confluent_kafka" 2>/dev/null || pip install -q confluent-kafka
cargo build --release --workspace --exclude ferry-tests --quiet
measure() { python3 bench/measure.py "$@" | tee -a "$results"; }
client() { python3 tests/kafka_client.py "$KAFKA" "$@"; }

PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
export KAFKA="127.0.0.1:$PORT"
(cd "$WORK/broker" && exec "$FERRY_TANSU" broker --listener-url "tcp://$KAFKA" \
   --advertised-listener-url "tcp://$KAFKA" --storage-engine sqlite://tansu.db) \
   > "$WORK/broker.log" 2>&1 &
BROKER=$!
trap 'kill $BROKER 2>/dev/null || true' EXIT
until python3 -c "import socket; socket.create_connection(('127.0.0.1', $PORT), 1)" 2>/dev/null; do sleep 0.1; done
echo "== broker tansu at $KAFKA (pid $BROKER)"

echo "== producing $ROWS JSON messages (~200 bytes) to 'bench' ($PARTITIONS partitions)"
client create bench "$PARTITIONS" >/dev/null
measure python-produce "$ROWS" -- python3 tests/kafka_client.py "$KAFKA" produce-range bench 0 "$ROWS" "$PARTITIONS"

echo "== consuming 'bench' to its end: librdkafka (confluent-kafka loop) vs ferry"
for i in $(seq "$REPEAT"); do
  measure librdkafka-consume "$ROWS" -- python3 tests/kafka_client.py "$KAFKA" count bench
  for format in json raw; do
    rm -rf "$WORK/state"
    schema=""
    [ "$format" = json ] && schema='schema = "id BIGINT, pad STRING"'
    sed -e "s|\${FORMAT}|$format|" -e "s|\${SCHEMA}|$schema|" -e "s|\${TOPIC}|bench|" \
      bench/pipelines/kafka-console.toml > "$WORK/kafka-console-$format.toml"
    measure "ferry-kafka-$format-console" "$ROWS" -- "$FERRY" run "$WORK/kafka-console-$format.toml"
  done
done

echo "== datagen -> kafka ($ROWS message events, JSON)"
for i in $(seq "$REPEAT"); do
  rm -rf "$WORK/state"
  sed -e "s|\${TOPIC}|produced-$i|" bench/pipelines/datagen-kafka.toml > "$WORK/datagen-kafka.toml"
  client create "produced-$i" "$PARTITIONS" >/dev/null
  measure ferry-datagen-kafka "$ROWS" -- "$FERRY" run "$WORK/datagen-kafka.toml"
done

python3 - "$results" <<'PY'
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
by = {}
for r in rows:
    assert r["exit"] == 0, r
    by.setdefault(r["name"], []).append(r)
best = {n: max(v, key=lambda r: r["rows_per_s"]) for n, v in by.items()}
print("\n| measurement | best rows/s | median rows/s | peak RSS MB |")
print("|---|---|---|---|")
for n, v in by.items():
    med = statistics.median(r["rows_per_s"] for r in v)
    print(f"| {n} | {best[n]['rows_per_s']:,} | {med:,.0f} | {best[n]['peak_rss_mb']} |")
raw = statistics.median(r["rows_per_s"] for r in by["librdkafka-consume"])
for f in ("json", "raw"):
    med = statistics.median(r["rows_per_s"] for r in by[f"ferry-kafka-{f}-console"])
    print(f"ferry kafka ({f}) / librdkafka: {med / raw:.0%} (median over median)")
PY
