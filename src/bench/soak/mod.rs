//! `tessera soak`: a long mixed load against two replicas (see `scripts/soak.sh`, which also
//! kills and restarts one of them and the database's listener connections): about 90 %
//! Authorize (warm keys, cold keys checked for the first time, sessions, OAuth access
//! tokens, and revoked tokens, which must be refused), 5 % Issue, 3 % Revoke, 2 % admin
//! calls and OAuth client-credentials grants.
//!
//! Calls alternate between the replicas. A call that fails for want of its replica (killed,
//! restarting) is retried once on the other, as a balancer would, and counted apart: those
//! are the restarts' in-flight calls. Everything else that fails, and any ALLOW of a token
//! revoked more than a second earlier, is an error.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tonic::metadata::{Ascii, MetadataValue};
use tonic::transport::Channel;

use super::BenchError;
use super::scenarios::request;
use super::soak_report::{Op, SoakReport, Window};

mod setup;
use crate::proto::v1 as pb;
use crate::proto::v1::admin_service_client::AdminServiceClient;
use crate::proto::v1::token_service_client::TokenServiceClient;
use setup::setup;

const PASSWORD: &str = "soak test password, long enough";
/// How long after its revocation a token must be refused everywhere.
const REVOKED_SETTLE: Duration = Duration::from_secs(1);
const USERS: usize = 64;

#[derive(Debug, Clone)]
pub struct SoakOptions {
    pub addrs: Vec<String>,
    pub admin_key: String,
    pub duration: Duration,
    pub window: Duration,
    pub concurrency: usize,
}

struct Pools {
    warm: Vec<String>,
    /// Issued and not checked yet.
    fresh: Vec<(String, String)>,
    /// Checked at least once: candidates for revocation.
    issued: Vec<(String, String)>,
    sessions: Vec<String>,
    oauth: Vec<String>,
    revoked: Vec<(String, Instant)>,
}

struct Shared {
    replicas: Vec<Channel>,
    admin: MetadataValue<Ascii>,
    client: (String, String),
    /// The users keys are issued to, in turn: one user's live-token count (and its row lock
    /// on Postgres) is not what a soak is for.
    user_ids: Vec<String>,
    pools: Mutex<Pools>,
    next: AtomicU64,
    late_allows: AtomicU64,
    errors: Mutex<Vec<String>>,
}

/// A call failed for want of its replica (refused, reset, gone mid-call), not by its answer.
fn replica_gone(status: &tonic::Status) -> bool {
    std::error::Error::source(status).is_some()
        || matches!(
            status.code(),
            tonic::Code::Unavailable | tonic::Code::Cancelled
        )
}

fn pick<T: Clone>(items: &[T], n: u64) -> Option<T> {
    (!items.is_empty()).then(|| items[(n as usize) % items.len()].clone())
}

impl Shared {
    fn note_error(&self, what: String) {
        let mut errors = self.errors.lock().unwrap_or_else(|p| p.into_inner());
        if errors.len() < 20 {
            errors.push(what);
        }
    }

    async fn authorize(&self, ch: Channel, token: &str) -> Result<pb::Decision, tonic::Status> {
        let r = TokenServiceClient::new(ch)
            .authorize(request(
                &self.admin,
                pb::AuthorizeRequest {
                    token: token.to_owned(),
                    required_scopes: vec!["read:contacts".to_owned()],
                    ..Default::default()
                },
            ))
            .await?
            .into_inner();
        Ok(r.decision())
    }

    async fn issue(
        &self,
        ch: Channel,
        grant: pb::issue_request::Grant,
    ) -> Result<pb::IssueResponse, tonic::Status> {
        let auth = match grant {
            pb::issue_request::Grant::ApiKey(_) => Some(&self.admin),
            _ => None,
        };
        let message = pb::IssueRequest { grant: Some(grant) };
        let req = match auth {
            Some(a) => request(a, message),
            None => tonic::Request::new(message),
        };
        Ok(TokenServiceClient::new(ch).issue(req).await?.into_inner())
    }

