//! The session scenarios: warm checks of a session JWT, garbage JWTs (random, tampered,
//! foreign-signed), logins (argon2 bounds them), and warm checks while 200 logins run.

use std::sync::Arc;
use std::time::Duration;

use tonic::transport::Channel;

use super::BenchError;
use super::load::{self, Samples};
use super::options::BenchOptions;
use super::scenarios::{Fixture, request};
use crate::domain::credentials::session_jwt::{AMR_PASSWORD, SessionClaims, SigningKey};
use crate::domain::token_format::random_base62;
use crate::proto::v1 as pb;
use crate::proto::v1::admin_service_client::AdminServiceClient;
use crate::proto::v1::token_service_client::TokenServiceClient;

pub const SESSION_SCENARIOS: [&str; 4] = [
    "authorize_session_warm",
    "authorize_session_garbage",
    "login",
    "authorize_warm_under_logins",
];

/// Concurrent logins, good and bad, behind `authorize_warm_under_logins`.
const LOGIN_FLOOD: usize = 200;
/// Users the good logins take turns with: tessera turns away more than five logins of one
/// user checked at once, as it would a burst of guesses.
const LOGIN_USERS: usize = 32;
const PASSWORD: &str = "benchmark password, long enough";

#[derive(Debug)]
pub struct SessionFixture {
    /// The users the `login` scenarios sign in as, in turn.
    usernames: Vec<String>,
    session: String,
    garbage: Vec<String>,
}

/// A user with a password, a session of it, and garbage JWTs shaped like it.
pub(super) async fn setup(
    channel: Channel,
    admin: &tonic::metadata::MetadataValue<tonic::metadata::Ascii>,
    user_id: &str,
    username: &str,
) -> Result<SessionFixture, BenchError> {
    let mut admins = AdminServiceClient::new(channel.clone());
    let set_password = |id: String| {
        request(
            admin,
            pb::SetUserPasswordRequest {
                id,
                password: PASSWORD.to_owned(),
            },
        )
    };
    admins
        .set_user_password(set_password(user_id.to_owned()))
        .await?;
    let mut usernames = Vec::with_capacity(LOGIN_USERS);
    for i in 0..LOGIN_USERS {
        let name = format!("{username}-login-{i}");
        let user = admins
            .create_user(request(
                admin,
                pb::CreateUserRequest {
                    name: name.clone(),
                    roles: Vec::new(),
                },
            ))
            .await?
            .into_inner();
        admins.set_user_password(set_password(user.id)).await?;
        usernames.push(name);
    }
    let session = login(channel, username, PASSWORD, None)
        .await?
        .ok_or_else(|| BenchError::Setup("the bench user's login failed".into()))?;
    let (rest, last) = session.split_at(session.len() - 1);
    let tampered = format!("{rest}{}", if last == "A" { "B" } else { "A" });
    let foreign = SigningKey::generate().map_err(|e| BenchError::Setup(e.to_string()))?;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    let mut garbage = vec![tampered];
    for _ in 0..64 {
        let jti = random_base62(22).map_err(|e| BenchError::Setup(e.to_string()))?;
        let claims = SessionClaims {
            iss: "tessera".into(),
            sub: user_id.to_owned(),
            aud: "tessera".into(),
            iat: now,
            nbf: now,
            exp: now + 3600,
            jti,
            amr: vec![AMR_PASSWORD.into()],
        };
        garbage.push(
            foreign
                .sign(&claims)
                .map_err(|e| BenchError::Setup(e.to_string()))?,
        );
        let noise = random_base62(120).map_err(|e| BenchError::Setup(e.to_string()))?;
        garbage.push(format!(
            "eyJhbGciOiJFZERTQSJ9.{}.{}",
            &noise[..80],
            &noise[80..]
        ));
    }
    Ok(SessionFixture {
        usernames,
        session,
        garbage,
    })
}

/// One password grant; `Some(jwt)` on success. Sessions of a second, so a long run never
/// reaches the user's token quota.
async fn login(
    channel: Channel,
    username: &str,
    password: &str,
    ttl: Option<Duration>,
) -> Result<Option<String>, BenchError> {
    let grant = pb::issue_request::Grant::Password(pb::PasswordGrant {
        username: username.to_owned(),
        password: password.to_owned(),
        totp_code: String::new(),
        ttl: ttl.map(|d| prost_types::Duration {
            seconds: d.as_secs() as i64,
            nanos: 0,
        }),
    });
    let answer = TokenServiceClient::new(channel)
        .issue(tonic::Request::new(pb::IssueRequest { grant: Some(grant) }))
        .await;
    Ok(answer.ok().map(|r| r.into_inner().token))
}

/// Good logins (the bench user) and bad ones (a new unknown name each, so none is locked
/// and each costs a full argon2 check), until dropped.
struct Flood(Vec<tokio::task::JoinHandle<()>>);

impl Drop for Flood {
    fn drop(&mut self) {
        for task in &self.0 {
            task.abort();
        }
    }
}

fn flood(channels: &[Channel], usernames: &[String]) -> Flood {
    Flood(
        (0..LOGIN_FLOOD)
            .map(|i| {
                let channel = channels[i % channels.len()].clone();
                let username = usernames[(i / 2) % usernames.len()].clone();
                tokio::spawn(async move {
                    loop {
                        let name = match i % 2 {
                            0 => username.clone(),
                            _ => random_base62(16).unwrap_or_default(),
                        };
                        let short = Some(Duration::from_secs(1));
                        let _ = login(channel.clone(), &name, PASSWORD, short).await;
                    }
                })
            })
            .collect(),
    )
}

async fn check(fx: &Fixture, ch: Channel, token: &str, expect: pb::Decision) -> bool {
    super::scenarios::authorize(fx, ch, token, expect).await
}

pub(super) async fn run(
    name: &str,
    fx: Arc<Fixture>,
    chans: &[Channel],
    c: usize,
    o: &BenchOptions,
) -> Samples {
    let (w, d) = (o.warmup, o.slice());
    let Some(sessions) = fx.sessions.as_ref() else {
        return Samples::default();
    };
    match name {
        "authorize_session_warm" => {
            load::run(chans, c, w, d, move |ch, _| {
                let fx = fx.clone();
                async move {
                    let Some(s) = fx.sessions.as_ref() else {
                        return false;
                    };
                    check(&fx, ch, &s.session, pb::Decision::Allow).await
                }
            })
            .await
        }
        "authorize_session_garbage" => {
            load::run(chans, c, w, d, move |ch, i| {
                let fx = fx.clone();
                async move {
                    let Some(s) = fx.sessions.as_ref() else {
                        return false;
                    };
                    let token = &s.garbage[(i % s.garbage.len() as u64) as usize];
                    check(&fx, ch, token, pb::Decision::Unauthenticated).await
                }
            })
            .await
        }
        "login" => {
            let usernames = Arc::new(sessions.usernames.clone());
            load::run(chans, c, w, d, move |ch, i| {
                let usernames = usernames.clone();
                async move {
                    let name = &usernames[(i % usernames.len() as u64) as usize];
                    let short = Some(Duration::from_secs(1));
                    matches!(login(ch, name, PASSWORD, short).await, Ok(Some(_)))
                }
            })
            .await
        }
        _ => {
            let _busy = flood(chans, &sessions.usernames);
            load::run(chans, c, w, d, move |ch, _| {
                let fx = fx.clone();
                async move { check(&fx, ch, &fx.pat, pb::Decision::Allow).await }
            })
            .await
        }
    }
}
