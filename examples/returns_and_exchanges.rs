//! After the sale: an order amended before it ships, partly shipped, its rest
//! cancelled, a return of delivered goods (one unit resellable, one damaged), an
//! exchange for something dearer, the credit notes they raise, a refund of what was
//! paid for them, and store credit spent on the next order. Stock and the ledger
//! are printed at each step.
//!
//! Run with `cargo run --example returns_and_exchanges`.

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
use o2c::order::{AmendOrder, Channel, Delivery, LineRequest, PlaceOrder};
use o2c::purchasing::BackOrderPolicy;
use o2c::quantity::Quantity;
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
    let shade = Sku::new("SHADE")?;
    oms.save_product(Product::new(
        shade.clone(),
        "Lamp shade",
        usd(1_500),
        usd(500),
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
    for (sku, units) in [(&lamp, 6), (&shade, 4)] {
        oms.receive_stock(
            ReceiveStock::new(
                key(&format!("opening-{sku}"))?,
                sku.clone(),
                shop.clone(),
                units,
            )
            .with_reference("opening".into()),
        )
        .await?;
    }
    let ada = oms
        .register_customer(
            NewCustomer::new("Ada", "ada@example.com", address, Currency::USD)
                .with_terms(PaymentTerms::Net { days: 30 })
                .with_payment_method(PaymentMethod::Card),
            key("signup-ada")?,
        )
        .await?;

    println!("== 1. 9 lamps ordered, 6 in stock: back-order the rest, ship what is there");
    let order = oms
        .place_order(
            PlaceOrder::new(key("order-1")?, ada.id, Channel::Store, Currency::USD)
                .line(lamp.clone(), 9)
                .deliver(Delivery::Pickup {
                    location: shop.clone(),
                })
                .back_order(BackOrderPolicy::ShipAvailable),
        )
        .await?;
    println!(
        "   invoiced on order: {}; {} lamps back-ordered",
        order.invoiced,
        order.backordered_units()
    );
    print_stock(&oms, &[&lamp, &shade], &shop).await?;

    println!("\n== 2. Before it ships: one lamp fewer, and a shade added");
    let order = oms
        .amend_order(
            AmendOrder::new(key("amend-1")?, order.id)
                .set_quantity(1, 8)
                .add_line(shade.clone(), 1),
        )
        .await?;
    println!(
        "   now worth {}: {} invoices, {} credited for the lamp taken off, {} back-ordered",
        order.value()?,
        order.invoices.len(),
        order.credit_total(),
        order.backordered_units()
    );
    print_stock(&oms, &[&lamp, &shade], &shop).await?;
    print_books(&oms).await?;

    println!("\n== 3. 6 lamps and the shade collected; everything owed paid by card");
    let shipped = oms.ship(order.id, key("ship-web-1")?).await?;
    let mut card_payments = Vec::new();
    for (n, invoice) in order.invoices.iter().enumerate() {
        let owed = oms.invoice(*invoice).await?.outstanding()?;
        if owed.is_positive() {
            card_payments.push(
                oms.record_payment(RecordPayment::new(
                    key(&format!("card-{n}"))?,
                    *invoice,
                    owed,
                    PaymentMethod::Card,
                ))
                .await?,
            );
        }
    }
    let paid = card_payments.first().ok_or("a card payment")?.clone();
    let total = Money::sum(Currency::USD, card_payments.iter().map(|p| p.amount))?;
    println!("   paid {total} by card");
    print_stock(&oms, &[&lamp, &shade], &shop).await?;
    print_books(&oms).await?;

    println!("\n== 4. The customer no longer wants the 2 back-ordered: cancel the rest");
    let order = oms
        .cancel_order(
            order.id,
            "customer no longer needs them",
            key("cancel-the-rest")?,
        )
        .await?;
    println!(
        "   order {:?}: 6 shipped, {} cancelled in all, credited {}",
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

    println!("\n== 5. Two lamps come back: one fine, one broken");
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
        .request_return(
            RequestReturn::new(key("rma-1")?, order.id).with_lines(vec![(
                1,
                Quantity::new(2),
                ReturnReason::Defective,
            )]),
        )
        .await?;
    oms.authorise_return(rma.id, key("authorise-rma-1")?)
        .await?;
    for (n, condition) in [
        Condition::Resellable {
            location: shop.clone(),
        },
        Condition::Damaged,
    ]
    .into_iter()
    .enumerate()
    {
        oms.receive_return(
            ReceiveReturn::new(key(&format!("rma-in-{n}"))?, rma.id).with_lines(vec![(
                1,
                Quantity::new(1),
                condition,
            )]),
        )
        .await?;
    }
    println!("   one restocked, one written off");
    print_stock(&oms, &[&lamp, &shade], &shop).await?;
    println!(
        "   customer credit {}",
        oms.customer(ada.id).await?.history.credit
    );
    print_books(&oms).await?;

    println!("\n== 6. The shade is exchanged for a lamp: the return's credit pays part");
    let swap = oms
        .request_exchange(
            RequestReturn::new(key("rma-2")?, order.id)
                .with_lines(vec![(2, Quantity::new(1), ReturnReason::WrongItem)])
                .exchange()
                .with_replacement(vec![LineRequest::new(lamp.clone(), 1)]),
        )
        .await?;
    oms.authorise_return(swap.id, key("authorise-swap-1")?)
        .await?;
    let swap = oms
        .receive_return(
            ReceiveReturn::new(key("rma-2-in")?, swap.id).with_lines(vec![(
                2,
                Quantity::new(1),
                Condition::Resellable {
                    location: shop.clone(),
                },
            )]),
        )
        .await?;
    let replacement = oms
        .order(swap.replacement_order.ok_or("a replacement")?)
        .await?;
    let replacement_invoice = *replacement.invoices.first().ok_or("an invoice")?;
    let owed = oms.invoice(replacement_invoice).await?.outstanding()?;
    println!(
        "   replacement order for {}: {} paid from the shade's credit, {} to pay",
        replacement.invoiced, replacement.paid, owed
    );
    oms.record_payment(RecordPayment::new(
        key("card-swap")?,
        replacement_invoice,
        owed,
        PaymentMethod::Card,
    ))
    .await?;
    print_stock(&oms, &[&lamp, &shade], &shop).await?;
    print_books(&oms).await?;
    let credit = oms.customer(ada.id).await?.history.credit;

    println!("\n== 7. Half of the credit refunded to the card, half kept as store credit");
    let half = credit.allocate(&[Decimal::ONE, Decimal::ONE])?;
    let refund = *half.first().ok_or("a half")?;
    oms.record_refund(RecordRefund::new(key("refund-1")?, paid.id, refund))
        .await?;
    println!(
        "   refunded {refund}; credit left {}",
        oms.customer(ada.id).await?.history.credit
    );

    println!("\n== 8. The store credit pays towards the next order");
    let next = oms
        .place_order(
            PlaceOrder::new(key("order-2")?, ada.id, Channel::Store, Currency::USD)
                .line(shade.clone(), 1)
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
    if !report.is_clean() {
        return Err(format!("audit failed: {:?}", report.violations).into());
    }
    Ok(())
}

async fn print_stock(oms: &Shop, skus: &[&Sku], at: &LocationId) -> Result<()> {
    for sku in skus {
        let level = oms.stock_level(sku, at).await?;
        println!(
            "   stock {:<6} on hand {:>2}, reserved {:>2}",
            sku.as_str(),
            level.on_hand,
            level.reserved
        );
    }
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
