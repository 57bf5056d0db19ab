//! SQLite's migrations, compiled into the binary.

use sqlx::migrate::Migrator;

/// Migrations compiled into the binary, so `migrate` needs no files beside it.
pub(super) fn migrator() -> Migrator {
    super::super::sql::migrator(&[
        (
            1,
            "init",
            include_str!("../../../migrations/sqlite/0001_init.sql"),
        ),
        (
            3,
            "health probe",
            include_str!("../../../migrations/sqlite/0003_health_probe.sql"),
        ),
        (
            6,
            "derived tokens follow their source",
            include_str!("../../../migrations/sqlite/0006_derived_tokens_follow_their_source.sql"),
        ),
        (
            7,
            "pats bind role identity",
            include_str!("../../../migrations/sqlite/0007_pats_bind_role_identity.sql"),
        ),
        (
            8,
            "user names unique regardless of case",
            include_str!(
                "../../../migrations/sqlite/0008_user_names_unique_regardless_of_case.sql"
            ),
        ),
        (
            9,
            "active tokens by subject",
            include_str!("../../../migrations/sqlite/0009_active_tokens_by_subject.sql"),
        ),
        (
            10,
            "logins",
            include_str!("../../../migrations/sqlite/0010_logins.sql"),
        ),
        (
            11,
            "oauth",
            include_str!("../../../migrations/sqlite/0011_oauth.sql"),
        ),
        (
            12,
            "audit events",
            include_str!("../../../migrations/sqlite/0012_audit_events.sql"),
        ),
    ])
}
