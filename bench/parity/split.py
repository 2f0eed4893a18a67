#!/usr/bin/env python3
"""Splits the peers' messages into the two sides of the join queries: SENT rows into
OUT/sent, OPEN rows into OUT/opened, file by file.

Usage: split.py INPUT_DIR OUT_DIR
"""
import glob, json, os, sys

source, split = sys.argv[1:3]
for side, kind in (("sent", "SENT"), ("opened", "OPEN")):
    os.makedirs(f"{split}/{side}", exist_ok=True)
    for path in sorted(glob.glob(f"{source}/*.jsonl")):
        with open(path) as rows, open(f"{split}/{side}/{os.path.basename(path)}", "w") as out:
            out.writelines(r for r in rows if json.loads(r)["event_type"] == kind)
