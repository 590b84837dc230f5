//! Property tests: random command sequences keep every invariant, and money splits exactly.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]
mod common;

use std::collections::HashMap;

use chrono::Duration;
use common::*;
use o2c::catalog::{Product, TaxClass, TaxTable};
use o2c::customer::{Customer, PaymentMethod, PaymentTerms};
use o2c::fulfilment::{Shipment, ShipmentStatus, TrackingEvent};
use o2c::ids::{CustomerId, IdempotencyKey, OrderId, Sku};
use o2c::ledger::{AccountCode, Invoice, InvoiceStatus, OverpaymentPolicy};
use o2c::money::{Currency, Money, Rounding};
use o2c::order::{
    Channel, Delivery, Discount, Hold, Order, OrderStatus, PRICE_ROUNDING, PlaceOrder,
    ServiceLevel, price_lines,
};
use o2c::stock::AllocationStrategy;
use o2c::store::Store;
use o2c::{AdjustStock, Error, OmsConfig, ReceiveStock, RecordPayment};
use o2c::{customer::Address, ledger::InvoicePolicy};
use proptest::prelude::*;
use rust_decimal::Decimal;
use rust_decimal_macros::dec;

// ---------------------------------------------------------------------------
// Commands
// ---------------------------------------------------------------------------

/// SKUs a generated line may name; the last is not in the catalogue.
const SKUS: [&str; 4] = ["TEE", "MUG", "BOOK", "GHOST"];
/// Locations stock commands may name; the last does not exist.
const LOCATIONS: [&str; 4] = [EAST, WEST, STORE, "NOWHERE"];
/// Units on hand in the fixture world before any command.
const OPENING_UNITS: i64 = 10 + 10 + 5 + 5 + 20 + 2 + 8;

#[derive(Debug, Clone)]
enum DiscountGen {
    Percent(u32),
    /// In cents.
    Amount(u32),
}

impl DiscountGen {
    fn build(&self) -> Discount {
        match self {
            DiscountGen::Percent(p) => Discount::Percent(Decimal::from(*p)),
            DiscountGen::Amount(c) => {
                Discount::Amount(Money::from_minor(i64::from(*c), Currency::USD))
            }
        }
    }
}

#[derive(Debug, Clone)]
struct LineGen {
    sku: usize,
    quantity: i64,
    /// An explicit unit price in cents (a B2B contract price), else the catalogue's.
    price: Option<u32>,
    discount: Option<DiscountGen>,
}

#[derive(Debug, Clone)]
enum PayKind {
    /// Tenths of what is outstanding (1..=9).
    Partial(u32),
    Full,
    /// Cents above what is outstanding.
    Over(u32),
}

/// Which record a command acts on: mostly one it can act on (`live`), sometimes any.
#[derive(Debug, Clone, Copy)]
struct Target {
    n: usize,
    live: bool,
}

fn target() -> impl Strategy<Value = Target> {
    (any::<usize>(), prop::bool::weighted(0.75)).prop_map(|(n, live)| Target { n, live })
}

#[derive(Debug, Clone)]
enum Cmd {
    Place {
        customer: usize,
        lines: Vec<LineGen>,
        /// 0, 1: default address; 2: pickup at the store; 3: pickup at EAST;
        /// 4: express to Canada; 5: pickup at a place that does not exist.
        delivery: u8,
        discount: Option<DiscountGen>,
        /// Cents.
        shipping: Option<u32>,
    },
    /// Re-submit an earlier order command: unchanged (a replay, also with its amounts
    /// written at another scale: `5.0` for `5.00`) or changed (refused).
    Resubmit {
        pick: usize,
        change: bool,
        rescale: bool,
    },
    Pay {
        invoice: Target,
        kind: PayKind,
        credit_excess: bool,
        method: u8,
    },
    Ship {
        order: Target,
    },
    Track {
        shipment: Target,
        delivered: bool,
    },
    Cancel {
        order: Target,
    },
    Hold {
        order: Target,
    },
    Release {
        order: Target,
        hold: u8,
    },
    Receive {
        sku: usize,
        location: usize,
        quantity: i64,
    },
    Adjust {
        sku: usize,
        location: usize,
        delta: i64,
    },
    /// Re-cost (revaluing stock on hand) and maybe retire or revive a product.
    Recost {
        sku: usize,
        cost: u32,
        active: bool,
    },
}

