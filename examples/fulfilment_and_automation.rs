//! A month of a kitchen-supply shop: cups go by parcel and stoves on the
//! company's own truck; mugs are kept at a third party's warehouse whose feed
//! loses and repeats messages, and whose count finds damage; the scheduler's
//! `run_due` cancels an order nobody paid, chases an overdue invoice, and raises
//! a purchase order when cups cross their reorder point — no one calls for it.
//!
//! Run with `cargo run --example fulfilment_and_automation`.

use std::error::Error as StdError;
use std::sync::Arc;

use chrono::{Datelike, Duration, TimeZone, Utc, Weekday};
use o2c::catalog::{Dimensions, Product, TaxClass, TaxTable};
use o2c::clock::{Clock, ManualClock, SeededIds};
use o2c::customer::{Address, NewCustomer, PaymentMethod, PaymentTerms};
use o2c::event::Event;
use o2c::fulfilment::{
    DeliverySlot, Fleet, FleetCarrier, FreightRate, FreightRule, PalletRule, Route, RouteId,
    SimulatedThirdParty, TableRateCarrier, ThirdPartyFaults, ThirdPartyOutcome, Zone,
};
use o2c::ids::{CustomerId, IdempotencyKey, LocationId, OrderId, Sku, SupplierId};
use o2c::money::{Currency, Money};
use o2c::order::{Channel, Delivery, PlaceOrder, ServiceLevel};
use o2c::purchasing::{Offer, PurchaseOrder, ReorderRule, Supplier};
use o2c::quantity::Quantity;
use o2c::stock::{Location, LocationKind};
use o2c::store::{MemoryStore, Store};
use o2c::{AutomationPolicy, Oms, OmsConfig, PurchasingPolicy, ReceiveStock};

type Result<T> = std::result::Result<T, Box<dyn StdError>>;
type Carriers = (TableRateCarrier, FleetCarrier<Arc<MemoryStore>>);
type Shop = Oms<Arc<MemoryStore>, Carriers>;

fn usd(cents: i64) -> Money {
    Money::from_minor(cents, Currency::USD)
}

fn key(k: &str) -> Result<IdempotencyKey> {
    Ok(IdempotencyKey::new(k)?)
}

fn sku(code: &str) -> Result<Sku> {
    Ok(Sku::new(code)?)
}

fn diner_address() -> Address {
    Address::new("Diner", "5 Main St", "New York", "10001", "US")
}

