//! Concurrency: many callers on one `Oms` never oversell, overpay or double-place.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]
mod common;

use std::sync::Arc;

use common::*;
use o2c::catalog::{Product, TaxClass};
use o2c::customer::{Customer, PaymentMethod, PaymentTerms};
use o2c::ids::{InvoiceId, OrderId};
use o2c::ledger::{AccountCode, InvoiceStatus, PaymentError};
use o2c::money::{Currency, Money};
use o2c::order::{Channel, OrderError, OrderStatus, PlaceOrder};
use o2c::stock::StockError;
use o2c::store::Store;
use o2c::{Error, ReceiveStock, RecordPayment};
use rust_decimal_macros::dec;

const TASKS: usize = 8;
const ORDERS_PER_TASK: usize = 10;
const HOT_UNITS: i64 = 25;
/// How many times each race is run: a race that goes right once may not the next time.
const ROUNDS: usize = 4;

/// Units the `n`-th order of task `t` asks for: 1 to 3, so demand (≈160) far exceeds
/// supply. The last order of every task asks for one unit and starts only after every
/// task finished its others, which mops up the at most 2 units a 2- or 3-unit order
/// could not take: so exactly all 25 must sell.
fn quantity(t: usize, n: usize) -> i64 {
    if n + 1 == ORDERS_PER_TASK {
        1
    } else {
        i64::try_from(1 + (t * 7 + n * 3) % 3).unwrap()
    }
}

/// A world with a fresh SKU `HOT` stocked with exactly 25 units at EAST, and one
/// customer per task.
async fn hot_world() -> (World, Vec<Customer>) {
    let w = world().await;
    w.oms
        .save_product(Product::new(
            sku("HOT"),
            "flash sale",
            usd(dec!(9.99)),
            usd(dec!(3.00)),
            TaxClass::standard(),
        ))
        .await
        .unwrap();
    w.oms
        .receive_stock(
            ReceiveStock::new(key("hot-in"), sku("HOT"), loc(EAST), HOT_UNITS)
                .with_reference("flash sale stock".into()),
        )
        .await
        .unwrap();
    let mut customers = Vec::new();
    for t in 0..TASKS {
        let terms = if t % 2 == 0 {
            PaymentTerms::Prepaid
        } else {
            PaymentTerms::Net { days: 30 }
        };
        customers.push(customer(&w, &format!("Buyer{t}"), terms, None).await);
    }
    (w, customers)
}

fn hot_order(t: usize, n: usize, c: &Customer) -> PlaceOrder {
    PlaceOrder::new(
        key(&format!("hot-{t}-{n}")),
        c.id,
        Channel::Web,
        Currency::USD,
    )
    .line(sku("HOT"), quantity(t, n))
}

/// What one caller saw: units it got, and every refusal.
#[derive(Debug, Default)]
struct Tally {
    sold: i64,
    orders: Vec<OrderId>,
    refused: Vec<(i64, Error)>,
}

/// Every refusal was `Insufficient` for HOT, asked for what was requested, and saw
/// less available than that; never `Contention`.
fn check_refusals(tallies: &[Tally]) {
    for (q, e) in tallies.iter().flat_map(|t| &t.refused) {
        match e {
            Error::Stock(StockError::Insufficient {
                sku: s,
                requested,
                available,
            }) => {
                assert_eq!(s, &sku("HOT"));
                assert_eq!(*requested, u64::try_from(*q).unwrap());
                assert!(available < requested, "{e:?}");
            }
            Error::Contention { .. } => {
                panic!("BUG: an order for {q} HOT gave up on contention: {e:?}")
            }
            other => panic!("an order for {q} HOT failed with {other:?}"),
        }
    }
}

async fn check_sold_out(w_oms: &TestOms, tallies: &[Tally]) {
    check_refusals(tallies);
    let sold: i64 = tallies.iter().map(|t| t.sold).sum();
    assert_eq!(sold, HOT_UNITS, "every unit sold, none twice");
    let level = w_oms.stock_level(&sku("HOT"), &loc(EAST)).await.unwrap();
    assert_eq!((level.on_hand, level.reserved), (HOT_UNITS, HOT_UNITS));
    // What the orders hold is what the store says is reserved.
    let mut held = 0;
    for id in tallies.iter().flat_map(|t| &t.orders) {
        let order = w_oms.order(*id).await.unwrap();
        held += order.lines.iter().map(|l| l.open().as_i64()).sum::<i64>();
    }
    assert_eq!(held, HOT_UNITS);
    let placed: usize = tallies.iter().map(|t| t.orders.len()).sum();
    let refused: usize = tallies.iter().map(|t| t.refused.len()).sum();
    assert_eq!(placed + refused, TASKS * ORDERS_PER_TASK);
    assert_receivables_match(w_oms).await;
    assert_audit_clean(w_oms).await;
}