fn discount_gen() -> impl Strategy<Value = Option<DiscountGen>> {
    prop_oneof![
        6 => Just(None),
        2 => (0u32..=110).prop_map(|p| Some(DiscountGen::Percent(p))),
        1 => Just(Some(DiscountGen::Percent(100))),
        2 => (0u32..2_500).prop_map(|c| Some(DiscountGen::Amount(c))),
    ]
}

fn line_gen() -> impl Strategy<Value = LineGen> {
    (
        prop_oneof![30 => 0usize..3, 1 => Just(3usize)],
        prop_oneof![30 => 1i64..=4, 1 => -1i64..=0, 2 => 5i64..=25],
        prop_oneof![3 => Just(None), 1 => (0u32..5_000).prop_map(Some)],
        discount_gen(),
    )
        .prop_map(|(sku, quantity, price, discount)| LineGen {
            sku,
            quantity,
            price,
            discount,
        })
}

fn cmd_gen() -> impl Strategy<Value = Cmd> {
    prop_oneof![
        12 => (
            0usize..3,
            prop_oneof![1 => Just(Vec::new()), 30 => prop::collection::vec(line_gen(), 1..=4)],
            prop_oneof![30 => 0u8..5, 1 => Just(5u8)],
            discount_gen(),
            prop_oneof![3 => Just(None), 1 => (0u32..2_000).prop_map(Some)],
        )
            .prop_map(|(customer, lines, delivery, discount, shipping)| Cmd::Place {
                customer,
                lines,
                delivery,
                discount,
                shipping,
            }),
        1 => (any::<usize>(), any::<bool>(), any::<bool>())
            .prop_map(|(pick, change, rescale)| Cmd::Resubmit { pick, change, rescale }),
        6 => (
            target(),
            prop_oneof![
                (1u32..=9).prop_map(PayKind::Partial),
                Just(PayKind::Full),
                (1u32..1_000).prop_map(PayKind::Over),
            ],
            any::<bool>(),
            0u8..3,
        )
            .prop_map(|(invoice, kind, credit_excess, method)| Cmd::Pay {
                invoice,
                kind,
                credit_excess,
                method,
            }),
        6 => target().prop_map(|order| Cmd::Ship { order }),
        5 => (target(), prop::bool::weighted(0.8))
            .prop_map(|(shipment, delivered)| Cmd::Track { shipment, delivered }),
        2 => target().prop_map(|order| Cmd::Cancel { order }),
        1 => target().prop_map(|order| Cmd::Hold { order }),
        2 => (target(), 0u8..3).prop_map(|(order, hold)| Cmd::Release { order, hold }),
        3 => (
            prop_oneof![12 => 0usize..3, 1 => Just(3usize)],
            prop_oneof![12 => 0usize..3, 1 => Just(3usize)],
            prop_oneof![12 => 1i64..=25, 1 => -2i64..=0],
        )
            .prop_map(|(sku, location, quantity)| Cmd::Receive {
                sku,
                location,
                quantity
            }),
        2 => (
            prop_oneof![12 => 0usize..3, 1 => Just(3usize)],
            prop_oneof![12 => 0usize..3, 1 => Just(3usize)],
            -12i64..=12,
        )
            .prop_map(|(sku, location, delta)| Cmd::Adjust {
                sku,
                location,
                delta
            }),
        1 => (0usize..3, 0u32..1_500, prop::bool::weighted(0.8))
            .prop_map(|(sku, cost, active)| Cmd::Recost { sku, cost, active }),
    ]
}

// ---------------------------------------------------------------------------
// The model the test keeps on its own
// ---------------------------------------------------------------------------

struct Model {
    customers: Vec<Customer>,
    /// Every order command that succeeded, with the order it placed.
    placed: Vec<(PlaceOrder, OrderId)>,
    /// Units on hand everywhere: opening + received + adjusted − shipped.
    units: i64,
}

fn pick<T>(items: &[T], n: usize) -> Option<&T> {
    if items.is_empty() {
        None
    } else {
        items.get(n % items.len())
    }
}

