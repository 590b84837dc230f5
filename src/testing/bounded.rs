//! Bounded counters other than stock: a limit and what is used of it, moved by
//! additive deltas under the guard `0 ≤ used ≤ limit` inside the commit.

use std::sync::Barrier;

use crate::event::Event;
use crate::ids::{LocationId, Sku};
use crate::store::{Bounds, Changeset, Counter, CounterKey, Prefetch, Put, Store, StoreError};

use super::{CaseResult, Failure, OrFail, at, block_on, code, movement};

/// The counters at `keys`, read in one fetch.
async fn values<S: Store>(
    store: &S,
    case: &'static str,
    keys: &[&CounterKey],
) -> Result<Vec<Bounds>, Failure> {
    let request = keys.iter().fold(Prefetch::new(), |r, key| r.counter(key));
    let fetched = store
        .fetch(&request)
        .await
        .or_fail(case, "reading counters")?;
    keys.iter()
        .map(|key| {
            fetched.counter(key).ok_or_else(|| Failure {
                case,
                message: format!("the fetch left out {key}: {:?}", fetched.counters),
            })
        })
        .collect()
}

/// One changeset moving each counter by `(limit, used)`.
fn moving(moves: &[(&CounterKey, i64, i64)]) -> Changeset {
    let mut c = Changeset::new(at());
    for (key, limit, used) in moves {
        c.move_counter((*key).clone(), *limit, *used);
    }
    c
}

/// A counter starts at 0/0; raising its limit and using within it commits, moves in
/// one changeset add up; using past the limit, a negative limit or used, or an
/// overflow fails the whole commit with [`StoreError::OutOfBounds`] naming the
/// counter and changes nothing; eight committers at once each using one of a limit
/// of five get exactly five through and the rest the typed error (never a
/// conflict), on two counters at the same time; counters of another kind or id
/// never interfere; a snapshot visits exactly the counters moved.
pub async fn bounded_counters<S: Store>(store: &S) -> CaseResult {
    let case = "bounded_counters";
    let run: CounterKey = code(case, "run_capacity/R1")?;
    // The same id under another kind is another counter, and sorts before `run`.
    let pay: CounterKey = code(case, "payment_authorisation/R1")?;
    let other_run: CounterKey = code(case, "run_capacity/R2")?;
    let fresh: CounterKey = code(case, "run_capacity/R3")?;

    // Read in the same fetch as stock, and 0/0 before any commit.
    let (sku, site): (Sku, LocationId) = (code(case, "S")?, code(case, "A")?);
    let fetched = store
        .fetch(&Prefetch::new().stock(&sku).counter(&run).counter(&run))
        .await
        .or_fail(case, "reading")?;
    ensure!(
        case,
        fetched.counters == vec![(run.clone(), Bounds::ZERO)] && fetched.counter(&pay).is_none(),
        "a counter never moved reads {:?}",
        fetched.counters
    );

    for (what, moves) in [
        ("raising the limit", vec![(&run, 5, 0)]),
        ("using within it", vec![(&run, 0, 3)]),
        // Alone the first move would break the guard; the sum does not.
        ("moves adding up", vec![(&run, 0, 4), (&run, 2, 0)]),
    ] {
        store.commit(moving(&moves)).await.or_fail(case, what)?;
    }
    let got = values(store, case, &[&run]).await?;
    ensure!(
        case,
        got == [Bounds { limit: 7, used: 7 }],
        "after raising to 7 and using 7: {got:?}"
    );

    // Using past the limit fails and leaves every other part of the commit out,
    // the move of `pay` (applied first, in key order) included.
    let mut past = moving(&[(&pay, 4, 0), (&run, 0, 1)]);
    past.puts.push(Put::insert(Counter {
        name: "bounded_counters".into(),
        value: 1,
    }));
    past.movements.push(movement(&sku, &site, 3));
    past.events.push(Event::TaxTableSaved);
    let last_event = store
        .last_event_sequence()
        .await
        .or_fail(case, "reading events")?;
    let outcome = store.commit(past).await;
    ensure!(
        case,
        matches!(
            &outcome,
            Err(StoreError::OutOfBounds { key, limit: 7, used: 7, limit_delta: 0, used_delta: 1 })
                if *key == run
        ),
        "using past the limit: {outcome:?}"
    );
    let record = store
        .load::<Counter>(&"bounded_counters".to_owned())
        .await
        .or_fail(case, "loading")?;
    let stock = store
        .stock_levels(&sku)
        .await
        .or_fail(case, "reading stock")?;
    let events = store
        .last_event_sequence()
        .await
        .or_fail(case, "reading events")?;
    let got = values(store, case, &[&run, &pay]).await?;
    ensure!(
        case,
        record.is_none()
            && stock.iter().all(|l| l.on_hand == 0)
            && events == last_event
            && got == [Bounds { limit: 7, used: 7 }, Bounds::ZERO],
        "a refused commit left: record {record:?}, stock {stock:?}, events {events} (was {last_event}), counters {got:?}"
    );

    for (what, moves, before, delta) in [
        ("a negative limit", vec![(&fresh, -1, 0)], (0, 0), (-1, 0)),
        ("a negative used", vec![(&fresh, 1, -1)], (0, 0), (1, -1)),
        ("a limit below used", vec![(&run, -1, 0)], (7, 7), (-1, 0)),
        (
            "releasing more than used",
            vec![(&run, 0, -8)],
            (7, 7),
            (0, -8),
        ),
        (
            "an overflowing limit",
            vec![(&run, i64::MAX, 0)],
            (7, 7),
            (i64::MAX, 0),
        ),
    ] {
        let outcome = store.commit(moving(&moves)).await;
        let named = moves.first().map(|(key, ..)| (*key).clone());
        ensure!(
            case,
            matches!(
                &outcome,
                Err(StoreError::OutOfBounds { key, limit, used, limit_delta, used_delta })
                    if Some(key) == named.as_ref()
                        && (*limit, *used) == before
                        && (*limit_delta, *used_delta) == delta
            ),
            "{what}: {outcome:?}"
        );
    }
    let outcome = store
        .commit(moving(&[(&run, i64::MAX, 0), (&run, i64::MAX, 0)]))
        .await;
    ensure!(
        case,
        matches!(outcome, Err(StoreError::Invalid { .. })),
        "moves whose sum overflows: {outcome:?}"
    );
    // A full counter does not stop another one.
    store
        .commit(moving(&[(&other_run, 1, 1)]))
        .await
        .or_fail(case, "moving another run")?;
    let got = values(store, case, &[&run, &fresh, &other_run]).await?;
    ensure!(
        case,
        got == [
            Bounds { limit: 7, used: 7 },
            Bounds::ZERO,
            Bounds { limit: 1, used: 1 }
        ],
        "after the refused moves: {got:?}"
    );

    concurrent_users(store, case).await?;

    let mut seen: Vec<(String, Bounds)> = store
        .read_snapshot(|snapshot| {
            let mut seen = Vec::new();
            snapshot
                .each_bounded_counter(&mut |key, bounds| seen.push((key.to_string(), bounds)))
                .map(|()| seen)
        })
        .await
        .or_fail(case, "opening a snapshot")?
        .or_fail(case, "visiting counters")?;
    seen.sort_by(|a, b| a.0.cmp(&b.0));
    let bounds = |limit, used| Bounds { limit, used };
    let expected = vec![
        ("payment_authorisation/HOT".to_owned(), bounds(5, 5)),
        ("run_capacity/HOT".to_owned(), bounds(5, 5)),
        ("run_capacity/R1".to_owned(), bounds(7, 7)),
        ("run_capacity/R2".to_owned(), bounds(1, 1)),
    ];
    ensure!(case, seen == expected, "a snapshot visits {seen:?}");
    Ok(())
}

