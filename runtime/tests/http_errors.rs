//! ErrorToken responses: status, body, Retry-After, JSON-RPC, panics and
//! untokened errors through the observability layer.
#![allow(missing_docs)]

mod http_common;

use axum::Router;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use http::StatusCode;
use http_common::{Tok, body_json, body_string, get as req, table};
use obspec::http::error::{RetryAfterError, pass_through, recognise_body, retry_after_secs, token_for_status};
use obspec::http::{ApiError, CorrelationId, ObservabilityLayer, RouteExt};
use serde_json::json;
use tower::ServiceExt;

fn cid(s: &str) -> CorrelationId {
    CorrelationId::parse(s.as_bytes()).expect("valid correlation id")
}

#[tokio::test]
async fn every_token_answers_its_status_body_and_retry_after() {
    for (tok, wire, status, _, retry) in table() {
        let e = match retry {
            0 => ApiError::new(tok),
            _ => ApiError::with_retry_after(tok, 1200),
        }
        .correlation_id(cid("req-1"));
        let resp = e.into_response();
        assert_eq!(resp.status().as_u16(), status, "{wire}");
        assert_eq!(resp.headers()["content-type"], "application/json");
        let retry_header = resp.headers().get("retry-after").map(|v| v.to_str().expect("ascii").to_owned());
        let body = body_json(resp).await;
        if retry == 0 {
            assert_eq!(body, json!({"err": wire, "correlation_id": "req-1"}), "{wire}");
            assert_eq!(retry_header, None, "{wire}");
        } else {
            assert_eq!(body, json!({"err": wire, "retry_after_ms": 1200, "correlation_id": "req-1"}), "{wire}");
            assert_eq!(retry_header.as_deref(), Some("2"), "{wire}: 1200 ms rounds up to 2 s");
        }
    }
}

#[test]
fn retry_after_is_enforced_by_the_constructors() {
    // Required: `new` never leaves it out.
    assert_eq!(ApiError::new(Tok::RateLimit).retry_after_ms(), Some(obspec::http::error::DEFAULT_RETRY_AFTER_MS));
    assert_eq!(ApiError::new(Tok::Backpressure).retry_after_ms(), Some(1000));
    // Not allowed: dropped.
    assert_eq!(ApiError::with_retry_after(Tok::NotFound, 5).retry_after_ms(), None);
    assert_eq!(ApiError::new(Tok::UpstreamTimeout).retry_after_ms(), None);
    // Optional: kept when given.
    assert_eq!(ApiError::with_retry_after(Tok::UpstreamTimeout, 5).retry_after_ms(), Some(5));
    // Strict form.
    assert_eq!(ApiError::try_new(Tok::RateLimit, None), Err(RetryAfterError { token: "RATE_LIMIT", missing: true }));
    assert_eq!(ApiError::try_new(Tok::Conflict, Some(1)), Err(RetryAfterError { token: "CONFLICT", missing: false }));
    assert!(ApiError::try_new(Tok::Backpressure, Some(1)).is_ok());
    assert!(ApiError::try_new(Tok::Unavailable, None).is_ok());
    assert_eq!(
        (retry_after_secs(0), retry_after_secs(1), retry_after_secs(1000), retry_after_secs(1001)),
        (0, 1, 1, 2)
    );
}

#[test]
fn jsonrpc_error_object() {
    for (tok, wire, _, code, _) in table() {
        let e = ApiError::new(tok);
        let mut expected = json!({"jsonrpc": "2.0", "id": 7, "error": {"code": code.unwrap_or(obspec::http::error::JSONRPC_INTERNAL_ERROR), "message": wire}});
        if tok.retry_after_required() {
            expected["error"]["data"] = json!({"retry_after_ms": 1000});
        }
        assert_eq!(e.to_jsonrpc(json!(7)), expected, "{wire}");
    }
    let e = ApiError::with_retry_after(Tok::Backpressure, 1200).correlation_id(cid("c-9"));
    assert_eq!(
        e.to_jsonrpc(json!("abc")),
        json!({"jsonrpc": "2.0", "id": "abc", "error": {"code": -32030, "message": "BACKPRESSURE",
            "data": {"retry_after_ms": 1200, "correlation_id": "c-9"}}})
    );
}