/// One of `items`: when `t.live`, one that `live` accepts if there is any.
fn choose<T: Clone>(items: Vec<T>, t: Target, live: impl Fn(&T) -> bool) -> Option<T> {
    let live: Vec<T> = items.iter().filter(|i| live(i)).cloned().collect();
    if t.live && !live.is_empty() {
        pick(&live, t.n).cloned()
    } else {
        pick(&items, t.n).cloned()
    }
}

async fn orders(w: &World) -> Vec<Order> {
    w.oms
        .store()
        .list::<Order>()
        .await
        .unwrap()
        .into_iter()
        .map(|v| v.value)
        .collect()
}

fn canada() -> Address {
    Address::new("Moose", "1 Rue", "Montreal", "H2X", "CA")
}

fn build_order(
    step: usize,
    model: &Model,
    customer: usize,
    lines: &[LineGen],
    delivery: u8,
    discount: &Option<DiscountGen>,
    shipping: Option<u32>,
) -> PlaceOrder {
    let buyer = &model.customers[customer % model.customers.len()];
    let mut cmd = PlaceOrder::new(
        key(&format!("order-{step}")),
        buyer.id,
        Channel::Web,
        Currency::USD,
    );
    for l in lines {
        cmd = match l.price {
            None => cmd.line(sku(SKUS[l.sku]), l.quantity),
            Some(cents) => cmd.priced_line(
                sku(SKUS[l.sku]),
                l.quantity,
                Money::from_minor(i64::from(cents), Currency::USD),
            ),
        };
        if let Some(d) = &l.discount {
            cmd.lines.last_mut().unwrap().discount = Some(d.build());
        }
    }
    cmd.delivery = match delivery {
        2 => Some(Delivery::Pickup {
            location: loc(STORE),
        }),
        3 => Some(Delivery::Pickup {
            location: loc(EAST),
        }),
        4 => Some(Delivery::Ship {
            address: canada().into(),
            service: ServiceLevel::Express,
        }),
        5 => Some(Delivery::Pickup {
            location: loc("NOWHERE"),
        }),
        _ => None,
    };
    cmd.order_discount = discount.as_ref().map(DiscountGen::build);
    cmd.shipping_charge = shipping.map(|c| Money::from_minor(i64::from(c), Currency::USD));
    cmd
}

/// The same amount with three more zeros after the point.
fn more_digits(m: Money) -> Money {
    let mut amount = m.amount();
    amount.rescale(amount.scale() + 3);
    Money::new(amount, m.currency())
}

fn more_digits_discount(d: Discount) -> Discount {
    match d {
        Discount::Percent(p) => {
            let mut p = p;
            p.rescale(p.scale() + 1);
            Discount::Percent(p)
        }
        Discount::Amount(m) => Discount::Amount(more_digits(m)),
    }
}

/// `cmd` with every amount written with more digits: equal, and the same content.
fn rescaled(cmd: &PlaceOrder) -> PlaceOrder {
    let mut cmd = cmd.clone();
    for line in &mut cmd.lines {
        line.unit_price = line.unit_price.map(more_digits);
        line.discount = line.discount.map(more_digits_discount);
    }
    cmd.order_discount = cmd.order_discount.map(more_digits_discount);
    cmd.shipping_charge = cmd.shipping_charge.map(more_digits);
    cmd
}

fn receivables() -> AccountCode {
    AccountCode::new("1100")
}

/// Errors a single caller may legitimately get for a random command. Anything else
/// (a refused ledger posting, a store failure, contention without concurrency) is a bug.
fn is_acceptable(e: &Error) -> bool {
    matches!(
        e,
        Error::Order(_)
            | Error::Stock(_)
            | Error::Payment(_)
            | Error::Money(_)
            | Error::Carrier(_)
            | Error::NotFound { .. }
            | Error::Invalid { .. }
            | Error::IdempotencyKeyReused { .. }
    )
}