    fn key_grant(&self, n: u64) -> pb::issue_request::Grant {
        pb::issue_request::Grant::ApiKey(pb::ApiKeyGrant {
            name: "soak".to_owned(),
            scopes: vec!["read:*".to_owned()],
            subject: self.user_ids[(n as usize) % self.user_ids.len()].clone(),
            ..Default::default()
        })
    }

    fn oauth_grant(&self) -> pb::issue_request::Grant {
        pb::issue_request::Grant::ClientCredentials(pb::ClientCredentialsGrant {
            client_id: self.client.0.clone(),
            client_secret: self.client.1.clone(),
            scopes: Vec::new(),
        })
    }

    /// One operation of the mix on `ch`: what it was and how long it took, `None` when the
    /// mix had nothing to do (no token of the kind yet).
    async fn operation(&self, ch: Channel, n: u64) -> Result<Option<(Op, u32)>, tonic::Status> {
        let roll = n % 100;
        let started = Instant::now();
        let timed = |op: Op| {
            let us = started.elapsed().as_micros().min(u32::MAX as u128) as u32;
            Ok(Some((op, us)))
        };
        match roll {
            0..=89 => {
                let mut fresh = None;
                let (token, must_refuse, op) = {
                    let mut p = self.pools.lock().unwrap_or_else(|e| e.into_inner());
                    match roll % 10 {
                        // A key never checked: the cold path. It joins the revocation
                        // candidates once this check has passed (below).
                        0 => match p.fresh.pop() {
                            Some(t) => {
                                fresh = Some(t.clone());
                                (Some(t.1), false, Op::AuthorizeCold)
                            }
                            None => (pick(&p.warm, n), false, Op::AuthorizeWarm),
                        },
                        1 => (pick(&p.sessions, n), false, Op::AuthorizeSession),
                        2 => (pick(&p.oauth, n), false, Op::AuthorizeOAuth),
                        3 => {
                            // Revoked in time order: those before `settled` are over a second old.
                            let settled = p
                                .revoked
                                .partition_point(|(_, at)| at.elapsed() > REVOKED_SETTLE);
                            let token = pick(&p.revoked[..settled], n).map(|(t, _)| t);
                            (token, true, Op::AuthorizeRevoked)
                        }
                        _ => (pick(&p.warm, n), false, Op::AuthorizeWarm),
                    }
                };
                let Some(token) = token else { return Ok(None) };
                let decision = self.authorize(ch, &token).await?;
                if must_refuse && decision == pb::Decision::Allow {
                    self.late_allows.fetch_add(1, Ordering::Relaxed);
                    self.note_error("a token revoked over a second ago was allowed".to_owned());
                } else if !must_refuse && decision != pb::Decision::Allow {
                    return Err(tonic::Status::internal(format!(
                        "a live token was {decision:?}"
                    )));
                }
                if let Some(t) = fresh {
                    self.pools
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .issued
                        .push(t);
                }
                timed(op)
            }
            90..=94 => {
                let made = self.issue(ch, self.key_grant(n)).await?;
                let mut p = self.pools.lock().unwrap_or_else(|e| e.into_inner());
                p.fresh.push((made.token_id, made.token));
                timed(Op::Issue)
            }
            95..=97 => {
                let victim = {
                    let mut p = self.pools.lock().unwrap_or_else(|e| e.into_inner());
                    let len = p.issued.len();
                    (len > 0).then(|| p.issued.swap_remove((n as usize) % len))
                };
                let Some((id, token)) = victim else {
                    return Ok(None);
                };
                TokenServiceClient::new(ch)
                    .revoke(request(
                        &self.admin,
                        pb::RevokeRequest {
                            target: Some(pb::revoke_request::Target::TokenId(id)),
                        },
                    ))
                    .await?;
                let mut p = self.pools.lock().unwrap_or_else(|e| e.into_inner());
                p.revoked.push((token, Instant::now()));
                timed(Op::Revoke)
            }
            98 => {
                let made = self.issue(ch, self.oauth_grant()).await?;
                let mut p = self.pools.lock().unwrap_or_else(|e| e.into_inner());
                let at = (n as usize) % p.oauth.len().max(1);
                match p.oauth.get_mut(at) {
                    Some(slot) => *slot = made.token,
                    None => p.oauth.push(made.token),
                }
                timed(Op::Grant)
            }
            _ => {
                AdminServiceClient::new(ch)
                    .list_users(request(
                        &self.admin,
                        pb::ListUsersRequest {
                            page_size: 10,
                            ..Default::default()
                        },
                    ))
                    .await?;
                timed(Op::Admin)
            }
        }
    }
}