#[test]
fn untokened_statuses_map_to_a_token_or_the_fallback() {
    assert_eq!(token_for_status::<Tok>(404), Tok::NotFound);
    assert_eq!(token_for_status::<Tok>(405), Tok::Unsupported);
    // 503 without a retry_after_ms is UNAVAILABLE, never BACKPRESSURE.
    assert_eq!(token_for_status::<Tok>(503), Tok::Unavailable);
    // A client error without its own token is the invalid-input role's.
    assert_eq!(token_for_status::<Tok>(422), Tok::InvalidInput);
    assert_eq!(token_for_status::<Tok>(415), Tok::InvalidInput);
    assert_eq!(token_for_status::<Tok>(418), Tok::InvalidInput);
    assert_eq!(token_for_status::<Tok>(501), Tok::Internal);
}

#[test]
fn api_error_is_small() {
    // The correlation ID is boxed: `Result<_, ApiError>` stays register-sized.
    assert!(std::mem::size_of::<ApiError<Tok>>() <= 32, "{}", std::mem::size_of::<ApiError<Tok>>());
}

#[test]
fn only_well_formed_token_bodies_are_recognised() {
    let info = recognise_body::<Tok>(503, br#"{"err":"BACKPRESSURE","retry_after_ms":900,"correlation_id":"c"}"#)
        .expect("a token body");
    assert_eq!((info.token, info.status, info.retry_after_ms, info.complete), ("BACKPRESSURE", 503, Some(900), true));
    assert!(recognise_body::<Tok>(503, br#"{"err":"BACKPRESSURE"}"#).is_none(), "retry_after_ms required");
    assert!(recognise_body::<Tok>(409, br#"{"err":"CONFLICT","retry_after_ms":1}"#).is_none(), "not allowed");
    assert!(recognise_body::<Tok>(400, br#"{"err":"NO_SUCH_TOKEN"}"#).is_none());
    assert!(recognise_body::<Tok>(400, b"Failed to parse the request body").is_none());
    assert!(recognise_body::<Tok>(200, br#"{"err":"CONFLICT"}"#).is_none(), "a success is no error body");
}

/// An upstream answer (a body the service did not make) read back through `pass_through`.
fn upstream(status: StatusCode, body: &'static str) -> http::Response<axum::body::Body> {
    let mut r = http::Response::new(axum::body::Body::from(body));
    *r.status_mut() = status;
    r
}

fn proxy_app() -> Router {
    Router::new()
        .route(
            "/v1/token",
            get(|| async {
                let up = upstream(
                    StatusCode::TOO_MANY_REQUESTS,
                    r#"{"err":"RATE_LIMIT","retry_after_ms":250,"correlation_id":"up-1"}"#,
                );
                pass_through::<Tok, _>(up, 4096).await
            }),
        )
        .route(
            "/v1/raw",
            get(|| async {
                pass_through::<Tok, _>(upstream(StatusCode::BAD_GATEWAY, "upstream said: private"), 4096).await
            }),
        )
        .route(
            "/v1/json",
            axum::routing::post(|axum::Json(v): axum::Json<serde_json::Value>| async move { v.to_string() }),
        )
        .route(
            "/v1/query",
            get(|axum::extract::Query(q): axum::extract::Query<std::collections::HashMap<String, u32>>| async move {
                q.len().to_string()
            }),
        )
        .not_found_fallback::<Tok>()
        .layer(ObservabilityLayer::<Tok>::builder().no_log().response_ids().build())
}

#[tokio::test]
async fn upstream_token_answers_pass_through_the_layer() {
    let resp = proxy_app().oneshot(req("/v1/token")).await.expect("infallible");
    assert_eq!(resp.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(
        body_json(resp).await,
        json!({"err": "RATE_LIMIT", "retry_after_ms": 250, "correlation_id": "up-1"}),
        "the upstream's token body is kept as is"
    );
    let resp = proxy_app().oneshot(req("/v1/raw")).await.expect("infallible");
    assert_eq!(resp.status(), StatusCode::BAD_GATEWAY);
    let body = body_json(resp).await;
    assert_eq!(body["err"], "UPSTREAM_UNAVAILABLE", "an untokened upstream error is replaced: {body}");
}

#[tokio::test]
async fn axum_rejections_answer_invalid_input() {
    let post = |ct: Option<&str>, body: &'static str| {
        let mut b = http::Request::builder().method("POST").uri("/v1/json");
        if let Some(ct) = ct {
            b = b.header("content-type", ct);
        }
        b.body(axum::body::Body::from(body)).expect("request")
    };
    // axum answers 415 (no JSON content type) and 400 (syntax); both leave
    // as the invalid-input token with its spec status.
    for req in [post(None, "{}"), post(Some("application/json"), "{not json"), post(Some("text/plain"), "{}")] {
        let resp = proxy_app().oneshot(req).await.expect("infallible");
        assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
        assert_eq!(body_json(resp).await["err"], "INVALID_INPUT");
    }
    let resp = proxy_app().oneshot(req("/v1/query?n=notanumber")).await.expect("infallible");
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    assert_eq!(body_json(resp).await["err"], "INVALID_INPUT");
}

#[tokio::test]
async fn json_data_errors_are_invalid_input_not_internal() {
    let app = Router::new()
        .route("/v1/typed", axum::routing::post(|axum::Json(n): axum::Json<u32>| async move { n.to_string() }))
        .layer(ObservabilityLayer::<Tok>::builder().no_log().response_ids().build());
    let req = http::Request::builder()
        .method("POST")
        .uri("/v1/typed")
        .header("content-type", "application/json")
        .body(axum::body::Body::from(r#""a string""#))
        .expect("request");
    // axum's 422 (JsonDataError) was INTERNAL before: now the invalid-input token.
    let resp = app.oneshot(req).await.expect("infallible");
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    assert_eq!(body_json(resp).await["err"], "INVALID_INPUT");
}

#[tokio::test]
async fn the_runtime_fallback_answers_not_found() {
    let resp = proxy_app().oneshot(req("/nowhere")).await.expect("infallible");
    assert_eq!(resp.status(), StatusCode::NOT_FOUND);
    let cid = resp.headers()["x-correlation-id"].to_str().expect("ascii").to_owned();
    assert_eq!(body_json(resp).await, json!({"err": "NOT_FOUND", "correlation_id": cid}));
}

async fn boom() -> &'static str {
    panic!("secret plaintext in a panic")
}

fn app() -> Router {
    Router::new()
        .route("/v1/boom", get(boom))
        .route("/v1/raw", get(|| async { (StatusCode::BAD_REQUEST, "Failed to parse: user said something private") }))
        .route("/v1/teapot", get(|| async { (StatusCode::IM_A_TEAPOT, "leaky details") }))
        .route("/v1/busy", get(|| async { ApiError::with_retry_after(Tok::Backpressure, 1500) }))
        .route("/v1/ok", get(|| async { "fine" }))
        .layer(ObservabilityLayer::<Tok>::builder().no_log().response_ids().build())
}

#[tokio::test]
async fn panic_becomes_the_fallback_without_the_message() {
    let resp: Response = app()
        .oneshot(
            http::Request::builder()
                .uri("/v1/boom")
                .header("x-correlation-id", "abc-123")
                .body(axum::body::Body::empty())
                .expect("request"),
        )
        .await
        .expect("infallible");
    assert_eq!(resp.status(), StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(resp.headers()["x-correlation-id"], "abc-123");
    let body = body_string(resp).await;
    assert_eq!(body, r#"{"err":"INTERNAL","correlation_id":"abc-123"}"#);
    assert!(!body.contains("secret"));
}

#[tokio::test]
async fn untokened_errors_are_rewritten_without_their_body() {
    let resp = app().oneshot(req("/v1/raw")).await.expect("infallible");
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    let cid = resp.headers()["x-correlation-id"].to_str().expect("ascii").to_owned();
    let body = body_json(resp).await;
    assert_eq!(body, json!({"err": "INVALID_INPUT", "correlation_id": cid}));

    let resp = app().oneshot(req("/v1/teapot")).await.expect("infallible");
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST, "an unmapped client error is invalid input");
    let body = body_string(resp).await;
    assert!(body.contains("INVALID_INPUT") && !body.contains("leaky"), "{body}");

    // No route: axum's 404, answered as NOT_FOUND.
    let resp = app().oneshot(req("/nowhere")).await.expect("infallible");
    assert_eq!(resp.status(), StatusCode::NOT_FOUND);
    assert_eq!(body_json(resp).await["err"], "NOT_FOUND");
}

#[tokio::test]
async fn handler_errors_get_the_request_correlation_id() {
    let resp = app()
        .oneshot(
            http::Request::builder()
                .uri("/v1/busy")
                .header("x-correlation-id", "corr.42")
                .body(axum::body::Body::empty())
                .expect("request"),
        )
        .await
        .expect("infallible");
    assert_eq!(resp.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(resp.headers()["retry-after"], "2");
    assert_eq!(
        body_json(resp).await,
        json!({"err": "BACKPRESSURE", "retry_after_ms": 1500, "correlation_id": "corr.42"})
    );
    let resp = app().oneshot(req("/v1/ok")).await.expect("infallible");
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(body_string(resp).await, "fine");
}
