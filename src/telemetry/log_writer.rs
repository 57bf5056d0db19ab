//! Log lines written behind the request, in batches.
//!
//! tessera logs a line for every denied check by default (`--audit-decisions denied`), and a
//! flood of bad tokens is a flood of lines. Written straight to stderr, each is one
//! `write(2)` under stderr's lock, taken by whichever worker thread made the line. Here a
//! line is appended to a buffer in memory and a background thread writes the buffer out at
//! most [`FLUSH_EVERY`] after its first line, so a burst costs one write. (On the 2-core
//! bench machine the system calls were the smaller part of a line's cost; the formatting
//! was the larger, see `json_lines`.)
//!
//! Nothing is dropped: when the buffer holds [`BACKLOG`] (the output is stuck, a full pipe),
//! the caller writes it out itself and so waits, as it would have without the buffer. A
//! warning or an error is written at once, after everything before it, so a process that
//! dies right after one still shows it. Order is kept: every write of a batch happens
//! under one output lock taken before the buffer is let go.

use std::io::{self, Write};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::thread::JoinHandle;
use std::time::Duration;

use tracing::{Level, Metadata};
use tracing_subscriber::fmt::MakeWriter;

/// How long a line may wait in memory before it is written.
pub const FLUSH_EVERY: Duration = Duration::from_millis(20);

/// Bytes held in memory before the caller writes them out itself.
pub const BACKLOG: usize = 1 << 20;

#[derive(Debug)]
struct Shared<W> {
    pending: Mutex<Pending>,
    /// Told when the first line of a batch arrives, and at shutdown.
    arrived: Condvar,
    out: Mutex<W>,
}

#[derive(Debug, Default)]
struct Pending {
    lines: Vec<u8>,
    closing: bool,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic while holding the lock left at worst a half-appended line: keep logging.
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl<W: Write> Shared<W> {
    /// Writes out everything pending. The output lock is taken before the pending lock is
    /// let go, so batches reach the output in the order they were taken.
    fn write_out(&self, mut pending: MutexGuard<'_, Pending>) {
        let lines = std::mem::take(&mut pending.lines);
        let mut out = lock(&self.out);
        drop(pending);
        // A log that cannot be written has nowhere to report it.
        let _ = out.write_all(&lines).and_then(|()| out.flush());
    }
}

/// The log's destination for `tracing_subscriber::fmt`; see the module's comment.
pub struct BatchedWriter<W: Write + Send + 'static> {
    shared: Arc<Shared<W>>,
}

/// Writes what is pending and stops the background thread when dropped.
#[derive(Debug)]
pub struct FlushGuard<W: Write + Send + 'static> {
    shared: Arc<Shared<W>>,
    thread: Option<JoinHandle<()>>,
}

impl<W: Write + Send + 'static> BatchedWriter<W> {
    /// A writer into `out`, and the guard that must outlive every line.
    pub fn new(out: W) -> (BatchedWriter<W>, FlushGuard<W>) {
        let shared = Arc::new(Shared {
            pending: Mutex::new(Pending::default()),
            arrived: Condvar::new(),
            out: Mutex::new(out),
        });
        let background = shared.clone();
        let thread = std::thread::Builder::new()
            .name("tessera-log".to_owned())
            .spawn(move || flush_loop(&background))
            .ok();
        if thread.is_none() {
            // No thread to write behind the callers: every line is written at once, as
            // after shutdown, rather than held until a warning or the backlog.
            lock(&shared.pending).closing = true;
        }
        let guard = FlushGuard {
            shared: shared.clone(),
            thread,
        };
        (BatchedWriter { shared }, guard)
    }

    fn append(&self, line: &[u8], at_once: bool) {
        let mut pending = lock(&self.shared.pending);
        let first = pending.lines.is_empty();
        pending.lines.extend_from_slice(line);
        if at_once || pending.closing || pending.lines.len() >= BACKLOG {
            self.shared.write_out(pending);
        } else if first {
            drop(pending);
            self.shared.arrived.notify_one();
        }
    }
}

