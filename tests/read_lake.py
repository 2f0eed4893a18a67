#!/usr/bin/env python3
"""Reads a ferry lake back with readers nobody here wrote, and compares it with what went in.

Usage: read_lake.py LAKE --format parquet|csv|json --reader pyarrow|duckdb --key COL
                    [--expect-json DIR | --expect-lake OTHER_LAKE] [--cols a,b,c]

Prints one JSON line: rows, distinct keys, rows per partition folder, and with an
expectation the rows missing from the lake and the rows it has that were not expected
(compared on --cols, timestamps as epoch microseconds).
"""
import argparse, glob, json, os

p = argparse.ArgumentParser()
p.add_argument("lake")
p.add_argument("--format", default="parquet")
p.add_argument("--reader", default="pyarrow")
p.add_argument("--key", required=True)
p.add_argument("--cols", default="")
p.add_argument("--expect-json")
p.add_argument("--expect-lake")
a = p.parse_args()
cols = [c for c in a.cols.split(",") if c]


def data_files(lake, fmt):
    """What a plain listing shows: names starting with '_' or '.' are skipped, as Spark,
    pyarrow and Hive do."""
    out = []
    for d, dirs, files in os.walk(lake):
        dirs[:] = [x for x in dirs if not x.startswith(("_", "."))]
        out += [os.path.join(d, f) for f in files
                if not f.startswith(("_", ".")) and f.endswith("." + fmt)]
    return sorted(out)


def load_pyarrow(lake, fmt):
    import pyarrow.dataset as ds
    import pyarrow.compute as pc
    import pyarrow as pa
    fmt_obj = {"parquet": "parquet", "csv": "csv", "json": "json"}[fmt]
    d = ds.dataset(lake, format=fmt_obj, partitioning="hive")  # skips '_' and '.' names
    t = d.to_table()
    rows = []
    names = t.column_names
    for c in names:
        if pa.types.is_timestamp(t[c].type):
            t = t.set_column(names.index(c), c, pc.cast(pc.cast(t[c], pa.timestamp("us", "UTC")), pa.int64()))
    return t.to_pylist()


def load_duckdb(lake, fmt, con):
    files = data_files(lake, fmt)
    if not files:
        return "(SELECT NULL AS x WHERE false)"
    lst = "[" + ",".join("'" + f.replace("'", "''") + "'" for f in files) + "]"
    fn = {"parquet": "read_parquet", "csv": "read_csv", "json": "read_json"}[fmt]
    return f"{fn}({lst}, hive_partitioning=true, union_by_name=true)"


def norm(v):
    return v


out = {}
if a.reader == "duckdb":
    import duckdb
    con = duckdb.connect()
    con.execute("SET TimeZone='UTC'")
    src = load_duckdb(a.lake, a.format, con)
    con.execute(f"CREATE VIEW lake AS SELECT * FROM {src}")
    out["rows"], out["distinct"] = con.execute(f"SELECT count(*), count(DISTINCT {a.key}) FROM lake").fetchone()
    sel = ", ".join(
        f"CASE WHEN typeof({c}) LIKE 'TIMESTAMP%' THEN epoch_us({c}::TIMESTAMPTZ)::VARCHAR ELSE {c}::VARCHAR END AS {c}"
        for c in cols)
    if a.expect_json:
        files = "[" + ",".join("'" + f + "'" for f in sorted(glob.glob(os.path.join(a.expect_json, "*")))) + "]"
        con.execute(f"CREATE VIEW expected AS SELECT * FROM read_json({files}, format='newline_delimited', timestampformat='%Y-%m-%dT%H:%M:%S.%gZ')")
    elif a.expect_lake:
        con.execute(f"CREATE VIEW expected AS SELECT * FROM {load_duckdb(a.expect_lake, a.format, con)}")
    if cols and (a.expect_json or a.expect_lake):
        con.execute(f"CREATE VIEW l AS SELECT {sel} FROM lake")
        con.execute(f"CREATE VIEW e AS SELECT {sel} FROM expected")
        out["expected"] = con.execute("SELECT count(*) FROM e").fetchone()[0]
        out["missing"] = con.execute("SELECT count(*) FROM (SELECT * FROM e EXCEPT ALL SELECT * FROM l)").fetchone()[0]
        out["extra"] = con.execute("SELECT count(*) FROM (SELECT * FROM l EXCEPT ALL SELECT * FROM e)").fetchone()[0]
else:
    rows = load_pyarrow(a.lake, a.format)
    out["rows"] = len(rows)
    out["distinct"] = len({r[a.key] for r in rows})
    if cols and (a.expect_json or a.expect_lake):
        from collections import Counter
        if a.expect_json:
            from datetime import datetime
            exp = []
            for f in sorted(glob.glob(os.path.join(a.expect_json, "*"))):
                for line in open(f):
                    if line.strip():
                        exp.append(json.loads(line))
            for r in exp:
                for c in cols:
                    v = r.get(c)
                    if isinstance(v, str) and c in ("timestamp", "ts"):
                        dt = datetime.fromisoformat(v.replace("Z", "+00:00"))
                        r[c] = int(dt.timestamp()) * 1_000_000 + dt.microsecond
        else:
            exp = load_pyarrow(a.expect_lake, a.format)
        key = lambda r: tuple(str(r.get(c)) for c in cols)
        got, want = Counter(map(key, rows)), Counter(map(key, exp))
        out["expected"] = len(exp)
        out["missing"] = sum((want - got).values())
        out["extra"] = sum((got - want).values())
parts = {}
for f in data_files(a.lake, a.format):
    rel = os.path.relpath(os.path.dirname(f), a.lake)
    parts[rel] = parts.get(rel, 0) + 1
out["files_per_partition"] = parts
print(json.dumps(out))