/// Σ customer balances = the receivables account.
async fn assert_receivables_match(oms: &TestOms) {
    let customers = oms.store().list::<Customer>().await.unwrap();
    let balances = Money::sum(
        Currency::USD,
        customers.iter().map(|c| c.value.history.balance),
    )
    .unwrap();
    let ar = oms
        .trial_balance()
        .await
        .unwrap()
        .balance(&AccountCode::new("1100"), Currency::USD);
    assert_eq!(balances, ar);
}

fn record(tally: &mut Tally, q: i64, result: Result<o2c::Applied<o2c::order::Order>, Error>) {
    match result {
        Ok(order) => {
            tally.sold += q;
            tally.orders.push(order.id);
        }
        Err(e) => tally.refused.push((q, e)),
    }
}

// ---------------------------------------------------------------------------
// (a) tasks on a multi-threaded runtime
// ---------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 8)]
async fn flash_sale_on_tokio_tasks_never_oversells() {
    for _ in 0..ROUNDS {
        let (w, customers) = hot_world().await;
        let oms = Arc::new(w.oms);
        let barrier = Arc::new(tokio::sync::Barrier::new(TASKS));
        let mut handles = Vec::new();
        for (t, c) in customers.into_iter().enumerate() {
            let (oms, barrier) = (oms.clone(), barrier.clone());
            handles.push(tokio::spawn(async move {
                let mut tally = Tally::default();
                barrier.wait().await;
                for n in 0..ORDERS_PER_TASK - 1 {
                    let q = quantity(t, n);
                    record(&mut tally, q, oms.place_order(hot_order(t, n, &c)).await);
                    tokio::task::yield_now().await;
                }
                // Everyone's 1- to 3-unit orders are done before the 1-unit mop-up.
                barrier.wait().await;
                let n = ORDERS_PER_TASK - 1;
                let q = quantity(t, n);
                record(&mut tally, q, oms.place_order(hot_order(t, n, &c)).await);
                tally
            }));
        }
        let mut tallies = Vec::new();
        for h in handles {
            tallies.push(h.await.unwrap());
        }
        check_sold_out(&oms, &tallies).await;
    }
}

// ---------------------------------------------------------------------------
// (b) plain threads driving calls with pollster: sync hosts work too
// ---------------------------------------------------------------------------

#[test]
fn flash_sale_on_plain_threads_never_oversells() {
    for _ in 0..ROUNDS {
        let (w, customers) = pollster::block_on(hot_world());
        let oms = Arc::new(w.oms);
        let barrier = Arc::new(std::sync::Barrier::new(TASKS));
        let handles: Vec<_> = customers
            .into_iter()
            .enumerate()
            .map(|(t, c)| {
                let (oms, barrier) = (oms.clone(), barrier.clone());
                std::thread::spawn(move || {
                    let mut tally = Tally::default();
                    barrier.wait();
                    for n in 0..ORDERS_PER_TASK - 1 {
                        let q = quantity(t, n);
                        let result = pollster::block_on(oms.place_order(hot_order(t, n, &c)));
                        record(&mut tally, q, result);
                    }
                    barrier.wait();
                    let n = ORDERS_PER_TASK - 1;
                    let q = quantity(t, n);
                    let result = pollster::block_on(oms.place_order(hot_order(t, n, &c)));
                    record(&mut tally, q, result);
                    tally
                })
            })
            .collect();
        let tallies: Vec<Tally> = handles.into_iter().map(|h| h.join().unwrap()).collect();
        pollster::block_on(check_sold_out(&oms, &tallies));
    }
}

// ---------------------------------------------------------------------------
// (c) concurrent payments on one invoice
// ---------------------------------------------------------------------------