fn flush_loop<W: Write>(shared: &Shared<W>) {
    loop {
        let mut pending = lock(&shared.pending);
        while pending.lines.is_empty() && !pending.closing {
            pending = shared
                .arrived
                .wait(pending)
                .unwrap_or_else(PoisonError::into_inner);
        }
        if !pending.closing {
            // Let the batch fill; shutdown cuts the wait short.
            pending = shared
                .arrived
                .wait_timeout(pending, FLUSH_EVERY)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
        let closing = pending.closing;
        shared.write_out(pending);
        if closing {
            return;
        }
    }
}

impl<W: Write + Send + 'static> Drop for FlushGuard<W> {
    fn drop(&mut self) {
        lock(&self.shared.pending).closing = true;
        self.shared.arrived.notify_one();
        // The thread writes what is pending before it ends; without one, nothing was held.
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// One event's line, handed over whole by the fmt layer.
pub struct Line<'a, W: Write + Send + 'static> {
    writer: &'a BatchedWriter<W>,
    at_once: bool,
}

impl<W: Write + Send + 'static> Write for Line<'_, W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.writer.append(buf, self.at_once);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl<'a, W: Write + Send + 'static> MakeWriter<'a> for BatchedWriter<W> {
    type Writer = Line<'a, W>;

    fn make_writer(&'a self) -> Line<'a, W> {
        Line {
            writer: self,
            at_once: false,
        }
    }

    fn make_writer_for(&'a self, meta: &Metadata<'_>) -> Line<'a, W> {
        Line {
            writer: self,
            at_once: *meta.level() <= Level::WARN,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An output the test can read while the writer holds it.
    #[derive(Clone, Default)]
    struct Sink(Arc<Mutex<Vec<u8>>>);

    impl Write for Sink {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            lock(&self.0).extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    impl Sink {
        fn text(&self) -> String {
            String::from_utf8_lossy(&lock(&self.0)).into_owned()
        }
    }

    fn line(w: &BatchedWriter<Sink>, at_once: bool, text: &str) {
        let mut l = Line { writer: w, at_once };
        l.write_all(text.as_bytes()).expect("in memory");
    }

    #[test]
    fn a_warning_is_written_at_once_after_everything_before_it() {
        let sink = Sink::default();
        let (w, _guard) = BatchedWriter::new(sink.clone());
        line(&w, false, "a\n");
        line(&w, false, "b\n");
        line(&w, true, "warn\n");
        assert_eq!(sink.text(), "a\nb\nwarn\n");
    }

    #[test]
    fn the_guard_writes_what_is_pending_in_order() {
        let sink = Sink::default();
        let (w, guard) = BatchedWriter::new(sink.clone());
        let expected: String = (0..1000).map(|i| format!("line {i}\n")).collect();
        for i in 0..1000 {
            line(&w, false, &format!("line {i}\n"));
        }
        drop(guard);
        assert_eq!(sink.text(), expected);
        // After the guard, lines are written at once rather than lost.
        line(&w, false, "late\n");
        assert!(sink.text().ends_with("late\n"));
    }

    #[test]
    fn the_background_thread_writes_a_quiet_line_without_a_flush() {
        let sink = Sink::default();
        let (w, _guard) = BatchedWriter::new(sink.clone());
        line(&w, false, "quiet\n");
        // Written within FLUSH_EVERY; wait on the output, bounded, rather than a fixed sleep.
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while sink.text().is_empty() {
            assert!(std::time::Instant::now() < deadline, "never written");
            std::thread::yield_now();
        }
        assert_eq!(sink.text(), "quiet\n");
    }

    #[test]
    fn a_full_backlog_is_written_by_the_caller() {
        let sink = Sink::default();
        let (w, _guard) = BatchedWriter::new(sink.clone());
        let big = "x".repeat(BACKLOG);
        line(&w, false, &big);
        assert!(sink.text().len() >= BACKLOG, "the caller wrote its backlog");
    }
}
