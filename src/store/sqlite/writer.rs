//! Group commit for token inserts and refresh rotations: concurrent Issue calls and OAuth
//! grants share one transaction and one fsync instead of paying one each, which is what
//! bounds SQLite's write rate. Each caller still returns only after the transaction holding
//! its rows committed.

use std::time::Duration;

use tokio::sync::{mpsc, oneshot};

use super::{BEGIN, Sqlite, classify};
use crate::domain::error::chain;
use crate::domain::model::TokenRecord;
use crate::domain::ports::{StoreError, StoreResult};
use crate::store::sql::exec::{WriteTx, WriterTurns};
use crate::store::sql::oauth::{Rotation, rotate_in};
use crate::store::sql::{SqlTx, bounded, insert_in};

/// Most inserts committed together.
const MAX_BATCH: usize = 256;

/// What one caller asked for.
enum Work {
    /// A token and its quota (see `TokenStore::insert_token_within`).
    Insert(Box<TokenRecord>, Option<u32>),
    /// A refresh rotation. Its statements are ordered so that only its insert can fail
    /// alone (a constraint, or the user deleted meanwhile): the old token is then ended with
    /// no successor, which is what a deleted user's grant deserves.
    Rotate(Rotation),
}

/// The work and where its outcome goes (`true` for an insert; for a rotation, whether the
/// old token was still live).
type Job = (Work, oneshot::Sender<StoreResult<bool>>);

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
        self.jobs.send((work, done)).await.map_err(|_| closed())?;
        result.await.map_err(|_| closed())?
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
        batch.retain(|(_, done)| !done.is_closed());
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
        for ((_, done), outcome) in batch.drain(..).zip(outcomes) {
            let _ = done.send(outcome);
        }
    }
}

/// One transaction for the batch, rows in order, so a quota counts the rows before it. A row
/// that violates a constraint or its quota fails alone (SQLite undoes just that statement); any other failure, or a failed commit, fails the whole batch, since
/// after it SQLite may have rolled back everything written so far.
async fn write(
    pool: &sqlx::SqlitePool,
    turns: &WriterTurns,
    batch: &[Job],
) -> StoreResult<Vec<StoreResult<bool>>> {
    let turn = turns.take().await;
    let mut tx = WriteTx::begin(pool, BEGIN, classify, Some(turn)).await?;
    let mut outcomes = Vec::with_capacity(batch.len());
    for (work, _) in batch {
        let done = match work {
            Work::Insert(token, max_active) => insert_in::<_, Sqlite>(&mut tx, token, *max_active)
                .await
                .map(|()| true),
            Work::Rotate(rotation) => rotate_in::<_, Sqlite>(&mut tx, rotation).await,
        };
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
