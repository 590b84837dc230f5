//! Amendments and exchanges under review: each bug a reviewer found, as the test
//! that showed it, and a property test over random amendments that checks the
//! books beyond the audit.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]
mod common;

use chrono::Duration;
use common::*;
use o2c::catalog::{Product, TaxClass};
use o2c::customer::{PaymentMethod, PaymentTerms};
use o2c::fulfilment::{ShipmentStatus, TrackingEvent};
use o2c::ids::CustomerId;
use o2c::money::Currency;
use o2c::order::{AmendOrder, Channel, LineRequest, Order, OrderStatus, PlaceOrder};
use o2c::purchasing::{BackOrderPolicy, BackOrderQueue};
use o2c::quantity::Quantity;
use o2c::returns::{Condition, ReturnReason, ReturnStatus};
use o2c::store::Store;
use o2c::{ReceiveReturn, RecordPayment, RequestExchange, RequestReturn};
use rust_decimal_macros::dec;

async fn level(w: &World, s: &str, at: &str) -> (i64, i64) {
    let l = w.oms.stock_level(&sku(s), &loc(at)).await.unwrap();
    (l.on_hand, l.reserved)
}

/// Units still wanted (ordered − cancelled) of `s` over every line of `order`.
fn wanted_of(order: &Order, s: &str) -> u32 {
    order
        .lines
        .iter()
        .filter(|l| l.sku == sku(s))
        .map(|l| l.quantity.saturating_sub(l.cancelled).units())
        .sum()
}

async fn deliver_all(w: &World, order: &Order) {
    for s in w
        .oms
        .ship(order.id, o2c::ids::IdempotencyKey::generate())
        .await
        .unwrap()
    {
        w.oms
            .record_tracking(
                s.id,
                TrackingEvent {
                    at: start() + Duration::hours(24),
                    status: ShipmentStatus::Delivered,
                    description: "delivered".into(),
                },
            )
            .await
            .unwrap();
    }
}

// ---------------------------------------------------------------------------
// Amendments touching one line twice, or adding then removing a line.
// ---------------------------------------------------------------------------

/// Grow a line in place then cut it below what it had: the second change must take
/// the units the first only queued to reserve. (Was: an internal "fewer unshipped
/// units than it says" error.)
#[tokio::test]
async fn growing_then_cutting_a_line_in_one_amendment_ends_at_the_last_quantity() {
    let w = on_shipment().await;
    let c = customer(&w, "Acme", PaymentTerms::Net { days: 30 }, None).await;
    let order = w
        .oms
        .place_order(
            PlaceOrder::new(key("o"), c.id, Channel::Web, Currency::USD).line(sku("TEE"), 2),
        )
        .await
        .unwrap();
    let got = w
        .oms
        .amend_order(
            AmendOrder::new(key("a"), order.id)
                .set_quantity(1, 5)
                .set_quantity(1, 1),
        )
        .await;
    let amended = got.expect("grow then cut the same line should leave it at 1 unit");
    assert_eq!(wanted_of(&amended, "TEE"), 1);
    assert_audit_clean(&w.oms).await;
}

/// A line added and removed in the same amendment (changes apply in order).
#[tokio::test]
async fn a_line_added_and_removed_in_one_amendment_leaves_nothing_behind() {
    let w = on_shipment().await;
    let c = customer(&w, "Acme", PaymentTerms::Net { days: 30 }, None).await;
    let order = w
        .oms
        .place_order(
            PlaceOrder::new(key("o"), c.id, Channel::Web, Currency::USD).line(sku("TEE"), 2),
        )
        .await
        .unwrap();
    let got = w
        .oms
        .amend_order(
            AmendOrder::new(key("a"), order.id)
                .add_line(sku("MUG"), 2)
                .remove_line(2),
        )
        .await;
    let amended = got.expect("add then remove should net to nothing on MUG");
    assert_eq!(wanted_of(&amended, "MUG"), 0);
    assert_eq!(level(&w, "MUG", EAST).await, (5, 0));
    assert_audit_clean(&w.oms).await;
}

