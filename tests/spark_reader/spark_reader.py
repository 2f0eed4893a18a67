#!/usr/bin/env python3
"""Spark reader parity cases: the same small file read by Spark and by ferry's file source.

Each case is a folder under cases/:
  case.toml  format ("csv" | "json"), schema (Spark DDL), and
             [options]  reader options, given to both Spark and ferry, under Spark's names;
             [spark]    options for Spark only, [ferry] options for ferry only;
             rejected   how many records ferry sends to the dead-letter output (default 0);
             note       why the case exists;
             [differs]  where ferry deliberately answers otherwise: `why`, the rows of
                        Spark's answer ferry does not give (`spark_only`) and the rows
                        ferry gives instead (`ferry_only`), as canonical JSON values.
  input/     the files both read.
  spark.json Spark's rows, recorded by `record` (each value made canonical, see canon()).

Usage:
  spark_reader.py record [CASE...]   run Spark (pyspark, local[1], UTC) and write spark.json
  spark_reader.py pipeline DIR       write DIR/p.toml: a file source and lake per case
  spark_reader.py compare DIR        compare ferry's lakes in DIR with spark.json; prints
                                     one JSON object {case: what differs}, {} when all agree
"""
import datetime, decimal, glob, json, math, os, sys, tomllib

HERE = os.path.dirname(os.path.abspath(__file__))
CASES = os.path.join(HERE, "cases")


def cases(names=()):
    for name in names or sorted(os.listdir(CASES)):
        with open(os.path.join(CASES, name, "case.toml"), "rb") as f:
            yield name, tomllib.load(f)


def canon(v):
    """A value as JSON both readers' values map to: floats as repr (NaN, Infinity),
    decimals and dates as text, timestamps as ISO text in UTC, structs as objects."""
    if v is None or isinstance(v, (bool, int, str)):
        return v
    if isinstance(v, float):
        if math.isnan(v):
            return "NaN"
        return {math.inf: "Infinity", -math.inf: "-Infinity"}.get(v, repr(v))
    if isinstance(v, decimal.Decimal):
        return str(v)
    if isinstance(v, datetime.datetime):
        if v.tzinfo is not None:
            v = v.astimezone(datetime.timezone.utc).replace(tzinfo=None)
        return v.isoformat()
    if isinstance(v, datetime.date):
        return v.isoformat()
    if isinstance(v, (bytes, bytearray)):
        return bytes(v).hex()
    if isinstance(v, dict):
        return {k: canon(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [canon(x) for x in v]
    raise TypeError(f"no canonical form for {type(v)}")


def spark_value(v):
    return str(v).lower() if isinstance(v, bool) else str(v)


def record(names):
    from pyspark.sql import SparkSession

    spark = (SparkSession.builder.master("local[1]").appName("ferry-spark-reader")
             .config("spark.sql.session.timeZone", "UTC")
             .config("spark.ui.enabled", "false").getOrCreate())
    spark.sparkContext.setLogLevel("ERROR")
    for name, case in cases(names):
        opts = {**case.get("options", {}), **case.get("spark", {})}
        df = (spark.read.format(case["format"]).schema(case["schema"])
              .options(**{k: spark_value(v) for k, v in opts.items()})
              .load(os.path.join(CASES, name, "input")))
        rows = [canon(list(r.asDict(recursive=True).values())) for r in df.collect()]
        with open(os.path.join(CASES, name, "spark.json"), "w") as f:
            f.write(as_json(df.columns, rows))
        print(f"{name}: {len(rows)} rows")


def as_json(columns, rows):
    """One line per row, so that a diff of spark.json shows the rows that changed."""
    dump = lambda v: json.dumps(v, ensure_ascii=False)
    body = ",\n".join(" " + dump(r) for r in rows)
    return f'{{"columns": {dump(columns)},\n "rows": [\n{body}\n]}}\n'


def toml_value(v):
    return json.dumps(v, ensure_ascii=False) if isinstance(v, str) else str(v).lower()


def pipeline(out):
    lines = ['[pipeline]', 'name = "spark-reader"', 'trigger = "available_now"',
             'errors.tolerance = "all"', '']
    for name, case in cases():
        opts = {**case.get("options", {}), **case.get("ferry", {})}
        lines += [f"[sources.{name}]", 'plugin = "file"',
                  f"path = {toml_value(os.path.join(CASES, name, 'input'))}",
                  f"format = {toml_value(case['format'])}",
                  f"schema = {toml_value(case['schema'])}", 'file_stable_for = "0s"']
        lines += [f"{k} = {toml_value(v)}" for k, v in opts.items()]
        lines += ["", f"[sinks.{name}_lake]", 'plugin = "lake"', f'inputs = ["{name}"]',
                  f"path = {toml_value(os.path.join(out, 'lakes', name))}", ""]
    lines += ["[sinks.dead_letters]", 'plugin = "lake"', 'inputs = ["$dead_letter"]',
              'format = "json"', f"path = {toml_value(os.path.join(out, 'dead_letters'))}"]
    with open(os.path.join(out, "p.toml"), "w") as f:
        f.write("\n".join(lines) + "\n")


def ferry_rows(lake):
    import pyarrow.dataset as ds

    if not os.path.isdir(lake):
        return []
    table = ds.dataset(lake, format="parquet").to_table()
    return [canon(list(r.values())) for r in table.to_pylist()]


def dead_letters(out):
    counts = {}
    for path in glob.glob(os.path.join(out, "dead_letters", "**", "*.json"), recursive=True):
        if "/_" in path[len(out):]:
            continue
        with open(path) as f:
            for line in f:
                record = json.loads(line)
                counts.setdefault(record["node"], []).append(record["reason"])
    return counts


def expected(spark, differs):
    """Spark's rows with a deliberate difference applied: each `spark_only` row must be
    in Spark's answer and is taken out; `ferry_only` rows are added at the end."""
    rows = list(spark)
    for row in differs.get("spark_only", []):
        if row not in rows:
            raise SystemExit(f"spark_only row {row} is not in Spark's answer")
        rows.remove(row)
    return rows + differs.get("ferry_only", [])


def compare(out):
    rejected = dead_letters(out)
    report = {}
    for name, case in cases():
        with open(os.path.join(CASES, name, "spark.json")) as f:
            spark = expected(json.load(f)["rows"], case.get("differs", {}))
        ferry = ferry_rows(os.path.join(out, "lakes", name))
        reasons = rejected.get(name, [])
        diff = {}
        if ferry != spark:
            diff["ferry"], diff["spark"] = ferry, spark
        if len(reasons) != case.get("rejected", 0):
            diff["rejected"] = reasons
        if diff:
            report[name] = diff
    print(json.dumps(report, indent=1, ensure_ascii=False))


if __name__ == "__main__":
    command, args = sys.argv[1], sys.argv[2:]
    {"record": lambda: record(args), "pipeline": lambda: pipeline(args[0]),
     "compare": lambda: compare(args[0])}[command]()
