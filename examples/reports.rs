//! The central view: a small shop trades for ninety days (seeded, so every run is
//! the same), then the reports a manager and an accountant read are printed —
//! receivables ageing, sales by channel, cycle times, fill rate, low stock and
//! back orders — and written as CSV files beside the books as an hledger journal
//! and a beancount file.
//!
//! ```sh
//! cargo run --example reports                     # writes to target/o2c-reports
//! cargo run --example reports -- --out DIR
//! hledger -f target/o2c-reports/books.journal balance
//! ```
// An example has nothing to recover from: a failure should stop it loudly.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

// The examples' shared seeded generator (loadgen's too).
#[allow(dead_code)]
#[path = "shop/rng.rs"]
mod rng;

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::fs::File;
use std::io::BufWriter;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use chrono::{DateTime, Duration, NaiveDate, Utc};
use o2c::catalog::{Product, TaxClass, TaxTable};
use o2c::clock::{Clock, ManualClock, SeededIds};
use o2c::customer::{Address, NewCustomer, PaymentMethod, PaymentTerms};
use o2c::fulfilment::{ShipmentStatus, TableRateCarrier, TrackingEvent};
use o2c::ids::{CustomerId, IdempotencyKey, LocationId, OrderId, Sku};
use o2c::ledger::{ExportOptions, JournalFormat};
use o2c::money::{Currency, Money};
use o2c::order::{Channel, PlaceOrder};
use o2c::purchasing::{BackOrderPolicy, ReorderRule};
use o2c::quantity::Quantity;
use o2c::reports::{
    CsvRow, DateRange, Dimension, Granularity, Page, PageRequest, SalesQuery, StockFilter,
    write_csv,
};
use o2c::returns::{Condition, ReceiveReturn, RequestReturn, ReturnReason};
use o2c::stock::{Location, LocationKind};
use o2c::store::MemoryStore;
use o2c::{Oms, ReceiveStock, RecordPayment};
use rng::SplitMix64;

type Shop = Oms<MemoryStore, TableRateCarrier>;
type Res<T> = Result<T, Box<dyn std::error::Error>>;

const DAYS: i64 = 90;
const ORDERS_A_DAY: u64 = 12;
const CHANNELS: [Channel; 4] = [Channel::Web, Channel::Store, Channel::Phone, Channel::B2b];
const PRODUCTS: [(&str, i64, i64); 6] = [
    // SKU, price and cost in cents
    ("TEE", 2_000, 800),
    ("MUG", 1_250, 400),
    ("CAP", 1_800, 600),
    ("BOOK", 1_599, 650),
    ("LAMP", 4_900, 2_100),
    ("RUG", 12_000, 5_500),
];

fn key(s: &str) -> IdempotencyKey {
    IdempotencyKey::new(s).unwrap()
}

fn usd(cents: i64) -> Money {
    Money::from_minor(cents, Currency::USD)
}

fn sku(code: &str) -> Sku {
    Sku::new(code).unwrap()
}

fn warehouse() -> LocationId {
    LocationId::new("WH-MAIN").unwrap()
}

fn main() -> Res<()> {
    let out = std::env::args()
        .skip_while(|a| a != "--out")
        .nth(1)
        .map_or_else(|| PathBuf::from("target/o2c-reports"), PathBuf::from);
    pollster::block_on(run(&out))
}

async fn run(out: &Path) -> Res<()> {
    let start: DateTime<Utc> = DateTime::parse_from_rfc3339("2026-09-01T08:00:00Z")?.into();
    let clock = Arc::new(ManualClock::new(start));
    let oms = shop(&clock).await?;
    let customers = customers(&oms).await?;
    let mut rng = SplitMix64::new(2026);
    let mut diary = Diary::new();
    for day in 0..DAYS {
        trade_a_day(&oms, &clock, &customers, &mut rng, &mut diary, day).await?;
    }
    let today = clock.now().date_naive();
    println!("o2c central view, {today}, after {DAYS} days of trading\n");
    print_view(&oms, today).await?;
    write_files(&oms, today, out).await?;
    Ok(())
}

