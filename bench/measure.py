#!/usr/bin/env python3
"""Runs a command, prints one JSON line: wall seconds, peak RSS (MB) of the command and
all its children (or the JVM's, which Spark's peer job reports itself), exit code, and
the rows/s given a row count.

Usage: measure.py NAME ROWS -- COMMAND...
"""
import json, os, resource, subprocess, sys, time

name, rows = sys.argv[1], int(sys.argv[2])
cmd = sys.argv[sys.argv.index("--") + 1:]
# ferry also loads the plugins in $CARGO_TARGET_DIR/{release,debug}: without it, only
# the release ones beside the binary are loaded, as an installed ferry would.
env = {k: v for k, v in os.environ.items() if k != "CARGO_TARGET_DIR"}
t0 = time.perf_counter()
proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
out, err = proc.communicate()
secs = time.perf_counter() - t0
peak_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
# Spark's JVM is not a waited-for child; its job samples the JVM's RSS and reports it.
for line in out.decode(errors="replace").splitlines():
    if line.startswith("RESULT ") and "jvm_peak_rss_mb" in line:
        peak_kb = max(peak_kb, json.loads(line[7:])["jvm_peak_rss_mb"] * 1024)
if proc.returncode != 0:
    sys.stderr.write(err.decode(errors="replace")[-4000:])
print(json.dumps({
    "name": name, "rows": rows, "seconds": round(secs, 3),
    "rows_per_s": round(rows / secs), "peak_rss_mb": round(peak_kb / 1024, 1),
    "exit": proc.returncode,
}), flush=True)
sys.stdout.flush()