/// Checks, independently of `Oms::audit`, what the test can count itself.
async fn check_books(w: &World, model: &Model, step: usize, cmd: &Cmd) {
    let store = w.oms.store();
    let levels = store.all_stock_levels().await.unwrap();
    let on_hand: i64 = levels.iter().map(|l| l.on_hand).sum();
    assert_eq!(
        on_hand, model.units,
        "step {step} ({cmd:?}): units on hand ≠ opening + received + adjusted − shipped"
    );
    for l in &levels {
        assert!(
            0 <= l.reserved && l.reserved <= l.on_hand,
            "step {step} ({cmd:?}): oversold {l:?}"
        );
    }

    // Reserved = open reservations of live orders.
    let orders: Vec<Order> = store
        .list::<Order>()
        .await
        .unwrap()
        .into_iter()
        .map(|v| v.value)
        .collect();
    let mut open: HashMap<(Sku, String), i64> = HashMap::new();
    for o in &orders {
        for line in &o.lines {
            assert!(
                line.quantities_add_up(),
                "step {step} ({cmd:?}): order {} line {} does not add up",
                o.id,
                line.line_no
            );
            for r in &line.reservations {
                assert!(
                    matches!(o.status, OrderStatus::Open | OrderStatus::OnHold),
                    "step {step} ({cmd:?}): a {:?} order holds a reservation",
                    o.status
                );
                *open
                    .entry((line.sku.clone(), r.location.to_string()))
                    .or_default() += r.quantity.as_i64();
            }
        }
    }
    for l in &levels {
        let want = open
            .remove(&(l.sku.clone(), l.location.to_string()))
            .unwrap_or(0);
        assert_eq!(
            l.reserved, want,
            "step {step} ({cmd:?}): reserved of {} at {}",
            l.sku, l.location
        );
    }
    assert!(open.is_empty(), "step {step}: reservations without stock");

    // Receivables: Σ customer balances = AR account = Σ invoiced − Σ paid.
    let customers: Vec<Customer> = store
        .list::<Customer>()
        .await
        .unwrap()
        .into_iter()
        .map(|v| v.value)
        .collect();
    let balances = Money::sum(Currency::USD, customers.iter().map(|c| c.history.balance)).unwrap();
    let ar = w
        .oms
        .trial_balance()
        .await
        .unwrap()
        .balance(&receivables(), Currency::USD);
    assert_eq!(
        balances, ar,
        "step {step} ({cmd:?}): Σ customer balances ≠ receivables account"
    );
    let invoices: Vec<Invoice> = store
        .list::<Invoice>()
        .await
        .unwrap()
        .into_iter()
        .map(|v| v.value)
        .collect();
    let mut owed = Money::zero(Currency::USD);
    for i in &invoices {
        owed = owed.checked_add(i.outstanding().unwrap()).unwrap();
        assert!(
            i.paid.cmp_amount(i.total().unwrap()).unwrap().is_le(),
            "step {step} ({cmd:?}): invoice {} paid beyond its total",
            i.number
        );
    }
    assert_eq!(
        owed, ar,
        "step {step} ({cmd:?}): Σ outstanding ≠ receivables"
    );

    // The trial balance is zero.
    assert!(
        w.oms.trial_balance().await.unwrap().is_balanced(),
        "step {step} ({cmd:?}): trial balance not zero"
    );
}

/// Runs one command, keeping the model in step; `Ok(SKIPPED)` if it had no target.
/// A command that ran (and succeeded).
const DONE: bool = true;
/// A command with nothing to act on yet (no orders, no invoices, no shipments).
const SKIPPED: bool = false;

