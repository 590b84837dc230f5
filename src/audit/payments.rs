//! Card payments through the provider: each authorisation within its bounds and
//! its counter where its requests put it; payouts posted as their documents say.

use std::collections::BTreeMap;

use super::{Audit, Violation, scratch};
use crate::order::Order;
use crate::payment::{AUTHORISATION_COUNTER, Settlement};
use crate::store::{Bounds, CounterKey, ReadResult, Snapshot, each};

impl Audit<'_> {
    /// Each order's authorisations: captured and being captured within what was
    /// authorised, refunds within what was captured, and the bounded counter
    /// where the requests put it. Each payout's posting.
    pub(super) fn card_payments(&mut self, snapshot: &dyn Snapshot) -> ReadResult<()> {
        let mut problems = Vec::new();
        // Each authorisation's counter id, with its order and expected bounds.
        let mut expected: BTreeMap<String, (crate::ids::OrderId, (i64, i64))> = BTreeMap::new();
        each::<Order>(snapshot, |order| {
            for auth in &order.authorisations {
                let checked = (|| -> Result<Option<String>, crate::Error> {
                    let captured = auth.captured()?;
                    let taking = captured.checked_add(auth.capturing()?)?;
                    if taking.cmp_amount(auth.amount)?.is_gt() {
                        return Ok(Some(format!(
                            "authorisation {} captures {taking} of {}",
                            auth.id, auth.amount
                        )));
                    }
                    let refunded = auth.refunded()?;
                    if refunded.cmp_amount(captured)?.is_gt() {
                        return Ok(Some(format!(
                            "authorisation {} refunds {refunded} of {captured} captured",
                            auth.id
                        )));
                    }
                    expected.insert(auth.counter.clone(), (order.id, auth.expected_bounds()?));
                    Ok(None)
                })();
                let problem = match checked {
                    Ok(problem) => problem,
                    Err(e) => Some(e.to_string()),
                };
                if let Some(reason) = problem {
                    problems.push(Violation::CardPaymentInconsistent {
                        order: order.id,
                        reason,
                    });
                }
            }
        })?;
        let mut stored: BTreeMap<String, Bounds> = BTreeMap::new();
        snapshot.each_bounded_counter(&mut |key: &CounterKey, bounds| {
            if key.kind().as_str() == AUTHORISATION_COUNTER {
                stored.insert(key.id().to_owned(), bounds);
            }
        })?;
        for (counter, (order, (limit, used))) in &expected {
            let found = stored.remove(counter).unwrap_or(Bounds::ZERO);
            if (found.limit, found.used) != (*limit, *used) {
                problems.push(Violation::CardPaymentInconsistent {
                    order: *order,
                    reason: format!(
                        "counter {counter} holds {}/{} where its requests say {limit}/{used}",
                        found.used, found.limit
                    ),
                });
            }
        }
        for (counter, bounds) in stored {
            if bounds != Bounds::ZERO {
                problems.push(Violation::OrphanCounter {
                    counter: format!("{AUTHORISATION_COUNTER}/{counter}"),
                });
            }
        }

        let (expected, postings) = (&mut self.expected, self.postings);
        let (id, _) = scratch();
        each::<Settlement>(snapshot, |s| {
            if let Err(reason) = expected.post(postings.settlement(s, id, s.settled_at)) {
                problems.push(Violation::DocumentUnpostable {
                    document: format!("settlement/{}", s.payout),
                    reason,
                });
            }
        })?;
        self.report.violations.extend(problems);
        Ok(())
    }
}
