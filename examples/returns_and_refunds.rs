//! After the sale: a partly shipped order whose rest is cancelled, a return of
//! delivered goods (one unit resellable, one damaged), the credit notes they raise,
//! a refund of what was paid for them, and store credit spent on the next order.
//! Stock and the ledger are printed at each step.
//!
//! Run with `cargo run --example returns_and_refunds`.

use std::error::Error as StdError;
use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use o2c::catalog::{Product, TaxClass, TaxTable};
use o2c::clock::{Clock, ManualClock};
use o2c::customer::{Address, NewCustomer, PaymentMethod, PaymentTerms};
use o2c::fulfilment::{PickupCarrier, ShipmentStatus, TrackingEvent};
use o2c::ids::{IdempotencyKey, LocationId, Sku};
use o2c::ledger::ChartOfAccounts;
use o2c::money::{Currency, Money};
use o2c::order::{Channel, Delivery, PlaceOrder};
use o2c::purchasing::BackOrderPolicy;
use o2c::returns::{Condition, ReturnReason};
use o2c::stock::{Location, LocationKind};
use o2c::store::MemoryStore;
use o2c::{Oms, ReceiveReturn, ReceiveStock, RecordPayment, RecordRefund, RequestReturn};
use rust_decimal::Decimal;

type Result<T> = std::result::Result<T, Box<dyn StdError>>;
type Shop = Oms<MemoryStore, PickupCarrier>;

fn usd(cents: i64) -> Money {
    Money::from_minor(cents, Currency::USD)
}

fn key(k: &str) -> Result<IdempotencyKey> {
    Ok(IdempotencyKey::new(k)?)
}