async fn run(w: &World, model: &mut Model, step: usize, cmd: &Cmd) -> Result<bool, Error> {
    let oms = &w.oms;
    let store = oms.store();
    match cmd {
        Cmd::Place {
            customer,
            lines,
            delivery,
            discount,
            shipping,
        } => {
            let order_cmd = build_order(
                step, model, *customer, lines, *delivery, discount, *shipping,
            );
            let order = oms.place_order(order_cmd.clone()).await?;
            assert_eq!(order.lines.len(), order_cmd.lines.len());
            model.placed.push((order_cmd, order.id));
            Ok(DONE)
        }
        Cmd::Resubmit {
            pick: n,
            change,
            rescale,
        } => {
            let Some((order_cmd, id)) = pick(&model.placed, *n).cloned() else {
                return Ok(SKIPPED);
            };
            let mut again = order_cmd.clone();
            if *change {
                again.note = Some(format!("changed at step {step}"));
            } else if *rescale {
                again = rescaled(&again);
                assert_eq!(again, order_cmd);
            }
            let before = snapshot(oms).await;
            let result = oms.place_order(again).await;
            if *change {
                match result {
                    Err(Error::IdempotencyKeyReused { .. }) => {}
                    other => panic!("step {step}: changed resubmission gave {other:?}"),
                }
            } else {
                let order = result.unwrap_or_else(|e| panic!("step {step}: replay failed: {e:?}"));
                assert_eq!(order.id, id, "step {step}: replay returned another order");
                assert_eq!(
                    before,
                    snapshot(oms).await,
                    "step {step}: a replay wrote to the store"
                );
            }
            Ok(DONE)
        }
        Cmd::Pay {
            invoice,
            kind,
            credit_excess,
            method,
        } => {
            let invoices: Vec<Invoice> = store
                .list::<Invoice>()
                .await
                .unwrap()
                .into_iter()
                .map(|v| v.value)
                .collect();
            let Some(inv) = choose(invoices, *invoice, |i| i.status == InvoiceStatus::Open) else {
                return Ok(SKIPPED);
            };
            let outstanding = inv.outstanding().unwrap();
            let cents = outstanding.to_minor().unwrap();
            let amount = match kind {
                PayKind::Partial(tenths) => (cents * i64::from(*tenths) / 10).max(1),
                PayKind::Full => cents.max(1),
                PayKind::Over(extra) => cents + i64::from(*extra),
            };
            let method = match method {
                0 => PaymentMethod::Card,
                1 => PaymentMethod::Cash,
                _ => PaymentMethod::BankTransfer,
            };
            let mut pay = RecordPayment::new(
                key(&format!("pay-{step}")),
                inv.id,
                Money::from_minor(amount, Currency::USD),
                method,
            );
            if *credit_excess {
                pay.overpayment = OverpaymentPolicy::CreditCustomer;
            }
            let payment = oms.record_payment(pay).await?;
            assert_eq!(
                payment.applied.checked_add(payment.credited).unwrap(),
                payment.amount
            );
            Ok(DONE)
        }
        Cmd::Ship { order } => {
            let Some(o) = choose(orders(w).await, *order, Order::is_ready_to_ship) else {
                return Ok(SKIPPED);
            };
            let shipments = oms.ship(o.id, o2c::ids::IdempotencyKey::generate()).await?;
            let units: i64 = shipments
                .iter()
                .flat_map(|s| &s.lines)
                .map(|l| l.quantity.as_i64())
                .sum();
            assert!(units > 0, "step {step}: a shipment without goods");
            model.units -= units;
            Ok(DONE)
        }
        Cmd::Track {
            shipment,
            delivered,
        } => {
            let shipments: Vec<Shipment> = store
                .list::<Shipment>()
                .await
                .unwrap()
                .into_iter()
                .map(|v| v.value)
                .collect();
            let Some(s) = choose(shipments, *shipment, |s| {
                s.status != ShipmentStatus::Delivered
            }) else {
                return Ok(SKIPPED);
            };
            let status = if *delivered {
                ShipmentStatus::Delivered
            } else {
                ShipmentStatus::InTransit
            };
            oms.record_tracking(
                s.id,
                TrackingEvent {
                    at: w.clock_now(),
                    status,
                    description: format!("step {step}"),
                },
            )
            .await?;
            Ok(DONE)
        }
        Cmd::Cancel { order } => {
            let Some(o) = choose(orders(w).await, *order, |o| {
                matches!(o.status, OrderStatus::Open | OrderStatus::OnHold)
            }) else {
                return Ok(SKIPPED);
            };
            oms.cancel_order(o.id, "property test", o2c::ids::IdempotencyKey::generate())
                .await?;
            Ok(DONE)
        }
        Cmd::Hold { order } => {
            let Some(o) = choose(orders(w).await, *order, |o| o.status == OrderStatus::Open) else {
                return Ok(SKIPPED);
            };
            oms.hold_order(
                o.id,
                Hold::ManualReview,
                o2c::ids::IdempotencyKey::generate(),
            )
            .await?;
            Ok(DONE)
        }
        Cmd::Release { order, hold } => {
            let Some(o) = choose(orders(w).await, *order, |o| o.status == OrderStatus::OnHold)
            else {
                return Ok(SKIPPED);
            };
            let hold = match hold {
                0 => Hold::ManualReview,
                1 => Hold::CreditLimit,
                _ => Hold::AwaitingPayment,
            };
            oms.release_hold(o.id, hold, o2c::ids::IdempotencyKey::generate())
                .await?;
            Ok(DONE)
        }
        Cmd::Receive {
            sku: s,
            location,
            quantity,
        } => {
            oms.receive_stock(
                ReceiveStock::new(
                    key(&format!("receive-{step}")),
                    sku(SKUS[*s]),
                    loc(LOCATIONS[*location]),
                    *quantity,
                )
                .with_reference(format!("step {step}")),
            )
            .await?;
            model.units += quantity;
            Ok(DONE)
        }
        Cmd::Adjust {
            sku: s,
            location,
            delta,
        } => {
            oms.adjust_stock(AdjustStock::new(
                key(&format!("adjust-{step}")),
                sku(SKUS[*s]),
                loc(LOCATIONS[*location]),
                *delta,
                format!("step {step}"),
            ))
            .await?;
            model.units += delta;
            Ok(DONE)
        }
        Cmd::Recost {
            sku: s,
            cost,
            active,
        } => {
            let mut product = oms.product(&sku(SKUS[*s])).await?;
            product.cost = Money::from_minor(i64::from(*cost), Currency::USD);
            product.active = *active;
            oms.save_product(product).await?;
            Ok(DONE)
        }
    }
}

