//! The seed's two-stage file flow, run as configs/ has it in a copy of its data:
//! configs/files-json-to-csv.toml (JSON → a CSV lake by date), then
//! configs/files-windowed.toml (that lake → 6-hour windows per product → Parquet). DuckDB
//! reads the Parquet back and computes the same windows straight from the JSON files;
//! both must agree row for row, on the windows the watermark closed and no others. A
//! second round with a new JSON file closes the windows the first left open.

use std::path::Path;
use std::time::Duration;

use ferry_tests::{duckdb, root, run_pipeline, write_complete};

/// Run 1 ends at 2024-03-03T11:03, so its watermark (less 1 h) leaves [06:00, 12:00) of
/// that day open for laptop, phone and tablet. These close them, and [12:00, 18:00) for
/// phone; 11:40 joins tablet's open window, [18:00, 24:00) stays open.
const MORE: &str = r#"{"Datetime": "2024-03-03T11:40:00Z", "Product": "tablet", "Analytics": {"Clicks": 101, "Impressions": 900}, "Sales": {"Quantity": 3, "Total_Price": 120.25}}
{"Datetime": "2024-03-03T13:10:00Z", "Product": "phone", "Analytics": {"Clicks": 57, "Impressions": 610}, "Sales": {"Quantity": 2, "Total_Price": 999.99}}
{"Datetime": "2024-03-03T19:30:00Z", "Product": "laptop", "Analytics": {"Clicks": 12, "Impressions": 80}, "Sales": {"Quantity": 1, "Total_Price": 1500.5}}
"#;

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let path = entry.unwrap().path();
        std::fs::copy(&path, to.join(path.file_name().unwrap())).unwrap();
    }
}

/// Both stages, each to the end, from `dir` as the working directory.
fn run_both_stages(dir: &Path) {
    for stage in ["files-json-to-csv", "files-windowed"] {
        let config = root().join(format!("configs/{stage}.toml"));
        let run = run_pipeline(dir, config.to_str().unwrap(), Duration::from_secs(120));
        assert!(run.status.success(), "{stage}: {run:?}");
    }
}

/// DuckDB's 6-hour windows per product over the JSON in `data`, the closed ones only
/// (end ≤ newest Datetime − 1 h), against the lake's rows: every window either side lacks
/// or whose values differ (integers exactly, doubles to 1e-9 relative), as Python prints
/// them; `[]` when the two agree.
fn differences(data: &Path, lake: &Path) -> String {
    let sql = format!(
        "WITH src AS (SELECT epoch(Datetime)::BIGINT AS t, * FROM read_json('{data}/*.json')),
        expected AS (
            SELECT t // 21600 * 21600 AS start_s, Product, count(*) AS sales,
                sum(Analytics.Clicks) AS clicks, sum(Sales.Quantity) AS quantity,
                sum(Sales.Total_Price) AS revenue, avg(Sales.Total_Price) AS avg_revenue
            FROM src GROUP BY ALL
            HAVING start_s + 21600 <= (SELECT max(t) FROM src) - 3600),
        got AS (
            SELECT epoch(window_start)::BIGINT AS start_s, epoch(window_end)::BIGINT AS end_s, *
            FROM read_parquet('{lake}/*.parquet'))
        SELECT coalesce(e.start_s, g.start_s) AS s, coalesce(e.Product, g.Product) AS p,
            e.Product IS NULL AS extra, g.Product IS NULL AS missing
        FROM expected e FULL JOIN got g ON e.start_s = g.start_s AND e.Product = g.Product
        WHERE e.Product IS NULL OR g.Product IS NULL OR g.end_s <> g.start_s + 21600
            OR e.sales <> g.sales OR e.clicks <> g.clicks OR e.quantity <> g.quantity
            OR abs(e.revenue - g.revenue) > 1e-9 * abs(e.revenue)
            OR abs(e.avg_revenue - g.avg_revenue) > 1e-9 * abs(e.avg_revenue)
        ORDER BY s, p",
        data = data.display(),
        lake = lake.display()
    );
    duckdb(&sql)
}

/// The lake's rows and distinct (window, product) pairs: a window written twice shows.
fn rows_and_windows(lake: &Path) -> String {
    duckdb(&format!(
        "SELECT count(*), count(DISTINCT (window_start, Product)) FROM read_parquet('{}/*.parquet')",
        lake.display()
    ))
}

#[test]
fn csv_lake_windows_match_duckdb_over_the_original_json() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("configs/data/sales");
    copy_dir(&root().join("configs/data/sales"), &data);
    let lake = dir.path().join("lake/sales-6h");

    run_both_stages(dir.path());
    assert_eq!(differences(&data, &lake), "[]\n");
    assert_eq!(rows_and_windows(&lake), "[(25, 25)]\n");

    // Each stage reads only the new file; the open windows continue from the checkpoint.
    write_complete(&data.join("sales-4.json"), MORE);
    run_both_stages(dir.path());
    assert_eq!(differences(&data, &lake), "[]\n");
    assert_eq!(rows_and_windows(&lake), "[(29, 29)]\n");
}