/// Eight committers on each of two counters with a limit of five, all let go at
/// once, each using one: exactly five per counter commit, the other three fail
/// with [`StoreError::OutOfBounds`], and nothing else fails.
async fn concurrent_users<S: Store>(store: &S, case: &'static str) -> CaseResult {
    let hot_run: CounterKey = code(case, "run_capacity/HOT")?;
    let hot_pay: CounterKey = code(case, "payment_authorisation/HOT")?;
    let hot = [&hot_run, &hot_pay];
    store
        .commit(moving(&[(&hot_run, 5, 0), (&hot_pay, 5, 0)]))
        .await
        .or_fail(case, "setting the limits")?;
    const PER_COUNTER: usize = 8;
    let start = Barrier::new(PER_COUNTER * hot.len());
    let outcomes: Vec<(usize, Result<bool, String>)> = std::thread::scope(|scope| {
        let committers: Vec<_> = (0..PER_COUNTER * hot.len())
            .map(|n| {
                let (start, which) = (&start, n % hot.len());
                let key = hot.get(which).map(|key| (*key).clone());
                scope.spawn(move || {
                    let Some(key) = key else {
                        return (which, Err("no such counter".to_owned()));
                    };
                    start.wait();
                    let outcome = match block_on(store.commit(moving(&[(&key, 0, 1)]))) {
                        Ok(_) => Ok(true),
                        Err(StoreError::OutOfBounds { key: named, .. }) if named == key => {
                            Ok(false)
                        }
                        Err(e) => Err(e.to_string()),
                    };
                    (which, outcome)
                })
            })
            .collect();
        committers
            .into_iter()
            .map(|c| {
                c.join()
                    .unwrap_or_else(|_| (0, Err("a committer panicked".to_owned())))
            })
            .collect()
    });
    let mut through = [0_usize; 2];
    for (which, outcome) in outcomes {
        if outcome.or_fail(
            case,
            "a concurrent use neither committed nor was out of bounds",
        )? && let Some(n) = through.get_mut(which)
        {
            *n += 1;
        }
    }
    ensure!(
        case,
        through == [5, 5],
        "{through:?} of 8 uses each committed against limits of 5"
    );
    let got = values(store, case, &hot).await?;
    ensure!(
        case,
        got == [Bounds { limit: 5, used: 5 }; 2],
        "after the rush: {got:?}"
    );
    Ok(())
}
