//! The demo server's pages in a real browser: headless Chromium driven through
//! WebDriver (chromedriver), against the server binary as a host runs it.
//!
//! An order placed through the API must reach the open dashboard by itself,
//! through the event stream: its `order_placed` line in the live list and one
//! more order in the pipeline's `placed` stage, within 30 s (the latencies are
//! printed). The self-service page must then find that order by its number and
//! the buyer's e-mail, and the API docs must list the operations. Screenshots of
//! the three pages land in `target/screenshots/`.
//!
//! CI installs Chromium and chromedriver (`.ci/run`): a missing one fails this
//! test with a message saying so, never skips it.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod server_support;

use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};
use futures_util::FutureExt;
use hyper_util::client::legacy::connect::HttpConnector;
use serde_json::{Value, json};

use server_support::Server;

const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
/// How long the page may take to show what the test waits for.
const PATIENCE: Duration = Duration::from_secs(30);
/// The customer the order is placed for (seeded by the server).
const BUYER: &str = "ada@example.com";
const SKU: &str = "TEE-BLUE-M";

/// chromedriver on a free loopback port; killed when dropped.
struct Driver {
    url: String,
    child: Child,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Driver {
    /// Starts chromedriver and waits until it says it is ready.
    async fn start() -> Driver {
        for tool in [CHROMIUM, CHROMEDRIVER] {
            assert!(
                Path::new(tool).exists(),
                "`{tool}` is missing, and this test needs it: \
                 `apt-get install -y chromium chromium-driver` (CI's .ci/run installs them)"
            );
        }
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let child = Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("{CHROMEDRIVER} does not start: {e}"));
        let mut driver = Driver {
            url: format!("http://127.0.0.1:{port}"),
            child,
        };
        let http = reqwest::Client::new();
        let started = Instant::now();
        loop {
            if let Ok(answer) = http.get(format!("{}/status", driver.url)).send().await
                && let Ok(status) = answer.json::<Value>().await
                && status["value"]["ready"] == json!(true)
            {
                return driver;
            }
            if let Ok(Some(exit)) = driver.child.try_wait() {
                panic!("{CHROMEDRIVER} --port={port} exited before it was ready: {exit}");
            }
            assert!(
                started.elapsed() < PATIENCE,
                "{CHROMEDRIVER} did not answer /status within {} s",
                PATIENCE.as_secs()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// A new headless Chromium session.
    async fn browser(&self) -> Client {
        let capabilities = json!({
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": CHROMIUM,
                "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--window-size=1280,900"],
            },
        });
        let Value::Object(capabilities) = capabilities else {
            unreachable!("a JSON object")
        };
        ClientBuilder::new(HttpConnector::new())
            .capabilities(capabilities)
            .connect(&self.url)
            .await
            .unwrap_or_else(|e| panic!("chromedriver could not start {CHROMIUM}: {e}"))
    }
}

/// Saves what the browser shows as `target/screenshots/<name>`.
async fn screenshot(browser: &Client, name: &str) {
    let dir = server_support::target_dir().join("screenshots");
    std::fs::create_dir_all(&dir).unwrap();
    let png = browser.screenshot().await.unwrap();
    let path = dir.join(name);
    std::fs::write(&path, png).unwrap();
    eprintln!("screenshot: {}", path.display());
}

/// Asks `probe` every few milliseconds until it answers, failing after
/// [`PATIENCE`] with `what` it waited for.
async fn until<T>(what: &str, mut probe: impl AsyncFnMut() -> Option<T>) -> T {
    let started = Instant::now();
    loop {
        if let Some(found) = probe().await {
            return found;
        }
        assert!(
            started.elapsed() < PATIENCE,
            "waited {} s for {what}",
            PATIENCE.as_secs()
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// `selector`'s `attribute`, if the element is there.
async fn attr(browser: &Client, selector: &str, attribute: &str) -> Option<String> {
    let element = browser.find(Locator::Css(selector)).await.ok()?;
    element.attr(attribute).await.ok().flatten()
}

/// The orders the pipeline shows at `stage`, if it shows that stage.
async fn orders_at(browser: &Client, stage: &str) -> Option<u64> {
    let text = attr(
        browser,
        &format!("#pipeline [data-stage=\"{stage}\"]"),
        "data-orders",
    )
    .await?;
    Some(text.parse().unwrap_or_else(|_| {
        panic!("the pipeline's {stage} stage says data-orders=\"{text}\", not a number")
    }))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_order_placed_through_the_api_shows_up_in_the_browser() {
    let server = Server::start(&[]);
    let driver = Driver::start().await;
    let browser = driver.browser().await;
    // The session is closed however the test ends: a browser left behind would
    // outlive chromedriver.
    let outcome = std::panic::AssertUnwindSafe(walk_through(&server, &browser))
        .catch_unwind()
        .await;
    let _ = browser.close().await;
    drop(driver);
    if let Err(panic) = outcome {
        eprintln!("the server's output:\n{}", server.log());
        std::panic::resume_unwind(panic);
    }
}

async fn walk_through(server: &Server, browser: &Client) {
    let started = Instant::now();
    let http = reqwest::Client::new();

    // The dashboard, following the event stream.
    browser.goto(&server.at("/")).await.unwrap();
    until(
        "the dashboard's event stream to be live (#live[data-state=open])",
        async || {
            (attr(browser, "#live", "data-state").await.as_deref() == Some("open")).then_some(())
        },
    )
    .await;
    let placed_before = until(
        "the pipeline's placed stage ([data-stage=placed])",
        async || orders_at(browser, "placed").await,
    )
    .await;
    let stages = browser
        .find_all(Locator::Css("#pipeline [data-stage]"))
        .await
        .unwrap();
    for stage in &stages {
        assert!(
            stage.attr("data-orders").await.unwrap().is_some(),
            "a pipeline stage ({:?}) carries no data-orders",
            stage.attr("data-stage").await.unwrap()
        );
    }
    assert_eq!(
        browser
            .find(Locator::Id("events"))
            .await
            .expect("the dashboard has #events")
            .tag_name()
            .await
            .unwrap()
            .to_lowercase(),
        "ul",
        "#events is a list"
    );

    // An order for a seeded customer, through the API.
    let buyer = server.seeded_customer(BUYER).await;
    let answer = http
        .post(server.at("/orders"))
        .header(
            "Idempotency-Key",
            format!("browser-{}", uuid::Uuid::now_v7()),
        )
        .json(&json!({
            "customer": buyer["id"],
            "channel": "web",
            "currency": "USD",
            "lines": [{"sku": SKU, "quantity": 1}],
        }))
        .send()
        .await
        .unwrap();
    let placed_at = Instant::now();
    let status = answer.status();
    let order: Value = answer.json().await.unwrap();
    assert_eq!(status, 201, "POST /orders: {order}");
    let id = order["id"].as_str().expect("the order's id").to_owned();
    let number = format!(
        "SO-{:06}",
        order["number"].as_u64().expect("the order's number")
    );

    // The page sees it by itself, with no reload.
    let event = format!("#events li[data-type=\"order_placed\"][data-order=\"{id}\"]");
    let (mut event_after, mut stage_after) = (None, None);
    until(
        &format!("{event} and one more order in the placed stage"),
        async || {
            if event_after.is_none() && browser.find(Locator::Css(&event)).await.is_ok() {
                event_after = Some(placed_at.elapsed());
            }
            if stage_after.is_none() {
                match orders_at(browser, "placed").await {
                    Some(n) if n == placed_before => {}
                    Some(n) => {
                        assert_eq!(
                            n,
                            placed_before + 1,
                            "the placed stage went from {placed_before} to {n}, not up by one"
                        );
                        stage_after = Some(placed_at.elapsed());
                    }
                    None => {}
                }
            }
            event_after.zip(stage_after)
        },
    )
    .await;
    let (event_after, stage_after) = event_after.zip(stage_after).unwrap();
    eprintln!(
        "dashboard saw the order {number} after {} ms (its order_placed event) and {} ms (the pipeline: placed {placed_before} -> {})",
        event_after.as_millis(),
        stage_after.as_millis(),
        placed_before + 1
    );
    screenshot(browser, "dashboard.png").await;

    // The buyer looks the order up.
    browser
        .goto(&server.at(&format!("/track?order={number}&email={BUYER}")))
        .await
        .unwrap();
    until(&format!("#track-result to show {number}"), async || {
        if let Ok(error) = browser.find(Locator::Id("track-error")).await
            && error.is_displayed().await.unwrap_or(false)
        {
            panic!(
                "the self-service page shows an error: {}",
                error.text().await.unwrap_or_default()
            );
        }
        let result = browser.find(Locator::Id("track-result")).await.ok()?;
        result.text().await.ok()?.contains(&number).then_some(())
    })
    .await;
    screenshot(browser, "track.png").await;

    // The API docs list the operations.
    browser.goto(&server.at("/docs")).await.unwrap();
    let place_order = until("the docs to list placeOrder", async || {
        browser
            .find(Locator::Css(
                "#operations [data-operation-id=\"placeOrder\"]",
            ))
            .await
            .ok()
    })
    .await;
    assert_eq!(
        place_order.attr("data-path").await.unwrap().as_deref(),
        Some("/orders"),
        "placeOrder is POST /orders"
    );
    let listed = browser
        .find_all(Locator::Css("#operations [data-operation-id]"))
        .await
        .unwrap()
        .len();
    assert!(listed > 20, "the docs list only {listed} operations");
    screenshot(browser, "docs.png").await;
    eprintln!(
        "browser walk-through: {listed} operations in the docs, {:.1} s in all",
        started.elapsed().as_secs_f64()
    );
}
