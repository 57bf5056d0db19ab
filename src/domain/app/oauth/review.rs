//! What a consent page shows before the user decides: the app, where the browser goes back
//! to, and the scopes an approval would grant now. The same checks as the approval itself
//! (`App::screen`), so a page never offers what the approval would refuse.

use super::super::{App, Caller, effective};
use super::AuthorizationRequest;
use super::approve::Screened;
use crate::domain::error::Result;
use crate::domain::permission_set::PermissionSet;
use crate::domain::token_format::TokenKind;

/// The consent page's content for one request.
#[derive(Debug, Clone)]
pub struct ConsentView {
    pub client_name: String,
    /// The redirect URI the browser returns to, as verified.
    pub redirect_uri: String,
    /// Asked ∩ the client's ∩ (with a user) the user's permissions, sorted.
    pub scopes: Vec<String>,
    /// Asked for but not granted (the app may not have them, or the user does not hold
    /// them), so the user sees everything the app asked.
    pub withheld: Vec<String>,
    /// The signed-in user's name, shown so that a shared browser's user notices.
    pub user_name: Option<String>,
}

/// A request reviewed: shown for consent, or sent back to the app at once with the error
/// it carries (RFC 6749 §4.1.2.1).
#[derive(Debug, Clone)]
pub enum Review {
    Consent(ConsentView),
    Redirect(String),
}

impl App {
    /// Reviews `req` for `caller` (`None` before anyone signed in). INVALID_ARGUMENT for a
    /// bad client or redirect URI: an error page, never a redirect.
    pub async fn review_authorization(
        &self,
        caller: Option<&Caller>,
        req: &AuthorizationRequest,
    ) -> Result<Review> {
        let Screened {
            client,
            target,
            asked,
            ..
        } = match self.screen(req).await? {
            Ok(screened) => screened,
            Err(redirect) => return Ok(Review::Redirect(redirect.redirect_url)),
        };
        let mut chain = vec![asked.clone(), client.scopes.clone()];
        // An app's token approves nothing (see `approve_authorization`): it grants nothing.
        match caller {
            Some(c) if matches!(c.kind(), TokenKind::OAuthAccess | TokenKind::OAuthRefresh) => {
                chain.push(PermissionSet::empty());
            }
            Some(c) => chain.push(c.permissions().clone()),
            None => {}
        }
        let granted = match effective::meet_all(chain).await? {
            Ok(granted) => granted,
            Err(_) => PermissionSet::empty(),
        };
        let withheld = asked
            .iter()
            .filter(|p| !granted.covers(p))
            .map(|p| p.to_string())
            .collect();
        let scopes = effective::strings_of(granted).await?;
        let user_name = match caller {
            Some(c) => self.store.get_user(c.user_id()).await?.map(|u| u.name),
            None => None,
        };
        Ok(Review::Consent(ConsentView {
            client_name: client.name,
            redirect_uri: target,
            scopes,
            withheld,
            user_name,
        }))
    }
}