trait ClockNow {
    fn clock_now(&self) -> chrono::DateTime<chrono::Utc>;
}
impl ClockNow for World {
    fn clock_now(&self) -> chrono::DateTime<chrono::Utc> {
        use o2c::clock::Clock;
        self.clock.now()
    }
}

async fn scenario(config: OmsConfig, cmds: Vec<Cmd>) {
    let w = world_with(config).await;
    let customers = vec![
        customer(&w, "Prepaid", PaymentTerms::Prepaid, None).await,
        customer(&w, "Net", PaymentTerms::Net { days: 30 }, None).await,
        customer(
            &w,
            "Limited",
            PaymentTerms::Net { days: 14 },
            Some(usd(dec!(100.00))),
        )
        .await,
    ];
    let mut model = Model {
        customers,
        placed: Vec::new(),
        units: OPENING_UNITS,
    };
    check_books(
        &w,
        &model,
        0,
        &Cmd::Resubmit {
            pick: 0,
            change: false,
            rescale: false,
        },
    )
    .await;
    for (step, cmd) in cmds.iter().enumerate() {
        let step = step + 1;
        w.clock.advance(Duration::minutes(7));
        let before = snapshot(&w.oms).await;
        if let Err(e) = run(&w, &mut model, step, cmd).await {
            assert!(
                is_acceptable(&e),
                "step {step} ({cmd:?}): unexpected kind of error {e:?}"
            );
            let after = snapshot(&w.oms).await;
            assert_eq!(
                before, after,
                "step {step} ({cmd:?}) failed with {e:?} but changed the store"
            );
        }
        let report = w.oms.audit().await.unwrap();
        assert!(
            report.is_clean(),
            "step {step} ({cmd:?}): audit violations:\n{}",
            report
                .violations
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join("\n")
        );
        check_books(&w, &model, step, cmd).await;
    }
}

fn config_gen() -> impl Strategy<Value = OmsConfig> {
    (any::<bool>(), any::<bool>()).prop_map(|(on_shipment, priority)| {
        OmsConfig::default()
            .with_invoice_policy(if on_shipment {
                InvoicePolicy::OnShipment
            } else {
                InvoicePolicy::OnOrder
            })
            .with_allocation(if priority {
                AllocationStrategy::PriorityOrder
            } else {
                AllocationStrategy::SingleLocationFirst
            })
    })
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 64,
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    /// Any sequence of commands, valid or not, keeps every invariant after every step,
    /// and a refused command changes nothing.
    #[test]
    fn random_command_sequences_keep_the_books(
        config in config_gen(),
        cmds in prop::collection::vec(cmd_gen(), 5..=40),
    ) {
        pollster::block_on(scenario(config, cmds));
    }
}

// ---------------------------------------------------------------------------
// Regressions found by the property above
// ---------------------------------------------------------------------------

