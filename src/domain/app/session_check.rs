//! The full check of a session JWT, once its text matched its row (see `session_jwt`).

use super::App;
use super::auth_cache::{ResolvedToken, Signature};
use crate::domain::clock::Millis;
use crate::domain::credentials::session_jwt;
use crate::domain::error::Result;

impl App {
    /// Whether a session passes at `now`. The JWT is verified the first time it is
    /// presented after its entry was loaded and the verdict kept with the entry, so a warm
    /// check verifies no signature; only the key's retirement is looked at again.
    pub(super) async fn session_passes(
        &self,
        resolved: &ResolvedToken,
        text: &str,
        now: Millis,
    ) -> Result<bool> {
        let verdict = match resolved.signature.get() {
            Some(verdict) => *verdict,
            None => {
                let verdict = self.check_session(resolved, text, now).await?;
                let _ = resolved.signature.set(verdict);
                verdict
            }
        };
        Ok(match verdict {
            Signature::Valid { retire_at, .. } => retire_at.is_none_or(|at| now < at),
            Signature::Invalid => false,
        })
    }

    async fn check_session(
        &self,
        resolved: &ResolvedToken,
        text: &str,
        now: Millis,
    ) -> Result<Signature> {
        let Some(seen) = session_jwt::peek(text) else {
            return Ok(Signature::Invalid);
        };
        let Some((public, retire_at)) = self.verifying_key(&seen.kid).await? else {
            return Ok(Signature::Invalid);
        };
        let config = &self.logins.config;
        let record = &resolved.record;
        Ok(
            match session_jwt::verify(text, &public, &config.issuer, &config.audience, now / 1000) {
                Ok(claims) if claims.jti == record.id && claims.sub == record.subject => {
                    Signature::Valid {
                        retire_at,
                        two_factor: claims.two_factor(),
                    }
                }
                _ => Signature::Invalid,
            },
        )
    }
}