async fn shop(clock: &Arc<ManualClock>) -> Res<Shop> {
    let carrier = TableRateCarrier::new("Parcelly")
        .zone("US", 0)
        .band(u64::MAX, vec![usd(600)]);
    let oms = Oms::new(MemoryStore::new(), carrier)
        .with_clock(clock.clone())
        .with_ids(Arc::new(SeededIds::new(2026)));
    oms.set_tax_table(TaxTable::new().with_rate(
        TaxClass::standard(),
        None,
        rust_decimal::Decimal::new(8, 2),
    ))
    .await?;
    let address = Address::new("Main warehouse", "1 Dock Rd", "Reno", "89501", "US");
    oms.save_location(Location::new(
        warehouse(),
        "Main warehouse",
        LocationKind::Warehouse,
        address,
        1,
    ))
    .await?;
    for (code, price, cost) in PRODUCTS {
        let mut product =
            Product::new(sku(code), code, usd(price), usd(cost), TaxClass::standard());
        product.weight_grams = 500;
        oms.save_product(product).await?;
        // Rugs are scarce: their orders wait, and show in the back-order ageing.
        let units = if code == "RUG" { 40 } else { 2_000 };
        oms.receive_stock(
            ReceiveStock::new(
                key(&format!("opening-{code}")),
                sku(code),
                warehouse(),
                units,
            )
            .with_reference("opening stock".into()),
        )
        .await?;
        oms.set_reorder_rule(ReorderRule {
            sku: sku(code),
            location: warehouse(),
            min: Quantity::new(if code == "LAMP" { 1_900 } else { 100 }),
            max: Quantity::new(2_500),
        })
        .await?;
    }
    Ok(oms)
}

async fn customers(oms: &Shop) -> Res<Vec<CustomerId>> {
    let mut ids = Vec::new();
    for n in 0..40 {
        let address = Address::new(
            format!("Customer {n}"),
            "1 Main St",
            "Boston",
            "02108",
            "US",
        );
        let mut profile = NewCustomer::new(
            format!("Customer {n}"),
            format!("c{n}@example.com"),
            address,
            Currency::USD,
        );
        profile.terms = PaymentTerms::Net {
            days: if n % 4 == 0 { 14 } else { 30 },
        };
        profile.payment_method = PaymentMethod::BankTransfer;
        let customer = oms
            .register_customer(profile, key(&format!("customer-{n}")))
            .await?;
        ids.push(customer.id);
    }
    Ok(ids)
}

/// What happens to an order after it is placed, and when.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Next {
    Pay(OrderId),
    Ship(OrderId),
    Deliver(OrderId),
    Return(OrderId),
}

/// The work waiting for its time, soonest first.
type Diary = BinaryHeap<Reverse<(DateTime<Utc>, u64, Next)>>;

/// One day: orders through the day, and whatever falls due meanwhile: payments
/// hours to weeks later (and never, from a few customers), shipping within a day
/// or two, delivery a day or three after, now and then a return.
async fn trade_a_day(
    oms: &Shop,
    clock: &ManualClock,
    customers: &[CustomerId],
    rng: &mut SplitMix64,
    diary: &mut Diary,
    day: i64,
) -> Res<()> {
    let mut later = |diary: &mut Diary, rng: &mut SplitMix64, hours: (u64, u64), next: Next| {
        let wait = Duration::minutes(
            i64::try_from(60 * hours.0 + rng.below(60 * (hours.1 - hours.0))).unwrap_or(0),
        );
        let seq = diary.len() as u64 + rng.below(1 << 40);
        diary.push(Reverse((clock.now() + wait, seq, next)));
    };
    for n in 0..ORDERS_A_DAY {
        clock.advance(Duration::minutes(50));
        do_what_is_due(oms, clock, rng, diary, &mut later, &format!("{day}-{n}")).await?;
        let who = customers[rng.below(customers.len() as u64) as usize];
        let channel = CHANNELS[rng.below(4) as usize];
        let (code, ..) = PRODUCTS[rng.below(PRODUCTS.len() as u64) as usize];
        let mut cmd = PlaceOrder::new(
            key(&format!("order-{day}-{n}")),
            who,
            channel,
            Currency::USD,
        )
        .line(sku(code), 1 + rng.below(3) as i64)
        .back_order(BackOrderPolicy::ShipAvailable);
        if rng.chance(30) {
            cmd = cmd.line(sku("MUG"), 1);
        }
        let order = oms.place_order(cmd).await?.into_inner();
        // Customers a multiple of seven never pay; others mostly do, some late.
        let payer = customers.iter().position(|c| *c == who).unwrap_or(0) % 7 != 0;
        if payer && rng.chance(85) {
            let hours = if rng.chance(20) {
                (24 * 20, 24 * 60)
            } else {
                (1, 24 * 12)
            };
            later(diary, rng, hours, Next::Pay(order.id));
        }
        later(diary, rng, (2, 60), Next::Ship(order.id));
    }
    // Overnight.
    clock.advance(Duration::hours(14));
    Ok(())
}

