//! Model-based property tests: random command sequences run against the real `Oms`
//! and against a deliberately simple reference model (plain structs and integer
//! cents, written from the documented rules, sharing no code with the library).
//! After every step the two must agree on whether the command was accepted (and
//! why not), on stock per SKU × location, on every order's lines, status and money,
//! on every customer's balance and credit; a refused command must change nothing,
//! and the audit must be clean.
//!
//! The world is small and its prices are chosen so that every unit of a line carries
//! a whole number of cents of price and tax: any part of a line (a credit note for
//! some units, a return) is then exactly units × unit total, and the model can
//! predict every amount in integer cents.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]
mod common;

use std::sync::Arc;

use chrono::Duration;
use common::*;
use o2c::catalog::{Product, TaxClass, TaxTable};
use o2c::clock::{Clock, ManualClock, SeededIds};
use o2c::customer::{PaymentMethod, PaymentTerms};
use o2c::fulfilment::{PickupCarrier, ShipmentStatus, TrackingEvent, TrackingNumber};
use o2c::ids::{InvoiceId, OrderId, PaymentId, ReturnId, ShipmentId, SupplierId};
use o2c::ledger::{CreditError, OverpaymentPolicy, PaymentError};
use o2c::money::{Currency, Money};
use o2c::order::{Channel, Hold, OrderError, OrderStatus, PlaceOrder};
use o2c::purchasing::{BackOrderPolicy, Offer, Supplier};
use o2c::quantity::Quantity;
use o2c::returns::{Condition, ReturnError, ReturnReason, ReturnStatus};
use o2c::stock::{AllocationStrategy, Location, LocationKind, StockError};
use o2c::store::MemoryStore;
use o2c::{
    Error, IssueCreditNote, Oms, OmsConfig, ReceivePurchaseOrder, ReceiveReturn, ReceiveStock,
    RecordPayment, RecordRefund, RequestReturn,
};
use proptest::prelude::*;

// ---------------------------------------------------------------------------
// The world
// ---------------------------------------------------------------------------

const SKUS: [&str; 3] = ["A", "B", "C"];
/// List prices in cents.
const PRICE: [i64; 3] = [1_000, 2_500, 800];
/// Tax per unit in cents: A and B at 10 %, C at 5 % — whole cents per unit.
const TAX: [i64; 3] = [100, 250, 40];
/// Standard costs in cents.
const COST: [i64; 3] = [400, 1_000, 300];
/// Sites in allocation priority order (which is also their code order).
const SITES: [&str; 2] = ["EAST", "WEST"];
/// Opening stock per SKU and site.
const OPENING: [[i64; 2]; 3] = [[5, 5], [3, 0], [0, 4]];
/// Credit limit of the limited customer, in cents.
const LIMIT: i64 = 5_000;

fn unit_total(sku: usize) -> i64 {
    PRICE[sku] + TAX[sku]
}

fn cents(m: i64) -> Money {
    Money::from_minor(m, Currency::USD)
}

fn supplier_id() -> SupplierId {
    SupplierId::from_uuid(uuid::Uuid::from_u128(11))
}

async fn model_world(strategy: AllocationStrategy) -> World {
    let clock = Arc::new(ManualClock::new(start()));
    let config = OmsConfig::default().with_allocation(strategy);
    let oms = Oms::new(MemoryStore::new(), (parcel_carrier(), PickupCarrier::new()))
        .with_clock(clock.clone())
        .with_ids(Arc::new(SeededIds::new(7)))
        .with_config(config)
        .unwrap();
    oms.set_tax_table(
        TaxTable::new()
            .with_rate(TaxClass::standard(), None, "0.10".parse().unwrap())
            .with_rate(TaxClass::new("reduced"), None, "0.05".parse().unwrap()),
    )
    .await
    .unwrap();
    let today = start().date_naive();
    let mut supplier = Supplier::new(supplier_id(), "Supplyco", Currency::USD);
    for (i, code) in SKUS.iter().enumerate() {
        let class = if i == 2 {
            TaxClass::new("reduced")
        } else {
            TaxClass::standard()
        };
        oms.save_product(Product::new(
            sku(code),
            *code,
            cents(PRICE[i]),
            cents(COST[i]),
            class,
        ))
        .await
        .unwrap();
        supplier = supplier.offer(Offer::new(
            sku(code),
            cents(COST[i] - 50),
            3,
            today,
            today + Duration::days(365),
        ));
    }
    oms.save_supplier(supplier).await.unwrap();
    for (priority, code) in (1..).zip(SITES) {
        oms.save_location(Location::new(
            loc(code),
            code,
            LocationKind::Warehouse,
            us_address(code),
            priority,
        ))
        .await
        .unwrap();
    }
    for (i, code) in SKUS.iter().enumerate() {
        for (site, units) in OPENING[i].iter().enumerate() {
            if *units > 0 {
                oms.receive_stock(
                    ReceiveStock::new(
                        key(&format!("opening-{code}-{site}")),
                        sku(code),
                        loc(SITES[site]),
                        *units,
                    )
                    .with_reference("opening".into()),
                )
                .await
                .unwrap();
            }
        }
    }
    World { oms, clock }
}

