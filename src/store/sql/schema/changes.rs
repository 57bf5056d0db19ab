//! Statements on the bookkeeping tables: Postgres's change-feed revision and the health
//! probe's row.

use sea_query::{Expr, ExprTrait, Iden, InsertStatement, OnConflict, Query, SelectStatement};

use crate::domain::clock::Millis;

/// Postgres only: the change feed's revision counter (one row).
#[derive(Iden, Clone, Copy)]
pub enum ChangeRevision {
    Table,
    Id,
    Revision,
}

/// The change feed's current revision (Postgres).
pub fn select_revision() -> SelectStatement {
    Query::select()
        .column(ChangeRevision::Revision)
        .from(ChangeRevision::Table)
        .and_where(Expr::col(ChangeRevision::Id).eq(1))
        .take()
}

/// The health probe's one row per writer, rewritten on every write probe: a real, committed
/// write that fails exactly when the database takes no writes.
#[derive(Iden, Clone, Copy)]
pub enum HealthProbe {
    Table,
    Id,
    CheckedAt,
}

pub fn upsert_health_probe(writer: &str, now: Millis) -> InsertStatement {
    Query::insert()
        .into_table(HealthProbe::Table)
        .columns([HealthProbe::Id, HealthProbe::CheckedAt])
        .values_panic([writer.into(), now.into()])
        .on_conflict(
            OnConflict::column(HealthProbe::Id)
                .update_column(HealthProbe::CheckedAt)
                .to_owned(),
        )
        .take()
}
