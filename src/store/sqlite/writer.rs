//! Group commit for token inserts and refresh rotations: concurrent Issue calls and OAuth
//! grants share one transaction and one fsync instead of paying one each, which is what
//! bounds SQLite's write rate. Each caller still returns only after the transaction holding
//! its rows committed.

use std::collections::HashSet;
use std::time::Duration;

use tokio::sync::{mpsc, oneshot};

use super::{BEGIN, Sqlite, classify};
use crate::domain::audit::{self, Event};
use crate::domain::clock::Millis;
use crate::domain::error::chain;
use crate::domain::model::TokenRecord;
use crate::domain::ports::{StoreError, StoreResult};
use crate::store::sql::SqlBackend;
use crate::store::sql::exec::{WriteTx, WriterTurns};
use crate::store::sql::oauth::{Rotation, rotate_in};
use crate::store::sql::rows::Columns;
use crate::store::sql::schema::{audit as audit_q, batched, oauth as q};
use crate::store::sql::{SqlTx, bounded, insert_in};

/// Most inserts committed together.
const MAX_BATCH: usize = 256;
// A bulk insert is one compound SELECT of a batch's rows: SQLite allows 500 terms
// (SQLITE_MAX_COMPOUND_SELECT) and 32,766 parameters (about 20 a row here).
const _: () = assert!(MAX_BATCH <= 500);

/// What one caller asked for.
enum Work {
    /// A token and its quota (see `TokenStore::insert_token_within`).
    Insert(Box<TokenRecord>, Option<u32>),
    /// A refresh rotation. Its statements are ordered so that only its insert can fail
    /// alone (a constraint, or the user deleted meanwhile): the old token is then ended with
    /// no successor, which is what a deleted user's grant deserves.
    Rotate(Rotation),
}

/// The work, the audit event staged with it (written in the same transaction when the work
/// succeeds, see `domain::audit`), and where its outcome goes (`true` for an insert; for a
/// rotation, whether the old token was still live).
type Job = (Work, Option<Event>, oneshot::Sender<StoreResult<bool>>);

#[derive(Debug, Clone)]
pub(super) struct InsertQueue {
    jobs: mpsc::Sender<Job>,
}

impl InsertQueue {
    /// Starts the writer task; it ends when every queue handle is dropped.
    pub(super) fn start(
        pool: sqlx::SqlitePool,
        turns: WriterTurns,
        deadline: Duration,
    ) -> InsertQueue {
        let (jobs, rx) = mpsc::channel(4 * MAX_BATCH);
        tokio::spawn(write_batches(pool, turns, deadline, rx));
        InsertQueue { jobs }
    }

    pub(super) async fn insert(
        &self,
        token: TokenRecord,
        max_active: Option<u32>,
    ) -> StoreResult<()> {
        self.submit(Work::Insert(Box::new(token), max_active))
            .await
            .map(|_| ())
    }

    pub(super) async fn rotate(&self, rotation: Rotation) -> StoreResult<bool> {
        self.submit(Work::Rotate(rotation)).await
    }

    async fn submit(&self, work: Work) -> StoreResult<bool> {
        let (done, result) = oneshot::channel();
        let closed = || StoreError::unavailable("the token writer has stopped");
        let event = audit::staged();
        let staged = event.is_some();
        self.jobs
            .send((work, event, done))
            .await
            .map_err(|_| closed())?;
        let outcome = result.await.map_err(|_| closed())?;
        if staged && matches!(outcome, Ok(true)) {
            audit::written();
        }
        outcome
    }
}

async fn write_batches(
    pool: sqlx::SqlitePool,
    turns: WriterTurns,
    deadline: Duration,
    mut rx: mpsc::Receiver<Job>,
) {
    let mut batch: Vec<Job> = Vec::with_capacity(MAX_BATCH);
    while rx.recv_many(&mut batch, MAX_BATCH).await > 0 {
        // A caller that gave up (its deadline passed while queued) was told UNAVAILABLE:
        // its token must not appear later.
        batch.retain(|(_, _, done)| !done.is_closed());
        if batch.is_empty() {
            continue;
        }
        let outcomes = match bounded(deadline, write(&pool, &turns, &batch)).await {
            Ok(outcomes) => outcomes,
            Err(e) => {
                // Logged here with its cause ("database or disk is full"): each caller gets
                // the same failure, and nothing of the batch was committed.
                tracing::warn!(error = %chain(&e), tokens = batch.len(), "token batch not committed");
                batch.iter().map(|_| Err(same_failure(&e))).collect()
            }
        };
        for ((_, _, done), outcome) in batch.drain(..).zip(outcomes) {
            let _ = done.send(outcome);
        }
    }
}

/// The batch in a few statements when none of its rows counts a quota (`write_bulk`), else,
/// or when a row would fail alone, row by row (`write_each`).
async fn write(
    pool: &sqlx::SqlitePool,
    turns: &WriterTurns,
    batch: &[Job],
) -> StoreResult<Vec<StoreResult<bool>>> {
    // A quota counts the rows before it, and a retry's grant is checked in its own
    // statement (`rotate_in`); the bulk statements do neither. A rotation needs no grant
    // check there: its old token is live only while its grant is (revoking a grant revokes
    // its tokens, and SQLite's writers are serial).
    let per_row = |(work, _, _): &Job| match work {
        Work::Insert(_, quota) => quota.is_some(),
        Work::Rotate(r) => r.old_id.is_none(),
    };
    if batch.len() > 1 && !batch.iter().any(per_row) {
        if let Some(outcomes) = write_bulk(pool, turns, batch).await? {
            return Ok(outcomes);
        }
    }
    write_each(pool, turns, batch).await
}