// ---------------------------------------------------------------------------
// The reference model
// ---------------------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Status {
    Open,
    OnHold,
    Completed,
    Cancelled,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum HoldKind {
    AwaitingPayment,
    CreditLimit,
    ManualReview,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Policy {
    Reject,
    BackOrder,
    ShipAvailable,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum RmaStatus {
    Requested,
    Authorised,
    PartiallyReceived,
    Received,
    Rejected,
}

#[derive(Debug, Clone, Default)]
struct Level {
    on_hand: i64,
    reserved: i64,
}

#[derive(Debug, Clone)]
struct Line {
    sku: usize,
    quantity: u32,
    /// (site, units), in the order the reservations were made.
    reservations: Vec<(usize, u32)>,
    shipped: u32,
    delivered: u32,
    cancelled: u32,
    backordered: u32,
    /// Units credited on the order's invoice.
    credited: u32,
    return_requested: u32,
    returned: u32,
}

#[derive(Debug, Clone)]
struct ModelOrder {
    id: Option<OrderId>,
    invoice: Option<InvoiceId>,
    customer: usize,
    lines: Vec<Line>,
    status: Status,
    holds: Vec<HoldKind>,
    policy: Policy,
    /// Net + tax, in cents.
    total: i64,
    /// The invoice's total while it stands; 0 once voided.
    invoiced: i64,
    paid: i64,
    credited: i64,
    void: bool,
}

#[derive(Debug, Clone)]
struct ModelCustomer {
    id: o2c::ids::CustomerId,
    prepaid: bool,
    limit: Option<i64>,
    balance: i64,
    credit: i64,
}

#[derive(Debug, Clone)]
struct ModelPayment {
    id: Option<PaymentId>,
    customer: usize,
    amount: i64,
    refunded: i64,
    from_credit: bool,
}

#[derive(Debug, Clone)]
struct ModelShipment {
    id: Option<(ShipmentId, TrackingNumber)>,
    order: usize,
    site: usize,
    /// (line index, units)
    lines: Vec<(usize, u32)>,
    delivered: bool,
}

#[derive(Debug, Clone)]
struct ModelReturn {
    id: Option<ReturnId>,
    order: usize,
    line: usize,
    units: u32,
    received: u32,
    status: RmaStatus,
}

#[derive(Debug, Clone)]
struct Waiting {
    order: usize,
    line: usize,
    units: u32,
}

#[derive(Debug, Clone)]
struct Model {
    split_always: bool,
    stock: Vec<[Level; 2]>,
    /// Back-order queue per SKU, first come first served.
    queues: Vec<Vec<Waiting>>,
    orders: Vec<ModelOrder>,
    customers: Vec<ModelCustomer>,
    payments: Vec<ModelPayment>,
    shipments: Vec<ModelShipment>,
    returns: Vec<ModelReturn>,
}

/// Why the model expects a command to be refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Refusal {
    InvalidQuantity,
    Insufficient,
    OnHold,
    InvalidTransition,
    AwaitingBackOrder,
    NothingToShip,
    NothingToCancel,
    HoldNotFound,
    InvalidInput,
    ZeroChange,
    BelowReserved,
    AlreadyPaid,
    Overpayment,
    ExceedsCredit,
    PaidFromCredit,
    BeyondPayment,
    InvoiceVoid,
    MoreThanInvoiced,
    ReturnEmpty,
    NotReturnable,
    ReturnTransition,
    BeyondAuthorised,
}

/// The refusal a real error stands for; `None` for any error the model never
/// predicts (which is then a disagreement).
fn refusal_of(e: &Error) -> Option<Refusal> {
    Some(match e {
        Error::Order(o) => match o {
            OrderError::InvalidQuantity { .. } => Refusal::InvalidQuantity,
            OrderError::OnHold { .. } => Refusal::OnHold,
            OrderError::InvalidTransition { .. } => Refusal::InvalidTransition,
            OrderError::AwaitingBackOrder { .. } => Refusal::AwaitingBackOrder,
            OrderError::NothingToShip => Refusal::NothingToShip,
            OrderError::NothingToCancel => Refusal::NothingToCancel,
            OrderError::HoldNotFound(_) => Refusal::HoldNotFound,
            _ => return None,
        },
        Error::Stock(s) => match s {
            StockError::Insufficient { .. } => Refusal::Insufficient,
            StockError::ZeroChange => Refusal::ZeroChange,
            StockError::BelowReserved { .. } => Refusal::BelowReserved,
            _ => return None,
        },
        Error::Payment(p) => match p {
            PaymentError::AlreadyPaid(_) => Refusal::AlreadyPaid,
            PaymentError::Overpayment { .. } => Refusal::Overpayment,
            PaymentError::InvoiceVoid(_) => Refusal::InvoiceVoid,
            _ => return None,
        },
        Error::Credit(c) => match c {
            CreditError::ExceedsCredit { .. } => Refusal::ExceedsCredit,
            CreditError::PaidFromCredit(_) => Refusal::PaidFromCredit,
            CreditError::BeyondPayment { .. } => Refusal::BeyondPayment,
            CreditError::InvoiceVoid(_) => Refusal::InvoiceVoid,
            CreditError::MoreThanInvoiced { .. } => Refusal::MoreThanInvoiced,
            _ => return None,
        },
        Error::Return(r) => match r {
            ReturnError::Empty => Refusal::ReturnEmpty,
            ReturnError::NotReturnable { .. } => Refusal::NotReturnable,
            ReturnError::InvalidTransition { .. } => Refusal::ReturnTransition,
            ReturnError::BeyondAuthorised { .. } => Refusal::BeyondAuthorised,
            _ => return None,
        },
        Error::Invalid { .. } => Refusal::InvalidInput,
        _ => return None,
    })
}

/// A command with its targets resolved to model indices and its amounts to cents.
#[derive(Debug, Clone)]
enum Action {
    Place {
        customer: usize,
        lines: Vec<(usize, i64)>,
        policy: Option<Policy>,
    },
    Pay {
        order: usize,
        amount: i64,
        from_credit: bool,
        excess_to_credit: bool,
    },
    Ship {
        order: usize,
    },
    Track {
        shipment: usize,
        delivered: bool,
        via_carrier: bool,
    },
    Cancel {
        order: usize,
    },
    Hold {
        order: usize,
    },
    Release {
        order: usize,
        hold: HoldKind,
    },
    Receive {
        sku: usize,
        site: usize,
        quantity: i64,
    },
    Adjust {
        sku: usize,
        site: usize,
        delta: i64,
    },
    Credit {
        order: usize,
        line: usize,
        units: u32,
    },
    RequestReturn {
        order: usize,
        line: usize,
        units: u32,
        authorise: bool,
    },
    AuthoriseReturn {
        rma: usize,
    },
    RejectReturn {
        rma: usize,
    },
    ReceiveReturn {
        rma: usize,
        units: u32,
        restock_at: Option<usize>,
    },
    Refund {
        payment: usize,
        amount: i64,
    },
    Purchase {
        sku: usize,
        units: u32,
    },
}

impl Model {
    fn new(split_always: bool, customers: Vec<ModelCustomer>) -> Self {
        let stock = OPENING
            .iter()
            .map(|sites| {
                [
                    Level {
                        on_hand: sites[0],
                        reserved: 0,
                    },
                    Level {
                        on_hand: sites[1],
                        reserved: 0,
                    },
                ]
            })
            .collect();
        Model {
            split_always,
            stock,
            queues: vec![Vec::new(); SKUS.len()],
            orders: Vec::new(),
            customers,
            payments: Vec::new(),
            shipments: Vec::new(),
            returns: Vec::new(),
        }
    }

    fn available(&self, sku: usize, site: usize) -> i64 {
        let l = &self.stock[sku][site];
        l.on_hand - l.reserved
    }

    fn outstanding(&self, order: usize) -> i64 {
        let o = &self.orders[order];
        if o.void {
            0
        } else {
            o.total - o.credited - o.paid
        }
    }

    /// Which sites serve which lines (line index, site, units): from the first site
    /// (by priority) that has every SKU's total, else line by line in priority order.
    fn allocate(&self, demand: &[(usize, usize, u32)]) -> Vec<(usize, usize, u32)> {
        let mut avail: Vec<[i64; 2]> = (0..SKUS.len())
            .map(|s| [self.available(s, 0), self.available(s, 1)])
            .collect();
        if !self.split_always {
            let wanted = |s: usize| -> i64 {
                demand
                    .iter()
                    .filter(|(_, sku, _)| *sku == s)
                    .map(|(_, _, u)| i64::from(*u))
                    .sum()
            };
            if let Some(site) = (0..2).find(|site| {
                demand
                    .iter()
                    .all(|(_, s, _)| avail[*s][*site] >= wanted(*s))
            }) {
                return demand.iter().map(|(l, _, u)| (*l, site, *u)).collect();
            }
        }
        let mut out = Vec::new();
        for (line, s, units) in demand {
            let mut need = i64::from(*units);
            for (site, there) in avail[*s].iter_mut().enumerate() {
                let take = need.min(*there).max(0);
                if take > 0 {
                    *there -= take;
                    need -= take;
                    out.push((*line, site, u32::try_from(take).unwrap()));
                }
            }
        }
        out
    }

    /// Gives `units` arriving or coming free at `site` to the SKU's queue, first come
    /// first served, as reservations.
    fn fill(&mut self, sku: usize, site: usize, units: u32) {
        let mut left = units;
        let mut queue = std::mem::take(&mut self.queues[sku]);
        for w in &mut queue {
            if left == 0 {
                break;
            }
            let take = w.units.min(left);
            w.units -= take;
            left -= take;
            let line = &mut self.orders[w.order].lines[w.line];
            line.backordered -= take;
            reserve(line, site, take);
            self.stock[sku][site].reserved += i64::from(take);
        }
        queue.retain(|w| w.units > 0);
        self.queues[sku] = queue;
    }

    fn delivered_in_full(&self, order: usize) -> bool {
        let (mut wanted, mut shipped, mut delivered) = (0u64, 0u64, 0u64);
        for l in self.orders[order]
            .lines
            .iter()
            .filter(|l| l.quantity > l.cancelled)
        {
            wanted += u64::from(l.quantity - l.cancelled);
            shipped += u64::from(l.shipped);
            delivered += u64::from(l.delivered);
        }
        shipped > 0 && shipped >= wanted && delivered >= wanted
    }

    fn complete_if_done(&mut self, order: usize) {
        let o = &self.orders[order];
        if o.status == Status::Open
            && self.delivered_in_full(order)
            && o.paid + o.credited == o.invoiced
        {
            self.orders[order].status = Status::Completed;
        }
    }

    fn release(&mut self, order: usize, hold: HoldKind) {
        let o = &mut self.orders[order];
        o.holds.retain(|h| *h != hold);
        if o.holds.is_empty() && o.status == Status::OnHold {
            o.status = Status::Open;
        }
    }

    /// After money or a credit: a fully settled order is no longer awaiting payment,
    /// and completes if delivered.
    fn settle(&mut self, order: usize) {
        let o = &self.orders[order];
        if o.paid + o.credited == o.invoiced && o.holds.contains(&HoldKind::AwaitingPayment) {
            self.release(order, HoldKind::AwaitingPayment);
        }
        self.complete_if_done(order);
    }

    /// A credit note of `amount` on the order's invoice: what it still owed shrinks
    /// first, the rest had been paid and becomes customer credit.
    fn credit_invoice(&mut self, order: usize, amount: i64) {
        let owed = self.outstanding(order).max(0);
        let applied = amount.min(owed);
        let to_credit = amount - applied;
        let o = &mut self.orders[order];
        o.credited += amount;
        o.paid -= to_credit;
        let c = &mut self.customers[o.customer];
        c.balance -= applied;
        c.credit += to_credit;
    }

    /// Everything not shipped leaves: queued units leave their queues, reservations
    /// are released to the lines waiting for them, the rest counts as cancelled.
    fn release_unshipped(&mut self, order: usize) {
        let skus: Vec<usize> = self.orders[order]
            .lines
            .iter()
            .filter(|l| l.backordered > 0)
            .map(|l| l.sku)
            .collect();
        for s in skus {
            self.queues[s].retain(|w| w.order != order);
        }
        let mut released = Vec::new();
        for line in &mut self.orders[order].lines {
            for (site, units) in line.reservations.drain(..) {
                released.push((line.sku, site, units));
            }
            line.cancelled = line.quantity - line.shipped;
            line.backordered = 0;
        }
        for (sku, site, units) in &released {
            self.stock[*sku][*site].reserved -= i64::from(*units);
        }
        for (sku, site, units) in released {
            self.fill(sku, site, units);
        }
    }

    /// Applies `action` as the documented rules say, or says why it is refused
    /// (leaving the model as it was: callers apply to a copy).
    fn apply(&mut self, action: &Action) -> Result<(), Refusal> {
        match action {
            Action::Place {
                customer,
                lines,
                policy,
            } => self.place(*customer, lines, *policy),
            Action::Pay {
                order,
                amount,
                from_credit,
                excess_to_credit,
            } => self.pay(*order, *amount, *from_credit, *excess_to_credit),
            Action::Ship { order } => self.ship(*order),
            Action::Track {
                shipment,
                delivered,
                ..
            } => {
                self.track(*shipment, *delivered);
                Ok(())
            }
            Action::Cancel { order } => self.cancel(*order),
            Action::Hold { order } => {
                let o = &mut self.orders[*order];
                if !matches!(o.status, Status::Open | Status::OnHold) {
                    return Err(Refusal::InvalidTransition);
                }
                if !o.holds.contains(&HoldKind::ManualReview) {
                    o.holds.push(HoldKind::ManualReview);
                }
                o.status = Status::OnHold;
                Ok(())
            }
            Action::Release { order, hold } => {
                if !self.orders[*order].holds.contains(hold) {
                    return Err(Refusal::HoldNotFound);
                }
                self.release(*order, *hold);
                self.complete_if_done(*order);
                Ok(())
            }
            Action::Receive {
                sku,
                site,
                quantity,
            } => {
                if *quantity <= 0 {
                    return Err(Refusal::InvalidInput);
                }
                self.stock[*sku][*site].on_hand += quantity;
                self.fill(*sku, *site, u32::try_from(*quantity).unwrap());
                Ok(())
            }
            Action::Adjust { sku, site, delta } => {
                let level = &mut self.stock[*sku][*site];
                if *delta == 0 {
                    return Err(Refusal::ZeroChange);
                }
                if level.on_hand + delta < level.reserved {
                    return Err(Refusal::BelowReserved);
                }
                level.on_hand += delta;
                if *delta > 0 {
                    self.fill(*sku, *site, u32::try_from(*delta).unwrap());
                }
                Ok(())
            }
            Action::Credit { order, line, units } => self.credit(*order, *line, *units),
            Action::RequestReturn {
                order,
                line,
                units,
                authorise,
            } => {
                let l = &mut self.orders[*order].lines[*line];
                if *units == 0 {
                    return Err(Refusal::ReturnEmpty);
                }
                if *units > l.delivered - l.return_requested {
                    return Err(Refusal::NotReturnable);
                }
                l.return_requested += units;
                self.returns.push(ModelReturn {
                    id: None,
                    order: *order,
                    line: *line,
                    units: *units,
                    received: 0,
                    status: if *authorise {
                        RmaStatus::Authorised
                    } else {
                        RmaStatus::Requested
                    },
                });
                Ok(())
            }
            Action::AuthoriseReturn { rma } => {
                let r = &mut self.returns[*rma];
                if r.status != RmaStatus::Requested {
                    return Err(Refusal::ReturnTransition);
                }
                r.status = RmaStatus::Authorised;
                Ok(())
            }
            Action::RejectReturn { rma } => {
                let r = &mut self.returns[*rma];
                if !matches!(r.status, RmaStatus::Requested | RmaStatus::Authorised) {
                    return Err(Refusal::ReturnTransition);
                }
                r.status = RmaStatus::Rejected;
                let not_coming = r.units - r.received;
                self.orders[r.order].lines[r.line].return_requested -= not_coming;
                Ok(())
            }
            Action::ReceiveReturn {
                rma,
                units,
                restock_at,
            } => self.receive_return(*rma, *units, *restock_at),
            Action::Refund { payment, amount } => {
                let p = &self.payments[*payment];
                if p.from_credit {
                    return Err(Refusal::PaidFromCredit);
                }
                if p.refunded + amount > p.amount {
                    return Err(Refusal::BeyondPayment);
                }
                if *amount > self.customers[p.customer].credit {
                    return Err(Refusal::ExceedsCredit);
                }
                self.customers[p.customer].credit -= amount;
                self.payments[*payment].refunded += amount;
                Ok(())
            }
            Action::Purchase { sku, units } => {
                self.stock[*sku][0].on_hand += i64::from(*units);
                self.fill(*sku, 0, *units);
                Ok(())
            }
        }
    }

    fn place(
        &mut self,
        customer: usize,
        lines: &[(usize, i64)],
        policy: Option<Policy>,
    ) -> Result<(), Refusal> {
        if lines.iter().any(|(_, q)| *q <= 0) {
            return Err(Refusal::InvalidQuantity);
        }
        let demand: Vec<(usize, usize, u32)> = lines
            .iter()
            .enumerate()
            .map(|(i, (s, q))| (i, *s, u32::try_from(*q).unwrap()))
            .collect();
        let short = (0..SKUS.len()).any(|s| {
            let wanted: i64 = lines.iter().filter(|(k, _)| *k == s).map(|(_, q)| q).sum();
            wanted > self.available(s, 0) + self.available(s, 1)
        });
        let mut shortfalls = vec![0u32; lines.len()];
        let allocations = if short {
            // The products all reject: only the order's own policy can back-order.
            if matches!(policy, None | Some(Policy::Reject)) {
                return Err(Refusal::Insufficient);
            }
            let mut pool: Vec<i64> = (0..SKUS.len())
                .map(|s| self.available(s, 0) + self.available(s, 1))
                .collect();
            let mut covered = Vec::new();
            for (i, s, units) in &demand {
                let take = pool[*s].min(i64::from(*units)).max(0);
                pool[*s] -= take;
                let take = u32::try_from(take).unwrap();
                shortfalls[*i] = units - take;
                if take > 0 {
                    covered.push((*i, *s, take));
                }
            }
            self.allocate(&covered)
        } else {
            self.allocate(&demand)
        };

        let index = self.orders.len();
        let total: i64 = lines.iter().map(|(s, q)| q * unit_total(*s)).sum::<i64>();
        let mut order = ModelOrder {
            id: None,
            invoice: None,
            customer,
            lines: demand
                .iter()
                .map(|(_, s, q)| Line {
                    sku: *s,
                    quantity: *q,
                    reservations: Vec::new(),
                    shipped: 0,
                    delivered: 0,
                    cancelled: 0,
                    backordered: 0,
                    credited: 0,
                    return_requested: 0,
                    returned: 0,
                })
                .collect(),
            status: Status::Open,
            holds: Vec::new(),
            policy: policy.unwrap_or(Policy::Reject),
            total,
            invoiced: total,
            paid: 0,
            credited: 0,
            void: false,
        };
        for (line, site, units) in allocations {
            reserve(&mut order.lines[line], site, units);
            self.stock[order.lines[line].sku][site].reserved += i64::from(units);
        }
        for (line, short) in shortfalls.iter().enumerate() {
            if *short > 0 {
                order.lines[line].backordered = *short;
                self.queues[order.lines[line].sku].push(Waiting {
                    order: index,
                    line,
                    units: *short,
                });
            }
        }
        let buyer = &mut self.customers[customer];
        if buyer.prepaid {
            order.holds.push(HoldKind::AwaitingPayment);
        } else if buyer
            .limit
            .is_some_and(|limit| buyer.balance + total > limit)
        {
            order.holds.push(HoldKind::CreditLimit);
        }
        if !order.holds.is_empty() {
            order.status = Status::OnHold;
        }
        // Invoiced on order: the whole order is billed at once.
        buyer.balance += total;
        self.orders.push(order);
        Ok(())
    }

    fn pay(
        &mut self,
        order: usize,
        amount: i64,
        from_credit: bool,
        excess_to_credit: bool,
    ) -> Result<(), Refusal> {
        let o = &self.orders[order];
        if !matches!(o.status, Status::Open | Status::OnHold) {
            return Err(Refusal::InvalidTransition);
        }
        let outstanding = self.outstanding(order);
        if outstanding <= 0 {
            return Err(Refusal::AlreadyPaid);
        }
        let customer = o.customer;
        if from_credit && amount > self.customers[customer].credit {
            return Err(Refusal::ExceedsCredit);
        }
        let applied = amount.min(outstanding);
        let excess = amount - applied;
        if excess > 0 && !excess_to_credit {
            return Err(Refusal::Overpayment);
        }
        self.orders[order].paid += applied;
        let c = &mut self.customers[customer];
        c.balance -= applied;
        c.credit += excess;
        if from_credit {
            c.credit -= amount;
        }
        self.payments.push(ModelPayment {
            id: None,
            customer,
            amount,
            refunded: 0,
            from_credit,
        });
        self.settle(order);
        Ok(())
    }

    fn ship(&mut self, order: usize) -> Result<(), Refusal> {
        let o = &self.orders[order];
        if !o.holds.is_empty() {
            return Err(Refusal::OnHold);
        }
        if o.status != Status::Open {
            return Err(Refusal::InvalidTransition);
        }
        if o.policy == Policy::BackOrder && o.lines.iter().any(|l| l.backordered > 0) {
            return Err(Refusal::AwaitingBackOrder);
        }
        let mut any = false;
        for site in 0..2 {
            let mut lines = Vec::new();
            for (i, line) in self.orders[order].lines.iter_mut().enumerate() {
                let units: u32 = line
                    .reservations
                    .iter()
                    .filter(|(s, _)| *s == site)
                    .map(|(_, u)| u)
                    .sum();
                if units > 0 {
                    line.reservations.retain(|(s, _)| *s != site);
                    line.shipped += units;
                    lines.push((i, units));
                }
            }
            for (i, units) in &lines {
                let sku = self.orders[order].lines[*i].sku;
                let level = &mut self.stock[sku][site];
                level.on_hand -= i64::from(*units);
                level.reserved -= i64::from(*units);
            }
            if !lines.is_empty() {
                any = true;
                self.shipments.push(ModelShipment {
                    id: None,
                    order,
                    site,
                    lines,
                    delivered: false,
                });
            }
        }
        if any {
            Ok(())
        } else {
            Err(Refusal::NothingToShip)
        }
    }

    fn track(&mut self, shipment: usize, delivered: bool) {
        let s = &self.shipments[shipment];
        if !delivered || s.delivered {
            return;
        }
        let (order, lines) = (s.order, s.lines.clone());
        self.shipments[shipment].delivered = true;
        for (line, units) in lines {
            self.orders[order].lines[line].delivered += units;
        }
        self.complete_if_done(order);
    }

    fn cancel(&mut self, order: usize) -> Result<(), Refusal> {
        let o = &self.orders[order];
        if !matches!(o.status, Status::Open | Status::OnHold) {
            return Err(Refusal::InvalidTransition);
        }
        let nothing_shipped = o.lines.iter().all(|l| l.shipped == 0);
        if nothing_shipped && o.credited == 0 {
            // Cancelled whole: the invoice is voided, what was paid becomes credit.
            self.release_unshipped(order);
            let o = &mut self.orders[order];
            let c = &mut self.customers[o.customer];
            c.balance -= o.total - o.paid;
            c.credit += o.paid;
            o.invoiced = 0;
            o.paid = 0;
            o.void = true;
            o.status = Status::Cancelled;
            o.holds.clear();
            return Ok(());
        }
        let left: u32 = o
            .lines
            .iter()
            .map(|l| l.quantity - l.shipped - l.cancelled)
            .sum();
        if left == 0 {
            return Err(Refusal::NothingToCancel);
        }
        self.release_unshipped(order);
        // Units invoiced beyond what shipped, as far as not yet credited.
        let mut amount = 0;
        for line in &mut self.orders[order].lines {
            let units = (line.quantity - line.shipped).min(line.quantity - line.credited);
            line.credited += units;
            amount += i64::from(units) * unit_total(line.sku);
        }
        if amount > 0 {
            self.credit_invoice(order, amount);
        }
        if nothing_shipped {
            let o = &mut self.orders[order];
            o.status = Status::Cancelled;
            o.holds.clear();
        } else {
            self.settle(order);
        }
        Ok(())
    }

    fn credit(&mut self, order: usize, line: usize, units: u32) -> Result<(), Refusal> {
        if self.orders[order].void {
            return Err(Refusal::InvoiceVoid);
        }
        let l = &self.orders[order].lines[line];
        if units == 0 || l.credited + units > l.quantity {
            return Err(Refusal::MoreThanInvoiced);
        }
        let amount = i64::from(units) * unit_total(l.sku);
        self.orders[order].lines[line].credited += units;
        self.credit_invoice(order, amount);
        self.settle(order);
        Ok(())
    }

    fn receive_return(
        &mut self,
        rma: usize,
        units: u32,
        restock_at: Option<usize>,
    ) -> Result<(), Refusal> {
        let r = &mut self.returns[rma];
        if !matches!(
            r.status,
            RmaStatus::Authorised | RmaStatus::PartiallyReceived
        ) {
            return Err(Refusal::ReturnTransition);
        }
        if units == 0 || units > r.units - r.received {
            return Err(Refusal::BeyondAuthorised);
        }
        r.received += units;
        r.status = if r.received == r.units {
            RmaStatus::Received
        } else {
            RmaStatus::PartiallyReceived
        };
        let (order, line) = (r.order, r.line);
        let l = &mut self.orders[order].lines[line];
        l.returned += units;
        let sku = l.sku;
        if let Some(site) = restock_at {
            self.stock[sku][site].on_hand += i64::from(units);
            self.fill(sku, site, units);
        }
        let l = &mut self.orders[order].lines[line];
        let credit = units.min(l.quantity - l.credited);
        if credit > 0 {
            l.credited += credit;
            self.credit_invoice(order, i64::from(credit) * unit_total(sku));
        }
        self.settle(order);
        Ok(())
    }
}

/// Adds units at `site` to a line's reservations, merging with one there.
fn reserve(line: &mut Line, site: usize, units: u32) {
    match line.reservations.iter_mut().find(|(s, _)| *s == site) {
        Some((_, u)) => *u += units,
        None => line.reservations.push((site, units)),
    }
}

// ---------------------------------------------------------------------------
// Generated commands: targets are indices into what exists, so shrinking works
// ---------------------------------------------------------------------------

/// Which record a command acts on: mostly one it can act on (`live`), by the model's
/// own account, sometimes any at all (to exercise the refusals).
#[derive(Debug, Clone, Copy)]
struct Target {
    n: usize,
    live: bool,
}

fn target() -> impl Strategy<Value = Target> {
    (0usize..8, prop::bool::weighted(0.8)).prop_map(|(n, live)| Target { n, live })
}

#[derive(Debug, Clone)]
enum PayKind {
    /// Tenths of what is outstanding.
    Partial(i64),
    Full,
    /// Cents more than outstanding.
    Over(i64),
}

#[derive(Debug, Clone)]
enum Cmd {
    Place {
        customer: usize,
        lines: Vec<(usize, i64)>,
        /// 0: the products' policy; then Reject, BackOrder, ShipAvailable.
        policy: u8,
    },
    Pay {
        order: Target,
        kind: PayKind,
        from_credit: bool,
        excess_to_credit: bool,
    },
    Ship {
        order: Target,
    },
    Track {
        shipment: Target,
        delivered: bool,
        via_carrier: bool,
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
        site: usize,
        quantity: i64,
    },
    Adjust {
        sku: usize,
        site: usize,
        delta: i64,
    },
    Credit {
        order: Target,
        line: usize,
        units: u32,
    },
    RequestReturn {
        order: Target,
        line: usize,
        units: u32,
        /// Authorise it in the same step (a desk that approves on the spot).
        authorise: bool,
    },
    AuthoriseReturn {
        rma: Target,
    },
    RejectReturn {
        rma: Target,
    },
    ReceiveReturn {
        rma: Target,
        units: u32,
        restock_at: Option<usize>,
    },
    Refund {
        payment: Target,
        /// `None`: all the customer's credit the payment can take.
        cents: Option<i64>,
    },
    Purchase {
        sku: usize,
        units: u32,
    },
}

/// Units for credits and returns: mostly one or two, sometimes none or too many.
fn units() -> impl Strategy<Value = u32> {
    prop_oneof![8 => 1u32..=2, 1 => Just(0u32), 1 => 3u32..=6]
}

fn cmd_gen() -> impl Strategy<Value = Cmd> {
    let ix = target;
    prop_oneof![
        6 => (
            0usize..3,
            prop::collection::vec((0usize..3, prop_oneof![20 => 1i64..=4, 3 => 5i64..=9, 1 => -1i64..=0]), 1..=3),
            0u8..4,
        )
            .prop_map(|(customer, lines, policy)| Cmd::Place { customer, lines, policy }),
        8 => (
            ix(),
            prop_oneof![
                2 => (1i64..=9).prop_map(PayKind::Partial),
                5 => Just(PayKind::Full),
                1 => (1i64..=500).prop_map(PayKind::Over),
            ],
            prop::bool::weighted(0.15),
            any::<bool>(),
        )
            .prop_map(|(order, kind, from_credit, excess_to_credit)| Cmd::Pay {
                order,
                kind,
                from_credit,
                excess_to_credit,
            }),
        8 => ix().prop_map(|order| Cmd::Ship { order }),
        8 => (ix(), prop::bool::weighted(0.8), any::<bool>()).prop_map(
            |(shipment, delivered, via_carrier)| Cmd::Track { shipment, delivered, via_carrier }
        ),
        2 => ix().prop_map(|order| Cmd::Cancel { order }),
        1 => ix().prop_map(|order| Cmd::Hold { order }),
        2 => (ix(), 0u8..3).prop_map(|(order, hold)| Cmd::Release { order, hold }),
        3 => (0usize..3, 0usize..2, prop_oneof![10 => 1i64..=6, 1 => -1i64..=0])
            .prop_map(|(sku, site, quantity)| Cmd::Receive { sku, site, quantity }),
        2 => (0usize..3, 0usize..2, -4i64..=4)
            .prop_map(|(sku, site, delta)| Cmd::Adjust { sku, site, delta }),
        2 => (ix(), 0usize..3, units())
            .prop_map(|(order, line, units)| Cmd::Credit { order, line, units }),
        5 => (ix(), 0usize..3, units(), prop::bool::weighted(0.7)).prop_map(
            |(order, line, units, authorise)| Cmd::RequestReturn { order, line, units, authorise }
        ),
        4 => ix().prop_map(|rma| Cmd::AuthoriseReturn { rma }),
        1 => ix().prop_map(|rma| Cmd::RejectReturn { rma }),
        4 => (ix(), units(), prop::option::of(0usize..2))
            .prop_map(|(rma, units, restock_at)| Cmd::ReceiveReturn { rma, units, restock_at }),
        3 => (ix(), prop::option::of(1i64..=3_000))
            .prop_map(|(payment, cents)| Cmd::Refund { payment, cents }),
        2 => (0usize..3, 1u32..=6).prop_map(|(sku, units)| Cmd::Purchase { sku, units }),
    ]
}

fn pick(n: usize, len: usize) -> Option<usize> {
    (len > 0).then(|| n % len)
}

/// The `t.n`-th of `0..len`, among those `live` accepts when `t.live` and there are any.
fn choose(len: usize, t: Target, live: impl Fn(usize) -> bool) -> Option<usize> {
    let candidates: Vec<usize> = (0..len).filter(|i| live(*i)).collect();
    if t.live && !candidates.is_empty() {
        Some(candidates[t.n % candidates.len()])
    } else {
        pick(t.n, len)
    }
}

impl Model {
    fn is_open(&self, order: usize) -> bool {
        matches!(self.orders[order].status, Status::Open | Status::OnHold)
    }

    fn order_where(&self, t: Target, live: impl Fn(&ModelOrder) -> bool) -> Option<usize> {
        choose(self.orders.len(), t, |i| live(&self.orders[i]))
    }

    /// An order and a line of it; live: a line with delivered units not yet asked back.
    fn returnable_line(&self, t: Target, line: usize) -> Option<(usize, usize)> {
        let live: Vec<(usize, usize)> = self
            .orders
            .iter()
            .enumerate()
            .flat_map(|(o, order)| {
                order
                    .lines
                    .iter()
                    .enumerate()
                    .filter(|(_, l)| l.delivered > l.return_requested)
                    .map(move |(i, _)| (o, i))
            })
            .collect();
        if t.live && !live.is_empty() {
            return Some(live[t.n % live.len()]);
        }
        let order = pick(t.n, self.orders.len())?;
        Some((order, line % self.orders[order].lines.len()))
    }

    /// The command's targets and amounts, from what the model knows; `None` when
    /// there is nothing for it to act on yet.
    fn resolve(&self, cmd: &Cmd) -> Option<Action> {
        Some(match cmd {
            Cmd::Place {
                customer,
                lines,
                policy,
            } => Action::Place {
                customer: *customer,
                lines: lines.clone(),
                policy: match policy {
                    1 => Some(Policy::Reject),
                    2 => Some(Policy::BackOrder),
                    3 => Some(Policy::ShipAvailable),
                    _ => None,
                },
            },
            Cmd::Pay {
                order,
                kind,
                from_credit,
                excess_to_credit,
            } => {
                let order = choose(self.orders.len(), *order, |i| {
                    self.is_open(i) && self.outstanding(i) > 0
                })?;
                let owed = self.outstanding(order);
                let amount = match kind {
                    _ if owed <= 0 => 100,
                    PayKind::Partial(tenths) => (owed * tenths / 10).max(1),
                    PayKind::Full => owed,
                    PayKind::Over(extra) => owed + extra,
                };
                Action::Pay {
                    order,
                    amount,
                    from_credit: *from_credit,
                    excess_to_credit: *excess_to_credit,
                }
            }
            Cmd::Ship { order } => Action::Ship {
                order: self.order_where(*order, |o| {
                    o.status == Status::Open && o.lines.iter().any(|l| !l.reservations.is_empty())
                })?,
            },
            Cmd::Track {
                shipment,
                delivered,
                via_carrier,
            } => Action::Track {
                shipment: choose(self.shipments.len(), *shipment, |i| {
                    !self.shipments[i].delivered
                })?,
                delivered: *delivered,
                via_carrier: *via_carrier,
            },
            Cmd::Cancel { order } => Action::Cancel {
                order: choose(self.orders.len(), *order, |i| self.is_open(i))?,
            },
            Cmd::Hold { order } => Action::Hold {
                order: choose(self.orders.len(), *order, |i| self.is_open(i))?,
            },
            Cmd::Release { order, hold } => {
                let hold = match hold {
                    0 => HoldKind::ManualReview,
                    1 => HoldKind::CreditLimit,
                    _ => HoldKind::AwaitingPayment,
                };
                Action::Release {
                    order: self.order_where(*order, |o| o.holds.contains(&hold))?,
                    hold,
                }
            }
            Cmd::Receive {
                sku,
                site,
                quantity,
            } => Action::Receive {
                sku: *sku,
                site: *site,
                quantity: *quantity,
            },
            Cmd::Adjust { sku, site, delta } => Action::Adjust {
                sku: *sku,
                site: *site,
                delta: *delta,
            },
            Cmd::Credit { order, line, units } => {
                let order = self.order_where(*order, |o| !o.void)?;
                Action::Credit {
                    order,
                    line: line % self.orders[order].lines.len(),
                    units: *units,
                }
            }
            Cmd::RequestReturn {
                order,
                line,
                units,
                authorise,
            } => {
                let (order, line) = self.returnable_line(*order, *line)?;
                Action::RequestReturn {
                    order,
                    line,
                    units: *units,
                    authorise: *authorise,
                }
            }
            Cmd::AuthoriseReturn { rma } => Action::AuthoriseReturn {
                rma: choose(self.returns.len(), *rma, |i| {
                    self.returns[i].status == RmaStatus::Requested
                })?,
            },
            Cmd::RejectReturn { rma } => Action::RejectReturn {
                rma: choose(self.returns.len(), *rma, |i| {
                    self.returns[i].status == RmaStatus::Requested
                })?,
            },
            Cmd::ReceiveReturn {
                rma,
                units,
                restock_at,
            } => Action::ReceiveReturn {
                rma: choose(self.returns.len(), *rma, |i| {
                    matches!(
                        self.returns[i].status,
                        RmaStatus::Authorised | RmaStatus::PartiallyReceived
                    )
                })?,
                units: *units,
                restock_at: *restock_at,
            },
            Cmd::Refund { payment, cents } => {
                let payment = choose(self.payments.len(), *payment, |i| {
                    let p = &self.payments[i];
                    !p.from_credit && p.refunded < p.amount && self.customers[p.customer].credit > 0
                })?;
                let p = &self.payments[payment];
                let amount = cents.unwrap_or_else(|| {
                    (p.amount - p.refunded)
                        .min(self.customers[p.customer].credit)
                        .max(1)
                });
                Action::Refund { payment, amount }
            }
            Cmd::Purchase { sku, units } => Action::Purchase {
                sku: *sku,
                units: *units,
            },
        })
    }
}

// ---------------------------------------------------------------------------
// Running an action against the real service
// ---------------------------------------------------------------------------

/// A booked shipment as the service reports it: id, tracking number, site code and
/// (line number, units) carried.
type Booked = (ShipmentId, TrackingNumber, String, Vec<(u16, u32)>);

/// Ids the service handed out, for the model to remember.
enum Created {
    Nothing,
    Order(OrderId, InvoiceId),
    Payment(PaymentId),
    Shipments(Vec<Booked>),
    Return(ReturnId),
}

fn hold_of(kind: HoldKind) -> Hold {
    match kind {
        HoldKind::AwaitingPayment => Hold::AwaitingPayment,
        HoldKind::CreditLimit => Hold::CreditLimit,
        HoldKind::ManualReview => Hold::ManualReview,
    }
}

fn line_no(line: usize) -> u16 {
    u16::try_from(line + 1).unwrap()
}

async fn execute(w: &World, m: &Model, step: usize, action: &Action) -> Result<Created, Error> {
    let oms = &w.oms;
    let k = key(&format!("step-{step}"));
    let order_id = |o: usize| m.orders[o].id.unwrap();
    Ok(match action {
        Action::Place {
            customer,
            lines,
            policy,
        } => {
            let mut cmd =
                PlaceOrder::new(k, m.customers[*customer].id, Channel::Web, Currency::USD);
            for (s, q) in lines {
                cmd = cmd.line(sku(SKUS[*s]), *q);
            }
            cmd.back_order = policy.map(|p| match p {
                Policy::Reject => BackOrderPolicy::Reject,
                Policy::BackOrder => BackOrderPolicy::BackOrder,
                Policy::ShipAvailable => BackOrderPolicy::ShipAvailable,
            });
            let order = oms.place_order(cmd).await?;
            Created::Order(order.id, order.invoices[0])
        }
        Action::Pay {
            order,
            amount,
            from_credit,
            excess_to_credit,
        } => {
            let method = if *from_credit {
                PaymentMethod::CustomerCredit
            } else {
                PaymentMethod::Card
            };
            let mut cmd =
                RecordPayment::new(k, m.orders[*order].invoice.unwrap(), cents(*amount), method);
            if *excess_to_credit {
                cmd.overpayment = OverpaymentPolicy::CreditCustomer;
            }
            Created::Payment(oms.record_payment(cmd).await?.id)
        }
        Action::Ship { order } => Created::Shipments(
            oms.ship(order_id(*order), o2c::ids::IdempotencyKey::generate())
                .await?
                .into_iter()
                .map(|s| {
                    let lines = s
                        .lines
                        .iter()
                        .map(|l| (l.line_no, l.quantity.units()))
                        .collect();
                    (s.id, s.tracking, s.location.to_string(), lines)
                })
                .collect(),
        ),
        Action::Track {
            shipment,
            delivered,
            via_carrier,
        } => {
            let (id, tracking) = m.shipments[*shipment].id.clone().unwrap();
            let status = if *delivered {
                ShipmentStatus::Delivered
            } else {
                ShipmentStatus::InTransit
            };
            let at = w.clock.now();
            if *via_carrier {
                oms.carrier()
                    .0
                    .scan(&tracking, status, at, &format!("scan {step}"))?;
                oms.refresh_tracking(id).await?;
            } else {
                let event = TrackingEvent {
                    at,
                    status,
                    description: format!("webhook {step}"),
                };
                oms.record_tracking(id, event).await?;
            }
            Created::Nothing
        }
        Action::Cancel { order } => {
            oms.cancel_order(
                order_id(*order),
                "model",
                o2c::ids::IdempotencyKey::generate(),
            )
            .await?;
            Created::Nothing
        }
        Action::Hold { order } => {
            oms.hold_order(
                order_id(*order),
                Hold::ManualReview,
                o2c::ids::IdempotencyKey::generate(),
            )
            .await?;
            Created::Nothing
        }
        Action::Release { order, hold } => {
            oms.release_hold(
                order_id(*order),
                hold_of(*hold),
                o2c::ids::IdempotencyKey::generate(),
            )
            .await?;
            Created::Nothing
        }
        Action::Receive {
            sku: s,
            site,
            quantity,
        } => {
            oms.receive_stock(
                ReceiveStock::new(k, sku(SKUS[*s]), loc(SITES[*site]), *quantity)
                    .with_reference(format!("step {step}")),
            )
            .await?;
            Created::Nothing
        }
        Action::Adjust {
            sku: s,
            site,
            delta,
        } => {
            oms.adjust_stock(o2c::AdjustStock::new(
                k,
                sku(SKUS[*s]),
                loc(SITES[*site]),
                *delta,
                format!("step {step}"),
            ))
            .await?;
            Created::Nothing
        }
        Action::Credit { order, line, units } => {
            oms.issue_credit_note(
                IssueCreditNote::new(k, m.orders[*order].invoice.unwrap(), "goodwill")
                    .with_lines(vec![(line_no(*line), Quantity::new(*units))]),
            )
            .await?;
            Created::Nothing
        }
        Action::RequestReturn {
            order,
            line,
            units,
            authorise,
        } => {
            let rma = oms
                .request_return(RequestReturn::new(k, order_id(*order)).with_lines(vec![(
                    line_no(*line),
                    Quantity::new(*units),
                    ReturnReason::NoLongerWanted,
                )]))
                .await?;
            if *authorise {
                oms.authorise_return(rma.id, o2c::ids::IdempotencyKey::generate())
                    .await?;
            }
            Created::Return(rma.id)
        }
        Action::AuthoriseReturn { rma } => {
            oms.authorise_return(
                m.returns[*rma].id.unwrap(),
                o2c::ids::IdempotencyKey::generate(),
            )
            .await?;
            Created::Nothing
        }
        Action::RejectReturn { rma } => {
            oms.reject_return(
                m.returns[*rma].id.unwrap(),
                o2c::ids::IdempotencyKey::generate(),
            )
            .await?;
            Created::Nothing
        }
        Action::ReceiveReturn {
            rma,
            units,
            restock_at,
        } => {
            let r = &m.returns[*rma];
            let condition = match restock_at {
                Some(site) => Condition::Resellable {
                    location: loc(SITES[*site]),
                },
                None => Condition::Damaged,
            };
            oms.receive_return(ReceiveReturn::new(k, r.id.unwrap()).with_lines(vec![(
                line_no(r.line),
                Quantity::new(*units),
                condition,
            )]))
            .await?;
            Created::Nothing
        }
        Action::Refund { payment, amount } => {
            oms.record_refund(RecordRefund::new(
                k,
                m.payments[*payment].id.unwrap(),
                cents(*amount),
            ))
            .await?;
            Created::Nothing
        }
        Action::Purchase { sku: s, units } => {
            let east = loc(SITES[0]);
            let po = oms
                .raise_purchase_order(
                    supplier_id(),
                    &east,
                    &[(sku(SKUS[*s]), Quantity::new(*units))],
                    o2c::ids::IdempotencyKey::generate(),
                )
                .await?;
            oms.approve_purchase_order(po.id, o2c::ids::IdempotencyKey::generate())
                .await?;
            oms.receive_purchase_order(
                ReceivePurchaseOrder::new(k, po.id)
                    .with_lines(vec![(sku(SKUS[*s]), Quantity::new(*units))]),
            )
            .await?;
            Created::Nothing
        }
    })
}

impl Model {
    /// Records the ids of what the accepted action created (the model put the
    /// records last), checking that shipments carry what the model expected.
    fn bind(&mut self, created: Created) -> Result<(), String> {
        match created {
            Created::Nothing => {}
            Created::Order(id, invoice) => {
                let o = self.orders.last_mut().unwrap();
                o.id = Some(id);
                o.invoice = Some(invoice);
            }
            Created::Payment(id) => self.payments.last_mut().unwrap().id = Some(id),
            Created::Return(id) => self.returns.last_mut().unwrap().id = Some(id),
            Created::Shipments(real) => {
                let new = self.shipments.len() - real.len();
                for (s, (id, tracking, site, lines)) in self.shipments[new..].iter_mut().zip(real) {
                    let expected: Vec<(u16, u32)> =
                        s.lines.iter().map(|(l, u)| (line_no(*l), *u)).collect();
                    if site != SITES[s.site] || lines != expected {
                        return Err(format!(
                            "shipment from {site} carries {lines:?}; the model expected {expected:?} from {}",
                            SITES[s.site]
                        ));
                    }
                    s.id = Some((id, tracking));
                }
            }
        }
        Ok(())
    }
}

// ---------------------------------------------------------------------------
// Comparing the two
// ---------------------------------------------------------------------------

fn status_of(s: OrderStatus) -> Status {
    match s {
        OrderStatus::Open => Status::Open,
        OrderStatus::OnHold => Status::OnHold,
        OrderStatus::Completed => Status::Completed,
        OrderStatus::Cancelled => Status::Cancelled,
    }
}

fn rma_status_of(s: ReturnStatus) -> Option<RmaStatus> {
    Some(match s {
        ReturnStatus::Requested => RmaStatus::Requested,
        ReturnStatus::Authorised => RmaStatus::Authorised,
        ReturnStatus::PartiallyReceived => RmaStatus::PartiallyReceived,
        ReturnStatus::Received => RmaStatus::Received,
        ReturnStatus::Rejected => RmaStatus::Rejected,
        ReturnStatus::Closed => return None,
    })
}

macro_rules! agree {
    ($what:expr, $real:expr, $model:expr) => {
        if ($real) != ($model) {
            return Err(format!(
                "{}: the service has {:?}, the model {:?}",
                $what, $real, $model
            ));
        }
    };
}

async fn compare_stock(w: &World, m: &Model) -> Result<(), String> {
    for (s, code) in SKUS.iter().enumerate() {
        for (site, at) in SITES.iter().enumerate() {
            let level = w.oms.stock_level(&sku(code), &loc(at)).await.unwrap();
            let model = &m.stock[s][site];
            agree!(format!("{code}@{at} on hand"), level.on_hand, model.on_hand);
            agree!(
                format!("{code}@{at} reserved"),
                level.reserved,
                model.reserved
            );
        }
    }
    Ok(())
}

async fn compare_orders(w: &World, m: &Model) -> Result<(), String> {
    for (n, o) in m.orders.iter().enumerate() {
        let real = w.oms.order(o.id.unwrap()).await.unwrap();
        let what = |field: &str| format!("order #{n} {field}");
        agree!(what("status"), status_of(real.status), o.status);
        let mut holds: Vec<Hold> = real.holds.clone();
        let mut expected: Vec<Hold> = o.holds.iter().copied().map(hold_of).collect();
        holds.sort_by_key(|h| format!("{h:?}"));
        expected.sort_by_key(|h| format!("{h:?}"));
        agree!(what("holds"), holds, expected);
        agree!(what("invoiced"), real.invoiced, cents(o.invoiced));
        agree!(what("paid"), real.paid, cents(o.paid));
        agree!(what("credited"), real.credit_total(), cents(o.credited));
        agree!(what("total"), real.total().unwrap(), cents(o.total));
        agree!(what("line count"), real.lines.len(), o.lines.len());
        for (i, (r, l)) in real.lines.iter().zip(&o.lines).enumerate() {
            let what = |field: &str| format!("order #{n} line {} {field}", i + 1);
            agree!(what("quantity"), r.quantity.units(), l.quantity);
            agree!(what("shipped"), r.shipped.units(), l.shipped);
            agree!(what("delivered"), r.delivered.units(), l.delivered);
            agree!(what("cancelled"), r.cancelled.units(), l.cancelled);
            agree!(what("back-ordered"), r.backordered.units(), l.backordered);
            agree!(
                what("asked back"),
                r.return_requested.units(),
                l.return_requested
            );
            agree!(what("returned"), r.returned.units(), l.returned);
            let reservations: Vec<(String, u32)> = r
                .reservations
                .iter()
                .map(|x| (x.location.to_string(), x.quantity.units()))
                .collect();
            let expected: Vec<(String, u32)> = l
                .reservations
                .iter()
                .map(|(site, u)| (SITES[*site].to_owned(), *u))
                .collect();
            agree!(what("reservations"), reservations, expected);
        }
    }
    Ok(())
}

async fn compare_accounts(w: &World, m: &Model) -> Result<(), String> {
    for (n, c) in m.customers.iter().enumerate() {
        let real = w.oms.customer(c.id).await.unwrap();
        agree!(
            format!("customer #{n} balance"),
            real.history.balance,
            cents(c.balance)
        );
        agree!(
            format!("customer #{n} credit"),
            real.history.credit,
            cents(c.credit)
        );
    }
    for (n, p) in m.payments.iter().enumerate() {
        let real = w.oms.payment(p.id.unwrap()).await.unwrap();
        agree!(
            format!("payment #{n} refunded"),
            real.refund_total(),
            cents(p.refunded)
        );
    }
    for (n, s) in m.shipments.iter().enumerate() {
        let real = w.oms.shipment(s.id.clone().unwrap().0).await.unwrap();
        agree!(
            format!("shipment #{n} delivered"),
            real.status == ShipmentStatus::Delivered,
            s.delivered
        );
    }
    for (n, r) in m.returns.iter().enumerate() {
        let real = w.oms.return_authorization(r.id.unwrap()).await.unwrap();
        agree!(
            format!("return #{n} status"),
            rma_status_of(real.status),
            Some(r.status)
        );
    }
    Ok(())
}

async fn compare(w: &World, m: &Model) -> Result<(), String> {
    compare_stock(w, m).await?;
    compare_orders(w, m).await?;
    compare_accounts(w, m).await?;
    let report = w.oms.audit().await.unwrap();
    if !report.is_clean() {
        return Err(format!("audit violations: {:?}", report.violations));
    }
    Ok(())
}

/// Runs one step on both sides and says where they part.
async fn step(w: &World, model: &mut Model, n: usize, cmd: &Cmd) -> Result<(), String> {
    let Some(action) = model.resolve(cmd) else {
        return Ok(());
    };
    let mut next = model.clone();
    let predicted = next.apply(&action);
    let before = snapshot(&w.oms).await;
    let real = execute(w, model, n, &action).await;
    match (predicted, real) {
        (Ok(()), Ok(created)) => {
            next.bind(created)?;
            *model = next;
        }
        (Err(expected), Err(e)) => {
            if refusal_of(&e) != Some(expected) {
                return Err(format!(
                    "{action:?}: the model expected {expected:?}, got {e:?}"
                ));
            }
            if snapshot(&w.oms).await != before {
                return Err(format!(
                    "{action:?} failed with {e:?} but changed the store"
                ));
            }
        }
        (Ok(()), Err(e)) => {
            return Err(format!(
                "{action:?}: the model accepts it, the service refused: {e:?}"
            ));
        }
        (Err(expected), Ok(_)) => {
            return Err(format!(
                "{action:?}: the model expected {expected:?}, the service accepted it"
            ));
        }
    }
    compare(w, model)
        .await
        .map_err(|e| format!("after {action:?}: {e}"))
}

async fn scenario(split_always: bool, cmds: &[Cmd]) -> Result<(), String> {
    let strategy = if split_always {
        AllocationStrategy::PriorityOrder
    } else {
        AllocationStrategy::SingleLocationFirst
    };
    let w = model_world(strategy).await;
    let pat = customer(&w, "Pat", PaymentTerms::Prepaid, None).await;
    let bea = customer(&w, "Bea", PaymentTerms::Net { days: 30 }, None).await;
    let lim = customer(
        &w,
        "Lim",
        PaymentTerms::Net { days: 14 },
        Some(cents(LIMIT)),
    )
    .await;
    let model_customer = |id, prepaid, limit| ModelCustomer {
        id,
        prepaid,
        limit,
        balance: 0,
        credit: 0,
    };
    let mut model = Model::new(
        split_always,
        vec![
            model_customer(pat.id, true, None),
            model_customer(bea.id, false, None),
            model_customer(lim.id, false, Some(LIMIT)),
        ],
    );
    compare(&w, &model).await?;
    for (n, cmd) in cmds.iter().enumerate() {
        w.clock.advance(Duration::minutes(5));
        step(&w, &mut model, n + 1, cmd)
            .await
            .map_err(|e| format!("step {} of {}: {e}", n + 1, cmds.len()))?;
    }
    Ok(())
}

fn cases(default: u32) -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(default)
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: cases(128),
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    /// The service and the model agree after every step of any command sequence.
    #[test]
    fn the_service_behaves_like_the_model(
        split_always in any::<bool>(),
        cmds in prop::collection::vec(cmd_gen(), 1..=40),
    ) {
        let outcome = pollster::block_on(scenario(split_always, &cmds));
        prop_assert!(outcome.is_ok(), "{}", outcome.unwrap_err());
    }
}