#[test]
fn concurrent_payments_never_overpay_an_invoice() {
    for round in 0..ROUNDS {
        let w = pollster::block_on(world());
        let c = pollster::block_on(customer(&w, "Payer", PaymentTerms::Net { days: 30 }, None));
        // 2 × TEE at 20.00 + 10 % tax = 44.00.
        let order = pollster::block_on(w.oms.place_order(
            PlaceOrder::new(key("o"), c.id, Channel::B2b, Currency::USD).line(sku("TEE"), 2),
        ))
        .unwrap();
        let invoice_id: InvoiceId = order.invoices[0];
        let total = pollster::block_on(w.oms.invoice(invoice_id))
            .unwrap()
            .total()
            .unwrap();
        assert_eq!(total, usd(dec!(44.00)));

        // 8 × 10.00 = 80.00 offered for 44.00 owed: exactly four fit.
        let share = usd(dec!(10.00));
        let oms = Arc::new(w.oms);
        let barrier = Arc::new(std::sync::Barrier::new(TASKS));
        let handles: Vec<_> = (0..TASKS)
            .map(|t| {
                let (oms, barrier) = (oms.clone(), barrier.clone());
                std::thread::spawn(move || {
                    barrier.wait();
                    pollster::block_on(oms.record_payment(RecordPayment::new(
                        key(&format!("pay-{round}-{t}")),
                        invoice_id,
                        share,
                        PaymentMethod::BankTransfer,
                    )))
                })
            })
            .collect();
        let results: Vec<_> = handles.into_iter().map(|h| h.join().unwrap()).collect();

        let mut applied = Money::zero(Currency::USD);
        let mut accepted = 0;
        for r in &results {
            match r {
                Ok(p) => {
                    accepted += 1;
                    assert_eq!(p.applied, share);
                    assert!(p.credited.is_zero());
                    applied = applied.checked_add(p.applied).unwrap();
                }
                Err(Error::Payment(PaymentError::Overpayment {
                    outstanding,
                    offered,
                })) => {
                    assert_eq!(*offered, share);
                    assert!(outstanding.cmp_amount(share).unwrap().is_lt());
                }
                Err(Error::Contention { .. }) => {
                    panic!("BUG: a payment gave up on contention: {r:?}")
                }
                Err(other) => panic!("unexpected payment error {other:?}"),
            }
        }
        assert_eq!(accepted, 4, "{results:?}");
        let invoice = pollster::block_on(oms.invoice(invoice_id)).unwrap();
        assert_eq!(invoice.paid, usd(dec!(40.00)));
        assert_eq!(invoice.paid, applied);
        assert!(invoice.paid.cmp_amount(total).unwrap().is_le());
        assert_eq!(invoice.status, InvoiceStatus::Open);
        assert_eq!(
            invoice.outstanding().unwrap(),
            usd(dec!(4.00)),
            "the remainder is still owed"
        );
        let order = pollster::block_on(oms.order(order.id)).unwrap();
        assert_eq!(order.paid, usd(dec!(40.00)));
        let buyer = pollster::block_on(oms.customer(c.id)).unwrap();
        assert_eq!(buyer.history.balance, usd(dec!(4.00)));
        assert!(buyer.history.credit.is_zero());
        pollster::block_on(assert_receivables_match(&oms));
        pollster::block_on(assert_audit_clean(&oms));
    }
}

// ---------------------------------------------------------------------------
// (d) one idempotency key from many threads at once
// ---------------------------------------------------------------------------

#[test]
fn one_key_from_many_threads_places_one_order() {
    for round in 0..ROUNDS {
        let w = pollster::block_on(world());
        let c = pollster::block_on(customer(&w, "Clicker", PaymentTerms::Prepaid, None));
        let cmd = PlaceOrder::new(
            key(&format!("double-click-{round}")),
            c.id,
            Channel::Web,
            Currency::USD,
        )
        .line(sku("TEE"), 3)
        .line(sku("MUG"), 2);
        let oms = Arc::new(w.oms);
        let barrier = Arc::new(std::sync::Barrier::new(TASKS));
        let handles: Vec<_> = (0..TASKS)
            .map(|_| {
                let (oms, barrier, cmd) = (oms.clone(), barrier.clone(), cmd.clone());
                std::thread::spawn(move || {
                    barrier.wait();
                    pollster::block_on(oms.place_order(cmd))
                })
            })
            .collect();
        let ids: Vec<OrderId> = handles
            .into_iter()
            .map(|h| match h.join().unwrap() {
                Ok(order) => order.id,
                Err(e) => panic!("a submission of the same order failed: {e:?}"),
            })
            .collect();
        assert!(ids.iter().all(|id| *id == ids[0]), "{ids:?}");
        let orders = pollster::block_on(oms.customer_orders(c.id)).unwrap();
        assert_eq!(orders.len(), 1);
        assert_eq!(orders[0].id, ids[0]);
        assert_eq!(orders[0].invoices.len(), 1);
        let buyer = pollster::block_on(oms.customer(c.id)).unwrap();
        assert_eq!(buyer.history.orders_placed, 1);
        let all = pollster::block_on(oms.store().list::<o2c::order::Order>()).unwrap();
        assert_eq!(all.len(), 1, "exactly one order in the whole store");
        let reserved: i64 = pollster::block_on(oms.store().all_stock_levels())
            .unwrap()
            .iter()
            .map(|l| l.reserved)
            .sum();
        assert_eq!(reserved, 5, "reserved once, not per submission");
        pollster::block_on(assert_audit_clean(&oms));
    }
}

