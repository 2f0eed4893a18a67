# Shared by the benchmark scripts: where things are, and `measure NAME ROWS -- CMD...`,
# which appends one JSON line (seconds, rows/s, peak RSS) to $results.
ROWS=${ROWS:-1000000}
REPEAT=${REPEAT:-3}
PEERS=${PEERS:-$(cd .. && pwd)/shared/peers}
# A target folder of this checkout's own, as tests/run.sh uses.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-${FERRY_CACHE:-$HOME/.cache/ferry}/target/$(pwd -P | sha256sum | cut -c1-12)}"
export DATA="$PWD/bench/data/messages-$ROWS" ROWS
FERRY="$CARGO_TARGET_DIR/release/ferry"

measure() { python3 bench/measure.py "$@" | tee -a "$results"; }

# The peers' input: JSON lines of message events, 20 files, made once per row count; and
# the readers that check answers (pyarrow, DuckDB).
messages_input() {
  [ -d "$DATA" ] || python3 "$PEERS/gen_messages.py" "$DATA" "$ROWS" 20 >/dev/null
  python3 -c "import pyarrow, duckdb" 2>/dev/null || pip install -q pyarrow duckdb
}