async fn do_what_is_due(
    oms: &Shop,
    clock: &ManualClock,
    rng: &mut SplitMix64,
    diary: &mut Diary,
    later: &mut impl FnMut(&mut Diary, &mut SplitMix64, (u64, u64), Next),
    id: &str,
) -> Res<()> {
    while diary
        .peek()
        .is_some_and(|Reverse((at, ..))| *at <= clock.now())
    {
        let Some(Reverse((_, seq, next))) = diary.pop() else {
            break;
        };
        let id = format!("{id}-{seq}");
        match next {
            Next::Pay(order) => {
                for invoice in oms.order(order).await?.invoices {
                    let owed = oms.invoice(invoice).await?.outstanding()?;
                    if owed.is_positive() {
                        oms.record_payment(RecordPayment::new(
                            key(&format!("pay-{id}")),
                            invoice,
                            owed,
                            PaymentMethod::BankTransfer,
                        ))
                        .await?;
                    }
                }
            }
            Next::Ship(order) => {
                // Nothing to ship (all of it waiting for stock): try again tomorrow.
                match oms.ship(order, key(&format!("ship-{id}"))).await {
                    Ok(shipments) if !shipments.is_empty() => {
                        later(diary, rng, (20, 72), Next::Deliver(order));
                    }
                    _ if oms.order(order).await?.status == o2c::order::OrderStatus::Open => {
                        later(diary, rng, (24, 30), Next::Ship(order));
                    }
                    _ => {}
                }
            }
            Next::Deliver(order) => {
                for shipment in oms.order(order).await?.shipments {
                    if oms.shipment(shipment).await?.status == ShipmentStatus::Delivered {
                        continue;
                    }
                    oms.record_tracking(
                        shipment,
                        TrackingEvent {
                            at: clock.now(),
                            status: ShipmentStatus::Delivered,
                            description: "delivered".into(),
                        },
                    )
                    .await?;
                }
                if rng.chance(4) {
                    later(diary, rng, (48, 200), Next::Return(order));
                }
            }
            Next::Return(order) => {
                let reason =
                    [ReturnReason::Damaged, ReturnReason::NoLongerWanted][rng.below(2) as usize];
                let Ok(rma) = oms
                    .request_return(
                        RequestReturn::new(key(&format!("rma-{id}")), order).line(1, 1, reason),
                    )
                    .await
                else {
                    continue;
                };
                oms.authorise_return(rma.id, key(&format!("rma-ok-{id}")))
                    .await?;
                oms.receive_return(
                    ReceiveReturn::new(key(&format!("rma-in-{id}")), rma.id).line(
                        1,
                        1,
                        Condition::Resellable {
                            location: warehouse(),
                        },
                    ),
                )
                .await?;
            }
        }
    }
    Ok(())
}

fn hours(seconds: u64) -> String {
    format!("{:.1} h", seconds as f64 / 3_600.0)
}

