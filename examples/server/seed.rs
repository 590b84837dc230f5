//! The demo shop the server opens with: a catalogue in two warehouses, six
//! customers (cards, terms, cash), a supplier, reorder rules, and thirty days of
//! trading behind it, so the dashboard has something to show from the start.

use std::sync::atomic::{AtomicI64, Ordering};

use chrono::{DateTime, Duration, Utc};
use o2c::catalog::{Product, TaxClass, TaxTable};
use o2c::clock::Clock;
use o2c::customer::{Address, Customer, NewCustomer, PaymentMethod, PaymentTerms};
use o2c::fulfilment::{ShipmentStatus, TrackingEvent};
use o2c::ids::{IdempotencyKey, LocationId, Sku, SupplierId};
use o2c::money::{Currency, Money};
use o2c::order::{Channel, PlaceOrder};
use o2c::purchasing::{BackOrderPolicy, Offer, ReorderRule, Supplier};
use o2c::quantity::Quantity;
use o2c::stock::{Location, LocationKind};
use o2c::store::Store;
use o2c::{Error, ReceiveStock, RecordPayment};

use crate::app::Shop;
use crate::rng::SplitMix64;

/// The system clock, shifted back while the history is written and then set
/// to run on with real time: the seed's orders are dated over the past month.
#[derive(Default)]
pub struct DemoClock {
    offset_ms: AtomicI64,
}

impl DemoClock {
    fn set(&self, at: DateTime<Utc>) {
        let offset = (at - Utc::now()).num_milliseconds().min(0);
        self.offset_ms.store(offset, Ordering::SeqCst);
    }

    fn live(&self) {
        self.offset_ms.store(0, Ordering::SeqCst);
    }
}

impl Clock for DemoClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now() + Duration::milliseconds(self.offset_ms.load(Ordering::SeqCst))
    }
}

/// The catalogue: SKU, name, price and cost in cents, grams, and units at the
/// two warehouses.
const CATALOGUE: &[(&str, &str, i64, i64, u32, i64, i64)] = &[
    ("TEE-BLUE-M", "Blue T-shirt, M", 2000, 800, 220, 400, 300),
    ("TEE-BLUE-L", "Blue T-shirt, L", 2000, 800, 240, 300, 300),
    ("HOODIE-GREY", "Grey hoodie", 5500, 2200, 650, 120, 80),
    ("MUG-LOGO", "Logo mug", 1250, 400, 450, 200, 150),
    ("CAP-BLACK", "Black cap", 1800, 600, 120, 150, 100),
    ("SOCKS-3PK", "Socks, three pairs", 1200, 350, 180, 400, 0),
    ("POSTER-A2", "Poster, A2", 2500, 700, 300, 6, 0),
    ("LAMP-DESK", "Desk lamp", 7900, 3100, 1400, 40, 0),
];

const EAST: &str = "WH-EAST";
const WEST: &str = "WH-WEST";

fn usd(cents: i64) -> Money {
    Money::from_minor(cents, Currency::USD)
}

fn key(text: String) -> Result<IdempotencyKey, Error> {
    Ok(IdempotencyKey::new(text)?)
}

fn sku(code: &str) -> Result<Sku, Error> {
    Ok(Sku::new(code)?)
}

/// Seeds `oms` unless it already holds the shop (a durable store on its second
/// run), then sets the clock going with real time.
pub async fn seed<S: Store>(oms: &Shop<S>, clock: &DemoClock) -> Result<bool, Error> {
    let seeded = oms.product(&sku("LAMP-DESK")?).await.is_ok();
    if !seeded {
        history(oms, clock).await?;
    }
    clock.live();
    Ok(!seeded)
}

