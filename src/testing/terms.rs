//! Index terms: a store finds a record under the terms it has as stored, and only
//! while it has them.

use crate::ids::{LocationId, PurchaseOrderId, Sku, SupplierId};
use crate::money::Currency;
use crate::purchasing::{Offer, OverReceipt, PurchaseOrder, Supplier};
use crate::quantity::Quantity;
use crate::store::{Changeset, Entity, IndexTerm, Prefetch, Put, RecordKey, Store};

use super::{CaseResult, Failure, OrFail, at, code, usd};

/// What one read of `E` under `skus` gave back: each record's key and version,
/// as the store listed them (a record twice would show twice).
async fn under<S: Store, E: Entity>(
    store: &S,
    case: &'static str,
    skus: &[&Sku],
) -> Result<Vec<(RecordKey, u64)>, Failure> {
    let request = skus.iter().fold(Prefetch::new(), |request, sku| {
        request.found_under::<E>(&IndexTerm::Sku(Sku::clone(sku)))
    });
    let fetched = store
        .fetch(&request)
        .await
        .or_fail(case, "reading under terms")?;
    let mut found: Vec<(RecordKey, u64)> = Vec::with_capacity(fetched.records.len());
    for (version, record) in fetched.records {
        let key = record.key();
        ensure!(
            case,
            key.kind() == E::kind(),
            "asked for {} under {skus:?}, got {}",
            E::kind(),
            key.describe()
        );
        found.push((key, version));
    }
    found.sort();
    Ok(found)
}

/// Commits `puts` alone.
async fn put<S: Store>(store: &S, case: &'static str, puts: Vec<Put>) -> CaseResult {
    let mut changes = Changeset::new(at());
    changes.puts = puts;
    store.commit(changes).await.or_fail(case, "committing")?;
    Ok(())
}

