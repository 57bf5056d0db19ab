//! The app registry (OAuth clients) through AdminService: what a client is given, what is
//! refused and why, who may do it, and how its secret is kept.

use tessera::domain::ports::ClientStore;
use tessera::domain::secret_hash::SecretHasher;
use tessera::proto::v1 as pb;
use tonic::Code;

use crate::helpers::*;

const WEB: &str = "https://app.example.com/callback";

pub fn confidential(scopes: &[&str]) -> pb::CreateClientRequest {
    pb::CreateClientRequest {
        name: "Reporting app".into(),
        r#type: pb::ClientType::Confidential.into(),
        redirect_uris: strings(&[WEB]),
        scopes: strings(scopes),
        grant_types: Vec::new(),
    }
}

pub async fn create(
    t: &TestApp,
    key: &str,
    req: pb::CreateClientRequest,
) -> Result<pb::CreateClientResponse, tonic::Status> {
    t.admin
        .clone()
        .create_client(authed(key, req))
        .await
        .map(tonic::Response::into_inner)
}

async fn get(t: &TestApp, key: &str, id: &str) -> Result<pb::Client, tonic::Status> {
    let req = pb::GetClientRequest {
        client_id: id.into(),
    };
    t.admin
        .clone()
        .get_client(authed(key, req))
        .await
        .map(tonic::Response::into_inner)
}

async fn update(
    t: &TestApp,
    req: pb::UpdateClientRequest,
) -> Result<pb::UpdateClientResponse, tonic::Status> {
    t.admin
        .clone()
        .update_client(authed(&t.admin_key, req))
        .await
        .map(tonic::Response::into_inner)
}

/// Whether `secret` is, at the server's clock now, one the client's stored hashes accept
/// (test servers hash with plain SHA-256).
pub async fn secret_works(t: &TestApp, id: &str, secret: &str) -> bool {
    let (_, secrets) = t
        .store
        .client_with_secrets(id)
        .await
        .expect("store")
        .expect("client");
    let now = tessera::domain::clock::Clock::now(&*t.clock);
    let hasher = SecretHasher::new(None);
    secrets.valid_at(now).any(|h| hasher.verify(secret, h))
}

