//! The change feed: turns committed changes made anywhere (another replica, a hand-written
//! UPDATE) into cache invalidations here, within milliseconds.
//!
//! Triggers (migration 0002) bump a revision counter and `NOTIFY tessera_changes` in the
//! changing transaction. This module keeps one connection listening and applies each notice.
//! Two things cover what a listener cannot hear:
//! - on every (re)connect it listens first and then flushes the whole cache, so nothing cached
//!   before the gap survives it and nothing committed after it goes unheard;
//! - a poller reads the revision every interval. When the database is ahead of every notice
//!   heard, and still is one interval later (time enough for a notice in flight to arrive),
//!   it flushes the cache. So even a notice lost without a disconnect is bounded by two poll
//!   intervals, well inside the cache TTL.

use std::sync::Arc;
use std::time::Duration;

use sqlx::postgres::{PgListener, PgPool, PgPoolOptions};
use tokio::sync::{Notify, watch};
use tokio::task::JoinHandle;

use super::feed_metrics::MeteredSink;
use super::{Postgres, PostgresStore};
use crate::domain::ports::{ChangeSink, StoreError, StoreResult};
use crate::metrics::Metrics;
use crate::store::sql::rows::Columns;
use crate::store::sql::{SqlBackend, schema};

/// The NOTIFY channel the triggers write to.
pub const CHANNEL: &str = "tessera_changes";

/// What the listener and the poller know. It lives in a `watch` channel, which is both the
/// lock the two tasks share and what [`ChangeFeed::settled`] waits on.
#[derive(Debug, Default)]
struct FeedState {
    /// The listener listens and the cache was flushed after it started.
    synced: bool,
    /// Every change up to this revision has been applied to the cache.
    heard: i64,
    /// A revision a poll saw ahead of `heard`; flushed for if still unheard at the next poll.
    suspect: Option<i64>,
}

type SharedState = Arc<watch::Sender<FeedState>>;

impl FeedState {
    /// Records a notice's revision.
    fn heard(&mut self, revision: i64) {
        self.heard = self.heard.max(revision);
    }

    /// Listening, with the cache flushed, as of `revision`.
    fn synced(&mut self, revision: i64) {
        self.synced = true;
        self.heard = revision;
        self.suspect = None;
    }

    /// Records a polled revision; true when the cache must be flushed.
    fn polled(&mut self, revision: i64) -> bool {
        if revision < self.heard {
            // The database went back in time (a restore, a failover that lost commits):
            // what was heard no longer describes it.
            self.heard = revision;
            self.suspect = None;
            return true;
        }
        if revision == self.heard {
            self.suspect = None;
            return false;
        }
        match self.suspect {
            Some(earlier) if earlier > self.heard => {
                self.heard = revision;
                self.suspect = None;
                true
            }
            _ => {
                self.suspect = Some(revision);
                false
            }
        }
    }
}

