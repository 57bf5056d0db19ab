//! Logins for tests: users with passwords, password grants, account calls, and TOTP codes
//! from an implementation tessera does not use (totp-lite).

use tessera::proto::v1 as pb;
use tessera::proto::v1::account_service_client::AccountServiceClient;
use tonic::Request;

use crate::helpers::*;

/// A password every test user gets unless a test says otherwise.
pub const PASSWORD: &str = "correct horse battery staple";

impl TestApp {
    /// A user holding `roles`, its password set by the admin; the user's id.
    pub async fn user_with_password(&self, name: &str, roles: &[&str]) -> String {
        let user = self.create_user(name, roles).await;
        self.admin
            .clone()
            .set_user_password(authed(
                &self.admin_key,
                pb::SetUserPasswordRequest {
                    id: user.id.clone(),
                    password: PASSWORD.into(),
                },
            ))
            .await
            .expect("set password");
        user.id
    }

    /// The password grant, with no caller credential.
    pub async fn login(
        &self,
        username: &str,
        password: &str,
        totp_code: &str,
    ) -> Result<pb::IssueResponse, tonic::Status> {
        let grant = pb::issue_request::Grant::Password(pb::PasswordGrant {
            username: username.into(),
            password: password.into(),
            totp_code: totp_code.into(),
            ttl: None,
        });
        self.tokens
            .clone()
            .issue(Request::new(pb::IssueRequest { grant: Some(grant) }))
            .await
            .map(tonic::Response::into_inner)
    }

    /// ListTokens of the caller's own user, with its status when it fails.
    pub async fn tokens_of_result(
        &self,
        caller: &str,
    ) -> Result<Vec<pb::TokenInfo>, tonic::Status> {
        self.admin
            .clone()
            .list_tokens(authed(caller, pb::ListTokensRequest::default()))
            .await
            .map(|r| r.into_inner().tokens)
    }

    pub fn account(&self) -> AccountServiceClient<tonic::transport::Channel> {
        AccountServiceClient::new(self.channel.clone())
    }

    /// Enrolls and confirms TOTP for the user of `session`; the seed (raw bytes).
    pub async fn turn_on_totp(&self, session: &str) -> Vec<u8> {
        let enrolled = self
            .account()
            .enroll_totp(authed(session, pb::EnrollTotpRequest {}))
            .await
            .expect("enroll")
            .into_inner();
        let seed = base32_decode(&enrolled.secret);
        let code = totp_at(&seed, self.now_seconds());
        self.account()
            .confirm_totp(authed(session, pb::ConfirmTotpRequest { code }))
            .await
            .expect("confirm");
        seed
    }

    /// The server's wall clock, in Unix seconds.
    pub fn now_seconds(&self) -> u64 {
        use tessera::domain::clock::Clock;
        u64::try_from(self.clock.now() / 1000).expect("after 1970")
    }
}

/// The 6-digit RFC 6238 code (SHA-1, 30 s) at `unix_seconds`, by totp-lite.
pub fn totp_at(seed: &[u8], unix_seconds: u64) -> String {
    totp_lite::totp_custom::<totp_lite::Sha1>(30, 6, seed, unix_seconds)
}

/// RFC 4648 base32 (no padding), decoded here rather than by any crate tessera uses.
pub fn base32_decode(text: &str) -> Vec<u8> {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let mut out = Vec::new();
    let (mut buffer, mut bits) = (0u32, 0u32);
    for c in text.trim_end_matches('=').bytes() {
        let value = ALPHABET
            .iter()
            .position(|&a| a == c)
            .expect("base32 character") as u32;
        buffer = (buffer << 5) | value;
        bits += 5;
        if bits >= 8 {
            bits -= 8;
            out.push((buffer >> bits) as u8);
            buffer &= (1 << bits) - 1;
        }
    }
    out
}