// ---------------------------------------------------------------------------
// (e) ship and cancel racing on one order: exactly one wins
// ---------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 8)]
async fn ship_and_cancel_race_has_one_winner() {
    for _ in 0..ROUNDS {
        let w = world().await;
        let c = customer(&w, "Racer", PaymentTerms::Net { days: 30 }, None).await;
        let order = w
            .oms
            .place_order(
                PlaceOrder::new(key("race"), c.id, Channel::Phone, Currency::USD)
                    .line(sku("TEE"), 2)
                    .line(sku("BOOK"), 1),
            )
            .await
            .unwrap()
            .into_inner();
        let oms = Arc::new(w.oms);
        let barrier = Arc::new(tokio::sync::Barrier::new(TASKS));
        let mut handles = Vec::new();
        for t in 0..TASKS {
            let (oms, barrier) = (oms.clone(), barrier.clone());
            handles.push(tokio::spawn(async move {
                barrier.wait().await;
                if t % 2 == 0 {
                    oms.ship(order.id, o2c::ids::IdempotencyKey::generate())
                        .await
                        .map(|s| !s.is_empty())
                } else {
                    oms.cancel_order(order.id, "race", o2c::ids::IdempotencyKey::generate())
                        .await
                        .map(|_| false)
                }
            }));
        }
        let mut shipped = 0;
        let mut cancelled = 0;
        for h in handles {
            match h.await.unwrap() {
                Ok(true) => shipped += 1,
                Ok(false) => cancelled += 1,
                Err(Error::Order(
                    OrderError::NothingToShip
                    | OrderError::NothingToCancel
                    | OrderError::InvalidTransition { .. },
                )) => {}
                Err(e) => panic!("unexpected error in the race: {e:?}"),
            }
        }
        assert_eq!(shipped + cancelled, 1, "exactly one of ship/cancel wins");
        let after = oms.order(order.id).await.unwrap();
        if shipped == 1 {
            assert_eq!(after.status, OrderStatus::Open);
            assert!(!after.shipments.is_empty());
        } else {
            assert_eq!(after.status, OrderStatus::Cancelled);
            assert!(after.shipments.is_empty());
        }
        assert_receivables_match(&oms).await;
        assert_audit_clean(&oms).await;
    }
}

// ---------------------------------------------------------------------------
// (f) one payment webhook delivered to many threads at once
// ---------------------------------------------------------------------------

#[test]
fn one_payment_key_from_many_threads_records_one_payment() {
    for round in 0..ROUNDS {
        let w = pollster::block_on(world());
        let c = pollster::block_on(customer(&w, "Hooked", PaymentTerms::Prepaid, None));
        let order = pollster::block_on(w.oms.place_order(
            PlaceOrder::new(key("o"), c.id, Channel::Web, Currency::USD).line(sku("MUG"), 2),
        ))
        .unwrap();
        let cmd = RecordPayment::new(
            key(&format!("webhook-{round}")),
            order.invoices[0],
            usd(dec!(10.00)),
            PaymentMethod::Card,
        );
        let oms = Arc::new(w.oms);
        let barrier = Arc::new(std::sync::Barrier::new(TASKS));
        let handles: Vec<_> = (0..TASKS)
            .map(|_| {
                let (oms, barrier, cmd) = (oms.clone(), barrier.clone(), cmd.clone());
                std::thread::spawn(move || {
                    barrier.wait();
                    pollster::block_on(oms.record_payment(cmd))
                })
            })
            .collect();
        let payments: Vec<_> = handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap()
                    .expect("the same payment must be accepted")
            })
            .collect();
        assert!(payments.iter().all(|p| p.value == payments[0].value));
        let fresh = payments.iter().filter(|p| !p.replayed).count();
        assert_eq!(
            fresh, 1,
            "one caller recorded it, the rest were told it was a replay"
        );
        let invoice = pollster::block_on(oms.invoice(order.invoices[0])).unwrap();
        assert_eq!(invoice.paid, usd(dec!(10.00)), "recorded once");
        let stored = pollster::block_on(oms.store().list::<o2c::ledger::Payment>()).unwrap();
        assert_eq!(stored.len(), 1);
        pollster::block_on(assert_receivables_match(&oms));
        pollster::block_on(assert_audit_clean(&oms));
    }
}

