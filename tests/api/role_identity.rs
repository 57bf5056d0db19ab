//! PATs bind to a role's identity, not its name: a role deleted and re-created under the
//! same name is a different role, and no PAT bound to the old one ever works again.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use tessera::proto::v1 as pb;

use crate::helpers::*;

const ISSUERS: usize = 16;
const ROUNDS: usize = 10;

async fn delete_role(t: &TestApp, name: &str) {
    t.admin
        .clone()
        .delete_role(authed(
            &t.admin_key,
            pb::DeleteRoleRequest { name: name.into() },
        ))
        .await
        .expect("delete role");
}

/// The race found by hand: 16 callers issue PATs bound to `r` while an admin deletes `r`
/// and re-creates it under the same name with other permissions. A PAT issued against the
/// old role (its IssueResponse shows the old role's permissions) must never pass a check
/// afterwards, with the old permissions or the new.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_role_recreated_under_the_same_name_revives_no_pat() {
    let t = Arc::new(spawn_app().await);
    let mut leaked = Vec::new();
    let mut raced = 0;
    for round in 0..ROUNDS {
        t.create_role("r", &["read:old"]).await;
        let stop = Arc::new(AtomicBool::new(false));
        let issued = Arc::new(AtomicUsize::new(0));
        let issuers: Vec<_> = (0..ISSUERS)
            .map(|_| {
                let (t, stop, issued) = (t.clone(), stop.clone(), issued.clone());
                tokio::spawn(async move {
                    let mut mine = Vec::new();
                    while !stop.load(Ordering::Acquire) {
                        // Refusals (the role gone for a moment) are expected; only
                        // tokens that were issued matter.
                        if let Ok(pat) = t.pat(&t.admin_key, "r").await {
                            issued.fetch_add(1, Ordering::AcqRel);
                            mine.push(pat);
                        }
                    }
                    mine
                })
            })
            .collect();
        // Delete while the issuers are in full flight, then re-create at once.
        while issued.load(Ordering::Acquire) < ISSUERS * 2 {
            tokio::task::yield_now().await;
        }
        delete_role(&t, "r").await;
        t.create_role("r", &["read:new"]).await;
        let after = issued.load(Ordering::Acquire);
        while issued.load(Ordering::Acquire) < after + ISSUERS {
            tokio::task::yield_now().await;
        }
        stop.store(true, Ordering::Release);
        let mut pats = Vec::new();
        for issuer in issuers {
            pats.extend(issuer.await.expect("issuer"));
        }
        for pat in &pats {
            let old = pat.scopes == ["read:old"];
            raced += usize::from(old);
            let passes_new = decision(&t.check(&pat.token, &["read:new"]).await);
            let passes_old = decision(&t.check(&pat.token, &["read:old"]).await);
            if old && (passes_new == pb::Decision::Allow || passes_old == pb::Decision::Allow) {
                leaked.push((round, pat.token_id.clone()));
            }
        }
        delete_role(&t, "r").await;
    }
    report(&format!(
        "{ROUNDS} rounds of {ISSUERS} PAT issuers racing a role's delete and re-create: {raced} PATs of the old role, {} revived",
        leaked.len()
    ));
    assert!(raced > 0, "no PAT was issued against the old role");
    assert!(leaked.is_empty(), "revived: {leaked:?}");
}