/// "Sets the units a line is for": once a line is invoiced, growing it adds a line
/// grown from it, which later sets count. (Was: setting it to 3 twice — a form
/// submitted twice with new keys, or twice in one amendment — ordered 4.)
#[tokio::test]
async fn setting_an_invoiced_line_twice_sets_it_once() {
    let w = world().await; // invoiced on order
    let c = customer(&w, "Acme", PaymentTerms::Net { days: 30 }, None).await;
    let order = w
        .oms
        .place_order(
            PlaceOrder::new(key("o"), c.id, Channel::Web, Currency::USD).line(sku("TEE"), 2),
        )
        .await
        .unwrap();
    let amended = w
        .oms
        .amend_order(
            AmendOrder::new(key("a"), order.id)
                .set_quantity(1, 3)
                .set_quantity(1, 3),
        )
        .await
        .unwrap();
    assert_audit_clean(&w.oms).await;
    assert_eq!(
        wanted_of(&amended, "TEE"),
        3,
        "line 1 set to 3 (twice) but the order now wants {} TEE",
        wanted_of(&amended, "TEE")
    );
}

/// Same, across two amendments: set line 1 to 3, then to 2 — the customer gets 2.
/// (Was: 3, one cut from line 1 and the grown line untouched.)
#[tokio::test]
async fn setting_a_grown_line_counts_the_units_it_grew_by() {
    let w = world().await;
    let c = customer(&w, "Acme", PaymentTerms::Net { days: 30 }, None).await;
    let order = w
        .oms
        .place_order(
            PlaceOrder::new(key("o"), c.id, Channel::Web, Currency::USD).line(sku("TEE"), 2),
        )
        .await
        .unwrap();
    w.oms
        .amend_order(AmendOrder::new(key("a"), order.id).set_quantity(1, 3))
        .await
        .unwrap();
    let amended = w
        .oms
        .amend_order(AmendOrder::new(key("b"), order.id).set_quantity(1, 2))
        .await
        .unwrap();
    assert_audit_clean(&w.oms).await;
    // Line 1 went 2 → 3 → 2: the customer wants 2 TEE.
    assert_eq!(wanted_of(&amended, "TEE"), 2);
}

// ---------------------------------------------------------------------------
// Cancelling the rest of an amended, partly shipped order.
// ---------------------------------------------------------------------------

/// BOOK 10 invoiced on order, 8 shipped, 2 back-ordered. An amendment cuts one
/// back-ordered unit (credited). Cancelling the rest credits the one unit still
/// wanted and unshipped. (Was: `invoiced − shipped` = 2, ignoring the unit the
/// amendment had already cancelled and credited, so a shipped unit was credited.)
#[tokio::test]
async fn cancelling_the_rest_after_an_amendment_credits_no_shipped_unit() {
    let w = world().await;
    let c = customer(&w, "Acme", PaymentTerms::Net { days: 30 }, None).await;
    let order = ten_books(&w, "o", c.id).await;
    w.oms
        .ship(order.id, o2c::ids::IdempotencyKey::generate())
        .await
        .unwrap();
    let amended = w
        .oms
        .amend_order(AmendOrder::new(key("a"), order.id).set_quantity(1, 9))
        .await
        .unwrap();
    // One BOOK = 15.99 + 5 % = 16.79 credited.
    assert_eq!(amended.credit_total(), usd(dec!(16.79)));
    assert_audit_clean(&w.oms).await;

    let cancelled = w
        .oms
        .cancel_order(order.id, "no more", o2c::ids::IdempotencyKey::generate())
        .await
        .unwrap();
    assert_audit_clean(&w.oms).await;
    let invoice = w.oms.invoice(cancelled.invoices[0]).await.unwrap();
    // 8 BOOK shipped and kept: 8 still billed, 2 credited (one by the amendment,
    // one by the cancellation).
    assert_eq!(
        invoice.lines[0].credited,
        Quantity::new(2),
        "credited {} of 10 units though 8 shipped",
        invoice.lines[0].credited
    );
    assert_eq!(cancelled.credit_total(), usd(dec!(33.58)));
}

// ---------------------------------------------------------------------------
// Exchanges.
// ---------------------------------------------------------------------------

/// A product of which exactly `units` are in stock at WH-EAST.
async fn scarce(w: &World, code: &str, units: i64) {
    let mut p = Product::new(
        sku(code),
        code.to_lowercase(),
        usd(dec!(30.00)),
        usd(dec!(10.00)),
        TaxClass::standard(),
    );
    p.weight_grams = 300;
    w.oms.save_product(p).await.unwrap();
    w.oms
        .receive_stock(
            o2c::ReceiveStock::new(key(&format!("in-{code}")), sku(code), loc(EAST), units)
                .with_reference("stock".into()),
        )
        .await
        .unwrap();
}

