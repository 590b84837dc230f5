//! What the returns decisions' tests are given, built in memory with no store:
//! Ada's delivered order, its paid invoice, the catalogue, a warehouse, and a
//! decision context.

use std::sync::Arc;

use rust_decimal::Decimal;

use super::{
    Condition, ReceiptReads, ReceiveReturn, RequestReturn, ReturnAuthorization, ReturnLine,
    ReturnReason, ReturnStatus,
};
use crate::catalog::{Product, Products, TaxClass, TaxTable};
use crate::customer::{Address, Customer, CustomerHistory, NewCustomer, PaymentTerms};
use crate::ids::{CustomerId, IdempotencyKey, LocationId, OrderId, ReturnId, Sku};
use crate::ledger::{Invoice, InvoiceStatus};
use crate::money::Currency;
use crate::order::{
    Channel, Delivery, Order, OrderInputs, PlaceOrder, Placing, ServiceLevel, price_lines,
};
use crate::quantity::Quantity;
use crate::stock::{AllocationStrategy, Location, LocationKind, StockLevel};
use crate::store::Versioned;

pub(super) use crate::ledger::fixtures::{Books, at, usd};
use crate::ledger::fixtures::{bill, open_order};

fn uuid(n: u128) -> uuid::Uuid {
    uuid::Uuid::from_u128(n)
}

pub(super) fn sku(code: &str) -> Sku {
    Sku::new(code).unwrap()
}

/// The warehouse goods come back to.
pub(super) fn warehouse() -> LocationId {
    LocationId::new("WH").unwrap()
}

/// How a replacement is placed: invoiced at once.
pub(super) fn rules() -> Placing {
    Placing {
        allocation: AllocationStrategy::default(),
        invoice_policy: crate::ledger::InvoicePolicy::default(),
        invoice_now: true,
        through_provider: false,
    }
}

/// Mugs at 10.00 (cost 4.00) and cups at 5.00 (cost 2.00), 10 % tax.
fn catalogue() -> (Products<'static>, TaxTable) {
    let products = [
        Product::new(sku("MUG"), "Mug", usd(1000), usd(400), TaxClass::standard()),
        Product::new(sku("CUP"), "Cup", usd(500), usd(200), TaxClass::standard()),
    ]
    .into_iter()
    .collect();
    let tax = TaxTable::new().with_rate(TaxClass::standard(), None, Decimal::new(10, 2));
    (products, tax)
}

/// What prices a replacement: the catalogue and the warehouse, no stock.
pub(super) fn prices() -> OrderInputs<'static> {
    let (products, tax) = catalogue();
    OrderInputs::owned(products, tax, vec![site()], Vec::new())
}

/// Nothing: all a plain return needs.
pub(super) fn empty_prices() -> OrderInputs<'static> {
    OrderInputs::owned(
        Products::default(),
        TaxTable::default(),
        Vec::new(),
        Vec::new(),
    )
}

fn site() -> Location {
    let address = Address::new("WH", "1 Dock Rd", "Reno", "89501", "US");
    Location::new(
        warehouse(),
        "Warehouse",
        LocationKind::Warehouse,
        address,
        1,
    )
}

/// Ada, on 30 days' terms.
pub(super) fn ada() -> Customer {
    let address = Address::new("Ada", "1 High St", "Leeds", "LS1 1AA", "GB");
    let mut profile = NewCustomer::new("Ada", "ada@example.com", address, Currency::USD);
    profile.terms = PaymentTerms::Net { days: 30 };
    Customer {
        id: CustomerId::from_uuid(uuid(1)),
        profile: Arc::new(profile),
        history: CustomerHistory::new(Currency::USD),
        registered_at: at(),
        overdue_since: None,
    }
}

/// Ada's order of two mugs (line 1: shipped and delivered, at a cost of goods
/// of 8.00) and two cups (line 2: not shipped yet), all billed on one invoice
/// with 4.00 shipping: 37.00.
pub(super) fn delivered() -> Order {
    delivered_and_billed().0
}

