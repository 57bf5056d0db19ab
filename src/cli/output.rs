//! What the CLI prints: one set of records per answer, shown as an aligned table for people
//! or as JSON for scripts (`--output json`), so the two never disagree.

use clap::ValueEnum;
use serde_json::{Map, Value};

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Output {
    /// Aligned columns (a single record: one `field: value` line each).
    Table,
    /// JSON: an object for a single record, an array for a list; proto field names,
    /// RFC 3339 timestamps.
    Json,
}

/// A column: its header and the JSON field it shows.
pub type Column = (&'static str, &'static str);

/// Prints a list.
pub fn list(output: Output, columns: &[Column], items: &[Value]) {
    match output {
        Output::Json => json(&Value::Array(items.to_vec())),
        Output::Table => {
            let rows: Vec<Vec<String>> = items
                .iter()
                .map(|item| columns.iter().map(|(_, key)| cell(&item[*key])).collect())
                .collect();
            let headers: Vec<String> = columns.iter().map(|(h, _)| (*h).to_owned()).collect();
            emit(&table(&headers, &rows));
        }
    }
}

/// Prints one record: every field in table mode, in `columns` order.
pub fn one(output: Output, columns: &[Column], item: &Value) {
    match output {
        Output::Json => json(item),
        Output::Table => {
            let width = columns.iter().map(|(h, _)| h.len()).max().unwrap_or(0);
            let mut text = String::new();
            for (header, key) in columns {
                text.push_str(&format!("{header:<width$}  {}\n", cell(&item[*key])));
            }
            emit(&text);
        }
    }
}

pub fn json(value: &Value) {
    let mut text = serde_json::to_string_pretty(value).unwrap_or_else(|_| "null".into());
    text.push('\n');
    emit(&text);
}

/// Writes to stdout; a reader that went away (`| head`) ends the output, not the process
/// with a panic.
pub fn emit(text: &str) {
    use std::io::Write;
    let _ = std::io::stdout().lock().write_all(text.as_bytes());
}

/// Columns padded to their widest cell, two spaces apart; the last column is not padded.
pub fn table(headers: &[String], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = headers.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (w, c) in widths.iter_mut().zip(row) {
            *w = (*w).max(c.chars().count());
        }
    }
    let mut out = String::new();
    for row in std::iter::once(headers).chain(rows.iter().map(Vec::as_slice)) {
        let last = row.len().saturating_sub(1);
        for (i, c) in row.iter().enumerate() {
            if i == last {
                out.push_str(c);
            } else {
                let pad = widths[i] - c.chars().count();
                out.push_str(c);
                out.push_str(&" ".repeat(pad + 2));
            }
        }
        out.push('\n');
    }
    out
}

/// A value as a table shows it: lists comma-separated, absent as `-`.
pub fn cell(v: &Value) -> String {
    match v {
        Value::Null => "-".into(),
        Value::String(s) if s.is_empty() => "-".into(),
        Value::String(s) => s.clone(),
        Value::Bool(true) => "yes".into(),
        Value::Bool(false) => "no".into(),
        Value::Array(items) if items.is_empty() => "-".into(),
        Value::Array(items) => items.iter().map(cell).collect::<Vec<_>>().join(","),
        other => other.to_string(),
    }
}

/// An object from `(field, value)` pairs, in order.
pub fn object(fields: Vec<(&str, Value)>) -> Value {
    let mut map = Map::new();
    for (k, v) in fields {
        map.insert(k.to_owned(), v);
    }
    Value::Object(map)
}

/// RFC 3339 in UTC (`2026-12-03T18:04:05Z`), or null when unset.
pub fn timestamp(ts: Option<&prost_types::Timestamp>) -> Value {
    match ts {
        Some(ts) => Value::String(rfc3339(ts.seconds)),
        None => Value::Null,
    }
}

/// Unix seconds as RFC 3339 UTC, by the civil-from-days algorithm (H. Hinnant).
pub fn rfc3339(seconds: i64) -> String {
    let days = seconds.div_euclid(86_400);
    let secs = seconds.rem_euclid(86_400);
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        secs / 3600,
        secs % 3600 / 60,
        secs % 60
    )
}

pub fn strings(items: &[String]) -> Value {
    Value::Array(items.iter().cloned().map(Value::String).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_matches_known_instants() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(rfc3339(1_796_321_045), "2026-12-03T18:04:05Z");
        assert_eq!(rfc3339(-1), "1969-12-31T23:59:59Z");
    }

    #[test]
    fn tables_align_on_the_widest_cell() {
        let headers = vec!["NAME".to_owned(), "SCOPES".to_owned()];
        let rows = vec![vec!["reader".to_owned(), "read:*".to_owned()]];
        assert_eq!(table(&headers, &rows), "NAME    SCOPES\nreader  read:*\n");
    }
}
