#!/usr/bin/env python3
"""The JSON-lines messages (gen_messages.py's files) as CSV files with a header, one per
input file: `plain` leaves every field bare, `quoted` quotes the string fields as most
CSV writers do (a missing or empty string is then `""`). Also the peer: pyarrow reads
the same CSV files in one shot into the same types.

Usage: csv_input.py write JSON_DIR OUT_DIR plain|quoted
       csv_input.py pyarrow CSV_DIR
"""
import json, os, sys, time

COLS = ["timestamp", "value", "event_type", "message_id", "channel", "country_id", "user_id"]
STRINGS = {"event_type", "message_id", "channel"}


def write(src, out, style):
    os.makedirs(out, exist_ok=True)
    for name in sorted(os.listdir(src)):
        with open(os.path.join(src, name)) as fin, \
                open(os.path.join(out, name.rsplit(".", 1)[0] + ".csv"), "w") as fout:
            fout.write(",".join(COLS) + "\n")
            for line in fin:
                row = json.loads(line)
                cells = []
                for c in COLS:
                    v = "" if row.get(c) is None else str(row[c])
                    cells.append(f'"{v}"' if style == "quoted" and c in STRINGS else v)
                fout.write(",".join(cells) + "\n")


def peer(src):
    import pyarrow as pa, pyarrow.csv as pc
    types = {c: pa.string() for c in COLS}
    types.update(value=pa.int32(), country_id=pa.int32(), user_id=pa.int32())
    t0 = time.time()
    opts = pc.ConvertOptions(column_types=types)
    rows = sum(pc.read_csv(os.path.join(src, f), convert_options=opts).num_rows
               for f in sorted(os.listdir(src)))
    print("RESULT " + json.dumps({"source_rows": rows, "seconds": round(time.time() - t0, 2)}))


if __name__ == "__main__":
    if sys.argv[1] == "write":
        write(*sys.argv[2:5])
    else:
        peer(sys.argv[2])
