//! `tessera login` and `tessera logout`: a password (and TOTP) login whose session the CLI
//! keeps for later commands, and its end.

use std::io::Write;
use std::time::Duration;

use clap::Args;

use super::connect::{ClientArgs, Conn};
use super::error::{CliError, CliResult};
use super::output::{self, object, rfc3339};
use super::prompt::Secrets;
use super::session_file::{self, Saved};
use crate::config::parse_duration;
use crate::proto::v1 as pb;

#[derive(Debug, Args)]
#[command(
    after_help = "Example:\n  tessera login --username alice\n  printf '%s\\n%s\\n' \"$PW\" \"$CODE\" | tessera login --username alice --password-stdin"
)]
pub struct LoginArgs {
    #[command(flatten)]
    pub conn: ClientArgs,
    /// Asked for when not given.
    #[arg(long)]
    pub username: Option<String>,
    /// Read the password, then the TOTP code (an empty line or none: no code), from standard
    /// input instead of the terminal.
    #[arg(long)]
    pub password_stdin: bool,
    /// A shorter session than the server's longest.
    #[arg(long, value_parser = parse_duration)]
    pub ttl: Option<Duration>,
}

#[derive(Debug, Args)]
#[command(after_help = "Example:\n  tessera logout")]
pub struct LogoutArgs {
    #[command(flatten)]
    pub conn: ClientArgs,
}

fn ask_username() -> CliResult<String> {
    eprint!("Username: ");
    let _ = std::io::stderr().flush();
    let mut line = String::new();
    std::io::stdin()
        .read_line(&mut line)
        .map_err(CliError::io("reading the username"))?;
    Ok(line.trim().to_owned())
}

pub async fn login(args: LoginArgs) -> CliResult<()> {
    let username = match args.username {
        Some(u) => u,
        None if args.password_stdin => {
            return Err(CliError::Usage("--password-stdin needs --username".into()));
        }
        None => ask_username()?,
    };
    let mut secrets = Secrets::new(args.password_stdin);
    let password = secrets.ask("Password: ")?;
    let totp_code = secrets.ask("TOTP code (empty if none): ")?;
    let conn = Conn::anonymous(&args.conn).await?;
    let issued = conn
        .tokens()
        .issue(pb::IssueRequest {
            grant: Some(pb::issue_request::Grant::Password(pb::PasswordGrant {
                username: username.clone(),
                password,
                totp_code: totp_code.trim().to_owned(),
                ttl: args.ttl.map(|d| prost_types::Duration {
                    seconds: i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
                    nanos: 0,
                }),
            })),
        })
        .await?
        .into_inner();
    let expires_at = issued.expires_at.as_ref().map_or(0, |t| t.seconds);
    let path = session_file::save(&Saved {
        server: args.conn.server.trim_end_matches('/').to_owned(),
        user: username.clone(),
        token: issued.token,
        expires_at,
    })?;
    let until = if expires_at == 0 {
        serde_json::Value::Null
    } else {
        rfc3339(expires_at).into()
    };
    let v = object(vec![
        ("user", username.into()),
        ("server", args.conn.server.clone().into()),
        ("expires_at", until),
        ("session_file", path.display().to_string().into()),
    ]);
    output::one(
        conn.output,
        &[
            ("SIGNED_IN", "user"),
            ("SERVER", "server"),
            ("UNTIL", "expires_at"),
            ("SESSION_FILE", "session_file"),
        ],
        &v,
    );
    Ok(())
}

/// Ends the saved session on the server, then forgets it; the file goes even when the server
/// cannot be reached (the error says so, as the session may then outlive the file).
pub async fn logout(args: LogoutArgs) -> CliResult<()> {
    let Some(saved) = session_file::load()? else {
        let v = object(vec![("signed_out", serde_json::Value::Null)]);
        output::one(args.conn.output, &[("SIGNED_OUT", "signed_out")], &v);
        return Ok(());
    };
    // The server the session was made on, with the TLS settings given now.
    let server_args = ClientArgs {
        server: saved.server.clone(),
        ..args.conn.clone()
    };
    let revoked = async {
        let conn = Conn::anonymous(&server_args).await?;
        let mut tokens = conn.tokens();
        let mut req = tonic::Request::new(pb::RevokeRequest {
            target: Some(pb::revoke_request::Target::Token(saved.token.clone())),
        });
        let bearer = format!("Bearer {}", saved.token)
            .parse()
            .map_err(|_| CliError::Local("the saved session is malformed".into()))?;
        req.metadata_mut().insert("authorization", bearer);
        tokens.revoke(req).await?;
        Ok::<(), CliError>(())
    }
    .await;
    session_file::remove()?;
    match revoked {
        // An expired or already revoked session is over either way.
        Ok(()) => {}
        Err(CliError::Status(s)) if s.code() == tonic::Code::Unauthenticated => {}
        Err(e) => return Err(e),
    }
    let v = object(vec![("signed_out", saved.server.into())]);
    output::one(args.conn.output, &[("SIGNED_OUT", "signed_out")], &v);
    Ok(())
}
