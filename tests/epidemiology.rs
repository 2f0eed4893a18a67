//! configs/epidemiology.toml, use case 4: 3-minute tumbling windows per district and a
//! 5-minute stream-stream join with bagpipe sales. DuckDB computes both answers again
//! from the raw events the pipeline keeps, and they must be the lake's, row for row.

use std::path::Path;
use std::time::Duration;

use ferry_tests::{duckdb, root, run_pipeline};

/// `(expected rows, lake rows, expected rows missing from the lake, lake rows not
/// expected)` for a query over the lake and the same columns computed by DuckDB.
fn compare(lake: &Path, got: &str, expected: &str) -> String {
    let lake = lake.display();
    let sql = format!(
        "WITH got AS ({got}), expected AS ({expected}) SELECT \
         (SELECT count(*) FROM expected), (SELECT count(*) FROM got), \
         (SELECT count(*) FROM (SELECT * FROM expected EXCEPT ALL SELECT * FROM got)), \
         (SELECT count(*) FROM (SELECT * FROM got EXCEPT ALL SELECT * FROM expected))"
    )
    .replace("LAKE", &lake.to_string());
    duckdb(&sql)
}

fn counts(answer: &str) -> Vec<u64> {
    let inner = answer
        .trim()
        .trim_start_matches("[(")
        .trim_end_matches(")]");
    inner.split(", ").map(|n| n.parse().unwrap()).collect()
}

#[test]
fn windows_and_the_join_equal_duckdbs_answers_over_the_raw_events() {
    let dir = tempfile::tempdir().unwrap();
    let config = root().join("configs/epidemiology.toml");
    let run = run_pipeline(
        dir.path(),
        config.to_str().unwrap(),
        Duration::from_secs(120),
    );
    assert!(run.status.success(), "{run:?}");
    let lake = dir.path().join("lake/epidemiology");

    let windows = compare(
        &lake,
        "SELECT epoch_us(window_start) AS start, epoch_us(window_end) AS end, district, \
         events, new_scotsmen, avg_new_scotsmen \
         FROM read_parquet('LAKE/per_district/*.parquet')",
        "SELECT epoch_us(timestamp) // 180000000 * 180000000 AS start, \
         epoch_us(timestamp) // 180000000 * 180000000 + 180000000 AS end, district, \
         count(*), sum(new_scotsmen), avg(new_scotsmen) \
         FROM read_parquet('LAKE/arrivals/*.parquet') GROUP BY ALL",
    );
    // 28 windows of 83 minutes' events in 12 districts.
    assert_eq!(counts(&windows), [336, 336, 0, 0], "{windows}");

    let joined = compare(
        &lake,
        "SELECT district, new_scotsmen, epoch_us(timestamp), sale_id, bagpipes, price_gbp, \
         epoch_us(right_timestamp) FROM read_parquet('LAKE/arrivals_and_sales/*.parquet')",
        "SELECT a.district, a.new_scotsmen, epoch_us(a.timestamp), s.sale_id, s.bagpipes, \
         s.price_gbp, epoch_us(s.timestamp) \
         FROM read_parquet('LAKE/arrivals/*.parquet') a \
         JOIN read_parquet('LAKE/sales/*.parquet') s ON a.district = s.district \
         AND s.timestamp BETWEEN a.timestamp - INTERVAL 5 MINUTE \
         AND a.timestamp + INTERVAL 5 MINUTE \
         WHERE a.new_scotsmen >= 3",
    );
    let joined_counts = counts(&joined);
    assert!(joined_counts[0] > 5_000, "{joined}");
    assert_eq!(joined_counts[1..], [joined_counts[0], 0, 0], "{joined}");
}
