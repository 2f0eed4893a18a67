//! configs/access-log.toml, use case 3b: access-log lines parsed by SQL, the failed
//! requests to one lake and the requests per status to another; DuckDB parses the raw
//! lines the pipeline keeps and must get the same answers, and every cut-off line must
//! be a dead letter.

use std::time::Duration;

use ferry_tests::{duckdb, last_total, root, run_pipeline};

/// DuckDB's parse of the raw lines: status and size, for the lines that have them.
const PARSED: &str = "SELECT regexp_extract(value, '^(\\S+)', 1) AS host, \
     regexp_extract(value, '\"(\\S+) (\\S+) (\\S+)\"', 2) AS endpoint, \
     TRY_CAST(regexp_extract(value, '\" (\\d{3}) ', 1) AS INT) AS status, \
     TRY_CAST(regexp_extract(value, ' (\\d+)$', 1) AS BIGINT) AS size \
     FROM read_parquet('LAKE/raw/*.parquet')";

#[test]
fn failed_requests_and_counts_by_status_equal_duckdbs_parse_of_the_raw_lines() {
    let dir = tempfile::tempdir().unwrap();
    let config = root().join("configs/access-log.toml");
    let run = run_pipeline(
        dir.path(),
        config.to_str().unwrap(),
        Duration::from_secs(300),
    );
    assert!(run.status.success(), "{run:?}");
    let lake = dir.path().join("lake/access").display().to_string();
    let parsed = PARSED.replace("LAKE", &lake);

    let counts = duckdb(&format!(
        "SELECT (SELECT list(row(status, requests) ORDER BY status) FROM \
         read_parquet('{lake}/by_status/*.parquet')) = (SELECT list(row(status, n) ORDER BY \
         status) FROM (SELECT status, count(*) AS n FROM ({parsed}) WHERE status IS NOT NULL \
         GROUP BY status)), (SELECT count(*) FROM read_parquet('{lake}/by_status/*.parquet'))"
    ));
    assert_eq!(counts.trim(), "[(True, 5)]", "200, 301, 404, 500 and 503");

    let failed = duckdb(&format!(
        "SELECT count(*), (SELECT count(*) FROM (SELECT host, endpoint, status, size FROM \
         read_parquet('{lake}/failed/*.parquet') EXCEPT ALL SELECT host, endpoint, status, size \
         FROM ({parsed}) WHERE status <> 200)) FROM read_parquet('{lake}/failed/*.parquet')"
    ));
    let expected = duckdb(&format!(
        "SELECT count(*) FROM ({parsed}) WHERE status <> 200"
    ));
    let n = expected
        .trim()
        .trim_start_matches("[(")
        .trim_end_matches(",)]");
    assert_eq!(failed.trim(), format!("[({n}, 0)]"));
    assert!(n.parse::<u64>().unwrap() > 100, "{n}");

    // Every line without a status is one dead letter, counted by the console.
    let cut = duckdb(&format!(
        "SELECT count(*) FROM ({parsed}) WHERE status IS NULL"
    ));
    let cut: u64 = cut
        .trim()
        .trim_start_matches("[(")
        .trim_end_matches(",)]")
        .parse()
        .unwrap();
    assert!(cut > 5, "{cut}");
    assert_eq!(last_total(&run.stdout), Some(cut), "{}", run.stdout);
}
