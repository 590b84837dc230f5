//! What the purchasing and stock decision tests are given, built in memory with
//! no store: a warehouse, a mug and a cup, a supplier of both, purchase orders and
//! a customer waiting for mugs.

use chrono::NaiveDate;
use rust_decimal::Decimal;

use super::{BackOrderQueue, Offer, PurchaseOrder, Supplier};
use crate::catalog::{Product, TaxClass, TaxTable};
use crate::customer::Address;
use crate::ids::{
    CustomerId, IdempotencyKey, LocationId, OrderId, PurchaseOrderId, Sku, SupplierId,
};
use crate::money::{Currency, Money};
use crate::order::{Channel, Delivery, Order, OrderStatus, PlaceOrder, price_lines};
use crate::purchasing::BackOrderPolicy;
use crate::quantity::Quantity;
use crate::stock::{Location, LocationKind, StockLevel};
use crate::store::Versioned;

pub(crate) use crate::ledger::fixtures::{Books, at, usd};

pub(crate) fn today() -> NaiveDate {
    at().date_naive()
}

/// `today` plus `days`.
pub(crate) fn in_days(days: u64) -> NaiveDate {
    today().checked_add_days(chrono::Days::new(days)).unwrap()
}

pub(crate) fn uuid(n: u128) -> uuid::Uuid {
    uuid::Uuid::from_u128(n)
}

pub(crate) fn sku(code: &str) -> Sku {
    Sku::new(code).unwrap()
}

pub(crate) fn dc() -> LocationId {
    LocationId::new("DC").unwrap()
}

/// The warehouse `DC`, which fulfils orders.
pub(crate) fn warehouse() -> Location {
    let address = Address::new("DC", "1 Dock Rd", "Reno", "89501", "US");
    Location::new(dc(), "DC", LocationKind::Warehouse, address, 1)
}

/// A mug sold at 10.00 and carried at `cost`, read at version 3.
pub(crate) fn mug(cost: Money) -> Versioned<Product> {
    Versioned {
        value: Product::new(sku("MUG"), "Mug", usd(1000), cost, TaxClass::standard()),
        version: 3,
    }
}

/// A cup sold at 5.00 and carried at 2.00.
pub(crate) fn cup() -> Product {
    Product::new(sku("CUP"), "Cup", usd(500), usd(200), TaxClass::standard())
}

/// `DC`'s stock of `sku`: `on_hand`, `reserved` of it.
pub(crate) fn level(sku_code: &str, on_hand: i64, reserved: i64) -> StockLevel {
    let mut level = StockLevel::empty(sku(sku_code), dc());
    level.on_hand = on_hand;
    level.reserved = reserved;
    level
}

/// Mills, in dollars: mugs at 2.50 arriving in 5 days, cups at 1.00 in packs of 6
/// arriving in 10; both valid from a month ago for a year.
pub(crate) fn mills() -> Supplier {
    let (from, until) = (
        today().checked_sub_days(chrono::Days::new(30)).unwrap(),
        in_days(365),
    );
    let mut cups = Offer::new(sku("CUP"), usd(100), 10, from, until);
    cups.pack_size = Quantity::new(6);
    Supplier::new(SupplierId::from_uuid(uuid(5)), "Mills", Currency::USD)
        .offer(Offer::new(sku("MUG"), usd(250), 5, from, until))
        .offer(cups)
}

/// A draft to Mills for `lines` (SKU, units, unit cost), delivered to `DC` in 5
/// days.
pub(crate) fn draft(n: u128, lines: Vec<(Sku, u32, Money)>) -> PurchaseOrder {
    PurchaseOrder::draft(
        PurchaseOrderId::from_uuid(uuid(n)),
        SupplierId::from_uuid(uuid(5)),
        Currency::USD,
        dc(),
        lines
            .into_iter()
            .map(|(sku, units, cost)| (sku, Quantity::new(units), cost))
            .collect(),
        in_days(5),
        at(),
    )
    .unwrap()
}

/// [`draft`] of `units` mugs at 2.50, approved.
pub(crate) fn mugs_on_order(n: u128, units: u32) -> PurchaseOrder {
    let mut po = draft(n, vec![(sku("MUG"), units, usd(250))]);
    po.approve().unwrap();
    po
}

/// A customer's order (id `n`) for `units` mugs, all of them back-ordered and
/// waiting to be delivered from `DC`, promised nothing yet, with the mug queue
/// holding it (read at version 7).
pub(crate) fn waiting_for_mugs(
    n: u128,
    units: u32,
) -> (Versioned<Order>, Versioned<BackOrderQueue>) {
    let key = IdempotencyKey::new(format!("o-{n}")).unwrap();
    let customer = CustomerId::from_uuid(uuid(1));
    let cmd = PlaceOrder::new(key.clone(), customer, Channel::Phone, Currency::USD)
        .line(sku("MUG"), i64::from(units));
    let tax = TaxTable::new().with_rate(TaxClass::standard(), None, Decimal::ZERO);
    let mug = mug(usd(400)).value;
    let mut lines = price_lines(&cmd, |s| (s == &mug.sku).then_some(&mug), &tax, "US").unwrap();
    for line in &mut lines {
        line.backordered = Quantity::new(units);
    }
    let order = Order {
        id: OrderId::from_uuid(uuid(n)),
        number: None,
        customer,
        channel: Channel::Phone,
        currency: Currency::USD,
        lines: lines.into(),
        delivery: Delivery::Pickup { location: dc() },
        shipping_charge: usd(0),
        status: OrderStatus::Open,
        holds: Vec::new(),
        awaiting_payment_since: None,
        invoices: Vec::new(),
        shipments: Vec::new(),
        invoiced: usd(0),
        paid: usd(0),
        placed_at: at(),
        closed_at: None,
        idempotency_key: key,
        note: None,
        back_order: BackOrderPolicy::BackOrder,
        back_order_requested: None,
        credited: None,
        authorisations: Vec::new(),
        through_provider: false,
    };
    let mut queue = BackOrderQueue::new(sku("MUG"));
    queue.push(order.id, 1, None, Quantity::new(units), at(), 0);
    (
        Versioned {
            value: order,
            version: 2,
        },
        Versioned {
            value: queue,
            version: 7,
        },
    )
}
