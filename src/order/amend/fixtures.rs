//! What the amendment's decision tests are given: a customer, an order shipping
//! to Great Britain, its products, stock and locations, built in memory with no
//! store.

use std::sync::Arc;

use rust_decimal::Decimal;

use super::{AmendInputs, AmendOrder, AmendRules, Decided, amend, inputs};
use crate::catalog::{Product, Products, TaxClass, TaxTable};
use crate::clock::SeededIds;
use crate::customer::{Address, Customer, CustomerHistory, NewCustomer, PaymentTerms};
use crate::decide::Context;
use crate::error::Error;
use crate::ids::{CustomerId, IdempotencyKey, LocationId, OrderId, Sku};
use crate::ledger::{AccountMap, ChartOfAccounts, Invoice, InvoicePolicy, Postings};
use crate::money::Currency;
use crate::order::{
    Channel, Delivery, LineReservation, Order, PlaceOrder, ServiceLevel, price_lines,
};
use crate::purchasing::BackOrderQueue;
use crate::stock::{AllocationStrategy, Location, LocationKind, StockLevel};
use crate::store::{Changeset, Versioned};

pub(super) use crate::ledger::fixtures::{at, usd};
use crate::ledger::fixtures::{bill, open_order};

/// The time every test decides at.
pub(super) fn sku(code: &str) -> Sku {
    Sku::new(code).unwrap()
}

pub(super) fn key(k: &str) -> IdempotencyKey {
    IdempotencyKey::new(k).unwrap()
}

pub(super) fn warehouse() -> LocationId {
    LocationId::new("WH-1").unwrap()
}

pub(super) fn order_id(n: u128) -> OrderId {
    OrderId::from_uuid(uuid::Uuid::from_u128(n))
}

pub(super) fn address(country: &str) -> Address {
    Address::new("Ada", "1 High St", "Leeds", "LS1 1AA", country)
}

/// Everything a decision is given, and the books its context borrows.
pub(super) struct Given {
    pub customer: Customer,
    pub order: Order,
    pub products: Products<'static>,
    pub tax: TaxTable,
    pub locations: Vec<Location>,
    pub levels: Vec<StockLevel>,
    pub invoices: Vec<Versioned<Invoice>>,
    pub queues: Vec<BackOrderQueue>,
    pub rules: AmendRules,
    chart: ChartOfAccounts,
    accounts: AccountMap,
    ids: SeededIds,
}

/// Ada, on 30 days' terms, with an open order shipping to Great Britain: two
/// mugs at 10.00 (line 1) and two cups at 5.00 (line 2), 10 % tax, 4.00 shipping,
/// every unit reserved at WH-1, nothing invoiced (invoices go with shipments). WH-1 holds 5 mugs, 2 cups and
/// 1 teapot (30.00); France taxes at 20 %.
pub(super) fn given() -> Given {
    let mut profile = NewCustomer::new("Ada", "ada@example.com", address("GB"), Currency::USD);
    profile.terms = PaymentTerms::Net { days: 30 };
    let mut customer = Customer {
        id: CustomerId::from_uuid(uuid::Uuid::from_u128(1)),
        profile: Arc::new(profile),
        history: CustomerHistory::new(Currency::USD),
        registered_at: at(),
        overdue_since: None,
    };
    let mut products = Products::default();
    for (code, name, cents) in [
        ("MUG", "Mug", 1000),
        ("CUP", "Cup", 500),
        ("POT", "Teapot", 3000),
    ] {
        let product = Product::new(
            sku(code),
            name,
            usd(cents),
            usd(cents / 2),
            TaxClass::standard(),
        );
        products.insert(product);
    }
    let tax = TaxTable::new()
        .with_rate(TaxClass::standard(), None, Decimal::new(10, 2))
        .with_rate(TaxClass::standard(), Some("FR"), Decimal::new(20, 2));
    let cmd = PlaceOrder::new(key("o-1"), customer.id, Channel::Web, Currency::USD)
        .line(sku("MUG"), 2)
        .line(sku("CUP"), 2);
    let mut lines = price_lines(&cmd, |s| products.get(s), &tax, "GB").unwrap();
    for line in &mut lines {
        line.reservations
            .push(LineReservation::new(warehouse(), line.quantity));
    }
    let delivery = Delivery::Ship {
        address: Arc::new(address("GB")),
        service: ServiceLevel::Standard,
    };
    let order = open_order(&customer, key("o-1"), lines, delivery);
    customer.history.orders_placed = 1;
    customer.history.lifetime_value = usd(3700);
    customer.history.uninvoiced = usd(3700);
    let location = Location::new(
        warehouse(),
        "WH-1",
        LocationKind::Warehouse,
        address("GB"),
        1,
    );
    let level = |code: &str, on_hand: i64, reserved: i64| StockLevel {
        on_hand,
        reserved,
        ..StockLevel::empty(sku(code), warehouse())
    };
    Given {
        customer,
        order,
        products,
        tax,
        locations: vec![location],
        levels: vec![level("MUG", 5, 2), level("CUP", 2, 2), level("POT", 1, 0)],
        invoices: Vec::new(),
        queues: Vec::new(),
        rules: AmendRules {
            allocation: AllocationStrategy::default(),
            invoice_policy: InvoicePolicy::OnShipment,
        },
        chart: ChartOfAccounts::default(),
        accounts: AccountMap::default(),
        ids: SeededIds::new(9),
    }
}

