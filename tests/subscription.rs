//! Following the event log without polling it: `Oms::wait_for_events` waits for
//! the next commit and wakes with its events.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
mod common;

use std::sync::Arc;
use std::time::Duration;

use common::*;
use o2c::customer::PaymentTerms;
use o2c::event::Event;
use o2c::store::Store;

/// Long enough that a wait ending early was woken, not timed out.
const PATIENCE: Duration = Duration::from_secs(30);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_waiter_wakes_with_the_events_of_the_next_commit() {
    let w = world().await;
    let c = customer(&w, "Ada", PaymentTerms::Net { days: 30 }, None).await;
    let cursor = w.oms.store().last_event_sequence().await.unwrap();
    let oms = Arc::new(w.oms);
    let waiter = {
        let oms = oms.clone();
        tokio::spawn(async move { oms.wait_for_events(cursor, 100, PATIENCE).await })
    };
    // Let the waiter find nothing and go to sleep first.
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert!(!waiter.is_finished(), "it waited for a commit");
    let order = oms
        .place_order(
            o2c::order::PlaceOrder::new(
                key("o"),
                c.id,
                o2c::order::Channel::Web,
                o2c::money::Currency::USD,
            )
            .line(sku("TEE"), 1),
        )
        .await
        .unwrap();
    let events = waiter.await.unwrap().unwrap();
    assert!(!events.is_empty(), "woken with the commit's events");
    assert_eq!(events[0].sequence, cursor + 1);
    assert!(
        events
            .iter()
            .any(|e| matches!(&e.event, Event::OrderPlaced { order: id, .. } if *id == order.id)),
        "{events:?}"
    );
}

#[tokio::test]
async fn events_already_there_are_returned_at_once_and_a_quiet_log_times_out_empty() {
    let w = world().await;
    let ready = w.oms.wait_for_events(0, 3, PATIENCE).await.unwrap();
    assert_eq!(ready.len(), 3, "the world's setup wrote events");
    let last = w.oms.store().last_event_sequence().await.unwrap();
    let quiet = w
        .oms
        .wait_for_events(last, 10, Duration::from_millis(20))
        .await
        .unwrap();
    assert!(quiet.is_empty());
}

#[cfg(feature = "sqlite")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_commit_by_another_handle_on_the_file_is_found_by_polling() {
    use o2c::Oms;
    use o2c::fulfilment::PickupCarrier;
    use o2c::stock::{Location, LocationKind};
    use o2c::store::sqlite::{SqliteOptions, SqliteStore};

    let path = std::env::temp_dir().join(format!(
        "o2c-test-subscription-{}.sqlite3",
        std::process::id()
    ));
    let remove = |p: &std::path::Path| {
        for suffix in ["", "-wal", "-shm"] {
            let mut name = p.as_os_str().to_owned();
            name.push(suffix);
            let _ = std::fs::remove_file(name);
        }
    };
    remove(&path);
    // Two handles on one file, as two processes would have: the second's
    // commits do not move the first's signal.
    let watching = Arc::new(Oms::new(
        SqliteStore::open(&path, SqliteOptions::default()).unwrap(),
        PickupCarrier::new(),
    ));
    let writing = Oms::new(
        SqliteStore::open(&path, SqliteOptions::default()).unwrap(),
        PickupCarrier::new(),
    );
    let cursor = watching.store().last_event_sequence().await.unwrap();
    let waiter = {
        let oms = watching.clone();
        tokio::spawn(async move { oms.wait_for_events(cursor, 10, PATIENCE).await })
    };
    tokio::time::sleep(Duration::from_millis(50)).await;
    let site = Location::new(
        loc("WH-1"),
        "Reno",
        LocationKind::Warehouse,
        us_address("WH"),
        1,
    );
    writing.save_location(site).await.unwrap();
    let events = waiter.await.unwrap().unwrap();
    assert!(!events.is_empty(), "found by asking again");
    drop((watching, writing));
    remove(&path);
}
