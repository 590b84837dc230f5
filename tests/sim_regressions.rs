//! Minimal reproductions of library bugs the deterministic simulation
//! (`tests/simulation.rs`) found, kept as regression tests: a `ship` that failed and
//! cancelled its bookings must never see them again, a lost race inside a
//! `retrying!` block that used `?` must still be retried, an amendment that
//! back-orders must leave the order's other back-orders as they were, one commit
//! may raise two credit notes, and an amendment that lost a race to a back-order
//! fill must be retried.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]
mod common;
// Only `furnish` is used here.
#[allow(dead_code)]
#[path = "simulation/world.rs"]
mod world;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use common::*;
use o2c::RequestReturn;
use o2c::clock::{ManualClock, SeededIds};
use o2c::fulfilment::{
    Booking, BookingRequest, Carrier, CarrierError, RateQuote, RateRequest, TrackingEvent,
    TrackingNumber,
};
use o2c::fulfilment::{ShipmentStatus, TrackingEvent as Scan};
use o2c::money::Currency;
use o2c::order::{Channel, PlaceOrder};
use o2c::quantity::Quantity;
use o2c::returns::ReturnReason;
use o2c::store::{
    Changeset, Committed, Entity, MemoryStore, ReadResult, Store, StoreError, StoreResult,
    Versioned,
};
use o2c::{Error, Oms};

/// The test world's carriers, except that the first booking from WH-WEST times out,
/// and every cancellation is remembered.
struct FlakyWestCarrier {
    inner: Carriers,
    west_failed_once: Mutex<bool>,
    cancelled: Mutex<Vec<TrackingNumber>>,
}

impl Carrier for FlakyWestCarrier {
    fn name(&self) -> &str {
        self.inner.name()
    }
    async fn quote(&self, request: &RateRequest) -> Result<Vec<RateQuote>, CarrierError> {
        self.inner.quote(request).await
    }
    async fn book(&self, request: &BookingRequest) -> Result<Booking, CarrierError> {
        if request.key.contains(WEST)
            && !std::mem::replace(&mut *self.west_failed_once.lock().unwrap(), true)
        {
            return Err(CarrierError::Timeout {
                carrier: "Parcelly".into(),
            });
        }
        self.inner.book(request).await
    }
    async fn track(&self, tracking: &TrackingNumber) -> Result<Vec<TrackingEvent>, CarrierError> {
        self.inner.track(tracking).await
    }
    async fn cancel(&self, tracking: &TrackingNumber) -> Result<(), CarrierError> {
        self.cancelled.lock().unwrap().push(tracking.clone());
        self.inner.cancel(tracking).await
    }
}

/// Simulation seed 0 of `simulation_on_the_memory_store` first showed it; this is
/// the shortest path.
///
/// An order split over two warehouses ships: the first pick is booked, the second
/// booking times out, so `ship` fails and cancels the first booking at the carrier
/// (`cancel_uncommitted`). Shipping again books with the same key
/// (`{order}/{location}/{shipment count}`), the carrier answers with the booking it
/// just cancelled, and the shipment is committed on a voided label: goods leave
/// stock that no carrier will collect.
#[test]
fn a_retried_ship_never_reuses_a_booking_it_cancelled() {
    pollster::block_on(async {
        let oms = Oms::new(
            MemoryStore::new(),
            FlakyWestCarrier {
                inner: (parcel_carrier(), o2c::fulfilment::PickupCarrier::new()),
                west_failed_once: Mutex::new(false),
                cancelled: Mutex::new(Vec::new()),
            },
        )
        .with_clock(Arc::new(ManualClock::new(start())))
        .with_ids(Arc::new(SeededIds::new(1)));
        let cast = world::furnish(&oms, 4).await;
        // Customer 3 is on terms without a credit limit: nothing holds the order.
        let buyer = cast.customers[3];
        // 15 TEE: 10 from WH-EAST and 5 from WH-WEST.
        let order = oms
            .place_order(
                PlaceOrder::new(key("split"), buyer, Channel::Phone, Currency::USD)
                    .line(sku("TEE"), 15),
            )
            .await
            .unwrap();

        let first = oms
            .ship(order.id, o2c::ids::IdempotencyKey::generate())
            .await;
        assert!(
            matches!(first, Err(Error::Carrier(CarrierError::Timeout { .. }))),
            "{first:?}"
        );
        let cancelled = oms.carrier().cancelled.lock().unwrap().clone();
        assert_eq!(cancelled.len(), 1, "the EAST booking was voided");

        let shipments = oms
            .ship(order.id, o2c::ids::IdempotencyKey::generate())
            .await
            .unwrap();
        for s in &shipments {
            assert!(
                !cancelled.contains(&s.tracking),
                "shipment {} from {} was committed on booking {}, which ship cancelled",
                s.id,
                s.location,
                s.tracking
            );
        }
    });
}

