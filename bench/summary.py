#!/usr/bin/env python3
"""Summarizes bench/run.sh's JSON lines: the median of each measurement."""
import json, statistics, sys
from collections import defaultdict

runs = defaultdict(list)
for line in open(sys.argv[1]):
    r = json.loads(line)
    if r["exit"] == 0:
        runs[r["name"]].append(r)
print(f"\n{'measurement':<34} {'runs':>4} {'median s':>9} {'rows/s':>12} {'peak RSS MB':>12}")
med = {}
for name, rs in runs.items():
    s = statistics.median(r["seconds"] for r in rs)
    med[name] = s
    rss = max(r["peak_rss_mb"] for r in rs)
    print(f"{name:<34} {len(rs):>4} {s:>9.3f} {rs[0]['rows'] / s:>12,.0f} {rss:>12.1f}")
if "datagen-console" in med and "datagen-passthrough10-console" in med:
    extra = med["datagen-passthrough10-console"] / med["datagen-console"] - 1
    print(f"\n10 pass-through plugins cost {extra:+.1%} of end-to-end time")
if "json-console" in med and "pyarrow-oneshot-etl" in med:
    print(f"JSON ingest: ferry / pyarrow one-shot = {med['pyarrow-oneshot-etl'] / med['json-console']:.2f}x rows/s")