/// An open purchase order is found under each SKU on its lines — through a draft,
/// approval and a partial receipt — and under none once received in full, closed
/// or cancelled; a supplier under each SKU it offers, once however many offers
/// it has for it, and no longer under one whose offer it withdrew. A record two
/// of the terms asked find comes back once; kinds do not share their terms; a
/// failed commit leaves every term as it was.
pub async fn index_terms<S: Store>(store: &S) -> CaseResult {
    let case = "index_terms";
    let (x, y, z, w): (Sku, Sku, Sku, Sku) = (
        code(case, "X")?,
        code(case, "Y")?,
        code(case, "Z")?,
        code(case, "W")?,
    );
    let dc: LocationId = code(case, "DC")?;
    let day = at().date_naive();
    let offer = |sku: &Sku| Offer::new(sku.clone(), usd(200), 5, day, day);
    let supplier = |n: u128, name: &str| {
        Supplier::new(
            SupplierId::from_uuid(uuid::Uuid::from_u128(n)),
            name,
            Currency::USD,
        )
    };
    let acme = supplier(1, "Acme")
        .offer(offer(&x))
        .offer(offer(&x).packs_of(Quantity::new(6)))
        .offer(offer(&y));
    let bolt = supplier(2, "Bolt").offer(offer(&z));
    let draft = |n: u128, skus: &[&Sku]| {
        let lines = skus
            .iter()
            .map(|s| (Sku::clone(s), Quantity::new(10), usd(200)))
            .collect();
        PurchaseOrder::draft(
            PurchaseOrderId::from_uuid(uuid::Uuid::from_u128(n)),
            acme.id,
            Currency::USD,
            dc.clone(),
            lines,
            day,
            at(),
        )
        .or_fail(case, "drafting a purchase order")
    };
    let mut first = draft(11, &[&x, &y])?;
    let mut second = draft(12, &[&z])?;
    second.approve().or_fail(case, "approving")?;
    let mut third = draft(13, &[&z])?;
    put(
        store,
        case,
        vec![
            Put::insert(acme.clone()),
            Put::insert(bolt.clone()),
            Put::insert(first.clone()),
            Put::insert(second.clone()),
            Put::insert(third.clone()),
        ],
    )
    .await?;
    let key = |po: &PurchaseOrder| RecordKey::PurchaseOrder(po.id);
    let (first_at, second_at, third_at) = (key(&first), key(&second), key(&third));

    // Each SKU on an open purchase order finds it; a SKU on none finds nothing.
    let found = under::<S, PurchaseOrder>(store, case, &[&x]).await?;
    ensure!(case, found == [(first_at.clone(), 1)], "under X: {found:?}");
    let found = under::<S, PurchaseOrder>(store, case, &[&y]).await?;
    ensure!(case, found == [(first_at.clone(), 1)], "under Y: {found:?}");
    let found = under::<S, PurchaseOrder>(store, case, &[&z]).await?;
    let want = [(second_at.clone(), 1), (third_at.clone(), 1)];
    ensure!(case, found == want, "under Z: {found:?}, want {want:?}");
    let found = under::<S, PurchaseOrder>(store, case, &[&w]).await?;
    ensure!(case, found.is_empty(), "under W, on no order: {found:?}");
    // Two terms finding one record: it comes back once.
    let found = under::<S, PurchaseOrder>(store, case, &[&x, &y]).await?;
    ensure!(
        case,
        found == [(first_at.clone(), 1)],
        "under X and Y, the order of both once: {found:?}"
    );

    // Suppliers: once under a SKU offered twice, and apart from purchase orders.
    let (acme_at, bolt_at) = (RecordKey::Supplier(acme.id), RecordKey::Supplier(bolt.id));
    let found = under::<S, Supplier>(store, case, &[&x]).await?;
    ensure!(
        case,
        found == [(acme_at.clone(), 1)],
        "suppliers of X: {found:?}"
    );
    let found = under::<S, Supplier>(store, case, &[&x, &y, &z]).await?;
    let want = [(acme_at.clone(), 1), (bolt_at.clone(), 1)];
    ensure!(case, found == want, "suppliers of X, Y, Z: {found:?}");

    // An update that drops a term: Acme withdraws its offer of Y.
    let mut withdrawn = acme.clone();
    withdrawn.offers.retain(|o| o.sku != y);
    put(store, case, vec![Put::update(withdrawn, 1)]).await?;
    let found = under::<S, Supplier>(store, case, &[&y]).await?;
    ensure!(
        case,
        found.is_empty(),
        "Y withdrawn, still found: {found:?}"
    );
    let found = under::<S, Supplier>(store, case, &[&x]).await?;
    ensure!(case, found == [(acme_at, 2)], "X still offered: {found:?}");

    // Approved, then partly received: still open, still found.
    first.approve().or_fail(case, "approving")?;
    put(store, case, vec![Put::update(first.clone(), 1)]).await?;
    first
        .receive(&x, Quantity::new(4), OverReceipt::Reject)
        .or_fail(case, "receiving")?;
    put(store, case, vec![Put::update(first.clone(), 2)]).await?;
    let found = under::<S, PurchaseOrder>(store, case, &[&x, &y]).await?;
    ensure!(
        case,
        found == [(first_at.clone(), 3)],
        "partly received: {found:?}"
    );

    // Closing it in a commit that fails changes no term.
    first.close().or_fail(case, "closing")?;
    let stale = Put::update(bolt, 7);
    let mut changes = Changeset::new(at());
    changes.puts = vec![Put::update(first.clone(), 3), stale];
    let refused = store.commit(changes).await;
    ensure!(case, refused.is_err(), "a stale put was accepted");
    let found = under::<S, PurchaseOrder>(store, case, &[&y]).await?;
    ensure!(
        case,
        found == [(first_at.clone(), 3)],
        "after a failed close: {found:?}"
    );

    // Closed, received in full, cancelled: found under nothing.
    second
        .receive(&z, Quantity::new(10), OverReceipt::Reject)
        .or_fail(case, "receiving in full")?;
    third.cancel().or_fail(case, "cancelling")?;
    put(
        store,
        case,
        vec![
            Put::update(first, 3),
            Put::update(second, 1),
            Put::update(third, 1),
        ],
    )
    .await?;
    let found = under::<S, PurchaseOrder>(store, case, &[&x, &y, &z]).await?;
    ensure!(
        case,
        found.is_empty(),
        "closed, received and cancelled orders still found: {found:?}"
    );
    let found = under::<S, Supplier>(store, case, &[&z]).await?;
    ensure!(case, found == [(bolt_at, 1)], "Bolt, untouched: {found:?}");
    Ok(())
}