/// One transaction, three statements whatever the batch's size: every rotation's old
/// token ended at once, then the inserts' rows, then the rotations'. `None`, with nothing
/// written, when a row breaks a constraint or a subject is gone: `write_each` then finds
/// which row, and fails it alone.
async fn write_bulk(
    pool: &sqlx::SqlitePool,
    turns: &WriterTurns,
    batch: &[Job],
) -> StoreResult<Option<Vec<StoreResult<bool>>>> {
    let turn = turns.take().await;
    let mut tx = WriteTx::begin(pool, BEGIN, classify, Some(turn)).await?;
    match bulk_in(&mut tx, batch).await {
        Ok(Some(outcomes)) => {
            tx.commit().await?;
            Ok(Some(outcomes))
        }
        Ok(None) => {
            tx.rollback().await;
            Ok(None)
        }
        Err(e) => {
            tx.rollback().await;
            Err(e)
        }
    }
}

async fn bulk_in(
    tx: &mut WriteTx<sqlx::Sqlite>,
    batch: &[Job],
) -> StoreResult<Option<Vec<StoreResult<bool>>>> {
    let ends: Vec<(&str, Millis)> = batch
        .iter()
        .filter_map(|(work, _, _)| match work {
            Work::Rotate(r) => r.old_id.as_deref().map(|id| (id, r.now)),
            Work::Insert(..) => None,
        })
        .collect();
    let mut live: HashSet<String> = match batched::end_refresh_tokens(&ends) {
        Some(st) => tx
            .fetch_all(Sqlite::render(&st))
            .await?
            .iter()
            .map(|row| row.text("id"))
            .collect::<StoreResult<_>>()?,
        None => HashSet::new(),
    };
    let (mut checked, mut rotated) = (Vec::new(), Vec::new());
    let mut outcomes = Vec::with_capacity(batch.len());
    for (work, _, _) in batch {
        match work {
            Work::Insert(token, _) => {
                checked.push(token.as_ref());
                outcomes.push(Ok(true));
            }
            Work::Rotate(r) => {
                // Of two rotations of one token in this batch, the first wins.
                let won = r.old_id.as_ref().is_some_and(|id| live.remove(id));
                if won {
                    rotated.extend(r.tokens.iter());
                }
                outcomes.push(Ok(won));
            }
        }
    }
    // Fewer rows than asked: a subject was gone.
    if let Some(st) = batched::insert_checked(&checked)
        && rows_written(tx, &st).await? != Some(checked.len() as u64)
    {
        return Ok(None);
    }
    if !rotated.is_empty()
        && rows_written(tx, &q::insert_rotated(rotated))
            .await?
            .is_none()
    {
        return Ok(None);
    }
    let events = batch
        .iter()
        .zip(&outcomes)
        .filter(|(_, outcome)| matches!(outcome, Ok(true)))
        .filter_map(|((_, event, _), _)| event.as_ref());
    if let Some(st) = audit_q::insert_events(events) {
        tx.execute(Sqlite::render(&st)).await?;
    }
    Ok(Some(outcomes))
}

/// How many rows one of the batch's inserts wrote; `None` when a row broke a constraint,
/// which is a row's failure to find, not the batch's.
async fn rows_written(
    tx: &mut WriteTx<sqlx::Sqlite>,
    st: &sea_query::InsertStatement,
) -> StoreResult<Option<u64>> {
    match tx.execute(Sqlite::render(st)).await {
        Ok(n) => Ok(Some(n)),
        Err(e) if e.is_constraint() => Ok(None),
        Err(e) => Err(e.into_store()),
    }
}

/// One transaction for the batch, rows in order, so a quota counts the rows before it. A row
/// that violates a constraint or its quota fails alone (SQLite undoes just that statement); any other failure, or a failed commit, fails the whole batch, since
/// after it SQLite may have rolled back everything written so far.
async fn write_each(
    pool: &sqlx::SqlitePool,
    turns: &WriterTurns,
    batch: &[Job],
) -> StoreResult<Vec<StoreResult<bool>>> {
    let turn = turns.take().await;
    let mut tx = WriteTx::begin(pool, BEGIN, classify, Some(turn)).await?;
    let mut outcomes = Vec::with_capacity(batch.len());
    for (work, event, _) in batch {
        let done = match work {
            Work::Insert(token, max_active) => insert_in::<_, Sqlite>(&mut tx, token, *max_active)
                .await
                .map(|()| true),
            Work::Rotate(rotation) => rotate_in::<_, Sqlite>(&mut tx, rotation).await,
        };
        let audited = match (&done, event) {
            (Ok(true), Some(event)) => audit_q::insert_events([event]),
            _ => None,
        };
        if let Some(st) = audited
            && let Err(e) = tx.execute(Sqlite::render(&st)).await
        {
            tx.rollback().await;
            return Err(e.into_store());
        }
        match done {
            Ok(done) => outcomes.push(Ok(done)),
            Err(
                e @ (StoreError::Conflict { .. }
                | StoreError::NotFound { .. }
                | StoreError::OverQuota { .. }),
            ) => {
                outcomes.push(Err(e));
            }
            Err(e) => {
                tx.rollback().await;
                return Err(e);
            }
        }
    }
    tx.commit().await?;
    Ok(outcomes)
}

/// A batch-wide failure, repeated for each caller in the batch.
fn same_failure(e: &StoreError) -> StoreError {
    let cause = chain(e);
    match e {
        StoreError::Internal(_) => StoreError::Internal(cause.into()),
        _ => StoreError::Unavailable(cause.into()),
    }
}
