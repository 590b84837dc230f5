//! A file edited by hand or damaged: a stored value that does not decode is
//! reported as [`ReadError::Corrupt`], naming it, by reads and by the commit that
//! meets it, and changes nothing.

use rusqlite::{Connection, params};

use super::temp::TempFile;
use super::{Durability, SqliteOptions, SqliteStore};
use crate::Oms;
use crate::catalog::Product;
use crate::error::Error;
use crate::fulfilment::PickupCarrier;
use crate::ids::EntryId;
use crate::ledger::{AccountCode, AccountKind, ChartOfAccounts, EntryBuilder, EntrySource};
use crate::purchasing::fixtures::{at, cup, sku, usd};
use crate::store::{Changeset, Prefetch, ReadError, RecordKey, Store, StoreError, each};

/// A private store that caches no decoded records, so every read decodes what is
/// in the file.
fn uncached() -> SqliteStore {
    let temp = TempFile::new().unwrap();
    let options = SqliteOptions::default()
        .with_durability(Durability::Normal)
        .with_cache_records(0);
    SqliteStore::open_file(temp.path.clone(), &options, Some(temp)).unwrap()
}

/// Runs `sql` on the store's file through a connection of its own, as someone at
/// the `sqlite3` shell would; returns the rows it changed.
fn edit(store: &SqliteStore, sql: &str, param: &str) -> usize {
    Connection::open(store.path())
        .unwrap()
        .execute(sql, [param])
        .unwrap()
}

/// The version and body of the record at `key`, as they are in the file.
fn stored(store: &SqliteStore, key: &RecordKey) -> (i64, String) {
    Connection::open(store.path())
        .unwrap()
        .query_row(
            "SELECT version, body FROM records WHERE record_key = ?1",
            params![key.describe()],
            |row| Ok((row.get(0)?, row.get(1)?)),
        )
        .unwrap()
}

/// `Some(key)` if `e` is a corrupt value that names the record `key`.
fn corrupt_record(e: &ReadError) -> Option<&RecordKey> {
    match e {
        ReadError::Corrupt { key, .. } => key.as_ref(),
        ReadError::Backend(_) => None,
    }
}

#[test]
fn a_record_that_does_not_decode_is_corrupt_and_named_wherever_it_is_read() {
    pollster::block_on(async {
        let store = uncached();
        let oms = Oms::new(store.clone(), PickupCarrier::new());
        oms.save_product(cup()).await.unwrap();
        let key = RecordKey::Product(sku("CUP"));
        let bad = r#"{"Product": {"sku": "CUP""#;
        let sql = "UPDATE records SET body = ?1 WHERE record_key = 'product/CUP'";
        assert_eq!(edit(&store, sql, bad), 1);
        let (version, _) = stored(&store, &key);
        let last = store.last_event_sequence().await.unwrap();

        // Read by key: the error carries the key.
        let e = store.load::<Product>(&sku("CUP")).await.unwrap_err();
        assert_eq!(corrupt_record(&e), Some(&key), "{e:?}");
        assert!(e.to_string().contains("product/CUP"), "{e}");
        let e = store
            .fetch(&Prefetch::new().record::<Product>(&sku("CUP")))
            .await
            .unwrap_err();
        assert_eq!(corrupt_record(&e), Some(&key), "{e:?}");

        // Read by kind: a scan has the key as text only, and names it by that.
        let e = store.list::<Product>().await.unwrap_err();
        assert!(
            matches!(&e, ReadError::Corrupt { key: None, what, reason }
                if what.contains("product/CUP") && !reason.is_empty()),
            "{e:?}"
        );
        let e = store
            .read_snapshot(|snapshot| each::<Product>(snapshot, |_| {}))
            .await
            .unwrap()
            .unwrap_err();
        assert!(e.to_string().contains("product/CUP"), "{e}");

        // Through the service: a read, a command's own read, a fetch. Each is
        // `Error::Read`, not a lost race, and not retried.
        let e = oms.product(&sku("CUP")).await.unwrap_err();
        assert!(
            matches!(&e, Error::Read(read) if corrupt_record(read) == Some(&key)),
            "{e:?}"
        );
        assert!(!e.is_retryable());
        let mut cheaper = cup();
        cheaper.price = usd(400);
        let e = oms.save_product(cheaper).await.unwrap_err();
        assert!(
            matches!(&e, Error::Read(read) if corrupt_record(read) == Some(&key)),
            "{e:?}"
        );
        let e = oms.availability(&[sku("CUP")]).await.unwrap_err();
        assert!(
            matches!(&e, Error::Read(read) if corrupt_record(read) == Some(&key)),
            "{e:?}"
        );

        // Nothing was written: the record is as edited, and no event was added.
        assert_eq!(stored(&store, &key), (version, bad.to_owned()));
        assert_eq!(store.last_event_sequence().await.unwrap(), last);
    });
}

/// A changeset posting `cents` from cash to sales.
fn sale(id: u128, cents: i64) -> Changeset {
    let chart = ChartOfAccounts::empty()
        .with("1000", "Cash", AccountKind::Asset)
        .with("4000", "Sales", AccountKind::Revenue);
    let source = EntrySource::StockAdjustment {
        reason: "test".into(),
    };
    let entry = EntryBuilder::new("sale", source)
        .debit(&AccountCode::new("1000"), usd(cents))
        .credit(&AccountCode::new("4000"), usd(cents))
        .build(EntryId::from_uuid(uuid::Uuid::from_u128(id)), at(), &chart)
        .unwrap();
    let mut changes = Changeset::new(at());
    changes.journal.push(entry);
    changes
}

#[test]
fn a_commit_that_reads_a_value_that_does_not_decode_fails_as_a_read_and_writes_nothing() {
    pollster::block_on(async {
        let store = uncached();
        store.commit(sale(1, 500)).await.unwrap();
        let sql = "UPDATE balances SET balance = ?1 WHERE account = '1000'";
        assert_eq!(edit(&store, sql, "five dollars"), 1);

        // The commit reads the balance it adds to, inside its transaction.
        let e = store.commit(sale(2, 300)).await.unwrap_err();
        let StoreError::Read(ReadError::Corrupt { key, what, .. }) = &e else {
            panic!("{e:?}")
        };
        assert_eq!(*key, None);
        assert!(what.contains("balance of 1000"), "{what}");
        // The service reports it as a failed read, like any other.
        assert!(matches!(
            Error::from(e),
            Error::Read(ReadError::Corrupt { .. })
        ));

        assert_eq!(
            store.journal(0, 10).await.unwrap().len(),
            1,
            "nothing written"
        );
        let e = store.account_balances().await.unwrap_err();
        assert!(e.to_string().contains("balance of 1000"), "{e}");
    });
}