// ---------------------------------------------------------------------------
// Lost races escape the retry loop of block-bodied `retrying!` commands
// ---------------------------------------------------------------------------

/// The memory store, meddled with: once armed, its next commit loses a race (fails
/// with `Conflict` and applies nothing, as when another writer got there first);
/// given a stale order, its next load or fetch of that order returns that instead (as when
/// the read happened just before another writer's commit and the reads after it
/// see that commit).
struct Meddling {
    inner: MemoryStore,
    armed: AtomicBool,
    stale: Mutex<Option<Versioned<o2c::order::Order>>>,
}

impl Meddling {
    fn new() -> Self {
        Meddling {
            inner: MemoryStore::new(),
            armed: AtomicBool::new(false),
            stale: Mutex::new(None),
        }
    }

    fn arm(&self) {
        self.armed.store(true, Ordering::SeqCst);
    }
}

impl o2c::store::StoreWrapper for Meddling {
    type Inner = MemoryStore;

    fn inner(&self) -> &MemoryStore {
        &self.inner
    }

    async fn commit(&self, changes: Changeset) -> StoreResult<Committed> {
        if self.armed.swap(false, Ordering::SeqCst) {
            return Err(StoreError::Conflict {
                key: o2c::store::RecordKey::Counter("another writer".into()),
                expected: Some(1),
                actual: Some(2),
            });
        }
        self.inner.commit(changes).await
    }

    async fn load<E: Entity>(&self, key: &E::Key) -> ReadResult<Option<Versioned<E>>> {
        if E::kind() == o2c::order::Order::kind() {
            let stale = self.stale.lock().unwrap().take();
            if let Some(stale) = stale {
                let any: Box<dyn std::any::Any> = Box::new(stale);
                if let Ok(order) = any.downcast::<Versioned<E>>() {
                    return Ok(Some(*order));
                }
            }
        }
        self.inner.load::<E>(key).await
    }

    async fn fetch(&self, request: &o2c::store::Prefetch) -> ReadResult<o2c::store::Fetched> {
        let mut fetched = self.inner.fetch(request).await?;
        let mut stale = self.stale.lock().unwrap();
        let asked = stale
            .as_ref()
            .map(|s| o2c::store::RecordKey::Order(s.value.id))
            .is_some_and(|key| request.records.contains(&key));
        if let (true, Some(order)) = (asked, stale.take()) {
            let key = o2c::store::RecordKey::Order(order.value.id);
            fetched.records.retain(|(_, record)| record.key() != key);
            fetched.records.push((
                order.version,
                std::sync::Arc::new(o2c::store::Record::Order(order.value)),
            ));
        }
        Ok(fetched)
    }
}

/// The simulation's world on a meddling store.
async fn racy_world() -> (Oms<Meddling, Carriers>, world::Cast) {
    let oms = Oms::new(
        Meddling::new(),
        (parcel_carrier(), o2c::fulfilment::PickupCarrier::new()),
    )
    .with_clock(Arc::new(ManualClock::new(start())))
    .with_ids(Arc::new(SeededIds::new(2)));
    let cast = world::furnish(&oms, 4).await;
    (oms, cast)
}