/// One notice: `<revision> t <token id>`, `<revision> r <role name>`,
/// `<revision> u <user id>` or `<revision> *`.
#[derive(Debug, PartialEq, Eq)]
enum Notice<'a> {
    Token(i64, &'a str),
    Role(i64, &'a str),
    User(i64, &'a str),
    Client(i64, &'a str),
    Everything(i64),
}

fn parse_notice(payload: &str) -> Option<Notice<'_>> {
    let mut parts = payload.splitn(3, ' ');
    let revision = parts.next()?.parse().ok()?;
    match (parts.next()?, parts.next()) {
        ("t", Some(id)) if !id.is_empty() => Some(Notice::Token(revision, id)),
        ("r", Some(name)) if !name.is_empty() => Some(Notice::Role(revision, name)),
        ("u", Some(id)) if !id.is_empty() => Some(Notice::User(revision, id)),
        ("c", Some(id)) if !id.is_empty() => Some(Notice::Client(revision, id)),
        ("*", None) => Some(Notice::Everything(revision)),
        _ => None,
    }
}

/// What the listener and the poller share besides the state.
#[derive(Debug, Clone)]
struct FeedTiming {
    poll_interval: Duration,
    /// The poller asks the listener to reconnect when notices went missing.
    restart: Arc<Notify>,
}

/// The two tasks following the feed; dropping this stops them.
#[derive(Debug)]
pub struct ChangeFeed {
    listener: JoinHandle<()>,
    poller: JoinHandle<()>,
    state: SharedState,
    store: Arc<PostgresStore>,
}

impl ChangeFeed {
    /// Returns once the feed listens and has applied every change committed before this call,
    /// so a caller (a test counting store reads) knows no flush for an earlier change is
    /// still on its way.
    pub async fn settled(&self) -> StoreResult<()> {
        let revision = self.store.revision().await?;
        self.state
            .subscribe()
            .wait_for(|s| s.synced && s.heard >= revision)
            .await
            .map(|_| ())
            .map_err(|_| StoreError::Unavailable("the change feed has stopped".into()))
    }
}

impl Drop for ChangeFeed {
    fn drop(&mut self) {
        self.listener.abort();
        self.poller.abort();
    }
}

/// Starts following the change feed into `sink` until the returned handle is dropped.
pub fn follow_changes(
    store: &Arc<PostgresStore>,
    sink: Arc<dyn ChangeSink>,
    metrics: Arc<Metrics>,
) -> ChangeFeed {
    let sink: Arc<dyn ChangeSink> = Arc::new(MeteredSink {
        inner: sink,
        metrics: metrics.clone(),
    });
    let settings = &store.backend().settings;
    let state: SharedState = Arc::new(watch::Sender::new(FeedState::default()));
    // Its own one-connection pool, named so operators (and tests) can find it.
    let listen_pool = PgPoolOptions::new()
        .max_connections(1)
        .acquire_timeout(settings.statement_timeout)
        .connect_lazy_with(
            store
                .backend()
                .options
                .clone()
                .application_name("tessera-listener"),
        );
    let timing = FeedTiming {
        poll_interval: settings.change_poll_interval,
        restart: Arc::new(Notify::new()),
    };
    let listener = tokio::spawn(listen(
        store.clone(),
        listen_pool,
        sink.clone(),
        state.clone(),
        timing.clone(),
        metrics,
    ));
    let poller = tokio::spawn(poll(store.clone(), sink, state.clone(), timing));
    ChangeFeed {
        listener,
        poller,
        state,
        store: store.clone(),
    }
}

async fn listen(
    store: Arc<PostgresStore>,
    pool: PgPool,
    sink: Arc<dyn ChangeSink>,
    state: SharedState,
    options: FeedTiming,
    metrics: Arc<Metrics>,
) {
    let mut connected_before = false;
    loop {
        let mut listener = match subscribe(&pool).await {
            Ok(listener) => {
                if std::mem::replace(&mut connected_before, true) {
                    metrics.feed_reconnect();
                }
                listener
            }
            Err(e) => {
                tracing::warn!(error = %e, "change listener cannot connect; retrying");
                sink.everything_changed();
                tokio::time::sleep(options.poll_interval).await;
                continue;
            }
        };
        resync(&store, &sink, &state).await;
        loop {
            // A listener that has missed notices (the poller saw it) may sit on a connection
            // that is dead without a reset (a silent peer): start over on a new one. Dropping
            // the listener mid-receive is safe because it is never used again.
            let received = tokio::select! {
                r = listener.try_recv() => r,
                () = options.restart.notified() => {
                    tracing::warn!("change listener missed notices; reconnecting");
                    sink.everything_changed();
                    break;
                }
            };
            match received {
                Ok(Some(notification)) => {
                    apply(notification.payload(), &sink, &state, &metrics);
                }
                // The connection was lost: whatever was sent since is lost with it. Flush now
                // rather than after a reconnect, which may take long while the database is
                // unreachable.
                Ok(None) | Err(_) => {
                    tracing::warn!("change listener lost its connection; cache flushed");
                    sink.everything_changed();
                    break;
                }
            }
        }
    }
}

async fn subscribe(pool: &PgPool) -> Result<PgListener, sqlx::Error> {
    let mut listener = PgListener::connect_with(pool).await?;
    // Report a lost connection at once; `listen` reconnects, then flushes and resyncs.
    listener.eager_reconnect(false);
    listener.listen(CHANNEL).await?;
    Ok(listener)
}

/// Called once listening: every change committed before now is in the database, and every
/// later one will be heard, so flushing the cache and taking the current revision as heard
/// leaves nothing stale behind.
async fn resync(store: &Arc<PostgresStore>, sink: &Arc<dyn ChangeSink>, state: &SharedState) {
    sink.everything_changed();
    if let Ok(revision) = store.revision().await {
        state.send_modify(|s| s.synced(revision));
    }
}

fn apply(payload: &str, sink: &Arc<dyn ChangeSink>, state: &SharedState, metrics: &Metrics) {
    match parse_notice(payload) {
        Some(Notice::Token(revision, id)) => {
            sink.token_changed(id);
            state.send_modify(|s| s.heard(revision));
        }
        Some(Notice::Role(revision, name)) => {
            sink.role_changed(name);
            state.send_modify(|s| s.heard(revision));
        }
        Some(Notice::User(revision, id)) => {
            sink.user_changed(id);
            state.send_modify(|s| s.heard(revision));
        }
        Some(Notice::Client(revision, id)) => {
            sink.client_changed(id);
            state.send_modify(|s| s.heard(revision));
        }
        Some(Notice::Everything(revision)) => {
            // A notice heard (a bulk change), though it flushes like a lost one.
            metrics.feed_notice();
            sink.everything_changed();
            state.send_modify(|s| s.heard(revision));
        }
        None => {
            tracing::warn!(payload, "unrecognised change notice; cache flushed");
            sink.everything_changed();
        }
    }
}

async fn poll(
    store: Arc<PostgresStore>,
    sink: Arc<dyn ChangeSink>,
    state: SharedState,
    options: FeedTiming,
) {
    let every = options.poll_interval;
    let mut ticker = tokio::time::interval(every);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut last_answer = tokio::time::Instant::now();
    loop {
        ticker.tick().await;
        // Bounded, so a connection gone silent cannot stall the fallback itself.
        match tokio::time::timeout(every, store.revision()).await {
            Ok(Ok(revision)) => {
                last_answer = tokio::time::Instant::now();
                let mut flush = false;
                state.send_modify(|s| flush = s.polled(revision));
                if flush {
                    tracing::warn!(revision, "change notices were missed; cache flushed");
                    sink.everything_changed();
                    options.restart.notify_one();
                }
            }
            // No answer for two intervals: changes may be going unheard, so nothing cached
            // is trusted until the database answers again.
            _ if last_answer.elapsed() >= 2 * every => sink.everything_changed(),
            _ => {}
        }
    }
}

impl PostgresStore {
    /// The change feed's current revision.
    pub async fn revision(&self) -> StoreResult<i64> {
        let st = Postgres::render(&schema::changes::select_revision());
        let row = self
            .bounded(async { Ok(self.backend().fetch_optional(st).await?) })
            .await?
            .ok_or_else(|| StoreError::internal("the change_revision row is missing"))?;
        row.int("revision")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn notices_parse() {
        assert_eq!(
            parse_notice("7 t tsk_abc"),
            Some(Notice::Token(7, "tsk_abc"))
        );
        assert_eq!(parse_notice("8 *"), Some(Notice::Everything(8)));
        assert_eq!(parse_notice("9 r admin"), Some(Notice::Role(9, "admin")));
        assert_eq!(parse_notice("10 u usr_1"), Some(Notice::User(10, "usr_1")));
        assert_eq!(
            parse_notice("11 c cli_1"),
            Some(Notice::Client(11, "cli_1"))
        );
        for bad in [
            "",
            "x *",
            "7",
            "7 t",
            "7 t ",
            "7 * extra",
            "7 q id",
            "7 r",
            "7 u ",
        ] {
            assert_eq!(parse_notice(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn a_poll_flushes_only_for_a_revision_still_unheard_one_interval_later() {
        let mut s = FeedState::default();
        assert!(!s.polled(0));
        // A notice in flight: the next poll sees it heard, no flush.
        assert!(!s.polled(3));
        s.heard(3);
        assert!(!s.polled(3));
        // A lost notice: flagged once, flushed at the next poll.
        assert!(!s.polled(5));
        assert!(s.polled(5));
        assert_eq!(s.heard, 5);
        assert!(!s.polled(5));
        // A database restored to an earlier revision: flush and start over from there.
        assert!(s.polled(2));
        assert_eq!(s.heard, 2);
        assert!(!s.polled(2));
    }
}
