//! The own fleet's runs against their bookings: each run's counters are what the
//! bookings not cancelled add up to, and its capacity what its opening set.

use std::collections::BTreeMap;

use super::{Audit, Violation};
use crate::fulfilment::{FreightService, RUN_CAPACITY, RUN_WEIGHT};
use crate::ids::IdempotencyKey;
use crate::store::{Bounds, CounterKey, IdempotencyScope, IdempotentOutcome, ReadResult, Snapshot};

/// What the fleet's entries say of each run (by the run's text, `ROUTE@DATE`).
#[derive(Default)]
struct Runs {
    /// Pallets and kilograms booked and not cancelled.
    booked: BTreeMap<String, (i64, i64)>,
    /// The pallets and kilograms each run was opened with.
    opened: BTreeMap<String, (i64, i64)>,
}

impl Audit<'_> {
    pub(super) fn freight_runs(&mut self, snapshot: &dyn Snapshot) -> ReadResult<()> {
        let mut bookings: Vec<(IdempotencyKey, String, i64, i64)> = Vec::new();
        let mut cancelled: Vec<IdempotencyKey> = Vec::new();
        let mut runs = Runs::default();
        snapshot.each_freight_entry(&mut |entry| match (&entry.scope, &entry.outcome) {
            (IdempotencyScope::BookFreight, IdempotentOutcome::FreightBooking(b)) => {
                if let Some(service) = FreightService::parse(&b.service) {
                    bookings.push((
                        entry.key.clone(),
                        service.run.to_string(),
                        i64::from(b.pallets),
                        i64::from(b.kg),
                    ));
                }
            }
            (IdempotencyScope::CancelFreight, _) => cancelled.push(entry.key.clone()),
            (
                IdempotencyScope::OpenFreightRun,
                IdempotentOutcome::FreightRunOpened { pallets, kg },
            ) => {
                let opened = (i64::from(*pallets), i64::from(*kg));
                runs.opened.insert(entry.key.as_str().to_owned(), opened);
            }
            _ => {}
        })?;
        cancelled.sort_unstable();
        for (key, run, pallets, kg) in bookings {
            if cancelled.binary_search(&key).is_err() {
                let sum = runs.booked.entry(run).or_default();
                *sum = (sum.0.saturating_add(pallets), sum.1.saturating_add(kg));
            }
        }
        // Each run's (pallets, kilograms); a counter never moved reads 0/0.
        let mut stored: BTreeMap<String, (Bounds, Bounds)> = BTreeMap::new();
        snapshot.each_bounded_counter(&mut |key: &CounterKey, bounds| {
            let kind = key.kind().as_str();
            if kind == RUN_CAPACITY || kind == RUN_WEIGHT {
                let slot = stored
                    .entry(key.id().to_owned())
                    .or_insert((Bounds::ZERO, Bounds::ZERO));
                match kind == RUN_CAPACITY {
                    true => slot.0 = bounds,
                    false => slot.1 = bounds,
                }
            }
        })?;
        let mut every: Vec<&String> = stored
            .keys()
            .chain(runs.booked.keys())
            .chain(runs.opened.keys())
            .collect();
        every.sort_unstable();
        every.dedup();
        let mut found = Vec::new();
        for run in every {
            let (pallets, kg) = stored
                .get(run)
                .copied()
                .unwrap_or((Bounds::ZERO, Bounds::ZERO));
            let (booked_pallets, booked_kg) = runs.booked.get(run).copied().unwrap_or_default();
            let (opened_pallets, opened_kg) = runs.opened.get(run).copied().unwrap_or_default();
            for (kind, counter, booked, opened) in [
                (RUN_CAPACITY, pallets, booked_pallets, opened_pallets),
                (RUN_WEIGHT, kg, booked_kg, opened_kg),
            ] {
                if counter.used != booked || counter.limit != opened {
                    found.push(Violation::FreightRunMismatch {
                        counter: format!("{kind}/{run}"),
                        used: counter.used,
                        booked,
                        limit: counter.limit,
                        opened,
                    });
                }
            }
        }
        for violation in found {
            self.violation(violation);
        }
        Ok(())
    }
}