/// First seen in the simulation (seed 0; the step moves as the library changes): a
/// return authorised twice at once; the loser's commit conflicted and
/// `authorise_return` returned `Error::Store(Conflict)` instead of re-reading (and
/// then refusing: already
/// authorised).
///
/// `authorise_return`, `reject_return`/`close_return` (`end_return`) and
/// `approve`/`cancel`/`close_purchase_order` (`move_purchase_order`) pass a block
/// to `retrying!` that ends in `self.store.commit(changes).await?`. Inside the
/// macro's loop, `?` returns from the whole command, so a lost race never reaches
/// the retry: the caller gets a raw conflict after one attempt.
#[test]
fn authorising_a_return_retries_a_lost_race() {
    pollster::block_on(async {
        let (oms, cast) = racy_world().await;
        let order = oms
            .place_order(
                PlaceOrder::new(key("gift"), cast.customers[3], Channel::Web, Currency::USD)
                    .line(sku("MUG"), 1),
            )
            .await
            .unwrap();
        let shipment = oms
            .ship(order.id, o2c::ids::IdempotencyKey::generate())
            .await
            .unwrap()
            .remove(0);
        let delivered = Scan {
            at: start(),
            status: ShipmentStatus::Delivered,
            description: "left at door".into(),
        };
        oms.record_tracking(shipment.id, delivered).await.unwrap();
        let rma = oms
            .request_return(RequestReturn::new(key("rma"), order.id).with_lines(vec![(
                1,
                Quantity::new(1),
                ReturnReason::NoLongerWanted,
            )]))
            .await
            .unwrap();

        oms.store().arm();
        let authorised = oms
            .authorise_return(rma.id, o2c::ids::IdempotencyKey::generate())
            .await;
        assert!(
            authorised.is_ok(),
            "one lost race must be retried, got {authorised:?}"
        );
    });
}

/// The same escape in `move_purchase_order`, where every purchasing command also
/// bumps one shared counter, so any two purchasing commands at once race.
#[test]
fn approving_a_purchase_order_retries_a_lost_race() {
    pollster::block_on(async {
        let (oms, cast) = racy_world().await;
        let po = oms
            .raise_purchase_order(
                cast.supplier,
                &loc(EAST),
                &[(sku("TEE"), Quantity::new(4))],
                o2c::ids::IdempotencyKey::generate(),
            )
            .await
            .unwrap();
        oms.store().arm();
        let approved = oms
            .approve_purchase_order(po.id, o2c::ids::IdempotencyKey::generate())
            .await;
        assert!(
            approved.is_ok(),
            "one lost race must be retried, got {approved:?}"
        );
    });
}

// ---------------------------------------------------------------------------
// An amendment that back-orders doubles the other lines' back-orders
// ---------------------------------------------------------------------------

/// First seen in the simulation (seed 0, once customers amend orders): an order
/// with a back-ordered line is amended with a line that is itself short.
///
/// `reserve_added` (src/oms/amend/stock.rs) remembers every line's back-ordered units,
/// lets `queue_shortfalls` set the lines with a new shortfall to that shortfall,
/// then adds the remembered units back to *every* line: a line that was already
/// waiting and got no new shortfall ends up waiting for twice its units, more
/// than its queue holds, and its quantities no longer add up.
#[test]
fn amending_a_short_line_leaves_other_back_orders_alone() {
    pollster::block_on(async {
        let oms = Oms::new(
            MemoryStore::new(),
            (parcel_carrier(), o2c::fulfilment::PickupCarrier::new()),
        )
        .with_clock(Arc::new(ManualClock::new(start())))
        .with_ids(Arc::new(SeededIds::new(3)));
        let cast = world::furnish(&oms, 4).await;
        // 7 HOT, 6 in stock: 6 reserved, 1 back-ordered.
        let order = oms
            .place_order(
                PlaceOrder::new(key("hot"), cast.customers[3], Channel::Web, Currency::USD)
                    .line(sku("HOT"), 7)
                    .back_order(o2c::purchasing::BackOrderPolicy::BackOrder),
            )
            .await
            .unwrap();
        assert_eq!(order.lines[0].backordered.units(), 1);

        // 9 BOOK, 8 in stock: the new line is short by 1 as well.
        let amended = oms
            .amend_order(
                o2c::order::AmendOrder::new(key("more"), order.id).add_line(sku("BOOK"), 9),
            )
            .await
            .unwrap();
        let hot = &amended.lines[0];
        assert_eq!(amended.lines[1].backordered.units(), 1);
        assert_eq!(
            hot.backordered.units(),
            1,
            "the HOT line waits for 1 unit, as before the amendment: {hot:?}"
        );
        assert!(hot.quantities_add_up(), "{hot:?}");
        let audit = oms.audit().await.unwrap();
        assert!(audit.is_clean(), "{:?}", audit.violations);
    });
}

