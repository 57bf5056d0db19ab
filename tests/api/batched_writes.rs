//! Concurrent inserts, which SQLite's writer commits together in one transaction of a few
//! statements: each caller still gets its own row's outcome. A row whose subject is gone
//! or whose id is taken fails alone, and the rest of its batch commits (on every store).

use std::sync::Arc;

use tessera::domain::ports::{Entity, Store, StoreError, StoreResult};
use tessera::domain::token_format::TokenKind;

use super::store_contract::{stores, user};
use crate::helpers::token_record;

/// 40 inserts at once, the odd one (at 13) with `odd`'s id and subject; the others good.
async fn round(s: &Arc<dyn Store>, tag: &str, odd: (&str, &str)) -> Vec<(String, StoreResult<()>)> {
    let mut calls = tokio::task::JoinSet::new();
    for i in 0..40 {
        let s = s.clone();
        let (id, subject) = match i {
            13 => (odd.0.to_owned(), odd.1.to_owned()),
            _ => (format!("{tag}-{i:02}"), "u1".to_owned()),
        };
        calls.spawn(async move {
            let outcome = s
                .insert_token(&token_record(&id, &subject, TokenKind::ApiKey, None))
                .await;
            (id, outcome)
        });
    }
    let mut outcomes = Vec::new();
    while let Some(joined) = calls.join_next().await {
        outcomes.push(joined.expect("insert task"));
    }
    let good = outcomes.iter().filter(|(id, _)| id.starts_with(tag));
    for (id, outcome) in good {
        assert!(outcome.is_ok(), "{id}: {outcome:?}");
        let stored = s.get_token(id).await.expect("read").expect("committed");
        assert_eq!(stored.subject, "u1");
    }
    assert_eq!(outcomes.len(), 40);
    outcomes
}

fn odd_one(outcomes: Vec<(String, StoreResult<()>)>, id: &str) -> StoreError {
    let found = outcomes.into_iter().find(|(i, _)| i == id);
    match found {
        Some((_, Err(e))) => e,
        other => panic!("{id} should have failed alone, got {other:?}"),
    }
}

async fn promise(s: Arc<dyn Store>) {
    s.create_user(&user("u1", "ann", &[])).await.expect("user");
    s.insert_token(&token_record("taken", "u1", TokenKind::ApiKey, None))
        .await
        .expect("first row");
    let ghost = odd_one(
        round(&s, "a", ("ghost-row", "usr_ghost")).await,
        "ghost-row",
    );
    assert!(
        matches!(&ghost, StoreError::NotFound { entity: Entity::User, key } if key == "usr_ghost"),
        "{ghost:?}"
    );
    assert!(s.get_token("ghost-row").await.expect("read").is_none());
    let taken = odd_one(round(&s, "b", ("taken", "u1")).await, "taken");
    assert!(
        matches!(
            &taken,
            StoreError::Conflict {
                entity: Entity::Token,
                ..
            }
        ),
        "{taken:?}"
    );
}

#[tokio::test]
async fn each_row_of_a_concurrent_batch_commits_or_fails_alone() {
    for (kind, store, _keep) in stores().await {
        eprintln!("batched writes on {kind}");
        promise(store).await;
    }
}
