//! A large usage flush does not stall writers: `last_used_at` goes out in short chunks, so an
//! Issue waits behind one chunk at most, never behind the whole batch (which, written in one
//! transaction, held the write lock for seconds).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use tessera::domain::permission_set::PermissionSet;

use crate::helpers::*;

/// Tokens whose use is flushed at once.
const USED: usize = 20_000;
/// Issue calls timed in each phase.
const CALLS: usize = 60;

/// Issue latencies for `subject` (not the admin, whose seeded tokens fill its quota).
async fn issue_latencies(t: &TestApp, subject: &str) -> Vec<Duration> {
    let mut took = Vec::with_capacity(CALLS);
    for _ in 0..CALLS {
        let started = Instant::now();
        t.issue(&t.admin_key, api_key(&["read:*"], subject))
            .await
            .expect("issue");
        took.push(started.elapsed());
    }
    took.sort();
    took
}

fn p99(sorted: &[Duration]) -> Duration {
    let i = ((sorted.len() as f64) * 0.99).ceil() as usize;
    sorted[i.clamp(1, sorted.len()) - 1]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_large_usage_flush_keeps_issue_latency_near_its_baseline() {
    let t = spawn_app().await;
    t.create_role("reader", &["read:*"]).await;
    let subject = t.create_user("issued-for", &["reader"]).await;
    let scopes = PermissionSet::from_stored("read:*");
    t.app
        .seed_api_keys(&t.admin_id, &scopes, USED)
        .await
        .expect("seed");
    let listed = t.tokens_of(&t.admin_key, &t.admin_id).await;
    assert!(!listed.is_empty());
    // Every token of the store, each used now (ids from the store itself).
    let mut ids = Vec::new();
    let mut page = tessera::domain::model::PageRequest {
        after: None,
        limit: 1_000,
    };
    loop {
        let got =
            tessera::domain::ports::TokenStore::list_tokens(t.store.as_ref(), &t.admin_id, &page)
                .await
                .expect("list");
        ids.extend(got.items.into_iter().map(|r| r.id));
        match got.next {
            Some(next) => page.after = Some(next),
            None => break,
        }
    }
    assert!(ids.len() > USED);

    let baseline = issue_latencies(&t, &subject.id).await;

    let stop = Arc::new(AtomicBool::new(false));
    let flusher = {
        let store = t.store.clone();
        let stop = stop.clone();
        tokio::spawn(async move {
            let mut flushes = 0u32;
            let mut at = 1_000i64;
            while !stop.load(Ordering::SeqCst) {
                at += 1;
                let batch: Vec<(String, i64)> = ids.iter().map(|id| (id.clone(), at)).collect();
                tessera::domain::ports::TokenStore::record_usage(store.as_ref(), &batch)
                    .await
                    .expect("flush");
                flushes += 1;
            }
            flushes
        })
    };
    let during = issue_latencies(&t, &subject.id).await;
    stop.store(true, Ordering::SeqCst);
    let flushes = flusher.await.expect("flusher");

    let (before, while_flushing) = (p99(&baseline), p99(&during));
    report(&format!(
        "Issue p99 {before:?} alone, {while_flushing:?} during {flushes} flushes of {} tokens; max {:?}",
        USED + 1,
        during.last().copied().unwrap_or_default()
    ));
    // Generous for a shared CI machine running other tests at once: without fair writer
    // turns the flusher kept SQLite's lock for the whole batch (4.5 s here), as one
    // transaction for the whole batch did before.
    assert!(
        while_flushing < before + Duration::from_secs(1),
        "Issue p99 {while_flushing:?} during the flush against {before:?} alone"
    );
}