/// A fully discounted order has a zero invoice: it must be issued paid (an open
/// invoice with nothing outstanding broke the audit), and a prepaid buyer's free order
/// has no payment to wait for.
#[tokio::test]
async fn free_prepaid_order_is_invoiced_paid_and_not_held() {
    let w = world().await;
    let c = customer(&w, "Lucky", PaymentTerms::Prepaid, None).await;
    let mut cmd = PlaceOrder::new(key("free"), c.id, Channel::Web, Currency::USD)
        .line(sku("MUG"), 2)
        .discount(Discount::Percent(dec!(35)));
    cmd.lines[0].discount = Some(Discount::Percent(dec!(100)));
    let order = w.oms.place_order(cmd).await.unwrap();
    assert!(order.total().unwrap().is_zero());
    assert_eq!(order.status, OrderStatus::Open, "{:?}", order.holds);
    assert!(order.holds.is_empty());
    let invoice = w.oms.invoice(order.invoices[0]).await.unwrap();
    assert!(invoice.total().unwrap().is_zero());
    assert_eq!(invoice.status, InvoiceStatus::Paid);
    assert_audit_clean(&w.oms).await;
    // It ships and completes on delivery with nothing paid.
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
                    at: start(),
                    status: ShipmentStatus::Delivered,
                    description: "ok".into(),
                },
            )
            .await
            .unwrap();
    }
    assert_eq!(
        w.oms.order(order.id).await.unwrap().status,
        OrderStatus::Completed
    );
    assert_audit_clean(&w.oms).await;
}

#[tokio::test]
async fn free_goods_invoiced_on_shipment_are_invoiced_paid() {
    let w = world_with(OmsConfig::default().with_invoice_policy(InvoicePolicy::OnShipment)).await;
    let c = customer(&w, "Trade", PaymentTerms::Net { days: 30 }, None).await;
    let mut cmd =
        PlaceOrder::new(key("sample"), c.id, Channel::B2b, Currency::USD).line(sku("TEE"), 1);
    cmd.lines[0].discount = Some(Discount::Percent(dec!(100)));
    let order = w.oms.place_order(cmd).await.unwrap();
    assert!(order.invoices.is_empty());
    w.oms
        .ship(order.id, o2c::ids::IdempotencyKey::generate())
        .await
        .unwrap();
    let order = w.oms.order(order.id).await.unwrap();
    let invoice = w.oms.invoice(order.invoices[0]).await.unwrap();
    assert_eq!(invoice.status, InvoiceStatus::Paid);
    assert_audit_clean(&w.oms).await;
}

// ---------------------------------------------------------------------------
// Money: splitting never loses a cent
// ---------------------------------------------------------------------------

fn catalogue(prices: &[i64]) -> HashMap<Sku, Product> {
    prices
        .iter()
        .enumerate()
        .map(|(i, cents)| {
            let code = sku(&format!("P{i}"));
            let product = Product::new(
                code.clone(),
                format!("product {i}"),
                Money::from_minor(*cents, Currency::USD),
                Money::zero(Currency::USD),
                TaxClass::standard(),
            );
            (code, product)
        })
        .collect()
}

