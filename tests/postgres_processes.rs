//! Several processes on one PostgreSQL database: four processes of eight tasks
//! each selling one SKU never oversell it, and a commit made in one process wakes
//! a waiter in another.
//!
//! The test binary re-invokes itself as the other processes: a run with
//! `O2C_PG_ROLE` set acts as that process instead of a test.
#![cfg(feature = "postgres")]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod common;

use std::collections::HashSet;
use std::io::{BufRead, BufReader, Write};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use o2c::event::Event;
use o2c::fulfilment::PickupCarrier;
use o2c::ids::{CustomerId, OrderId};
use o2c::stock::StockError;
use o2c::store::Store;
use o2c::store::postgres::{PostgresOptions, PostgresStore};
use o2c::{Error, Oms};

use common::postgres::{connect, desk, hot, order, shop, url};

type Shop = Oms<PostgresStore, PickupCarrier>;

const STOCK: i64 = 100;
const PROCESSES: usize = 4;
const TASKS: usize = 8;

/// Opens `tenant` (which exists) in this process: its own pool and listener.
async fn open(tenant: &str) -> Shop {
    let options = PostgresOptions::default().with_tenant(tenant.to_owned());
    Oms::new(
        PostgresStore::connect(&url(), options).await.unwrap(),
        PickupCarrier::new(),
    )
}

fn spawn(role: &str, tenant: &str, tag: &str, customers: &[CustomerId]) -> Child {
    let customers: Vec<String> = customers.iter().map(ToString::to_string).collect();
    Command::new(std::env::current_exe().unwrap())
        .args([
            "other_process",
            "--exact",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("O2C_PG_ROLE", role)
        .env("O2C_PG_TENANT", tenant)
        .env("O2C_PG_TAG", tag)
        .env("O2C_PG_CUSTOMERS", customers.join(","))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap()
}

/// Runs as another process when the test binary is re-invoked with `O2C_PG_ROLE`:
/// `seller` waits for a line on stdin, then runs eight tasks placing one-unit
/// orders until the stock runs out, printing each acknowledged one; `placer`
/// places one order.
#[test]
fn other_process() {
    let Ok(role) = std::env::var("O2C_PG_ROLE") else {
        return; // an ordinary test run: nothing to do
    };
    let tenant = std::env::var("O2C_PG_TENANT").unwrap();
    let tag = std::env::var("O2C_PG_TAG").unwrap();
    let customers: Vec<CustomerId> = std::env::var("O2C_PG_CUSTOMERS")
        .unwrap()
        .split(',')
        .map(|c| c.parse().unwrap())
        .collect();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let oms = std::sync::Arc::new(open(&tenant).await);
        match role.as_str() {
            "placer" => {
                let placed = oms
                    .place_order(order(&format!("{tag}-0"), customers[0], 1))
                    .await
                    .unwrap();
                println!("COMMITTED {}", placed.id);
            }
            "seller" => {
                println!("READY");
                let mut go = String::new();
                std::io::stdin().read_line(&mut go).unwrap();
                let mut tasks = Vec::new();
                for task in 0..TASKS {
                    let (oms, customer, tag) =
                        (oms.clone(), customers[task % customers.len()], tag.clone());
                    tasks.push(tokio::spawn(async move {
                        sell(&oms, customer, &tag, task).await
                    }));
                }
                for task in tasks {
                    task.await.unwrap();
                }
            }
            other => panic!("unknown role {other}"),
        }
    });
}

/// Places one-unit orders until three in a row are refused for want of stock.
async fn sell(oms: &Shop, customer: CustomerId, tag: &str, task: usize) {
    let mut refused = 0;
    for n in 0.. {
        match oms
            .place_order(order(&format!("{tag}-{task}-{n}"), customer, 1))
            .await
        {
            Ok(placed) => {
                refused = 0;
                let mut out = std::io::stdout().lock();
                writeln!(out, "COMMITTED {}", placed.id).unwrap();
                out.flush().unwrap();
            }
            Err(Error::Stock(StockError::Insufficient { .. })) => {
                refused += 1;
                if refused >= 3 {
                    return;
                }
            }
            Err(e) => panic!("{tag} task {task}: unexpected error {e}"),
        }
    }
}

/// The orders a process acknowledged, read until it ends.
fn acknowledged(child: &mut Child) -> Vec<OrderId> {
    let stdout = child.stdout.take().unwrap();
    let mut orders = Vec::new();
    for line in BufReader::new(stdout).lines() {
        let line = line.unwrap();
        // libtest may print "test other_process ... " on the same line first.
        if let Some((_, id)) = line.split_once("COMMITTED ") {
            orders.push(id.trim().parse().unwrap());
        }
    }
    assert!(child.wait().unwrap().success(), "a process failed");
    orders
}