async fn print_view(oms: &Shop, today: NaiveDate) -> Res<()> {
    let first = PageRequest::first(100);
    let last_30 = DateRange::days_up_to(today, 30);

    let ageing = oms.receivables_ageing(today, &first).await?;
    println!("Receivables ageing");
    println!(
        "  {:<10} {:>11} {:>11} {:>11} {:>11} {:>11} {:>11}",
        "", "current", "1-30", "31-60", "61-90", "90+", "total"
    );
    for t in &ageing.totals {
        println!(
            "  {:<10} {:>11} {:>11} {:>11} {:>11} {:>11} {:>11}",
            "all",
            t.current.amount(),
            t.days_1_30.amount(),
            t.days_31_60.amount(),
            t.days_61_90.amount(),
            t.over_90.amount(),
            t.total.amount()
        );
    }
    for dso in &ageing.dso {
        println!(
            "  days sales outstanding: {} ({} owed, {} invoiced over {} days)",
            dso.days.map_or("-".into(), |d| d.to_string()),
            dso.receivables.amount(),
            dso.invoiced.amount(),
            dso.window_days
        );
    }

    let sales = oms
        .sales(&SalesQuery {
            range: last_30,
            granularity: Granularity::Month,
            dimension: Dimension::Channel,
            page: first.clone(),
        })
        .await?;
    println!("\nSales by channel, last 30 days (goods, net of credit notes)");
    println!(
        "  {:<11} {:<7} {:>6} {:>9} {:>11} {:>11} {:>11}",
        "month", "channel", "units", "returned", "net", "cost", "margin"
    );
    for r in &sales.items {
        let channel = match &r.member {
            o2c::reports::Member::Channel(c) => format!("{c:?}"),
            other => format!("{other:?}"),
        };
        println!(
            "  {:<11} {:<7} {:>6} {:>9} {:>11} {:>11} {:>11}",
            r.period.to_string(),
            channel,
            r.units_sold,
            r.units_returned,
            r.net_revenue.amount(),
            r.cost_of_goods.amount(),
            r.gross_margin.amount()
        );
    }

    let cycles = oms.cycle_times(last_30, &first).await?;
    println!("\nCycle times, orders placed in the last 30 days (p50 / p90)");
    for r in &cycles.items {
        println!(
            "  {:<7} {:<22} {:>4} orders  {:>8} / {:>8}",
            format!("{:?}", r.channel),
            format!("{:?}", r.stage),
            r.orders,
            hours(r.p50_seconds),
            hours(r.p90_seconds)
        );
    }

    let fill = all(|p| pollster::block_on(oms.fill_rate(last_30, p)))?;
    let (ordered, filled) = fill.iter().fold((0, 0), |(o, f), r| {
        (o + r.units_ordered, f + r.units_filled)
    });
    let otif = all(|p| pollster::block_on(oms.on_time_in_full(last_30, p)))?;
    let (done, both) = otif
        .iter()
        .fold((0, 0), |(d, b), r| (d + r.orders, b + r.on_time_in_full));
    println!(
        "\nFill rate, last 30 days: {filled} of {ordered} units from stock at once ({:.1} %)",
        100.0 * filled as f64 / ordered.max(1) as f64
    );
    println!(
        "On time in full: {both} of {done} completed orders ({:.1} %)",
        100.0 * both as f64 / done.max(1) as f64
    );

    let low = oms
        .inventory(last_30, StockFilter::AtOrBelowReorderPoint, &first)
        .await?;
    println!("\nLow stock (at or below the reorder point)");
    for r in &low.items {
        println!(
            "  {:<6} at {}: {} available, reorder at {}, {} days of cover",
            r.sku.to_string(),
            r.location,
            r.available,
            r.reorder_point.unwrap_or(0),
            r.days_of_cover.map_or("-".into(), |d| d.to_string())
        );
    }
    let waiting = oms.back_order_ageing(&first).await?;
    println!("\nBack orders");
    for r in &waiting.items {
        println!(
            "  {:<6} {} units for {} orders: {} under a week, {} 8-30 days, {} older; oldest since {}",
            r.sku.to_string(),
            r.units,
            r.orders,
            r.days_0_7,
            r.days_8_30,
            r.days_31_60 + r.over_60,
            r.oldest.date_naive()
        );
    }
    Ok(())
}

