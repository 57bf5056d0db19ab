//! The change feed's series on a replica that hears another's changes: the age of the last
//! notice, the flushes, and a reconnect after its listener connection is killed.

use crate::metrics::{scrape, total};
use crate::replicas::{
    Replicas, issued_on_a_cached_on_b, kill_listeners, revoke, two_replicas, until_denied,
};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replica_counts_the_notices_it_hears_and_its_reconnects() {
    let Replicas {
        db,
        admin,
        a,
        b,
        mut on_a,
        mut on_b,
    } = two_replicas().await;
    let (before, _) = scrape(&b.metrics_addr).await;
    let age = total(&before, "tessera_change_feed_last_notice_age_seconds", &[]);
    assert!(age.is_nan(), "no notice heard yet, but age {age}");

    let token = issued_on_a_cached_on_b(&mut on_a, &mut on_b, &admin).await;
    assert_eq!(revoke(&mut on_a, &admin, &token.token_id).await, 1);
    until_denied(&mut on_b, &admin, &token.token).await;
    let (heard, _) = scrape(&b.metrics_addr).await;
    let age = total(&heard, "tessera_change_feed_last_notice_age_seconds", &[]);
    assert!((0.0..60.0).contains(&age), "age of the last notice: {age}");
    // Listening for the first time flushes once (nothing before it was heard).
    assert!(total(&heard, "tessera_change_feed_flushes_total", &[]) >= 1.0);
    assert_eq!(
        total(&heard, "tessera_change_feed_reconnects_total", &[]),
        0.0
    );

    assert!(kill_listeners(&db.url).await >= 1);
    // A revocation after the kill is heard only once B's listener is back (or its poll
    // flushes): wait for the reconnect to be counted by revoking until B denies.
    let token = issued_on_a_cached_on_b(&mut on_a, &mut on_b, &admin).await;
    assert_eq!(revoke(&mut on_a, &admin, &token.token_id).await, 1);
    until_denied(&mut on_b, &admin, &token.token).await;
    loop {
        let (s, _) = scrape(&b.metrics_addr).await;
        if total(&s, "tessera_change_feed_reconnects_total", &[]) >= 1.0 {
            break;
        }
        // Each round trip gives the listener's task a turn; the reconnect is bounded by
        // the poll interval, well inside the test's own timeout.
        tokio::task::yield_now().await;
    }
    a.stop("-TERM").await;
    b.stop("-TERM").await;
}