#[tokio::main]
async fn main() -> Result<()> {
    // Monday 7 December 2026, nine in the morning.
    let clock = Arc::new(ManualClock::new(
        Utc.with_ymd_and_hms(2026, 12, 7, 9, 0, 0)
            .single()
            .ok_or("a valid start")?,
    ));
    let store = Arc::new(MemoryStore::new());
    let warehouse = LocationId::new("WH-NJ")?;
    let third_party = LocationId::new("3PL-PA")?;
    let oms = open_shop(&store, &clock, &warehouse, &third_party).await?;
    // The third party's feed: a third of its reports come late, a third twice.
    let fulfilco = SimulatedThirdParty::new(
        "FulfilCo",
        third_party.clone(),
        usd(250),
        ThirdPartyFaults {
            late_percent: 30,
            repeat_percent: 30,
            timeout_percent: 0,
        },
        2026,
    );
    fulfilco.stock(&sku("MUG")?, 50);
    let (diner, cafe) = customers(&oms).await?;

    println!("== Mon 7 Dec: the diner orders 30 cups and 25 stoves");
    let order = place(&oms, "diner-1", diner, &[("CUP", 30), ("STOVE", 25)]).await?;
    for s in oms.ship(order, key("ship-diner-1")?).await?.value {
        println!(
            "   {} carries {} unit(s) on {} ({}), charge {}",
            s.carrier,
            s.lines.iter().map(|l| l.quantity.units()).sum::<u32>(),
            s.service,
            s.tracking,
            s.carrier_charge
        );
    }

    println!("\n== Tue 8 Dec: the café orders 12 mugs, prepaid, and never pays");
    clock.advance(Duration::days(1));
    let unpaid = place(&oms, "cafe-1", cafe, &[("MUG", 12)]).await?;
    println!("   held: {:?}", oms.order(unpaid).await?.holds);

    println!("\n== Tue 8 Dec: the diner orders 20 mugs; they are at FulfilCo");
    let mugs = place(&oms, "diner-2", diner, &[("MUG", 20)]).await?;
    let released = oms
        .release_to_third_party(&fulfilco, mugs, &third_party, key("release-diner-2")?)
        .await?;
    println!("   released {} mug(s) to FulfilCo", units(&released.lines));
    // FulfilCo drops 3 mugs (no report: only a count shows it), then ships.
    fulfilco.lose(&sku("MUG")?, 3);
    clock.advance(Duration::days(1));
    fulfilco.work(clock.now());
    fulfilco.count(clock.now());
    for day in 0..4 {
        for message in fulfilco.deliver() {
            let applied = oms.apply_third_party_message(&message).await?;
            let what = match &applied.value {
                ThirdPartyOutcome::Shipped(s) => format!(
                    "shipped {} mug(s), tracking {}",
                    s.lines.iter().map(|l| l.quantity.units()).sum::<u32>(),
                    s.tracking
                ),
                ThirdPartyOutcome::Rejected(_) => "gave units back".to_owned(),
                ThirdPartyOutcome::Counted(c) => format!(
                    "counted as of #{}: {}",
                    c.as_of,
                    c.differences
                        .iter()
                        .map(|d| format!(
                            "{} expected {}, counted {}, adjusted {:+}",
                            d.sku, d.expected, d.counted, d.adjusted
                        ))
                        .collect::<Vec<_>>()
                        .join("; ")
                ),
            };
            let replay = if applied.replayed {
                " (a repeat: applied once already)"
            } else {
                ""
            };
            println!(
                "   day {day}: FulfilCo message {}: {what}{replay}",
                message.id
            );
        }
    }
    for message in fulfilco.deliver_all() {
        oms.apply_third_party_message(&message).await?;
    }
    let mug_stock = oms.stock_level(&sku("MUG")?, &third_party).await?;
    println!(
        "   mugs at FulfilCo: o2c says {} on hand ({} reserved), the shelves hold {}",
        mug_stock.on_hand,
        mug_stock.reserved,
        fulfilco.on_hand(&sku("MUG")?)
    );

    println!("\n== Every morning the scheduler calls run_due");
    let mut day = clock.now();
    let end = day + Duration::days(30);
    // Cups sell through the month: 12 a week to walk-in trade customers.
    let mut week = 0;
    while day < end {
        day += Duration::days(1);
        clock.set(day);
        if day.weekday() == Weekday::Mon {
            week += 1;
            place(&oms, &format!("diner-cups-{week}"), diner, &[("CUP", 12)]).await?;
        }
        let report = oms.run_due(day).await?;
        let date = day.format("%a %e %b");
        for id in &report.cancelled {
            let order = oms.order(*id).await?;
            let number = order.number.map(|n| n.to_string()).unwrap_or_default();
            println!("   {date}: cancelled order {number} (unpaid for a week)");
        }
        for (invoice, level) in &report.reminded {
            let invoice = oms.invoice(*invoice).await?;
            println!(
                "   {date}: reminder {level} for invoice {} ({} due {})",
                invoice.number,
                invoice.outstanding()?,
                invoice.due_at.format("%e %b")
            );
        }
        for po in &report.raised {
            let po = oms
                .store()
                .load::<PurchaseOrder>(po)
                .await?
                .ok_or("the purchase order just raised")?
                .value;
            println!(
                "   {date}: cups below their reorder point: purchase order {} raised for {} cups, {:?}",
                po.number.map(|n| n.to_string()).unwrap_or_default(),
                po.lines.iter().map(|l| l.quantity.units()).sum::<u32>(),
                po.status
            );
        }
    }

    println!("\n== The month in the event log");
    let events = oms.events_after(0, 10_000).await?;
    let count = |pick: fn(&Event) -> bool| events.iter().filter(|e| pick(&e.event)).count();
    println!(
        "   {} events: {} shipments, {} released to FulfilCo, {} counts, {} stock adjustments,",
        events.len(),
        count(|e| matches!(e, Event::ShipmentBooked { .. })),
        count(|e| matches!(e, Event::OrderReleased { .. })),
        count(|e| matches!(e, Event::StockCounted { .. })),
        count(|e| matches!(e, Event::StockAdjusted { .. })),
    );
    println!(
        "   {} payment reminders, {} cancellations, {} purchase orders raised",
        count(|e| matches!(e, Event::PaymentReminder { .. })),
        count(|e| matches!(e, Event::OrderCancelled { .. })),
        count(|e| matches!(e, Event::PurchaseOrderRaised { .. })),
    );
    let balanced = oms.trial_balance().await?.is_balanced();
    let audit = oms.audit().await?;
    println!(
        "   books balanced: {balanced}; audit clean: {} ({} orders, {} journal entries)",
        audit.is_clean(),
        audit.orders,
        audit.journal_entries
    );
    if !balanced || !audit.is_clean() {
        return Err(format!("the books do not hold: {:?}", audit.violations).into());
    }
    Ok(())
}