async fn history<S: Store>(oms: &Shop<S>, clock: &DemoClock) -> Result<(), Error> {
    let start = Utc::now() - Duration::days(30);
    // The shop is set up the day before its first order.
    clock.set(start - Duration::days(1));
    oms.set_tax_table(TaxTable::new().with_rate(
        TaxClass::standard(),
        None,
        rust_decimal::Decimal::new(8, 2),
    ))
    .await?;
    for (priority, (code, city)) in [(EAST, "Newark"), (WEST, "Reno")].into_iter().enumerate() {
        let address = Address::new(code, "1 Dock Rd", city, "07102", "US");
        oms.save_location(Location::new(
            LocationId::new(code)?,
            code,
            LocationKind::Warehouse,
            address,
            u32::try_from(priority).unwrap_or(0) + 1,
        ))
        .await?;
    }
    for &(code, name, price, cost, grams, east, west) in CATALOGUE {
        let mut product = Product::new(
            sku(code)?,
            name,
            usd(price),
            usd(cost),
            TaxClass::standard(),
        );
        product.weight_grams = grams;
        // Scarce lines are sold on back order: their shortfalls go to purchasing.
        if east + west < 50 {
            product.back_order = BackOrderPolicy::BackOrder;
        }
        oms.save_product(product).await?;
        for (at, units) in [(EAST, east), (WEST, west)] {
            if units > 0 {
                oms.receive_stock(
                    ReceiveStock::new(
                        key(format!("opening-{code}-{at}"))?,
                        sku(code)?,
                        LocationId::new(at)?,
                        units,
                    )
                    .with_reference("opening stock".into()),
                )
                .await?;
            }
        }
    }
    let valid_until = (start + Duration::days(365)).date_naive();
    let mut supplier = Supplier::new(
        SupplierId::from_uuid(uuid::Uuid::from_u128(0xac3e)),
        "Acme Supply",
        Currency::USD,
    );
    for (code, cost, lead) in [
        ("LAMP-DESK", 3000, 7),
        ("POSTER-A2", 650, 5),
        ("MUG-LOGO", 380, 10),
    ] {
        supplier = supplier.offer(Offer::new(
            sku(code)?,
            usd(cost),
            lead,
            start.date_naive(),
            valid_until,
        ));
    }
    oms.save_supplier(supplier).await?;
    for (code, min, max) in [
        ("LAMP-DESK", 25, 60),
        ("POSTER-A2", 10, 30),
        ("MUG-LOGO", 60, 250),
    ] {
        oms.set_reorder_rule(ReorderRule {
            sku: sku(code)?,
            location: LocationId::new(EAST)?,
            min: Quantity::new(min),
            max: Quantity::new(max),
        })
        .await?;
    }
    let customers = customers(oms).await?;

    // Thirty days of trading: a few orders a day from every channel; card
    // orders ship at once, terms customers pay weeks later (some not yet).
    let mut dice = SplitMix64::new(2026);
    let mut open_invoices = Vec::new();
    for day in 0..=30i64 {
        for n in 0..(2 + dice.below(4)) {
            // Each day's orders come in the hours before the same time of day
            // as now, so the last day's are today's and all are in the past.
            let at = start + Duration::days(day)
                - Duration::hours(1 + i64::try_from(n * 2).unwrap_or(0));
            clock.set(at);
            let Some((customer, channel)) = dice.pick(&customers) else {
                break;
            };
            let mut order = PlaceOrder::new(
                key(format!("seed-{day}-{n}"))?,
                customer.id,
                *channel,
                Currency::USD,
            );
            for _ in 0..(1 + dice.below(3)) {
                let Some((code, ..)) = dice.pick(CATALOGUE) else {
                    break;
                };
                order = order.line(sku(code)?, i64::try_from(1 + dice.below(3)).unwrap_or(1));
            }
            let Ok(order) = oms.place_order(order).await else {
                continue;
            };
            let order = order.into_inner();
            // Cash and prepaid orders are paid before they ship.
            if customer.profile.payment_method == PaymentMethod::Cash {
                for invoice in &order.invoices {
                    let invoice = oms.invoice(*invoice).await?;
                    let due = invoice.outstanding()?;
                    oms.record_payment(RecordPayment::new(
                        key(format!("till-{}", invoice.id))?,
                        invoice.id,
                        due,
                        PaymentMethod::Cash,
                    ))
                    .await?;
                }
            }
            if day < 30 || n >= 2 {
                clock.set(at + Duration::minutes(20));
                if let Ok(shipments) = oms.ship(order.id, key(format!("ship-{day}-{n}"))?).await {
                    for shipment in shipments.into_inner() {
                        let delivered =
                            at + Duration::hours(24 + i64::try_from(dice.below(72)).unwrap_or(0));
                        if delivered < Utc::now() - Duration::hours(2) {
                            clock.set(delivered);
                            oms.record_tracking(
                                shipment.id,
                                TrackingEvent {
                                    at: delivered,
                                    status: ShipmentStatus::Delivered,
                                    description: "left at front door".into(),
                                },
                            )
                            .await?;
                        }
                    }
                }
            }
            let order = oms.order(order.id).await?;
            if customer.profile.payment_method == PaymentMethod::BankTransfer {
                for invoice in order.invoices {
                    open_invoices.push((
                        invoice,
                        at + Duration::days(i64::try_from(5 + dice.below(45)).unwrap_or(20)),
                    ));
                }
            }
        }
    }
    // Bank transfers arrive when they arrive: those due by now are paid.
    open_invoices.sort_by_key(|(_, at)| *at);
    for (invoice, at) in open_invoices {
        if at >= Utc::now() - Duration::hours(1) {
            continue;
        }
        clock.set(at);
        let invoice = oms.invoice(invoice).await?;
        let due = invoice.outstanding()?;
        if due.is_positive() {
            oms.record_payment(RecordPayment::new(
                key(format!("transfer-{}", invoice.id))?,
                invoice.id,
                due,
                PaymentMethod::BankTransfer,
            ))
            .await?;
        }
    }
    Ok(())
}