#[tokio::main]
async fn main() -> Result<()> {
    let start = DateTime::<Utc>::from_timestamp(1_798_761_600, 0).ok_or("a start date")?;
    let clock = Arc::new(ManualClock::new(start));
    let oms: Shop = Oms::new(MemoryStore::new(), PickupCarrier::new()).with_clock(clock.clone());
    let lamp = Sku::new("LAMP")?;
    let shop = LocationId::new("SHOP")?;
    oms.set_tax_table(TaxTable::new().with_rate(TaxClass::standard(), None, Decimal::new(20, 2)))
        .await?;
    oms.save_product(Product::new(
        lamp.clone(),
        "Desk lamp",
        usd(5_000),
        usd(2_000),
        TaxClass::standard(),
    ))
    .await?;
    let address = Address::new("Shop", "1 High St", "Leeds", "LS1", "GB");
    oms.save_location(Location::new(
        shop.clone(),
        "Shop",
        LocationKind::Store,
        address.clone(),
        1,
    ))
    .await?;
    oms.receive_stock(ReceiveStock {
        idempotency_key: key("opening")?,
        sku: lamp.clone(),
        location: shop.clone(),
        quantity: 6,
        reference: "opening".into(),
    })
    .await?;
    let ada = oms
        .register_customer(NewCustomer {
            terms: PaymentTerms::Net { days: 30 },
            payment_method: PaymentMethod::Card,
            ..NewCustomer::new("Ada", "ada@example.com", address, Currency::USD)
        })
        .await?;

    println!("== 1. 8 lamps ordered, 6 in stock: ship what is there, back-order the rest");
    let order = oms
        .place_order(
            PlaceOrder::new(key("order-1")?, ada.id, Channel::Store, Currency::USD)
                .line(lamp.clone(), 8)
                .deliver(Delivery::Pickup {
                    location: shop.clone(),
                })
                .back_order(BackOrderPolicy::ShipAvailable),
        )
        .await?;
    let invoice = oms
        .invoice(*order.invoices.first().ok_or("an invoice")?)
        .await?;
    println!(
        "   invoiced on order: {} {}",
        invoice.number,
        invoice.total()?
    );
    let shipped = oms.ship(order.id).await?;
    let paid = oms
        .record_payment(RecordPayment::new(
            key("card-1")?,
            invoice.id,
            invoice.total()?,
            PaymentMethod::Card,
        ))
        .await?;
    println!("   paid {} by card; 6 collected", paid.amount);
    print_books(&oms).await?;

    println!("\n== 2. The customer no longer wants the 2 back-ordered: cancel the rest");
    let order = oms
        .cancel_order(order.id, "customer no longer needs them")
        .await?;
    println!(
        "   order {:?}: 6 shipped, {} cancelled, credited {}",
        order.status,
        order
            .lines
            .first()
            .map(|l| l.cancelled.units())
            .unwrap_or(0),
        order.credit_total()
    );
    println!(
        "   customer credit {}",
        oms.customer(ada.id).await?.history.credit
    );
    print_books(&oms).await?;

    println!("\n== 3. Two lamps come back: one fine, one broken");
    for s in &shipped {
        oms.record_tracking(
            s.id,
            TrackingEvent {
                at: clock.now() + Duration::hours(1),
                status: ShipmentStatus::Delivered,
                description: "collected".into(),
            },
        )
        .await?;
    }
    let rma = oms
        .request_return(RequestReturn {
            idempotency_key: key("rma-1")?,
            order: order.id,
            lines: vec![(1, 2, ReturnReason::Defective)],
        })
        .await?;
    oms.authorise_return(rma.id).await?;
    for (n, condition) in [
        Condition::Resellable {
            location: shop.clone(),
        },
        Condition::Damaged,
    ]
    .into_iter()
    .enumerate()
    {
        oms.receive_return(ReceiveReturn {
            idempotency_key: key(&format!("rma-in-{n}"))?,
            rma: rma.id,
            lines: vec![(1, 1, condition)],
        })
        .await?;
    }
    let level = oms.stock_level(&lamp, &shop).await?;
    println!(
        "   stock at the shop: on hand {} (one restocked, one written off)",
        level.on_hand
    );
    let credit = oms.customer(ada.id).await?.history.credit;
    println!("   customer credit {credit}");
    print_books(&oms).await?;

    println!("\n== 4. Half of the credit refunded to the card, half kept as store credit");
    let half = credit.allocate(&[Decimal::ONE, Decimal::ONE])?;
    let refund = *half.first().ok_or("a half")?;
    oms.record_refund(RecordRefund {
        idempotency_key: key("refund-1")?,
        payment: paid.id,
        amount: refund,
    })
    .await?;
    println!(
        "   refunded {refund}; credit left {}",
        oms.customer(ada.id).await?.history.credit
    );

    println!("\n== 5. The store credit pays towards the next order");
    let next = oms
        .place_order(
            PlaceOrder::new(key("order-2")?, ada.id, Channel::Store, Currency::USD)
                .line(lamp.clone(), 1)
                .deliver(Delivery::Pickup {
                    location: shop.clone(),
                }),
        )
        .await?;
    let next_invoice = *next.invoices.first().ok_or("an invoice")?;
    let owed = oms.invoice(next_invoice).await?.outstanding()?;
    let spend = oms.customer(ada.id).await?.history.credit.min(owed)?;
    oms.record_payment(RecordPayment::new(
        key("credit-1")?,
        next_invoice,
        spend,
        PaymentMethod::CustomerCredit,
    ))
    .await?;
    let second = oms.invoice(next_invoice).await?;
    println!(
        "   {} for {}: {} paid from credit, {} still owed, {} credit left",
        second.number,
        second.total()?,
        spend,
        second.outstanding()?,
        oms.customer(ada.id).await?.history.credit
    );
    print_books(&oms).await?;

    let report = oms.audit().await?;
    println!("\n== Audit: {} violations", report.violations.len());
    Ok(())
}

async fn print_books(oms: &Shop) -> Result<()> {
    let chart = ChartOfAccounts::default();
    for b in &oms.trial_balance().await?.balances {
        if b.balance.is_zero() {
            continue;
        }
        let name = chart.account(&b.account).map_or("?", |a| a.name.as_str());
        println!(
            "   {:<6} {:<30} {:>14}",
            b.account.as_str(),
            name,
            b.balance.to_string()
        );
    }
    Ok(())
}
