//! Listings page exactly: every page a store hands out, followed by its cursor,
//! adds up to the orders (or customers) the query names, in the listing's order,
//! each once.

use chrono::Duration;

use super::{CaseResult, Failure, OrFail, at, fixtures};
use crate::ids::{CustomerId, OrderId};
use crate::order::{Channel, Order, OrderCursor, OrderQuery, OrderStatus};
use crate::store::{Changeset, Store};

/// Orders of three customers over three channels and four statuses, some placed
/// in the same instant and committed out of order, paged through under every
/// filter both ways at several page sizes, against the filter applied to all of
/// them; customers paged by id the same way.
pub async fn listings_page_exactly<S: Store>(store: &S) -> CaseResult {
    let case = "listings_page_exactly";
    let f = fixtures(case).await?;
    let customers: Vec<CustomerId> = (1..=3u128)
        .map(|n| CustomerId::from_uuid(uuid::Uuid::from_u128(n << 64)))
        .collect();
    let channels = [Channel::Web, Channel::Phone, Channel::B2b];
    let statuses = [
        OrderStatus::Open,
        OrderStatus::OnHold,
        OrderStatus::Completed,
        OrderStatus::Cancelled,
    ];
    let mut all = Vec::new();
    for n in 0..23u32 {
        let mut o = f.order.clone();
        // Ids run against placement order, and every third pair share an
        // instant, so ties are broken by id.
        o.id = OrderId::from_uuid(uuid::Uuid::from_u128(u128::from(1000 - n)));
        // Whole minutes and thirds of a second: the nanoseconds order too.
        o.placed_at = at()
            + Duration::minutes(i64::from((n * 7) % 23 / 4))
            + Duration::nanoseconds(i64::from((n * 5) % 3) * 333_333_333);
        o.customer = pick(&customers, n)?;
        o.channel = pick(&channels, n / 2)?;
        o.status = pick(&statuses, n / 3)?;
        all.push(o);
    }
    for o in &all {
        let mut c = Changeset::new(at());
        c.insert(o.clone());
        store.commit(c).await.or_fail(case, "storing an order")?;
    }
    // One order changes status after it was listed under another.
    if let Some(first) = all.first_mut() {
        first.status = OrderStatus::Completed;
        let mut c = Changeset::new(at());
        c.update(first.clone(), 1);
        store.commit(c).await.or_fail(case, "updating an order")?;
    }
    let window = (at() + Duration::minutes(3), at() + Duration::minutes(8));
    let mut queries = vec![OrderQuery::all()];
    queries.extend(statuses.iter().map(|s| OrderQuery::all().status(*s)));
    queries.extend(customers.iter().map(|c| OrderQuery::all().customer(*c)));
    queries.extend(channels.iter().map(|c| OrderQuery::all().channel(*c)));
    queries.push(OrderQuery::all().placed_between(window.0, window.1));
    queries.push(
        OrderQuery::all()
            .status(OrderStatus::Open)
            .channel(Channel::Web)
            .placed_between(window.0, window.1 + Duration::minutes(20)),
    );
    for base in queries {
        for query in [base.clone(), base.newest_first()] {
            let mut expected: Vec<&Order> = all.iter().filter(|o| query.matches(o)).collect();
            expected.sort_by_key(|o| (o.placed_at, o.id));
            if query.newest_first {
                expected.reverse();
            }
            let expected: Vec<OrderId> = expected.iter().map(|o| o.id).collect();
            for size in [1usize, 2, 5, 50] {
                let mut seen = Vec::new();
                let mut page_query = query.clone();
                loop {
                    let page = store
                        .orders_page(&page_query, size)
                        .await
                        .or_fail(case, "listing")?;
                    ensure!(
                        case,
                        page.len() <= size,
                        "a page of {size} held {}",
                        page.len()
                    );
                    let last = page.last().map(|v| OrderCursor::at(&v.value));
                    seen.extend(page.iter().map(|v| v.value.id));
                    match last {
                        Some(cursor) if page.len() == size => page_query = page_query.after(cursor),
                        _ => break,
                    }
                }
                ensure!(
                    case,
                    seen == expected,
                    "{query:?} in pages of {size} listed {seen:?}, not {expected:?}"
                );
            }
        }
    }
    // Customers, by id.
    let mut ids = Vec::new();
    for n in [9u128, 3, 7, 1, 5] {
        let mut customer = f.customer.clone();
        customer.id = CustomerId::from_uuid(uuid::Uuid::from_u128(n));
        ids.push(customer.id);
        let mut c = Changeset::new(at());
        c.insert(customer);
        store.commit(c).await.or_fail(case, "storing a customer")?;
    }
    let mut expected: Vec<CustomerId> = store
        .list::<crate::customer::Customer>()
        .await
        .or_fail(case, "listing customers")?
        .into_iter()
        .map(|v| v.value.id)
        .collect();
    expected.sort_unstable();
    for size in [1usize, 2, 100] {
        let (mut seen, mut after) = (Vec::new(), None);
        loop {
            let page = store
                .customers_page(after, size)
                .await
                .or_fail(case, "paging customers")?;
            seen.extend(page.iter().map(|v| v.value.id));
            match page.last() {
                Some(last) if page.len() == size => after = Some(last.value.id),
                _ => break,
            }
        }
        ensure!(
            case,
            seen == expected,
            "customers in pages of {size}: {seen:?}, not {expected:?}"
        );
    }
    Ok(())
}

fn pick<T: Copy>(from: &[T], n: u32) -> Result<T, Failure> {
    let at = usize::try_from(n).unwrap_or(0) % from.len().max(1);
    from.get(at).copied().ok_or_else(|| Failure {
        case: "listings_page_exactly",
        message: "nothing to pick from".into(),
    })
}
