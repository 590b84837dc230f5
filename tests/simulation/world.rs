//! The simulated company's master data, on any store and carrier: the test world's
//! catalogue and warehouses (see `tests/common`), plus a scarce back-ordered SKU,
//! a supplier for it all, and a handful of customers on different terms.

use chrono::Duration;
use o2c::catalog::{Product, TaxClass, TaxTable};
use o2c::customer::{NewCustomer, PaymentMethod, PaymentTerms};
use o2c::fulfilment::Carrier;
use o2c::ids::{CustomerId, SupplierId};
use o2c::money::{Currency, Money};
use o2c::purchasing::{BackOrderPolicy, Offer, Supplier};
use o2c::stock::{Location, LocationKind};
use o2c::store::Store;
use o2c::{Oms, ReceiveStock};
use rust_decimal_macros::dec;

use crate::common::{EAST, STORE, WEST, key, loc, sku, start, us_address, usd};

/// The warehouse a third party runs for the company: last in line for orders.
pub const THIRD_PARTY: &str = "3PL-NJ";

/// What the third party's shelves hold at the start, as o2c's books say: of the
/// plentiful SKUs only, so the scarce ones stay as scarce as the scenarios built
/// on this world expect.
const THIRD_PARTY_STOCK: [(&str, u32); 2] = [("TEE", 6), ("MUG", 6)];

/// The third party's warehouse for `seed`: its reports late a third of the
/// time, repeated a fifth, its releases timing out one in ten.
/// The card provider: declines, calls lost before or after they take effect,
/// webhooks twice, authorisations held a week.
pub fn cards(
    seed: u64,
    clock: &std::sync::Arc<o2c::clock::ManualClock>,
) -> o2c::payment::SimulatedCardProvider {
    let faults = o2c::payment::CardFaults {
        decline_percent: 5,
        timeout_percent: 8,
        lost_reply_percent: 8,
        duplicate_percent: 20,
    };
    o2c::payment::SimulatedCardProvider::new("Cardly", clock.clone(), 7, faults, seed ^ 0x5eed)
}

pub fn third_party(seed: u64) -> o2c::fulfilment::SimulatedThirdParty {
    let faults = o2c::fulfilment::ThirdPartyFaults {
        late_percent: 30,
        repeat_percent: 20,
        timeout_percent: 10,
    };
    let w = o2c::fulfilment::SimulatedThirdParty::new(
        "FulfilCo",
        loc(THIRD_PARTY),
        usd(dec!(2.50)),
        faults,
        seed,
    );
    for (code, units) in THIRD_PARTY_STOCK {
        w.stock(&sku(code), units);
    }
    w
}

/// The SKUs the simulation trades in.
pub const SKUS: [&str; 4] = ["TEE", "MUG", "BOOK", "HOT"];

/// Who trades with the company.
#[derive(Debug, Clone)]
pub struct Cast {
    /// Customers, alternately prepaid and on terms (one with a tight credit limit).
    pub customers: Vec<CustomerId>,
    /// The one supplier, offering every SKU.
    pub supplier: SupplierId,
}

impl Cast {
    /// Nobody yet: the cast of a store about to be furnished.
    pub fn nobody() -> Self {
        Self {
            customers: Vec::new(),
            supplier: SupplierId::from_uuid(uuid::Uuid::nil()),
        }
    }
}

/// The rate the tax table below sets for `sku` shipped to `country`.
pub fn tax_rate(sku: &str, country: &str) -> rust_decimal::Decimal {
    match (sku, country) {
        ("BOOK", "CA") => dec!(0),
        ("BOOK", _) => dec!(0.05),
        (_, "CA") => dec!(0.13),
        _ => dec!(0.10),
    }
}

