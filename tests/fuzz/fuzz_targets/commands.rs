//! Random command sequences against one shop in memory, with the audit after
//! every command: no panic, no error of kind `internal` (a bug, never the
//! caller's fault), the books and every invariant the audit checks intact, and
//! a keyed command replayed with its key writes nothing.
#![no_main]

use std::sync::Arc;

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use o2c::customer::{PaymentMethod, PaymentTerms};
use o2c::fulfilment::{ShipmentStatus, TrackingEvent};
use o2c::ids::{InvoiceId, OrderId, PaymentId, ReturnId, ShipmentId};
use o2c::ledger::OverpaymentPolicy;
use o2c::order::AmendOrder;
use o2c::prelude::*;
use o2c::purchasing::BackOrderPolicy;
use o2c::quantity::Quantity;
use o2c::returns::{Condition, ReturnReason};
use o2c::{AdjustStock, IssueCreditNote, ReceiveReturn, RecordRefund, RequestReturn};

/// One command, every choice in it drawn by the fuzzer; indexes wrap around
/// what exists.
#[derive(Arbitrary, Debug, Clone)]
enum Op {
    Place {
        customer: u8,
        lines: Vec<(u8, u8)>,
        pickup: bool,
        back_order: bool,
    },
    Pay {
        invoice: u8,
        part: u8,
    },
    Ship {
        order: u8,
    },
    Deliver {
        shipment: u8,
    },
    Cancel {
        order: u8,
    },
    Hold {
        order: u8,
    },
    Release {
        order: u8,
    },
    Receive {
        sku: u8,
        location: u8,
        units: u8,
    },
    Adjust {
        sku: u8,
        location: u8,
        delta: i8,
    },
    Amend {
        order: u8,
        line: u8,
        units: u8,
    },
    Return {
        order: u8,
        line: u8,
        units: u8,
        resell: bool,
    },
    Credit {
        invoice: u8,
        line: u8,
        units: u8,
    },
    Refund {
        payment: u8,
        part: u8,
    },
    /// Runs an earlier keyed command again with its key.
    Replay {
        back: u8,
    },
}

type Service = Oms<MemoryStore, TableRateCarrier>;

/// A keyed command exactly as it was sent, to send again with its key.
#[derive(Debug, Clone)]
enum Sent {
    Place(PlaceOrder),
    Pay(RecordPayment),
    Receive(ReceiveStock),
    Adjust(AdjustStock),
    Amend(AmendOrder),
    Return(RequestReturn),
    ReceiveBack(ReceiveReturn),
    Credit(IssueCreditNote),
    Refund(RecordRefund),
    Ship(OrderId, IdempotencyKey),
    Cancel(OrderId, IdempotencyKey),
    Hold(OrderId, IdempotencyKey),
    Release(OrderId, IdempotencyKey),
    Authorise(ReturnId, IdempotencyKey),
}

/// The shop and what its commands made so far.
struct Shop {
    oms: Service,
    /// The shop's time: a minute passes per command, so a run depends on its
    /// input alone (ids are seeded too) and every crash replays.
    clock: Arc<ManualClock>,
    skus: Vec<Sku>,
    locations: Vec<LocationId>,
    customers: Vec<CustomerId>,
    orders: Vec<OrderId>,
    invoices: Vec<InvoiceId>,
    payments: Vec<PaymentId>,
    shipments: Vec<ShipmentId>,
    /// Keyed commands that succeeded, as sent.
    keyed: Vec<Sent>,
    next_key: u64,
}

fn usd(cents: i64) -> Money {
    Money::from_minor(cents, Currency::USD)
}

fn key(n: u64) -> IdempotencyKey {
    IdempotencyKey::new(format!("k{n}")).expect("a valid key")
}

/// `list[i % len]`, if the list has any.
fn pick<T: Copy>(list: &[T], i: u8) -> Option<T> {
    (!list.is_empty()).then(|| list[usize::from(i) % list.len()])
}

