//! An oversized B2B order beyond stock, walked through purchasing: the order is
//! back-ordered, the best offer is chosen (with its reasons), a purchase order is
//! raised and approved, goods arrive in two deliveries at a new cost, the waiting
//! order takes them first, and it ships complete. The ledger is printed at each step.
//!
//! Run with `cargo run --example backorder_to_purchasing`.

use std::error::Error as StdError;
use std::sync::Arc;

use chrono::{DateTime, Days, Duration, Utc};
use o2c::catalog::{Product, TaxClass, TaxTable};
use o2c::clock::{Clock, ManualClock};
use o2c::customer::{Address, NewCustomer, PaymentMethod, PaymentTerms};
use o2c::fulfilment::TableRateCarrier;
use o2c::ids::{IdempotencyKey, LocationId, Sku, SupplierId};
use o2c::ledger::ChartOfAccounts;
use o2c::money::{Currency, Money};
use o2c::order::{Channel, Delivery, Order, PlaceOrder, ServiceLevel};
use o2c::purchasing::{BackOrderPolicy, Offer, Supplier};
use o2c::quantity::Quantity;
use o2c::stock::{Location, LocationKind};
use o2c::store::{MemoryStore, Store};
use o2c::{Oms, OmsConfig, PurchasingPolicy, ReceivePurchaseOrder, ReceiveStock};
use rust_decimal::Decimal;

type Result<T> = std::result::Result<T, Box<dyn StdError>>;
type Shop = Oms<MemoryStore, TableRateCarrier>;

fn usd(cents: i64) -> Money {
    Money::from_minor(cents, Currency::USD)
}

#[tokio::main]
async fn main() -> Result<()> {
    let clock = Arc::new(ManualClock::new(
        DateTime::<Utc>::from_timestamp(
            1_798_761_600, // 2027-01-01
            0,
        )
        .ok_or("a valid start date")?,
    ));
    // Small top-ups go out at once; anything bigger waits for a buyer.
    let config = OmsConfig::default()
        .with_purchasing(PurchasingPolicy::default().with_auto_approve_up_to(Some(usd(500_000))));
    let carrier = TableRateCarrier::new("FreightCo")
        .zone("US", 0)
        .band(5_000_000, vec![usd(120_000)]);
    let oms: Shop = Oms::new(MemoryStore::new(), carrier)
        .with_clock(clock.clone())
        .with_config(config)?;

    let chair = Sku::new("CHAIR-ERGO")?;
    let dc = LocationId::new("DC-1")?;
    let today = clock.now().date_naive();
    setup(&oms, &chair, &dc, today).await?;

    println!("== Opening position: 40 chairs at 120.00 cost");
    print_stock(&oms, &chair).await?;
    print_ledger(&oms).await?;

    println!("\n== 1. A B2B order for 100 chairs, shipped complete");
    let buyer = oms
        .register_customer(
            NewCustomer::new(
                "Initech",
                "purchasing@initech.example",
                Address::new("Initech", "4120 Freidrich Ln", "Austin", "78744", "US"),
                Currency::USD,
            )
            .with_terms(PaymentTerms::Net { days: 30 })
            .with_payment_method(PaymentMethod::BankTransfer),
            IdempotencyKey::new("signup-initech")?,
        )
        .await?;
    let order = oms
        .place_order(
            PlaceOrder::new(
                IdempotencyKey::new("initech-po-7781")?,
                buyer.id,
                Channel::B2b,
                Currency::USD,
            )
            .line(chair.clone(), 100)
            .deliver(Delivery::Ship {
                address: buyer
                    .profile
                    .addresses
                    .first()
                    .cloned()
                    .ok_or("an address")?
                    .into(),
                service: ServiceLevel::Standard,
            })
            .back_order(BackOrderPolicy::BackOrder),
        )
        .await?;
    print_order(&order);
    print_stock(&oms, &chair).await?;

    println!("\n== 2. Offers for the 60 missing, wanted within two weeks");
    let needed_by = today.checked_add_days(Days::new(14));
    let ranking = oms
        .rank_offers(&chair, Quantity::new(60), needed_by)
        .await?;
    for offer in &ranking.ranked {
        println!("   {}", offer.reasons.join("; "));
    }
    for left_out in &ranking.excluded {
        println!("   excluded: {}", left_out.reason);
    }

    println!("\n== 3. Replenishment raises the purchase order from the best offer");
    let raised = oms
        .replenish(&dc, IdempotencyKey::new("replenish-dc-1")?)
        .await?;
    for po in &raised {
        println!(
            "   PO {} to {:?}: {} × {} at {} = {}, expected {} ({:?})",
            short(&po.id.to_string()),
            supplier_name(po.supplier),
            po.lines.first().map_or(0, |l| l.quantity.units()),
            chair,
            po.lines.first().map_or(usd(0), |l| l.unit_cost),
            po.total()?,
            po.expected_on,
            po.status
        );
    }
    let po = raised.first().ok_or("a purchase order")?;
    let po = if po.status == o2c::purchasing::PurchaseOrderStatus::Draft {
        println!("   over the auto-approval limit: a buyer approves it");
        oms.approve_purchase_order(po.id, IdempotencyKey::new("approve-po-1")?)
            .await?
            .into_inner()
    } else {
        po.clone()
    };
    print_order(&oms.order(order.id).await?);

    println!("\n== 4. The first delivery: 36 chairs, all to the waiting order");
    clock.advance(Duration::days(9));
    receive(&oms, &po, &chair, 36, "grn-1").await?;
    print_order(&oms.order(order.id).await?);
    print_stock(&oms, &chair).await?;
    print_ledger(&oms).await?;

    println!("\n== 5. The rest: 24 fill the order, anything beyond becomes free stock");
    clock.advance(Duration::days(2));
    let po = receive(&oms, &po, &chair, 24, "grn-2").await?;
    println!("   purchase order {:?}", po.status);
    let ready = oms.order(order.id).await?;
    print_order(&ready);
    print_stock(&oms, &chair).await?;

    println!("\n== 6. The order ships complete; cost of goods at the moving average");
    for shipment in oms
        .ship(order.id, IdempotencyKey::new("ship-po-7781")?)
        .await?
    {
        println!(
            "   {} from {}: {} chairs, carrier charges {}",
            shipment.tracking,
            shipment.location,
            shipment
                .lines
                .iter()
                .map(|l| l.quantity.units())
                .sum::<u32>(),
            shipment.carrier_charge
        );
    }
    print_stock(&oms, &chair).await?;
    print_ledger(&oms).await?;

    let report = oms.audit().await?;
    println!(
        "\n== Audit: {} violations over {} orders",
        report.violations.len(),
        report.orders
    );
    Ok(())
}

