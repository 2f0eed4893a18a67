//! Use case 1, Twitch gamers: configs/twitch-producer.toml then configs/twitch-lake.toml as
//! they are, against a real Kafka-protocol broker (tansu). 10,000 generated accounts, some
//! with a null and some published twice, go through Kafka into a Parquet lake partitioned
//! by activity_status and a CSV copy. DuckDB reads the topic's messages itself and applies
//! the notebook's rules (with its reference date, the newest updated_at): the lake must
//! hold exactly those rows, the CSV copy the same rows under a header, every message
//! with a null must be in lake/twitch/invalid, and a message that is not JSON and one
//! with a date that is not yyyy-MM-dd must be dead letters with their reasons.

use std::path::Path;
use std::time::Duration;

use ferry_tests::kafka::Broker;
use ferry_tests::lake::visible_files;
use ferry_tests::{config_command, multiset_differences as differences, python, Finished, Running};

/// twitch-producer.toml's `limit`.
const MESSAGES: usize = 10_000;

/// Published after the producer's: a message that is not JSON, and an account whose
/// updated_at is not yyyy-MM-dd. Each must be a dead letter.
const BAD: [&str; 2] = [
    "not json",
    r#"{"numeric_id": 20001, "views": 5, "mature": 0, "life_time": 1, "created_at": "2018-10-01", "updated_at": "02/10/2018", "dead_account": 0, "language": "EN", "affiliate": 1}"#,
];

const HEADER: &str = "numeric_id,views,mature,life_time,created_at,updated_at,dead_account,\
                      language,affiliate,activity_status,account_category";

/// DuckDB's views: `input` (the topic's values), `expected` (the notebook's cleaning of
/// them), and the lakes as `accounts`, `accounts_csv` and `invalid`. DIR is the run's folder.
const VIEWS: &str = r#"
import sys, duckdb
d = sys.argv[1]
con = duckdb.connect()
con.execute(f"SET VARIABLE dir = '{d}'")
account = "numeric_id BIGINT, views BIGINT, mature INTEGER, life_time INTEGER, created_at VARCHAR, updated_at VARCHAR, dead_account INTEGER, language VARCHAR, affiliate INTEGER"
def columns(ddl):
    return "{" + ", ".join("'%s': '%s'" % tuple(c.split()) for c in ddl.split(", ")) + "}"
con.execute(f"CREATE VIEW input AS SELECT * FROM read_json('{d}/input.jsonl', format = 'newline_delimited', columns = {columns(account)})")
incomplete = ("numeric_id IS NULL OR views IS NULL OR mature IS NULL OR life_time IS NULL OR created_at IS NULL "
    "OR updated_at IS NULL OR dead_account IS NULL OR language IS NULL OR affiliate IS NULL "
    "OR mature NOT IN (0, 1) OR dead_account NOT IN (0, 1) OR affiliate NOT IN (0, 1)")
con.execute(f"CREATE VIEW incomplete AS SELECT * FROM input WHERE {incomplete}")
con.execute(f"""CREATE VIEW cleaned AS SELECT DISTINCT numeric_id, views, mature = 1 AS mature, life_time,
    CAST(trim(created_at) AS DATE) AS created_at, CAST(trim(updated_at) AS DATE) AS updated_at,
    dead_account = 1 AS dead_account, trim(language) AS language, affiliate = 1 AS affiliate
    FROM input WHERE NOT ({incomplete})""")
con.execute("""CREATE VIEW expected AS SELECT * EXCLUDE (idle),
    CASE WHEN idle <= 30 THEN 'Very Active' WHEN idle <= 90 THEN 'Active'
         WHEN idle <= 180 THEN 'Less Active' ELSE 'Inactive' END AS activity_status,
    CASE WHEN views < 1000 THEN 'Nano' WHEN views < 10000 THEN 'Micro' WHEN views < 50000 THEN 'Mid-Tier'
         WHEN views < 100000 THEN 'Macro' WHEN views < 500000 THEN 'Mega' ELSE 'Elite' END AS account_category
    FROM (SELECT *, date_diff('day', updated_at, (SELECT max(updated_at) FROM cleaned)) AS idle FROM cleaned)""")
cols = "numeric_id, views, mature, life_time, created_at, updated_at, dead_account, language, affiliate, activity_status, account_category"
con.execute(f"CREATE VIEW accounts AS SELECT {cols} FROM read_parquet('{d}/lake/twitch/accounts/**/*.parquet', hive_partitioning = true)")
typed = account.replace("INTEGER", "BOOLEAN").replace("life_time BOOLEAN", "life_time INTEGER").replace(
    "created_at VARCHAR", "created_at DATE").replace("updated_at VARCHAR", "updated_at DATE")
typed += ", activity_status VARCHAR, account_category VARCHAR"
con.execute(f"CREATE VIEW accounts_csv AS SELECT * FROM read_csv('{d}/lake/twitch/accounts_csv/**/*.csv', header = true, columns = {columns(typed)})")
con.execute(f"CREATE VIEW invalid AS SELECT * FROM read_parquet('{d}/lake/twitch/invalid/**/*.parquet')")
print(con.sql(sys.argv[2]).fetchall())
"#;

/// DuckDB's answer to `sql` over the views, as Python prints its `fetchall()`.
fn ask(dir: &Path, sql: &str) -> String {
    python(VIEWS, &[dir.to_str().unwrap(), sql])
        .trim()
        .to_string()
}