/// [`delivered`], with its invoice paid in full and Ada as it leaves her.
pub(super) fn delivered_and_billed() -> (Order, Invoice, Customer) {
    let (products, tax) = catalogue();
    let key = IdempotencyKey::new("o-1").unwrap();
    let mut customer = ada();
    let cmd = PlaceOrder::new(key.clone(), customer.id, Channel::Web, Currency::USD)
        .line(sku("MUG"), 2)
        .line(sku("CUP"), 2);
    let mut lines = price_lines(&cmd, |s| products.get(s), &tax, "GB").unwrap();
    lines[0].shipped = Quantity::new(2);
    lines[0].delivered = Quantity::new(2);
    lines[0].shipped_cost = Some(usd(800));
    let address = customer.default_address().cloned().unwrap();
    let delivery = Delivery::Ship {
        address: Arc::new(address),
        service: ServiceLevel::Standard,
    };
    let mut order = open_order(&customer, key, lines, delivery);
    let mut invoice = bill(&mut order, &[0, 1], true, 3);
    let total = invoice.total().unwrap();
    invoice.paid = total;
    invoice.status = InvoiceStatus::Paid;
    order.paid = total;
    customer.history.orders_placed = 1;
    customer.history.lifetime_value = total;
    (order, invoice, customer)
}

/// A request for `lines` (line number, units) of [`delivered`].
pub(super) fn return_of(lines: &[(u16, u32)]) -> RequestReturn {
    RequestReturn {
        idempotency_key: IdempotencyKey::new("r-1").unwrap(),
        order: OrderId::from_uuid(uuid(2)),
        lines: lines
            .iter()
            .map(|(l, n)| (*l, Quantity::new(*n), ReturnReason::Defective))
            .collect(),
    }
}

/// [`delivered`] with one mug asked back, and the return asking for it.
pub(super) fn requested() -> (Order, ReturnAuthorization) {
    let mut order = delivered();
    order.lines[0].return_requested = Quantity::new(1);
    let rma = ReturnAuthorization {
        id: ReturnId::from_uuid(uuid(4)),
        number: None,
        order: order.id,
        customer: order.customer,
        invoices: order.invoices.clone(),
        lines: vec![ReturnLine {
            line_no: 1,
            sku: sku("MUG"),
            quantity: Quantity::new(1),
            received: Quantity::ZERO,
            reason: ReturnReason::Defective,
            restocked: Quantity::ZERO,
            cost_returned: None,
            cost_written_off: None,
        }],
        status: ReturnStatus::Requested,
        requested_at: at(),
        replacement: Vec::new(),
        replacement_order: None,
        credit_given: None,
    };
    (order, rma)
}

/// A receipt of `units` of line 1 in `condition`.
pub(super) fn receipt(units: u32, condition: Condition) -> ReceiveReturn {
    ReceiveReturn {
        idempotency_key: IdempotencyKey::new("in-1").unwrap(),
        rma: ReturnId::from_uuid(uuid(4)),
        lines: vec![(1, Quantity::new(units), condition)],
    }
}

/// Back on the shelf at the warehouse.
pub(super) fn resellable() -> Condition {
    Condition::Resellable {
        location: warehouse(),
    }
}

/// What a receipt of the authorised return of one mug reads: the paid order, its
/// invoice, Ada, the catalogue with `on_hand` mugs and cups at the warehouse, and
/// no one waiting for mugs.
pub(super) fn receipt_reads(on_hand: i64) -> ReceiptReads {
    let (_, invoice, customer) = delivered_and_billed();
    let (order, mut rma) = requested();
    rma.authorise().unwrap();
    let (products, tax) = catalogue();
    let levels = ["MUG", "CUP"]
        .into_iter()
        .map(|s| StockLevel {
            on_hand,
            ..StockLevel::empty(sku(s), warehouse())
        })
        .collect();
    ReceiptReads {
        rma: Versioned {
            value: rma,
            version: 2,
        },
        order: Versioned {
            value: order,
            version: 5,
        },
        customer: Versioned {
            value: customer,
            version: 1,
        },
        invoices: vec![Versioned {
            value: invoice,
            version: 3,
        }],
        catalogue: OrderInputs::owned(products, tax, vec![site()], levels),
        product_versions: vec![(sku("MUG"), 1), (sku("CUP"), 1)],
        queues: vec![(sku("MUG"), None)],
        waiting: Vec::new(),
        supply: None,
    }
}
