//! A web order and a phone order, each walked through the four steps of
//! order-to-cash — capture, warehouse, accounting, shipping.
//!
//! Run with `cargo run --example quickstart` (the in-memory store), or on a durable
//! file with `cargo run --features sqlite --example quickstart -- --sqlite PATH`: a
//! second run on the same file continues where the first stopped — the books, the
//! stock and the event log carry on, and the new orders get new keys. On a shared
//! database: `cargo run --features postgres --example quickstart -- --postgres URL`
//! (a tenant named `quickstart` in it, or the one `--tenant NAME` gives; a second
//! run continues it too).

use std::error::Error as StdError;
use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use o2c::catalog::{Product, TaxClass, TaxTable};
use o2c::clock::{Clock, ManualClock};
use o2c::customer::{Address, NewCustomer, PaymentMethod, PaymentTerms};
use o2c::fulfilment::{PickupCarrier, Shipment, ShipmentStatus, TableRateCarrier};
use o2c::ids::{IdempotencyKey, LocationId, Sku};
use o2c::ledger::{Invoice, TrialBalance};
use o2c::money::{Currency, Money};
use o2c::order::Order;
use o2c::order::{Channel, Delivery, Discount, PlaceOrder, ServiceLevel};
use o2c::stock::{Location, LocationKind};
use o2c::store::{MemoryStore, Store};
use o2c::{Oms, ReceiveStock, RecordPayment};
use rust_decimal::Decimal;

type Result<T> = std::result::Result<T, Box<dyn StdError>>;
type Carriers = (TableRateCarrier, PickupCarrier);

fn usd(cents: i64) -> Money {
    Money::from_minor(cents, Currency::USD)
}

#[tokio::main]
async fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let flag = |name: &str| {
        args.iter()
            .position(|a| a == name)
            .map(|i| args.get(i + 1).cloned())
    };
    let (sqlite, postgres) = (flag("--sqlite"), flag("--postgres"));
    let tenant = flag("--tenant")
        .flatten()
        .unwrap_or_else(|| "quickstart".to_owned());
    let parcels = TableRateCarrier::new("Parcelly")
        .zone("US", 0)
        .zone("CA", 1)
        .band(1_000, vec![usd(500), usd(900)])
        .band(5_000, vec![usd(800), usd(1400)]);
    let carriers = (parcels, PickupCarrier::new());
    match (sqlite, postgres) {
        (None, None) => run(Oms::new(MemoryStore::new(), carriers)).await,
        (Some(None), _) => Err("--sqlite needs a file path".into()),
        (_, Some(None)) => Err("--postgres needs a connection URL".into()),
        (Some(Some(path)), None) => on_file(&path, carriers).await,
        (_, Some(Some(url))) => on_database(&url, &tenant, carriers).await,
    }
}

#[cfg(feature = "postgres")]
async fn on_database(url: &str, tenant: &str, carriers: Carriers) -> Result<()> {
    use o2c::store::postgres::{PostgresOptions, PostgresStore};
    println!("== Shared database: {url}, tenant {tenant}");
    let options = PostgresOptions::default().with_tenant(tenant);
    let store = PostgresStore::connect(url, options).await?;
    run(Oms::new(store, carriers)).await
}

#[cfg(not(feature = "postgres"))]
async fn on_database(_url: &str, _tenant: &str, _carriers: Carriers) -> Result<()> {
    Err("the PostgreSQL store is behind a feature: cargo run --features postgres --example quickstart -- --postgres URL".into())
}

#[cfg(feature = "sqlite")]
async fn on_file(path: &str, carriers: Carriers) -> Result<()> {
    use o2c::store::sqlite::{SqliteOptions, SqliteStore};
    println!("== Durable store: {path}");
    let store = SqliteStore::open(path, SqliteOptions::default())?;
    run(Oms::new(store, carriers)).await
}

#[cfg(not(feature = "sqlite"))]
async fn on_file(_path: &str, _carriers: Carriers) -> Result<()> {
    Err("the SQLite store is behind a feature: cargo run --features sqlite --example quickstart -- --sqlite PATH".into())
}