/// The customers, each with the channel they buy through.
async fn customers<S: Store>(oms: &Shop<S>) -> Result<Vec<(Customer, Channel)>, Error> {
    let people = [
        (
            "Ada Lovelace",
            "ada@example.com",
            "Boston",
            PaymentMethod::Card,
            PaymentTerms::Prepaid,
            Channel::Web,
        ),
        (
            "Grace Hopper",
            "grace@example.com",
            "Arlington",
            PaymentMethod::Card,
            PaymentTerms::Prepaid,
            Channel::Marketplace,
        ),
        (
            "Northwind Traders",
            "buying@northwind.example",
            "Seattle",
            PaymentMethod::BankTransfer,
            PaymentTerms::Net { days: 30 },
            Channel::B2b,
        ),
        (
            "Contoso Retail",
            "ap@contoso.example",
            "Chicago",
            PaymentMethod::BankTransfer,
            PaymentTerms::Net { days: 14 },
            Channel::Phone,
        ),
        (
            "Walk-in customer",
            "till@shop.example",
            "New York",
            PaymentMethod::Cash,
            PaymentTerms::Prepaid,
            Channel::Store,
        ),
        (
            "Katherine Johnson",
            "katherine@example.com",
            "Hampton",
            PaymentMethod::Card,
            PaymentTerms::Prepaid,
            Channel::Web,
        ),
    ];
    let mut out = Vec::new();
    for (name, email, city, method, terms, channel) in people {
        let mut profile = NewCustomer::new(
            name,
            email,
            Address::new(name, "1 Main St", city, "02108", "US"),
            Currency::USD,
        );
        profile.payment_method = method;
        profile.terms = terms;
        if method == PaymentMethod::Card {
            profile.payment_token =
                Some(format!("tok_{}", email.split('@').next().unwrap_or("card")));
        }
        let customer = oms
            .register_customer(profile, key(format!("signup-{email}"))?)
            .await?;
        out.push((customer.into_inner(), channel));
    }
    Ok(out)
}
