//! The API fuzzed from its own OpenAPI document by schemathesis (Python, from PyPI; `.ci/run`
//! installs the pinned version): the API is served over real HTTP on loopback over the small
//! archive of `support`, an admin signs in, and schemathesis sends generated requests — valid and
//! invalid — to every documented operation with that session and the server's own `Origin`.
//! Every answer must be something other than a server error (5xx), and must match the documented
//! status codes, content type and response schema.
//!
//! Bounded: a fixed seed and a small number of examples per operation, no stateful phase, no
//! time-driven repetition, so a run does the same work on every machine. Signing out
//! (`DELETE /api/v1/session`) is left out: it would end the session every other request uses.

mod support;

use std::path::Path;
use std::process::{Command, Output};

use support::{CORP, PASSWORD, T0, serve};
use wecom_api::ApiConfig;
use wecom_store::{NewUser, Role, Scope};

/// The admin schemathesis signs in as.
const FUZZER: &str = "schemathesis-admin-x7";

/// The schemathesis release the flags below are written for (v4's command line).
const SCHEMATHESIS: &str = "4.32.5";

/// Generated requests per operation and phase.
const MAX_EXAMPLES: &str = "15";

/// Fixed so a failure is reproduced by running the test again.
const SEED: &str = "20260101";

fn install_hint() -> String {
    format!("install it with: python3 -m pip install 'schemathesis=={SCHEMATHESIS}'")
}

/// Runs schemathesis's command line with the `python3` that `pip` installed it for.
fn schemathesis(args: &[String], cwd: &Path) -> Output {
    Command::new("python3")
        .arg("-c")
        .arg(
            "import sys\n\
             from schemathesis.cli import schemathesis\n\
             sys.argv[0] = 'schemathesis'\n\
             sys.exit(schemathesis())",
        )
        .args(args)
        .current_dir(cwd)
        .env("NO_COLOR", "1")
        .output()
        .unwrap_or_else(|e| panic!("cannot start python3 ({e}); {}", install_hint()))
}

fn installed_version() -> Option<String> {
    let o = Command::new("python3")
        .args(["-c", "import schemathesis; print(schemathesis.__version__)"])
        .output()
        .ok()?;
    o.status
        .success()
        .then(|| String::from_utf8_lossy(&o.stdout).trim().to_owned())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn schemathesis_finds_no_server_error_and_every_answer_matches_the_document() {
    match installed_version() {
        Some(v) if v == SCHEMATHESIS => {}
        Some(v) => panic!(
            "schemathesis {v} is installed; this test is written for {SCHEMATHESIS}: {}",
            install_hint()
        ),
        None => panic!("schemathesis is not installed: {}", install_hint()),
    }
    let s = serve(ApiConfig::default()).await;
    // An admin of its own, whose name is in no example and no other test: generated requests
    // that change a user (`PATCH /api/v1/users/root` with a new password, say) leave its session
    // alone.
    s.roles
        .accounts
        .create_user(
            &NewUser {
                username: FUZZER.to_owned(),
                password_hash: wecom_accounts::hash_password(PASSWORD).expect("hash"),
                role: Role::Admin,
                corps: vec![CORP.to_owned()],
                scope: Scope::default(),
            },
            T0,
        )
        .expect("create the fuzzing admin");
    let session = s.sign_in(FUZZER).await;
    let work = tempfile::tempdir().expect("temp dir");
    let schema = format!("{}/api/openapi.json", s.base);
    let cookie = format!("Cookie: {}={session}", wecom_api::SESSION_COOKIE);
    let origin = format!("Origin: {}", s.origin());
    let args: Vec<String> = [
        "run",
        schema.as_str(),
        "--url",
        s.base.as_str(),
        "-H",
        cookie.as_str(),
        "-H",
        origin.as_str(),
        "--checks",
        "not_a_server_error,content_type_conformance,response_schema_conformance",
        "--phases",
        "examples,coverage,fuzzing",
        "--exclude-method",
        "DELETE",
        "--max-examples",
        MAX_EXAMPLES,
        "--seed",
        SEED,
        "--workers",
        "2",
        "--request-timeout",
        "30",
        "--no-shrink",
    ]
    .iter()
    .map(|a| a.to_string())
    .collect();
    let cwd = work.path().to_owned();
    let output = tokio::task::spawn_blocking(move || schemathesis(&args, &cwd))
        .await
        .expect("schemathesis thread");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        output.status.success(),
        "schemathesis found problems (seed {SEED}):\n{text}"
    );
    // It ran against the operations (not, say, an empty or unreadable document).
    assert!(
        text.contains("/api/v1/conversations"),
        "schemathesis did not test the API:\n{text}"
    );
    // The session lived through the run: nothing signed the admin out.
    let me = s.get("/api/v1/me", &session).await;
    assert_eq!(me.status, reqwest::StatusCode::OK, "{text}");
}