async fn setup(oms: &Shop, chair: &Sku, dc: &LocationId, today: chrono::NaiveDate) -> Result<()> {
    oms.set_tax_table(TaxTable::new().with_rate(TaxClass::standard(), None, Decimal::new(825, 4)))
        .await?;
    let mut product = Product::new(
        chair.clone(),
        "Ergonomic chair",
        usd(34_900),
        usd(12_000),
        TaxClass::standard(),
    );
    product.weight_grams = 18_000;
    oms.save_product(product).await?;
    oms.save_location(Location::new(
        dc.clone(),
        "Central DC",
        LocationKind::Warehouse,
        Address::new("Central DC", "1 Dock Rd", "Dallas", "75201", "US"),
        1,
    ))
    .await?;
    oms.receive_stock(
        ReceiveStock::new(
            IdempotencyKey::new("opening")?,
            chair.clone(),
            dc.clone(),
            40,
        )
        .with_reference("opening stock".into()),
    )
    .await?;
    let until = today.checked_add_days(Days::new(90)).ok_or("a date")?;
    for (n, name, cents, lead, minimum, pack) in [
        (1, "Seatwell", 11_000, 9, 24, 12),
        (2, "QuickSit", 12_500, 3, 1, 1),
        (3, "SlowChair", 9_500, 30, 1, 1),
    ] {
        let id = SupplierId::from_uuid(uuid::Uuid::from_u128(n));
        oms.save_supplier(
            Supplier::new(id, name, Currency::USD).offer(
                Offer::new(chair.clone(), usd(cents), lead, today, until)
                    .minimum(Quantity::new(minimum))
                    .packs_of(Quantity::new(pack)),
            ),
        )
        .await?;
    }
    Ok(())
}

async fn receive(
    oms: &Shop,
    po: &o2c::purchasing::PurchaseOrder,
    chair: &Sku,
    units: u32,
    key: &str,
) -> Result<o2c::purchasing::PurchaseOrder> {
    let po = oms
        .receive_purchase_order(
            ReceivePurchaseOrder::new(IdempotencyKey::new(key)?, po.id)
                .with_lines(vec![(chair.clone(), Quantity::new(units))]),
        )
        .await?;
    let cost = oms
        .store()
        .load::<Product>(chair)
        .await?
        .map(|p| p.value.cost)
        .ok_or("the product")?;
    println!("   received {units}; moving-average cost now {cost}");
    Ok(po.into_inner())
}

fn supplier_name(id: SupplierId) -> &'static str {
    match id.to_string().as_str() {
        "00000000-0000-0000-0000-000000000001" => "Seatwell",
        "00000000-0000-0000-0000-000000000002" => "QuickSit",
        _ => "SlowChair",
    }
}

/// The last 8 characters of an id: enough to tell documents apart on screen
/// (version-7 ids share their leading, time-based characters).
fn short(id: &str) -> &str {
    id.get(id.len().saturating_sub(8)..).unwrap_or(id)
}

fn print_order(order: &Order) {
    for line in &order.lines {
        println!(
            "   order {}: {} × {} — reserved {}, back-ordered {}, shipped {}{}",
            short(&order.id.to_string()),
            line.quantity,
            line.sku,
            line.open(),
            line.backordered,
            line.shipped,
            line.promised_on
                .map(|d| format!(", promised {d}"))
                .unwrap_or_default()
        );
    }
    println!("   ready to ship: {}", order.is_ready_to_ship());
}

async fn print_stock(oms: &Shop, sku: &Sku) -> Result<()> {
    for v in oms.inventory_valuation().await? {
        if &v.sku == sku {
            let level = oms.stock_level(sku, &v.location).await?;
            println!(
                "   stock {} at {}: on hand {}, reserved {}, available {}; valued {} × {} = {}",
                v.sku,
                v.location,
                v.on_hand,
                level.reserved,
                level.available(),
                v.on_hand,
                v.unit_cost,
                v.value
            );
        }
    }
    Ok(())
}

async fn print_ledger(oms: &Shop) -> Result<()> {
    let chart = ChartOfAccounts::default();
    println!(
        "   {:<6} {:<30} {:>14} {:>14}",
        "code", "account", "debit", "credit"
    );
    for b in &oms.trial_balance().await?.balances {
        let name = chart.account(&b.account).map_or("?", |a| a.name.as_str());
        let (debit, credit) = if b.balance.is_negative() {
            (String::new(), (-b.balance).to_string())
        } else {
            (b.balance.to_string(), String::new())
        };
        println!(
            "   {:<6} {:<30} {:>14} {:>14}",
            b.account.as_str(),
            name,
            debit,
            credit
        );
    }
    Ok(())
}
