//! A full disk, simulated with a size cap on the file: the commit that does not fit
//! fails with a typed error, nothing committed is lost, and lifting the cap lets the
//! store carry on.
#![cfg(feature = "sqlite")]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::error::Error as _;

use o2c::catalog::{Product, TaxClass, TaxTable};
use o2c::customer::{Address, NewCustomer, PaymentTerms};
use o2c::fulfilment::PickupCarrier;
use o2c::ids::{IdempotencyKey, LocationId, Sku};
use o2c::money::{Currency, Money};
use o2c::order::{Channel, Delivery, PlaceOrder};
use o2c::stock::{Location, LocationKind};
use o2c::store::StoreError;
use o2c::store::sqlite::{SqliteOptions, SqliteStore};
use o2c::{Error, Oms, ReceiveStock};

#[tokio::test]
async fn a_commit_past_a_full_disk_fails_cleanly_and_loses_nothing() {
    let path = std::env::temp_dir().join(format!("o2c-full-disk-{}.sqlite", std::process::id()));
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
    }
    let (sku, shop) = (Sku::new("S").unwrap(), LocationId::new("SHOP").unwrap());
    let customer = {
        let oms = Oms::new(
            SqliteStore::open(&path, SqliteOptions::default()).unwrap(),
            PickupCarrier::new(),
        );
        let usd = |c| Money::from_minor(c, Currency::USD);
        oms.set_tax_table(TaxTable::new().with_rate(
            TaxClass::standard(),
            None,
            "0.1".parse().unwrap(),
        ))
        .await
        .unwrap();
        oms.save_product(Product::new(
            sku.clone(),
            "S",
            usd(100),
            usd(40),
            TaxClass::standard(),
        ))
        .await
        .unwrap();
        let address = Address::new("Shop", "1 High St", "York", "YO1", "GB");
        oms.save_location(Location::new(
            shop.clone(),
            "Shop",
            LocationKind::Store,
            address.clone(),
            1,
        ))
        .await
        .unwrap();
        oms.receive_stock(
            ReceiveStock::new(
                IdempotencyKey::new("open").unwrap(),
                sku.clone(),
                shop.clone(),
                1_000_000,
            )
            .with_reference("open".into()),
        )
        .await
        .unwrap();
        let mut profile = NewCustomer::new("C", "c@example.com", address, Currency::USD);
        profile.terms = PaymentTerms::Net { days: 30 };
        oms.register_customer(profile, o2c::ids::IdempotencyKey::generate())
            .await
            .unwrap()
            .id
    };
    let order = |n: usize| {
        PlaceOrder::new(
            IdempotencyKey::new(format!("o{n}")).unwrap(),
            customer,
            Channel::Web,
            Currency::USD,
        )
        .line(sku.clone(), 1)
        .deliver(Delivery::Pickup {
            location: shop.clone(),
        })
    };

    // The "disk" holds the file as it is plus a little: orders fit until they don't.
    let size = std::fs::metadata(&path).unwrap().len()
        + std::fs::metadata(format!("{}-wal", path.display())).map_or(0, |m| m.len());
    let capped = SqliteOptions::default().with_max_bytes(size + 64 * 1024);
    let oms = Oms::new(
        SqliteStore::open(&path, capped).unwrap(),
        PickupCarrier::new(),
    );
    let mut placed = Vec::new();
    let failure = loop {
        match oms.place_order(order(placed.len())).await {
            Ok(o) => placed.push(o.id),
            Err(e) => break e,
        }
        assert!(placed.len() < 100_000, "the cap never bit");
    };
    let Error::Store(StoreError::Backend(source)) = &failure else {
        panic!("expected a backend error for a full disk, got {failure:?}");
    };
    let sqlite = source
        .downcast_ref::<rusqlite::Error>()
        .or_else(|| failure.source().and_then(|s| s.downcast_ref()));
    assert!(
        matches!(sqlite, Some(rusqlite::Error::SqliteFailure(e, _)) if e.code == rusqlite::ErrorCode::DiskFull),
        "the source says the disk is full: {source:?}"
    );
    assert!(
        !placed.is_empty(),
        "some orders fitted before the disk filled"
    );
    drop(oms);

    // Room again: everything committed is there, nothing half-written, and it carries on.
    let oms = Oms::new(
        SqliteStore::open(&path, SqliteOptions::default()).unwrap(),
        PickupCarrier::new(),
    );
    for id in &placed {
        oms.order(*id).await.unwrap();
    }
    assert_eq!(
        oms.customer_orders(customer).await.unwrap().len(),
        placed.len()
    );
    let report = oms.audit().await.unwrap();
    assert!(report.is_clean(), "{:?}", report.violations);
    oms.place_order(order(placed.len())).await.unwrap();
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
    }
}
