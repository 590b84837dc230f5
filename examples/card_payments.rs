//! A card order from checkout to refund, through a (simulated) payment provider:
//! the card is authorised when the order is placed, each shipment captures what
//! it invoices, the back-ordered rest is cancelled and what is left of the
//! authorisation voided, a returned mug is credited and refunded to the card,
//! and the provider's payout moves the money from card clearing to the bank.
//! Prints the provider's log and the ledger.
//!
//! Run with `cargo run --example card_payments`.

use std::error::Error as StdError;
use std::sync::Arc;

use chrono::{TimeZone, Utc};
use o2c::catalog::{Product, TaxClass, TaxTable};
use o2c::clock::{ManualClock, SeededIds};
use o2c::customer::{Address, NewCustomer, PaymentMethod, PaymentTerms};
use o2c::event::Event;
use o2c::fulfilment::{PickupCarrier, TableRateCarrier};
use o2c::ids::{IdempotencyKey, LocationId, Sku};
use o2c::ledger::IssueCreditNote;
use o2c::money::{Currency, Money};
use o2c::order::{Channel, PlaceOrder};
use o2c::payment::{CardFaults, SimulatedCardProvider};
use o2c::purchasing::BackOrderPolicy;
use o2c::stock::{Location, LocationKind};
use o2c::store::MemoryStore;
use o2c::{Oms, ReceiveStock, RecordRefund};
use rust_decimal_macros::dec;

type Result<T> = std::result::Result<T, Box<dyn StdError>>;

fn usd(cents: i64) -> Money {
    Money::from_minor(cents, Currency::USD)
}

fn key(k: &str) -> Result<IdempotencyKey> {
    Ok(IdempotencyKey::new(k)?)
}

#[tokio::main]
async fn main() -> Result<()> {
    let clock = Arc::new(ManualClock::new(
        Utc.with_ymd_and_hms(2026, 12, 7, 9, 0, 0)
            .single()
            .ok_or("a valid start")?,
    ));
    let cards = Arc::new(SimulatedCardProvider::new(
        "Cardly",
        clock.clone(),
        7,
        // Webhooks are delivered at least once: half of them twice here.
        CardFaults {
            duplicate_percent: 50,
            ..CardFaults::default()
        },
        1,
    ));
    let parcels = TableRateCarrier::new("Parcelly")
        .zone("US", 0)
        .band(5_000, vec![usd(800)]);
    let oms = Oms::new(MemoryStore::new(), (parcels, PickupCarrier::new()))
        .with_clock(clock.clone())
        .with_ids(Arc::new(SeededIds::new(7)))
        .with_payments(cards.clone());

    oms.set_tax_table(TaxTable::new().with_rate(TaxClass::standard(), None, dec!(0.10)))
        .await?;
    let mug = Sku::new("MUG")?;
    oms.save_product(Product::new(
        mug.clone(),
        "Mug",
        usd(1250),
        usd(400),
        TaxClass::standard(),
    ))
    .await?;
    let warehouse = LocationId::new("WH")?;
    let address = Address::new("Warehouse", "1 Dock Rd", "Newark", "07102", "US");
    oms.save_location(Location::new(
        warehouse.clone(),
        "Newark",
        LocationKind::Warehouse,
        address,
        1,
    ))
    .await?;
    oms.receive_stock(ReceiveStock::new(
        key("opening")?,
        mug.clone(),
        warehouse,
        3,
    ))
    .await?;
    let ada = oms
        .register_customer(
            NewCustomer::new(
                "Ada",
                "ada@example.com",
                Address::new("Ada", "2 Elm St", "Boston", "02108", "US"),
                Currency::USD,
            )
            .with_payment_method(PaymentMethod::Card)
            .with_terms(PaymentTerms::Prepaid)
            .with_payment_token(Some("tok_ada_visa".to_owned())),
            key("ada")?,
        )
        .await?;

    println!("-- 1. Checkout: 5 mugs, 3 on the shelf; the card is authorised for all 5");
    let order = oms
        .place_order(
            PlaceOrder::new(key("checkout-1")?, ada.id, Channel::Web, Currency::USD)
                .line(mug.clone(), 5)
                .back_order(BackOrderPolicy::ShipAvailable),
        )
        .await?;
    let auth = order.authorisations.first().ok_or("no authorisation")?;
    println!(
        "order total {}, authorised {} ({}), holds: {:?}",
        order.total()?,
        auth.amount,
        auth.id,
        order.holds
    );

    println!("-- 2. The 3 mugs ship: their invoice is captured, the rest stays authorised");
    oms.ship(order.id, key("ship-1")?).await?;
    let order = oms.order(order.id).await?;
    let auth = order.authorisations.first().ok_or("no authorisation")?;
    println!(
        "invoiced {}, captured {}, still authorised {}",
        order.invoiced,
        auth.captured()?,
        auth.available()?
    );

    println!("-- 3. The 2 back-ordered mugs are cancelled: what is left is voided");
    oms.cancel_order(order.id, "customer would not wait", key("cancel-1")?)
        .await?;
    let order = oms.order(order.id).await?;
    println!(
        "authorisation active: {}",
        o2c::payment::active(&order).is_some()
    );

    println!("-- 4. One mug comes back broken: credited, and refunded to the card");
    let invoice = *order.invoices.first().ok_or("no invoice")?;
    oms.issue_credit_note(
        IssueCreditNote::new(key("credit-1")?, invoice, "returned broken").line(1, 1),
    )
    .await?;
    let payment = oms
        .events_after(0, 1_000)
        .await?
        .into_iter()
        .find_map(|e| match e.event {
            Event::PaymentRecorded { payment, .. } => Some(payment),
            _ => None,
        })
        .ok_or("no capture")?;
    let credit = oms.customer(ada.id).await?.history.credit;
    oms.record_refund(RecordRefund::new(key("refund-1")?, payment, credit))
        .await?;
    println!("refunded {credit} to the card");

    println!("-- 5. The provider pays out; its webhooks arrive (some twice)");
    cards.pay_out();
    for note in cards.notifications() {
        let applied = oms.apply_payment_event(&note).await?;
        println!(
            "  webhook {} {}",
            note.id,
            if applied.replayed {
                "(again: nothing to do)"
            } else {
                "applied"
            }
        );
    }

    println!("-- The provider's log");
    for line in cards.log() {
        println!("  {line}");
    }
    println!("-- The ledger (trial balance)");
    let names = oms.config().chart.clone();
    for b in oms.trial_balance().await?.balances {
        let name = names.account(&b.account).map_or("?", |a| a.name.as_str());
        println!("  {:<6} {:<28} {:>10}", b.account, name, b.balance);
    }
    let report = oms.audit().await?;
    println!("audit clean: {}", report.is_clean());
    if !report.is_clean() {
        return Err(format!("audit: {:?}", report.violations).into());
    }
    Ok(())
}
