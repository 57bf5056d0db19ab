//! The OAuth grants of `TokenService.Issue`: the client authenticates itself in the
//! request's fields, so these need no caller credential.

use tonic::{Response, Status};

use crate::domain::app::App;
use crate::domain::app::Issued;
use crate::domain::app::oauth::{ClientAuth, CodeExchange, RefreshRequest};
use crate::proto::v1 as pb;

type Reply = Result<Response<pb::IssueResponse>, Status>;

fn answer(issued: Issued) -> Reply {
    let span = tracing::Span::current();
    span.record("kind", issued.kind.as_str());
    span.record("token_id", issued.token_id.as_str());
    Ok(Response::new(issued.into()))
}

pub(super) async fn exchange(app: &App, g: pb::AuthorizationCodeGrant) -> Reply {
    let issued = app
        .exchange_code(CodeExchange {
            client: ClientAuth {
                client_id: g.client_id,
                client_secret: g.client_secret,
            },
            code: g.code,
            redirect_uri: g.redirect_uri,
            code_verifier: g.code_verifier,
        })
        .await?;
    answer(issued)
}

pub(super) async fn refresh(app: &App, g: pb::RefreshTokenGrant) -> Reply {
    let issued = app
        .refresh(RefreshRequest {
            client: ClientAuth {
                client_id: g.client_id,
                client_secret: g.client_secret,
            },
            refresh_token: g.refresh_token,
            scopes: g.scopes,
        })
        .await?;
    answer(issued)
}

pub(super) async fn client_credentials(app: &App, g: pb::ClientCredentialsGrant) -> Reply {
    let auth = ClientAuth {
        client_id: g.client_id,
        client_secret: g.client_secret,
    };
    answer(app.client_credentials(auth, g.scopes).await?)
}