/// [`given`], its order invoiced in full (37.00) on one open invoice Ada owes.
pub(super) fn given_invoiced() -> Given {
    let mut given = given();
    let order = &mut given.order;
    let every: Vec<usize> = (0..order.lines.len()).collect();
    let invoice = bill(order, &every, true, 3);
    given.customer.history.uninvoiced = usd(0);
    given.customer.history.balance = order.invoiced;
    given.invoices.push(Versioned {
        value: invoice,
        version: 1,
    });
    given
}

impl Given {
    /// What the driver would read for `cmd`: the queues of its SKUs (absent ones
    /// as none yet), no supply and no waiting orders.
    pub(super) fn inputs(&self, cmd: &AmendOrder) -> AmendInputs {
        let queues = inputs::skus(cmd, &self.order)
            .into_iter()
            .map(|sku| {
                let queue = self
                    .queues
                    .iter()
                    .find(|q| q.sku == sku)
                    .map(|q| Versioned {
                        value: q.clone(),
                        version: 1,
                    });
                (sku, queue)
            })
            .collect();
        AmendInputs {
            products: self.products.clone(),
            tax: self.tax.clone(),
            locations: self.locations.clone(),
            levels: self.levels.clone(),
            invoices: self.invoices.clone(),
            queues,
            waiting: None,
            supply: None,
        }
    }

    /// A context at [`at`].
    pub(super) fn ctx(&self) -> Context<'_> {
        Context::new(at(), &self.ids, Postings::new(&self.chart, &self.accounts))
    }

    /// Decides `cmd` once on `inputs`: what it decided, the customer as it left
    /// them, and the changes.
    pub(super) fn decide_on(
        &self,
        cmd: &AmendOrder,
        inputs: &AmendInputs,
    ) -> Result<(Decided, Customer, Changeset), Error> {
        let mut buyer = self.customer.clone();
        let mut changes = Changeset::new(at());
        let ctx = self.ctx();
        let decided = amend(
            cmd,
            &self.order,
            &mut buyer,
            inputs,
            self.rules,
            &ctx,
            &mut changes,
        )?;
        Ok((decided, buyer, changes))
    }

    /// Decides `cmd` on what the driver reads first, which must be enough.
    pub(super) fn amend(&self, cmd: &AmendOrder) -> Result<(Order, Customer, Changeset), Error> {
        match self.decide_on(cmd, &self.inputs(cmd))? {
            (Decided::Amended(order), buyer, changes) => Ok((*order, buyer, changes)),
            (Decided::Needs(needs), ..) => panic!("needs more reads: {needs:?}"),
        }
    }
}