/// Back-orders placed and stock received at the same time, from many tasks: every
/// received unit ends up either reserved for exactly one waiting line or free, never
/// both, and the queue matches the orders (the audit checks both).
#[tokio::test(flavor = "multi_thread", worker_threads = 8)]
async fn back_orders_and_receipts_race_without_giving_a_unit_twice() {
    for round in 0..ROUNDS {
        let (w, customers) = hot_world().await;
        let oms = Arc::new(w.oms);
        let mut tasks = Vec::new();
        for (t, c) in customers.iter().cloned().enumerate() {
            let oms = Arc::clone(&oms);
            tasks.push(tokio::spawn(async move {
                let mut placed = Vec::new();
                for n in 0..ORDERS_PER_TASK {
                    if t % 2 == 0 {
                        let cmd = hot_order(t, n, &c)
                            .back_order(o2c::purchasing::BackOrderPolicy::ShipAvailable);
                        placed.push(oms.place_order(cmd).await.unwrap().id);
                    } else {
                        oms.receive_stock(
                            ReceiveStock::new(
                                key(&format!("in-{round}-{t}-{n}")),
                                sku("HOT"),
                                loc(EAST),
                                2,
                            )
                            .with_reference("restock".into()),
                        )
                        .await
                        .unwrap();
                    }
                }
                placed
            }));
        }
        let mut orders = Vec::new();
        for task in tasks {
            orders.extend(task.await.unwrap());
        }
        assert_audit_clean(&oms).await;
        // Supply: 25 opening + 4 tasks × 10 receipts × 2. Every unit is either
        // reserved for an order or free; every unit ordered is reserved or waiting.
        let supply = HOT_UNITS + 4 * 10 * 2;
        let level = oms.stock_level(&sku("HOT"), &loc(EAST)).await.unwrap();
        assert_eq!(level.on_hand, supply);
        let (mut reserved, mut waiting, mut ordered) = (0i64, 0i64, 0i64);
        for id in &orders {
            let order = oms.order(*id).await.unwrap();
            for line in &order.lines {
                reserved += i64::from(line.open().units());
                waiting += i64::from(line.backordered.units());
                ordered += i64::from(line.quantity.units());
            }
        }
        assert_eq!(reserved, level.reserved);
        assert_eq!(reserved + waiting, ordered);
        assert!(
            waiting == 0 || level.available() == 0,
            "units sat free while lines waited: {waiting} waiting, {} free",
            level.available()
        );
    }
}

// ---------------------------------------------------------------------------
// (g) one customer's credit limit under concurrent orders
// ---------------------------------------------------------------------------

/// Sixteen callers order for one customer on account whose credit limit fits five
/// orders: exactly five go through unheld, whatever the interleaving. Each order is
/// judged with the others' exposure counted (the store refuses a commit that would
/// pass the limit a command judged the customer within), so two orders that each
/// fit can never pass the limit together.
#[test]
fn concurrent_orders_never_pass_a_credit_limit_together() {
    const CALLERS: usize = 16;
    for round in 0..ROUNDS {
        let w = pollster::block_on(world());
        let probe = pollster::block_on(customer(&w, "Probe", PaymentTerms::Net { days: 30 }, None));
        let order = |who: &Customer, k: &str| {
            PlaceOrder::new(key(k), who.id, Channel::B2b, Currency::USD).line(sku("TEE"), 1)
        };
        let each = pollster::block_on(w.oms.place_order(order(&probe, "probe")))
            .unwrap()
            .total()
            .unwrap();
        let limit = each.checked_mul_qty(5).unwrap();
        let buyer = pollster::block_on(customer(
            &w,
            &format!("Limited{round}"),
            PaymentTerms::Net { days: 30 },
            Some(limit),
        ));
        let oms = Arc::new(w.oms);
        let barrier = Arc::new(std::sync::Barrier::new(CALLERS));
        let handles: Vec<_> = (0..CALLERS)
            .map(|t| {
                let (oms, barrier, buyer) = (oms.clone(), barrier.clone(), buyer.clone());
                let cmd = order(&buyer, &format!("limited-{round}-{t}"));
                std::thread::spawn(move || {
                    barrier.wait();
                    pollster::block_on(oms.place_order(cmd)).unwrap()
                })
            })
            .collect();
        let orders: Vec<_> = handles.into_iter().map(|h| h.join().unwrap()).collect();
        let unheld = orders
            .iter()
            .filter(|o| !o.holds.contains(&o2c::order::Hold::CreditLimit))
            .count();
        assert_eq!(
            unheld, 5,
            "round {round}: {unheld} orders passed a limit of five"
        );
        let figures = pollster::block_on(oms.customer(buyer.id)).unwrap().history;
        assert_eq!(figures.orders_placed, 16);
        pollster::block_on(assert_audit_clean(&oms));
    }
}