/// The shop: cups (300 g) and stoves (45 kg, 60 cm a side) at its own
/// warehouse, mugs at FulfilCo; parcels by Parcelly, pallets on its own truck to
/// New York on weekdays; reminders at 7 and 14 days past due, unpaid orders
/// cancelled after a week, cups re-ordered when they fall below 30.
async fn open_shop(
    store: &Arc<MemoryStore>,
    clock: &Arc<ManualClock>,
    warehouse: &LocationId,
    third_party: &LocationId,
) -> Result<Shop> {
    let weekdays = vec![
        Weekday::Mon,
        Weekday::Tue,
        Weekday::Wed,
        Weekday::Thu,
        Weekday::Fri,
    ];
    let route = Route {
        id: RouteId::new("NYC")?,
        zones: vec![Zone::postcodes("US", &["10"])],
        days: weekdays,
        slots: vec![DeliverySlot::new("am", 8, 12)?],
        pallets_per_run: 8,
        kg_per_run: 6_000,
        lead_days: 1,
        rate: FreightRate {
            base: usd(6_000),
            per_pallet: usd(3_000),
        },
    };
    let fleet = Fleet::new(vec![route], PalletRule::default())?;
    let parcels = TableRateCarrier::new("Parcelly")
        .zone("US", 0)
        .band(30_000, vec![usd(1_200)]);
    let carriers = (
        parcels,
        FleetCarrier::new("own-fleet", fleet, store.clone(), clock.clone()),
    );
    let automation = AutomationPolicy::default()
        .with_reminder_days(vec![7, 14])
        .with_hold_at_reminder(Some(2))
        .with_replenish_to(Some(warehouse.clone()));
    let config = OmsConfig::default()
        .with_freight(FreightRule::default())
        .with_automation(automation)
        .with_purchasing(PurchasingPolicy::default().with_auto_approve_up_to(Some(usd(100_000))));
    let oms = Oms::new(store.clone(), carriers)
        .with_clock(clock.clone())
        .with_ids(Arc::new(SeededIds::new(7)))
        .with_config(config)?;
    oms.set_tax_table(TaxTable::new().with_rate(TaxClass::standard(), None, "0.08".parse()?))
        .await?;
    let mut cup = Product::new(sku("CUP")?, "Cup", usd(900), usd(300), TaxClass::standard());
    cup.weight_grams = 300;
    let mut stove = Product::new(
        sku("STOVE")?,
        "Stove",
        usd(120_000),
        usd(60_000),
        TaxClass::standard(),
    );
    stove.weight_grams = 45_000;
    stove.dimensions = Dimensions {
        length_mm: 600,
        width_mm: 600,
        height_mm: 600,
    };
    let mut mug = Product::new(
        sku("MUG")?,
        "Mug",
        usd(1_250),
        usd(400),
        TaxClass::standard(),
    );
    mug.weight_grams = 400;
    for p in [cup, stove, mug] {
        oms.save_product(p).await?;
    }
    oms.save_location(Location::new(
        warehouse.clone(),
        "Newark",
        LocationKind::Warehouse,
        Address::new("Warehouse", "1 Dock Rd", "Newark", "07101", "US"),
        1,
    ))
    .await?;
    oms.save_location(Location::new(
        third_party.clone(),
        "FulfilCo Allentown",
        LocationKind::ThirdParty,
        Address::new("FulfilCo", "9 Commerce Way", "Allentown", "18101", "US"),
        2,
    ))
    .await?;
    for (code, at, units) in [
        ("CUP", warehouse, 80),
        ("STOVE", warehouse, 40),
        ("MUG", third_party, 50),
    ] {
        oms.receive_stock(ReceiveStock::new(
            key(&format!("opening-{code}"))?,
            sku(code)?,
            at.clone(),
            units,
        ))
        .await?;
    }
    oms.set_reorder_rule(ReorderRule {
        sku: sku("CUP")?,
        location: warehouse.clone(),
        min: Quantity::new(30),
        max: Quantity::new(90),
    })
    .await?;
    let today = clock.now().date_naive();
    let potter = Supplier::new(
        SupplierId::from_uuid(uuid::Uuid::from_u128(1)),
        "Potter & Sons",
        Currency::USD,
    )
    .offer(Offer::new(
        sku("CUP")?,
        usd(280),
        5,
        today,
        today + Duration::days(365),
    ));
    oms.save_supplier(potter).await?;
    Ok(oms)
}

/// The diner (14 days' terms) and the café (prepaid).
async fn customers(oms: &Shop) -> Result<(CustomerId, CustomerId)> {
    let mut diner = NewCustomer::new(
        "Diner",
        "chef@diner.example",
        diner_address(),
        Currency::USD,
    );
    diner.terms = PaymentTerms::Net { days: 14 };
    diner.payment_method = PaymentMethod::BankTransfer;
    let mut cafe = NewCustomer::new(
        "Café",
        "owner@cafe.example",
        Address::new("Café", "8 Bleecker St", "New York", "10012", "US"),
        Currency::USD,
    );
    cafe.terms = PaymentTerms::Prepaid;
    cafe.payment_method = PaymentMethod::Card;
    let diner = oms.register_customer(diner, key("signup-diner")?).await?.id;
    let cafe = oms.register_customer(cafe, key("signup-cafe")?).await?.id;
    Ok((diner, cafe))
}

async fn place(oms: &Shop, k: &str, who: CustomerId, lines: &[(&str, i64)]) -> Result<OrderId> {
    let mut cart = PlaceOrder::new(key(k)?, who, Channel::B2b, Currency::USD).with_delivery(Some(
        Delivery::Ship {
            address: Arc::new(diner_address()),
            service: ServiceLevel::Standard,
        },
    ));
    for (code, units) in lines {
        cart = cart.line(sku(code)?, *units);
    }
    Ok(oms.place_order(cart).await?.id)
}

/// Units on release lines.
fn units(lines: &[o2c::fulfilment::ReleaseLine]) -> u32 {
    lines.iter().map(|l| l.quantity.units()).sum()
}
