//! A fetch lends records: what it handed out never changes under the holder.

use super::{CaseResult, Failure, OrFail, at, fixtures};
use crate::catalog::Product;
use crate::customer::Customer;
use crate::money::{Currency, Money};
use crate::store::{Changeset, Prefetch, Put, Store};

/// A record handed out by [`Store::fetch`] is never changed by a later commit —
/// neither by an update nor by a merge — while a fetch after the commit sees the
/// new versions.
pub async fn fetched_records_never_change<S: Store>(store: &S) -> CaseResult {
    let case = "fetched_records_never_change";
    let f = fixtures(case).await?;
    let mut c = Changeset::new(at());
    c.puts.push(Put::insert(f.product.clone()));
    c.puts.push(Put::insert(f.customer.clone()));
    store.commit(c).await.or_fail(case, "saving")?;

    let request = Prefetch::new()
        .record::<Product>(&f.product.sku)
        .record::<Customer>(&f.customer.id);
    let held = store.fetch(&request).await.or_fail(case, "fetching")?;

    let mut renamed = f.product.clone();
    renamed.name = "Renamed".into();
    let mut credited = f.customer.clone();
    credited.history.credit = credited
        .history
        .credit
        .checked_add(Money::from_minor(500, Currency::USD))
        .or_fail(case, "crediting")?;
    let mut c = Changeset::new(at());
    c.puts.push(Put::update(renamed, 1));
    c.move_customer(&f.customer, &credited)
        .or_fail(case, "moving the customer")?;
    store
        .commit(c)
        .await
        .or_fail(case, "updating and merging")?;

    let product = held
        .lend::<Product>(&f.product.sku)
        .map(|p| (p.version, p.value));
    let customer = held
        .lend::<Customer>(&f.customer.id)
        .map(|c| (c.version, c.value));
    ensure!(
        case,
        product == Some((1, &f.product)) && customer == Some((1, &f.customer)),
        "what a fetch held changed under it: {product:?}, {customer:?}"
    );
    let fresh = store
        .fetch(&request)
        .await
        .or_fail(case, "fetching again")?;
    let product = fresh.lend::<Product>(&f.product.sku);
    let customer = fresh.lend::<Customer>(&f.customer.id);
    ensure!(
        case,
        product.as_ref().map(|p| (p.version, &*p.value.name)) == Some((2, "Renamed"))
            && customer
                .as_ref()
                .map(|c| (c.version, c.value.history.credit))
                == Some((2, credited.history.credit)),
        "a fetch after the commit did not see it: {product:?}, {customer:?}"
    );
    Ok(())
}
