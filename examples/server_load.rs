//! A bounded load on the demo server (`examples/server`) over real HTTP on
//! loopback: a fixed number of card checkouts from concurrent clients, racing
//! for fewer units than they ask for. It reports throughput and latency, then
//! checks that exactly the units in stock were sold (none oversold, none lost)
//! and that the audit is clean.
//!
//! ```text
//! cargo build --release --examples
//! target/release/examples/server_load [--checkouts 4000] [--clients 16]
//!     [--url http://127.0.0.1:8080 | --sqlite PATH | --postgres URL] [--json]
//! ```
//!
//! Without `--url` it starts the server binary beside itself on a free port
//! (with `--sqlite`/`--postgres` passed on) and stops it at the end.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

type Result<T> = std::result::Result<T, Box<dyn std::error::Error + Send + Sync>>;

/// The server this run started, stopped when the run ends.
struct Started(Child);

impl Drop for Started {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn flag(args: &[String], name: &str) -> Option<String> {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .cloned()
}

/// Starts the server example beside this binary; its URL once it listens.
fn start_server(args: &[String]) -> Result<(Started, String)> {
    let exe = std::env::current_exe()?;
    let dir = exe.parent().ok_or("no directory")?;
    let server = dir.join(format!("server{}", std::env::consts::EXE_SUFFIX));
    let mut command = Command::new(&server);
    command.args(["--addr", "127.0.0.1:0"]);
    for store in ["--sqlite", "--postgres", "--tenant"] {
        if let Some(value) = flag(args, store) {
            command.args([store, &value]);
        }
    }
    let mut child = command
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .map_err(|e| {
            format!(
                "starting {}: {e} (cargo build --examples first)",
                server.display()
            )
        })?;
    let stdout = child.stdout.take().ok_or("no stdout")?;
    let started = Started(child);
    let mut lines = BufReader::new(stdout).lines();
    for line in lines.by_ref() {
        let line = line?;
        if let Some(rest) = line.split("listening on ").nth(1) {
            let url = rest
                .split_whitespace()
                .next()
                .unwrap_or_default()
                .to_owned();
            // Keep draining its output so it never blocks on a full pipe.
            std::thread::spawn(move || lines.for_each(drop));
            return Ok((started, url));
        }
    }
    Err("the server stopped before it listened".into())
}

/// The value at `q` of sorted `sorted` (nearest rank).
fn quantile(sorted: &[Duration], q: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted.get(rank - 1).copied().unwrap_or_default()
}

#[tokio::main]
async fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let checkouts: usize = flag(&args, "--checkouts").map_or(Ok(4000), |v| v.parse())?;
    let clients: usize = flag(&args, "--clients").map_or(Ok(16), |v| v.parse())?;
    let as_json = args.iter().any(|a| a == "--json");
    let (_server, url) = match flag(&args, "--url") {
        Some(url) => (None, url),
        None => {
            let (started, url) = start_server(&args)?;
            (Some(started), url)
        }
    };
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(clients)
        .build()?;

