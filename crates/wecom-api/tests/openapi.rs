//! The OpenAPI document is generated from the code: `docs/openapi.json` must equal it (regenerate
//! with `UPDATE_OPENAPI=1 cargo test -p wecom-api --test openapi`), and every operation it
//! documents must be a route the server answers, with the documented status for a plain call.

mod support;

use std::path::PathBuf;

use reqwest::Method;
use support::{enc, serve};
use wecom_api::ApiConfig;

fn committed() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../docs/openapi.json")
}

#[test]
fn the_committed_document_is_the_generated_one() {
    let generated = wecom_api::openapi()
        .to_pretty_json()
        .expect("serialize the document")
        + "\n";
    if std::env::var_os("UPDATE_OPENAPI").is_some() {
        std::fs::write(committed(), &generated).expect("write docs/openapi.json");
    }
    let on_disk = std::fs::read_to_string(committed()).unwrap_or_default();
    assert!(
        on_disk == generated,
        "docs/openapi.json is not what the code generates: run \
         `UPDATE_OPENAPI=1 cargo test -p wecom-api --test openapi` and commit it"
    );
    let doc: serde_json::Value = serde_json::from_str(&generated).expect("json");
    assert!(doc["openapi"].as_str().is_some_and(|v| v.starts_with("3.")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_documented_operation_is_served() {
    let s = serve(ApiConfig::default()).await;
    let admin = s.sign_in("root").await;
    let doc = serde_json::to_value(wecom_api::openapi()).expect("json");
    let paths = doc["paths"].as_object().expect("paths");
    let mut operations = 0;
    for (path, item) in paths {
        for (method, op) in item.as_object().expect("path item") {
            let method: Method = method.to_uppercase().parse().expect("method");
            let concrete = path
                .replace("{key}", &enc("pair:alice|bob"))
                .replace("{msgid}", "m1")
                .replace("{sha256}", &s.alice_jpeg)
                .replace("{username}", "audra")
                + if path == "/api/v1/search" {
                    "?q=%E5%90%88%E5%90%8C"
                } else {
                    ""
                };
            let body = match (method.as_str(), path.as_str()) {
                ("POST", "/api/v1/session") => {
                    Some(serde_json::json!({"username": "audra", "password": support::PASSWORD}))
                }
                ("POST", "/api/v1/users") => Some(serde_json::json!({
                    "username": "newbie", "password": support::PASSWORD, "role": "auditor"})),
                ("PATCH", _) => Some(serde_json::json!({"disabled": false})),
                _ => None,
            };
            let session = if path == "/api/v1/session" && method == Method::DELETE {
                Some(s.sign_in("audra").await)
            } else {
                Some(admin.clone())
            };
            let a = s
                .call(method.clone(), &concrete, session.as_deref(), body)
                .await;
            let documented: Vec<String> = op["responses"]
                .as_object()
                .expect("responses")
                .keys()
                .cloned()
                .collect();
            assert!(
                documented.contains(&a.status.as_u16().to_string()),
                "{method} {path} answered {} which its document does not list ({documented:?}): {}",
                a.status,
                String::from_utf8_lossy(&a.bytes)
            );
            // The served corpus has no voice: a picture's playable rendition is refused, as
            // documented (tests/playable.rs plays real voice).
            let refused_as_documented =
                path.ends_with("/playable") && a.status == 404 && a.code() == "not_voice";
            assert!(
                a.status.is_success() || refused_as_documented,
                "{method} {path}: {}",
                a.status
            );
            operations += 1;
        }
    }
    assert_eq!(operations, 20, "operations documented");
}