async fn delivered_one(w: &World, who: CustomerId, s: &str) -> Order {
    let order = w
        .oms
        .place_order(PlaceOrder::new(key("o"), who, Channel::Web, Currency::USD).line(sku(s), 1))
        .await
        .unwrap();
    let invoice = w.oms.invoice(order.invoices[0]).await.unwrap();
    w.oms
        .record_payment(RecordPayment::new(
            key("pay"),
            invoice.id,
            invoice.total().unwrap(),
            PaymentMethod::Card,
        ))
        .await
        .unwrap();
    deliver_all(w, &order).await;
    w.oms.order(order.id).await.unwrap()
}

fn like_for_like(k: &str, order: &Order, s: &str) -> RequestExchange {
    RequestReturn::new(key(k), order.id)
        .with_lines(vec![(1, Quantity::new(1), ReturnReason::WrongItem)])
        .exchange()
        .with_replacement(vec![LineRequest::new(sku(s), 1)])
}

/// The last receipt restocks the returned unit and places the replacement on
/// stock as this commit leaves it, so the replacement takes that unit. (Was: read
/// from the store before the restock, back-ordered beside a free unit that nothing
/// would give to the queue.)
#[tokio::test]
async fn a_replacement_takes_the_unit_its_return_restocked() {
    let w = world().await;
    scarce(&w, "CAP", 1).await;
    let c = customer(&w, "Ada", PaymentTerms::Prepaid, None).await;
    let order = delivered_one(&w, c.id, "CAP").await;
    assert_eq!(level(&w, "CAP", EAST).await, (0, 0));

    let rma = w
        .oms
        .request_exchange(like_for_like("x", &order, "CAP"))
        .await
        .unwrap();
    w.oms
        .authorise_return(rma.id, o2c::ids::IdempotencyKey::generate())
        .await
        .unwrap();
    let rma = w
        .oms
        .receive_return(ReceiveReturn::new(key("in"), rma.id).with_lines(vec![(
            1,
            Quantity::new(1),
            Condition::Resellable {
                location: loc(EAST),
            },
        )]))
        .await
        .unwrap();
    assert_eq!(rma.status, ReturnStatus::Received);
    let replacement = w.oms.order(rma.replacement_order.unwrap()).await.unwrap();
    assert_audit_clean(&w.oms).await;
    let (on_hand, reserved) = level(&w, "CAP", EAST).await;
    let queue = w
        .oms
        .store()
        .load::<BackOrderQueue>(&sku("CAP"))
        .await
        .unwrap()
        .map(|q| q.value.waiting.len())
        .unwrap_or(0);
    assert!(
        replacement.lines[0].backordered.is_zero(),
        "replacement back-ordered ({} waiting) while CAP at EAST is on hand {on_hand}, reserved {reserved}",
        queue
    );
    assert!(replacement.is_ready_to_ship());
}

/// A replacement SKU deactivated between the request and the receipt must not
/// stop the goods being booked in: the receipt stands, the credit stays with the
/// customer, and `ExchangeNotPlaced` says why. (Was: the receipt failed.)
#[tokio::test]
async fn a_withdrawn_replacement_never_blocks_the_receipt_of_the_goods() {
    let w = world().await;
    let c = customer(&w, "Ada", PaymentTerms::Prepaid, None).await;
    let order = delivered_one(&w, c.id, "TEE").await;
    let rma = w
        .oms
        .request_exchange(like_for_like("x", &order, "MUG"))
        .await
        .unwrap();
    w.oms
        .authorise_return(rma.id, o2c::ids::IdempotencyKey::generate())
        .await
        .unwrap();
    let mut mug = w.oms.product(&sku("MUG")).await.unwrap();
    mug.active = false;
    w.oms.save_product(mug).await.unwrap();
    let got = w
        .oms
        .receive_return(ReceiveReturn::new(key("in"), rma.id).with_lines(vec![(
            1,
            Quantity::new(1),
            Condition::Damaged,
        )]))
        .await;
    let rma = got.expect("the goods came back and must be received");
    assert_eq!(rma.status, ReturnStatus::Received);
    assert!(rma.replacement_order.is_none());
    // TEE 20.00 + 10 % paid by card comes back as credit.
    let history = w.oms.customer(c.id).await.unwrap().history;
    assert_eq!(history.credit, usd(dec!(22.00)));
    let events = w.oms.events_after(0, usize::MAX).await.unwrap();
    assert!(events.iter().any(|e| matches!(
        &e.event,
        o2c::event::Event::ExchangeNotPlaced { rma: r, reason, .. }
            if *r == rma.id && reason.contains("MUG")
    )));
    assert_audit_clean(&w.oms).await;
}

