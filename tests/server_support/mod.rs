//! Starting the demo server (`examples/server`) for a test: the example binary
//! as a host runs it, on a free loopback port, stopped when the test ends.

#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

/// A running server; killed when dropped.
pub struct Server {
    /// `http://127.0.0.1:PORT`.
    pub url: String,
    child: Child,
    /// Everything it printed, for a failing test to show.
    pub output: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Server {
    /// Starts the server with `args` (`--sqlite PATH`, ...) on a free port and
    /// waits until it says it is listening (its seed runs first).
    pub fn start(args: &[&str]) -> Server {
        let log = std::env::var("RUST_LOG").unwrap_or_else(|_| "warn".into());
        Self::start_logging(args, &log)
    }

    /// As [`Server::start`], logging as `filter` says (`RUST_LOG`).
    pub fn start_logging(args: &[&str], filter: &str) -> Server {
        let mut child = Command::new(binary())
            .args(["--addr", "127.0.0.1:0"])
            .args(args)
            .env("RUST_LOG", filter)
            .env("NO_COLOR", "1")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("the server example starts");
        let output = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let (tx, rx) = mpsc::channel();
        let stdout = child.stdout.take().expect("stdout is piped");
        let stderr = child.stderr.take().expect("stderr is piped");
        for (stream, tx) in [
            (Box::new(stdout) as Box<dyn std::io::Read + Send>, Some(tx)),
            (Box::new(stderr), None),
        ] {
            let output = output.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(stream).lines().map_while(Result::ok) {
                    if let (Some(tx), Some(rest)) = (&tx, line.split("listening on ").nth(1)) {
                        let url = rest.split_whitespace().next().unwrap_or("").to_owned();
                        let _ = tx.send(url);
                    }
                    output.lock().unwrap().push(line);
                }
            });
        }
        match rx.recv_timeout(Duration::from_secs(120)) {
            Ok(url) => Server { url, child, output },
            Err(_) => {
                let _ = child.kill();
                panic!(
                    "the server did not start within 120 s:\n{}",
                    output.lock().unwrap().join("\n")
                );
            }
        }
    }

    /// `url` + `path`.
    pub fn at(&self, path: &str) -> String {
        format!("{}{path}", self.url)
    }

    /// What it printed so far.
    pub fn log(&self) -> String {
        self.output.lock().unwrap().join("\n")
    }
}

/// The server example, built for this test (see [`example`]).
pub fn binary() -> PathBuf {
    example("server")
}

/// An example binary of this test's profile, built first with this test's
/// features. `cargo test --test NAME` builds no examples, and an older binary,
/// or one built with other features, would otherwise be the one tested; when
/// `cargo test` has just built the examples, the build is a no-op.
pub fn example(name: &str) -> PathBuf {
    static BUILT: std::sync::Mutex<Vec<String>> = std::sync::Mutex::new(Vec::new());
    let exe = std::env::current_exe().unwrap();
    let profile = exe.parent().and_then(Path::parent).unwrap();
    let bin = profile
        .join("examples")
        .join(format!("{name}{}", std::env::consts::EXE_SUFFIX));
    let mut built = BUILT
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if built.iter().any(|b| b == name) {
        return bin;
    }
    let mut features = Vec::new();
    for (on, feature) in [
        (cfg!(feature = "sqlite"), "sqlite"),
        (cfg!(feature = "postgres"), "postgres"),
        (cfg!(feature = "testing"), "testing"),
        (cfg!(feature = "json-numbers"), "json-numbers"),
        (cfg!(feature = "schema"), "schema"),
        (cfg!(feature = "tracing"), "tracing"),
    ] {
        if on {
            features.push(feature);
        }
    }
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let mut build = Command::new(cargo);
    build
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args(["build", "--quiet", "--example", name]);
    if !features.is_empty() {
        build.args(["--features", &features.join(",")]);
    }
    if !cfg!(debug_assertions) {
        build.arg("--release");
    }
    let status = build.status().unwrap();
    assert!(
        status.success(),
        "building the {name} example failed: {status}"
    );
    assert!(bin.exists(), "{} is missing after the build", bin.display());
    built.push(name.to_owned());
    bin
}

impl Server {
    /// The seeded customer whose e-mail is `email` (`ada@example.com`, …), as
    /// `GET /customers` gives it.
    pub async fn seeded_customer(&self, email: &str) -> serde_json::Value {
        let customers: serde_json::Value = reqwest::get(self.at("/customers?limit=100"))
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        customers["items"]
            .as_array()
            .expect("GET /customers answers a page")
            .iter()
            .find(|c| c["profile"]["email"] == email)
            .unwrap_or_else(|| panic!("no seeded customer {email} in {customers}"))
            .clone()
    }
}

/// The target directory this test was built in (`target/`, or
/// `CARGO_TARGET_DIR`): the test runs from `<target>/<profile>/deps`.
pub fn target_dir() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    exe.ancestors()
        .nth(3)
        .expect("the test runs from <target>/<profile>/deps")
        .to_path_buf()
}
