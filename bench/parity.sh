#!/usr/bin/env bash
# Same answers as Spark: each stateful query run by Spark Structured Streaming
# (../shared/peers/run_spark.sh) and by ferry on the same generated input, the outputs
# compared row for row with pyarrow (bench/parity/compare.py). Exits 1 on a difference.
#
#   bash bench/parity.sh              # 200,000 rows
#   ROWS=1000000 bash bench/parity.sh
set -euo pipefail
cd "$(dirname "$0")/.."
ROWS=${ROWS:-200000}
source bench/common.sh
export WORK="$PWD/bench/out-parity"
rm -rf "$WORK" && mkdir -p "$WORK"
cargo build --release --quiet -p ferry -p ferry-file -p ferry-dedup -p ferry-window -p ferry-join \
  -p ferry-explode -p ferry-lake
messages_input
python3 -c "import pyspark" 2>/dev/null || pip install -q pyspark

failed=0
# compare NAME SPARK_MODE COLUMNS [HELD_DELAY_S]: ferry's bench/parity/NAME.toml against
# Spark's mode (compare.py says what HELD_DELAY_S leaves out).
compare() {
  local name=$1 mode=$2 columns=$3 held=${4:-}
  echo "== $name (Spark: $mode)"
  "$FERRY" run "bench/parity/$name.toml" >/dev/null 2>"$WORK/$name.log"
  case $mode in
    # Queries the peers' spark_job.py has no mode for.
    sliding | session | join_* | wordcount)
      python3 bench/parity/spark_queries.py "$mode" "$DATA" "$WORK/spark/$mode" 2>/dev/null | grep '^RESULT' ;;
    *) bash "$PEERS/run_spark.sh" "$DATA" "$WORK/spark" "$mode" ;;
  esac
  python3 bench/parity/compare.py "$WORK/ferry/$name" "$WORK/spark/$mode/out" "$columns" $held || failed=1
}

all="timestamp,value,event_type,message_id,channel,country_id,user_id"
compare dedup-first-seen dedup_within "$all"
compare dedup-earliest dedup "$all" 600
# Without re-deliveries: a re-delivered row up to 1,000 rows old is late or not depending
# on where a batch boundary falls (Spark reads the input in one batch), so parity holds
# only on input whose lateness does not depend on batching.
NODUP="$PWD/bench/data/messages-$ROWS-nodup"
[ -d "$NODUP" ] || python3 "$PEERS/gen_messages.py" "$NODUP" "$ROWS" 20 0 >/dev/null
DATA=$NODUP compare window-tumbling window "window_start,window_end,event_type,count"
DATA=$NODUP compare window-sliding sliding "window_start,window_end,event_type,count"
DATA=$NODUP compare window-session session "window_start,window_end,event_type,count,total,lo,hi"
# Joins: the sent messages against the opened ones, split from the same input.
SPLIT="$NODUP-split"
[ -d "$SPLIT" ] || python3 bench/parity/split.py "$NODUP" "$SPLIT"
DATA=$SPLIT compare join-inner join_inner "message_id,right_message_id"
DATA=$SPLIT compare join-left_outer join_left "message_id,right_message_id"
# Word count: lines of words from a small vocabulary, with runs of spaces and spaces at
# either end, so empty words (which Spark's split keeps) are counted too.
LINES="$PWD/bench/data/lines-$ROWS"
[ -d "$LINES" ] || python3 - "$LINES" "$ROWS" <<'PY'
import json, os, random, sys
out, n = sys.argv[1], int(sys.argv[2])
os.makedirs(out, exist_ok=True)
rng = random.Random(5)
vocabulary = [f"w{i}" for i in range(2000)] + ["Ferry", "ferry", "été", "河"]
for f in range(10):
    with open(f"{out}/lines-{f:02}.jsonl", "w") as lines:
        for _ in range(n // 10):
            words = rng.choices(vocabulary, k=rng.randint(0, 12))
            gaps = [rng.choice([" ", " ", " ", "  "]) for _ in words]
            line = "".join(g + w for g, w in zip(gaps, words))[1:] + rng.choice(["", "", " "])
            lines.write(json.dumps({"value": line}, ensure_ascii=False) + "\n")
PY
DATA=$LINES compare wordcount wordcount "word,count"
exit $failed