/// Everything, on whichever store: a file may hold earlier runs, so this run's keys
/// and clock carry its run number.
async fn run<S: Store>(oms: Oms<S, Carriers>) -> Result<()> {
    let earlier = oms.store().list::<Order>().await?.len() / 2;
    let run = earlier + 1;
    if earlier > 0 {
        println!("   the file holds {earlier} earlier run(s); this is run {run}");
    }
    let clock = Arc::new(ManualClock::new(
        DateTime::parse_from_rfc3339("2026-11-27T09:00:00Z")?.with_timezone(&Utc)
            + Duration::days(i64::try_from(earlier)? * 40),
    ));
    let oms = oms.with_clock(clock.clone());
    let key = |name: &str| IdempotencyKey::new(format!("{name}-run{run}"));

    println!("== Setting up: tax, catalogue, two warehouses, opening stock");
    oms.set_tax_table(TaxTable::new().with_rate(TaxClass::standard(), None, Decimal::new(8, 2)))
        .await?;
    let tee = Sku::new("TEE-BLUE-M")?;
    let mug = Sku::new("MUG-LOGO")?;
    for (sku, name, price, cost, grams) in [
        (&tee, "Blue T-shirt, M", 2000, 800, 220),
        (&mug, "Logo mug", 1250, 400, 450),
    ] {
        let mut product = Product::new(
            sku.clone(),
            name,
            usd(price),
            usd(cost),
            TaxClass::standard(),
        );
        product.weight_grams = grams;
        oms.save_product(product).await?;
    }
    let east = LocationId::new("WH-EAST")?;
    let west = LocationId::new("WH-WEST")?;
    for (id, priority, city) in [(&east, 1, "Newark"), (&west, 2, "Reno")] {
        let address = Address::new(id.as_str(), "1 Dock Rd", city, "00000", "US");
        oms.save_location(Location::new(
            id.clone(),
            id.as_str(),
            LocationKind::Warehouse,
            address,
            priority,
        ))
        .await?;
    }
    for (sku, at, units) in [(&tee, &east, 3), (&tee, &west, 10), (&mug, &east, 6)] {
        oms.receive_stock(
            ReceiveStock::new(
                key(&format!("opening-{sku}-{at}"))?,
                sku.clone(),
                at.clone(),
                units,
            )
            .with_reference("opening stock".into()),
        )
        .await?;
    }
    print_stock(&oms, &[&tee, &mug]).await?;

    // ---------------------------------------------------------------- web order
    println!("\n== Web order: a prepaid card customer buys 4 T-shirts and a mug");
    let mut ada = NewCustomer::new(
        "Ada Lovelace",
        "ada@example.com",
        Address::new("Ada Lovelace", "12 Analytical Way", "Boston", "02108", "US"),
        Currency::USD,
    );
    ada.payment_method = PaymentMethod::Card;
    let ada = oms.register_customer(ada, key("signup-ada")?).await?;

    println!("-- 1. Capture");
    let web = PlaceOrder::new(key("web-cart-7f3a")?, ada.id, Channel::Web, Currency::USD)
        .line(tee.clone(), 4)
        .line(mug.clone(), 1)
        .shipping(usd(595));
    let order = oms.place_order(web.clone()).await?;
    let retry = oms.place_order(web).await?;
    println!(
        "   order {} placed, total {}; a double-click returned the same order: {} (replay: {})",
        order.id,
        order.total()?,
        retry.id == order.id,
        retry.replayed
    );
    println!(
        "   status {:?}, holds {:?} (prepaid: nothing ships before payment)",
        order.status, order.holds
    );

    println!("-- 2. Warehouse: reserved across locations (no single site has 4 T-shirts)");
    for line in &order.lines {
        for r in &line.reservations {
            println!(
                "   line {} {} × {} reserved at {}",
                line.line_no, r.quantity, line.sku, r.location
            );
        }
    }
    print_stock(&oms, &[&tee, &mug]).await?;

    println!("-- 3. Accounting: the invoice, then the card payment");
    let invoice = oms
        .invoice(order.invoices.first().copied().ok_or("no invoice")?)
        .await?;
    print_invoice(&invoice)?;
    oms.record_payment(RecordPayment::new(
        key("psp-charge-1")?,
        invoice.id,
        invoice.total()?,
        PaymentMethod::Card,
    ))
    .await?;
    let order = oms.order(order.id).await?;
    println!(
        "   paid; order status {:?}, payment {:?}",
        order.status,
        order.payment_status()
    );

    println!("-- 4. Shipping: one shipment per location, booked with the parcel carrier");
    clock.advance(Duration::hours(3));
    let shipments = oms.ship(order.id, key("ship-web-cart")?).await?;
    for s in &shipments {
        println!("   {}", describe(s));
    }
    print_stock(&oms, &[&tee, &mug]).await?;
    for (i, s) in shipments.iter().enumerate() {
        let at = clock.now();
        oms.carrier()
            .0
            .scan(&s.tracking, ShipmentStatus::InTransit, at, "departed hub")?;
        oms.carrier().0.scan(
            &s.tracking,
            ShipmentStatus::Delivered,
            at + Duration::hours(20 + 4 * i64::try_from(i)?),
            "left at front door",
        )?;
        let s = oms.refresh_tracking(s.id).await?;
        let trail: Vec<String> = s
            .tracking_events
            .iter()
            .map(|e| format!("{:?} ({})", e.status, e.description))
            .collect();
        println!("   {}: {}", s.tracking, trail.join(" → "));
    }
    let order = oms.order(order.id).await?;
    println!(
        "   web order is {:?} ({:?}, {:?})",
        order.status,
        order.fulfilment_status(),
        order.payment_status()
    );

    // -------------------------------------------------------------- phone order
    println!("\n== Phone order: a B2B customer on net-30 terms calls the sales desk");
    let mut bolt = NewCustomer::new(
        "Bolt & Nut Ltd",
        "buying@boltnut.example",
        Address::new(
            "Bolt & Nut Ltd",
            "4 Foundry Lane",
            "Toronto",
            "M5V 2T6",
            "CA",
        ),
        Currency::USD,
    );
    bolt.terms = PaymentTerms::Net { days: 30 };
    bolt.payment_method = PaymentMethod::BankTransfer;
    bolt.credit_limit = Some(usd(50_000));
    let bolt = oms.register_customer(bolt, key("signup-bolt")?).await?;

    println!("-- 1. Capture: 5 mugs, 10% off the order, express to Canada");
    let phone = PlaceOrder::new(
        key("call-2026-11-27-0042")?,
        bolt.id,
        Channel::Phone,
        Currency::USD,
    )
    .line(mug.clone(), 5)
    .discount(Discount::Percent(Decimal::TEN))
    .deliver(Delivery::Ship {
        address: bolt
            .profile
            .addresses
            .first()
            .cloned()
            .ok_or("no address")?
            .into(),
        service: ServiceLevel::Express,
    })
    .shipping(usd(2500));
    let order = oms.place_order(phone).await?;
    println!(
        "   order {} total {}, status {:?} (within the credit limit: no hold)",
        order.id,
        order.total()?,
        order.status
    );

    println!("-- 2. Warehouse");
    print_stock(&oms, &[&mug]).await?;

    println!("-- 3. Accounting: invoiced on order, due in 30 days");
    let invoice = oms
        .invoice(order.invoices.first().copied().ok_or("no invoice")?)
        .await?;
    print_invoice(&invoice)?;

    println!("-- 4. Shipping: it ships on terms, before payment");
    clock.advance(Duration::hours(1));
    let shipments = oms.ship(order.id, key("ship-phone-order")?).await?;
    for s in &shipments {
        println!("   {}", describe(s));
        oms.carrier().0.scan(
            &s.tracking,
            ShipmentStatus::Delivered,
            clock.now() + Duration::days(1),
            "signed for by R. Nut",
        )?;
        let s = oms.refresh_tracking(s.id).await?;
        println!("   {} is {:?}", s.tracking, s.status);
    }
    println!(
        "   customer owes {}",
        oms.customer(bolt.id).await?.history.balance
    );
    clock.advance(Duration::days(21));
    let half = invoice.total()?.split(2)?;
    for (n, part) in half.iter().enumerate() {
        oms.record_payment(RecordPayment::new(
            key(&format!("bank-stmt-{n}"))?,
            invoice.id,
            *part,
            PaymentMethod::BankTransfer,
        ))
        .await?;
        println!(
            "   bank transfer of {part} received; customer owes {}",
            oms.customer(bolt.id).await?.history.balance
        );
    }
    let order = oms.order(order.id).await?;
    println!("   phone order is {:?}", order.status);

    // ------------------------------------------------------------------ checks
    println!("\n== The books");
    print_trial_balance(&oms.trial_balance().await?);

    println!("\n== The event log (what integrations read from a cursor)");
    let last = oms.store().last_event_sequence().await?;
    println!("   {last} events in the log; the last five:");
    for e in oms.events_after(last.saturating_sub(5), 5).await? {
        println!("   #{:<3} {}", e.sequence, serde_json::to_string(&e.event)?);
    }

    println!("\n== Checks");
    let report = oms.audit().await?;
    let trial = oms.trial_balance().await?;
    println!(
        "   trial balance is zero:            {}",
        trial.is_balanced()
    );
    println!("   stock is conserved (audit clean): {}", report.is_clean());
    println!(
        "   audited {} stock levels, {} journal entries, {} orders, {} events",
        report.stock_levels, report.journal_entries, report.orders, report.events
    );
    if !trial.is_balanced() || !report.is_clean() {
        for v in &report.violations {
            eprintln!("   VIOLATION {v}");
        }
        return Err("the books or the stock do not reconcile".into());
    }
    Ok(())
}

