//! The demo server against its own OpenAPI document, by Schemathesis: requests
//! generated from the document (valid ones and not), every answer checked to be
//! no server error, of a status, content type and schema the document declares.
//!
//! Before that, the document itself: OpenAPI 3.1, every operation named by an
//! `operationId` and answering problems (`default`, `application/problem+json`).
//!
//! `O2C_SCHEMATHESIS_SECONDS` is Schemathesis's time budget (120 s unless set).
//! Its JUnit report lands in `target/schemathesis/`. CI installs Schemathesis
//! (`.ci/run`): a missing one fails this test with a message saying so, never
//! skips it.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod server_support;

use std::collections::BTreeSet;
use std::process::Command;
use std::time::Instant;

use serde_json::Value;

use server_support::Server;

/// Schemathesis's budget when `O2C_SCHEMATHESIS_SECONDS` is not set.
const DEFAULT_SECONDS: u64 = 120;
/// Which answers fail the run: each of these is a promise the document makes.
const CHECKS: &str = "not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance";
const METHODS: [&str; 8] = [
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

/// `schemathesis --version`, or a failure saying how to install it.
fn schemathesis_version() -> String {
    match Command::new("schemathesis").arg("--version").output() {
        Ok(out) if out.status.success() => String::from_utf8_lossy(&out.stdout).trim().to_owned(),
        Ok(out) => panic!(
            "`schemathesis --version` failed ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        ),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => panic!(
            "`schemathesis` is not on PATH, and this test needs it: \
             `pip install schemathesis` (CI's .ci/run does)"
        ),
        Err(e) => panic!("could not run schemathesis: {e}"),
    }
}

fn openapi_document(server: &Server) -> Value {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let answer = reqwest::get(server.at("/openapi.json")).await.unwrap();
        assert_eq!(answer.status(), 200, "GET /openapi.json");
        answer.json().await.unwrap()
    })
}

/// OpenAPI 3.1; every operation has a unique `operationId` and a `default`
/// answer that is a problem document.
fn check_document(document: &Value) -> usize {
    let version = document["openapi"].as_str().unwrap_or_default();
    assert!(
        version.starts_with("3.1."),
        "the document is OpenAPI {version:?}, not 3.1"
    );
    let paths = document["paths"]
        .as_object()
        .expect("the document has paths");
    let mut ids = BTreeSet::new();
    let mut faults = Vec::new();
    for (path, item) in paths {
        let item = item.as_object().expect("a path item is an object");
        let operations: Vec<_> = METHODS
            .iter()
            .filter_map(|m| item.get(*m).map(|op| (*m, op)))
            .collect();
        if operations.is_empty() {
            faults.push(format!("{path}: no operation"));
        }
        for (method, op) in operations {
            let at = format!("{} {path}", method.to_uppercase());
            match op["operationId"].as_str() {
                Some(id) if !id.is_empty() => {
                    if !ids.insert(id.to_owned()) {
                        faults.push(format!("{at}: operationId {id} is used twice"));
                    }
                }
                _ => faults.push(format!("{at}: no operationId")),
            }
            let default = &op["responses"]["default"];
            if default.is_null() {
                faults.push(format!("{at}: no default response"));
            } else if default["content"]["application/problem+json"]["schema"].is_null() {
                faults.push(format!(
                    "{at}: the default response is not application/problem+json with a schema"
                ));
            }
        }
    }
    assert!(
        faults.is_empty(),
        "the OpenAPI document:\n{}",
        faults.join("\n")
    );
    ids.len()
}

#[test]
fn the_api_keeps_to_its_openapi_document() {
    let version = schemathesis_version();
    assert!(
        version
            .rsplit(' ')
            .next()
            .is_some_and(|v| v.starts_with("4.")),
        "this test drives Schemathesis 4's CLI, not {version:?}: `pip install 'schemathesis>=4,<5'`"
    );
    let server = Server::start(&[]);
    let operations = check_document(&openapi_document(&server));

    let seconds = match std::env::var("O2C_SCHEMATHESIS_SECONDS") {
        Ok(text) => text.parse::<u64>().unwrap_or_else(|_| {
            panic!("O2C_SCHEMATHESIS_SECONDS={text:?} is not a number of seconds")
        }),
        Err(_) => DEFAULT_SECONDS,
    };
    let target = server_support::target_dir();
    let reports = target.join("schemathesis");
    std::fs::create_dir_all(&reports).unwrap();
    eprintln!(
        "{version} against {operations} operations for {seconds} s; reports in {}",
        reports.display()
    );
    let started = Instant::now();
    // Run from the target directory, so nothing it keeps lands in the sources;
    // its example database is off: the seed makes a run repeatable anyway.
    let out = Command::new("schemathesis")
        .current_dir(&target)
        .args(["--no-color", "run"])
        .arg(server.at("/openapi.json"))
        .args(["--checks", CHECKS])
        .args(["--exclude-path", "/events"])
        .args(["--max-time", &seconds.to_string()])
        .args(["--seed", "1"])
        .args(["--generation-database", "none"])
        .args(["--report", "junit", "--report-dir"])
        .arg(&reports)
        .output()
        .unwrap();
    let output = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let took = started.elapsed().as_secs_f64();
    assert!(
        out.status.success(),
        "schemathesis failed ({}, after {took:.0} s):\n{output}\n\nthe server's output:\n{}",
        out.status,
        server.log()
    );
    // The summary (test cases generated and passed), for the log.
    let lines: Vec<&str> = output.lines().collect();
    let tail = lines.len().saturating_sub(12);
    eprintln!(
        "schemathesis passed in {took:.0} s:\n{}",
        lines[tail..].join("\n")
    );
}
