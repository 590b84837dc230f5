//! What the ledger's decision tests are given: a customer, an order, its invoice
//! and a decision context, built in memory with no store.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;

use super::{AccountMap, ChartOfAccounts, Invoice, InvoiceNumber, InvoiceStatus, Postings};
use crate::catalog::{Product, TaxClass, TaxTable};
use crate::clock::SeededIds;
use crate::customer::{Address, Customer, CustomerHistory, NewCustomer, PaymentTerms};
use crate::decide::Context;
use crate::ids::{CustomerId, IdempotencyKey, InvoiceId, LocationId, OrderId, Sku};
use crate::money::{Currency, Money};
use crate::order::{Channel, Delivery, Order, OrderStatus, PlaceOrder, price_lines};
use crate::purchasing::BackOrderPolicy;
use crate::quantity::Quantity;

pub(crate) fn usd(cents: i64) -> Money {
    Money::from_minor(cents, Currency::USD)
}

/// The time every test decides at.
pub(crate) fn at() -> DateTime<Utc> {
    DateTime::<Utc>::UNIX_EPOCH + chrono::Duration::days(20_000)
}

fn uuid(n: u128) -> uuid::Uuid {
    uuid::Uuid::from_u128(n)
}

/// The default chart and accounts, and seeded ids: what a [`Context`] borrows.
pub(crate) struct Books {
    chart: ChartOfAccounts,
    accounts: AccountMap,
    ids: SeededIds,
}

impl Books {
    pub(crate) fn new() -> Self {
        Self {
            chart: ChartOfAccounts::default(),
            accounts: AccountMap::default(),
            ids: SeededIds::new(9),
        }
    }

    /// A context at [`at`].
    pub(crate) fn ctx(&self) -> Context<'_> {
        Context::new(at(), &self.ids, Postings::new(&self.chart, &self.accounts))
    }
}

/// Ada, on 30 days' terms, with an open order of two mugs at 10.00 (line 1) and
/// two cups at 5.00 (line 2), 10 % tax on both, and 4.00 shipping: 37.00 in all,
/// none of it invoiced yet and all of it expected.
pub(crate) fn given_order() -> (Customer, Order) {
    let address = Address::new("Ada", "1 High St", "Leeds", "LS1 1AA", "GB");
    let mut profile = NewCustomer::new("Ada", "ada@example.com", address, Currency::USD);
    profile.terms = PaymentTerms::Net { days: 30 };
    let mut customer = Customer {
        id: CustomerId::from_uuid(uuid(1)),
        profile: Arc::new(profile),
        history: CustomerHistory::new(Currency::USD),
        registered_at: at(),
        overdue_since: None,
    };
    let (mug, cup) = (Sku::new("MUG").unwrap(), Sku::new("CUP").unwrap());
    let products = [
        Product::new(
            mug.clone(),
            "Mug",
            usd(1000),
            usd(400),
            TaxClass::standard(),
        ),
        Product::new(cup.clone(), "Cup", usd(500), usd(200), TaxClass::standard()),
    ];
    let tax = TaxTable::new().with_rate(TaxClass::standard(), None, Decimal::new(10, 2));
    let key = IdempotencyKey::new("o-1").unwrap();
    let cmd = PlaceOrder::new(key.clone(), customer.id, Channel::Web, Currency::USD)
        .line(mug, 2)
        .line(cup, 2);
    let lines = price_lines(&cmd, |s| products.iter().find(|p| &p.sku == s), &tax, "GB").unwrap();
    let delivery = Delivery::Pickup {
        location: LocationId::new("SHOP").unwrap(),
    };
    let order = open_order(&customer, key, lines, delivery);
    customer.history.orders_placed = 1;
    customer.history.lifetime_value = usd(3700);
    customer.history.uninvoiced = usd(3700);
    (customer, order)
}

/// An open order (id 2) of `lines` for `customer`, placed at [`at`] with 4.00
/// shipping, nothing invoiced or paid: the order every decision test starts from.
pub(crate) fn open_order(
    customer: &Customer,
    key: IdempotencyKey,
    lines: Vec<crate::order::OrderLine>,
    delivery: Delivery,
) -> Order {
    Order {
        id: OrderId::from_uuid(uuid(2)),
        number: None,
        customer: customer.id,
        channel: Channel::Web,
        currency: Currency::USD,
        lines: lines.into(),
        delivery,
        shipping_charge: usd(400),
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
        back_order: BackOrderPolicy::Reject,
        back_order_requested: None,
        credited: None,
        authorisations: Vec::new(),
        through_provider: false,
    }
}

/// [`given_order`] invoiced in full on one open invoice of 37.00, which Ada owes.
pub(crate) fn given_invoiced() -> (Customer, Order, Invoice) {
    let (mut customer, mut order) = given_order();
    let invoice = bill(&mut order, &[0, 1], true, 3);
    customer.history.uninvoiced = usd(0);
    customer.history.balance = order.invoiced;
    (customer, order, invoice)
}

/// Bills every unit of the lines at `indices` (and the shipping, if `with_shipping`)
/// on a new open invoice with id `n`, as invoicing would.
pub(crate) fn bill(order: &mut Order, indices: &[usize], with_shipping: bool, n: u128) -> Invoice {
    let portions: Vec<(usize, Quantity)> = indices
        .iter()
        .map(|i| (*i, order.lines[*i].quantity))
        .collect();
    let (lines, shipping) = order.bill(&portions, with_shipping).unwrap();
    let invoice = Invoice {
        id: InvoiceId::from_uuid(uuid(n)),
        number: InvoiceNumber::new(1),
        order: order.id,
        customer: order.customer,
        issued_at: at(),
        due_at: at(),
        lines: lines.into(),
        shipping,
        paid: usd(0),
        status: InvoiceStatus::Open,
        credited: None,
        shipping_credited: None,
        reminders: 0,
        next_reminder_at: None,
    };
    order.invoices.push(invoice.id);
    order.invoiced = order
        .invoiced
        .checked_add(invoice.total().unwrap())
        .unwrap();
    invoice
}

/// `invoice` paid in full, with its order and customer.
pub(crate) fn pay(invoice: &mut Invoice, order: &mut Order, customer: &mut Customer) {
    let total = invoice.total().unwrap();
    invoice.paid = total;
    invoice.status = InvoiceStatus::Paid;
    order.paid = order.paid.checked_add(total).unwrap();
    customer.history.balance = customer.history.balance.checked_sub(total).unwrap();
}