// ---------------------------------------------------------------------------
// Two credit notes in one commit draw the same number
// ---------------------------------------------------------------------------

/// First seen in the simulation (seed 8, once customers amend orders): an order
/// invoiced when placed, amended (one unit cut, credited; two added, invoiced on
/// a second invoice), then cancelled: the cancellation credits both invoices in
/// one commit.
///
/// `credit_order_lines` (src/oms/remainder.rs) raises one credit note per invoice
/// through `credit_invoice`, and each asks `next_number` (src/oms/credit.rs) for a
/// number: it reads the counter from the store, not from the changeset being
/// built, so both notes get the same number and the counter is put twice. The
/// store refuses the commit (`Store(Invalid { "counter/credit_note is put twice" })`)
/// and the order cannot be cancelled at all.
#[test]
fn cancelling_an_order_with_two_invoices_credits_both() {
    pollster::block_on(async {
        let oms = Oms::new(
            MemoryStore::new(),
            (parcel_carrier(), o2c::fulfilment::PickupCarrier::new()),
        )
        .with_clock(Arc::new(ManualClock::new(start())))
        .with_ids(Arc::new(SeededIds::new(4)));
        let cast = world::furnish(&oms, 4).await;
        // Customer 3 is on terms, without a credit limit.
        let order = oms
            .place_order(
                PlaceOrder::new(key("two"), cast.customers[3], Channel::B2b, Currency::USD)
                    .line(sku("MUG"), 2),
            )
            .await
            .unwrap();
        let amended = oms
            .amend_order(
                o2c::order::AmendOrder::new(key("more"), order.id)
                    .set_quantity(1, 1)
                    .add_line(sku("MUG"), 2),
            )
            .await
            .unwrap();
        // The cut is credited on the order's invoice (the first credit note); the
        // units added are invoiced on a second invoice.
        assert_eq!(amended.invoices.len(), 2);

        let cancelled = oms
            .cancel_order(
                order.id,
                "changed my mind",
                o2c::ids::IdempotencyKey::generate(),
            )
            .await;
        assert!(cancelled.is_ok(), "{cancelled:?}");
        let audit = oms.audit().await.unwrap();
        assert!(audit.is_clean(), "{:?}", audit.violations);
    });
}

// ---------------------------------------------------------------------------
// An amendment that reads its order before a back-order fill, and the queue after
// ---------------------------------------------------------------------------

