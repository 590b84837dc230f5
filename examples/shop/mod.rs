//! The shop the scaling examples fill: 1,000 SKUs stocked in four warehouses and
//! 3,000 customers on 30-day terms. Shared by `scaling` and `audit_scale`.

use o2c::catalog::{Product, TaxClass, TaxTable};
use o2c::customer::{Address, Customer, NewCustomer, PaymentTerms};
use o2c::fulfilment::TableRateCarrier;
use o2c::ids::{IdempotencyKey, LocationId, Sku};
use o2c::money::{Currency, Money};
use o2c::stock::{Location, LocationKind};
use o2c::store::Store;
use o2c::{Oms, ReceiveStock};

pub const SKUS: usize = 1_000;
pub const CUSTOMERS: usize = 3_000;
const WAREHOUSES: [&str; 4] = ["WH-1", "WH-2", "WH-3", "WH-4"];

/// The value after `name` on the command line (`--orders 1000`).
pub fn flag(name: &str) -> Option<String> {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .cloned()
}

/// Runs a command to the end; an example has nothing to recover from.
pub fn run<T>(future: impl Future<Output = Result<T, o2c::Error>>) -> T {
    pollster::block_on(future).unwrap_or_else(|e| panic!("{e}"))
}

pub fn key(s: &str) -> IdempotencyKey {
    IdempotencyKey::new(s).unwrap()
}

pub fn usd(cents: i64) -> Money {
    Money::from_minor(cents, Currency::USD)
}

pub fn sku(n: usize) -> Sku {
    Sku::new(format!("SKU-{n:05}")).unwrap()
}

/// The shop on `store`, with its customers.
pub fn setup<S: Store>(store: S) -> (Oms<S, TableRateCarrier>, Vec<Customer>) {
    let carrier = TableRateCarrier::new("Parcelly")
        .zone("US", 0)
        .band(u64::MAX, vec![usd(500)]);
    let oms = Oms::new(store, carrier);
    run(oms.set_tax_table(TaxTable::new().with_rate(
        TaxClass::standard(),
        None,
        rust_decimal::Decimal::new(8, 2),
    )));
    for (i, code) in WAREHOUSES.into_iter().enumerate() {
        let address = Address::new(code, "1 Dock Rd", "Reno", "89501", "US");
        run(oms.save_location(Location::new(
            LocationId::new(code).unwrap(),
            code,
            LocationKind::Warehouse,
            address,
            u32::try_from(i).unwrap(),
        )));
    }
    for n in 0..SKUS {
        let mut product = Product::new(
            sku(n),
            format!("Product {n}"),
            usd(500 + i64::try_from(n).unwrap()),
            usd(200),
            TaxClass::standard(),
        );
        product.weight_grams = 300;
        run(oms.save_product(product));
        for code in WAREHOUSES {
            run(oms.receive_stock(
                ReceiveStock::new(
                    key(&format!("open-{n}-{code}")),
                    sku(n),
                    LocationId::new(code).unwrap(),
                    100_000_000,
                )
                .with_reference("opening".into()),
            ));
        }
    }
    let customers = (0..CUSTOMERS)
        .map(|n| {
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
            profile.terms = PaymentTerms::Net { days: 30 };
            run(oms.register_customer(profile, IdempotencyKey::generate())).into_inner()
        })
        .collect();
    (oms, customers)
}

/// A field of /proc/self/status in bytes (0 where /proc is missing).
fn status_bytes(field: &str) -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .map_or(0, |kb| kb * 1024)
}

/// Resident memory now.
pub fn rss_bytes() -> u64 {
    status_bytes("VmRSS:")
}

/// The most resident memory the process has had.
pub fn peak_rss_bytes() -> u64 {
    status_bytes("VmHWM:")
}
