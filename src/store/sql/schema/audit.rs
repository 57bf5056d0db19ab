//! Statements on the audit trail.

use sea_query::{
    DeleteStatement, Expr, ExprTrait, Iden, InsertStatement, Order, Query, SelectStatement,
};

use crate::domain::audit::{AuditQuery, Event};
use crate::domain::clock::Millis;

#[derive(Iden, Clone, Copy)]
pub enum AuditEvents {
    Table,
    Seq,
    At,
    Action,
    Result,
    ActorTokenId,
    ActorSubject,
    ActorKind,
    Peer,
    RequestId,
    TargetType,
    TargetId,
    Fields,
}

const COLUMNS: [AuditEvents; 11] = [
    AuditEvents::At,
    AuditEvents::Action,
    AuditEvents::Result,
    AuditEvents::ActorTokenId,
    AuditEvents::ActorSubject,
    AuditEvents::ActorKind,
    AuditEvents::Peer,
    AuditEvents::RequestId,
    AuditEvents::TargetType,
    AuditEvents::TargetId,
    AuditEvents::Fields,
];

/// One insert of every event given (the SQLite group writer commits several at once).
pub fn insert_events<'a>(events: impl IntoIterator<Item = &'a Event>) -> Option<InsertStatement> {
    let mut st = Query::insert()
        .into_table(AuditEvents::Table)
        .columns(COLUMNS)
        .take();
    let mut any = false;
    for e in events {
        any = true;
        st.values_panic([
            e.at.into(),
            e.action.clone().into(),
            e.outcome.as_str().into(),
            e.actor.token_id.clone().into(),
            e.actor.subject.clone().into(),
            e.actor.kind.clone().into(),
            e.actor.peer.clone().into(),
            e.request_id.clone().into(),
            e.target_type.clone().into(),
            e.target_id.clone().into(),
            e.fields_json().into(),
        ]);
    }
    any.then_some(st)
}

/// Events matching `query`, newest first.
pub fn list_events(query: &AuditQuery) -> SelectStatement {
    let mut st = Query::select()
        .column(AuditEvents::Seq)
        .columns(COLUMNS)
        .from(AuditEvents::Table)
        .order_by(AuditEvents::Seq, Order::Desc)
        .limit(u64::from(query.limit))
        .take();
    if let Some(subject) = &query.subject {
        st.and_where(
            Expr::col(AuditEvents::ActorSubject)
                .eq(subject.as_str())
                .or(Expr::col(AuditEvents::TargetId).eq(subject.as_str())),
        );
    }
    if let Some(action) = &query.action {
        st.and_where(Expr::col(AuditEvents::Action).eq(action.as_str()));
    }
    if let Some(since) = query.since {
        st.and_where(Expr::col(AuditEvents::At).gte(since));
    }
    if let Some(until) = query.until {
        st.and_where(Expr::col(AuditEvents::At).lt(until));
    }
    if let Some(seq) = query.before_seq {
        st.and_where(Expr::col(AuditEvents::Seq).lt(seq));
    }
    st
}

/// At most `limit` events older than `before`, oldest first.
pub fn prune_events(before: Millis, limit: u32) -> DeleteStatement {
    let oldest = Query::select()
        .column(AuditEvents::Seq)
        .from(AuditEvents::Table)
        .and_where(Expr::col(AuditEvents::At).lt(before))
        .order_by(AuditEvents::Seq, Order::Asc)
        .limit(u64::from(limit))
        .take();
    Query::delete()
        .from_table(AuditEvents::Table)
        .and_where(Expr::col(AuditEvents::Seq).in_subquery(oldest))
        .take()
}