fn pricing_cmd(quantities: &[i64]) -> PlaceOrder {
    let nobody: CustomerId = "00000000-0000-7000-8000-000000000001".parse().unwrap();
    let mut cmd = PlaceOrder::new(
        IdempotencyKey::new("k").unwrap(),
        nobody,
        Channel::Web,
        Currency::USD,
    );
    for (i, q) in quantities.iter().enumerate() {
        cmd = cmd.line(sku(&format!("P{i}")), *q);
    }
    cmd
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 256,
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    /// Σ line discounts = the order discount (plus any line discounts), to the cent,
    /// for random prices, quantities and discounts; every line stays non-negative.
    #[test]
    fn order_discount_split_is_exact(
        lines in prop::collection::vec((0i64..500_000, 1i64..=7, prop::option::of(0u32..=100)), 1..=12),
        percent in prop::bool::ANY,
        raw in 0u64..=1_000_000,
        tax_rate in 0u32..=2_500,
    ) {
        let prices: Vec<i64> = lines.iter().map(|(p, _, _)| *p).collect();
        let quantities: Vec<i64> = lines.iter().map(|(_, q, _)| *q).collect();
        let products = catalogue(&prices);
        let mut cmd = pricing_cmd(&quantities);
        for (line, (_, _, line_pct)) in cmd.lines.iter_mut().zip(&lines) {
            line.discount = line_pct.map(|p| Discount::Percent(Decimal::from(p)));
        }
        let tax = TaxTable::new().with_rate(
            TaxClass::standard(),
            None,
            Decimal::new(i64::from(tax_rate), 4),
        );

        // Net before the order discount, to size the order discount within it.
        let plain = price_lines(&cmd, |s| products.get(s), &tax, "US").unwrap();
        let net = Money::sum(Currency::USD, plain.iter().map(|l| l.amounts.net)).unwrap();
        let line_discounts =
            Money::sum(Currency::USD, plain.iter().map(|l| l.amounts.discount)).unwrap();
        let net_cents = net.to_minor().unwrap();
        let (discount, expected) = if percent {
            let p = Decimal::from(raw % 101);
            let amount = net
                .checked_mul(p / Decimal::ONE_HUNDRED)
                .unwrap()
                .round(PRICE_ROUNDING);
            (Discount::Percent(p), amount)
        } else {
            let cents = i64::try_from(raw).unwrap() % (net_cents + 1);
            let amount = Money::from_minor(cents, Currency::USD);
            (Discount::Amount(amount), amount)
        };
        cmd.order_discount = Some(discount);
        let priced = price_lines(&cmd, |s| products.get(s), &tax, "US").unwrap();

        let total_discount =
            Money::sum(Currency::USD, priced.iter().map(|l| l.amounts.discount)).unwrap();
        prop_assert_eq!(total_discount, line_discounts.checked_add(expected).unwrap());
        let priced_net = Money::sum(Currency::USD, priced.iter().map(|l| l.amounts.net)).unwrap();
        prop_assert_eq!(priced_net, net.checked_sub(expected).unwrap());
        for (line, before) in priced.iter().zip(&plain) {
            prop_assert_eq!(line.amounts.gross, before.amounts.gross);
            prop_assert!(!line.amounts.net.is_negative(), "{:?}", line);
            prop_assert!(line.amounts.discount.is_in_minor_units());
            prop_assert_eq!(
                line.amounts.net,
                line.amounts.gross.checked_sub(line.amounts.discount).unwrap()
            );
            prop_assert_eq!(
                line.amounts.tax,
                line.amounts
                    .net
                    .checked_mul(line.tax_rate)
                    .unwrap()
                    .round(Rounding::HalfUp)
            );
        }
    }

    /// `Money::allocate` hands out exactly the amount, each part within a cent of its
    /// exact share; `Money::split` likewise into equal parts.
    #[test]
    fn allocate_and_split_are_exact(
        cents in -10_000_000_000i64..10_000_000_000,
        weights in prop::collection::vec(0u32..10_000, 1..20),
        parts in 1usize..50,
    ) {
        let amount = Money::from_minor(cents, Currency::USD);
        let weights: Vec<Decimal> = weights.into_iter().map(Decimal::from).collect();
        let weight_sum: Decimal = weights.iter().copied().sum();
        match amount.allocate(&weights) {
            Ok(shares) => {
                prop_assert!(!weight_sum.is_zero());
                prop_assert_eq!(shares.len(), weights.len());
                prop_assert_eq!(Money::sum(Currency::USD, shares.iter().copied()).unwrap(), amount);
                for (share, w) in shares.iter().zip(&weights) {
                    let exact = amount.amount() * *w / weight_sum;
                    prop_assert!((share.amount() - exact).abs() < dec!(0.01), "{} vs {}", share, exact);
                    prop_assert!(share.is_in_minor_units());
                }
            }
            Err(e) => prop_assert!(weight_sum.is_zero(), "{e:?}"),
        }
        let pieces = amount.split(parts).unwrap();
        prop_assert_eq!(pieces.len(), parts);
        prop_assert_eq!(Money::sum(Currency::USD, pieces.iter().copied()).unwrap(), amount);
        let max = pieces.iter().map(|p| p.to_minor().unwrap()).max().unwrap();
        let min = pieces.iter().map(|p| p.to_minor().unwrap()).min().unwrap();
        prop_assert!(max - min <= 1);
    }
}
