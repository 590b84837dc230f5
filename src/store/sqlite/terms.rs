//! Index terms in SQLite: the `record_terms` table (see the schema), rewritten
//! with each put inside the commit's transaction and read inside the fetch's, so
//! a term finds a record exactly when the record as read has it.

use std::collections::HashSet;
use std::sync::Arc;

use rusqlite::{Connection, Transaction, params};

use super::cache::RecordCache;
use super::error::{db, read_db};
use crate::store::codec::{from_json, to_u64};
use crate::store::{IndexTerm, ReadResult, Record, RecordKey, StoreResult};

/// Replaces the terms of the record at `key` with those of `record`, its new
/// value. A kind that has none is skipped without a statement.
pub(super) fn rewrite(tx: &Transaction<'_>, key: &RecordKey, record: &Record) -> StoreResult<()> {
    if !key.may_have_terms() {
        return Ok(());
    }
    let described = key.describe();
    tx.prepare_cached("DELETE FROM record_terms WHERE record_key = ?1")
        .and_then(|mut stmt| stmt.execute([&described]))
        .map_err(db)?;
    let terms = record.index_terms();
    if terms.is_empty() {
        return Ok(());
    }
    let mut stmt = tx
        .prepare_cached("INSERT INTO record_terms (kind, term, record_key) VALUES (?1, ?2, ?3)")
        .map_err(db)?;
    for term in terms {
        stmt.execute(params![key.kind(), term.describe(), described])
            .map_err(db)?;
    }
    Ok(())
}

/// The records of each kind found under its term in `asked`, each once however
/// many terms find it. Run inside the fetch's read transaction, so they are of
/// the same snapshot as everything else it reads.
pub(super) fn found_under(
    conn: &Connection,
    cache: &RecordCache,
    asked: &[(&'static str, IndexTerm)],
) -> ReadResult<Vec<(u64, Arc<Record>)>> {
    let mut found = Vec::new();
    if asked.is_empty() {
        return Ok(found);
    }
    let mut seen: HashSet<String> = HashSet::new();
    let mut stmt = conn
        .prepare_cached(
            "SELECT t.record_key, r.version, r.body FROM record_terms AS t
             JOIN records AS r ON r.record_key = t.record_key
             WHERE t.kind = ?1 AND t.term = ?2",
        )
        .map_err(read_db)?;
    for (kind, term) in asked {
        let mut rows = stmt
            .query(params![kind, term.describe()])
            .map_err(read_db)?;
        while let Some(row) = rows.next().map_err(read_db)? {
            let key: String = row.get(0).map_err(read_db)?;
            if seen.contains(&key) {
                continue;
            }
            let version = to_u64(
                row.get(1).map_err(read_db)?,
                format_args!("version of {key}"),
            )?;
            // As a read by key: the body is decoded only when the cache lacks
            // this version of the record.
            let record = match cache.get(&key, version) {
                Some(record) => record,
                None => {
                    let body: String = row.get(2).map_err(read_db)?;
                    let record: Arc<Record> =
                        Arc::new(from_json(&body, format_args!("record {key}"))?);
                    cache.put(key.clone(), version, Arc::clone(&record));
                    record
                }
            };
            seen.insert(key);
            found.push((version, record));
        }
    }
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::super::migrations::migrate_with;
    use super::super::schema::{MIGRATIONS, RECORD_TERMS};
    use super::*;
    use crate::purchasing::PurchaseOrderStatus;
    use crate::purchasing::fixtures::{cup, draft, mills, sku, usd};
    use crate::store::codec::to_json;

    /// (kind, term, record key) rows, sorted.
    fn rows(conn: &Connection) -> Vec<(String, String, String)> {
        let mut stmt = conn
            .prepare("SELECT kind, term, record_key FROM record_terms ORDER BY 1, 2, 3")
            .unwrap();
        stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap()
    }

    /// A file at the version before the terms step, holding purchase orders in
    /// every state, a supplier offering one SKU twice and a product, gets the
    /// same terms from the step's SQL as a commit writes from
    /// `Record::index_terms`.
    #[test]
    fn the_schema_step_fills_the_terms_of_records_already_stored() {
        let before = MIGRATIONS
            .iter()
            .position(|step| *step == RECORD_TERMS)
            .unwrap();
        let mut conn = Connection::open_in_memory().unwrap();
        migrate_with(&mut conn, &MIGRATIONS[..before]).unwrap();

        let mut records = vec![Record::Product(cup())];
        for (n, status) in [
            PurchaseOrderStatus::Draft,
            PurchaseOrderStatus::Approved,
            PurchaseOrderStatus::PartiallyReceived,
            PurchaseOrderStatus::Received,
            PurchaseOrderStatus::Closed,
            PurchaseOrderStatus::Cancelled,
        ]
        .into_iter()
        .enumerate()
        {
            let mut po = draft(
                10 + n as u128,
                vec![(sku("MUG"), 10, usd(250)), (sku("CUP"), 6, usd(100))],
            );
            po.status = status;
            records.push(Record::PurchaseOrder(po));
        }
        let mut supplier = mills();
        let again = supplier.offers[0]
            .clone()
            .packs_of(crate::quantity::Quantity::new(12));
        supplier.offers.push(again);
        records.push(Record::Supplier(supplier));
        for record in &records {
            let key = record.key();
            conn.execute(
                "INSERT INTO records (record_key, kind, version, body) VALUES (?1, ?2, 1, ?3)",
                params![key.describe(), key.kind(), to_json(record).unwrap()],
            )
            .unwrap();
        }

        migrate_with(&mut conn, MIGRATIONS).unwrap();
        let mut want: Vec<(String, String, String)> = records
            .iter()
            .flat_map(|record| {
                let key = record.key();
                record
                    .index_terms()
                    .into_iter()
                    .map(move |term| (key.kind().to_owned(), term.describe(), key.describe()))
            })
            .collect();
        want.sort();
        assert_eq!(
            want.len(),
            3 * 2 + 2,
            "three open orders of two SKUs, a supplier of two"
        );
        assert_eq!(rows(&conn), want);

        // And an indexed read finds them, the supplier once for its two mug offers.
        let cache = RecordCache::new(0);
        let asked = [
            ("supplier", IndexTerm::Sku(sku("MUG"))),
            ("supplier", IndexTerm::Sku(sku("CUP"))),
            ("purchase_order", IndexTerm::Sku(sku("MUG"))),
        ];
        let found = found_under(&conn, &cache, &asked).unwrap();
        assert_eq!(found.len(), 1 + 3, "{found:?}");
    }
}
