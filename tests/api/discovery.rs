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

/// Minimal reflection clients, asking what `grpcurl list` asks.
mod tessera_reflection {
    use tokio_stream::StreamExt;
    use tonic::transport::Channel;
    use tonic_reflection::pb::{v1, v1alpha};

    pub async fn list_v1(channel: Channel) -> Vec<String> {
        let mut client = v1::server_reflection_client::ServerReflectionClient::new(channel);
        let req = v1::ServerReflectionRequest {
            host: String::new(),
            message_request: Some(v1::server_reflection_request::MessageRequest::ListServices(
                String::new(),
            )),
        };
        let mut answers = client
            .server_reflection_info(tokio_stream::iter([req]))
            .await
            .expect("reflection v1")
            .into_inner();
        let answer = answers.next().await.expect("one answer").expect("ok");
        match answer.message_response {
            Some(v1::server_reflection_response::MessageResponse::ListServicesResponse(l)) => {
                l.service.into_iter().map(|s| s.name).collect()
            }
            other => panic!("unexpected reflection answer {other:?}"),
        }
    }

    pub async fn list_v1alpha(channel: Channel) -> Vec<String> {
        let mut client = v1alpha::server_reflection_client::ServerReflectionClient::new(channel);
        let req = v1alpha::ServerReflectionRequest {
            host: String::new(),
            message_request: Some(
                v1alpha::server_reflection_request::MessageRequest::ListServices(String::new()),
            ),
        };
        let mut answers = client
            .server_reflection_info(tokio_stream::iter([req]))
            .await
            .expect("reflection v1alpha")
            .into_inner();
        let answer = answers.next().await.expect("one answer").expect("ok");
        match answer.message_response {
            Some(v1alpha::server_reflection_response::MessageResponse::ListServicesResponse(l)) => {
                l.service.into_iter().map(|s| s.name).collect()
            }
            other => panic!("unexpected reflection answer {other:?}"),
        }
    }
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
