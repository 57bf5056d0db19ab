//! JSON log lines, written straight into a byte buffer.
//!
//! `tracing_subscriber`'s JSON formatter serialises through `serde_json` into a
//! `fmt::Write`, one small write (and one UTF-8 check) per token of output: a line with a
//! dozen fields costs about 33k instructions (callgrind), a third of a denied check, and
//! the default `--audit-decisions denied` writes one per denial. This formatter writes the
//! same line (`timestamp`, `level`, `fields` in the order given, `target`) into one
//! `String`, escaping with `serde_json` the few strings that need it, and hands it over whole.
//!
//! An event inside a span, or one that came from the `log` crate, goes to the standard
//! formatter, which knows how to render spans and `log` metadata: spans are enabled only
//! when traces are exported, and then every line has them anyway.

use std::fmt::{self, Write as _};

use tracing::field::{Field, Visit};
use tracing::{Event, Subscriber};
use tracing_subscriber::fmt::format::{Format, Json, Writer};
use tracing_subscriber::fmt::time::{FormatTime, SystemTime};
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields};
use tracing_subscriber::registry::LookupSpan;

/// The event formatter for `--log-format json`.
pub struct JsonLines {
    standard: Format<Json>,
}

impl JsonLines {
    pub fn new() -> JsonLines {
        JsonLines {
            standard: Format::default().json(),
        }
    }
}

impl Default for JsonLines {
    fn default() -> JsonLines {
        JsonLines::new()
    }
}

impl<S, N> FormatEvent<S, N> for JsonLines
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        let meta = event.metadata();
        let in_span = event
            .parent()
            .and_then(|id| ctx.span(id))
            .or_else(|| ctx.lookup_current())
            .is_some();
        if in_span || meta.fields().field("log.target").is_some() {
            return self.standard.format_event(ctx, writer, event);
        }
        let mut timestamp = String::with_capacity(32);
        SystemTime.format_time(&mut Writer::new(&mut timestamp))?;
        let mut line = Line {
            out: String::with_capacity(384),
            first: true,
        };
        line.out.push_str("{\"timestamp\":");
        line.string(&timestamp);
        line.out.push_str(",\"level\":");
        line.string(meta.level().as_str());
        line.out.push_str(",\"fields\":{");
        event.record(&mut line);
        line.out.push_str("},\"target\":");
        line.string(meta.target());
        line.out.push_str("}\n");
        writer.write_str(&line.out)
    }
}

/// The line being built, and the fields' visitor.
struct Line {
    out: String,
    first: bool,
}

impl Line {
    fn string(&mut self, value: &str) {
        // Nearly every value (ids, names, scopes) needs no escape: copy those whole, and
        // leave the rest to serde_json, byte by byte.
        if value.bytes().all(|b| b >= 0x20 && b != b'"' && b != b'\\') {
            self.out.push('"');
            self.out.push_str(value);
            self.out.push('"');
        } else if let Ok(escaped) = serde_json::to_string(value) {
            self.out.push_str(&escaped);
        }
    }

    fn key(&mut self, field: &Field) {
        if !self.first {
            self.out.push(',');
        }
        self.first = false;
        self.string(field.name());
        self.out.push(':');
    }

    fn number(&mut self, field: &Field, value: impl fmt::Display) {
        self.key(field);
        // Writing into a String cannot fail.
        let _ = write!(self.out, "{value}");
    }
}

impl Visit for Line {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.key(field);
        self.string(value);
    }

    fn record_bool(&mut self, field: &Field, value: bool) {
        self.key(field);
        self.out.push_str(if value { "true" } else { "false" });
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        self.number(field, value);
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        self.number(field, value);
    }

    // No `record_i128`/`record_u128`: tracing's formatter writes those through `Debug`, as
    // strings, and so does this one by the trait's default.

    fn record_f64(&mut self, field: &Field, value: f64) {
        self.key(field);
        // As serde_json writes it (`1.0`, not Display's `1`), and a non-finite one as null,
        // as the standard formatter does.
        if let Ok(text) = serde_json::to_string(&value) {
            self.out.push_str(&text);
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.key(field);
        let mut text = String::new();
        let _ = write!(text, "{value:?}");
        self.string(&text);
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use tracing_subscriber::fmt::MakeWriter;
    use tracing_subscriber::layer::SubscriberExt;

    use super::*;

    #[derive(Clone, Default)]
    struct Captured(Arc<Mutex<Vec<u8>>>);

    impl std::io::Write for Captured {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    impl<'a> MakeWriter<'a> for Captured {
        type Writer = Captured;
        fn make_writer(&'a self) -> Captured {
            self.clone()
        }
    }

    /// What a formatter writes for some events.
    fn written(fast: bool, emit: impl Fn()) -> String {
        let out = Captured::default();
        let layer = tracing_subscriber::fmt::layer()
            .json()
            .with_writer(out.clone());
        let subscriber = tracing_subscriber::registry();
        if fast {
            let s = subscriber.with(layer.event_format(JsonLines::new()));
            tracing::subscriber::with_default(s, &emit);
        } else {
            tracing::subscriber::with_default(subscriber.with(layer), &emit);
        }
        String::from_utf8(out.0.lock().map(|b| b.clone()).unwrap_or_default()).expect("utf-8")
    }

    /// The lines a formatter writes, parsed.
    fn lines(fast: bool, emit: impl Fn()) -> Vec<serde_json::Value> {
        written(fast, emit)
            .lines()
            .map(|l| serde_json::from_str(l).expect("each line is one JSON object"))
            .collect()
    }

    fn without_timestamp(mut v: serde_json::Value) -> serde_json::Value {
        if let Some(o) = v.as_object_mut() {
            assert!(o.remove("timestamp").is_some_and(|t| t.is_string()));
        }
        v
    }

    #[test]
    fn writes_what_the_standard_formatter_writes() {
        let emit = || {
            let owned = String::from("tok\"en \\ id\n");
            tracing::info!(
                target: "tessera::audit",
                action = "authorize",
                token_id = owned.as_str(),
                shown = %owned,
                debugged = ?("a", 1),
                mutating = true,
                count = 3u64,
                delta = -4i64,
                ratio = 0.25f64,
                whole = 1.0f64,
                odd = f64::NAN,
                wide = 170_141_183_460_469_231_731_687_303_715_884_105_727i128,
                "authorization decision"
            );
            tracing::warn!(unicode = "é ✓ \u{1}", "plain {}", 42);
            let span = tracing::info_span!("rpc", method = "Check");
            let _in = span.enter();
            tracing::info!(inside = 1, "in a span");
        };
        let standard = lines(false, emit);
        let fast = lines(true, emit);
        assert_eq!(fast.len(), 3);
        for (f, s) in fast.into_iter().zip(standard) {
            assert_eq!(without_timestamp(f), without_timestamp(s));
        }
    }

    #[test]
    fn keeps_the_order_of_the_fields() {
        let text = written(true, || tracing::info!(b = 1, a = 2, "m"));
        assert!(
            text.contains(r#""fields":{"message":"m","b":1,"a":2},"target":"#),
            "{text}"
        );
        assert!(text.starts_with(r#"{"timestamp":""#) && text.ends_with("}\n"));
    }
}