/// A Net customer near their credit limit exchanges a paid item: the replacement
/// is paid in full from the return's credit in the same commit, so it is not held
/// for `CreditLimit`. (Was: exposure judged before the credit paid it, a hold only
/// a person could release.)
#[tokio::test]
async fn a_replacement_paid_in_full_from_credit_is_not_held_for_credit_limit() {
    let w = world().await;
    let c = customer(
        &w,
        "Acme",
        PaymentTerms::Net { days: 30 },
        Some(usd(dec!(100.00))),
    )
    .await;
    let order = delivered_one(&w, c.id, "TEE").await; // 22.00, paid
    // Another order, unpaid, brings the balance to 88.00 (4 × 22.00).
    w.oms
        .place_order(
            PlaceOrder::new(key("other"), c.id, Channel::Web, Currency::USD).line(sku("TEE"), 4),
        )
        .await
        .unwrap();
    let rma = w
        .oms
        .request_exchange(like_for_like("x", &order, "TEE"))
        .await
        .unwrap();
    w.oms
        .authorise_return(rma.id, o2c::ids::IdempotencyKey::generate())
        .await
        .unwrap();
    let rma = w
        .oms
        .receive_return(ReceiveReturn::new(key("in"), rma.id).with_lines(vec![(
            1,
            Quantity::new(1),
            Condition::Damaged,
        )]))
        .await
        .unwrap();
    let replacement = w.oms.order(rma.replacement_order.unwrap()).await.unwrap();
    assert_audit_clean(&w.oms).await;
    assert_eq!(replacement.paid, usd(dec!(22.00)));
    assert_eq!(
        replacement.status,
        OrderStatus::Open,
        "fully paid replacement held: {:?}",
        replacement.holds
    );
}

/// Units an amendment frees go to this very order's own waiting line,
/// on the one copy of the order the amendment puts.
#[tokio::test]
async fn units_freed_by_an_amendment_fill_the_same_orders_back_order() {
    let w = world().await;
    scarce(&w, "CAP", 3).await;
    let c = customer(&w, "Acme", PaymentTerms::Net { days: 30 }, None).await;
    let order = w
        .oms
        .place_order(
            PlaceOrder::new(key("o"), c.id, Channel::B2b, Currency::USD)
                .line(sku("CAP"), 2)
                .line(sku("CAP"), 3)
                .back_order(BackOrderPolicy::BackOrder),
        )
        .await
        .unwrap();
    assert_eq!(order.backordered_units(), 2);
    let amended = w
        .oms
        .amend_order(AmendOrder::new(key("a"), order.id).remove_line(1))
        .await
        .unwrap();
    assert_eq!(amended.lines[1].open(), Quantity::new(3));
    assert!(amended.lines[1].backordered.is_zero());
    assert!(amended.is_ready_to_ship());
    assert_eq!(level(&w, "CAP", EAST).await, (3, 3));
    assert_audit_clean(&w.oms).await;
    w.oms
        .ship(order.id, o2c::ids::IdempotencyKey::generate())
        .await
        .unwrap();
    assert_audit_clean(&w.oms).await;
}

// ---------------------------------------------------------------------------
// Random amendments, shipments, payments, receipts and cancellations.
// ---------------------------------------------------------------------------

mod random {
    use super::*;
    use o2c::Error;
    use o2c::customer::Customer;
    use o2c::ledger::{CreditNote, Invoice, InvoiceStatus};
    use o2c::money::Money;
    use o2c::order::{Amendment, Discount};
    use o2c::stock::Location;
    use proptest::prelude::*;

    const SKUS: [&str; 3] = ["TEE", "MUG", "BOOK"];
    const POLICIES: [BackOrderPolicy; 3] = [
        BackOrderPolicy::Reject,
        BackOrderPolicy::BackOrder,
        BackOrderPolicy::ShipAvailable,
    ];

    #[derive(Debug, Clone)]
    pub enum Change {
        Set(usize, i64),
        Add(usize, i64),
        Remove(usize),
    }

