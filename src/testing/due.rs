//! Due work: a store lists the records that fall due for a kind of work by the
//! time they do, and only while they do.

use chrono::Duration;

use crate::ids::{InvoiceId, OrderId};
use crate::ledger::InvoiceStatus;
use crate::order::Hold;
use crate::store::{Changeset, DueCursor, DueKind, Put, RecordKey, Store};

use super::{CaseResult, Failure, OrFail, at, fixtures};

/// What `store` lists as due for `kind` by `until` after `after`: each record's
/// key and the second it falls due.
async fn due<S: Store>(
    store: &S,
    case: &'static str,
    kind: DueKind,
    until: i64,
    after: Option<&DueCursor>,
    limit: usize,
) -> Result<Vec<(RecordKey, i64)>, Failure> {
    let found = store
        .due(kind, until, after, limit)
        .await
        .or_fail(case, "listing due work")?;
    let mut listed = Vec::with_capacity(found.len());
    for work in found {
        ensure!(
            case,
            work.kind == kind,
            "asked for {kind:?}, got {:?}",
            work.kind
        );
        listed.push((work.record.value.key(), work.at));
    }
    Ok(listed)
}

/// Orders held awaiting payment or over a credit limit fall due from their
/// placement, open invoices at their next reminder (their due time first), sent
/// purchase orders from midnight after their expected day — each listed earliest
/// first (then by key), up to a time, in pages after a cursor; a put that ends
/// the cause (a hold released, an invoice paid or reminded of every level) takes
/// the record off, and a failed commit changes nothing.
pub async fn due_work_is_listed_in_time_order<S: Store>(store: &S) -> CaseResult {
    let case = "due_work_is_listed_in_time_order";
    let f = fixtures(case).await?;
    let t0 = at().timestamp();
    let order = |n: u128, minutes: i64, holds: Vec<Hold>| {
        let mut o = f.order.clone();
        o.id = OrderId::from_uuid(uuid::Uuid::from_u128(n));
        o.placed_at = at() + Duration::minutes(minutes);
        o.holds = holds;
        o
    };
    let held = order(101, 0, vec![Hold::AwaitingPayment]);
    let twice = order(102, 60, vec![Hold::CreditLimit, Hold::AwaitingPayment]);
    // Placed in the same second as `twice`: the key decides, as text.
    let same_second = order(100, 60, vec![Hold::AwaitingPayment]);
    let free = order(103, 0, Vec::new());
    let invoice = |n: u128, status: InvoiceStatus| {
        let mut i = f.invoice.clone();
        i.id = InvoiceId::from_uuid(uuid::Uuid::from_u128(n));
        i.due_at = at() + Duration::hours(2);
        i.status = status;
        i
    };
    let open = invoice(201, InvoiceStatus::Open);
    let paid = invoice(202, InvoiceStatus::Paid);
    let po = f.purchase_order.clone();
    let expected = po.expected_on + Duration::days(1);
    let midnight = expected
        .and_hms_opt(0, 0, 0)
        .map(|t| t.and_utc().timestamp())
        .ok_or_else(|| Failure {
            case,
            message: "no midnight".into(),
        })?;
    let mut changes = Changeset::new(at());
    for o in [&held, &twice, &same_second, &free] {
        changes.insert(o.clone());
    }
    changes.insert(open.clone());
    changes.insert(paid);
    changes.insert(po.clone());
    store.commit(changes).await.or_fail(case, "committing")?;

    let far = i64::MAX;
    let (h, t, s) = (
        RecordKey::Order(held.id),
        RecordKey::Order(twice.id),
        RecordKey::Order(same_second.id),
    );
    let awaiting = due(store, case, DueKind::AwaitingPayment, far, None, 10).await?;
    let want = vec![
        (h.clone(), t0),
        (s.clone(), t0 + 3600),
        (t.clone(), t0 + 3600),
    ];
    ensure!(
        case,
        awaiting == want,
        "awaiting payment: {awaiting:?}, want {want:?}"
    );
    let early = due(store, case, DueKind::AwaitingPayment, t0 + 1800, None, 10).await?;
    ensure!(
        case,
        early == vec![(h.clone(), t0)],
        "until half past: {early:?}"
    );
    // Page by page: one, then what comes after it.
    let first = due(store, case, DueKind::AwaitingPayment, far, None, 1).await?;
    let cursor = DueCursor {
        at: t0,
        key: h.describe(),
    };
    let rest = due(
        store,
        case,
        DueKind::AwaitingPayment,
        far,
        Some(&cursor),
        10,
    )
    .await?;
    ensure!(
        case,
        first == vec![(h.clone(), t0)] && Some(rest.as_slice()) == want.get(1..),
        "pages: {first:?} then {rest:?}"
    );
    let credit = due(store, case, DueKind::CreditHold, far, None, 10).await?;
    ensure!(
        case,
        credit == vec![(t.clone(), t0 + 3600)],
        "credit holds: {credit:?}"
    );
    let reminders = due(store, case, DueKind::Reminder, far, None, 10).await?;
    let i = RecordKey::Invoice(open.id);
    ensure!(
        case,
        reminders == vec![(i.clone(), t0 + 7200)],
        "reminders: {reminders:?}"
    );
    let deliveries = due(store, case, DueKind::Delivery, far, None, 10).await?;
    ensure!(
        case,
        deliveries == vec![(RecordKey::PurchaseOrder(po.id), midnight)],
        "deliveries: {deliveries:?}"
    );

    // A failed commit (a stale version beside) moves nothing.
    let mut released = held.clone();
    released.holds.clear();
    let mut changes = Changeset::new(at());
    changes.puts.push(Put::update(released.clone(), 1));
    changes.puts.push(Put::update(free.clone(), 7));
    let failed = store.commit(changes).await;
    ensure!(case, failed.is_err(), "a stale version committed");
    let after = due(store, case, DueKind::AwaitingPayment, far, None, 10).await?;
    ensure!(case, after == want, "after a failed commit: {after:?}");

    // The hold released, the invoice reminded once (next in a week), then of
    // every level.
    let mut reminded = open.clone();
    reminded.reminders = 1;
    reminded.next_reminder_at = Some(at() + Duration::days(7));
    let mut changes = Changeset::new(at());
    changes.puts.push(Put::update(released, 1));
    changes.puts.push(Put::update(reminded.clone(), 1));
    store.commit(changes).await.or_fail(case, "releasing")?;
    let awaiting = due(store, case, DueKind::AwaitingPayment, far, None, 10).await?;
    ensure!(
        case,
        Some(awaiting.as_slice()) == want.get(1..),
        "after the release: {awaiting:?}"
    );
    let reminders = due(store, case, DueKind::Reminder, far, None, 10).await?;
    let next = t0 + 7 * 86_400;
    ensure!(
        case,
        reminders == vec![(i, next)],
        "after a reminder: {reminders:?}"
    );
    reminded.reminders = 3;
    reminded.next_reminder_at = None;
    let mut changes = Changeset::new(at());
    changes.puts.push(Put::update(reminded, 2));
    store.commit(changes).await.or_fail(case, "reminding")?;
    let reminders = due(store, case, DueKind::Reminder, far, None, 10).await?;
    ensure!(
        case,
        reminders.is_empty(),
        "every level sent: {reminders:?}"
    );
    // Nothing else is ever listed: the records' own kinds only.
    for kind in DueKind::ALL {
        for (key, _) in due(store, case, kind, far, None, 100).await? {
            ensure!(
                case,
                matches!(
                    key,
                    RecordKey::Order(_) | RecordKey::Invoice(_) | RecordKey::PurchaseOrder(_)
                ),
                "{kind:?} lists {}",
                key.describe()
            );
        }
    }
    Ok(())
}