/// Runs the mix for `opts.duration`, then checks every revoked token on every replica.
pub async fn soak(opts: SoakOptions) -> Result<SoakReport, BenchError> {
    let mut replicas = Vec::new();
    for addr in &opts.addrs {
        let endpoint = Channel::from_shared(format!("http://{addr}"))
            .map_err(|_| BenchError::Address(addr.clone()))?
            .connect_timeout(Duration::from_secs(2))
            .timeout(Duration::from_secs(10));
        replicas.push(endpoint.connect_lazy());
    }
    if replicas.is_empty() {
        return Err(BenchError::Setup("no replica to load".into()));
    }
    let shared = Arc::new(setup(&opts, replicas).await?);
    let windows: Arc<Mutex<Vec<Window>>> = Arc::new(Mutex::new(Vec::new()));
    let start = Instant::now();
    let window_of = {
        let w = opts.window.max(Duration::from_secs(1));
        move |at: Instant| (at.duration_since(start).as_secs() / w.as_secs()) as usize
    };
    let last_window =
        ((opts.duration.as_secs() / opts.window.as_secs().max(1)) as usize).saturating_sub(1);
    let mut tasks = Vec::new();
    for _ in 0..opts.concurrency.max(1) {
        let (shared, windows, end) = (shared.clone(), windows.clone(), start + opts.duration);
        tasks.push(tokio::spawn(async move {
            while Instant::now() < end {
                let n = shared.next.fetch_add(1, Ordering::Relaxed);
                let count = shared.replicas.len();
                let first = (n as usize) % count;
                let mut outcome = shared.operation(shared.replicas[first].clone(), n).await;
                let mut failover = false;
                if let Err(s) = &outcome
                    && replica_gone(s)
                    && count > 1
                {
                    failover = true;
                    outcome = shared
                        .operation(shared.replicas[(first + 1) % count].clone(), n)
                        .await;
                }
                // Calls still running at the end count in the last full window.
                let at = window_of(Instant::now()).min(last_window);
                let mut ws = windows.lock().unwrap_or_else(|p| p.into_inner());
                while ws.len() <= at {
                    ws.push(Window::default());
                }
                let w = &mut ws[at];
                w.calls += 1;
                w.failovers += u64::from(failover);
                match outcome {
                    Ok(Some((op, us))) if !failover => {
                        if op.is_authorize() {
                            w.authorize_us.push(us);
                        }
                        w.by_op[op as usize].push(us);
                    }
                    Ok(_) => {}
                    Err(s) => {
                        w.errors += 1;
                        drop(ws);
                        shared.note_error(format!("{:?}: {}", s.code(), s.message()));
                    }
                }
            }
        }));
    }
    for t in tasks {
        t.await.map_err(|e| BenchError::Setup(e.to_string()))?;
    }
    tokio::time::sleep(REVOKED_SETTLE).await;
    let revoked: Vec<String> = {
        let p = shared.pools.lock().unwrap_or_else(|e| e.into_inner());
        p.revoked.iter().map(|(t, _)| t.clone()).collect()
    };
    let mut allowed = 0;
    for ch in &shared.replicas {
        for token in &revoked {
            if shared.authorize(ch.clone(), token).await? == pb::Decision::Allow {
                allowed += 1;
            }
        }
    }
    let windows = std::mem::take(&mut *windows.lock().unwrap_or_else(|p| p.into_inner()));
    let error_samples =
        std::mem::take(&mut *shared.errors.lock().unwrap_or_else(|p| p.into_inner()));
    Ok(SoakReport {
        windows,
        window: opts.window,
        revoked: revoked.len(),
        revoked_allowed_at_end: allowed,
        late_allows: shared.late_allows.load(Ordering::Relaxed),
        error_samples,
    })
}