fn run(dir: &Path, broker: &Broker, config: &str, env: &[(&str, &str)]) -> Finished {
    let bootstrap = broker.bootstrap();
    let env = [&[("KAFKA", bootstrap.as_str())], env].concat();
    Running::start(config_command(dir, config, &env)).wait(Duration::from_secs(300))
}

/// The topic's message values, one per line, as DuckDB's input.
fn save_topic(dir: &Path, broker: &Broker) {
    let messages = broker.consume("twitch_accounts", MESSAGES + BAD.len());
    assert_eq!(messages.len(), MESSAGES + BAD.len());
    let lines: Vec<&str> = (messages.iter())
        .map(|m| m["value"].as_str().expect("a value"))
        .filter(|v| !BAD.contains(v))
        .collect();
    assert_eq!(lines.len(), MESSAGES);
    std::fs::write(dir.join("input.jsonl"), lines.join("\n")).unwrap();
}

#[test]
fn accounts_through_kafka_equal_duckdbs_cleaning_of_the_topic() {
    let broker = Broker::start();
    broker.create_topic("twitch_accounts", 3);
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let produced = run(d, &broker, "twitch-producer.toml", &[]);
    assert!(produced.status.success(), "{produced:?}");
    let bad: Vec<String> = (BAD.iter())
        .map(|v| serde_json::json!({ "value": v, "partition": 0 }).to_string())
        .collect();
    broker.produce("twitch_accounts", &bad);
    let lake = run(
        d,
        &broker,
        "twitch-lake.toml",
        &[("TWITCH_TRIGGER", "available_now")],
    );
    assert!(lake.status.success(), "{lake:?}");
    save_topic(d, &broker);

    // Rows with a null (about 1% of the accounts, and their re-deliveries) are kept apart.
    let counts = ask(
        d,
        "SELECT count(*), (SELECT count(*) FROM incomplete) FROM input",
    );
    let (total, incomplete) = pair(&counts);
    assert_eq!(total, MESSAGES as u64);
    assert!(incomplete > 50, "{counts}");
    let invalid = "(SELECT * EXCLUDE (timestamp) FROM invalid)";
    assert_eq!(ask(d, &differences(invalid, "incomplete")), "[(0, 0)]");

    // One row per account; the notebook's reference date is the default AS_OF.
    let (rows, accounts) = pair(&ask(
        d,
        "SELECT count(*), count(DISTINCT numeric_id) FROM expected",
    ));
    assert_eq!(rows, accounts, "an account published with two contents");
    assert!(
        accounts > 9000 && accounts + incomplete < total,
        "{accounts}"
    );
    let newest = ask(d, "SELECT max(updated_at) FROM expected");
    assert_eq!(newest, "[(datetime.date(2018, 10, 12),)]");
    assert_eq!(
        ask(d, "SELECT count(*) FROM accounts"),
        format!("[({accounts},)]")
    );
    assert_eq!(ask(d, &differences("accounts", "expected")), "[(0, 0)]");

    // Every status and category occurs, each status in its own partition folder.
    let statuses = "['Active', 'Inactive', 'Less Active', 'Very Active']";
    let categories = "['Elite', 'Macro', 'Mega', 'Micro', 'Mid-Tier', 'Nano']";
    assert_eq!(
        ask(
            d,
            "SELECT list(DISTINCT activity_status ORDER BY activity_status), \
             list(DISTINCT account_category ORDER BY account_category) FROM accounts"
        ),
        format!("[({statuses}, {categories})]")
    );
    let mut folders: Vec<String> = std::fs::read_dir(d.join("lake/twitch/accounts"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| !n.starts_with('_'))
        .collect();
    folders.sort();
    let expected: Vec<String> = ["Active", "Inactive", "Less Active", "Very Active"]
        .iter()
        .map(|s| format!("activity_status={s}"))
        .collect();
    assert_eq!(folders, expected);

    // The CSV copy: a header in each file, the same rows.
    let csv_files = visible_files(&d.join("lake/twitch/accounts_csv"));
    assert!(!csv_files.is_empty());
    for file in &csv_files {
        let text = std::fs::read_to_string(file).unwrap();
        assert_eq!(text.lines().next(), Some(HEADER), "{}", file.display());
    }
    assert_eq!(ask(d, &differences("accounts_csv", "accounts")), "[(0, 0)]");

    // Each bad message is a dead letter naming its node and reason; no row was late.
    let dead = ask(
        d,
        "SELECT node, reason, decode(raw) LIKE '{\"numeric_id\":20001,%' OR decode(raw) = 'not json' \
         FROM read_parquet(getvariable('dir') || '/lake/twitch/dead_letter/*.parquet') ORDER BY node",
    );
    assert_eq!(
        dead,
        "[('accounts_clean', \"sql: Execution error: to_date: '02/10/2018' is not a date (yyyy-MM-dd)\", True), \
         ('topic', 'malformed JSON: expected ident at line 1 column 2', True)]"
    );
    assert!(!lake.stdout.contains("Batch:"), "{}", lake.stdout);
}

/// The two numbers of `[(a, b)]`.
fn pair(answer: &str) -> (u64, u64) {
    let inner = answer.trim_start_matches("[(").trim_end_matches(")]");
    let (a, b) = inner.split_once(", ").expect("two values");
    (a.parse().unwrap(), b.parse().unwrap())
}
