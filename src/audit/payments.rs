//! Card payments through the provider: each authorisation within its bounds and
//! its counter where its requests put it, each capture done a payment of its
//! amount; payouts posted as their documents say (with the payments and
//! refunds, that checks card clearing: captured − refunded − paid out).

use std::collections::BTreeMap;

use super::{Audit, Violation, scratch};
use crate::customer::PaymentMethod;
use crate::ledger::Payment;
use crate::order::Order;
use crate::payment::{AUTHORISATION_COUNTER, RequestOutcome, Settlement};
use crate::store::{Bounds, CounterKey, ReadResult, Snapshot, each};

impl Audit<'_> {
    /// Each order's authorisations: captured and being captured within what was
    /// authorised, refunds within what was captured, and the bounded counter
    /// where the requests put it. Each payout's posting.
    pub(super) fn card_payments(&mut self, snapshot: &dyn Snapshot) -> ReadResult<()> {
        let mut problems = Vec::new();
        // Card payments by their reference: a capture's payment carries the
        // provider's id for the capture.
        let mut paid: BTreeMap<String, (crate::ids::OrderId, crate::money::Money)> =
            BTreeMap::new();
        each::<Payment>(snapshot, |p| {
            if let (PaymentMethod::Card, Some(reference)) = (p.method, &p.reference) {
                paid.insert(reference.clone(), (p.order, p.amount));
            }
        })?;
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
                    // Every capture done is a payment of its amount on its order.
                    for r in auth.requests.iter().filter(|r| r.is_capture()) {
                        let Some(RequestOutcome::Done { reference, .. }) = &r.outcome else {
                            continue;
                        };
                        if paid.get(reference) != Some(&(order.id, r.amount)) {
                            return Ok(Some(format!(
                                "capture {reference} of {} has no payment of it",
                                r.amount
                            )));
                        }
                    }
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
