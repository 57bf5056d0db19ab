//! Logging and tracing: a fmt layer (text or JSON) filtered by `RUST_LOG`, plus an OTLP
//! exporter only when `OTEL_EXPORTER_OTLP_ENDPOINT` is set. Lines reach stderr through
//! [`log_writer`], in batches; JSON lines are made by [`json_lines`].

mod json_lines;
pub mod log_writer;

use opentelemetry::trace::TracerProvider as _;
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::trace::SdkTracerProvider;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer};

use crate::config::LogFormat;

#[derive(Debug, thiserror::Error)]
pub enum TelemetryError {
    #[error("building the OTLP exporter")]
    Exporter(#[from] opentelemetry_otlp::ExporterBuildError),
    #[error("installing the tracing subscriber")]
    Subscriber(#[from] tracing_subscriber::util::TryInitError),
}

/// Flushes and stops the exporter when dropped, so the last spans are not lost at exit.
#[derive(Debug)]
pub struct TelemetryGuard {
    provider: Option<SdkTracerProvider>,
    /// Dropped after the provider (fields drop after `drop`), so its last words are written.
    _log: log_writer::FlushGuard<std::io::Stderr>,
}

impl TelemetryGuard {
    /// Whether spans are exported (OTLP is configured).
    pub fn exporting(&self) -> bool {
        self.provider.is_some()
    }
}

impl Drop for TelemetryGuard {
    fn drop(&mut self) {
        if let Some(provider) = self.provider.take() {
            if let Err(e) = provider.shutdown() {
                eprintln!("tessera: flushing traces failed: {e}");
            }
        }
    }
}

/// Installs the global subscriber. Logs go to stderr: stdout is kept for command output
/// (`bootstrap` prints only the key there).
pub fn init(format: LogFormat) -> Result<TelemetryGuard, TelemetryError> {
    let mut filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    // The HTTP/2 stack logs frames, headers included, at debug and trace: capped here so that
    // no `RUST_LOG` setting can put a caller's `authorization` header into the logs.
    for quiet in ["h2=info", "hyper=info", "hyper_util=info", "tower=info"] {
        if let Ok(directive) = quiet.parse() {
            filter = filter.add_directive(directive);
        }
    }
    let (writer, log) = log_writer::BatchedWriter::new(std::io::stderr());
    let fmt = match format {
        LogFormat::Text => tracing_subscriber::fmt::layer().with_writer(writer).boxed(),
        LogFormat::Json => tracing_subscriber::fmt::layer()
            .json()
            .event_format(json_lines::JsonLines::new())
            .with_writer(writer)
            .boxed(),
    };
    let endpoint_set =
        std::env::var_os("OTEL_EXPORTER_OTLP_ENDPOINT").is_some_and(|v| !v.is_empty());
    let provider = if endpoint_set {
        let exporter = opentelemetry_otlp::SpanExporter::builder()
            .with_tonic()
            .build()?;
        Some(
            SdkTracerProvider::builder()
                .with_batch_exporter(exporter)
                .with_resource(Resource::builder().with_service_name("tessera").build())
                .build(),
        )
    } else {
        None
    };
    let otel = provider
        .as_ref()
        .map(|p| tracing_opentelemetry::layer().with_tracer(p.tracer("tessera")));
    tracing_subscriber::registry()
        .with(filter)
        .with(fmt)
        .with(otel)
        .try_init()?;
    Ok(TelemetryGuard {
        provider,
        _log: log,
    })
}
