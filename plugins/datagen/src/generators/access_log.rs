//! `access_log`: lines of an Apache web server access log in common log format,
//! `10.0.0.7 - - [21/Nov/2026:20:31:49 +0000] "GET /products/42 HTTP/1.1" 200 5123`,
//! stamped with the row's event time. Statuses are mostly 200, with some 301, 404, 500
//! and 503. A corrupt row is a line cut off inside its request, as a writer that
//! crashed or was rotated mid-line leaves it: no closing quote, status or size.

use std::fmt::{self, Write};

use ferry_plugin_api::arrow::array::{ArrayRef, StringBuilder, TimestampMicrosecondBuilder};
use ferry_plugin_api::arrow::datatypes::{DataType, Field};

use super::{append_display, array, field, timestamp_builder, timestamp_type, Columns};
use crate::calendar::LogTime;
use crate::plan::Row;
use crate::rng::Rng;

const METHODS: [(&str, u32); 4] = [("GET", 85), ("POST", 10), ("PUT", 3), ("DELETE", 2)];
/// Path prefixes, with the range of the id that follows them (0: none).
const PATHS: [((&str, i64), u32); 8] = [
    (("/", 0), 15),
    (("/products/", 500), 35),
    (("/cart", 0), 10),
    (("/checkout", 0), 5),
    (("/search?q=item", 100), 10),
    (("/api/v1/orders/", 100_000), 10),
    (("/static/app.js", 0), 10),
    (("/login", 0), 5),
];
const STATUSES: [(u16, u32); 5] = [(200, 85), (301, 4), (404, 6), (500, 3), (503, 2)];

pub struct AccessLog {
    timestamp: TimestampMicrosecondBuilder,
    value: StringBuilder,
    /// Holds a whole line while a corrupt row cuts it.
    line: String,
}

impl Columns for AccessLog {
    fn fields() -> Vec<Field> {
        vec![
            field("timestamp", timestamp_type()),
            field("value", DataType::Utf8),
        ]
    }

    fn with_capacity(rows: usize) -> Self {
        Self {
            timestamp: timestamp_builder(rows),
            value: StringBuilder::with_capacity(rows, rows * 80),
            line: String::new(),
        }
    }

    fn append(&mut self, row: Row) {
        let mut rng = row.rng;
        let line = LogLine::draw(row.event_time, &mut rng);
        self.timestamp.append_value(row.event_time);
        match row.corrupt {
            true => self.append_cut(&line, &mut rng),
            false => append_display(&mut self.value, Some(line)),
        }
    }

    fn finish(mut self) -> Vec<ArrayRef> {
        vec![array(self.timestamp.finish()), array(self.value.finish())]
    }
}

impl AccessLog {
    /// Appends `line` cut at a random point before the end of its request.
    fn append_cut(&mut self, line: &LogLine, rng: &mut Rng) {
        self.line.clear();
        write!(self.line, "{line}").expect("formatting into memory cannot fail");
        let request_end = self.line.rfind('"').expect("a log line quotes its request");
        let cut = 1 + rng.below(request_end as u64) as usize;
        self.value.append_value(&self.line[..cut]);
    }
}

/// One request as the server logged it.
struct LogLine {
    client: [u8; 2],
    time: i64,
    method: &'static str,
    path: &'static str,
    id: Option<i64>,
    status: u16,
    bytes: i64,
}

impl LogLine {
    fn draw(time: i64, rng: &mut Rng) -> Self {
        let (path, max_id) = rng.weighted(&PATHS);
        let status = rng.weighted(&STATUSES);
        let bytes = match status {
            200 => rng.between(200, 60_000),
            301 => rng.between(180, 250),
            404 => rng.between(150, 600),
            _ => rng.between(0, 300),
        };
        Self {
            client: [rng.below(4) as u8, 1 + rng.below(254) as u8],
            time,
            method: rng.weighted(&METHODS),
            path,
            id: (max_id > 0).then(|| rng.between(1, max_id)),
            status,
            bytes,
        }
    }
}

impl fmt::Display for LogLine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let [subnet, host] = self.client;
        write!(f, "10.0.{subnet}.{host} - - [{}] ", LogTime(self.time))?;
        write!(f, "\"{} {}", self.method, self.path)?;
        if let Some(id) = self.id {
            write!(f, "{id}")?;
        }
        write!(f, " HTTP/1.1\" {} {}", self.status, self.bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_common_log_format() {
        let line = LogLine {
            client: [0, 7],
            time: 1_795_293_109_000_000,
            method: "GET",
            path: "/products/",
            id: Some(42),
            status: 200,
            bytes: 5123,
        };
        assert_eq!(
            line.to_string(),
            r#"10.0.0.7 - - [21/Nov/2026:20:31:49 +0000] "GET /products/42 HTTP/1.1" 200 5123"#
        );
    }
}
