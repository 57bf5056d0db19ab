//! Group commit for token inserts: concurrent Issue calls share one transaction and one
//! fsync instead of paying one each, which is what bounds SQLite's write rate. Each caller
//! still returns only after the transaction holding its row committed.

use tokio::sync::{mpsc, oneshot};

use super::map_err;
use super::shared::{exec_in, unknown_subject};
use crate::domain::model::TokenRecord;
use crate::store::{StoreError, StoreResult, schema};

/// Most inserts committed together.
const MAX_BATCH: usize = 256;

type Job = (TokenRecord, oneshot::Sender<StoreResult<()>>);

#[derive(Debug, Clone)]
pub(super) struct InsertQueue {
    jobs: mpsc::Sender<Job>,
}

impl InsertQueue {
    /// Starts the writer task; it ends when every queue handle is dropped.
    pub(super) fn start(pool: sqlx::SqlitePool) -> InsertQueue {
        let (jobs, rx) = mpsc::channel(4 * MAX_BATCH);
        tokio::spawn(write_batches(pool, rx));
        InsertQueue { jobs }
    }

    pub(super) async fn insert(&self, token: TokenRecord) -> StoreResult<()> {
        let (done, result) = oneshot::channel();
        let closed = || StoreError::Unavailable("the token writer has stopped".into());
        self.jobs.send((token, done)).await.map_err(|_| closed())?;
        result.await.map_err(|_| closed())?
    }
}

async fn write_batches(pool: sqlx::SqlitePool, mut rx: mpsc::Receiver<Job>) {
    let mut batch: Vec<Job> = Vec::with_capacity(MAX_BATCH);
    while rx.recv_many(&mut batch, MAX_BATCH).await > 0 {
        let outcomes = write(&pool, &batch).await;
        for ((_, done), outcome) in batch.drain(..).zip(outcomes) {
            let _ = done.send(outcome);
        }
    }
}

/// One transaction for the batch. A row that violates a constraint fails alone (SQLite undoes
/// just that statement); a failed commit fails them all.
async fn write(pool: &sqlx::SqlitePool, batch: &[Job]) -> Vec<StoreResult<()>> {
    let fail_all = |e: StoreError| {
        let msg = e.to_string();
        (0..batch.len())
            .map(|_| Err(StoreError::Unavailable(msg.clone().into())))
            .collect()
    };
    let mut tx = match pool.begin().await {
        Ok(tx) => tx,
        Err(e) => return fail_all(map_err("token")(e)),
    };
    let mut outcomes = Vec::with_capacity(batch.len());
    for (token, _) in batch {
        let outcome = exec_in(&mut tx, &schema::insert_token(token), "token")
            .await
            .map(|_| ())
            .map_err(unknown_subject(token));
        outcomes.push(outcome);
    }
    match tx.commit().await {
        Ok(()) => outcomes,
        Err(e) => fail_all(map_err("token")(e)),
    }
}