    // A SKU of this run's own, stocked with three units for every four asked
    // for: a quarter of the checkouts must be refused, and none oversold.
    let run = std::process::id();
    let stamp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() % 1_000_000);
    let sku = format!("LOAD-{run}-{stamp}");
    let stocked = checkouts * 3 / 4;
    let put = http
        .put(format!("{url}/products/{sku}"))
        .header("idempotency-key", format!("load-product-{sku}"))
        .json(&json!({
            "name": "Load-test tee", "price": {"amount": "20.00", "currency": "USD"},
            "cost": {"amount": "8.00", "currency": "USD"}, "tax_class": "standard"
        }))
        .send()
        .await?;
    if !put.status().is_success() {
        return Err(format!("saving the product: {} {}", put.status(), put.text().await?).into());
    }
    let receipt = http
        .post(format!("{url}/stock/receipts"))
        .header("idempotency-key", format!("load-stock-{sku}"))
        .json(&json!({"sku": sku, "location": "WH-EAST", "quantity": stocked, "reference": "load test"}))
        .send()
        .await?;
    if !receipt.status().is_success() {
        return Err(format!(
            "receiving stock: {} {}",
            receipt.status(),
            receipt.text().await?
        )
        .into());
    }
    // Card customers of the demo shop: each checkout authorises a card.
    let customers: Value = http
        .get(format!("{url}/customers?limit=100"))
        .send()
        .await?
        .json()
        .await?;
    let buyers: Vec<String> = customers
        .get("items")
        .and_then(Value::as_array)
        .map(|items| {
            items
                .iter()
                .filter(|c| {
                    c.pointer("/profile/payment_method")
                        .is_some_and(|m| m == "card")
                })
                .filter_map(|c| c.get("id")?.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    if buyers.is_empty() {
        return Err("the shop has no card customers".into());
    }
    let buyers = Arc::new(buyers);

    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..clients {
        let (http, url, sku, next, buyers) = (
            http.clone(),
            url.clone(),
            sku.clone(),
            next.clone(),
            buyers.clone(),
        );
        tasks.push(tokio::spawn(async move {
            let mut placed = Vec::new();
            let mut refused = 0usize;
            let mut failed = Vec::new();
            loop {
                let n = next.fetch_add(1, Ordering::Relaxed);
                if n >= checkouts {
                    break;
                }
                let buyer = buyers.get(n % buyers.len()).cloned().unwrap_or_default();
                let sent = Instant::now();
                let answer = http
                    .post(format!("{url}/orders"))
                    .header("idempotency-key", format!("load-{sku}-{n}"))
                    .json(&json!({
                        "customer": buyer, "channel": "web", "currency": "USD",
                        "lines": [{"sku": sku, "quantity": 1}]
                    }))
                    .send()
                    .await;
                match answer {
                    Ok(r) if r.status().as_u16() == 201 => placed.push(sent.elapsed()),
                    Ok(r) if r.status().as_u16() == 409 => {
                        let body: Value = r.json().await.unwrap_or_default();
                        if body.get("code").is_some_and(|c| c == "stock.insufficient") {
                            refused += 1;
                        } else {
                            failed.push(format!("409 {body}"));
                        }
                    }
                    Ok(r) => failed.push(format!(
                        "{} {}",
                        r.status(),
                        r.text().await.unwrap_or_default()
                    )),
                    Err(e) => failed.push(e.to_string()),
                }
            }
            (placed, refused, failed)
        }));
    }
    let mut latencies = Vec::new();
    let (mut refused, mut failed) = (0usize, Vec::new());
    for task in tasks {
        let (p, r, f) = task.await?;
        latencies.extend(p);
        refused += r;
        failed.extend(f);
    }
    let wall = started.elapsed();
    latencies.sort();

    // Stock exact: every unit stocked went to exactly one accepted checkout.
    let levels: Value = http
        .get(format!("{url}/stock/{sku}"))
        .send()
        .await?
        .json()
        .await?;
    let reserved: i64 = levels
        .as_array()
        .map(|l| l.iter().filter_map(|s| s.get("reserved")?.as_i64()).sum())
        .unwrap_or(-1);
    let available: i64 = levels
        .as_array()
        .map(|l| l.iter().filter_map(|s| s.get("available")?.as_i64()).sum())
        .unwrap_or(-1);
    let audit: Value = http
        .get(format!("{url}/audit"))
        .send()
        .await?
        .json()
        .await?;
    let violations = audit
        .get("violations")
        .and_then(Value::as_array)
        .map_or(usize::MAX, Vec::len);

    let accepted = latencies.len();
    let tps = checkouts as f64 / wall.as_secs_f64();
    let (p50, p99) = (quantile(&latencies, 0.50), quantile(&latencies, 0.99));
    let stock_exact =
        accepted == stocked && reserved == i64::try_from(stocked).unwrap_or(-1) && available == 0;
    if as_json {
        println!(
            "{}",
            json!({
                "checkouts": checkouts, "clients": clients, "accepted": accepted,
                "refused": refused, "failed": failed.len(), "seconds": wall.as_secs_f64(),
                "tps": tps, "p50_ms": p50.as_secs_f64() * 1e3, "p99_ms": p99.as_secs_f64() * 1e3,
                "stock_exact": stock_exact, "audit_violations": violations,
            })
        );
    } else {
        println!(
            "{checkouts} checkouts over HTTP from {clients} clients in {:.2} s",
            wall.as_secs_f64()
        );
        println!(
            "  throughput {tps:.0} checkouts/s; accepted p50 {:.1} ms, p99 {:.1} ms",
            p50.as_secs_f64() * 1e3,
            p99.as_secs_f64() * 1e3
        );
        println!(
            "  accepted {accepted}, refused for stock {refused}, failed {}",
            failed.len()
        );
        println!(
            "  stock: {stocked} units stocked, {reserved} reserved, {available} left: {}",
            if stock_exact { "exact" } else { "WRONG" }
        );
        println!(
            "  audit: {}",
            if violations == 0 {
                "clean".to_owned()
            } else {
                format!("{violations} violations")
            }
        );
    }
    for f in failed.iter().take(5) {
        eprintln!("  failed: {f}");
    }
    if !failed.is_empty() || !stock_exact || violations != 0 || accepted + refused != checkouts {
        return Err("the load run found a problem (see above)".into());
    }
    Ok(())
}
