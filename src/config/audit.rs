//! What goes to the audit log besides the trail in the store (see `domain::audit`).

use clap::Args;

use crate::domain::audit::DecisionLog;

#[derive(Debug, Args)]
pub struct AuditArgs {
    /// Which Authorize (and Envoy Check) decisions go to the log as JSON under the
    /// `tessera::audit` target: `none`, `denied` or `all`. Decisions are never written to
    /// the store: they are far more numerous than changes, and a check writes nothing.
    #[arg(long, env = "TESSERA_AUDIT_DECISIONS", default_value = "denied", value_parser = parse_decisions)]
    pub audit_decisions: DecisionLog,
}

fn parse_decisions(text: &str) -> Result<DecisionLog, String> {
    DecisionLog::parse(text.trim()).ok_or_else(|| "one of none, denied, all".to_owned())
}