    #[derive(Debug, Clone)]
    pub enum Op {
        Place(Vec<(usize, i64)>, usize, Option<u32>),
        Amend(usize, Vec<Change>),
        Ship(usize),
        Deliver(usize),
        Pay(usize),
        Cancel(usize),
        Receive(usize, i64),
    }

    fn change() -> impl Strategy<Value = Change> {
        prop_oneof![
            (0usize..4, 0i64..9).prop_map(|(l, q)| Change::Set(l, q)),
            (0usize..3, 1i64..5).prop_map(|(s, q)| Change::Add(s, q)),
            (0usize..4).prop_map(Change::Remove),
        ]
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            2 => (
                proptest::collection::vec((0usize..3, 1i64..9), 1..3),
                0usize..3,
                proptest::option::of(1u32..500)
            )
                .prop_map(|(l, p, d)| Op::Place(l, p, d)),
            4 => (0usize..4, proptest::collection::vec(change(), 1..3))
                .prop_map(|(o, c)| Op::Amend(o, c)),
            2 => (0usize..4).prop_map(Op::Ship),
            1 => (0usize..4).prop_map(Op::Deliver),
            2 => (0usize..4).prop_map(Op::Pay),
            1 => (0usize..4).prop_map(Op::Cancel),
            1 => (0usize..3, 1i64..6).prop_map(|(s, q)| Op::Receive(s, q)),
        ]
    }

    /// Extra invariants the audit does not check.
    async fn check(w: &World, customer: &Customer) -> Result<(), String> {
        let report = w.oms.audit().await.unwrap();
        if !report.is_clean() {
            return Err(format!("audit: {:?}", report.violations));
        }
        let s = w.oms.store();
        let orders: Vec<Order> = s
            .list::<Order>()
            .await
            .unwrap()
            .into_iter()
            .map(|v| v.value)
            .collect();
        let invoices: Vec<Invoice> = s
            .list::<Invoice>()
            .await
            .unwrap()
            .into_iter()
            .map(|v| v.value)
            .collect();
        let notes: Vec<CreditNote> = s
            .list::<CreditNote>()
            .await
            .unwrap()
            .into_iter()
            .map(|v| v.value)
            .collect();
        let zero = Money::zero(Currency::USD);
        let mut lifetime = zero;
        for o in &orders {
            let mine: Vec<&Invoice> = invoices
                .iter()
                .filter(|i| i.order == o.id && i.status != InvoiceStatus::Void)
                .collect();
            let invoiced = mine
                .iter()
                .fold(zero, |s, i| s.checked_add(i.total().unwrap()).unwrap());
            if invoiced != o.invoiced {
                return Err(format!(
                    "order {} invoiced {} but its invoices total {invoiced}",
                    o.id, o.invoiced
                ));
            }
            let credited = notes
                .iter()
                .filter(|n| n.order == o.id)
                .fold(zero, |s, n| s.checked_add(n.total().unwrap()).unwrap());
            if credited != o.credit_total() {
                return Err(format!(
                    "order {} credited {} but notes total {credited}",
                    o.id,
                    o.credit_total()
                ));
            }
            // Every unit still wanted and invoiced is still billed, none more.
            for l in &o.lines {
                let still: u32 = mine
                    .iter()
                    .flat_map(|i| i.lines.iter())
                    .filter(|il| il.line_no == l.line_no)
                    .map(|il| il.quantity.saturating_sub(il.credited).units())
                    .sum();
                let wanted = l.quantity.saturating_sub(l.cancelled);
                let expect = l.invoiced.min(wanted).units();
                if o.status != OrderStatus::Cancelled && still != expect {
                    return Err(format!(
                        "order {} line {}: still billed {still}, expected min(invoiced {}, wanted {wanted}) = {expect}",
                        o.id, l.line_no, l.invoiced
                    ));
                }
            }
            let mut contribution = o.invoiced.checked_sub(o.credit_total()).unwrap();
            if o.status != OrderStatus::Cancelled {
                contribution = contribution
                    .checked_add(o.unbilled_value().unwrap())
                    .unwrap();
            }
            lifetime = lifetime.checked_add(contribution).unwrap();
        }
        let c = w.oms.customer(customer.id).await.unwrap();
        if c.history.lifetime_value != lifetime {
            return Err(format!(
                "lifetime value {} but orders add up to {lifetime}",
                c.history.lifetime_value
            ));
        }
        // No free unit at a fulfilling location while an unpinned line waits for it.
        let locations: Vec<Location> = s
            .list::<Location>()
            .await
            .unwrap()
            .into_iter()
            .map(|v| v.value)
            .collect();
        for q in s.list::<BackOrderQueue>().await.unwrap() {
            if !q.value.waiting.iter().any(|wt| wt.location.is_none()) {
                continue;
            }
            for l in locations.iter().filter(|l| l.fulfils_orders) {
                let level = w.oms.stock_level(&q.value.sku, &l.id).await.unwrap();
                if level.available() > 0 {
                    return Err(format!(
                        "{} waits in the queue while {} are free at {}",
                        q.value.sku,
                        level.available(),
                        l.id
                    ));
                }
            }
        }
        Ok(())
    }

    pub async fn run(ops: Vec<Op>, prepaid: bool, on_shipment: bool) -> Result<(), String> {
        let w = if on_shipment {
            on_shipment_world().await
        } else {
            world().await
        };
        let terms = if prepaid {
            PaymentTerms::Prepaid
        } else {
            PaymentTerms::Net { days: 30 }
        };
        let c = customer(&w, "Acme", terms, None).await;
        let mut orders: Vec<o2c::ids::OrderId> = Vec::new();
        for (i, op) in ops.into_iter().enumerate() {
            let k = |s: &str| key(&format!("{s}-{i}"));
            let pick = |n: usize| orders.get(n % orders.len().max(1)).copied();
            let result: Result<(), Error> = match &op {
                Op::Place(lines, policy, discount) => {
                    let mut cmd = PlaceOrder::new(k("p"), c.id, Channel::Web, Currency::USD)
                        .back_order(POLICIES[*policy]);
                    for (s, q) in lines {
                        cmd = cmd.line(sku(SKUS[*s]), *q);
                    }
                    if let Some(d) = discount {
                        cmd = cmd.discount(Discount::Amount(Money::from_minor(
                            i64::from(*d),
                            Currency::USD,
                        )));
                    }
                    cmd = cmd.shipping(usd(dec!(4.99)));
                    w.oms.place_order(cmd).await.map(|o| orders.push(o.id))
                }
                Op::Amend(n, changes) => match pick(*n) {
                    None => Ok(()),
                    Some(id) => {
                        let order = w.oms.order(id).await.unwrap();
                        let mut cmd = AmendOrder::new(k("a"), id);
                        for ch in changes {
                            let line_no = |l: usize| order.lines[l % order.lines.len()].line_no;
                            cmd.changes.push(match ch {
                                Change::Set(l, q) => Amendment::SetQuantity {
                                    line_no: line_no(*l),
                                    quantity: *q,
                                },
                                Change::Add(s, q) => {
                                    Amendment::AddLine(LineRequest::new(sku(SKUS[*s]), *q))
                                }
                                Change::Remove(l) => Amendment::RemoveLine {
                                    line_no: line_no(*l),
                                },
                            });
                        }
                        w.oms.amend_order(cmd).await.map(|_| ())
                    }
                },
                Op::Ship(n) => match pick(*n) {
                    None => Ok(()),
                    Some(id) => w
                        .oms
                        .ship(id, o2c::ids::IdempotencyKey::generate())
                        .await
                        .map(|_| ()),
                },
                Op::Deliver(n) => match pick(*n) {
                    None => Ok(()),
                    Some(id) => {
                        let order = w.oms.order(id).await.unwrap();
                        let mut r = Ok(());
                        for s in &order.shipments {
                            r = w
                                .oms
                                .record_tracking(
                                    *s,
                                    TrackingEvent {
                                        at: start() + Duration::hours(24),
                                        status: ShipmentStatus::Delivered,
                                        description: "delivered".into(),
                                    },
                                )
                                .await
                                .map(|_| ());
                        }
                        r
                    }
                },
                Op::Pay(n) => match pick(*n) {
                    None => Ok(()),
                    Some(id) => {
                        let order = w.oms.order(id).await.unwrap();
                        let mut r = Ok(());
                        for (j, inv) in order.invoices.iter().enumerate() {
                            let inv = w.oms.invoice(*inv).await.unwrap();
                            let owed = inv.outstanding().unwrap();
                            if owed.is_positive() && inv.status != InvoiceStatus::Void {
                                r = w
                                    .oms
                                    .record_payment(RecordPayment::new(
                                        key(&format!("pay-{i}-{j}")),
                                        inv.id,
                                        owed,
                                        PaymentMethod::Card,
                                    ))
                                    .await
                                    .map(|_| ());
                            }
                        }
                        r
                    }
                },
                Op::Cancel(n) => match pick(*n) {
                    None => Ok(()),
                    Some(id) => w
                        .oms
                        .cancel_order(id, "random", o2c::ids::IdempotencyKey::generate())
                        .await
                        .map(|_| ()),
                },
                Op::Receive(s, q) => w
                    .oms
                    .receive_stock(
                        o2c::ReceiveStock::new(k("r"), sku(SKUS[*s]), loc(WEST), *q)
                            .with_reference("more".into()),
                    )
                    .await
                    .map(|_| ()),
            };
            if let Err(Error::Invalid { reason, .. }) = &result {
                return Err(format!("step {i} {op:?}: internal error {reason}"));
            }
            check(&w, &c)
                .await
                .map_err(|e| format!("after step {i} {op:?} ({result:?}): {e}"))?;
        }
        Ok(())
    }

    async fn on_shipment_world() -> World {
        super::on_shipment().await
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]
        #[test]
        fn random_amendments_keep_the_books(
            ops in proptest::collection::vec(op(), 1..24),
            prepaid in any::<bool>(),
            on_shipment in any::<bool>(),
        ) {
            let r = pollster::block_on(run(ops, prepaid, on_shipment));
            prop_assert!(r.is_ok(), "{}", r.unwrap_err());
        }
    }
}