async fn open() -> Result<Shop, Error> {
    let carrier = TableRateCarrier::new("Parcelly")
        .zone("US", 0)
        .band(50_000, vec![usd(700)]);
    let start = chrono::DateTime::from_timestamp(1_790_000_000, 0).expect("a date");
    let clock = Arc::new(ManualClock::new(start));
    let oms = Oms::new(MemoryStore::new(), carrier)
        .with_clock(clock.clone())
        .with_ids(Arc::new(SeededIds::new(7)));
    let rate = "0.08".parse().expect("a rate");
    oms.set_tax_table(TaxTable::new().with_rate(TaxClass::standard(), None, rate))
        .await?;
    let mut skus = Vec::new();
    for (i, price) in [1999, 450, 12_000].into_iter().enumerate() {
        let sku = Sku::new(format!("SKU-{i}"))?;
        let product = Product::new(
            sku.clone(),
            "Thing",
            usd(price),
            usd(price / 3),
            TaxClass::standard(),
        );
        oms.save_product(product).await?;
        skus.push(sku);
    }
    let mut locations = Vec::new();
    for (code, kind, priority) in [
        ("WH", LocationKind::Warehouse, 1),
        ("SHOP", LocationKind::Store, 2),
    ] {
        let id = LocationId::new(code)?;
        let address = Address::new(code, "1 Dock Rd", "Reno", "89501", "US");
        oms.save_location(Location::new(id.clone(), code, kind, address, priority))
            .await?;
        locations.push(id);
    }
    let mut customers = Vec::new();
    for (i, (terms, limit)) in [
        (PaymentTerms::Prepaid, None),
        (PaymentTerms::Net { days: 30 }, Some(usd(50_000))),
        (PaymentTerms::Net { days: 30 }, None),
    ]
    .into_iter()
    .enumerate()
    {
        let mut new = NewCustomer::new(
            format!("Customer {i}"),
            format!("c{i}@example.com"),
            Address::new("C", "2 Main St", "Boston", "02108", "US"),
            Currency::USD,
        );
        new.terms = terms;
        new.credit_limit = limit;
        if i > 0 {
            new.payment_method = PaymentMethod::BankTransfer;
        }
        let signup = IdempotencyKey::new(format!("signup-{i}")).expect("a valid key");
        customers.push(oms.register_customer(new, signup).await?.id);
    }
    Ok(Shop {
        oms,
        clock,
        skus,
        locations,
        customers,
        orders: Vec::new(),
        invoices: Vec::new(),
        payments: Vec::new(),
        shipments: Vec::new(),
        keyed: Vec::new(),
        next_key: 0,
    })
}

impl Shop {
    fn sku(&self, i: u8) -> Sku {
        self.skus[usize::from(i) % self.skus.len()].clone()
    }

    fn location(&self, i: u8) -> LocationId {
        self.locations[usize::from(i) % self.locations.len()].clone()
    }

