//! How an event reaches the transaction of its change without every store method taking
//! it as an argument: two task-locals, scoped to one call.
//!
//! - the request context (request id, peer), set by the listener for the whole call;
//! - the staged event, set by [`recorded`] around exactly the write that makes the change.
//!   The store asks for it ([`staged`]) inside that write's transaction, inserts it there,
//!   and says so ([`written`]); [`recorded`] then logs it if the write committed. Only the
//!   first transaction inside the scope takes it, so an action leaves one event.

use std::cell::RefCell;
use std::future::Future;

use super::Event;

/// What the listener knows of a call before any use case runs.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RequestContext {
    pub request_id: String,
    /// Kept as an address: made text only when an event or a decision is logged, not on
    /// every check.
    pub peer: Option<std::net::SocketAddr>,
}

impl RequestContext {
    /// The context of a call that carried `request_id` (its `x-request-id`) from `peer`. An
    /// id that is missing, longer than 128 bytes or holds anything but letters, digits and
    /// `-._:` is replaced by a fresh one: the trail keeps no free text a caller chose.
    pub fn new(request_id: Option<&str>, peer: Option<std::net::SocketAddr>) -> RequestContext {
        let acceptable = |id: &&str| {
            !id.is_empty()
                && id.len() <= 128
                && id
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"-._:".contains(&b))
        };
        RequestContext {
            request_id: request_id
                .filter(acceptable)
                .map_or_else(fresh_request_id, str::to_owned),
            peer,
        }
    }
}

/// A request id unique across replicas and restarts without a system call per request: a
/// random prefix drawn once per process, then a counter.
fn fresh_request_id() -> String {
    use std::sync::OnceLock;
    use std::sync::atomic::{AtomicU64, Ordering};
    static PREFIX: OnceLock<String> = OnceLock::new();
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let prefix = PREFIX.get_or_init(|| {
        crate::domain::token_format::random_base62(12).unwrap_or_else(|_| {
            // No randomness at start-up: the clock still tells processes apart.
            format!(
                "t{}",
                crate::domain::clock::millis(std::time::UNIX_EPOCH.elapsed().unwrap_or_default())
            )
        })
    });
    format!("{prefix}-{:x}", NEXT.fetch_add(1, Ordering::Relaxed))
}

impl RequestContext {
    /// The peer as events and the log show it: `ip:port`, or empty when unknown.
    pub fn peer_text(&self) -> String {
        self.peer.map(|p| p.to_string()).unwrap_or_default()
    }
}

struct Staged {
    event: Event,
    written: bool,
}

tokio::task_local! {
    static REQUEST: RequestContext;
    static STAGED: RefCell<Option<Staged>>;
}

/// Runs `call` with `context` as its request context.
pub async fn in_request<F: Future>(context: RequestContext, call: F) -> F::Output {
    REQUEST.scope(context, call).await
}

/// The current call's context; empty outside one (bootstrap, background passes).
pub fn request_context() -> RequestContext {
    REQUEST.try_with(Clone::clone).unwrap_or_default()
}

/// Runs `write` with `event` staged for its transaction; logs the event once the write
/// succeeded having written it. A write that changed nothing leaves the event unwritten,
/// and a failed one rolled it back with the change.
pub async fn recorded<T, E>(
    event: Event,
    write: impl Future<Output = Result<T, E>>,
) -> Result<T, E> {
    let staged = RefCell::new(Some(Staged {
        event,
        written: false,
    }));
    let (outcome, staged) = STAGED
        .scope(staged, async {
            let outcome = write.await;
            (outcome, STAGED.with(|s| s.borrow_mut().take()))
        })
        .await;
    if outcome.is_ok()
        && let Some(Staged {
            event,
            written: true,
        }) = staged
    {
        event.log();
    }
    outcome
}

/// The event staged for the write in progress, unless an earlier transaction of the same
/// scope already wrote it.
pub fn staged() -> Option<Event> {
    STAGED
        .try_with(|s| {
            s.borrow()
                .as_ref()
                .filter(|st| !st.written)
                .map(|st| st.event.clone())
        })
        .ok()
        .flatten()
}

/// Tells the scope its event is in the transaction about to commit.
pub fn written() {
    let _ = STAGED.try_with(|s| {
        if let Some(st) = s.borrow_mut().as_mut() {
            st.written = true;
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn an_event_is_taken_by_one_write_only() {
        let event = Event::new("role.create", 1);
        let seen = recorded(event.clone(), async {
            let first = staged();
            written();
            let second = staged();
            Ok::<_, ()>((first, second))
        })
        .await;
        assert_eq!(seen, Ok((Some(event), None)));
        assert_eq!(staged(), None, "nothing is staged outside the scope");
    }

    #[tokio::test]
    async fn the_request_context_reaches_the_event() {
        let context = RequestContext {
            request_id: "req-1".into(),
            peer: Some(std::net::SocketAddr::from(([127, 0, 0, 1], 4000))),
        };
        let event = in_request(context, async { Event::new("login", 5) }).await;
        assert_eq!(event.request_id, "req-1");
        assert_eq!(event.actor.peer, "127.0.0.1:4000");
        assert_eq!(Event::new("login", 5).request_id, "");
    }

    #[test]
    fn a_request_id_is_kept_only_when_it_is_plain() {
        assert_eq!(
            RequestContext::new(Some("abc-1.2:3_x"), None).request_id,
            "abc-1.2:3_x"
        );
        for bad in [None, Some(""), Some("has space"), Some("new\nline")] {
            let id = RequestContext::new(bad, None).request_id;
            assert!(
                !id.is_empty() && !id.contains(' ') && !id.contains('\n'),
                "{id}"
            );
        }
        let long = "a".repeat(129);
        assert_ne!(RequestContext::new(Some(&long), None).request_id, long);
        let (a, b) = (
            RequestContext::new(None, None),
            RequestContext::new(None, None),
        );
        assert_ne!(a.request_id, b.request_id);
    }
}
