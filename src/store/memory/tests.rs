//! The memory store shares its records with the fetches that read them: a reader
//! keeps what it read whatever commits after, and a record no reader holds is
//! updated where it lies.

use std::sync::Arc;

use super::MemoryStore;
use crate::catalog::{Product, TaxClass};
use crate::customer::Customer;
use crate::ids::Sku;
use crate::ledger::fixtures::{at, given_order, usd};
use crate::store::{Changeset, Entity, Prefetch, Record, Store, Versioned};

fn mug() -> Product {
    Product::new(
        Sku::new("MUG").unwrap(),
        "Mug",
        usd(1000),
        usd(400),
        TaxClass::standard(),
    )
}

/// Commits `changes`, which must succeed.
fn commit(store: &MemoryStore, changes: Changeset) {
    pollster::block_on(store.commit(changes)).unwrap();
}

/// A store holding `entity` alone, at version 1.
fn holding(entity: impl Entity) -> MemoryStore {
    let store = MemoryStore::new();
    let mut changes = Changeset::new(at());
    changes.insert(entity);
    commit(&store, changes);
    store
}

/// The one record a fetch of `request` found, as the store shares it.
fn fetch_one(store: &MemoryStore, request: &Prefetch) -> (u64, Arc<Record>) {
    let mut fetched = pollster::block_on(store.fetch(request)).unwrap();
    assert_eq!(fetched.records.len(), 1);
    fetched.records.pop().unwrap()
}

#[test]
fn a_reader_keeps_the_record_it_read_after_a_commit_replaces_it() {
    let store = holding(mug());
    let asked = Prefetch::new().record::<Product>(&mug().sku);
    let fetched = pollster::block_on(store.fetch(&asked)).unwrap();
    let Versioned {
        version,
        value: read,
    } = fetched.lend::<Product>(&mug().sku).unwrap();
    assert_eq!((version, read), (1, &mug()));

    let mut repriced = mug();
    repriced.price = usd(1200);
    repriced.name = "Big mug".into();
    let mut changes = Changeset::new(at());
    changes.update(repriced.clone(), 1);
    commit(&store, changes);

    // The commit replaced the record the reader holds: the reader still sees
    // what it read, a new read sees the commit.
    assert_eq!((version, read), (1, &mug()), "what was read stays as read");
    assert_eq!(
        fetched
            .get::<Product>(&mug().sku)
            .map(|p| (p.version, p.value)),
        Some((1, mug()))
    );
    let (now, record) = fetch_one(&store, &asked);
    assert_eq!((now, &*record), (2, &Record::Product(repriced)));
}

#[test]
fn a_merge_into_a_record_a_reader_holds_leaves_the_reader_its_copy() {
    let (customer, _) = given_order();
    let store = holding(customer.clone());
    let asked = Prefetch::new().record::<Customer>(&customer.id);
    let fetched = pollster::block_on(store.fetch(&asked)).unwrap();

    let mut after = customer.clone();
    after.history.orders_placed += 1;
    let mut changes = Changeset::new(at());
    changes.move_customer(&customer, &after).unwrap();
    commit(&store, changes);

    let Versioned {
        version,
        value: read,
    } = fetched.lend::<Customer>(&customer.id).unwrap();
    assert_eq!((version, read), (1, &customer));
    let (now, record) = fetch_one(&store, &asked);
    assert_eq!((now, &*record), (2, &Record::Customer(after)));
}

#[test]
fn a_record_no_reader_holds_is_updated_where_it_lies() {
    let store = holding(mug());
    let asked = Prefetch::new().record::<Product>(&mug().sku);
    let (_, first) = fetch_one(&store, &asked);
    let stored_at = Arc::as_ptr(&first);
    drop(first);

    let mut repriced = mug();
    repriced.price = usd(1200);
    let mut changes = Changeset::new(at());
    changes.update(repriced.clone(), 1);
    commit(&store, changes);
    let (version, second) = fetch_one(&store, &asked);
    assert_eq!((version, &*second), (2, &Record::Product(repriced)));
    assert_eq!(Arc::as_ptr(&second), stored_at, "written over, not moved");

    // Held by a reader, it is replaced instead: the reader's stays put.
    let mut changes = Changeset::new(at());
    changes.update(mug(), 2);
    commit(&store, changes);
    let (version, third) = fetch_one(&store, &asked);
    assert_eq!(version, 3);
    assert_ne!(Arc::as_ptr(&third), Arc::as_ptr(&second));
    assert_eq!(
        *second,
        Record::Product(Product {
            price: usd(1200),
            ..mug()
        })
    );
}
