//! The own fleet booked from four processes at once, eight bookers each, on one
//! run of five pallets: on an SQLite file and on a PostgreSQL tenant, exactly
//! five bookings go through, each acknowledged one is kept, and the run reads
//! five of five.
//!
//! The test binary re-invokes itself as the booking processes: a run with
//! `O2C_FLEET_TARGET` set acts as one instead of a test.
#![cfg(all(feature = "testing", any(feature = "sqlite", feature = "postgres")))]
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
use std::sync::{Arc, Barrier};

use chrono::{TimeZone, Utc};
use o2c::clock::ManualClock;
use o2c::fulfilment::{Carrier, CarrierError, FleetCarrier, FreightService};
use o2c::store::{Bounds, Store};
use o2c::testing::fleet::{RUN_PALLETS, booking, daily_fleet, one_pallet};

const PROCESSES: usize = 4;
const BOOKERS: usize = 8;

/// The fleet carrier every process uses, its clock at the same instant.
fn fleet<S: Store>(store: S) -> FleetCarrier<S> {
    let now = Utc.with_ymd_and_hms(2026, 12, 7, 9, 0, 0).unwrap();
    FleetCarrier::new(
        "own-fleet",
        daily_fleet("fleet_processes").unwrap(),
        store,
        Arc::new(ManualClock::new(now)),
    )
}

/// Says READY, waits for a line on stdin, then books one pallet from each of
/// eight threads at once, printing each booking it got.
fn book_from_threads<S: Store>(store: &S, tag: &str) {
    let carrier = fleet(store);
    let quote = pollster::block_on(carrier.quote(&one_pallet()))
        .unwrap()
        .remove(0);
    println!("READY");
    let mut go = String::new();
    std::io::stdin().read_line(&mut go).unwrap();
    let start = Barrier::new(BOOKERS);
    std::thread::scope(|s| {
        for n in 0..BOOKERS {
            let (carrier, quote, start) = (&carrier, &quote, &start);
            s.spawn(move || {
                start.wait();
                match pollster::block_on(carrier.book(&booking(format!("{tag}-{n}"), quote))) {
                    Ok(booked) => {
                        let mut out = std::io::stdout().lock();
                        writeln!(out, "BOOKED {}", booked.tracking).unwrap();
                        out.flush().unwrap();
                    }
                    Err(CarrierError::NoService { .. }) => {}
                    Err(e) => panic!("{tag} booker {n}: unexpected error {e}"),
                }
            });
        }
    });
}

/// Runs as a booking process when the test binary is re-invoked with
/// `O2C_FLEET_TARGET` (`sqlite:PATH` or `postgres:TENANT`).
#[test]
fn booking_process() {
    let Ok(target) = std::env::var("O2C_FLEET_TARGET") else {
        return; // an ordinary test run: nothing to do
    };
    let tag = std::env::var("O2C_FLEET_TAG").unwrap();
    match target.split_once(':') {
        #[cfg(feature = "sqlite")]
        Some(("sqlite", path)) => {
            let store = o2c::store::sqlite::SqliteStore::open(path, Default::default()).unwrap();
            book_from_threads(&store, &tag);
        }
        #[cfg(feature = "postgres")]
        Some(("postgres", tenant)) => {
            use o2c::store::postgres::{PostgresOptions, PostgresStore};
            let options = PostgresOptions::default().with_tenant(tenant.to_owned());
            let store =
                pollster::block_on(PostgresStore::connect(&common::postgres::url(), options))
                    .unwrap();
            book_from_threads(&store, &tag);
        }
        _ => panic!("unknown target {target}"),
    }
}

/// Starts the four processes on `target`, lets them go at once, and returns
/// the tracking numbers they were given.
fn book_from_processes(target: &str) -> Vec<String> {
    let mut children: Vec<Child> = (0..PROCESSES)
        .map(|p| {
            Command::new(std::env::current_exe().unwrap())
                .args([
                    "booking_process",
                    "--exact",
                    "--nocapture",
                    "--test-threads=1",
                ])
                .env("O2C_FLEET_TARGET", target)
                .env("O2C_FLEET_TAG", format!("p{p}"))
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .stderr(Stdio::inherit())
                .spawn()
                .unwrap()
        })
        .collect();
    let mut outputs = Vec::new();
    for child in &mut children {
        let mut out = BufReader::new(child.stdout.take().unwrap());
        let mut line = String::new();
        loop {
            line.clear();
            assert!(
                out.read_line(&mut line).unwrap() > 0,
                "a process ended early"
            );
            if line.contains("READY") {
                break;
            }
        }
        outputs.push(out);
    }
    for child in &mut children {
        writeln!(child.stdin.as_mut().unwrap(), "go").unwrap();
    }
    let mut booked = Vec::new();
    for (child, out) in children.iter_mut().zip(outputs) {
        for line in out.lines() {
            let line = line.unwrap();
            // libtest may print "test booking_process ... " on the same line first.
            if let Some((_, tracking)) = line.split_once("BOOKED ") {
                booked.push(tracking.trim().to_owned());
            }
        }
        assert!(child.wait().unwrap().success(), "a process failed");
    }
    booked
}

/// Exactly a run's worth of bookings, each once, and the run full.
fn assert_exactly_full<S: Store>(store: &S, booked: &[String]) {
    assert_eq!(
        booked.len(),
        RUN_PALLETS as usize,
        "{} of {} one-pallet bookings from {PROCESSES} processes went through: {booked:?}",
        booked.len(),
        PROCESSES * BOOKERS
    );
    assert_eq!(booked.iter().collect::<HashSet<_>>().len(), booked.len());
    let carrier = fleet(store);
    let quote = pollster::block_on(carrier.quote(&one_pallet()));
    // The first run is full: quotes offer a later one.
    let first = booked[0].split('/').nth(2).unwrap();
    assert!(
        quote.unwrap().iter().all(|q| !q.service.contains(first)),
        "a full run is still offered"
    );
    let run = FreightService::parse(&format!(
        "ltl/{}",
        booked[0]
            .splitn(5, '/')
            .skip(1)
            .take(3)
            .collect::<Vec<_>>()
            .join("/")
    ))
    .unwrap()
    .run;
    let load = pollster::block_on(carrier.booked(&run)).unwrap();
    let full = i64::from(RUN_PALLETS);
    assert_eq!(
        load.pallets,
        Bounds {
            limit: full,
            used: full
        }
    );
    // Half a tonne a pallet.
    assert_eq!(load.kg.used, 500 * full);
}

#[cfg(feature = "sqlite")]
#[test]
fn four_processes_never_overbook_a_run_on_sqlite() {
    let path = std::env::temp_dir().join(format!("o2c-fleet-{}.sqlite", std::process::id()));
    let _ = std::fs::remove_file(&path);
    // Made (and its schema written) before the processes open it.
    let store = o2c::store::sqlite::SqliteStore::open(&path, Default::default()).unwrap();
    let booked = book_from_processes(&format!("sqlite:{}", path.display()));
    assert_exactly_full(&store, &booked);
    drop(store);
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
    }
}

#[cfg(feature = "postgres")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn four_processes_never_overbook_a_run_on_postgres() {
    let store = common::postgres::connect("fleet_processes").await;
    let tenant = store.tenant_name().to_string();
    let target = format!("postgres:{tenant}");
    let booked = tokio::task::spawn_blocking(move || book_from_processes(&target))
        .await
        .unwrap();
    let checked = store.clone();
    tokio::task::spawn_blocking(move || assert_exactly_full(&checked, &booked))
        .await
        .unwrap();
    store.drop_tenant(&tenant).await.unwrap();
}