    /// Runs `op` with key number `n`, keeping each keyed command that succeeds.
    async fn run(&mut self, op: &Op, n: u64) -> Result<(), Error> {
        match *op {
            Op::Place {
                customer,
                ref lines,
                pickup,
                back_order,
            } => {
                let Some(customer) = pick(&self.customers, customer) else {
                    return Ok(());
                };
                let mut cmd = PlaceOrder::new(key(n), customer, Channel::Web, Currency::USD);
                for &(sku, units) in lines.iter().take(5) {
                    cmd = cmd.line(self.sku(sku), i64::from(units % 12));
                }
                if pickup {
                    cmd = cmd.deliver(Delivery::Pickup {
                        location: self.location(1),
                    });
                }
                if back_order {
                    cmd = cmd.back_order(BackOrderPolicy::BackOrder);
                }
                let order = self.oms.place_order(cmd.clone()).await?;
                self.keyed.push(Sent::Place(cmd));
                self.orders.push(order.id);
                self.invoices.extend(order.invoices.iter().copied());
            }
            Op::Pay { invoice, part } => {
                let Some(id) = pick(&self.invoices, invoice) else {
                    return Ok(());
                };
                let cents = self.oms.invoice(id).await?.outstanding()?.to_minor()?;
                let (amount, policy) = if part == u8::MAX {
                    (cents + 100, OverpaymentPolicy::CreditCustomer)
                } else {
                    (
                        (cents * (i64::from(part) + 1) / 256).max(1),
                        OverpaymentPolicy::Reject,
                    )
                };
                let mut cmd = RecordPayment::new(key(n), id, usd(amount), PaymentMethod::Card);
                cmd.overpayment = policy;
                let payment = self.oms.record_payment(cmd.clone()).await?;
                self.keyed.push(Sent::Pay(cmd));
                self.payments.push(payment.id);
            }
            Op::Ship { order } => {
                if let Some(id) = pick(&self.orders, order) {
                    let shipped = self.oms.ship(id, key(n)).await?;
                    self.keyed.push(Sent::Ship(id, key(n)));
                    self.shipments.extend(shipped.iter().map(|s| s.id));
                }
            }
            Op::Deliver { shipment } => {
                if let Some(id) = pick(&self.shipments, shipment) {
                    let event = TrackingEvent {
                        at: self.clock.now(),
                        status: ShipmentStatus::Delivered,
                        description: "delivered".into(),
                    };
                    self.oms.record_tracking(id, event).await?;
                }
            }
            Op::Cancel { order } => {
                if let Some(id) = pick(&self.orders, order) {
                    self.oms
                        .cancel_order(id, "changed their mind", key(n))
                        .await?;
                    self.keyed.push(Sent::Cancel(id, key(n)));
                }
            }
            Op::Hold { order } => {
                if let Some(id) = pick(&self.orders, order) {
                    self.oms.hold_order(id, Hold::ManualReview, key(n)).await?;
                    self.keyed.push(Sent::Hold(id, key(n)));
                }
            }
            Op::Release { order } => {
                if let Some(id) = pick(&self.orders, order) {
                    self.oms
                        .release_hold(id, Hold::ManualReview, key(n))
                        .await?;
                    self.keyed.push(Sent::Release(id, key(n)));
                }
            }
            Op::Receive {
                sku,
                location,
                units,
            } => {
                let cmd = ReceiveStock::new(key(n), self.sku(sku), self.location(location), i64::from(units)).with_reference("delivery".into());
                self.oms.receive_stock(cmd.clone()).await?;
                self.keyed.push(Sent::Receive(cmd));
            }
            Op::Adjust {
                sku,
                location,
                delta,
            } => {
                let cmd = AdjustStock::new(key(n), self.sku(sku), self.location(location), i64::from(delta), "count");
                self.oms.adjust_stock(cmd.clone()).await?;
                self.keyed.push(Sent::Adjust(cmd));
            }
            Op::Amend { order, line, units } => {
                let Some(id) = pick(&self.orders, order) else {
                    return Ok(());
                };
                let cmd = AmendOrder::new(key(n), id)
                    .set_quantity(u16::from(line % 6), i64::from(units % 12));
                let amended = self.oms.amend_order(cmd.clone()).await?;
                self.keyed.push(Sent::Amend(cmd));
                for invoice in amended.invoices.iter() {
                    if !self.invoices.contains(invoice) {
                        self.invoices.push(*invoice);
                    }
                }
            }
            Op::Return {
                order,
                line,
                units,
                resell,
            } => {
                let Some(id) = pick(&self.orders, order) else {
                    return Ok(());
                };
                let line = u16::from(line % 6);
                let units = Quantity::new(u32::from(units % 6));
                let asked = RequestReturn::new(key(n), id).with_lines(vec![(line, units, ReturnReason::Damaged)]);
                let rma = self.oms.request_return(asked.clone()).await?;
                self.keyed.push(Sent::Return(asked));
                let authorising = key(n + 2_000_000);
                let rma: ReturnId = self
                    .oms
                    .authorise_return(rma.id, authorising.clone())
                    .await?
                    .id;
                self.keyed.push(Sent::Authorise(rma, authorising));
                let condition = if resell {
                    Condition::Resellable {
                        location: self.location(0),
                    }
                } else {
                    Condition::Damaged
                };
                let back = ReceiveReturn::new(key(n + 1_000_000), rma).with_lines(vec![(line, units, condition)]);
                self.oms.receive_return(back.clone()).await?;
                self.keyed.push(Sent::ReceiveBack(back));
            }
            Op::Credit {
                invoice,
                line,
                units,
            } => {
                let Some(id) = pick(&self.invoices, invoice) else {
                    return Ok(());
                };
                let cmd = IssueCreditNote::new(key(n), id, "goodwill").with_lines(vec![(u16::from(line % 6), Quantity::new(u32::from(units % 6)))]);
                self.oms.issue_credit_note(cmd.clone()).await?;
                self.keyed.push(Sent::Credit(cmd));
            }
            Op::Refund { payment, part } => {
                let Some(id) = pick(&self.payments, payment) else {
                    return Ok(());
                };
                let paid = self.oms.payment(id).await?.amount.to_minor()?;
                let cmd = RecordRefund::new(key(n), id, usd((paid * (i64::from(part) + 1) / 256).max(1)));
                self.oms.record_refund(cmd.clone()).await?;
                self.keyed.push(Sent::Refund(cmd));
            }
            Op::Replay { back } => {
                if self.keyed.is_empty() {
                    return Ok(());
                }
                let sent = self.keyed[usize::from(back) % self.keyed.len()].clone();
                let before = self.oms.store().last_event_sequence().await?;
                let again = self.send(&sent).await;
                let after = self.oms.store().last_event_sequence().await?;
                assert!(
                    matches!(again, Ok(true)),
                    "sending {sent:?} again was no replay: {again:?}"
                );
                assert_eq!(before, after, "sending {sent:?} again wrote events");
            }
        }
        Ok(())
    }