/// First seen in the simulation (seed 10, once customers amend orders): a
/// customer removes a line that is partly back-ordered while stock arrives and
/// fills that back-order. The amendment read the order before the fill (1 unit
/// back-ordered, 2 reserved) and the back-order queue after it (the order's entry
/// gone).
///
/// `take_units` (src/oms/amend/stock.rs) shortens the queue by the line's back-ordered
/// units, gets none, and finds the reservations of its stale copy short: it fails
/// with `Error::Invalid { "line 1 has fewer unshipped units than it says" }` — not
/// a lost race, so the command is not retried and the caller gets an error that
/// says the data is corrupt. Had it reached its commit, the order's version would
/// have conflicted and the retry would have seen the fill.
#[test]
fn an_amendment_racing_a_back_order_fill_is_retried() {
    pollster::block_on(async {
        let (oms, cast) = racy_world().await;
        // 6 of the 8 BOOK go to someone else; ours gets 2 and waits for 1.
        oms.place_order(
            PlaceOrder::new(key("first"), cast.customers[3], Channel::Web, Currency::USD)
                .line(sku("BOOK"), 6),
        )
        .await
        .unwrap();
        let order = oms
            .place_order(
                PlaceOrder::new(key("ours"), cast.customers[3], Channel::Web, Currency::USD)
                    .line(sku("BOOK"), 3)
                    .line(sku("TEE"), 1),
            )
            .await
            .unwrap();
        assert_eq!(order.lines[0].backordered.units(), 1);
        let before_fill = oms
            .store()
            .inner
            .load::<o2c::order::Order>(&order.id)
            .await
            .unwrap();

        // One BOOK arrives: the back-order is filled.
        oms.receive_stock(
            o2c::ReceiveStock::new(key("grn"), sku("BOOK"), loc(WEST), 1)
                .with_reference("grn".into()),
        )
        .await
        .unwrap();

        // The amendment's first read of the order comes from before the fill.
        *oms.store().stale.lock().unwrap() = before_fill;
        let amended = oms
            .amend_order(o2c::order::AmendOrder::new(key("less"), order.id).remove_line(1))
            .await;
        let amended = amended.unwrap_or_else(|e| panic!("a lost race must be retried, got {e:?}"));
        let book = &amended.lines[0];
        assert_eq!(book.quantity.saturating_sub(book.cancelled).units(), 0);
        assert!(book.quantities_add_up(), "{book:?}");
        let audit = oms.audit().await.unwrap();
        assert!(audit.is_clean(), "{:?}", audit.violations);
    });
}

/// Simulation seed 810 of a 2,000-seed run: a purchase-order receipt read an order
/// (for a fill of one SKU) before an amendment added a back-ordered line of
/// another SKU, then read that SKU's queue after it, and the fill named a line the
/// order it held did not have: `Error::Invalid { "order … has no line 4" }`
/// instead of retrying the lost race. Here a plain receipt reads the order from
/// before the amendment.
#[test]
fn a_fill_racing_an_amendment_that_added_the_line_is_retried() {
    pollster::block_on(async {
        let (oms, cast) = racy_world().await;
        // Every BOOK goes to someone else.
        oms.place_order(
            PlaceOrder::new(key("first"), cast.customers[3], Channel::Web, Currency::USD)
                .line(sku("BOOK"), 8),
        )
        .await
        .unwrap();
        let order = oms
            .place_order(
                PlaceOrder::new(key("ours"), cast.customers[3], Channel::Web, Currency::USD)
                    .line(sku("TEE"), 1)
                    .back_order(o2c::purchasing::BackOrderPolicy::BackOrder),
            )
            .await
            .unwrap();
        let before_amendment = oms
            .store()
            .inner
            .load::<o2c::order::Order>(&order.id)
            .await
            .unwrap();
        let amended = oms
            .amend_order(
                o2c::order::AmendOrder::new(key("more"), order.id).add_line(sku("BOOK"), 2),
            )
            .await
            .unwrap();
        assert_eq!(amended.lines[1].backordered.units(), 2);

        // The receipt's read of the order comes from before the amendment.
        *oms.store().stale.lock().unwrap() = before_amendment;
        oms.receive_stock(
            o2c::ReceiveStock::new(key("grn"), sku("BOOK"), loc(WEST), 2)
                .with_reference("grn".into()),
        )
        .await
        .unwrap_or_else(|e| panic!("a lost race must be retried, got {e:?}"));
        let filled = oms.order(order.id).await.unwrap();
        assert_eq!(filled.lines[1].backordered.units(), 0);
        let audit = oms.audit().await.unwrap();
        assert!(audit.is_clean(), "{:?}", audit.violations);
    });
}