/// BOOK 10 waits for 2; adding 30 MUG (25 in stock) leaves the BOOK line waiting
/// for 2. (Was: 4, with 2 in its queue, so a ship-complete order waited forever;
/// `reserve_added` added earlier back-orders back on lines not short now. Found by
/// the random test.)
#[tokio::test]
async fn a_new_short_line_leaves_the_back_order_of_lines_already_waiting_alone() {
    let w = world().await;
    let c = customer(&w, "Acme", PaymentTerms::Net { days: 30 }, None).await;
    let order = w
        .oms
        .place_order(
            PlaceOrder::new(key("o"), c.id, Channel::B2b, Currency::USD)
                .line(sku("BOOK"), 10)
                .back_order(BackOrderPolicy::BackOrder),
        )
        .await
        .unwrap();
    assert_eq!(order.lines[0].backordered, Quantity::new(2));
    let amended = w
        .oms
        .amend_order(AmendOrder::new(key("a"), order.id).add_line(sku("MUG"), 30))
        .await
        .unwrap();
    assert_eq!(amended.lines[1].backordered, Quantity::new(5));
    assert_eq!(
        amended.lines[0].backordered,
        Quantity::new(2),
        "BOOK line untouched by the amendment now waits for {}",
        amended.lines[0].backordered
    );
    assert_audit_clean(&w.oms).await;
}