/// Saves tax rates, products, locations, opening stock, a supplier and `customers`
/// customers. Every call is made once, on a store without faults.
pub async fn furnish<S: Store, C: Carrier, P: o2c::payment::PaymentProvider>(
    oms: &Oms<S, C, P>,
    customers: usize,
) -> Cast {
    oms.set_tax_table(
        TaxTable::new()
            .with_rate(TaxClass::standard(), None, dec!(0.10))
            .with_rate(TaxClass::new("reduced"), None, dec!(0.05))
            // Canada taxes differently, so an order moved there is re-taxed.
            .with_rate(TaxClass::standard(), Some("CA"), dec!(0.13))
            .with_rate(TaxClass::new("reduced"), Some("CA"), dec!(0)),
    )
    .await
    .unwrap();
    for (code, price, cost, grams, class, policy) in [
        (
            "TEE",
            dec!(20.00),
            dec!(8.00),
            200,
            TaxClass::standard(),
            BackOrderPolicy::Reject,
        ),
        (
            "MUG",
            dec!(12.50),
            dec!(4.00),
            400,
            TaxClass::standard(),
            BackOrderPolicy::Reject,
        ),
        (
            "BOOK",
            dec!(15.99),
            dec!(6.50),
            600,
            TaxClass::new("reduced"),
            BackOrderPolicy::ShipAvailable,
        ),
        (
            "HOT",
            dec!(9.99),
            dec!(3.00),
            300,
            TaxClass::standard(),
            BackOrderPolicy::BackOrder,
        ),
    ] {
        let mut p = Product::new(sku(code), code.to_lowercase(), usd(price), usd(cost), class);
        p.weight_grams = grams;
        p.reorder_point = 3;
        p.back_order = policy;
        oms.save_product(p).await.unwrap();
    }
    for (code, kind, priority, fulfils) in [
        (EAST, LocationKind::Warehouse, 1, true),
        (WEST, LocationKind::Warehouse, 2, true),
        (STORE, LocationKind::Store, 3, false),
        (THIRD_PARTY, LocationKind::ThirdParty, 4, true),
    ] {
        let mut l = Location::new(loc(code), code, kind, us_address(code), priority);
        l.fulfils_orders = fulfils;
        oms.save_location(l).await.unwrap();
    }
    for (code, at, units) in [
        ("TEE", EAST, 10),
        ("TEE", WEST, 10),
        ("TEE", STORE, 5),
        ("MUG", EAST, 5),
        ("MUG", WEST, 20),
        ("MUG", STORE, 2),
        ("BOOK", WEST, 8),
        ("HOT", EAST, 6),
    ]
    .into_iter()
    .chain(THIRD_PARTY_STOCK.map(|(code, units)| (code, THIRD_PARTY, i64::from(units))))
    {
        oms.receive_stock(
            ReceiveStock::new(
                key(&format!("opening-{code}-{at}")),
                sku(code),
                loc(at),
                units,
            )
            .with_reference(format!("opening-{code}-{at}")),
        )
        .await
        .unwrap();
    }
    let supplier = SupplierId::from_uuid(uuid::Uuid::from_u128(7));
    let today = start().date_naive();
    let until = today + Duration::days(3650);
    let mut offers = Supplier::new(supplier, "Acme Wholesale", Currency::USD);
    for (code, cost) in [
        ("TEE", dec!(7.50)),
        ("MUG", dec!(4.10)),
        ("BOOK", dec!(6.00)),
        ("HOT", dec!(3.20)),
    ] {
        offers = offers.offer(Offer::new(sku(code), usd(cost), 5, today, until));
    }
    oms.save_supplier(offers).await.unwrap();

    let mut ids = Vec::with_capacity(customers);
    for n in 0..customers {
        let name = format!("Customer{n}");
        let mut profile = NewCustomer::new(
            name.as_str(),
            format!("customer{n}@example.com"),
            us_address(&name),
            Currency::USD,
        );
        (profile.terms, profile.payment_method) = if n % 2 == 0 {
            // One card holder's card is always declined at checkout.
            profile.payment_token = Some(match n {
                2 => o2c::payment::DECLINED_CARD.to_owned(),
                _ => format!("tok_visa_{n}"),
            });
            (PaymentTerms::Prepaid, PaymentMethod::Card)
        } else {
            (PaymentTerms::Net { days: 30 }, PaymentMethod::BankTransfer)
        };
        if n == 1 {
            // Tight enough that some orders go on a credit-limit hold.
            profile.credit_limit = Some(Money::new(dec!(150.00), Currency::USD));
        }
        ids.push(
            oms.register_customer(
                profile,
                o2c::ids::IdempotencyKey::new(format!("customer-{}", ids.len())).unwrap(),
            )
            .await
            .unwrap()
            .id,
        );
    }
    Cast {
        customers: ids,
        supplier,
    }
}
