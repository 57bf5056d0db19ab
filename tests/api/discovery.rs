//! What a client that knows only the server learns from it: reflection and health.

use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;

use crate::helpers::*;

#[tokio::test]
async fn reflection_v1_and_v1alpha_list_every_service() {
    use tessera_reflection::*;
    let t = spawn_app().await;
    let expected = [
        "grpc.health.v1.Health",
        "tessera.v1.AdminService",
        "tessera.v1.TokenService",
        "tessera.v1.AccountService",
        "tessera.v1.OAuthService",
        "envoy.service.auth.v3.Authorization",
    ];
    let v1 = list_v1(t.channel.clone()).await;
    let v1alpha = list_v1alpha(t.channel.clone()).await;
    for name in expected {
        assert!(v1.iter().any(|s| s == name), "{name} in v1 {v1:?}");
        assert!(
            v1alpha.iter().any(|s| s == name),
            "{name} in v1alpha {v1alpha:?}"
        );
    }
}

/// Minimal reflection clients, asking what `grpcurl list` asks. The v1 and v1alpha protocols
/// are the same messages in two generated modules, hence one macro.
mod tessera_reflection {
    use tokio_stream::StreamExt;
    use tonic::transport::Channel;
    use tonic_reflection::pb::{v1, v1alpha};

    macro_rules! list_services {
        ($name:ident, $pb:ident) => {
            pub async fn $name(channel: Channel) -> Vec<String> {
                use $pb::server_reflection_request::MessageRequest;
                use $pb::server_reflection_response::MessageResponse;
                let mut client =
                    $pb::server_reflection_client::ServerReflectionClient::new(channel);
                let req = $pb::ServerReflectionRequest {
                    host: String::new(),
                    message_request: Some(MessageRequest::ListServices(String::new())),
                };
                let mut answers = client
                    .server_reflection_info(tokio_stream::iter([req]))
                    .await
                    .expect(stringify!($pb))
                    .into_inner();
                let answer = answers.next().await.expect("one answer").expect("ok");
                match answer.message_response {
                    Some(MessageResponse::ListServicesResponse(l)) => {
                        l.service.into_iter().map(|s| s.name).collect()
                    }
                    other => panic!("unexpected reflection answer {other:?}"),
                }
            }
        };
    }

    list_services!(list_v1, v1);
    list_services!(list_v1alpha, v1alpha);
}

#[tokio::test]
async fn health_is_serving_once_the_store_answers() {
    let t = spawn_app().await;
    let mut health = HealthClient::new(t.channel.clone());
    for service in ["", "tessera.v1.TokenService", "tessera.v1.AdminService"] {
        let r = health
            .check(tonic_health::pb::HealthCheckRequest {
                service: service.into(),
            })
            .await
            .expect("health answers")
            .into_inner();
        assert_eq!(r.status(), ServingStatus::Serving, "{service:?}");
    }
}