    /// Sends a keyed command again, exactly as it was first sent: whether the
    /// answer says it is a replay.
    async fn send(&self, sent: &Sent) -> Result<bool, Error> {
        let oms = &self.oms;
        Ok(match sent.clone() {
            Sent::Place(cmd) => oms.place_order(cmd).await?.replayed,
            Sent::Pay(cmd) => oms.record_payment(cmd).await?.replayed,
            Sent::Receive(cmd) => oms.receive_stock(cmd).await?.replayed,
            Sent::Adjust(cmd) => oms.adjust_stock(cmd).await?.replayed,
            Sent::Amend(cmd) => oms.amend_order(cmd).await?.replayed,
            Sent::Return(cmd) => oms.request_return(cmd).await?.replayed,
            Sent::ReceiveBack(cmd) => oms.receive_return(cmd).await?.replayed,
            Sent::Credit(cmd) => oms.issue_credit_note(cmd).await?.replayed,
            Sent::Refund(cmd) => oms.record_refund(cmd).await?.replayed,
            Sent::Ship(id, key) => oms.ship(id, key).await?.replayed,
            Sent::Cancel(id, key) => {
                oms.cancel_order(id, "changed their mind", key)
                    .await?
                    .replayed
            }
            Sent::Hold(id, key) => oms.hold_order(id, Hold::ManualReview, key).await?.replayed,
            Sent::Release(id, key) => {
                oms.release_hold(id, Hold::ManualReview, key)
                    .await?
                    .replayed
            }
            Sent::Authorise(id, key) => oms.authorise_return(id, key).await?.replayed,
        })
    }

    async fn step(&mut self, op: &Op) {
        self.clock.advance(chrono::Duration::minutes(1));
        let n = self.next_key;
        self.next_key += 1;
        if let Err(e) = self.run(op, n).await {
            assert!(
                e.kind() != ErrorKind::Internal,
                "{op:?} failed with an internal error: {e} ({})",
                e.code()
            );
        }
        let audit = self.oms.audit().await.expect("the audit reads");
        assert!(audit.is_clean(), "after {op:?}: {audit:?}");
    }
}

fuzz_target!(|ops: Vec<Op>| {
    pollster::block_on(async {
        let mut shop = open().await.expect("the shop opens");
        for op in ops.iter().take(48) {
            shop.step(op).await;
        }
    });
});