/// Reads lines from a child until it says READY.
fn wait_ready(child: &mut Child) -> BufReader<std::process::ChildStdout> {
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    loop {
        line.clear();
        assert!(
            out.read_line(&mut line).unwrap() > 0,
            "a process ended early"
        );
        if line.contains("READY") {
            return out;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn four_processes_of_eight_tasks_sell_exactly_the_stock() {
    let store = connect("four_processes").await;
    let tenant = store.tenant_name().to_string();
    let oms: Shop = Oms::new(store.clone(), PickupCarrier::new());
    let customers = shop(&oms, STOCK, PROCESSES * TASKS).await;
    let mut children: Vec<Child> = (0..PROCESSES)
        .map(|p| {
            let mine = &customers[p * TASKS..(p + 1) * TASKS];
            spawn("seller", &tenant, &format!("p{p}"), mine)
        })
        .collect();
    // Every process connected and waiting: then all start at once.
    let outputs: Vec<_> = children.iter_mut().map(wait_ready).collect();
    for child in &mut children {
        writeln!(child.stdin.as_mut().unwrap(), "go").unwrap();
    }
    let sold: Vec<Vec<OrderId>> = std::thread::scope(|s| {
        let readers: Vec<_> = children
            .iter_mut()
            .zip(outputs)
            .map(|(child, out)| {
                s.spawn(move || {
                    let ids: Vec<OrderId> = out
                        .lines()
                        .map(Result::unwrap)
                        .filter_map(|l| {
                            l.split_once("COMMITTED ")
                                .map(|(_, id)| id.trim().parse().unwrap())
                        })
                        .collect();
                    assert!(child.wait().unwrap().success(), "a seller failed");
                    ids
                })
            })
            .collect();
        readers.into_iter().map(|r| r.join().unwrap()).collect()
    });
    let all: Vec<OrderId> = sold.iter().flatten().copied().collect();
    assert_eq!(
        all.len() as i64,
        STOCK,
        "exactly the stock was sold: {:?}",
        sold.iter().map(Vec::len).collect::<Vec<_>>()
    );
    assert_eq!(all.iter().collect::<HashSet<_>>().len(), all.len());
    assert!(
        sold.iter().filter(|ids| !ids.is_empty()).count() > 1,
        "only one process sold"
    );
    for id in &all {
        let placed = oms
            .order(*id)
            .await
            .unwrap_or_else(|e| panic!("acknowledged order {id} is missing: {e}"));
        assert_eq!(placed.lines[0].quantity.units(), 1);
    }
    let level = store.stock_levels(&hot()).await.unwrap();
    let level = level.iter().find(|l| l.location == desk()).unwrap();
    assert_eq!((level.on_hand, level.reserved), (STOCK, STOCK));
    let report = oms.audit().await.unwrap();
    assert!(report.is_clean(), "{:?}", report.violations);
    store.drop_tenant(&tenant).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_commit_in_another_process_wakes_a_waiter() {
    let store = connect("other_process_wakes").await;
    let tenant = store.tenant_name().to_string();
    let oms: Shop = Oms::new(store.clone(), PickupCarrier::new());
    let customers = shop(&oms, 5, 1).await;
    let cursor = store.last_event_sequence().await.unwrap();
    let signal = store.commit_signal().unwrap();
    // The listener wakes everyone once when it starts listening: let it.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let seen = signal.commits();

    let mut placer = spawn("placer", &tenant, "other", &customers);
    // Far longer than the event poll: a wake-up that came by polling would not
    // come through the signal.
    tokio::time::timeout(Duration::from_secs(20), signal.after(seen))
        .await
        .expect("a commit in another process never woke this one");
    let events = oms
        .wait_for_events(cursor, 100, Duration::from_secs(10))
        .await
        .unwrap();
    let placed = acknowledged(&mut placer);
    assert_eq!(placed.len(), 1);
    assert!(
        events
            .iter()
            .any(|e| matches!(&e.event, Event::OrderPlaced { order, .. } if *order == placed[0])),
        "{events:?}"
    );
    store.drop_tenant(&tenant).await.unwrap();
}

/// The quickstart on the shared database, twice: the second run continues the
/// first's books (its events follow on, the audit stays clean). Runs the example
/// binary `cargo test` built beside this one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_quickstart_runs_twice_on_one_tenant() {
    let exe = std::env::current_exe().unwrap();
    let quickstart = exe
        .parent()
        .and_then(|deps| deps.parent())
        .map(|profile| profile.join("examples").join("quickstart"))
        .unwrap();
    assert!(
        quickstart.exists(),
        "{} is missing: run the tests with `cargo test --all-features`, which builds the examples",
        quickstart.display()
    );
    let tenant = common::postgres::tenant_name("quickstart");
    let store = connect("quickstart_base").await;
    let _ = store.drop_tenant(&tenant).await;
    let mut events = Vec::new();
    for run in 1..=2 {
        let out = Command::new(&quickstart)
            .args(["--postgres", &url(), "--tenant", &tenant])
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        assert!(
            out.status.success(),
            "run {run}: {text}{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            text.contains("stock is conserved (audit clean): true"),
            "run {run}: {text}"
        );
        let logged: u64 = text
            .lines()
            .find_map(|l| l.trim().strip_suffix(" events in the log; the last five:"))
            .and_then(|n| n.trim().parse().ok())
            .unwrap_or_else(|| panic!("run {run} printed no event count: {text}"));
        events.push(logged);
    }
    assert!(
        events[1] > events[0],
        "the second run did not continue: {events:?}"
    );
    let shop = store.tenant(&tenant).await.unwrap();
    assert_eq!(shop.last_event_sequence().await.unwrap(), events[1]);
    store.drop_tenant(&tenant).await.unwrap();
    store
        .drop_tenant(store.tenant_name().as_str())
        .await
        .unwrap();
}