/// Cutting a line grown onto a second invoice credits both invoices in one commit:
/// two credit notes, numbered one after the other. (Was: "counter/credit_note is
/// put twice", found by the amendments property test.)
#[tokio::test]
async fn two_credit_notes_in_one_commit_are_numbered_in_turn() {
    let w = world().await;
    let c = customer(&w, "Acme", PaymentTerms::Prepaid, None).await;
    let order = w
        .oms
        .place_order(
            PlaceOrder::new(key("o"), c.id, Channel::Web, Currency::USD)
                .line(sku("TEE"), 2)
                .line(sku("MUG"), 1),
        )
        .await
        .unwrap();
    let grown = w
        .oms
        .amend_order(AmendOrder::new(key("grow"), order.id).set_quantity(1, 4))
        .await
        .unwrap();
    assert_eq!(grown.invoices.len(), 2);
    let cut = w
        .oms
        .amend_order(AmendOrder::new(key("cut"), order.id).set_quantity(1, 0))
        .await
        .unwrap();
    assert_eq!(wanted_of(&cut, "TEE"), 0);
    let notes = w
        .oms
        .store()
        .list::<o2c::ledger::CreditNote>()
        .await
        .unwrap();
    let mut numbers: Vec<u64> = notes.iter().map(|n| n.value.number.value()).collect();
    numbers.sort_unstable();
    assert_eq!(numbers, vec![1, 2]);
    assert_audit_clean(&w.oms).await;
}