async fn print_stock<S: Store>(oms: &Oms<S, Carriers>, skus: &[&Sku]) -> Result<()> {
    println!(
        "   {:<12} {:<8} {:>7} {:>8} {:>9}",
        "SKU", "location", "on hand", "reserved", "available"
    );
    for sku in skus {
        for level in oms.stock(sku).await? {
            println!(
                "   {:<12} {:<8} {:>7} {:>8} {:>9}",
                sku.as_str(),
                level.location.as_str(),
                level.on_hand,
                level.reserved,
                level.available()
            );
        }
    }
    Ok(())
}

fn print_invoice(invoice: &Invoice) -> Result<()> {
    println!(
        "   {} issued {}, due {}",
        invoice.number,
        invoice.issued_at.date_naive(),
        invoice.due_at.date_naive()
    );
    for l in &invoice.lines {
        println!(
            "     {:>3} × {:<18} gross {:>12}  discount {:>11}  net {:>12}  tax {:>11}",
            l.quantity, l.description, l.gross, l.discount, l.net, l.tax
        );
    }
    println!(
        "     shipping {}   net {}   tax {}   TOTAL {}",
        invoice.shipping,
        invoice.net_total()?,
        invoice.tax_total()?,
        invoice.total()?
    );
    Ok(())
}

fn print_trial_balance(trial: &TrialBalance) {
    let chart = o2c::ledger::ChartOfAccounts::default();
    println!(
        "   {:<6} {:<30} {:>14} {:>14}",
        "code", "account", "debit", "credit"
    );
    for b in &trial.balances {
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
}

fn describe(s: &Shipment) -> String {
    let goods: Vec<String> = s
        .lines
        .iter()
        .map(|l| format!("{} × {}", l.quantity, l.sku))
        .collect();
    format!(
        "{} from {}: {} via {} ({}), carrier charges {}",
        s.tracking,
        s.location,
        goods.join(", "),
        s.carrier,
        s.service,
        s.carrier_charge
    )
}