/// Every page of a report.
fn all<T>(mut ask: impl FnMut(&PageRequest) -> Result<Page<T>, o2c::Error>) -> Res<Vec<T>> {
    let mut request = PageRequest::first(100);
    let mut rows = Vec::new();
    loop {
        let page = ask(&request)?;
        let next = request.next(&page);
        rows.extend(page.items);
        match next {
            Some(n) => request = n,
            None => return Ok(rows),
        }
    }
}

fn csv<T: CsvRow>(dir: &Path, name: &str, rows: &[T]) -> Res<()> {
    let mut file = BufWriter::new(File::create(dir.join(name))?);
    write_csv(&mut file, rows)?;
    Ok(())
}

async fn write_files(oms: &Shop, today: NaiveDate, dir: &Path) -> Res<()> {
    std::fs::create_dir_all(dir)?;
    let quarter = DateRange::days_up_to(today, DAYS as u32 + 1);
    // Every customer's row, then the totals.
    let (mut rows, mut totals) = (Vec::new(), Vec::new());
    let mut request = Some(PageRequest::first(100));
    while let Some(asked) = request {
        let ageing = oms.receivables_ageing(today, &asked).await?;
        request = asked.next(&ageing.customers);
        rows.extend(ageing.customers.items);
        totals = ageing.totals;
    }
    rows.extend(totals);
    csv(dir, "ageing.csv", &rows)?;
    for (name, dimension) in [
        ("sales_by_channel.csv", Dimension::Channel),
        ("sales_by_product.csv", Dimension::Product),
        ("sales_by_customer.csv", Dimension::Customer),
    ] {
        let rows = all(|p| {
            pollster::block_on(oms.sales(&SalesQuery {
                range: quarter,
                granularity: Granularity::Week,
                dimension,
                page: p.clone(),
            }))
        })?;
        csv(dir, name, &rows)?;
    }
    csv(
        dir,
        "cycle_times.csv",
        &all(|p| pollster::block_on(oms.cycle_times(quarter, p)))?,
    )?;
    csv(
        dir,
        "fill_rate.csv",
        &all(|p| pollster::block_on(oms.fill_rate(quarter, p)))?,
    )?;
    csv(
        dir,
        "on_time_in_full.csv",
        &all(|p| pollster::block_on(oms.on_time_in_full(quarter, p)))?,
    )?;
    csv(
        dir,
        "back_orders.csv",
        &all(|p| pollster::block_on(oms.back_order_ageing(p)))?,
    )?;
    csv(
        dir,
        "inventory.csv",
        &all(|p| pollster::block_on(oms.inventory(quarter, StockFilter::All, p)))?,
    )?;
    csv(
        dir,
        "payments.csv",
        &all(|p| pollster::block_on(oms.payment_figures(quarter, p)))?,
    )?;
    csv(
        dir,
        "returns.csv",
        &all(|p| pollster::block_on(oms.returns_by_product(quarter, p)))?,
    )?;
    let journal = oms
        .export_journal(
            BufWriter::new(File::create(dir.join("books.journal"))?),
            &ExportOptions::new(JournalFormat::Hledger),
        )
        .await?;
    oms.export_journal(
        BufWriter::new(File::create(dir.join("books.beancount"))?),
        &ExportOptions::new(JournalFormat::Beancount),
    )
    .await?;
    println!(
        "\nWrote the reports as CSV and the books ({} journal entries) to {}:",
        journal.written,
        dir.display()
    );
    let mut names: Vec<String> = std::fs::read_dir(dir)?
        .filter_map(|e| e.ok().map(|e| e.file_name().to_string_lossy().into_owned()))
        .collect();
    names.sort();
    println!("  {}", names.join(", "));
    println!(
        "Check the books: hledger -f {0}/books.journal balance; bean-check {0}/books.beancount",
        dir.display()
    );
    Ok(())
}