#[tokio::test]
async fn a_confidential_client_gets_a_secret_once_and_a_public_one_none() {
    let t = spawn_app().await;
    let made = create(&t, &t.admin_key, confidential(&["read:contacts"]))
        .await
        .expect("create");
    let client = made.client.clone().expect("client");
    assert!(made.client_secret.starts_with("tsc_"), "a tsc_ secret");
    assert!(made.stripped_scopes.is_empty());
    assert_eq!(client.r#type(), pb::ClientType::Confidential);
    assert_eq!(client.redirect_uris, [WEB]);
    assert_eq!(client.scopes, ["read:contacts"]);
    assert_eq!(client.grant_types, ["authorization_code", "refresh_token"]);
    assert!(!client.disabled && client.created_at.is_some());
    assert!(!format!("{made:?}").contains(&made.client_secret));
    assert!(secret_works(&t, &client.client_id, &made.client_secret).await);

    // Reading it back never shows the secret: the message has no field for it.
    assert_eq!(
        get(&t, &t.admin_key, &client.client_id).await.expect("get"),
        client
    );

    let public = create(
        &t,
        &t.admin_key,
        pb::CreateClientRequest {
            r#type: pb::ClientType::Public.into(),
            redirect_uris: strings(&["http://127.0.0.1/cb", "com.example.app:/cb"]),
            ..confidential(&["read:*"])
        },
    )
    .await
    .expect("public");
    assert!(public.client_secret.is_empty());
    let rotated = t
        .admin
        .clone()
        .rotate_client_secret(authed(
            &t.admin_key,
            pb::RotateClientSecretRequest {
                client_id: public.client.expect("client").client_id,
            },
        ))
        .await;
    assert_code(rotated, Code::FailedPrecondition);
}

#[tokio::test]
async fn bad_registrations_are_refused_naming_the_field() {
    let t = spawn_app().await;
    let cases: Vec<(pb::CreateClientRequest, &str)> = vec![
        (
            pb::CreateClientRequest {
                r#type: 0,
                ..confidential(&["read:x"])
            },
            "type",
        ),
        (
            pb::CreateClientRequest {
                name: " ".into(),
                ..confidential(&["read:x"])
            },
            "name",
        ),
        (confidential(&[]), "scopes"),
        (confidential(&["NOT A SCOPE"]), "scopes[0]"),
        (
            pb::CreateClientRequest {
                grant_types: strings(&["password"]),
                ..confidential(&["read:x"])
            },
            "grant_types[0]",
        ),
        (
            pb::CreateClientRequest {
                grant_types: strings(&["refresh_token"]),
                ..confidential(&["read:x"])
            },
            "grant_types",
        ),
        (
            pb::CreateClientRequest {
                r#type: pb::ClientType::Public.into(),
                grant_types: strings(&["authorization_code", "client_credentials"]),
                ..confidential(&["read:x"])
            },
            "grant_types",
        ),
        (
            pb::CreateClientRequest {
                redirect_uris: Vec::new(),
                ..confidential(&["read:x"])
            },
            "redirect_uris",
        ),
        (
            pb::CreateClientRequest {
                redirect_uris: strings(&[WEB, WEB]),
                ..confidential(&["read:x"])
            },
            "redirect_uris[1]",
        ),
    ];
    let bad_uris = [
        "http://app.example.com/cb",
        "https://app.example.com/cb#x",
        "javascript:alert(1)",
        "/relative",
        "https://user:pw@app.example.com/cb",
    ];
    let uri_cases = bad_uris.iter().map(|uri| {
        (
            pb::CreateClientRequest {
                redirect_uris: strings(&[WEB, uri]),
                ..confidential(&["read:x"])
            },
            "redirect_uris[1]",
        )
    });
    for (req, field) in cases.into_iter().chain(uri_cases) {
        let status = assert_code(create(&t, &t.admin_key, req).await, Code::InvalidArgument);
        assert!(
            status.message().starts_with(&format!("{field}:")),
            "{field}: {}",
            status.message()
        );
    }
    // Client credentials alone, for a backend: no redirect URI needed.
    create(
        &t,
        &t.admin_key,
        pb::CreateClientRequest {
            redirect_uris: Vec::new(),
            grant_types: strings(&["client_credentials"]),
            ..confidential(&["read:x"])
        },
    )
    .await
    .expect("a backend client");
    let listed = t
        .admin
        .clone()
        .list_clients(authed(&t.admin_key, pb::ListClientsRequest::default()))
        .await
        .expect("list")
        .into_inner();
    assert_eq!(listed.clients.len(), 1, "nothing refused was stored");
}

#[tokio::test]
async fn scopes_are_capped_by_the_admin_and_the_registry_is_guarded() {
    let t = spawn_app().await;
    t.create_role("apps", &["tessera:clients:*", "read:*"])
        .await;
    let ops = t.create_user("ops", &["apps"]).await;
    let key = t.key_for(&ops.id, &["*"]).await.token;
    let made = create(&t, &key, confidential(&["read:contacts", "write:contacts"]))
        .await
        .expect("create");
    assert_eq!(made.client.expect("client").scopes, ["read:contacts"]);
    assert_eq!(made.stripped_scopes, ["write:contacts"]);
    let none = create(&t, &key, confidential(&["write:*"])).await;
    assert_code(none, Code::PermissionDenied);

    // Reading needs tessera:clients:read; a read-only credential changes nothing.
    let reader = t.key_for(&ops.id, &["read:*"]).await.token;
    let id = made_id(&t).await;
    assert_code(get(&t, &reader, &id).await, Code::PermissionDenied);
    let read_only = t
        .issue(
            &t.admin_key,
            api_key_with(&["tessera:clients:*"], &ops.id, None, true),
        )
        .await
        .expect("read-only key")
        .token;
    get(&t, &read_only, &id).await.expect("read-only reads");
    assert_code(
        create(&t, &read_only, confidential(&["read:x"])).await,
        Code::PermissionDenied,
    );
    assert_code(get(&t, &t.admin_key, "cli_nope").await, Code::NotFound);
    assert_code(
        get(&t, &t.admin_key, "not an id!").await,
        Code::InvalidArgument,
    );
}

async fn made_id(t: &TestApp) -> String {
    let listed = t
        .admin
        .clone()
        .list_clients(authed(&t.admin_key, pb::ListClientsRequest::default()))
        .await
        .expect("list")
        .into_inner();
    listed.clients[0].client_id.clone()
}

#[tokio::test]
async fn updates_replace_the_fields_named_and_keep_the_rest() {
    let t = spawn_app().await;
    let made = create(&t, &t.admin_key, confidential(&["read:*"]))
        .await
        .expect("create");
    let id = made.client.expect("client").client_id;
    // No mask: the fields given non-empty.
    let renamed = update(
        &t,
        pb::UpdateClientRequest {
            client_id: id.clone(),
            name: "Reports".into(),
            scopes: strings(&["read:contacts"]),
            ..Default::default()
        },
    )
    .await
    .expect("update");
    let client = renamed.client.expect("client");
    assert_eq!(client.name, "Reports");
    assert_eq!(client.scopes, ["read:contacts"]);
    assert_eq!(client.redirect_uris, [WEB], "kept");
    // A mask empties a list: the code grant then has nowhere to send its code.
    let mask = |paths: &[&str]| prost_types::FieldMask {
        paths: strings(paths),
    };
    let emptied = update(
        &t,
        pb::UpdateClientRequest {
            client_id: id.clone(),
            update_mask: Some(mask(&["redirect_uris"])),
            ..Default::default()
        },
    )
    .await;
    assert_code(emptied, Code::InvalidArgument);
    let backend = update(
        &t,
        pb::UpdateClientRequest {
            client_id: id.clone(),
            grant_types: strings(&["client_credentials"]),
            update_mask: Some(mask(&["redirect_uris", "grant_types"])),
            ..Default::default()
        },
    )
    .await
    .expect("a backend now");
    let client = backend.client.expect("client");
    assert!(client.redirect_uris.is_empty());
    assert_eq!(client.grant_types, ["client_credentials"]);
    let bad_path = update(
        &t,
        pb::UpdateClientRequest {
            client_id: id.clone(),
            update_mask: Some(mask(&["type"])),
            ..Default::default()
        },
    )
    .await;
    let status = assert_code(bad_path, Code::InvalidArgument);
    assert!(
        status.message().starts_with("update_mask.paths[0]"),
        "{status:?}"
    );
    let unknown = update(
        &t,
        pb::UpdateClientRequest {
            client_id: "cli_nope".into(),
            name: "x".into(),
            ..Default::default()
        },
    )
    .await;
    assert_code(unknown, Code::NotFound);
}

#[tokio::test]
async fn disable_enable_delete_and_pages() {
    let t = spawn_app().await;
    let mut ids = Vec::new();
    for _ in 0..3 {
        let made = create(&t, &t.admin_key, confidential(&["read:*"]))
            .await
            .expect("create");
        ids.push(made.client.expect("client").client_id);
    }
    let mut admin = t.admin.clone();
    let off = admin
        .disable_client(authed(
            &t.admin_key,
            pb::DisableClientRequest {
                client_id: ids[0].clone(),
            },
        ))
        .await
        .expect("disable")
        .into_inner();
    assert!(off.disabled);
    let on = admin
        .enable_client(authed(
            &t.admin_key,
            pb::EnableClientRequest {
                client_id: ids[0].clone(),
            },
        ))
        .await
        .expect("enable")
        .into_inner();
    assert!(!on.disabled);

    let first = admin
        .list_clients(authed(
            &t.admin_key,
            pb::ListClientsRequest {
                page_size: 2,
                page_token: String::new(),
            },
        ))
        .await
        .expect("page 1")
        .into_inner();
    assert_eq!(first.clients.len(), 2);
    let second = admin
        .list_clients(authed(
            &t.admin_key,
            pb::ListClientsRequest {
                page_size: 2,
                page_token: first.next_page_token.clone(),
            },
        ))
        .await
        .expect("page 2")
        .into_inner();
    assert_eq!(second.clients.len(), 1);
    assert!(second.next_page_token.is_empty());
    let mut seen: Vec<String> = first
        .clients
        .iter()
        .chain(&second.clients)
        .map(|c| c.client_id.clone())
        .collect();
    seen.sort();
    ids.sort();
    assert_eq!(seen, ids);

    let delete = |id: &str| pb::DeleteClientRequest {
        client_id: id.into(),
    };
    let gone = admin
        .delete_client(authed(&t.admin_key, delete(&ids[1])))
        .await
        .expect("delete")
        .into_inner();
    assert_eq!(gone.revoked, 0, "no token was issued to it");
    assert_code(get(&t, &t.admin_key, &ids[1]).await, Code::NotFound);
    assert_code(
        admin
            .delete_client(authed(&t.admin_key, delete(&ids[1])))
            .await,
        Code::NotFound,
    );
}
